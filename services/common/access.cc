#include "services/common/access.h"

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
                 std::string_view outcome, std::string_view detail) {
  tx.exec_params(
      "INSERT INTO audit_log (actor, role, action, patient_id, outcome, detail, peer, on_behalf_of, agent_token_id)"
      " VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6, $7, $8, $9)",
      caller.identity.common_name, std::string(RoleName(caller.identity.role)), std::string(action),
      Bounded(patient_id, 80), std::string(outcome), Bounded(detail, 500), caller.peer_address,
      Bounded(caller.on_behalf_of, 80), Bounded(caller.token_id, 130));
}

}  // namespace

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
  const bool care_role = caller.identity.role == Role::kClinician || caller.identity.role == Role::kNurse;
  if (care_role) {
    auto s = pool_.WithTransaction("check care team", [&](pqxx::work& tx) {
      allowed = !tx.exec_params("SELECT 1 FROM care_team WHERE patient_id = $1 AND member = $2", patient_id,
                                caller.identity.common_name)
                     .empty();
    });
    if (!s.ok()) return s;
  }
  const char* outcome = allowed ? "allowed" : "denied";
  if (auto s = Audit(caller, action, patient_id, outcome, allowed ? "" : "not on care team"); !s.ok()) {
    return absl::UnavailableError("access refused: the audit record could not be written");
  }
  if (!allowed) {
    // The patient is not named: the caller may have asked by alert id and must not learn whose it is.
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
