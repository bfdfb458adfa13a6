// Twin shard benchmark (issue 15 item 4; not a test): N twins fed one heart rate a minute each
// through the real database path (rows inserted into vitals by SQL as ingest stores them, the
// TwinKeeper reading them from a private PostgreSQL), on 1 and on 2 shards. Prints, per shard,
// the rows its queries returned, the rows its cursor passed, the snapshots it wrote and the
// time its rounds took, so a shard's share of the database work can be compared with the total.
//
//   twin_shard_bench [--twins 10000] [--minutes 10] [--shard-counts 1,2]
#include <chrono>
#include <cstdio>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "services/common/pg.h"
#include "services/twin/twin_keeper.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"

namespace ht = healthtwin;
using Steady = std::chrono::steady_clock;

namespace {

// One heart rate for each of the `twins` patients at minute `minute` (minutes ago from now).
void FeedMinute(const std::string& su, int twins, int minute, int minutes) {
  pqxx::connection c(su);
  pqxx::work tx(c);
  const std::int64_t at =
      (std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() /
           60 -
       (minutes - minute)) *
      60;
  tx.exec(absl::StrCat(
      "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at,"
      " bridge_id) SELECT 'pat-' || p, 'dev-' || p, 1, 60 + (p + ",
      minute, ") % 25, '/min', to_timestamp(", at, "), 'bridge-bench' FROM generate_series(1, ", twins, ") AS p"));
  tx.commit();
}

int RunShardCount(ht::testing::PgCluster& cluster, int shards, int twins, int minutes) {
  auto su = ht::testing::CreateMigratedDatabase(cluster, absl::StrCat("bench_", shards));
  if (!su.ok()) {
    std::fprintf(stderr, "database: %s\n", std::string(su.status().message()).c_str());
    return 1;
  }
  const std::string twin_db = ht::testing::ServiceConnInfo(*su, "twin");
  ht::common::PgPool pool(twin_db, 4);
  auto cache = std::make_shared<ht::twin::ModelCache>();
  std::vector<std::unique_ptr<ht::twin::TwinKeeper>> keepers;
  std::vector<double> busy_s(shards, 0.0), steady_s(shards, 0.0);  // all minutes; minutes after the first
  for (int i = 0; i < shards; ++i) {
    ht::twin::KeeperOptions o;
    o.shard = *ht::twin::ShardSpec::Create(i, shards);
    o.persist_every = std::chrono::seconds(600);
    o.idle_evict = std::chrono::seconds(0);
    keepers.push_back(std::make_unique<ht::twin::TwinKeeper>(pool, twin_db, cache, o));
  }
  for (int m = 0; m < minutes; ++m) {
    FeedMinute(*su, twins, m, minutes);
    for (int i = 0; i < shards; ++i) {
      const auto t0 = Steady::now();
      for (int idle = 0; idle < 2;) {  // until two rounds in a row move nothing (no held gap left)
        absl::StatusOr<int> moved = keepers[i]->RunOnce();
        if (!moved.ok()) {
          std::fprintf(stderr, "shard %d: %s\n", i, std::string(moved.status().message()).c_str());
          return 1;
        }
        idle = *moved == 0 ? idle + 1 : 0;
      }
      const double took = std::chrono::duration<double>(Steady::now() - t0).count();
      busy_s[i] += took;
      if (m > 0) steady_s[i] += took;  // the first minute creates every twin
    }
  }
  const std::uint64_t total = static_cast<std::uint64_t>(twins) * minutes;
  for (int i = 0; i < shards; ++i) {
    const ht::twin::KeeperStats s = keepers[i]->stats();
    std::printf(
        "shards=%d shard=%d twins=%zu rows_total=%llu rows_read=%llu (%.3f of total) rows_passed=%llu"
        " snapshots=%llu busy_s=%.2f (first minute, creating the twins: %.2f; then per minute: %.3f)\n",
        shards, i, s.twins_in_memory, static_cast<unsigned long long>(total),
        static_cast<unsigned long long>(s.rows_read), static_cast<double>(s.rows_read) / total,
        static_cast<unsigned long long>(s.rows_passed), static_cast<unsigned long long>(s.snapshots_written), busy_s[i],
        busy_s[i] - steady_s[i], minutes > 1 ? steady_s[i] / (minutes - 1) : 0.0);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Twin shard benchmark: rows each shard reads, on 1 and 2 shards"};
  int twins = 10000, minutes = 10;
  std::vector<int> shard_counts{1, 2};
  app.add_option("--twins", twins, "patients, each fed one heart rate a minute")->check(CLI::Range(1, 1000000));
  app.add_option("--minutes", minutes, "simulated minutes")->check(CLI::Range(1, 100000));
  app.add_option("--shard-counts", shard_counts, "shard counts to run, e.g. 1,2")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096));
  CLI11_PARSE(app, argc, argv);
  auto cluster = ht::testing::PgCluster::Start();
  if (!cluster.ok()) {
    std::fprintf(stderr, "PostgreSQL: %s\n", std::string(cluster.status().message()).c_str());
    return 1;
  }
  for (int n : shard_counts) {
    if (int rc = RunShardCount(**cluster, n, twins, minutes); rc != 0) return rc;
  }
  return 0;
}
