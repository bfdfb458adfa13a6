// Versioned SQL migrations, applied by `healthtwin-migrate` as healthtwin_migrator
// (docs/database-roles.md); services only check the schema with CheckSchema().
//
// Migrations are the files services/common/db/migrations/NNNN_name.sql,
// embedded in the binary at build time. ApplyMigrations() brings a database
// up to the newest one and records each in
//   schema_migrations(version int primary key, name text,
//                     checksum text /* sha256 hex of the sql */,
//                     applied_at timestamptz)
//
// Promises:
//  - Each migration runs in its own transaction together with its
//    schema_migrations row: it is applied completely or not at all.
//  - Concurrent callers (several services starting at once) are serialised by
//    a session advisory lock on kMigrationLockKey; each migration is applied
//    exactly once.
//  - Idempotent: a second call applies nothing.
//  - It refuses to touch a database that this build does not understand: a
//    version newer than the newest migration, an applied migration whose SQL
//    has changed since, or one unknown to this build.
//
// A migration's SQL runs inside a transaction block, so it must not contain
// BEGIN/COMMIT or statements that refuse transactions (CREATE INDEX
// CONCURRENTLY, VACUUM, CREATE DATABASE).

#ifndef HEALTHTWIN_SERVICES_COMMON_DB_MIGRATOR_H_
#define HEALTHTWIN_SERVICES_COMMON_DB_MIGRATOR_H_

#include <cstdint>
#include <pqxx/connection>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace healthtwin::common {

struct Migration {
  int version;       // > 0; the NNNN of the file name
  std::string name;  // the file name without NNNN_ and .sql
  std::string sql;   // may hold several statements
};

// Key of the session-level advisory lock held while migrating (ASCII
// "htschema"). Anything else that must not run during a migration can take it.
inline constexpr std::int64_t kMigrationLockKey = 0x6874736368656d61;

// The migrations embedded in this binary, by ascending version.
const std::vector<Migration>& BuiltInMigrations();

// Lower-case hex SHA-256 of `sql`, as stored in schema_migrations.checksum.
std::string MigrationChecksum(std::string_view sql);

struct MigrationReport {
  int from_version = 0;      // highest version recorded before; 0 for none
  int to_version = 0;        // highest version recorded after
  std::vector<int> applied;  // versions applied by this call, ascending
};

// Applies every migration in `migrations` (ascending, distinct versions)
// newer than the database's version, using `conn` (which must not be inside a
// transaction). Blocks while another process migrates the same database.
//
// Errors:
//  - InvalidArgument: `migrations` is not strictly ascending or has a
//    version < 1.
//  - FailedPrecondition: "database schema version N is newer than this build
//    supports (M); refusing to start"; or an applied migration whose checksum
//    differs from `migrations`, or that is missing from it, or a migration
//    older than the database's version that was never applied.
//  - Unavailable: the connection failed or was lost (nothing half-applied).
//  - Internal: a migration's SQL failed; the message names the migration.
absl::StatusOr<MigrationReport> ApplyMigrations(pqxx::connection& conn, const std::vector<Migration>& migrations);

// What a service runs at start instead of migrating (it has no DDL privilege): OK when the
// database has applied exactly `migrations`. Reads schema_migrations only.
//
// Errors:
//  - FailedPrecondition: no schema_migrations ("... has no healthtwin schema; run
//    healthtwin-migrate"), a version older than the newest of `migrations` ("database schema
//    version N is older than this build (M); run healthtwin-migrate"), or any refusal of
//    ApplyMigrations (newer, changed or unknown migrations).
//  - Unavailable: the connection failed.
//  - Internal: the query failed (e.g. permission denied on schema_migrations).
absl::Status CheckSchema(pqxx::connection& conn, const std::vector<Migration>& migrations);

}  // namespace healthtwin::common

#endif  // HEALTHTWIN_SERVICES_COMMON_DB_MIGRATOR_H_
