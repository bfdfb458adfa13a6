// The PostgreSQL roles of healthtwin (docs/database-roles.md).
//
// healthtwin_migrator owns the database and every object in it and is the only role that runs
// migrations. Each service connects as healthtwin_<service> (ingest, alerts, twin, simulation,
// clinician_api, feeds), a login role that owns nothing and holds only the privileges that
// migration 0006 and later ones grant it. Roles are cluster-wide while migrations run per
// database, so a superuser creates them beforehand with BootstrapRoles
// (`healthtwin-migrate --bootstrap-roles`).
#pragma once

#include <pqxx/connection>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace healthtwin::common {

inline constexpr char kMigratorRole[] = "healthtwin_migrator";

// The services that connect to PostgreSQL, by the name ServiceRole takes.
const std::vector<std::string>& DatabaseServices();

// "ingest" -> "healthtwin_ingest".
std::string ServiceRole(std::string_view service);

// `conninfo` connecting as `role` instead (libpq lets the last `user=` win).
std::string ConnInfoAs(std::string_view conninfo, std::string_view role);

// Run by a superuser connected to the database the roles are for: creates the migrator and
// every service role when missing (LOGIN, no other attribute; authentication is the
// cluster's pg_hba business) and makes the migrator the owner of that database. Idempotent.
// Errors: Unavailable when the connection fails, Internal for an SQL error (e.g. not a
// superuser).
absl::Status BootstrapRoles(pqxx::connection& superuser);

}  // namespace healthtwin::common
