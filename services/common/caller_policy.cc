#include "services/common/caller_policy.h"

#include <algorithm>

namespace healthtwin::common {
namespace {

absl::StatusOr<Role> RoleFromName(std::string_view name) {
  for (Role r : {Role::kService, Role::kBridge, Role::kClinician, Role::kNurse, Role::kResearcher, Role::kAdmin}) {
    if (RoleName(r) == name) return r;
  }
  return absl::InvalidArgumentError("unknown role '" + std::string(name) +
                                    "' (expected service, bridge, clinician, nurse, researcher or admin)");
}

}  // namespace

absl::StatusOr<CallerPolicy> CallerPolicy::Create(const Rules& defaults, const Rules& overrides) {
  CallerPolicy policy;
  policy.rules_ = defaults;
  for (const auto& [method, principals] : overrides) {
    if (!defaults.contains(method)) {
      return absl::InvalidArgumentError("access." + method + ": this service has no method of that name");
    }
    policy.rules_[method] = principals;
  }
  for (const auto& [method, principals] : policy.rules_) {
    auto& out = policy.parsed_[method];
    for (const auto& text : principals) {
      const auto colon = text.find(':');
      auto role = RoleFromName(std::string_view(text).substr(0, colon));
      if (!role.ok()) return absl::InvalidArgumentError("access." + method + ": " + std::string(role.status().message()));
      Principal p{*role, colon == std::string::npos ? "" : text.substr(colon + 1)};
      if (colon != std::string::npos && p.common_name.empty()) {
        return absl::InvalidArgumentError("access." + method + ": '" + text + "' has an empty name after ':'");
      }
      out.push_back(std::move(p));
    }
  }
  return policy;
}

absl::Status CallerPolicy::Check(std::string_view method, const PeerIdentity& peer) const {
  auto it = parsed_.find(method);
  const bool allowed =
      peer.role != Role::kUnknown && it != parsed_.end() &&
      std::any_of(it->second.begin(), it->second.end(), [&](const Principal& p) {
        return p.role == peer.role && (p.common_name.empty() || p.common_name == peer.common_name);
      });
  if (allowed) return absl::OkStatus();
  return absl::PermissionDeniedError("'" + peer.common_name + "' (role " + std::string(RoleName(peer.role)) +
                                     ") may not call " + std::string(method));
}

const std::vector<std::string>& CallerPolicy::Principals(std::string_view method) const {
  static const std::vector<std::string> kNone;
  auto it = rules_.find(method);
  return it == rules_.end() ? kNone : it->second;
}

}  // namespace healthtwin::common
