#include "services/common/db/migrator.h"

#include <openssl/evp.h>

#include <cstddef>
#include <exception>
#include <map>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace healthtwin::common {
namespace {

constexpr char kCreateSchemaMigrations[] = R"sql(
CREATE TABLE schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";

std::string Label(int version, std::string_view name) { return absl::StrFormat("%04d_%s", version, name); }

std::string Label(const Migration& migration) { return Label(migration.version, migration.name); }

absl::Status ValidateOrder(const std::vector<Migration>& migrations) {
  int previous = 0;
  for (const Migration& migration : migrations) {
    if (migration.version < 1) {
      return absl::InvalidArgumentError(absl::StrCat("migration ", Label(migration), ": versions start at 1"));
    }
    if (migration.version <= previous) {
      return absl::InvalidArgumentError(
          absl::StrCat("migrations must have strictly ascending versions: ", migration.version, " follows ", previous));
    }
    previous = migration.version;
  }
  return absl::OkStatus();
}

// Holds the session-level advisory lock that serialises migrators.
//
// libpqxx 6 quietly reconnects a broken connection when the next transaction
// starts, and the new session would not hold the lock. So the lock remembers
// its backend and callers check StillHeld() before every transaction.
class MigrationLock {
 public:
  explicit MigrationLock(pqxx::connection& conn) : conn_(conn) {
    pqxx::nontransaction tx(conn_, "migration_lock");
    tx.exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockKey, ")"));
    backend_pid_ = conn_.backendpid();
  }

  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

  ~MigrationLock() {
    if (!StillHeld()) return;  // the session, and with it the lock, is gone
    try {
      pqxx::nontransaction tx(conn_, "migration_unlock");
      tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockKey, ")"));
    } catch (const std::exception&) {
      // The lock goes away with the session; nothing else to do.
    }
  }

  // libpq reports backend PID 0 once the connection is bad.
  bool StillHeld() const { return backend_pid_ != 0 && conn_.backendpid() == backend_pid_; }

 private:
  pqxx::connection& conn_;
  int backend_pid_ = 0;
};

absl::Status LostConnection() {
  return absl::UnavailableError("lost the database connection while migrating; nothing was half-applied, retry");
}

struct AppliedMigration {
  std::string name;
  std::string checksum;
};

// Compares what the database has applied with what this build knows.
absl::Status CheckHistory(const std::map<int, AppliedMigration>& applied, const std::vector<Migration>& migrations) {
  const int db_version = applied.empty() ? 0 : applied.rbegin()->first;
  const int code_version = migrations.empty() ? 0 : migrations.back().version;
  if (db_version > code_version) {
    return absl::FailedPreconditionError(absl::StrCat("database schema version ", db_version,
                                                      " is newer than this build supports (", code_version,
                                                      "); refusing to start"));
  }
  std::map<int, const Migration*> known;
  for (const Migration& migration : migrations) known[migration.version] = &migration;

  for (const auto& [version, row] : applied) {
    auto it = known.find(version);
    if (it == known.end()) {
      return absl::FailedPreconditionError(absl::StrCat("database has applied migration ", Label(version, row.name),
                                                        ", which this build does not have; refusing to start"));
    }
    std::string checksum = MigrationChecksum(it->second->sql);
    if (row.checksum != checksum) {
      return absl::FailedPreconditionError(absl::StrCat(
          "migration ", Label(*it->second), " was changed after it was applied (checksum ", row.checksum,
          " in the database, ", checksum, " in this build); add a new migration instead of editing an applied one"));
    }
  }
  for (const Migration& migration : migrations) {
    if (migration.version < db_version && !applied.contains(migration.version)) {
      return absl::FailedPreconditionError(absl::StrCat("migration ", Label(migration),
                                                        " was never applied, but the database is "
                                                        "already at version ",
                                                        db_version, "; refusing to start"));
    }
  }
  return absl::OkStatus();
}

std::map<int, AppliedMigration> ReadApplied(pqxx::transaction_base& tx) {
  std::map<int, AppliedMigration> applied;
  for (const pqxx::row& row : tx.exec("SELECT version, name, checksum FROM schema_migrations")) {
    applied[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  }
  return applied;
}

// The work done under the lock. libpqxx exceptions propagate to the caller;
// `current` names the migration being applied when one is thrown.
absl::StatusOr<MigrationReport> MigrateLocked(pqxx::connection& conn, const MigrationLock& lock,
                                              const std::vector<Migration>& migrations, const Migration** current) {
  std::map<int, AppliedMigration> applied;
  if (!lock.StillHeld()) return LostConnection();
  {
    pqxx::work tx(conn, "schema_migrations");
    // Checked rather than IF NOT EXISTS, which logs a notice on every start.
    if (tx.exec1("SELECT to_regclass('schema_migrations') IS NULL")[0].as<bool>()) {
      tx.exec(kCreateSchemaMigrations);
    }
    applied = ReadApplied(tx);
    tx.commit();
  }
  if (absl::Status s = CheckHistory(applied, migrations); !s.ok()) return s;

  MigrationReport report;
  report.from_version = applied.empty() ? 0 : applied.rbegin()->first;
  report.to_version = report.from_version;
  for (const Migration& migration : migrations) {
    if (migration.version <= report.from_version) continue;
    if (!lock.StillHeld()) return LostConnection();
    *current = &migration;
    pqxx::work tx(conn, "migration");
    tx.exec(migration.sql);
    tx.exec_params(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
        "VALUES ($1, $2, $3, now())",
        migration.version, migration.name, MigrationChecksum(migration.sql));
    tx.commit();
    *current = nullptr;
    report.applied.push_back(migration.version);
    report.to_version = migration.version;
  }
  return report;
}

std::string Describe(const Migration* current) {
  return current != nullptr ? absl::StrCat("migration ", Label(*current))
                            : std::string("schema_migrations bookkeeping");
}

std::string Message(const std::exception& e) { return std::string(absl::StripTrailingAsciiWhitespace(e.what())); }

}  // namespace

std::string MigrationChecksum(std::string_view sql) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // Only fails when out of memory or OpenSSL is broken.
  if (EVP_Digest(sql.data(), sql.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    std::terminate();
  }
  std::string hex;
  hex.reserve(2 * static_cast<std::size_t>(size));
  for (unsigned int i = 0; i < size; ++i) absl::StrAppendFormat(&hex, "%02x", digest[i]);
  return hex;
}

absl::StatusOr<MigrationReport> ApplyMigrations(pqxx::connection& conn, const std::vector<Migration>& migrations) {
  if (absl::Status s = ValidateOrder(migrations); !s.ok()) return s;
  const Migration* current = nullptr;
  try {
    MigrationLock lock(conn);
    return MigrateLocked(conn, lock, migrations, &current);
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat("database connection failed during ", Describe(current), ": ", Message(e)));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(
        absl::StrCat("connection lost while committing ", Describe(current),
                     "; whether it was applied is unknown until the next start: ", Message(e)));
  } catch (const pqxx::failure& e) {
    // SQL errors, including the one libpq reports when the server ends the
    // session (a shutdown, pg_terminate_backend): tell those apart by the
    // connection's state.
    if (conn.backendpid() == 0) {
      return absl::UnavailableError(
          absl::StrCat("database connection lost during ", Describe(current), ": ", Message(e)));
    }
    std::string sqlstate;
    if (const auto* sql_error = dynamic_cast<const pqxx::sql_error*>(&e)) {
      sqlstate = absl::StrCat(" (SQLSTATE ", sql_error->sqlstate(), ")");
    }
    return absl::InternalError(absl::StrCat(Describe(current), " failed", sqlstate, ": ", Message(e)));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(Describe(current), " failed: ", Message(e)));
  }
}

absl::Status CheckSchema(pqxx::connection& conn, const std::vector<Migration>& migrations) {
  if (absl::Status s = ValidateOrder(migrations); !s.ok()) return s;
  const int code_version = migrations.empty() ? 0 : migrations.back().version;
  try {
    pqxx::read_transaction tx(conn, "check_schema");
    if (tx.exec1("SELECT to_regclass('schema_migrations') IS NULL")[0].as<bool>()) {
      return absl::FailedPreconditionError(absl::StrCat("database ", conn.dbname(),
                                                        " has no healthtwin schema; run healthtwin-migrate"));
    }
    const std::map<int, AppliedMigration> applied = ReadApplied(tx);
    if (absl::Status s = CheckHistory(applied, migrations); !s.ok()) return s;
    const int db_version = applied.empty() ? 0 : applied.rbegin()->first;
    if (db_version < code_version) {
      return absl::FailedPreconditionError(absl::StrCat("database schema version ", db_version,
                                                        " is older than this build (", code_version,
                                                        "); run healthtwin-migrate"));
    }
    return absl::OkStatus();
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat("check the database schema: ", Message(e)));
  } catch (const pqxx::insufficient_privilege& e) {
    // A role without the grants of migration 0006: wrong role or migrated by an older build.
    return absl::FailedPreconditionError(absl::StrCat("database user ", conn.username(),
                                                      " may not read the schema version (", Message(e),
                                                      "); see docs/database-roles.md"));
  } catch (const std::exception& e) {
    if (conn.backendpid() == 0) return absl::UnavailableError(absl::StrCat("check the database schema: ", Message(e)));
    return absl::InternalError(absl::StrCat("check the database schema: ", Message(e)));
  }
}

}  // namespace healthtwin::common
