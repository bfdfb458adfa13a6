#include "services/common/access.h"

#include <optional>

#include "services/common/break_glass_grants.h"
#include "services/common/ids.h"
#include "services/common/logging.h"

namespace healthtwin::common {

absl::StatusOr<std::vector<std::string>> Access::CareTeamPatients(const Caller& caller) {
  return CareTeamPatientsOf(caller.identity.common_name);
}

absl::StatusOr<std::vector<std::string>> Access::CareTeamPatientsOf(const std::string& member) {
  std::vector<std::string> out;
  auto s = pool_.WithTransaction("read care team", [&](pqxx::work& tx) {
    out.clear();
    auto r = tx.exec_params("SELECT patient_id FROM care_team WHERE member = $1 ORDER BY patient_id", member);
    for (const auto& row : r) out.push_back(row[0].as<std::string>());
  });
  if (!s.ok()) return s;
  return out;
}

namespace {

// Audit fields come partly from requests; bound them so a refused request cannot write
// megabytes into the log. Ids are at most 64 characters wherever they are valid.
std::string Bounded(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "...";
}

void InsertAudit(pqxx::work& tx, const Caller& caller, std::string_view action, const std::string& patient_id,
                 std::string_view outcome, std::string_view detail, const AuditCoding& coding = {}) {
  // NULL (or the column default for event_type) lets the trigger derive what a writer leaves out.
  tx.exec_params(
      "INSERT INTO audit_log (actor, role, action, patient_id, outcome, detail, peer, on_behalf_of, event_type,"
      " purpose_of_use, entity_what, agent_token_id, outcome_code)"
      " VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6, $7, $8, COALESCE(NULLIF($9, ''), '110110'), NULLIF($10, ''), $11,"
      " $12, NULLIF($13, ''))",
      caller.identity.common_name, std::string(RoleName(caller.identity.role)), std::string(action),
      Bounded(patient_id, 80), std::string(outcome), Bounded(detail, 500), caller.peer_address,
      Bounded(caller.on_behalf_of, 80), coding.event_type, coding.purpose_of_use, Bounded(coding.entity_what, 120),
      Bounded(caller.token_id, 130), coding.outcome_code);
}

}  // namespace

void Access::AuditInTransaction(pqxx::work& tx, const Caller& caller, std::string_view action,
                                const std::string& patient_id, std::string_view outcome, std::string_view detail,
                                const AuditCoding& coding) {
  InsertAudit(tx, caller, action, patient_id, outcome, detail, coding);
}

void Access::EnableCheckpoints(std::shared_ptr<const audit::CheckpointKey> key, audit::CheckpointPolicy policy) {
  checkpoint_key_ = std::move(key);
  checkpoint_policy_ = policy;
}

void Access::CheckpointIfDue() {
  if (!checkpoint_key_) return;
  absl::Status result;
  auto s = pool_.WithTransaction("write audit checkpoint", [&](pqxx::work& tx) {
    auto written = audit::CheckpointIfDue(tx, *checkpoint_key_, checkpoint_policy_);
    result = written.status();
  });
  if (s.ok()) s = result;
  if (!s.ok()) LogWarn("audit.checkpoint_failed", {{"error", s.ToString()}});
}

absl::Status Access::Audit(const Caller& caller, std::string_view action, const std::string& patient_id,
                           std::string_view outcome, std::string_view detail) {
  auto s = pool_.WithTransaction("write audit record",
                                 [&](pqxx::work& tx) { InsertAudit(tx, caller, action, patient_id, outcome, detail); });
  if (s.ok()) CheckpointIfDue();
  return s;
}

absl::Status Access::AuditEach(const Caller& caller, std::string_view action,
                               const std::vector<std::string>& patient_ids, std::string_view outcome,
                               std::string_view detail) {
  auto s = pool_.WithTransaction("write audit records", [&](pqxx::work& tx) {
    if (patient_ids.empty()) InsertAudit(tx, caller, action, "", outcome, detail);
    for (const auto& p : patient_ids) InsertAudit(tx, caller, action, p, outcome, detail);
  });
  if (s.ok()) CheckpointIfDue();
  return s;
}

absl::Status Access::CheckAndAudit(const Caller& caller, std::string_view action, const std::string& patient_id) {
  bool allowed = false;
  std::optional<GrantState> grant;
  const bool care_role = caller.identity.role == Role::kClinician || caller.identity.role == Role::kNurse;
  std::string detail;
  AuditCoding coding;
  // The decision and its record commit together: an expired grant's end is recorded with the refusal.
  auto s = pool_.WithTransaction("check care team and audit", [&](pqxx::work& tx) {
    allowed = false;
    grant.reset();
    detail.clear();
    coding = {};
    if (care_role) {
      allowed = !tx.exec_params("SELECT 1 FROM care_team WHERE patient_id = $1 AND member = $2", patient_id,
                                caller.identity.common_name)
                     .empty();
      // Break-glass is for clinicians only (docs/security.md, "Break-glass").
      if (!allowed && caller.identity.role == Role::kClinician) {
        grant = NewestGrant(tx, patient_id, caller.identity.common_name);
      }
    }
    if (grant && grant->active) {
      allowed = true;
      detail = "break-glass grant " + std::to_string(grant->grant_id);
      coding.purpose_of_use = grant->reason_code;
      coding.entity_what = "break_glass_grant/" + std::to_string(grant->grant_id);
    } else if (grant) {
      detail = "break-glass grant " + std::to_string(grant->grant_id) + " expired";
      coding.entity_what = "break_glass_grant/" + std::to_string(grant->grant_id);
      if (!grant->end_audited) RecordEndedGrants(tx, grant->grant_id);
    } else if (!allowed) {
      detail = "not on care team";
    }
    InsertAudit(tx, caller, action, patient_id, allowed ? "allowed" : "denied", detail, coding);
  });
  if (!s.ok()) return absl::UnavailableError("access refused: the audit record could not be written");
  CheckpointIfDue();
  if (!allowed) {
    // The patient is not named: the caller may have asked by alert id and must not learn whose it is.
    if (grant)
      return absl::PermissionDeniedError("the break-glass grant of " + caller.identity.common_name + " has expired");
    return absl::PermissionDeniedError(caller.identity.common_name + " is not on this patient's care team");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Access::AlertPatient(const std::string& alert_id) {
  // Checked here, not by the ::uuid cast, so that no database error text reaches the caller.
  if (!IsUuid(alert_id)) return absl::InvalidArgumentError("alert_id: not a UUID");
  std::string patient;
  auto s = pool_.WithTransaction("find alert", [&](pqxx::work& tx) {
    auto r = tx.exec_params("SELECT patient_id FROM alerts WHERE alert_id = $1::uuid", alert_id);
    if (!r.empty()) patient = r[0][0].as<std::string>();
  });
  if (!s.ok()) return s;
  if (patient.empty()) return absl::NotFoundError("alert " + alert_id + " does not exist");
  return patient;
}

}  // namespace healthtwin::common
