// Break-glass emergency access (issue 13, item 4): a clinician outside a patient's care team
// declares an emergency and gets a time-limited grant; admins are told and review each grant.
//
// The domain behind ClinicianService's BreakGlass, ListBreakGlassGrants and
// ReviewBreakGlassGrant (break_glass_service.cc); plain C++ over the database, no gRPC. The care
// team check that honours a grant is services/common/access.cc (break_glass_grants.h).
//
// - Who: clinicians only. Nurses may not: emergency access is a treating physician's decision,
//   and a nurse is added to the care team by an admin (docs/security.md, "Break-glass").
// - The grant and its DICOM Security Alert record (110113 / 110127) commit in one transaction,
//   so a grant never exists without its record (fail closed).
// - Notice to admins: every grant stays on `healthtwin admin break-glass list --open` until an
//   admin reviews it, a warn line `security.break_glass_started` (grant id, grantee, reason code;
//   never the patient or the reason text) is logged, and a NOTIFY on channel
//   healthtwin_security carries the grant id to admins watching live (WatchSecurityEvents,
//   security_notices.h; its end, once recorded, is announced the same way).
//
// Thread-safe (the pool is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/access.h"
#include "services/common/pg.h"

namespace healthtwin::clinician {

struct BreakGlassLimits {
  // A request without a duration gets min(default_duration, max_duration).
  absl::Duration default_duration = absl::Minutes(60);
  absl::Duration max_duration = absl::Minutes(120);
};

enum class GrantReview { kNone, kJustified, kUnjustified };

struct BreakGlassGrant {
  int64_t grant_id = 0;
  std::string patient_id;
  std::string grantee;
  std::string reason_code;
  std::string reason_text;
  int64_t started_at_unix_us = 0;
  int64_t expires_at_unix_us = 0;
  bool active = false;
  GrantReview review = GrantReview::kNone;
  std::string review_note;
  std::string reviewed_by;
  int64_t reviewed_at_unix_us = 0;
};

// The reason codes a grant may carry, from HL7 v3 ActReason (code system
// http://terminology.hl7.org/CodeSystem/v3-ActReason, purpose-of-use concepts): ETREAT
// "emergency treatment" and BTG "break the glass". The same list is a CHECK in migration 0019.
bool IsBreakGlassReason(std::string_view code);

class BreakGlass {
 public:
  // `pool` connects as clinician_api's role; `access` audits refusals. Both must outlive this.
  BreakGlass(common::PgPool& pool, common::Access& access, BreakGlassLimits limits)
      : pool_(pool), access_(access), limits_(limits) {}

  // A grant for `caller` (a clinician; the role is checked by the caller's policy) to
  // `patient_id`. `duration` unset: the default. INVALID_ARGUMENT names the field (patient_id,
  // reason_code, reason_text, duration); NOT_FOUND: no such patient; FAILED_PRECONDITION: the
  // caller is on the care team already. Every outcome is audited.
  absl::StatusOr<BreakGlassGrant> Open(const common::Caller& caller, const std::string& patient_id,
                                       const std::string& reason_code, const std::string& reason_text,
                                       std::optional<absl::Duration> duration);

  // Grants, newest first (only unreviewed ones when `open_only`), after recording the end of any
  // that expired meanwhile. Audited as break_glass.list.
  absl::StatusOr<std::vector<BreakGlassGrant>> List(const common::Caller& admin, bool open_only);

  // Marks grant `grant_id` reviewed. INVALID_ARGUMENT: review kNone or a note over 1000
  // characters; NOT_FOUND; FAILED_PRECONDITION: reviewed already. Audited as break_glass.review.
  absl::StatusOr<BreakGlassGrant> Review(const common::Caller& admin, int64_t grant_id, GrantReview review,
                                         const std::string& note);

  // Grant `grant_id` as shown to `admin`, who watches security events (WatchSecurityEvents);
  // audited as break_glass.watch, naming the patient. NOT_FOUND when there is no such grant.
  absl::StatusOr<BreakGlassGrant> Notice(const common::Caller& admin, int64_t grant_id);

  // Where the grants live, for a connection of one's own that LISTENs (security_notices.h).
  const std::string& conninfo() const { return pool_.conninfo(); }

  const BreakGlassLimits& limits() const { return limits_; }

 private:
  common::PgPool& pool_;
  common::Access& access_;
  const BreakGlassLimits limits_;
};

}  // namespace healthtwin::clinician
