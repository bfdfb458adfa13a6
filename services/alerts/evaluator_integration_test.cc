// The alerts evaluator against a real PostgreSQL: which rows raise an alert, and that one
// round over rows that became visible together (after an outage of the alerts service, of
// PostgreSQL, or of the uplink) finds what a round per row would have found. Also the
// consumer's promises: a restart neither duplicates nor loses an alert, the cursor waits at a
// young gap and a late row is still evaluated, and two evaluators at once raise each alert once.
// And the rule engine in the service: a cuff pair, a catch-up batch, contact lost, per-patient
// settings, a silent device on the timer, suppression.
//
// A test catalogue: the shipped deploy/config/alert_rules.toml with hr_high's min_duration_s
// 600 -> 60 and clear_duration_s 300 -> 30 (rules::ShortHrHighToml), so that heart-rate episodes take a
// minute or two of test data instead of ten. Everything else is the shipped catalogue.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>
#include <tuple>

#include "services/alerts/evaluator.h"
#include "services/alerts/rules/test_engine.h"
#include "services/alerts/settings_store.h"
#include "services/common/gap_tracker.h"
#include "services/common/logging.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"

namespace healthtwin::alerts {
namespace {

const rules::RuleEngine& Engine() { return rules::ShortHrHighTestEngine(HT_ALERT_RULES_TOML); }

class EvaluatorTest : public testing::ClusterPerSuiteTest {
 protected:
  void SetUp() override {
    auto conninfo = testing::CreateMigratedDatabase(*cluster_, TestDatabaseName());
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = *conninfo;
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec("INSERT INTO patients (patient_id) VALUES ('pat-0001')");
    tx.exec("INSERT INTO devices (device_id, kind, patient_id, bound_at) VALUES ('strap', 1, 'pat-0001', now())");
    timeline_start_unix_s_ = tx.exec("SELECT floor(extract(epoch FROM now()))::bigint - 3600")[0][0].as<int64_t>();
    tx.commit();
  }

  // Heart rates of pat-0001 at 1 Hz on a fixed timeline that starts an hour before the test:
  // `bpm[i]` at second `first_s + i`, inside `tx`. Returns the ingest_seq of the last row.
  int64_t InsertHeartRatesAt(pqxx::work& tx, int first_s, const std::vector<int>& bpm) {
    int64_t seq = 0;
    for (size_t i = 0; i < bpm.size(); ++i) {
      seq = tx.exec_params(
                  "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at,"
                  " bridge_id)"
                  " VALUES ('pat-0001', 'strap', 1, $1, '/min', to_timestamp($2), now(), 'bridge-001')"
                  " RETURNING ingest_seq",
                  bpm[i], timeline_start_unix_s_ + first_s + static_cast<int64_t>(i))[0][0]
                .as<int64_t>();
    }
    return seq;
  }

  // The same in a transaction of its own, committed.
  int64_t InsertHeartRatesAt(int first_s, const std::vector<int>& bpm) {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    const int64_t seq = InsertHeartRatesAt(tx, first_s, bpm);
    tx.commit();
    return seq;
  }

  // Heart rates at 1 Hz from `start_s` seconds before now: `bpm[i]` at second i. One
  // transaction, so they become visible to the evaluator together.
  void InsertHeartRates(int start_s, const std::vector<int>& bpm) {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    for (size_t i = 0; i < bpm.size(); ++i) {
      tx.exec_params(
          "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at, "
          "bridge_id)"
          " VALUES ('pat-0001', 'strap', 1, $1, '/min', now() - make_interval(secs => $2), now(), 'bridge-001')",
          bpm[i], start_s - static_cast<int>(i));
    }
    tx.commit();
  }

  int64_t Alerts() {
    pqxx::connection c(conninfo_);
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT count(*) FROM alerts WHERE rule_id = 'hr_high'")[0][0].as<int64_t>();
  }

  // alert_events rows of kind 1 (raised) for heart-rate alerts.
  int64_t RaisedEvents() {
    pqxx::connection c(conninfo_);
    pqxx::nontransaction tx(c);
    return tx
        .exec(
            "SELECT count(*) FROM alert_events e JOIN alerts a USING (alert_id)"
            " WHERE e.kind = 1 AND a.rule_id = 'hr_high'")[0][0]
        .as<int64_t>();
  }

  // Seconds on the test's timeline at which the single heart-rate alert's episode started.
  int64_t AlertStartS() {
    pqxx::connection c(conninfo_);
    pqxx::nontransaction tx(c);
    return tx.exec1(
                 "SELECT extract(epoch FROM condition_started_at)::bigint FROM alerts"
                 " WHERE rule_id = 'hr_high'")[0]
               .as<int64_t>() -
           timeline_start_unix_s_;
  }

  // Exactly one heart-rate alert, raised once (one alert_events row of kind 1), for the run
  // that began at `start_s` on the test's timeline.
  void ExpectOneRaisedAlertStartingAt(int64_t start_s) {
    ASSERT_EQ(Alerts(), 1);
    EXPECT_EQ(RaisedEvents(), 1);
    EXPECT_EQ(AlertStartS(), start_s);
  }

  // One vital of any type on the test's timeline, committed.
  void InsertVitalAt(const std::string& patient, const std::string& device, int type, double value,
                     const std::string& unit, int64_t at_s) {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at,"
        " bridge_id) VALUES ($1, $2, $3, $4, $5, to_timestamp($6), now(), 'bridge-001')",
        patient, device, type, value, unit, timeline_start_unix_s_ + at_s);
    tx.commit();
  }

  void Exec(const std::string& sql) { testing::ExecSql(conninfo_, sql); }
  int64_t Count(const std::string& sql) { return testing::QueryInt64(conninfo_, sql); }

  int64_t Cursor() {
    pqxx::connection c(conninfo_);
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT last_seq FROM consumer_cursors WHERE consumer = 'alerts'")[0].as<int64_t>();
  }

  int64_t MaxSeq() {
    pqxx::connection c(conninfo_);
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT max(ingest_seq) FROM vitals")[0][0].as<int64_t>();
  }

  // One RunOnce on a fresh evaluator with a pool of its own, as after a restart of the service.
  void RunOnceAfterRestart() {
    common::PgPool pool(conninfo_, 2);
    Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
    ASSERT_TRUE(evaluator.RunOnce().ok());
  }

  std::string conninfo_;
  int64_t timeline_start_unix_s_ = 0;
};

std::vector<int> Seconds(int n, int bpm) { return std::vector<int>(static_cast<size_t>(n), bpm); }

std::vector<int> Concat(std::initializer_list<std::vector<int>> parts) {
  std::vector<int> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST_F(EvaluatorTest, AnEpisodeInProgressRaisesOneAlert) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertHeartRates(600, Concat({Seconds(30, 70), Seconds(90, 135)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 1);
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 1);
  // The episode goes on: every round (and every instant of a round) repeats the active verdict
  // of the same episode, which the lifecycle turns into no new event.
  // (The same value: a new peak would rightly be an "updated" event.)
  InsertHeartRates(480, Seconds(120, 135));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  InsertHeartRates(360, Seconds(60, 135));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 1);
  pqxx::connection c(conninfo_);
  EXPECT_EQ(pqxx::nontransaction(c).exec1("SELECT count(*) FROM alert_events")[0].as<int>(), 1);
}

// The whole episode and the normal readings after it arrive in one round: the episode ended
// before the newest row, and must still be found.
TEST_F(EvaluatorTest, AnEpisodeThatEndedBeforeTheNewestRowOfTheRoundRaisesOneAlert) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertHeartRates(600, Concat({Seconds(30, 70), Seconds(90, 135), Seconds(60, 72)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 1);
}

// An episode that ended in an earlier round and an episode in this one, more than the
// deduplication window apart: two alerts.
TEST_F(EvaluatorTest, TwoEpisodesInOneRoundFarApartRaiseTwoAlerts) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertHeartRates(1800, Concat({Seconds(90, 135), Seconds(700, 72), Seconds(90, 140), Seconds(30, 72)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 2);
}

TEST_F(EvaluatorTest, AShortBurstRaisesNothing) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertHeartRates(600, Concat({Seconds(30, 70), Seconds(40, 135), Seconds(30, 70)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 0);
}

// The service restarts twice during one episode: before it qualifies, and after it qualified
// but before it ended. Its state lives in the database, so the episode gives one alert.
TEST_F(EvaluatorTest, RestartsMidEpisodeNeitherDuplicateNorLoseTheAlert) {
  InsertHeartRatesAt(0, Concat({Seconds(30, 70), Seconds(40, 135)}));
  RunOnceAfterRestart();
  EXPECT_EQ(Alerts(), 0);
  InsertHeartRatesAt(70, Seconds(30, 135));
  RunOnceAfterRestart();
  EXPECT_EQ(Alerts(), 1);
  InsertHeartRatesAt(100, Concat({Seconds(20, 135), Seconds(30, 72)}));
  RunOnceAfterRestart();
  RunOnceAfterRestart();
  ExpectOneRaisedAlertStartingAt(30);
  EXPECT_EQ(Cursor(), MaxSeq());
}

// 59 s of high heart rate before the restart, the 60th second after it: the new evaluator sees
// only that one new row and must still find the run that began before the restart.
TEST_F(EvaluatorTest, AnEpisodeThatQualifiesAcrossARestartRaisesOneAlert) {
  InsertHeartRatesAt(0, Concat({Seconds(30, 70), Seconds(60, 135)}));
  RunOnceAfterRestart();
  EXPECT_EQ(Alerts(), 0);
  InsertHeartRatesAt(90, {135});
  RunOnceAfterRestart();
  EXPECT_EQ(Alerts(), 1);
  InsertHeartRatesAt(91, Seconds(30, 72));
  RunOnceAfterRestart();
  ExpectOneRaisedAlertStartingAt(30);
  EXPECT_EQ(Cursor(), MaxSeq());
}

// A row whose ingest_seq was taken before later rows committed, but which commits after them
// (the ordering caveat of evaluator.h). It is the row that completes a 60 s run, so the alert
// is raised only if it is evaluated after it becomes visible.
TEST_F(EvaluatorTest, ARowThatCommitsLateIsEvaluatedAndTheCursorWaitsForIt) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertHeartRatesAt(0, Concat({Seconds(30, 70), Seconds(60, 135)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  ASSERT_EQ(Alerts(), 0);

  pqxx::connection late_connection(conninfo_);
  pqxx::work late(late_connection);
  const int64_t late_seq = InsertHeartRatesAt(late, 90, {135});
  const int64_t last_seq = InsertHeartRatesAt(91, Seconds(30, 72));
  ASSERT_GT(last_seq, late_seq);
  // However long the late transaction takes: the 2.5 s here is longer than the timed grace
  // (2 s) that an earlier design passed such a gap after, which lost rows in the soak.
  for (int round = 0; round < 5; ++round) {
    auto held = evaluator.RunOnce();
    ASSERT_TRUE(held.ok()) << held.status();
    EXPECT_EQ(*held, 0);
    EXPECT_EQ(Cursor(), late_seq - 1);
    EXPECT_EQ(Alerts(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }

  late.commit();
  ASSERT_TRUE(evaluator.RunOnce().ok());
  ExpectOneRaisedAlertStartingAt(30);
  EXPECT_EQ(Cursor(), last_seq);
}

// A gap held past the report age is logged once, naming the transaction it waits for as
// pg_stat_activity shows it (the real SQL of GapTracker::BeforeRead).
TEST_F(EvaluatorTest, AGapHeldLongIsLoggedWithTheBackendItWaitsFor) {
  std::ostringstream lines;
  ASSERT_TRUE(common::InitLogging("test", "info", common::LogFormat::kJson,
                                  std::make_shared<spdlog::sinks::ostream_sink_mt>(lines, true))
                  .ok());
  InsertHeartRatesAt(0, Seconds(3, 70));
  pqxx::connection late_connection(conninfo_);
  pqxx::work late(late_connection);
  const int64_t late_seq = InsertHeartRatesAt(late, 3, {70});
  const auto late_xid = late.exec("SELECT pg_current_xact_id()::text::bigint")[0][0].as<int64_t>();
  const auto late_pid = late.exec("SELECT pg_backend_pid()")[0][0].as<int64_t>();
  InsertHeartRatesAt(4, Seconds(3, 70));

  common::GapTracker tracker("test-consumer", std::chrono::milliseconds(0));
  pqxx::connection c(conninfo_);
  int64_t cursor = 0;
  for (int round = 0; round < 3; ++round) {
    pqxx::work tx(c);
    tracker.BeforeRead(tx);
    std::vector<int64_t> seqs;
    for (const auto& row : tx.exec_params("SELECT ingest_seq FROM vitals WHERE ingest_seq > $1 ORDER BY 1", cursor)) {
      seqs.push_back(row[0].as<int64_t>());
    }
    cursor = tracker.AfterRead(tx, cursor, seqs);
    tx.commit();
    EXPECT_EQ(cursor, late_seq - 1);
  }
  common::InitLogging("test", "warn", common::LogFormat::kJson).IgnoreError();

  std::vector<nlohmann::json> held;
  std::istringstream in(lines.str());
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("event", "") == "gap.held") held.push_back(j);
  }
  ASSERT_EQ(held.size(), 1u) << lines.str();
  EXPECT_EQ(held[0]["consumer"], "test-consumer");
  EXPECT_EQ(held[0]["first_seq"], late_seq);
  EXPECT_EQ(held[0]["last_seq"], late_seq);
  EXPECT_EQ(held[0]["witnesses_running"], nlohmann::json::array({late_xid}));
  ASSERT_EQ(held[0]["backends"].size(), 1u) << held[0].dump();
  EXPECT_EQ(held[0]["backends"][0]["pid"], late_pid);
  EXPECT_EQ(held[0]["backends"][0]["state"], "idle in transaction");
  late.abort();
}

// A value taken by a transaction that rolls back never appears; the cursor waits at it while
// the transaction runs and passes it in the first round after the rollback.
TEST_F(EvaluatorTest, ARolledBackValueIsPassedOnceItsTransactionEnded) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertHeartRatesAt(0, Seconds(30, 70));
  ASSERT_TRUE(evaluator.RunOnce().ok());

  int64_t rolled_back_seq = 0;
  {
    pqxx::connection c(conninfo_);
    pqxx::work rolled_back(c);
    rolled_back_seq = InsertHeartRatesAt(rolled_back, 30, {70});
    InsertHeartRatesAt(31, Seconds(30, 70));
    ASSERT_TRUE(evaluator.RunOnce().ok());
    EXPECT_EQ(Cursor(), rolled_back_seq - 1);
    ASSERT_TRUE(evaluator.RunOnce().ok());
    EXPECT_EQ(Cursor(), rolled_back_seq - 1);
    rolled_back.abort();
  }

  auto passed = evaluator.RunOnce();
  ASSERT_TRUE(passed.ok()) << passed.status();
  EXPECT_EQ(*passed, 30);
  EXPECT_EQ(Cursor(), MaxSeq());
  EXPECT_GT(Cursor(), rolled_back_seq);
}

// Two alerts replicas (two pools, two evaluators) running rounds at the same time while rows
// arrive: three patients, one 90 s episode each, 12 minutes apart, 40 minutes of 1 Hz data.
TEST_F(EvaluatorTest, TwoEvaluatorsAtOnceRaiseEachAlertOnce) {
  constexpr int kPatients = 3;
  constexpr int kTimelineS = 2400;
  constexpr int kBatchS = 60;
  auto episode_start_s = [](int patient) { return 300 + 720 * patient; };
  {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    for (int p = 1; p < kPatients; ++p) {
      const std::string patient = "pat-000" + std::to_string(p + 1);
      tx.exec_params("INSERT INTO patients (patient_id) VALUES ($1)", patient);
      tx.exec_params("INSERT INTO devices (device_id, kind, patient_id, bound_at) VALUES ($1, 1, $2, now())",
                     "strap-" + std::to_string(p + 1), patient);
    }
    tx.commit();
  }

  std::atomic<bool> all_inserted{false};
  std::thread inserter([&] {
    pqxx::connection c(conninfo_);
    for (int from_s = 0; from_s < kTimelineS; from_s += kBatchS) {
      pqxx::work tx(c);
      for (int p = 0; p < kPatients; ++p) {
        tx.exec_params(
            "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at,"
            " bridge_id)"
            " SELECT $1, $2, 1, CASE WHEN s BETWEEN $3 AND $3 + 90 THEN 140 ELSE 72 END, '/min',"
            "        to_timestamp($4::bigint + s), now(), 'bridge-001'"
            " FROM generate_series($5::int, $5::int + $6 - 1) AS s",
            "pat-000" + std::to_string(p + 1), p == 0 ? std::string("strap") : "strap-" + std::to_string(p + 1),
            episode_start_s(p), timeline_start_unix_s_, from_s, kBatchS);
      }
      tx.commit();
    }
    all_inserted = true;
  });

  // Each replica runs rounds until one that began after the last insert moved over nothing.
  absl::Status failures[2];
  auto replica = [&](absl::Status& failure) {
    common::PgPool pool(conninfo_, 2);
    Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
    for (;;) {
      const bool finished = all_inserted;
      auto moved = evaluator.RunOnce();
      if (!moved.ok()) {
        failure = moved.status();
        return;
      }
      if (*moved > 0) continue;
      if (finished) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  std::thread first(replica, std::ref(failures[0]));
  std::thread second(replica, std::ref(failures[1]));
  inserter.join();
  first.join();
  second.join();
  EXPECT_TRUE(failures[0].ok()) << failures[0];
  EXPECT_TRUE(failures[1].ok()) << failures[1];

  pqxx::connection c(conninfo_);
  pqxx::nontransaction tx(c);
  auto alerts = tx.exec(
      "SELECT patient_id, extract(epoch FROM condition_started_at)::bigint, duration_s FROM alerts"
      " WHERE rule_id = 'hr_high' ORDER BY patient_id");
  ASSERT_EQ(alerts.size(), static_cast<size_t>(kPatients));
  for (int p = 0; p < kPatients; ++p) {
    EXPECT_EQ(alerts[p][0].as<std::string>(), "pat-000" + std::to_string(p + 1));
    EXPECT_EQ(alerts[p][1].as<int64_t>() - timeline_start_unix_s_, episode_start_s(p));
    // 91 s: the engine ends an episode at its first normal sample (rules/sustained.h).
    EXPECT_EQ(alerts[p][2].as<double>(), 91);
  }
  EXPECT_EQ(RaisedEvents(), kPatients);
  EXPECT_EQ(tx.exec1("SELECT count(DISTINCT alert_id) FROM alert_events WHERE kind = 1")[0].as<int64_t>(), kPatients);
  EXPECT_EQ(MaxSeq(), static_cast<int64_t>(kPatients) * kTimelineS);
  EXPECT_EQ(Cursor(), MaxSeq());
}

// The lifecycle: the run in progress is an active verdict; once a normal reading ends it, the
// HIGH alert ends and stays latched (phase 2) until acknowledged; more rounds add nothing.
TEST_F(EvaluatorTest, AnEndedEpisodeLatchesItsHighAlertAndEndsOnce) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertHeartRatesAt(0, Concat({Seconds(10, 70), Seconds(90, 135)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  pqxx::connection c(conninfo_);
  auto phase = [&] { return pqxx::nontransaction(c).exec1("SELECT phase FROM alerts")[0].as<int>(); };
  EXPECT_EQ(phase(), 1);
  // 40 s: the test catalogue's hr_high clears after 30 s at or below 115 /min.
  InsertHeartRatesAt(100, Seconds(40, 72));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  ASSERT_TRUE(evaluator.RunOnce().ok());
  RunOnceAfterRestart();
  EXPECT_EQ(phase(), 2);
  ExpectOneRaisedAlertStartingAt(10);
  EXPECT_EQ(pqxx::nontransaction(c).exec1("SELECT count(*) FROM alert_events WHERE kind = 9")[0].as<int>(), 1);
  EXPECT_EQ(pqxx::nontransaction(c).exec1("SELECT state FROM alerts")[0].as<int>(), 5);  // LATCHED
}

// A second run five minutes after the first ended is the same episode again: reopened, not a
// second alert.
TEST_F(EvaluatorTest, AReTriggerWithinTenMinutesReopensTheAlert) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertHeartRatesAt(0, Concat({Seconds(90, 135), Seconds(300, 72)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  InsertHeartRatesAt(390, Seconds(90, 140));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  ExpectOneRaisedAlertStartingAt(0);
  pqxx::connection c(conninfo_);
  EXPECT_EQ(pqxx::nontransaction(c).exec1("SELECT count(*) FROM alert_events WHERE kind = 11")[0].as<int>(), 1);
  EXPECT_EQ(pqxx::nontransaction(c).exec1("SELECT phase FROM alerts")[0].as<int>(), 1);
}

// A foreign-gateway event raises one latched technical alert for its hour, whatever the number
// of events in that hour.
TEST_F(EvaluatorTest, TechnicalEventsRaiseOneLatchedTechnicalAlertPerHour) {
  {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    for (int i = 0; i < 3; ++i) {
      tx.exec(
          "INSERT INTO technical_events (kind, bridge_id, device_id, patient_id, sample_count, created_at)"
          " VALUES ('foreign_gateway', 'bridge-x', 'strap', 'pat-0001', 5, date_trunc('hour', now()))");
    }
    tx.commit();
  }
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  auto taken = evaluator.RunTechnicalOnce();
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(*taken, 3);
  pqxx::connection c(conninfo_);
  auto row = pqxx::nontransaction(c).exec1(
      "SELECT count(*), min(category), min(phase), bool_and(latched) FROM alerts WHERE rule_id = "
      "'tech_foreign_gateway'");
  EXPECT_EQ(row[0].as<int>(), 1);
  EXPECT_EQ(row[1].as<int>(), 2);  // technical
  EXPECT_EQ(row[2].as<int>(), 2);  // ended, latched: visible until acknowledged
  EXPECT_TRUE(row[3].as<bool>());
  EXPECT_EQ(pqxx::nontransaction(c).exec1("SELECT count(*) FROM alert_events WHERE kind = 1")[0].as<int>(), 1);
}

// Feed events name no patient (migrations 0014, 0015): they raise no patient alert, but one
// open feed alert per feed and kind for the admins, however many events; a retrying alert is
// resolved once its messages are delivered, a dead-letter alert stays open.
TEST_F(EvaluatorTest, FeedEventsRaiseOneAdminFeedAlertPerFeedAndKind) {
  auto exec = [&](const std::string& sql) {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec(sql);
    tx.commit();
  };
  exec(
      "INSERT INTO feeds (feed_id, name, kind, target, tls, send_alerts, send_vitals, created_by, updated_by)"
      " VALUES (7, 'hospital-a', 'hl7v2-mllp', '127.0.0.1:2575', false, true, false, 'admin', 'admin')");
  exec(
      "INSERT INTO feed_outbox (feed_id, patient_id, source_kind, source_first_seq, source_last_seq, source_at,"
      " message_id, payload, attempts) VALUES"
      " (7, 'pat-0001', 'alert_event', 1, 1, now(), 'ht-7-a1', 'x', 3),"
      " (7, 'pat-0002', 'alert_event', 2, 2, now(), 'ht-7-a2', 'x', 3),"
      " (7, 'pat-0003', 'alert_event', 3, 3, now(), 'ht-7-a3', 'x', 1)");
  exec(
      "INSERT INTO technical_events (kind, bridge_id, patient_id, sample_count, feed_id, message_id) VALUES"
      " ('feed_retrying', '', NULL, 3, 7, 'ht-7-a1'), ('feed_retrying', '', NULL, 3, 7, 'ht-7-a2'),"
      " ('feed_dead_letter', '', NULL, 1, 7, 'ht-7-a3')");
  exec("UPDATE feed_outbox SET state = 'dead' WHERE message_id = 'ht-7-a3'");
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  auto taken = evaluator.RunTechnicalOnce();
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(*taken, 3);
  pqxx::connection c(conninfo_);
  auto q = [&](const std::string& sql) { return pqxx::nontransaction(c).exec1(sql); };
  EXPECT_EQ(q("SELECT count(*) FROM alerts")[0].as<int>(), 0);  // no patient alert
  auto retrying =
      q("SELECT count(*), min(event_count), min(priority), min(last_message_id), bool_and(resolved_at IS NULL)"
        " FROM feed_alerts WHERE feed_id = 7 AND kind = 'feed_retrying'");
  EXPECT_EQ(retrying[0].as<int>(), 1);
  EXPECT_EQ(retrying[1].as<int>(), 2);
  EXPECT_EQ(retrying[2].as<int>(), 2);  // medium
  EXPECT_EQ(retrying[3].as<std::string>(), "ht-7-a2");
  EXPECT_TRUE(retrying[4].as<bool>());
  EXPECT_EQ(q("SELECT count(*) FROM feed_alerts WHERE kind = 'feed_dead_letter' AND resolved_at IS NULL")[0].as<int>(),
            1);
  EXPECT_EQ(q("SELECT count(*) FROM technical_events WHERE alerted_at IS NULL")[0].as<int>(), 0);

  // One of the two retrying messages delivered: still open. Both: resolved.
  exec("UPDATE feed_outbox SET state = 'delivered', delivered_at = now() WHERE message_id = 'ht-7-a1'");
  ASSERT_TRUE(evaluator.RunTechnicalOnce().ok());
  EXPECT_EQ(q("SELECT count(*) FROM feed_alerts WHERE kind = 'feed_retrying' AND resolved_at IS NULL")[0].as<int>(), 1);
  exec("UPDATE feed_outbox SET state = 'delivered', delivered_at = now() WHERE message_id = 'ht-7-a2'");
  ASSERT_TRUE(evaluator.RunTechnicalOnce().ok());
  EXPECT_EQ(q("SELECT count(*) FROM feed_alerts WHERE kind = 'feed_retrying' AND resolved_at IS NULL")[0].as<int>(), 0);
  EXPECT_EQ(q("SELECT count(*) FROM feed_alerts WHERE kind = 'feed_dead_letter' AND resolved_at IS NULL")[0].as<int>(),
            1);

  // A new episode after the resolution opens a new alert.
  exec("UPDATE feed_outbox SET state = 'pending', delivered_at = NULL WHERE message_id = 'ht-7-a1'");
  exec(
      "INSERT INTO technical_events (kind, bridge_id, patient_id, sample_count, feed_id, message_id)"
      " VALUES ('feed_retrying', '', NULL, 3, 7, 'ht-7-a1')");
  ASSERT_TRUE(evaluator.RunTechnicalOnce().ok());
  EXPECT_EQ(q("SELECT count(*) FROM feed_alerts WHERE kind = 'feed_retrying'")[0].as<int>(), 2);
  EXPECT_EQ(q("SELECT count(*) FROM feed_alerts WHERE kind = 'feed_retrying' AND resolved_at IS NULL")[0].as<int>(), 1);
}

// A cuff's two consecutive readings above 179 mmHg ([NG136], rule sbp_high, min_samples 2):
// one alert; the first reading alone raises nothing.
TEST_F(EvaluatorTest, AnSbpPairRaisesSbpHigh) {
  Exec("INSERT INTO devices (device_id, kind, patient_id, bound_at) VALUES ('cuff', 2, 'pat-0001', now())");
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertVitalAt("pat-0001", "cuff", 2, 186, "mm[Hg]", 0);
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE rule_id = 'sbp_high'"), 0);
  InsertVitalAt("pat-0001", "cuff", 2, 192, "mm[Hg]", 600);
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE rule_id = 'sbp_high'"), 1);
  EXPECT_EQ(Count("SELECT extract(epoch FROM condition_started_at)::bigint FROM alerts WHERE rule_id = 'sbp_high'") -
                timeline_start_unix_s_,
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM alerts"), 1);
}

// Half an hour of 1 Hz data arrives in one round (a catch-up): an episode of 3 minutes in the
// middle of it, over and cleared long before the newest row, is raised once, from its start.
TEST_F(EvaluatorTest, AnHrEpisodeWhollyInsideOneCatchUpBatchIsRaised) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertHeartRatesAt(0, Concat({Seconds(600, 72), Seconds(180, 133), Seconds(1020, 74)}));
  auto moved = evaluator.RunOnce();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(*moved, 1800);
  ExpectOneRaisedAlertStartingAt(600);
  EXPECT_EQ(Count("SELECT phase FROM alerts"), 2);  // ended (latched: its peak 133 made it high)
  EXPECT_EQ(Count("SELECT count(*) FROM alerts"), 1);
  const RoundStats stats = evaluator.last_round();
  EXPECT_EQ(stats.patients, 1);
  EXPECT_EQ(stats.rows_loaded, 1800);
  EXPECT_EQ(stats.instants, 61);  // every 30 s of 1800 s (60), and the newest (1799)
}

// Samples measured while the strap's status said sensor contact "not detected" are not the
// patient's (EngineFlags): a run of them raises nothing. Once contact is back, the same values
// raise.
TEST_F(EvaluatorTest, AFlaggedContactLostRunDoesNotRaise) {
  auto status_at = [&](int64_t at_s, int contact) {
    Exec(
        "INSERT INTO device_status_history (device_id, patient_id, bridge_id, observed_at, sensor_contact, connected,"
        " connection_changed_at, received_at) VALUES ('strap', 'pat-0001', 'bridge-001', to_timestamp(" +
        std::to_string(timeline_start_unix_s_ + at_s) + "), " + std::to_string(contact) + ", true, now(), now())");
  };
  status_at(0, 3);
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  InsertHeartRatesAt(10, Seconds(180, 180));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 0);
  status_at(300, 2);
  InsertHeartRatesAt(300, Seconds(120, 180));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  ExpectOneRaisedAlertStartingAt(300);
}

// A clinician's per-patient threshold (hr_high 110 /min for pat-0001) changes the verdict: the
// same 115 /min raises for pat-0001 and not for pat-0002 on the catalogue's 120.
TEST_F(EvaluatorTest, APerPatientThresholdOverrideChangesTheVerdict) {
  {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec("INSERT INTO patients (patient_id) VALUES ('pat-0002')");
    tx.exec("INSERT INTO devices (device_id, kind, patient_id, bound_at) VALUES ('strap-2', 1, 'pat-0002', now())");
    rules::PatientAlertSettings settings;
    settings.threshold_overrides["hr_high"] = 110;
    ASSERT_TRUE(Engine().ValidateSettings(settings).ok());
    ASSERT_TRUE(StorePatientSettings(tx, "pat-0001", settings, "dr-test", 0).ok());
    for (int i = 0; i < 120; ++i) {
      for (const auto& [patient, device] : {std::pair{"pat-0001", "strap"}, std::pair{"pat-0002", "strap-2"}}) {
        tx.exec_params(
            "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at,"
            " bridge_id) VALUES ($1, $2, 1, 115, '/min', to_timestamp($3), now(), 'bridge-001')",
            patient, device, timeline_start_unix_s_ + i);
      }
    }
    tx.commit();
  }
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE rule_id = 'hr_high' AND patient_id = 'pat-0001'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE patient_id = 'pat-0002'"), 0);
}

// A strap that stops sending: device_silent (max(30 min, 3 x its 1 s cadence)) is raised by
// the timer as the clock moves on, with no new vitals and no round of RunOnce.
TEST_F(EvaluatorTest, ASilentDeviceRaisesDeviceSilentByTheTimer) {
  InsertHeartRatesAt(0, Seconds(20, 72));
  const int64_t last_sample_us = (timeline_start_unix_s_ + 19) * 1'000'000;
  lifecycle::FakeClock clock(last_sample_us + 10 * 60 * 1'000'000LL);
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()), clock);
  auto judged = evaluator.RunTimerOnce();
  ASSERT_TRUE(judged.ok()) << judged.status();
  EXPECT_EQ(*judged, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM alerts"), 0);
  clock.Set(last_sample_us + 31 * 60 * 1'000'000LL);
  ASSERT_TRUE(evaluator.RunTimerOnce().ok());
  ASSERT_TRUE(evaluator.RunTimerOnce().ok());
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE rule_id = 'device_silent' AND category = 2 AND phase = 1"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM alerts"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM alert_events WHERE kind = 1"), 1);
  // No round of RunOnce ran: the timer alone raised it.
  EXPECT_EQ(Count("SELECT count(*) FROM consumer_cursors WHERE consumer = 'alerts'"), 0);
}

// Suppression from the catalogue (news2 suppresses heart_rate, spo2, ...): a high NEWS2 (HR 125
// scores 2, SpO2 90 % 3, respiration 26 /min 3: 8) holds the medium hr_high and spo2_low alerts
// of the same patient.
TEST_F(EvaluatorTest, SuppressionByTheCatalogueHoldsALowerRule) {
  Exec("INSERT INTO devices (device_id, kind, patient_id, bound_at) VALUES ('oxi', 3, 'pat-0001', now())");
  {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    constexpr int kS = 1800;
    InsertHeartRatesAt(tx, 0, Seconds(kS, 125));
    for (int t = 0; t < kS; t += 60) {
      for (const auto& [type, value, unit] : {std::tuple{5, 90.0, "%"}, std::tuple{9, 26.0, "/min"}}) {
        tx.exec_params(
            "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at,"
            " bridge_id) VALUES ('pat-0001', 'oxi', $1, $2, $3, to_timestamp($4), now(), 'bridge-001')",
            type, value, unit, timeline_start_unix_s_ + t);
      }
    }
    tx.commit();
  }
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  while (*evaluator.RunOnce() > 0) {
  }
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE rule_id = 'news2' AND priority = 3 AND phase = 1"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM alerts h JOIN alerts n ON h.suppressed_by = n.alert_id"
                  " WHERE h.rule_id IN ('hr_high', 'spo2_low') AND n.rule_id = 'news2'"),
            2);
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE rule_id IN ('hr_high', 'spo2_low') AND priority = 2"), 2);
}

// The cost bound of inputs_loader.h, measured: 9 days of 1 Hz heart rate (777,600 rows), a
// daily weighing and cuff reading, then rounds of one new heart rate each. A round loads hours
// of heart rate (6 h 15 min: 22,500 rows) and 9 days of the sparse types, not 9 days at 1 Hz,
// once: later rounds extend the kept window (patient_windows.h) with their one row; the daily
// resting heart rates come from SQL once and then from the cache. Prints the figure
// (rows loaded, ms per patient-round) for the report; the bound on rows is what is asserted.
TEST_F(EvaluatorTest, ARoundAt1HzLoadsHoursOfHeartRateNotNineDays) {
  constexpr int kDays = 9;
  Exec(
      "INSERT INTO devices (device_id, kind, patient_id, bound_at) VALUES ('cuff', 2, 'pat-0001', now()),"
      " ('scale', 5, 'pat-0001', now())");
  const int64_t now_s = timeline_start_unix_s_ + 3600;
  Exec(
      "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at, bridge_id)"
      " SELECT 'pat-0001', 'strap', 1, 60 + (s % 17), '/min', to_timestamp(" +
      std::to_string(now_s) + " - s), now(), 'bridge-001' FROM generate_series(1, " + std::to_string(kDays * 86400) +
      ") s");
  Exec(
      "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at, bridge_id)"
      " SELECT 'pat-0001', d, t, v, u, to_timestamp(" +
      std::to_string(now_s) + " - s * 86400 - 3600), now(), 'bridge-001' FROM generate_series(1, " +
      std::to_string(kDays) + ") s, (VALUES ('cuff', 2, 128.0, 'mm[Hg]'), ('scale', 7, 80.0, 'kg')) AS x(d, t, v, u)");
  {
    // As autovacuum would have by now: statistics, and the BRIN summary of ingest_seq that the
    // round's "rows after the cursor" query relies on (unsummarised ranges are always read).
    pqxx::connection c(conninfo_);
    pqxx::nontransaction(c).exec("VACUUM ANALYZE vitals");
  }
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, Engine(), LifecycleConfigFor(Engine()));
  // Catch up with the history first (not measured: a one-off after a long outage).
  {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec("INSERT INTO consumer_cursors (consumer, last_seq) SELECT 'alerts', max(ingest_seq) FROM vitals");
    tx.commit();
  }
  constexpr int kRounds = 20;
  double total_ms = 0, load_ms = 0, evaluate_ms = 0, apply_ms = 0;
  int observations = 0;
  int64_t rows = 0;
  for (int i = 0; i < kRounds; ++i) {
    InsertHeartRatesAt(3600 + 1 + i, {70});
    auto moved = evaluator.RunOnce();
    ASSERT_TRUE(moved.ok()) << moved.status();
    ASSERT_EQ(*moved, 1);
    const RoundStats stats = evaluator.last_round();
    EXPECT_EQ(stats.patients, 1);
    if (i > 0) {  // the first round fills the resting-HR cache
      total_ms += stats.ms;
      load_ms += stats.load_ms;
      evaluate_ms += stats.evaluate_ms;
      apply_ms += stats.apply_ms;
    }
    observations = stats.observations;
    rows = stats.window_rows;
    EXPECT_LE(stats.rows_loaded, 22'500 + 2 + 2 * kDays) << "round " << i;
    EXPECT_LE(stats.window_rows, 22'500 + 2 + 2 * kDays) << "round " << i;
    if (i > 0) {
      EXPECT_EQ(stats.rows_loaded, 0) << "round " << i;  // the window is kept
    }
  }
  std::printf(
      "evaluator cost at 1 Hz over %d days: %lld rows in the patient's window, %.1f ms per patient-round"
      " (loading %.1f ms, evaluating %.1f ms, applying %d verdicts %.1f ms; mean of %d rounds, resting-HR cache"
      " warm)\n",
      kDays, static_cast<long long>(rows), total_ms / (kRounds - 1), load_ms / (kRounds - 1),
      evaluate_ms / (kRounds - 1), observations, apply_ms / (kRounds - 1), kRounds - 1);
  EXPECT_EQ(Alerts(), 0);
}

}  // namespace
}  // namespace healthtwin::alerts
