// The incremental evaluator (evaluator.h, patient_windows.h) against a real PostgreSQL: that
// keeping windows across rounds changes no verdict. A seeded random stream with late rows and
// contact-lost periods goes into two databases at once; one evaluator keeps its windows, the
// other keeps none (cap 0: every round loads every patient, as the evaluator did before it was
// incremental), and both must write the same alerts and events round by round. Also: a cursor
// moved by another replica drops the windows, eviction keeps the cap, and the batched loader
// reads what the per-patient one (inputs_loader.h) reads.
//
// Catalogue: the shipped one with hr_high's min_duration_s 60 and clear_duration_s 30
// (rules::ShortHrHighToml), as in evaluator_integration_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/alerts/evaluation_plan.h"
#include "services/alerts/evaluator.h"
#include "services/alerts/inputs_loader.h"
#include "services/alerts/rules/test_engine.h"
#include "services/alerts/window_loader.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"

namespace healthtwin::alerts {
namespace {

const rules::RuleEngine& Engine() { return rules::ShortHrHighTestEngine(HT_ALERT_RULES_TOML); }

const std::vector<std::string> kPatients = {"pat-0001", "pat-0002", "pat-0003"};

// One vitals row to insert: patient, device, type, value, unit, seconds on the timeline.
struct Vital {
  std::string patient, device;
  int type;
  double value;
  std::string unit;
  int64_t at_s;
};

class IncrementalEvaluatorTest : public testing::ClusterPerSuiteTest {
 protected:
  // A migrated database with the patients and their strap, cuff and oximeter.
  std::string NewDatabase(const std::string& suffix) {
    auto conninfo = testing::CreateMigratedDatabase(*cluster_, TestDatabaseName().substr(0, 56) + suffix);
    EXPECT_TRUE(conninfo.ok()) << conninfo.status();
    if (!conninfo.ok()) return "";
    pqxx::connection c(*conninfo);
    pqxx::work tx(c);
    for (const std::string& p : kPatients) {
      tx.exec_params("INSERT INTO patients (patient_id) VALUES ($1)", p);
      for (auto [device, kind] : {std::pair{"strap", 1}, {"cuff", 2}, {"oxi", 3}}) {
        tx.exec_params("INSERT INTO devices (device_id, kind, patient_id, bound_at) VALUES ($1, $2, $3, now())",
                       p + "-" + device, kind, p);
      }
    }
    start_s_ = tx.exec("SELECT floor(extract(epoch FROM now()))::bigint - 7200")[0][0].as<int64_t>();
    tx.commit();
    return *conninfo;
  }

  void Insert(const std::string& conninfo, const std::vector<Vital>& rows) {
    pqxx::connection c(conninfo);
    pqxx::work tx(c);
    for (const Vital& v : rows) {
      tx.exec_params(
          "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at,"
          " bridge_id) VALUES ($1, $2, $3, $4, $5, to_timestamp($6), now(), 'bridge-001')",
          v.patient, v.patient + "-" + v.device, v.type, v.value, v.unit, start_s_ + v.at_s);
    }
    tx.commit();
  }

  // The strap of `patient` said sensor contact `contact` (3: not detected) at `at_s`.
  void Status(const std::string& conninfo, const std::string& patient, int contact, int64_t at_s) {
    pqxx::connection c(conninfo);
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO device_status_history (device_id, patient_id, bridge_id, observed_at, sensor_contact, connected,"
        " connection_changed_at, received_at) VALUES ($1, $2, 'bridge-001', to_timestamp($3), $4, true, now(), now())",
        patient + "-strap", patient, start_s_ + at_s, contact);
    tx.commit();
  }

  // Everything the lifecycle wrote that does not depend on the wall clock, in a stable order.
  static std::string AlertsAndEvents(const std::string& conninfo) {
    pqxx::connection c(conninfo);
    pqxx::nontransaction tx(c);
    std::string out;
    for (const auto& r :
         tx.exec("SELECT a.patient_id, a.rule_id, a.condition_started_at, a.ended_at, a.last_observed_at, a.phase,"
                 " a.priority, a.peak_value, a.duration_s, a.summary, a.suppressed_by IS NULL,"
                 " (SELECT string_agg(e.kind::text || ':' || e.reason, ',' ORDER BY e.event_seq) FROM alert_events e"
                 "  WHERE e.alert_id = a.alert_id)"
                 " FROM alerts a ORDER BY a.patient_id, a.rule_id, a.condition_started_at")) {
      for (const auto& f : r) out += std::string(f.is_null() ? "NULL" : f.c_str()) + "|";
      out += "\n";
    }
    return out;
  }

  static std::string Alerts(const std::string& conninfo, const std::string& rule) {
    pqxx::connection c(conninfo);
    pqxx::nontransaction tx(c);
    return tx.exec_params1("SELECT count(*)::text FROM alerts WHERE rule_id = $1", rule)[0].as<std::string>();
  }

  // Rounds until the evaluator has nothing more to read; the stats of each.
  static std::vector<RoundStats> Drain(Evaluator& e) {
    std::vector<RoundStats> rounds;
    for (;;) {
      auto n = e.RunOnce();
      EXPECT_TRUE(n.ok()) << n.status();
      if (!n.ok() || *n == 0) return rounds;
      rounds.push_back(e.last_round());
    }
  }

  int64_t start_s_ = 0;
};

// Everything a verdict says, for comparison.
std::string Describe(const Observation& o) {
  return absl::StrCat(o.patient_id, " ", o.rule_id, " active=", o.active, " started=", o.condition_started_us,
                      " ended=", o.condition_ended_us, " observed=", o.observed_us, " peak=", o.peak_value,
                      " duration=", o.duration_s, " priority=", static_cast<int>(o.priority), " partial=", o.partial,
                      " missing=", absl::StrJoin(o.missing, ","), " ", o.summary);
}

// The property: over a seeded random stream (heart rate at 1 Hz with episodes above 120 /min,
// cuff and oximeter spot readings, rows held back and delivered late, contact lost and found),
// an evaluator that keeps windows writes the same alerts and events as one that reloads every
// patient every round, after every batch.
TEST_F(IncrementalEvaluatorTest, KeptWindowsGiveTheSameVerdictsAsReloadingOverARandomStreamWithLateRows) {
  const std::string kept_db = NewDatabase("_k"), cold_db = NewDatabase("_c");
  ASSERT_FALSE(kept_db.empty());
  ASSERT_FALSE(cold_db.empty());
  common::PgPool kept_pool(kept_db, 2), cold_pool(cold_db, 2);
  std::vector<std::string> kept_verdicts, cold_verdicts;  // every verdict of every round, in order
  auto record = [](std::vector<std::string>& to) {
    return [&to](const std::vector<Observation>& verdicts) {
      for (const Observation& o : verdicts) to.push_back(Describe(o));
    };
  };
  Evaluator kept(kept_pool, kept_db, Engine(), LifecycleConfigFor(Engine()), SystemClock(),
                 EvaluatorOptions{.on_verdicts = record(kept_verdicts)});
  Evaluator cold(cold_pool, cold_db, Engine(), LifecycleConfigFor(Engine()), SystemClock(),
                 EvaluatorOptions{.max_window_rows = 0, .on_verdicts = record(cold_verdicts)});
  std::mt19937 rng(20261206);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  auto between = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::map<std::string, int> episode_left;               // seconds of 135 /min still to come, per patient
  std::vector<std::pair<int, std::vector<Vital>>> held;  // (batches to wait, rows) delivered late
  int64_t late_rows = 0, kept_loaded = 0, cold_loaded = 0, cold_patients = 0, rounds = 0;
  constexpr int kBatchS = 20, kBatches = 90;  // 30 min of data
  for (int b = 0; b < kBatches; ++b) {
    std::vector<Vital> batch;
    for (const std::string& p : kPatients) {
      std::vector<Vital> rows;
      for (int64_t s = int64_t{b} * kBatchS; s < int64_t{b + 1} * kBatchS; ++s) {
        if (episode_left[p] == 0 && chance(0.006)) episode_left[p] = between(30, 150);
        const bool high = episode_left[p] > 0;
        if (high) --episode_left[p];
        if (chance(0.97)) rows.push_back({p, "strap", rules::kHeartRate, high ? 135.0 : between(60, 100), "/min", s});
        if (chance(0.01)) rows.push_back({p, "cuff", rules::kSystolicBp, double(between(90, 190)), "mm[Hg]", s});
        if (chance(0.01)) rows.push_back({p, "oxi", rules::kSpo2, double(between(85, 99)), "%", s});
      }
      if (chance(0.25) && rows.size() > 4) {  // a slice of rows comes 1-4 batches late
        const size_t from = static_cast<size_t>(between(0, static_cast<int>(rows.size()) - 4));
        const size_t n = static_cast<size_t>(between(1, static_cast<int>(std::min<size_t>(rows.size() - from, 15))));
        held.push_back({between(1, 4), {rows.begin() + from, rows.begin() + from + n}});
        rows.erase(rows.begin() + from, rows.begin() + from + n);
        late_rows += static_cast<int64_t>(n);
      }
      batch.insert(batch.end(), rows.begin(), rows.end());
    }
    for (auto it = held.begin(); it != held.end();) {
      if (--it->first > 0) {
        ++it;
        continue;
      }
      batch.insert(batch.end(), it->second.begin(), it->second.end());
      it = held.erase(it);
    }
    std::shuffle(batch.begin(), batch.end(), rng);
    Insert(kept_db, batch);
    Insert(cold_db, batch);
    if (chance(0.2)) {  // contact lost (or found) from a moment in the last two batches, already kept
      const std::string& p = kPatients[static_cast<size_t>(between(0, 2))];
      const int contact = chance(0.5) ? 3 : 2;
      const int64_t at = std::max<int64_t>(0, int64_t{b} * kBatchS - between(1, 2 * kBatchS));
      Status(kept_db, p, contact, at);
      Status(cold_db, p, contact, at);
    }
    const auto kept_rounds = Drain(kept), cold_rounds = Drain(cold);
    ASSERT_EQ(kept_rounds.size(), cold_rounds.size()) << "batch " << b;
    ASSERT_EQ(kept_verdicts, cold_verdicts) << "batch " << b;
    for (size_t i = 0; i < kept_rounds.size(); ++i) {
      EXPECT_EQ(kept_rounds[i].instants, cold_rounds[i].instants) << "batch " << b;
      EXPECT_EQ(kept_rounds[i].observations, cold_rounds[i].observations) << "batch " << b;
      kept_loaded += kept_rounds[i].patients_loaded;
      cold_loaded += cold_rounds[i].patients_loaded;
      cold_patients += cold_rounds[i].patients;
      ++rounds;
    }
    ASSERT_EQ(AlertsAndEvents(kept_db), AlertsAndEvents(cold_db)) << "batch " << b;
  }
  // Not vacuous: episodes were raised, rows came late, and the kept windows were used.
  EXPECT_GE(std::stoi(Alerts(kept_db, "hr_high")), 3);
  EXPECT_GT(late_rows, 50);
  EXPECT_EQ(cold_loaded, cold_patients);  // the reference really reloads every round
  EXPECT_LT(kept_loaded, cold_loaded / 2);
  std::printf("%lld rounds, %lld late rows; patients loaded: kept %lld, cold %lld\n", static_cast<long long>(rounds),
              static_cast<long long>(late_rows), static_cast<long long>(kept_loaded),
              static_cast<long long>(cold_loaded));
}

// Another replica consumes rows this process never read: its windows lack them, so they are
// all dropped. Here the first 40 s of an episode go to the other replica; the 40 s after that
// complete the rule's 60 s only with them.
TEST_F(IncrementalEvaluatorTest, ACursorMovedByAnotherReplicaDropsTheWindows) {
  const std::string db = NewDatabase("");
  ASSERT_FALSE(db.empty());
  common::PgPool pool(db, 2), other_pool(db, 2);
  Evaluator evaluator(pool, db, Engine(), LifecycleConfigFor(Engine()));
  Evaluator other(other_pool, db, Engine(), LifecycleConfigFor(Engine()));
  auto hr = [&](int64_t from_s, int n, double bpm) {
    std::vector<Vital> rows;
    for (int i = 0; i < n; ++i) rows.push_back({"pat-0001", "strap", rules::kHeartRate, bpm, "/min", from_s + i});
    Insert(db, rows);
  };
  hr(0, 120, 70);
  Drain(evaluator);
  EXPECT_EQ(evaluator.last_round().window_patients, 1);
  hr(120, 40, 135);
  Drain(other);
  hr(160, 40, 135);
  auto rounds = Drain(evaluator);
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_TRUE(rounds[0].windows_dropped);
  EXPECT_EQ(rounds[0].patients_loaded, 1);
  EXPECT_EQ(Alerts(db, "hr_high"), "1");
  // Its own cursor again: the window is kept.
  hr(200, 10, 135);
  rounds = Drain(evaluator);
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_FALSE(rounds[0].windows_dropped);
  EXPECT_EQ(rounds[0].patients_loaded, 0);
}

// Under a cap of 150 rows, three patients of 100 rows each cannot all be kept: the least
// recently used go and reload on their next touch, and an episode that spans an eviction is
// still raised once.
TEST_F(IncrementalEvaluatorTest, EvictionKeepsTheCapAndAnEvictedPatientReloads) {
  const std::string db = NewDatabase("");
  ASSERT_FALSE(db.empty());
  common::PgPool pool(db, 2);
  Evaluator evaluator(pool, db, Engine(), LifecycleConfigFor(Engine()), SystemClock(),
                      EvaluatorOptions{.max_window_rows = 150, .on_verdicts = {}});
  auto hr = [&](const std::string& p, int64_t from_s, int n, double bpm) {
    std::vector<Vital> rows;
    for (int i = 0; i < n; ++i) rows.push_back({p, "strap", rules::kHeartRate, bpm, "/min", from_s + i});
    Insert(db, rows);
    auto rounds = Drain(evaluator);
    EXPECT_EQ(rounds.size(), 1u);
    return rounds.empty() ? RoundStats{} : rounds.back();
  };
  hr("pat-0001", 0, 60, 135);  // the first minute of an episode
  RoundStats s = hr("pat-0002", 0, 100, 70);
  EXPECT_EQ(s.evicted, 1);  // 160 rows: pat-0001, the least recent, goes
  EXPECT_EQ(s.window_rows, 100);
  s = hr("pat-0003", 0, 100, 70);
  EXPECT_EQ(s.evicted, 1);
  EXPECT_EQ(s.window_rows, 100);
  s = hr("pat-0001", 60, 40, 135);  // completes the episode: needs the evicted minute
  EXPECT_EQ(s.patients_loaded, 1);
  EXPECT_EQ(s.rows_loaded, 100);
  EXPECT_EQ(s.window_rows, 100);
  EXPECT_EQ(Alerts(db, "hr_high"), "1");
}

// The batched loader reads the rows, flags and resting heart rates the per-patient loader does.
TEST_F(IncrementalEvaluatorTest, TheBatchedLoaderReadsWhatThePerPatientLoaderReads) {
  const std::string db = NewDatabase("");
  ASSERT_FALSE(db.empty());
  std::vector<Vital> rows;
  for (const std::string& p : kPatients) {
    for (int64_t s = 0; s < 3 * 3600; s += 7) {
      rows.push_back({p, "strap", rules::kHeartRate, 60.0 + static_cast<double>(s % 31), "/min", s - 86400});
    }
    rows.push_back({p, "cuff", rules::kSystolicBp, 140, "mm[Hg]", 100});
  }
  Insert(db, rows);
  Status(db, "pat-0002", 3, 2000 - 86400);
  Status(db, "pat-0002", 2, 3000 - 86400);
  const std::set<int> read = VitalTypesRead(Engine().catalogue());
  const std::vector<int> types(read.begin(), read.end());
  const int64_t sparse_from = (start_s_ - 2 * 86400) * 1'000'000, hr_from = (start_s_ - 86400 + 1800) * 1'000'000;
  pqxx::connection c(db);
  pqxx::work tx(c);
  std::vector<WindowRequest> requests;
  for (const std::string& p : kPatients) requests.push_back({p, sparse_from, hr_from});
  std::map<std::string, PatientWindow> windows;
  const int64_t loaded = LoadWindows(tx, requests, types, LoadLostPeriods(tx, kPatients), windows);
  std::vector<RestingHrRequest> days_requests;
  const int64_t today = start_s_ / 86400;
  for (const std::string& p : kPatients) days_requests.push_back({p, today - 3, today - 1});
  auto days = LoadDailyRestingHr(tx, days_requests);
  int64_t flagged = 0;
  auto key = [](const rules::VitalPoint& v) {
    return std::tuple(v.measured_us, v.vital_type, v.value, v.flags, v.device_id);
  };
  for (const std::string& p : kPatients) {
    LoadedInputs one;
    ASSERT_TRUE(LoadVitals(tx, p, types, sparse_from, hr_from, one).ok());
    std::vector<rules::VitalPoint> batched = windows[p].Merged();
    ASSERT_EQ(batched.size(), one.vitals.size()) << p;
    for (size_t i = 0; i < batched.size(); ++i) {
      EXPECT_EQ(key(batched[i]), key(one.vitals[i])) << p << " row " << i;
      flagged += batched[i].flags != 0 ? 1 : 0;
    }
    const auto single = alerts::LoadDailyRestingHr(tx, p, today - 3, today - 1);
    ASSERT_EQ(days[p].size(), single.size()) << p;
    for (size_t i = 0; i < single.size(); ++i) {
      EXPECT_EQ(std::tuple(days[p][i].day, days[p][i].p10_bpm, days[p][i].samples),
                std::tuple(single[i].day, single[i].p10_bpm, single[i].samples));
    }
  }
  EXPECT_GT(loaded, 0);
  EXPECT_GT(flagged, 100);  // pat-0002's contact-lost stretch
}

}  // namespace
}  // namespace healthtwin::alerts
