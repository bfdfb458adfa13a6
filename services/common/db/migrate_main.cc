// healthtwin-migrate: brings a database to this build's schema. Services never migrate (their
// roles have no DDL privilege); this runs first, as healthtwin_migrator (docs/database-roles.md).
//
//   healthtwin-migrate --db CONNINFO                     # as healthtwin_migrator: apply migrations
//   healthtwin-migrate --db CONNINFO --bootstrap-roles   # as a superuser: create the roles, give
//                                                        # the migrator this database
//
// Exit codes: 0 success, 1 the operation failed, 2 bad arguments or a schema this build refuses.

#include <algorithm>
#include <iostream>
#include <string>

#include <pqxx/connection>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "services/common/db/migrator.h"
#include "services/common/db/roles.h"

namespace {

constexpr char kProgram[] = "healthtwin-migrate";

int Fail(const absl::Status& status) {
  std::cerr << kProgram << ": " << status.message() << "\n";
  return absl::IsFailedPrecondition(status) ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Applies healthtwin's database migrations (or, as a superuser, creates its roles).", kProgram};
  std::string conninfo;
  bool bootstrap = false;
  app.add_option("--db", conninfo, "libpq connection string; empty: the PG* environment variables");
  app.add_flag("--bootstrap-roles", bootstrap,
               "create healthtwin_migrator and the service roles if missing and make the migrator own the "
               "database (needs a superuser); migrates nothing");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::string message = e.what();
    std::replace(message.begin(), message.end(), '\n', ' ');
    std::cerr << kProgram << ": " << message << " (see --help)\n";
    return 2;
  }

  try {
    pqxx::connection conn(conninfo);
    if (bootstrap) {
      if (absl::Status s = healthtwin::common::BootstrapRoles(conn); !s.ok()) return Fail(s);
      std::cout << "roles ready; " << healthtwin::common::kMigratorRole << " owns database " << conn.dbname() << "\n";
      return 0;
    }
    auto report = healthtwin::common::ApplyMigrations(conn, healthtwin::common::BuiltInMigrations());
    if (!report.ok()) return Fail(report.status());
    std::cout << "database " << conn.dbname() << " at schema version " << report->to_version << " (was "
              << report->from_version << ", applied " << report->applied.size() << ")\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": connect: " << e.what();
    return 1;
  }
}
