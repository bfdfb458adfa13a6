#include "services/common/break_glass_grants.h"

#include <nlohmann/json.hpp>

#include "services/common/access.h"

namespace healthtwin::common {

std::optional<GrantState> NewestGrant(pqxx::work& tx, const std::string& patient_id, const std::string& grantee) {
  auto r = tx.exec_params(
      "SELECT grant_id, reason_code, expires_at > clock_timestamp(), end_audited_at IS NOT NULL"
      " FROM break_glass_grants WHERE grantee = $1 AND patient_id = $2 ORDER BY expires_at DESC LIMIT 1",
      grantee, patient_id);
  if (r.empty()) return std::nullopt;
  return GrantState{.grant_id = r[0][0].as<int64_t>(),
                    .reason_code = r[0][1].as<std::string>(),
                    .active = r[0][2].as<bool>(),
                    .end_audited = r[0][3].as<bool>()};
}

int RecordEndedGrants(pqxx::work& tx, std::optional<int64_t> only_grant) {
  auto ended = tx.exec_params(
      "UPDATE break_glass_grants SET end_audited_at = clock_timestamp()"
      " WHERE grant_id IN (SELECT grant_id FROM break_glass_grants"
      "                    WHERE end_audited_at IS NULL AND expires_at <= clock_timestamp()"
      "                      AND ($1::bigint IS NULL OR grant_id = $1::bigint)"
      "                    ORDER BY grant_id FOR UPDATE SKIP LOCKED)"
      " RETURNING grant_id, grantee, patient_id, reason_code, expires_at",
      only_grant);
  for (const auto& row : ended) {
    // The record names the grantee as the agent whose override stopped; the service that noticed
    // is not a party to it.
    Caller grantee;
    grantee.identity.common_name = row[1].as<std::string>();
    grantee.identity.role = Role::kClinician;
    const std::string id = row[0].as<std::string>();
    Access::AuditInTransaction(
        tx, grantee, kEmergencyOverrideStopped, row[2].as<std::string>(), "allowed",
        "Emergency Override Stopped: break-glass grant " + id + " expired at " + row[4].as<std::string>(),
        {.event_type = kSecurityAlertEventType,
         .purpose_of_use = row[3].as<std::string>(),
         .entity_what = "break_glass_grant/" + id});
    // For admins watching live (clinician_api/security_notices.h); delivered on commit.
    tx.exec_params("SELECT pg_notify('healthtwin_security', $1)",
                   nlohmann::json{{"event", "break_glass_ended"}, {"grant_id", row[0].as<int64_t>()}}.dump());
  }
  return static_cast<int>(ended.size());
}

}  // namespace healthtwin::common
