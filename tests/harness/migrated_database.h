// A database laid out as in production (docs/database-roles.md): the healthtwin roles exist,
// healthtwin_migrator owns the database and has applied every built-in migration, and the
// services connect as their own roles.
//
// Applying the migrations costs over a second per database under load, so a cluster started
// with WithMigratedTemplate() carries a template database, migrated once per machine and
// cached with the data directory (pg_template_cache.h), that CreateMigratedDatabase copies.
// Tests of the migrator itself create their databases from template0 and migrate by hand.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/db/migrator.h"
#include "tests/harness/pg_cluster.h"

namespace healthtwin::testing {

// `options` whose cached template holds the roles and the database MigratedTemplateName(),
// migrated with the built-in migrations and closed to connections. The cache key holds
// MigrationsKey() and the current UTC month (migration 0002 makes partitions by month). Without the template
// cache (HEALTHTWIN_PG_NO_TEMPLATE=1) the cluster holds neither, and CreateMigratedDatabase
// migrates from scratch.
PgClusterOptions WithMigratedTemplate(PgClusterOptions options = {});

// "healthtwin_migrated_" + the first 16 hex digits of MigrationsKey(BuiltInMigrations()).
std::string MigratedTemplateName();

// SHA-256 (hex) of every migration's version, name and SQL and of the roles BootstrapRoles
// makes: editing, adding or renaming a migration changes it.
std::string MigrationsKey(const std::vector<common::Migration>& migrations);

// Creates database `name` in `cluster` as in production: from MigratedTemplateName() when the
// cluster holds it (then owned by the migrator with the template's database-level grants
// replayed, which PostgreSQL does not copy), else as CreateMigratedDatabaseFromScratch does.
// Returns the database's superuser conninfo, for test fixtures and assertions; give a service
// ServiceConnInfo(it, service).
absl::StatusOr<std::string> CreateMigratedDatabase(PgCluster& cluster, std::string_view name);

// Creates database `name` from template0, bootstraps the roles as the cluster's superuser and
// applies the built-in migrations as healthtwin_migrator.
absl::StatusOr<std::string> CreateMigratedDatabaseFromScratch(PgCluster& cluster, std::string_view name);

// `conninfo` connecting as the role of `service` ("ingest", "alerts", "twin", "simulation",
// "clinician_api").
std::string ServiceConnInfo(std::string_view conninfo, std::string_view service);

// For fixtures: runs `sql` in a transaction of its own and commits; the first column of the
// single row `sql` returns. Both throw (pqxx) on failure, which fails the test.
void ExecSql(const std::string& conninfo, const std::string& sql);
int64_t QueryInt64(const std::string& conninfo, const std::string& sql);

}  // namespace healthtwin::testing
