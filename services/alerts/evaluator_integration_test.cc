// The alerts evaluator against a real PostgreSQL: which rows raise an alert, and that one
// round over rows that became visible together (after an outage of the alerts service, of
// PostgreSQL, or of the uplink) finds what a round per row would have found.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "services/alerts/evaluator.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"

namespace healthtwin::alerts {
namespace {

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
    tx.commit();
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
    return tx.exec("SELECT count(*) FROM alerts WHERE rule_id = 'hr_high_sustained'")[0][0].as<int64_t>();
  }

  std::string conninfo_;
};

std::vector<int> Seconds(int n, int bpm) { return std::vector<int>(static_cast<size_t>(n), bpm); }

std::vector<int> Concat(std::initializer_list<std::vector<int>> parts) {
  std::vector<int> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST_F(EvaluatorTest, AnEpisodeInProgressRaisesOneAlert) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, HrRuleConfig{});
  InsertHeartRates(600, Concat({Seconds(30, 70), Seconds(90, 135)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 1);
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 1);
}

// The whole episode and the normal readings after it arrive in one round: the episode ended
// before the newest row, and must still be found.
TEST_F(EvaluatorTest, AnEpisodeThatEndedBeforeTheNewestRowOfTheRoundRaisesOneAlert) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, HrRuleConfig{});
  InsertHeartRates(600, Concat({Seconds(30, 70), Seconds(90, 135), Seconds(60, 72)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 1);
}

// An episode that ended in an earlier round and an episode in this one, more than the
// deduplication window apart: two alerts.
TEST_F(EvaluatorTest, TwoEpisodesInOneRoundFarApartRaiseTwoAlerts) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, HrRuleConfig{});
  InsertHeartRates(1800, Concat({Seconds(90, 135), Seconds(700, 72), Seconds(90, 140), Seconds(30, 72)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 2);
}

TEST_F(EvaluatorTest, AShortBurstRaisesNothing) {
  common::PgPool pool(conninfo_, 2);
  Evaluator evaluator(pool, conninfo_, HrRuleConfig{});
  InsertHeartRates(600, Concat({Seconds(30, 70), Seconds(40, 135), Seconds(30, 70)}));
  ASSERT_TRUE(evaluator.RunOnce().ok());
  EXPECT_EQ(Alerts(), 0);
}

}  // namespace
}  // namespace healthtwin::alerts
