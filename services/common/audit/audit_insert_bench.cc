// How much the hash chain costs an audit write: Access::Audit inserts per second into a database
// with the chain (every migration) and into one without it (migrations before 0016), with 1
// and with several concurrent writers, on a private PostgreSQL cluster. A benchmark, not a test:
//   healthtwin-audit-bench [--records 4000] [--writers 1,8]
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "services/common/access.h"
#include "services/common/db/migrator.h"
#include "services/common/db/roles.h"
#include "services/common/pg.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"

namespace {

using namespace healthtwin;

// A database migrated up to (not including) `below`.
std::string Database(testing::PgCluster& cluster, const std::string& name, int below) {
  if (auto s = cluster.CreateDatabase(name); !s.ok()) throw std::runtime_error(s.ToString());
  const std::string conninfo = cluster.ConnInfo(name);
  pqxx::connection superuser(conninfo);
  if (auto s = common::BootstrapRoles(superuser); !s.ok()) throw std::runtime_error(s.ToString());
  std::vector<common::Migration> migrations;
  for (const auto& m : common::BuiltInMigrations()) {
    if (m.version < below) migrations.push_back(m);
  }
  pqxx::connection migrator(common::ConnInfoAs(conninfo, common::kMigratorRole));
  if (auto r = common::ApplyMigrations(migrator, migrations); !r.ok()) throw std::runtime_error(r.status().ToString());
  return conninfo;
}

double InsertsPerSecond(const std::string& conninfo, int records, int writers) {
  common::PgPool pool(testing::ServiceConnInfo(conninfo, "clinician_api"), writers);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      common::Access access(pool);
      common::Caller caller;
      caller.identity.common_name = "bench-" + std::to_string(w);
      caller.identity.role = common::Role::kService;
      for (int i = w; i < records; i += writers) {
        if (!access.Audit(caller, "vitals.query", "pat-0001", "allowed", "").ok()) std::abort();
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return records / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("audit insert throughput with and without the hash chain");
  int records = 4000;
  std::vector<int> writer_counts{1, 8};
  app.add_option("--records", records, "records per run")->check(CLI::Range(1, 10'000'000));
  app.add_option("--writers", writer_counts, "concurrent writers per run")->delimiter(',');
  CLI11_PARSE(app, argc, argv);

  auto cluster = testing::PgCluster::Start();
  if (!cluster.ok()) {
    std::cerr << "audit bench: " << cluster.status() << "\n";
    return 2;
  }
  const std::string chained = Database(**cluster, "chained", 100000);
  const std::string plain = Database(**cluster, "plain", 16);
  std::cout << "writers  records  without chain (inserts/s)  with chain (inserts/s)\n";
  for (int writers : writer_counts) {
    const double without = InsertsPerSecond(plain, records, writers);
    const double with = InsertsPerSecond(chained, records, writers);
    std::cout << writers << "  " << records << "  " << static_cast<int64_t>(without) << "  "
              << static_cast<int64_t>(with) << "\n";
  }
  return 0;
}
