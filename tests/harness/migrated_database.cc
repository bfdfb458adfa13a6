#include "tests/harness/migrated_database.h"

#include <exception>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "services/common/db/migrator.h"
#include "services/common/db/roles.h"

namespace healthtwin::testing {

absl::StatusOr<std::string> CreateMigratedDatabase(PgCluster& cluster, std::string_view name) {
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
