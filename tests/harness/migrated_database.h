// A database laid out as in production (docs/database-roles.md): the healthtwin roles exist,
// healthtwin_migrator owns the database and has applied every built-in migration, and the
// services connect as their own roles.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tests/harness/pg_cluster.h"

namespace healthtwin::testing {

// Creates database `name` in `cluster`, bootstraps the roles as the cluster's superuser and
// applies the built-in migrations as healthtwin_migrator. Returns the database's superuser
// conninfo, for test fixtures and assertions; give a service ServiceConnInfo(it, service).
absl::StatusOr<std::string> CreateMigratedDatabase(PgCluster& cluster, std::string_view name);

// `conninfo` connecting as the role of `service` ("ingest", "alerts", "twin", "simulation",
// "clinician_api").
std::string ServiceConnInfo(std::string_view conninfo, std::string_view service);

// For fixtures: runs `sql` in a transaction of its own and commits; the first column of the
// single row `sql` returns. Both throw (pqxx) on failure, which fails the test.
void ExecSql(const std::string& conninfo, const std::string& sql);
int64_t QueryInt64(const std::string& conninfo, const std::string& sql);

}  // namespace healthtwin::testing
