// Break-glass grants as the care-team check sees them (issue 13, item 4; migration 0019).
//
// A clinician outside a patient's care team may hold a time-limited grant to that patient
// (clinician_api/break_glass.h makes them). Access::CheckAndAudit (access.h) asks NewestGrant
// when the care team says no: an active grant allows and the access is flagged, an expired one
// refuses. The grant's end is recorded once, as a DICOM "Emergency Override Stopped" security
// alert, by whoever first notices it has expired (RecordEndedGrants). Functions run inside the
// caller's transaction; they are stateless and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>

namespace healthtwin::common {

// AuditEvent.type for a grant's start and end: DICOM PS3.16 CID 400 "Audit Event ID",
// (110113, DCM, "Security Alert"); PS3.15 A.5.3.11 requires EventActionCode E for it, which the
// audit trigger derives from the subtypes below (no verb it knows).
inline constexpr char kSecurityAlertEventType[] = "110113";
// AuditEvent.subtype: DICOM PS3.16 CID 403 "Security Alert Type Code",
// (110127, DCM, "Emergency Override Started") and (110138, DCM, "Emergency Override Stopped").
inline constexpr char kEmergencyOverrideStarted[] = "110127";
inline constexpr char kEmergencyOverrideStopped[] = "110138";

struct GrantState {
  int64_t grant_id = 0;
  std::string reason_code;  // the grant's purpose of use (HL7 v3 ActReason), e.g. ETREAT
  bool active = false;      // expires_at is still in the future (the database's clock)
  bool end_audited = false;
};

// The grant of `grantee` to `patient_id` that expires last, if any.
std::optional<GrantState> NewestGrant(pqxx::work& tx, const std::string& patient_id, const std::string& grantee);

// Writes the 110138 "Emergency Override Stopped" record of every expired grant whose end is not
// recorded yet (only grant `only_grant` when given) and marks it recorded; returns how many.
// Rows are taken FOR UPDATE SKIP LOCKED, so concurrent callers record each end once.
// Each end is also announced on NOTIFY channel healthtwin_security (delivered on commit) for
// admins watching live (clinician_api/security_notices.h).
int RecordEndedGrants(pqxx::work& tx, std::optional<int64_t> only_grant = std::nullopt);

}  // namespace healthtwin::common
