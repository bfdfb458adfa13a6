#include "tests/harness/migrated_database.h"

#include <exception>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/row>
#include <pqxx/transaction>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/db/roles.h"

namespace healthtwin::testing {
namespace {

constexpr size_t kTemplateNameHexDigits = 16;

// Made once per machine, in the cluster whose data directory becomes the cached template.
absl::Status PrepareMigratedTemplate(PgCluster& cluster) {
  const std::string name = MigratedTemplateName();
  auto conninfo = CreateMigratedDatabaseFromScratch(cluster, name);
  if (!conninfo.ok()) return conninfo.status();
  try {
    pqxx::connection superuser(cluster.ConnInfo());
    // No connections: CREATE DATABASE refuses a template someone is connected to, and nothing
    // may write to it (a copy takes sequence values and every row as they are).
    pqxx::nontransaction(superuser).exec(
        absl::StrCat("ALTER DATABASE ", superuser.quote_name(name), " IS_TEMPLATE true ALLOW_CONNECTIONS false"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("mark ", name, " as a template: ", e.what()));
  }
  return absl::OkStatus();
}

// CREATE DATABASE copies the contents but not pg_database's own grants (0006 and 0013 revoke
// PUBLIC's and grant CONNECT/TEMPORARY per service); replay them from the template. The
// owner's own entry follows from ownership.
void CopyDatabaseGrants(pqxx::connection& superuser, const std::string& from, const std::string& to) {
  pqxx::work tx(superuser);
  if (tx.exec_params1("SELECT datacl IS NULL FROM pg_database WHERE datname = $1", from)[0].as<bool>()) return;
  const std::string database = tx.quote_name(to);
  tx.exec(absl::StrCat("REVOKE ALL ON DATABASE ", database, " FROM PUBLIC"));
  const pqxx::result grants = tx.exec_params(
      "SELECT a.privilege_type, a.grantee = 0, coalesce(r.rolname, ''), a.is_grantable"
      " FROM pg_database d, aclexplode(d.datacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee"
      " WHERE d.datname = $1 AND a.grantee <> d.datdba",
      from);
  for (const pqxx::row& grant : grants) {
    const std::string grantee = grant[1].as<bool>() ? "PUBLIC" : tx.quote_name(grant[2].as<std::string>());
    tx.exec(absl::StrCat("GRANT ", grant[0].as<std::string>(), " ON DATABASE ", database, " TO ", grantee,
                         grant[3].as<bool>() ? " WITH GRANT OPTION" : ""));
  }
  tx.commit();
}

bool HasTemplate(pqxx::connection& superuser, const std::string& name) {
  pqxx::nontransaction tx(superuser);
  return !tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate", name).empty();
}

}  // namespace

PgClusterOptions WithMigratedTemplate(PgClusterOptions options) {
  // Migration 0002 creates the vitals partitions of the current UTC month and the next two, so
  // a template from last month would differ from a database migrated today.
  const std::string month = absl::FormatTime("%Y-%m", absl::Now(), absl::UTCTimeZone());
  options.template_key = absl::StrCat("migrated ", MigrationsKey(common::BuiltInMigrations()), " month ", month);
  options.prepare_template = PrepareMigratedTemplate;
  return options;
}

std::string MigrationsKey(const std::vector<common::Migration>& migrations) {
  std::string text;
  for (const common::Migration& m : migrations) {
    absl::StrAppend(&text, m.version, "\n", m.name, "\n", common::MigrationChecksum(m.sql), "\n");
  }
  absl::StrAppend(&text, "roles ", common::kMigratorRole);
  for (const std::string& service : common::DatabaseServices()) absl::StrAppend(&text, " ", service);
  return common::MigrationChecksum(text);
}

std::string MigratedTemplateName() {
  static const auto* const kName = new std::string(
      "healthtwin_migrated_" + MigrationsKey(common::BuiltInMigrations()).substr(0, kTemplateNameHexDigits));
  return *kName;
}

absl::StatusOr<std::string> CreateMigratedDatabase(PgCluster& cluster, std::string_view name) {
  const std::string template_name = MigratedTemplateName();
  try {
    pqxx::connection postgres(cluster.ConnInfo());
    if (!HasTemplate(postgres, template_name)) return CreateMigratedDatabaseFromScratch(cluster, name);
    if (auto s = cluster.CreateDatabase(name, template_name); !s.ok()) return s;
    const std::string conninfo = cluster.ConnInfo(name);
    pqxx::connection superuser(conninfo);
    // The roles exist already; this makes the migrator the owner, as from scratch.
    if (auto s = common::BootstrapRoles(superuser); !s.ok()) return s;
    CopyDatabaseGrants(superuser, template_name, std::string(name));
    return conninfo;
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("create ", std::string(name), " from ", template_name, ": ", e.what()));
  }
}

absl::StatusOr<std::string> CreateMigratedDatabaseFromScratch(PgCluster& cluster, std::string_view name) {
  if (auto s = cluster.CreateDatabase(name); !s.ok()) return s;
  const std::string conninfo = cluster.ConnInfo(name);
  try {
    pqxx::connection superuser(conninfo);
    if (auto s = common::BootstrapRoles(superuser); !s.ok()) return s;
    pqxx::connection migrator(common::ConnInfoAs(conninfo, common::kMigratorRole));
    auto report = common::ApplyMigrations(migrator, common::BuiltInMigrations());
    if (!report.ok()) return report.status();
  } catch (const std::exception& e) {
    return absl::UnavailableError(std::string("migrate ") + conninfo + ": " + e.what());
  }
  return conninfo;
}

std::string ServiceConnInfo(std::string_view conninfo, std::string_view service) {
  return common::ConnInfoAs(conninfo, common::ServiceRole(service));
}

void ExecSql(const std::string& conninfo, const std::string& sql) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec(sql);
  tx.commit();
}

int64_t QueryInt64(const std::string& conninfo, const std::string& sql) {
  pqxx::connection c(conninfo);
  return pqxx::nontransaction(c).exec1(sql)[0].as<int64_t>();
}

}  // namespace healthtwin::testing
