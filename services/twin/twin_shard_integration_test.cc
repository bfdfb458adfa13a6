// Twin shards and idle eviction against a real PostgreSQL (tests/harness), the TwinKeeper driven
// round by round with RunOnce:
//  - the shard key PostgreSQL computes at insert (migration 0020) is the one shard.h computes;
//  - the keeper's own read (kShardReadSql), EXPLAINed with ANALYZE for shard 0 of 2, walks
//    vitals through the (ingest_seq, shard_key) index with the shard range as index condition:
//    no sequential scan, nothing removed by a filter, and only shard 0's rows come back;
//  - two shards together pass every row exactly once, each only its own patients', and a
//    change to three shards loses and doubles nothing;
//  - with an injected clock, an idle twin is persisted and evicted, restored from its snapshot
//    when data arrives (or by Recalibrate), and ends bit-identical to a twin never evicted;
//  - a row committed late below rows already read is absorbed once, and held rows are not read again.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "models/calibration/synthetic.h"
#include "models/calibration/twin_json.h"
#include "services/common/pg.h"
#include "services/twin/twin_keeper.h"
#include "services/twin/vitals_mapping.h"
#include "tests/harness/cluster_per_suite_test.h"

namespace healthtwin::twin {
namespace {

namespace mc = healthtwin::models::calibration;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::ClusterPerSuiteTest;

constexpr std::int64_t kDayS = 86400;

std::int64_t NowS() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::shared_ptr<ModelCache> Cache() {
  static auto cache = std::make_shared<ModelCache>();
  return cache;
}

class TwinShardTest : public ClusterPerSuiteTest {
 protected:
  struct Db {
    std::string su;  // superuser conninfo, for inserts and EXPLAIN
    std::string twin;
    std::unique_ptr<common::PgPool> pool;
  };

  Db NewDb(std::string_view suffix) {
    Db db;
    auto conninfo = testing::CreateMigratedDatabase(*cluster_, TestDatabaseName().substr(0, 50) + std::string(suffix));
    EXPECT_TRUE(conninfo.ok()) << conninfo.status();
    db.su = conninfo.value_or("");
    db.twin = testing::ServiceConnInfo(db.su, "twin");
    db.pool = std::make_unique<common::PgPool>(db.twin, 4);
    return db;
  }

  static void Exec(const std::string& conninfo, const std::string& sql) {
    pqxx::connection c(conninfo);
    pqxx::work tx(c);
    tx.exec(sql);
    tx.commit();
  }

  static std::int64_t QueryInt(const std::string& conninfo, const std::string& sql) {
    pqxx::connection c(conninfo);
    pqxx::work tx(c);
    return tx.exec1(sql)[0].as<std::int64_t>();
  }

  // `per_patient` heart rates a minute apart for patients pat-<first> .. pat-<first + n - 1>,
  // starting `day` days ago, in one transaction.
  static void InsertHeartRates(const std::string& conninfo, int first, int n, int per_patient, int day) {
    Exec(conninfo,
         absl::StrCat("INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at,"
                      " bridge_id) SELECT 'pat-' || p, 'dev-' || p, 1, 60 + (p + m) % 25, '/min',"
                      " to_timestamp(",
                      (NowS() / 60 - day * 1440) * 60, " + m * 60), 'bridge-test' FROM generate_series(", first, ", ",
                      first + n - 1, ") AS p, generate_series(0, ", per_patient - 1, ") AS m ORDER BY m, p"));
  }

  static KeeperOptions Options(int index, int count) {
    KeeperOptions o;
    o.shard = *ShardSpec::Create(index, count);
    o.persist_every = 3600s;
    o.idle_evict = 0s;
    return o;
  }

  static void Drain(TwinKeeper& keeper) {
    for (int i = 0; i < 500; ++i) {
      absl::StatusOr<int> moved = keeper.RunOnce();
      ASSERT_TRUE(moved.ok()) << moved.status();
      if (*moved == 0 && keeper.RunOnce().value_or(-1) == 0) return;  // idle twice: no held gap left
    }
    FAIL() << "the consumer did not go idle";
  }
};

TEST_F(TwinShardTest, PostgresAndShardHComputeTheSameKey) {
  Db db = NewDb("");
  InsertHeartRates(db.su, 0, 300, 1, 1);
  Exec(db.su,
       "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, bridge_id)"
       " VALUES ('', 'dev-empty', 1, 60, '/min', now(), 'b'), ('Zoë-ünïcode', 'dev-u', 1, 60, '/min', now(), 'b')");
  pqxx::connection c(db.su);
  pqxx::work tx(c);
  int checked = 0;
  for (const auto& row : tx.exec("SELECT DISTINCT patient_id, shard_key FROM vitals")) {
    EXPECT_EQ(row[1].as<std::int32_t>(), ShardKey(row[0].as<std::string>())) << row[0].as<std::string>();
    ++checked;
  }
  EXPECT_EQ(checked, 302);
}

// Every plan node, depth first.
void Walk(const json& node, std::vector<const json*>& out) {
  out.push_back(&node);
  if (node.contains("Plans"))
    for (const json& child : node["Plans"]) Walk(child, out);
}

TEST_F(TwinShardTest, TheKeepersReadUsesTheShardIndexAndReadsNoOtherShardsRows) {
  Db db = NewDb("");
  InsertHeartRates(db.su, 0, 200, 100, 2);  // 20,000 rows
  Exec(db.su, "ANALYZE vitals");
  const ShardSpec s0 = *ShardSpec::Create(0, 2);
  std::int64_t own = 0;
  for (int p = 0; p < 200; ++p) own += s0.Owns("pat-" + std::to_string(p)) ? 100 : 0;
  ASSERT_GT(own, 5000);  // more than one batch, so LIMIT stops the scan early

  pqxx::connection c(db.twin);  // as the twin service's role
  pqxx::work tx(c);
  tx.exec(absl::StrCat("PREPARE shard_read (bigint, bigint, bigint, bigint) AS ", kShardReadSql));
  const json plan = json::parse(tx.exec1(absl::StrCat("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE shard_read(0, 5000, ",
                                                      s0.KeyBegin(), ", ", s0.KeyEnd(), ")"))[0]
                                    .as<std::string>())[0]["Plan"];
  std::vector<const json*> nodes;
  Walk(plan, nodes);
  int scans = 0;
  std::int64_t returned = 0;
  for (const json* n : nodes) {
    const std::string type = (*n)["Node Type"];
    if (!n->contains("Relation Name")) continue;
    const std::string rel = (*n)["Relation Name"];
    ASSERT_EQ(rel.rfind("vitals", 0), 0u) << n->dump();
    EXPECT_NE(type, "Seq Scan") << n->dump();
    if ((*n)["Actual Loops"].get<std::int64_t>() == 0) continue;  // a partition the LIMIT never reached
    ++scans;
    EXPECT_EQ(type, "Index Scan") << n->dump();
    ASSERT_TRUE(n->contains("Index Cond")) << n->dump();
    const std::string cond = (*n)["Index Cond"];
    EXPECT_NE(cond.find("ingest_seq >"), std::string::npos) << cond;
    EXPECT_NE(cond.find("shard_key >="), std::string::npos) << cond;
    EXPECT_NE(cond.find("shard_key <"), std::string::npos) << cond;
    EXPECT_FALSE(n->contains("Filter")) << n->dump();
    EXPECT_EQ(n->value("Rows Removed by Filter", 0), 0) << n->dump();
    returned += (*n)["Actual Rows"].get<std::int64_t>();
  }
  EXPECT_GE(scans, 1);
  // Every heap row the scans returned is shard 0's: exactly the batch, no more.
  EXPECT_EQ(returned, 5000) << plan.dump(1);
  EXPECT_EQ(plan["Actual Rows"].get<std::int64_t>(), 5000);
}

TEST_F(TwinShardTest, TwoShardsPassEveryRowExactlyOnceAndAThirdShardChangeLosesNothing) {
  Db db = NewDb("");
  InsertHeartRates(db.su, 0, 40, 60, 3);  // 2,400 rows
  const std::int64_t total = QueryInt(db.su, "SELECT count(*) FROM vitals");
  ASSERT_EQ(total, 2400);
  TwinKeeper k0(*db.pool, db.twin, Cache(), Options(0, 2));
  TwinKeeper k1(*db.pool, db.twin, Cache(), Options(1, 2));
  Drain(k0);
  Drain(k1);
  std::int64_t own0 = 0;
  for (int p = 0; p < 40; ++p) {
    const std::string id = "pat-" + std::to_string(p);
    const bool mine = k0.shard().Owns(id);
    own0 += mine ? 60 : 0;
    EXPECT_EQ(k0.InMemory(id).has_value(), mine) << id;
    EXPECT_EQ(k1.InMemory(id).has_value(), !mine) << id;
  }
  ASSERT_GT(own0, 0);
  ASSERT_LT(own0, total);
  EXPECT_EQ(k0.stats().rows_passed, static_cast<std::uint64_t>(own0));
  EXPECT_EQ(k1.stats().rows_passed, static_cast<std::uint64_t>(total - own0));
  // Other shards' rows are gaps to a shard's cursor; the rows held behind them are not read again.
  EXPECT_EQ(k0.stats().rows_read, k0.stats().rows_passed);
  EXPECT_EQ(k1.stats().rows_read, k1.stats().rows_passed);
  EXPECT_EQ(k0.stats().twins_in_memory + k1.stats().twins_in_memory, 40u);
  ASSERT_TRUE(k0.Flush().ok());
  ASSERT_TRUE(k1.Flush().ok());

  // Three shards now (stop all, start the new set): new cursors, twins restored by their new
  // owners; the old rows are covered by the snapshots, the new ones absorbed once.
  InsertHeartRates(db.su, 0, 40, 30, 1);
  std::map<std::string, std::uint64_t> absorbed;
  std::uint64_t passed = 0;
  for (int i = 0; i < 3; ++i) {
    TwinKeeper k(*db.pool, db.twin, Cache(), Options(i, 3));
    Drain(k);
    ASSERT_TRUE(k.Flush().ok());
    passed += k.stats().rows_passed;
    for (int p = 0; p < 40; ++p) {
      const std::string id = "pat-" + std::to_string(p);
      if (auto s = k.InMemory(id)) absorbed[id] = s->samples_absorbed;
    }
  }
  EXPECT_EQ(passed, static_cast<std::uint64_t>(total + 40 * 30)) << "each new cursor passes its shard's rows";
  ASSERT_EQ(absorbed.size(), 40u);
  for (const auto& [id, n] : absorbed) EXPECT_EQ(n, 90u) << id << ": every sample absorbed exactly once";
}

// A row of this shard that commits late, below rows already read, is found by the reader's
// late query once its gap settles: absorbed once, and no held row is read twice.
TEST_F(TwinShardTest, ALateCommitBelowHeldRowsIsAbsorbedOnceAndHeldRowsAreNotReadAgain) {
  Db db = NewDb("");
  const ShardSpec s0 = *ShardSpec::Create(0, 2);
  std::vector<int> own;
  for (int p = 0; own.size() < 2; ++p)
    if (s0.Owns("pat-" + std::to_string(p))) own.push_back(p);
  TwinKeeper k0(*db.pool, db.twin, Cache(), Options(0, 2));
  pqxx::connection late_conn(db.su);
  pqxx::work late(late_conn);  // takes its ingest_seq first and commits last
  late.exec(
      absl::StrCat("INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at,"
                   " bridge_id) VALUES ('pat-",
                   own[0], "', 'dev-late', 1, 70, '/min', now() - interval '2 hours', 'bridge-test')"));
  InsertHeartRates(db.su, 0, 20, 5, 1);  // both shards' rows, after the late one's seq
  ASSERT_TRUE(k0.RunOnce().ok());
  const std::uint64_t read_before = k0.stats().rows_read;
  EXPECT_EQ(k0.stats().rows_passed, 0u) << "held behind the running transaction's value";
  EXPECT_GT(read_before, 0u);
  late.commit();
  Drain(k0);
  std::uint64_t own_rows = 1;
  for (int p = 0; p < 20; ++p) own_rows += s0.Owns("pat-" + std::to_string(p)) ? 5 : 0;
  EXPECT_EQ(k0.stats().rows_passed, own_rows);
  EXPECT_EQ(k0.stats().rows_read, own_rows) << "the late row read once, the held ones not again";
  ASSERT_TRUE(k0.Flush().ok());
  auto twin = k0.InMemory("pat-" + std::to_string(own[0]));
  ASSERT_TRUE(twin.has_value());
  EXPECT_EQ(twin->samples_absorbed, 6u);
}

// Synthetic wearable data (HR every 10 min, BP, SpO2, temperature, weight) of a patient with
// the population defaults, from `start_s`.
std::vector<mc::Sample> Simulate(std::int64_t start_s, int days) {
  auto setup = Cache()->Get(PatientRecord{});
  EXPECT_TRUE(setup.ok()) << setup.status();
  mc::SyntheticOptions o;
  o.days = days;
  o.start_unix_s = start_s;
  o.hr_every_minutes = 10;
  auto p = mc::SimulatePatient(setup->nominal, *setup->model, setup->prior.population, 11, o);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? p->samples : std::vector<mc::Sample>{};
}

void InsertSamples(const std::string& conninfo, const std::string& patient, const std::vector<mc::Sample>& samples,
                   std::int64_t from_s, std::int64_t to_s) {
  std::vector<std::string> types, values, times, flags;
  for (const mc::Sample& s : samples) {
    if (s.measured_at_unix_s < from_s || s.measured_at_unix_s >= to_s) continue;
    types.push_back(std::to_string(TypeOfVital(s.vital)));
    values.push_back(absl::StrFormat("%.6f", s.value));
    times.push_back(std::to_string(s.measured_at_unix_s));
    flags.push_back(s.flagged ? "2" : "0");
  }
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec_params(
      "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, flags, bridge_id)"
      " SELECT $1, 'dev-1', t, v, 'u', to_timestamp(m), f, 'bridge-test'"
      " FROM unnest($2::int[], $3::float8[], $4::bigint[], $5::int[]) AS x(t, v, m, f)",
      patient, "{" + absl::StrJoin(types, ",") + "}", "{" + absl::StrJoin(values, ",") + "}",
      "{" + absl::StrJoin(times, ",") + "}", "{" + absl::StrJoin(flags, ",") + "}");
  tx.commit();
}

std::string PredictionText(TwinKeeper& keeper, const std::string& patient) {
  absl::StatusOr<TwinKeeper::Prediction> p = keeper.Predict(patient, 24, 2);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) return "";
  std::string out = absl::StrCat("version ", p->twin_version, "\n");
  for (const mc::PredictionPoint& x : p->points) {
    absl::StrAppendFormat(&out, "%d %d %a %a %a %a %a\n", x.at_unix_s, static_cast<int>(x.vital), x.mean, x.level_lo90,
                          x.level_hi90, x.reading_lo90, x.reading_hi90);
  }
  return out;
}

// Two databases with the same data: keeper A never evicts, keeper B evicts after 10 idle
// minutes of an injected clock.
TEST_F(TwinShardTest, AnIdleTwinIsEvictedAfterItsSnapshotAndComesBackBitIdentical) {
  Db a = NewDb("_a"), b = NewDb("_b");
  const std::int64_t start = (NowS() / kDayS - 10) * kDayS;
  const std::vector<mc::Sample> x = Simulate(start, 5);
  ASSERT_FALSE(x.empty());
  const std::string patient = "pat-idle";
  std::atomic<std::int64_t> fake_s{1000};
  auto fake_clock = [&] { return std::chrono::steady_clock::time_point(std::chrono::seconds(fake_s.load())); };
  KeeperOptions oa = Options(0, 1), ob = Options(0, 1);
  oa.clock = ob.clock = fake_clock;
  ob.idle_evict = 600s;
  TwinKeeper ka(*a.pool, a.twin, Cache(), oa), kb(*b.pool, b.twin, Cache(), ob);

  // The second half-day crosses no day boundary: sequential updates only, not yet persisted.
  for (const Db* db : {&a, &b}) InsertSamples(db->su, patient, x, start, start + 5 * kDayS / 2);
  Drain(ka);
  Drain(kb);
  const std::int64_t snapshots = QueryInt(b.su, "SELECT count(*) FROM twin_snapshots");
  for (const Db* db : {&a, &b}) InsertSamples(db->su, patient, x, start + 5 * kDayS / 2, start + 3 * kDayS);
  Drain(ka);
  Drain(kb);
  ASSERT_TRUE(kb.InMemory(patient).has_value());
  ASSERT_EQ(QueryInt(b.su, "SELECT count(*) FROM twin_snapshots"), snapshots) << "the test needs an unsaved twin";
  fake_s += 599;
  ASSERT_TRUE(kb.RunOnce().ok());
  EXPECT_TRUE(kb.InMemory(patient).has_value()) << "not idle long enough yet";
  fake_s += 1;
  ASSERT_TRUE(ka.RunOnce().ok());
  ASSERT_TRUE(kb.RunOnce().ok());
  EXPECT_FALSE(kb.InMemory(patient).has_value()) << "evicted";
  EXPECT_TRUE(ka.InMemory(patient).has_value()) << "--twin-idle-evict-s 0 never evicts";
  EXPECT_EQ(kb.stats().twins_evicted, 1u);
  EXPECT_EQ(kb.stats().twins_in_memory, 0u);
  // The unsaved sequential state was written before the twin left, covering every row read.
  EXPECT_EQ(QueryInt(b.su, "SELECT count(*) FROM twin_snapshots"), snapshots + 1);
  EXPECT_EQ(QueryInt(b.su, "SELECT max(covered_seq) FROM twin_snapshots"),
            QueryInt(b.su, "SELECT max(ingest_seq) FROM vitals"));
  // Predict on the evicted twin reads its snapshot; it equals the never-evicted twin's state.
  ASSERT_TRUE(ka.Flush().ok());
  EXPECT_EQ(PredictionText(kb, patient), PredictionText(ka, patient));
  EXPECT_FALSE(kb.InMemory(patient).has_value()) << "Predict reads the snapshot without loading the twin";

  // The patient's data arrives again: restored from the snapshot, it continues exactly as A.
  for (const Db* db : {&a, &b}) InsertSamples(db->su, patient, x, start + 3 * kDayS, start + 5 * kDayS);
  Drain(ka);
  Drain(kb);
  ASSERT_TRUE(kb.InMemory(patient).has_value()) << "restored";
  EXPECT_EQ(kb.stats().twins_loaded, 2u);
  ASSERT_TRUE(ka.Flush().ok());
  ASSERT_TRUE(kb.Flush().ok());
  const auto sa = ka.InMemory(patient), sb = kb.InMemory(patient);
  ASSERT_TRUE(sa && sb);
  EXPECT_GT(sb->samples_absorbed, 0u);
  EXPECT_EQ(mc::SnapshotToJson(*sb).dump(), mc::SnapshotToJson(*sa).dump());
  EXPECT_EQ(PredictionText(kb, patient), PredictionText(ka, patient));

  // Evicted again, then Recalibrate restores it: the fit equals the never-evicted twin's.
  fake_s += 600;
  ASSERT_TRUE(kb.RunOnce().ok());
  ASSERT_FALSE(kb.InMemory(patient).has_value());
  auto ra = ka.Recalibrate(patient, std::nullopt, std::nullopt);
  auto rb = kb.Recalibrate(patient, std::nullopt, std::nullopt);
  ASSERT_TRUE(ra.ok()) << ra.status();
  ASSERT_TRUE(rb.ok()) << rb.status();
  ASSERT_TRUE(kb.InMemory(patient).has_value()) << "restored by Recalibrate";
  EXPECT_EQ(kb.stats().twins_loaded, 3u);
  EXPECT_EQ(mc::SnapshotToJson(*kb.InMemory(patient)).dump(), mc::SnapshotToJson(*ka.InMemory(patient)).dump());
}

}  // namespace
}  // namespace healthtwin::twin
