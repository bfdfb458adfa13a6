#include "clinician_api/break_glass.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "services/common/break_glass_grants.h"
#include "services/common/logging.h"

namespace healthtwin::clinician {
namespace {

using common::Access;
using common::Caller;

// HL7 v3 ActReason (http://terminology.hl7.org/CodeSystem/v3-ActReason), purpose-of-use
// concepts for emergency access: ETREAT "emergency treatment", BTG "break the glass".
constexpr std::array<std::string_view, 2> kReasonCodes = {"ETREAT", "BTG"};
constexpr std::size_t kMaxTextChars = 1000;

constexpr char kGrantColumns[] =
    "grant_id, patient_id, grantee, reason_code, reason_text,"
    " (extract(epoch FROM started_at) * 1000000)::bigint, (extract(epoch FROM expires_at) * 1000000)::bigint,"
    " expires_at > clock_timestamp(), coalesce(review, ''), review_note, coalesce(reviewed_by, ''),"
    " coalesce((extract(epoch FROM reviewed_at) * 1000000)::bigint, 0)";

BreakGlassGrant GrantOf(const pqxx::row& row) {
  BreakGlassGrant g;
  g.grant_id = row[0].as<int64_t>();
  g.patient_id = row[1].as<std::string>();
  g.grantee = row[2].as<std::string>();
  g.reason_code = row[3].as<std::string>();
  g.reason_text = row[4].as<std::string>();
  g.started_at_unix_us = row[5].as<int64_t>();
  g.expires_at_unix_us = row[6].as<int64_t>();
  g.active = row[7].as<bool>();
  const auto review = row[8].as<std::string>();
  g.review = review == "justified"     ? GrantReview::kJustified
             : review == "unjustified" ? GrantReview::kUnjustified
                                       : GrantReview::kNone;
  g.review_note = row[9].as<std::string>();
  g.reviewed_by = row[10].as<std::string>();
  g.reviewed_at_unix_us = row[11].as<int64_t>();
  return g;
}

bool Blank(const std::string& text) { return text.find_first_not_of(" \t\r\n") == std::string::npos; }

absl::Status Refuse(Access& access, const Caller& caller, std::string_view action, const std::string& patient_id,
                    absl::Status refusal) {
  if (auto s = access.Audit(caller, action, patient_id, "denied", std::string(refusal.message())); !s.ok()) {
    return absl::UnavailableError("access refused: the audit record could not be written");
  }
  return refusal;
}

}  // namespace

bool IsBreakGlassReason(std::string_view code) {
  for (auto c : kReasonCodes) {
    if (c == code) return true;
  }
  return false;
}

absl::StatusOr<BreakGlassGrant> BreakGlass::Open(const Caller& caller, const std::string& patient_id,
                                                 const std::string& reason_code, const std::string& reason_text,
                                                 std::optional<absl::Duration> duration) {
  constexpr std::string_view kAction = "break_glass.request";
  const auto refuse = [&](absl::Status refusal) {
    return Refuse(access_, caller, kAction, patient_id, std::move(refusal));
  };
  if (patient_id.empty()) return refuse(absl::InvalidArgumentError("patient_id: required"));
  if (patient_id.size() > 64) return refuse(absl::InvalidArgumentError("patient_id: longer than 64 characters"));
  if (reason_code.empty()) return refuse(absl::InvalidArgumentError("reason_code: required (ETREAT or BTG)"));
  if (!IsBreakGlassReason(reason_code)) {
    return refuse(absl::InvalidArgumentError("reason_code: unknown; expected ETREAT or BTG (HL7 v3 ActReason)"));
  }
  if (Blank(reason_text)) return refuse(absl::InvalidArgumentError("reason_text: required"));
  if (reason_text.size() > kMaxTextChars) {
    return refuse(absl::InvalidArgumentError("reason_text: longer than 1000 characters"));
  }
  const absl::Duration length = duration.value_or(std::min(limits_.default_duration, limits_.max_duration));
  if (length <= absl::ZeroDuration()) return refuse(absl::InvalidArgumentError("duration: must be positive"));
  if (length > limits_.max_duration) {
    return refuse(absl::InvalidArgumentError("duration: longer than the maximum of " +
                                             absl::FormatDuration(limits_.max_duration)));
  }

  absl::Status refusal;
  BreakGlassGrant grant;
  auto s = pool_.WithTransaction("open break-glass grant", [&](pqxx::work& tx) {
    refusal = absl::OkStatus();
    if (tx.exec_params("SELECT 1 FROM patients WHERE patient_id = $1", patient_id).empty()) {
      refusal = absl::NotFoundError("patient " + patient_id + " does not exist");
      return;
    }
    if (!tx.exec_params("SELECT 1 FROM care_team WHERE patient_id = $1 AND member = $2", patient_id,
                        caller.identity.common_name)
             .empty()) {
      refusal = absl::FailedPreconditionError(caller.identity.common_name +
                                              " is on this patient's care team; break-glass is not needed");
      return;
    }
    // One clock reading for both ends, so the grant lasts exactly `length` (two clock_timestamp()
    // calls differ by a microsecond or more).
    auto r = tx.exec_params(std::string("INSERT INTO break_glass_grants (patient_id, grantee, reason_code, "
                                        "reason_text, started_at, expires_at)"
                                        " SELECT $1, $2, $3, $4, t.now, t.now + $5 * interval '1 microsecond'"
                                        " FROM (SELECT clock_timestamp() AS now) AS t"
                                        " RETURNING ") +
                                kGrantColumns,
                            patient_id, caller.identity.common_name, reason_code, reason_text,
                            absl::ToInt64Microseconds(length));
    grant = GrantOf(r[0]);
    const std::string id = std::to_string(grant.grant_id);
    Access::AuditInTransaction(tx, caller, common::kEmergencyOverrideStarted, patient_id, "allowed",
                               "Emergency Override Started: break-glass grant " + id + ", reason " + reason_code +
                                   ", for " + absl::FormatDuration(length),
                               {.event_type = common::kSecurityAlertEventType,
                                .purpose_of_use = reason_code,
                                .entity_what = "break_glass_grant/" + id});
    tx.exec_params("SELECT pg_notify('healthtwin_security', $1)",
                   nlohmann::json{{"event", "break_glass_started"}, {"grant_id", grant.grant_id}}.dump());
  });
  if (!s.ok()) return s;
  if (!refusal.ok()) return refuse(refusal);
  common::LogWarn("security.break_glass_started", {{"grant_id", grant.grant_id},
                                                   {"grantee", grant.grantee},
                                                   {"reason_code", grant.reason_code},
                                                   {"duration_s", absl::ToInt64Seconds(length)}});
  return grant;
}

absl::StatusOr<std::vector<BreakGlassGrant>> BreakGlass::List(const Caller& admin, bool open_only) {
  std::vector<BreakGlassGrant> out;
  int ended = 0;
  auto s = pool_.WithTransaction("list break-glass grants", [&](pqxx::work& tx) {
    out.clear();
    ended = common::RecordEndedGrants(tx);
    auto r = tx.exec_params(std::string("SELECT ") + kGrantColumns +
                                " FROM break_glass_grants WHERE NOT $1 OR review IS NULL ORDER BY grant_id DESC",
                            open_only);
    for (const auto& row : r) out.push_back(GrantOf(row));
    Access::AuditInTransaction(tx, admin, "break_glass.list", "", "allowed",
                               std::to_string(out.size()) + (open_only ? " open" : "") + " grants");
  });
  if (!s.ok()) return s;
  if (ended > 0) common::LogInfo("security.break_glass_ended", {{"count", ended}});
  return out;
}

absl::StatusOr<BreakGlassGrant> BreakGlass::Notice(const Caller& admin, int64_t grant_id) {
  std::optional<BreakGlassGrant> grant;
  auto s = pool_.WithTransaction("read break-glass grant for a watcher", [&](pqxx::work& tx) {
    grant.reset();
    auto r = tx.exec_params(std::string("SELECT ") + kGrantColumns + " FROM break_glass_grants WHERE grant_id = $1",
                            grant_id);
    if (r.empty()) return;
    grant = GrantOf(r[0]);
    Access::AuditInTransaction(tx, admin, "break_glass.watch", grant->patient_id, "allowed",
                               "security event: break-glass grant " + std::to_string(grant_id),
                               {.entity_what = "break_glass_grant/" + std::to_string(grant_id)});
  });
  if (!s.ok()) return s;
  if (!grant) return absl::NotFoundError("break-glass grant " + std::to_string(grant_id) + " does not exist");
  return *grant;
}

absl::StatusOr<BreakGlassGrant> BreakGlass::Review(const Caller& admin, int64_t grant_id, GrantReview review,
                                                   const std::string& note) {
  constexpr std::string_view kAction = "break_glass.review";
  const auto refuse = [&](const std::string& patient_id, absl::Status refusal) {
    return Refuse(access_, admin, kAction, patient_id, std::move(refusal));
  };
  if (grant_id <= 0) return refuse("", absl::InvalidArgumentError("grant_id: required"));
  if (review == GrantReview::kNone) return refuse("", absl::InvalidArgumentError("review: justified or unjustified"));
  if (note.size() > kMaxTextChars) return refuse("", absl::InvalidArgumentError("note: longer than 1000 characters"));
  absl::Status refusal;
  std::string patient_id;
  BreakGlassGrant grant;
  auto s = pool_.WithTransaction("review break-glass grant", [&](pqxx::work& tx) {
    refusal = absl::OkStatus();
    patient_id.clear();
    auto current =
        tx.exec_params("SELECT patient_id, review FROM break_glass_grants WHERE grant_id = $1 FOR UPDATE", grant_id);
    if (current.empty()) {
      refusal = absl::NotFoundError("break-glass grant " + std::to_string(grant_id) + " does not exist");
      return;
    }
    patient_id = current[0][0].as<std::string>();
    if (!current[0][1].is_null()) {
      refusal = absl::FailedPreconditionError("break-glass grant " + std::to_string(grant_id) +
                                              " was reviewed already (" + current[0][1].as<std::string>() + ")");
      return;
    }
    const char* verdict = review == GrantReview::kJustified ? "justified" : "unjustified";
    auto r = tx.exec_params(std::string("UPDATE break_glass_grants SET review = $2, review_note = $3, reviewed_by = $4,"
                                        " reviewed_at = clock_timestamp() WHERE grant_id = $1 RETURNING ") +
                                kGrantColumns,
                            grant_id, verdict, note, admin.identity.common_name);
    grant = GrantOf(r[0]);
    Access::AuditInTransaction(tx, admin, kAction, patient_id, "allowed",
                               "break-glass grant " + std::to_string(grant_id) + " reviewed: " + verdict,
                               {.entity_what = "break_glass_grant/" + std::to_string(grant_id)});
  });
  if (!s.ok()) return s;
  if (!refusal.ok()) return refuse(patient_id, refusal);
  return grant;
}

}  // namespace healthtwin::clinician
