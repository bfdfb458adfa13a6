// The alarm lifecycle on a real PostgreSQL, connected as the alerts service's role: an episode
// is raised once across restarts and across two stores at once, each transition is recorded
// once, escalation timers survive a restart, acknowledgement is per recipient, shelving is
// limited and expires, HIGH alerts latch, and the event log is append-only.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <pqxx/pqxx>
#include <thread>

#include "services/alerts/lifecycle/escalator.h"
#include "services/alerts/lifecycle/pg_store.h"
#include "services/common/db/migrator.h"
#include "services/common/db/roles.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::alerts::lifecycle {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kS;

class PgLifecycleStoreTest : public testing::ClusterPerSuiteTest {
 protected:
  void SetUp() override { UseNewDatabase(TestDatabaseName()); }

  // Points the fixture at a fresh migrated database `name` with four patients and pat-1's care
  // team.
  void UseNewDatabase(const std::string& name) {
    auto conninfo = testing::CreateMigratedDatabase(*cluster_, name);
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    superuser_ = *conninfo;
    service_ = testing::ServiceConnInfo(superuser_, "alerts");
    Exec("INSERT INTO patients (patient_id) VALUES ('pat-1'), ('pat-2'), ('pat-3'), ('pat-4')");
    Exec(
        "INSERT INTO care_team (patient_id, member, tier) VALUES ('pat-1', 'nurse-1', 1), ('pat-1', 'dr-2', 2),"
        " ('pat-1', 'oncall-3', 3)");
  }

  void Exec(const std::string& sql) { testing::ExecSql(superuser_, sql); }
  int64_t Count(const std::string& sql) { return testing::QueryInt64(superuser_, sql); }

  std::string AlertId(const std::string& patient = "pat-1") {
    pqxx::connection c(superuser_);
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT alert_id::text FROM alerts WHERE patient_id = " + tx.quote(patient))[0].as<std::string>();
  }

  int64_t Events(int kind, const std::string& patient = "pat-1") {
    return Count("SELECT count(*) FROM alert_events JOIN alerts USING (alert_id) WHERE kind = " + std::to_string(kind) +
                 " AND patient_id = '" + patient + "'");
  }

  // A heart-rate verdict; times in seconds after kT0 (data time).
  static Observation Hr(bool active, int64_t observed_s, double peak = 130, Priority p = Priority::kHigh,
                        const std::string& patient = "pat-1") {
    Observation o;
    o.patient_id = patient;
    o.rule_id = "hr_high";
    o.priority = p;
    o.active = active;
    o.condition_started_us = kT0;
    o.condition_ended_us = active ? 0 : kT0 + observed_s * kS;
    o.observed_us = kT0 + observed_s * kS;
    o.peak_value = peak;
    o.ucum_unit = "/min";
    o.duration_s = static_cast<double>(observed_s);
    o.summary = "Heart rate high";
    o.covers = {"heart_rate"};
    return o;
  }

  // Runs `fn` on a store with a pool of its own, as one replica or one life of the service.
  template <typename Fn>
  void WithStore(const Clock& clock, Fn fn, Config cfg = DefaultConfig()) {
    common::PgPool pool(service_, 2);
    PgLifecycleStore store(pool, std::move(cfg), clock);
    fn(store, pool);
  }

  std::string superuser_;
  std::string service_;
  FakeClock clock_{kT0};
};

TEST_F(PgLifecycleStoreTest, AnEpisodeIsRaisedOnceAcrossARestart) {
  WithStore(clock_, [](PgLifecycleStore& store, common::PgPool&) { ASSERT_TRUE(store.Apply(Hr(true, 60)).ok()); });
  clock_.Advance(30 * kS);
  WithStore(clock_, [](PgLifecycleStore& store, common::PgPool&) {
    ASSERT_TRUE(store.Apply(Hr(true, 60)).ok());  // redelivered
    ASSERT_TRUE(store.Apply(Hr(true, 90)).ok());  // continues
  });
  EXPECT_EQ(Count("SELECT count(*) FROM alerts"), 1);
  EXPECT_EQ(Events(1), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM alert_events"), 1);  // duration alone is no event
  EXPECT_EQ(Count("SELECT duration_s::bigint FROM alerts"), 90);
}

// Data of an older episode that arrives after a later one was alerted (an uplink outage) is
// judged against the alert before it: its own alert, not a stale verdict of the later one.
TEST_F(PgLifecycleStoreTest, AnOlderEpisodeArrivingLateGetsItsOwnAlert) {
  WithStore(clock_, [](PgLifecycleStore& store, common::PgPool&) {
    Observation later = Hr(true, 1100);
    later.condition_started_us = kT0 + 1000 * kS;
    ASSERT_TRUE(store.Apply(later).ok());
    ASSERT_TRUE(store.Apply(Hr(false, 90)).ok());
  });
  EXPECT_EQ(Count("SELECT count(*) FROM alerts"), 2);
  EXPECT_EQ(Events(1), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE phase = 1"), 1);  // the later one goes on
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE phase = 2"), 1);  // the older one ended, latched
}

TEST_F(PgLifecycleStoreTest, AnEscalationTimerSurvivesARestartAndFiresOnce) {
  WithStore(clock_, [](PgLifecycleStore& store, common::PgPool&) { ASSERT_TRUE(store.Apply(Hr(true, 60)).ok()); });
  // The service is down while the HIGH timer (2 min) passes.
  clock_.Advance(3 * 60 * kS);
  WithStore(clock_, [](PgLifecycleStore& store, common::PgPool&) {
    auto fired = store.FireDue();
    ASSERT_TRUE(fired.ok()) << fired.status();
    EXPECT_EQ(*fired, 1);
    EXPECT_EQ(*store.FireDue(), 0);
  });
  EXPECT_EQ(Events(3), 1);
  EXPECT_EQ(Count("SELECT tier FROM alerts"), 2);
  EXPECT_EQ(Count("SELECT tier FROM alert_events WHERE kind = 3"), 2);
  EXPECT_EQ(Count("SELECT state FROM alerts"), 3);  // ESCALATED for old clients
  EXPECT_EQ(Count("SELECT count(*) FROM alert_events WHERE kind = 3 AND actor = 'system'"
                  " AND detail->>'tier_to' = '2' AND reason <> ''"),
            1);
  // Another two minutes: the last tier; then nothing more.
  clock_.Advance(2 * 60 * kS);
  WithStore(clock_, [](PgLifecycleStore& store, common::PgPool&) { EXPECT_EQ(*store.FireDue(), 1); });
  clock_.Advance(60 * 60 * kS);
  WithStore(clock_, [](PgLifecycleStore& store, common::PgPool&) { EXPECT_EQ(*store.FireDue(), 0); });
  EXPECT_EQ(Count("SELECT tier FROM alerts"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE next_escalation_at IS NULL"), 1);
}

// The service's escalation thread fires a timer that comes due while it runs, once.
TEST_F(PgLifecycleStoreTest, TheEscalatorThreadFiresADueTimerOnce) {
  common::PgPool pool(service_, 2);
  PgLifecycleStore store(pool, DefaultConfig(), clock_);
  ASSERT_TRUE(store.Apply(Hr(true, 60)).ok());
  Escalator escalator(store, std::chrono::milliseconds(100));
  escalator.Start();
  clock_.Advance(2 * 60 * kS);
  EXPECT_TRUE(testing::PollUntil([&] { return Events(3) == 1; }, std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // more rounds fire nothing more
  EXPECT_EQ(Events(3), 1);
}

TEST_F(PgLifecycleStoreTest, TwoStoresApplyingTheSameVerdictsRaiseOnceAndRecordEachTransitionOnce) {
  constexpr int kRounds = 20;
  const std::vector<std::string> patients = {"pat-1", "pat-2", "pat-3", "pat-4"};
  // Both replicas see every verdict of every patient: rising, a new peak, then the end.
  auto replica = [&](absl::Status* failure) {
    common::PgPool pool(service_, 2);
    PgLifecycleStore store(pool, DefaultConfig(), clock_);
    for (int round = 0; round < kRounds; ++round) {
      for (const auto& p : patients) {
        for (const Observation& o : {Hr(true, 60, 130, Priority::kHigh, p), Hr(true, 90, 150, Priority::kHigh, p),
                                     Hr(false, 120, 150, Priority::kHigh, p)}) {
          if (auto n = store.Apply(o); !n.ok()) *failure = n.status();
        }
      }
    }
  };
  absl::Status failures[2];
  std::thread a(replica, &failures[0]);
  std::thread b(replica, &failures[1]);
  a.join();
  b.join();
  ASSERT_TRUE(failures[0].ok()) << failures[0];
  ASSERT_TRUE(failures[1].ok()) << failures[1];
  for (const auto& p : patients) {
    EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE patient_id = '" + p + "'"), 1) << p;
    EXPECT_EQ(Events(1, p), 1) << p;   // raised
    EXPECT_EQ(Events(2, p), 1) << p;   // updated (new peak)
    EXPECT_EQ(Events(9, p), 1) << p;   // ended
    EXPECT_EQ(Events(11, p), 0) << p;  // never reopened by a stale verdict
  }
  EXPECT_EQ(Count("SELECT count(*) FROM alert_events"), 3 * static_cast<int64_t>(patients.size()));
}

// The same, as the issue asks: two processes (alert_lifecycle_replica, replica_main.cc), each
// with its own connections and clock, play every verdict and fire every timer over 20 rounds.
TEST_F(PgLifecycleStoreTest, TwoProcessesApplyingTheSameVerdictsRaiseOnceAndRecordEachTransitionOnce) {
  const std::vector<std::string> args = {service_, "4", "20", std::to_string(kT0 / kS)};
  const auto start = std::chrono::steady_clock::now();
  auto a = testing::Subprocess::Spawn(HT_LIFECYCLE_REPLICA_BIN, args);
  auto b = testing::Subprocess::Spawn(HT_LIFECYCLE_REPLICA_BIN, args);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  for (auto* p : {a->get(), b->get()}) {
    auto exit = p->Wait(std::chrono::seconds(90));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_TRUE(exit->exited && exit->code == 0) << exit->ToString() << ": " << p->Stderr();
  }
  // Each replica: 20 rounds x 4 patients x 2-3 verdicts (220 transactions) + 20 timer rounds.
  std::printf(
      "two replicas, 2 x 240 lifecycle transactions: %lld ms\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()));
  for (const std::string p : {"pat-1", "pat-2", "pat-3", "pat-4"}) {
    EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE patient_id = '" + p + "'"), 1) << p;
    EXPECT_EQ(Events(1, p), 1) << p;   // raised
    EXPECT_EQ(Events(2, p), 1) << p;   // updated (new peak)
    EXPECT_EQ(Events(9, p), 1) << p;   // ended (HIGH: latched, so not resolved)
    EXPECT_EQ(Events(10, p), 0) << p;  // resolved
    EXPECT_EQ(Events(11, p), 0) << p;  // never reopened by a stale verdict
  }
  // pat-1's care team has tiers 1-3: two escalations, each once; the others have no team.
  EXPECT_EQ(Events(3, "pat-1"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM alert_events WHERE kind = 3"), 2);
  EXPECT_EQ(Count("SELECT tier FROM alerts WHERE patient_id = 'pat-1'"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM alert_events"), 3 * 4 + 2);
}

TEST_F(PgLifecycleStoreTest, AcknowledgementIsPerRecipientAndStopsEscalation) {
  WithStore(clock_, [&](PgLifecycleStore& store, common::PgPool& pool) {
    ASSERT_TRUE(store.Apply(Hr(true, 60)).ok());
    const std::string id = AlertId();
    for (const char* who : {"nurse-1", "dr-2", "nurse-1"}) {
      ASSERT_TRUE(pool.WithTransaction("ack",
                                       [&](pqxx::work& tx) {
                                         ASSERT_TRUE(store.AcknowledgeInTx(tx, id, who, "seen", "clinician_api").ok());
                                       })
                      .ok());
    }
    absl::Status missing;
    ASSERT_TRUE(pool.WithTransaction("ack",
                                     [&](pqxx::work& tx) {
                                       missing = store.AcknowledgeInTx(tx, "00000000-0000-0000-0000-000000000000",
                                                                       "nurse-1", "", "clinician_api");
                                     })
                    .ok());
    EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
    clock_.Advance(10 * 60 * kS);
    EXPECT_EQ(*store.FireDue(), 0);
  });
  EXPECT_EQ(Count("SELECT count(*) FROM alert_acknowledgements"), 2);
  EXPECT_EQ(Events(4), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM alert_events WHERE kind = 4 AND actor IN ('nurse-1', 'dr-2')"), 2);
  EXPECT_EQ(Events(3), 0);
  EXPECT_EQ(Count("SELECT state FROM alerts"), 2);
  EXPECT_EQ(Count("SELECT phase FROM alerts"), 1);  // the condition is not cleared
}

TEST_F(PgLifecycleStoreTest, ShelvingIsLimitedPerRecipientAndItsExpiryIsAnEvent) {
  WithStore(clock_, [&](PgLifecycleStore& store, common::PgPool& pool) {
    ASSERT_TRUE(store.Apply(Hr(true, 60)).ok());
    const std::string id = AlertId();
    absl::Status too_long;
    ASSERT_TRUE(pool.WithTransaction("shelve",
                                     [&](pqxx::work& tx) {
                                       too_long = store.ShelveInTx(tx, id, "nurse-1", 61 * 60 * kS, "procedure");
                                     })
                    .ok());
    EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(too_long.message().find("duration"), std::string::npos);
    ASSERT_TRUE(pool.WithTransaction("shelve",
                                     [&](pqxx::work& tx) {
                                       ASSERT_TRUE(
                                           store.ShelveInTx(tx, id, "nurse-1", 15 * 60 * kS, "dressing change").ok());
                                     })
                    .ok());
    EXPECT_EQ(Count("SELECT count(*) FROM alert_shelves WHERE recipient = 'nurse-1' AND unshelved_at IS NULL"
                    " AND shelved_until = timestamptz 'epoch' + " +
                    std::to_string(kT0 + 15 * 60 * kS) + " * interval '1 microsecond'"),
              1);
    clock_.Advance(5 * 60 * kS);  // the HIGH timer is due, but waits for the shelf
    EXPECT_EQ(*store.FireDue(), 0);
    clock_.Advance(10 * 60 * kS);
    EXPECT_EQ(*store.FireDue(), 2);  // unshelved, then escalated
  });
  EXPECT_EQ(Events(5), 1);
  EXPECT_EQ(Events(6), 1);
  EXPECT_EQ(Events(3), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM alert_shelves WHERE unshelved_at IS NOT NULL"), 1);
  EXPECT_EQ(Count("SELECT phase FROM alerts"), 1);  // the visual state stays
}

TEST_F(PgLifecycleStoreTest, AHighAlertLatchesUntilAcknowledged) {
  WithStore(clock_, [&](PgLifecycleStore& store, common::PgPool& pool) {
    ASSERT_TRUE(store.Apply(Hr(true, 60)).ok());
    ASSERT_TRUE(store.Apply(Hr(false, 120)).ok());
    EXPECT_EQ(Count("SELECT phase FROM alerts"), 2);
    EXPECT_EQ(Count("SELECT state FROM alerts"), 5);
    EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE latched AND ended_at IS NOT NULL"), 1);
    const std::string id = AlertId();
    ASSERT_TRUE(pool.WithTransaction("ack",
                                     [&](pqxx::work& tx) {
                                       ASSERT_TRUE(store.AcknowledgeInTx(tx, id, "nurse-1", "", "clinician_api").ok());
                                     })
                    .ok());
  });
  EXPECT_EQ(Count("SELECT phase FROM alerts"), 3);
  EXPECT_EQ(Count("SELECT state FROM alerts"), 4);
  EXPECT_EQ(Events(9), 1);
  EXPECT_EQ(Events(10), 1);
}

TEST_F(PgLifecycleStoreTest, AReTriggerWithinTheWindowReopensTheSameAlert) {
  WithStore(clock_, [&](PgLifecycleStore& store, common::PgPool&) {
    ASSERT_TRUE(store.Apply(Hr(false, 120, 130, Priority::kMedium)).ok());
    Observation again = Hr(true, 400, 135, Priority::kMedium);
    again.condition_started_us = kT0 + 300 * kS;
    ASSERT_TRUE(store.Apply(again).ok());
  });
  EXPECT_EQ(Count("SELECT count(*) FROM alerts"), 1);
  EXPECT_EQ(Events(11), 1);
  EXPECT_EQ(Count("SELECT phase FROM alerts"), 1);
}

TEST_F(PgLifecycleStoreTest, AHigherPriorityAlertSuppressesACoveredOneUntilItEnds) {
  WithStore(clock_, [&](PgLifecycleStore& store, common::PgPool&) {
    ASSERT_TRUE(store.Apply(Hr(true, 60, 130, Priority::kMedium)).ok());
    Observation news = Hr(true, 60, 7, Priority::kHigh);
    news.rule_id = "news2";
    news.covers = {"news2"};
    ASSERT_TRUE(store.Apply(news).ok());
    EXPECT_EQ(Count("SELECT count(*) FROM alerts h JOIN alerts n ON h.suppressed_by = n.alert_id"
                    " WHERE h.rule_id = 'hr_high' AND n.rule_id = 'news2'"),
              1);
    EXPECT_EQ(Count("SELECT state FROM alerts WHERE rule_id = 'hr_high'"), 6);
    news.active = false;
    news.observed_us += 60 * kS;
    news.condition_ended_us = news.observed_us;
    ASSERT_TRUE(store.Apply(news).ok());
  });
  EXPECT_EQ(Events(7), 1);
  EXPECT_EQ(Events(8), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM alerts WHERE suppressed_by IS NOT NULL"), 0);
}

// Everything a batch can leave behind, with alert ids replaced by what they point at, so that
// two databases compare equal when they hold the same alerts and events.
std::string DumpAlertsAndEvents(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  pqxx::nontransaction tx(c);
  std::string out;
  const char* kUuid = "'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'";
  for (const auto& r :
       tx.exec("SELECT a.patient_id, a.rule_id, a.priority, a.state, a.summary, a.phase, a.latched, a.covers,"
               " a.condition_started_at, a.ended_at, a.last_observed_at, a.raised_at, a.resolved_at, a.peak_value,"
               " a.ucum_unit, a.duration_s, s.rule_id, a.tier, a.next_escalation_at, a.updated_at"
               " FROM alerts a LEFT JOIN alerts s ON s.alert_id = a.suppressed_by"
               " ORDER BY a.patient_id, a.rule_id, a.condition_started_at")) {
    for (const auto& f : r) out += (f.is_null() ? std::string("NULL") : f.as<std::string>()) + "|";
    out += "\n";
  }
  for (const auto& r : tx.exec(
           std::string("SELECT a.patient_id, a.rule_id, a.condition_started_at, e.kind, e.created_at, e.actor,"
                       " e.reason, regexp_replace(e.detail::text, ") +
           kUuid + ", 'ID', 'g'), e.tier FROM alert_events e JOIN alerts a USING (alert_id) ORDER BY e.event_seq")) {
    for (const auto& f : r) out += (f.is_null() ? std::string("NULL") : f.as<std::string>()) + "|";
    out += "\n";
  }
  return out;
}

// The evaluator's round: one batch, set-based where only evidence moves, must leave exactly
// what applying its verdicts one at a time leaves: raises, evidence-only continuations (also
// several of one alert, a fractional duration, a summary that needs quoting), a new peak, an
// end, a redelivery, suppression by a higher-priority alert, and a verdict the lifecycle refuses.
TEST_F(PgLifecycleStoreTest, ABatchLeavesWhatOneVerdictAtATimeLeaves) {
  const Config cfg = [] {
    Config c = DefaultConfig();
    c.suppresses["news2"] = {"heart_rate"};
    return c;
  }();
  auto before_batch = [&](PgLifecycleStore& store) {
    ASSERT_TRUE(store.Apply(Hr(true, 60, 130, Priority::kHigh, "pat-3")).ok());
    ASSERT_TRUE(store.Apply(Hr(true, 60, 130, Priority::kMedium, "pat-4")).ok());
  };
  std::vector<Observation> batch;
  batch.push_back(Hr(true, 60));   // pat-1: raised
  batch.push_back(Hr(true, 90));   // evidence
  batch.push_back(Hr(true, 120));  // evidence
  batch.push_back(Hr(true, 60, 130, Priority::kHigh, "pat-2"));
  batch.push_back(Hr(true, 150, 140));  // pat-1: new peak, an event
  batch.push_back(Hr(true, 90, 130, Priority::kHigh, "pat-2"));
  batch.push_back(Hr(true, 180, 140));  // pat-1 after its transition
  batch.push_back(Hr(true, 120, 130, Priority::kHigh, "pat-2"));
  batch.push_back(Hr(true, 60, 130, Priority::kHigh, "pat-2"));  // older: nothing
  Observation quoted = Hr(true, 95, 130, Priority::kHigh, "pat-3");
  quoted.duration_s = 95.123456789012;
  quoted.summary = "Heart rate \"high\", {braces} and a \\ backslash";
  batch.push_back(Hr(true, 92, 130, Priority::kHigh, "pat-3"));
  batch.push_back(quoted);               // the last of pat-3: its evidence is what stays
  batch.push_back(Hr(false, 240, 140));  // pat-1 ends
  Observation refused = Hr(true, 100);
  refused.patient_id.clear();
  batch.push_back(refused);
  batch.push_back(Hr(true, 90, 130, Priority::kMedium, "pat-4"));  // evidence
  Observation news = Hr(true, 91, 7, Priority::kHigh, "pat-4");
  news.rule_id = "news2";
  news.covers = {"news2"};
  batch.push_back(news);                                           // raised, suppresses hr_high
  batch.push_back(Hr(true, 95, 130, Priority::kMedium, "pat-4"));  // evidence of a held alert
  batch.push_back(Hr(true, 97, 130, Priority::kMedium, "pat-4"));

  // One at a time, as the evaluator did before batches.
  WithStore(
      clock_,
      [&](PgLifecycleStore& store, common::PgPool& pool) {
        before_batch(store);
        ASSERT_TRUE(pool.WithTransaction("one by one",
                                         [&](pqxx::work& tx) {
                                           LockAlertEvents(tx);
                                           for (const Observation& o : batch) (void)store.ApplyLockedInTx(tx, o);
                                         })
                        .ok());
      },
      cfg);
  const std::string one_by_one = DumpAlertsAndEvents(superuser_);

  UseNewDatabase(TestDatabaseName() + "_batch");
  WithStore(
      clock_,
      [&](PgLifecycleStore& store, common::PgPool& pool) {
        before_batch(store);
        std::vector<const Observation*> pointers;
        for (const Observation& o : batch) pointers.push_back(&o);
        PgLifecycleStore::BatchResult result;
        ASSERT_TRUE(pool.WithTransaction("batch",
                                         [&](pqxx::work& tx) {
                                           LockAlertEvents(tx);
                                           result = store.ApplyBatchLockedInTx(tx, pointers);
                                         })
                        .ok());
        ASSERT_EQ(result.refused.size(), 1u);
        EXPECT_EQ(result.refused[0].first, 12u);
        EXPECT_EQ(result.refused[0].second.code(), absl::StatusCode::kInvalidArgument);
        // pat-3's hr_high in the final UPDATE; pat-4's went before its news2 transition, and
        // pat-1 and pat-2 raised theirs in the batch, so their later verdicts went one by one.
        EXPECT_EQ(result.evidence_updates, 1);
        EXPECT_GT(result.one_by_one, 0);
      },
      cfg);
  const std::string batched = DumpAlertsAndEvents(superuser_);
  EXPECT_EQ(batched, one_by_one);
  EXPECT_NE(batched.find("95.123456789012"), std::string::npos);  // full precision, not six digits
  EXPECT_NE(batched.find("{braces} and a \\ backslash"), std::string::npos);
  EXPECT_EQ(Events(7, "pat-4"), 1);
}

TEST_F(PgLifecycleStoreTest, TheEventLogIsAppendOnlyForTheService) {
  WithStore(clock_, [](PgLifecycleStore& store, common::PgPool&) { ASSERT_TRUE(store.Apply(Hr(true, 60)).ok()); });
  pqxx::connection c(service_);
  for (const char* sql : {"UPDATE alert_events SET reason = 'x'", "DELETE FROM alert_events"}) {
    pqxx::work tx(c);
    EXPECT_THROW(tx.exec(sql), pqxx::insufficient_privilege) << sql;
  }
}

// Migration 0009 on alerts raised before the lifecycle: none is left active (it would swallow
// the next episode of its rule); acknowledged or resolved ones close, open ones stay latched.
class LifecycleMigrationTest : public testing::ClusterPerSuiteTest {};

TEST_F(LifecycleMigrationTest, AlertsFromBeforeTheLifecycleEndAfterTheirDuration) {
  const std::string name = TestDatabaseName();
  ASSERT_TRUE(cluster_->CreateDatabase(name).ok());
  {
    pqxx::connection superuser(cluster_->ConnInfo(name));
    ASSERT_TRUE(common::BootstrapRoles(superuser).ok());
  }
  const std::string migrator = common::ConnInfoAs(cluster_->ConnInfo(name), common::kMigratorRole);
  std::vector<common::Migration> before;
  for (const auto& m : common::BuiltInMigrations()) {
    if (m.version < 9) before.push_back(m);
  }
  pqxx::connection conn(migrator);
  ASSERT_TRUE(common::ApplyMigrations(conn, before).ok());
  {
    pqxx::work tx(conn);
    tx.exec(
        "INSERT INTO alerts (patient_id, rule_id, priority, state, summary, condition_started_at, peak_value,"
        " ucum_unit, duration_s) VALUES"
        " ('p', 'open', 3, 1, 's', '2026-01-01T00:00:00Z', 130, '/min', 90),"
        " ('p', 'acked', 3, 2, 's', '2026-01-01T00:00:00Z', 130, '/min', 90),"
        " ('p', 'escalated', 3, 3, 's', '2026-01-01T00:00:00Z', 130, '/min', 90),"
        " ('p', 'resolved', 2, 4, 's', '2026-01-01T00:00:00Z', 130, '/min', 90)");
    tx.commit();
  }
  auto report = common::ApplyMigrations(conn, common::BuiltInMigrations());
  ASSERT_TRUE(report.ok()) << report.status();
  pqxx::nontransaction tx(conn);
  auto rows = tx.exec(
      "SELECT rule_id, phase, state, latched, ended_at = '2026-01-01T00:01:30Z', resolved_at IS NOT NULL FROM alerts"
      " ORDER BY rule_id");
  ASSERT_EQ(rows.size(), 4u);
  struct Want {
    std::string rule;
    int phase, state;
    bool latched, resolved;
  };
  const std::vector<Want> want = {{"acked", 3, 4, false, true},
                                  {"escalated", 2, 5, true, false},
                                  {"open", 2, 5, true, false},
                                  {"resolved", 3, 4, false, true}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].rule);
    EXPECT_EQ(rows[i][0].as<std::string>(), want[i].rule);
    EXPECT_EQ(rows[i][1].as<int>(), want[i].phase);
    EXPECT_EQ(rows[i][2].as<int>(), want[i].state);
    EXPECT_EQ(rows[i][3].as<bool>(), want[i].latched);
    EXPECT_TRUE(rows[i][4].as<bool>());
    EXPECT_EQ(rows[i][5].as<bool>(), want[i].resolved);
  }
}

}  // namespace
}  // namespace healthtwin::alerts::lifecycle
