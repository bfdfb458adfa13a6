// Who may call each RPC of a service: a per-method allow-list of principals, checked against
// the verified mutual-TLS identity (ADR 0003, docs/security.md).
//
// A principal is written "role" (any identity with that role; used for people and bridges,
// whose reach is then narrowed further by care team or device binding) or "role:CN" (exactly
// one identity; used for services, so that a stolen twin certificate cannot call what only
// clinician_api may call). Roles are the OU names of RoleName(): service, bridge, clinician,
// nurse, researcher, admin.
//
// Each service states its defaults in code, naming every method it serves; an operator may
// replace a method's list from the `[access]` table of the config file (service identities
// differ per deployment). A method the policy does not name is refused: it fails closed.
// Immutable after Create(), so it is safe to share between threads.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/tls/tls.h"

namespace healthtwin::common {

class CallerPolicy {
 public:
  // Method name (as in the proto, e.g. "Acknowledge") to the principals allowed to call it.
  using Rules = std::map<std::string, std::vector<std::string>, std::less<>>;

  // InvalidArgument when a principal is malformed, names an unknown role, or an override
  // names a method that `defaults` does not.
  static absl::StatusOr<CallerPolicy> Create(const Rules& defaults, const Rules& overrides = {});

  // OK when `peer` may call `method`; PERMISSION_DENIED naming the peer and the method otherwise.
  absl::Status Check(std::string_view method, const PeerIdentity& peer) const;

  // The principals of one method, as configured (for docs and tests).
  const std::vector<std::string>& Principals(std::string_view method) const;

 private:
  struct Principal {
    Role role = Role::kUnknown;
    std::string common_name;  // empty: any identity with the role
  };
  CallerPolicy() = default;

  Rules rules_;
  std::map<std::string, std::vector<Principal>, std::less<>> parsed_;
};

}  // namespace healthtwin::common
