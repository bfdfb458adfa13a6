#include "services/common/access.h"

namespace healthtwin::common {

absl::StatusOr<std::vector<std::string>> Access::CareTeamPatients(const Caller& caller) {
  std::vector<std::string> out;
  auto s = pool_.WithTransaction("read care team", [&](pqxx::work& tx) {
    out.clear();
    auto r = tx.exec_params("SELECT patient_id FROM care_team WHERE member = $1 ORDER BY patient_id",
                            caller.identity.common_name);
    for (const auto& row : r) out.push_back(row[0].as<std::string>());
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status Access::Audit(const Caller& caller, std::string_view action, const std::string& patient_id,
                           std::string_view outcome, std::string_view detail) {
  return pool_.WithTransaction("write audit record", [&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO audit_log (actor, role, action, patient_id, outcome, detail, peer)"
        " VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6, $7)",
        caller.identity.common_name, std::string(RoleName(caller.identity.role)), std::string(action),
        patient_id, std::string(outcome), std::string(detail), caller.peer_address);
  });
}

absl::Status Access::CheckAndAudit(const Caller& caller, std::string_view action, const std::string& patient_id) {
  bool allowed = false;
  const bool care_role =
      caller.identity.role == Role::kClinician || caller.identity.role == Role::kNurse;
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
    return absl::PermissionDeniedError(caller.identity.common_name + " is not on the care team of patient " +
                                       patient_id);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Access::AlertPatient(const std::string& alert_id) {
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
