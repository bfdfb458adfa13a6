#include "tests/chaos/oracle.h"

#include <gtest/gtest.h>

#include "services/alerts/evaluation_plan.h"
#include "services/alerts/rules/test_catalogue.h"

namespace healthtwin::chaos {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kLatency = 5 * kS;
constexpr int64_t kSlack = 50'000;

TEST(JudgeHeartRatesTest, EveryEmissionStoredOnceIsOk) {
  const std::vector<HrEmission> sent = {{"A", 1 * kS, 70}, {"A", 2 * kS, 71}, {"B", 1 * kS, 70}};
  const std::vector<StoredHr> stored = {{"A", 1 * kS + 3000, 70}, {"A", 2 * kS + 2000, 71}, {"B", 1 * kS + 100, 70}};
  const HrVerdict v = JudgeHeartRates(sent, stored, {}, kLatency, kSlack);
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.matched, 3);
}

TEST(JudgeHeartRatesTest, ADuplicateIsUnexplained) {
  const std::vector<HrEmission> sent = {{"A", 1 * kS, 70}, {"A", 2 * kS, 71}};
  const std::vector<StoredHr> stored = {{"A", 1 * kS + 10, 70}, {"A", 1 * kS + 20, 70}, {"A", 2 * kS + 10, 71}};
  const HrVerdict v = JudgeHeartRates(sent, stored, {}, kLatency, kSlack);
  ASSERT_EQ(v.unexplained.size(), 1u);
  EXPECT_EQ(v.unexplained[0].measured_at_us, 1 * kS + 20);
}

TEST(JudgeHeartRatesTest, ALossOutsideABlindWindowIsReportedInsideItIsAllowed) {
  const std::vector<HrEmission> sent = {{"A", 1 * kS, 70}, {"A", 2 * kS, 71}, {"A", 3 * kS, 72}};
  const std::vector<StoredHr> stored = {{"A", 1 * kS + 10, 70}};
  const HrVerdict v = JudgeHeartRates(sent, stored, {{"A", 2 * kS - 1, 2 * kS + 1}}, kLatency, kSlack);
  EXPECT_EQ(v.missed_blind, 1);
  ASSERT_EQ(v.missed.size(), 1u);
  EXPECT_EQ(v.missed[0].emitted_at_us, 3 * kS);
}

TEST(JudgeHeartRatesTest, ABlindWindowOfAnotherDeviceExcusesNothing) {
  const HrVerdict v = JudgeHeartRates({{"A", 2 * kS, 71}}, {}, {{"B", 1 * kS, 3 * kS}}, kLatency, kSlack);
  EXPECT_EQ(v.missed.size(), 1u);
}

TEST(JudgeHeartRatesTest, AStampLaterThanTheLatencyBoundMatchesNothing) {
  const HrVerdict v = JudgeHeartRates({{"A", 1 * kS, 70}}, {{"A", 1 * kS + kLatency + 1, 70}}, {}, kLatency, kSlack);
  EXPECT_EQ(v.missed.size(), 1u);
  EXPECT_EQ(v.unexplained.size(), 1u);
}

TEST(JudgeHeartRatesTest, AStampBeforeTheEmissionBeyondTheSlackMatchesNothing) {
  const HrVerdict v = JudgeHeartRates({{"A", 1 * kS, 70}}, {{"A", 1 * kS - kSlack - 1, 70}}, {}, kLatency, kSlack);
  EXPECT_FALSE(v.ok());
}

TEST(JudgeHeartRatesTest, AnotherValueIsUnexplained) {
  const HrVerdict v = JudgeHeartRates({{"A", 1 * kS, 70}}, {{"A", 1 * kS + 10, 77}}, {}, kLatency, kSlack);
  EXPECT_EQ(v.unexplained.size(), 1u);
  EXPECT_EQ(v.missed.size(), 1u);
}

TEST(JudgeRecordsTest, ExactlyOnceWithTheSameValueIsOk) {
  const std::vector<Record> sent = {{"M", 1, 97}, {"M", 2, 104}};
  EXPECT_TRUE(JudgeRecords(sent, {{"M", 2, 104}, {"M", 1, 97}}).ok());
}

TEST(JudgeRecordsTest, MissingDuplicatedAndUnexpectedAreEachReported) {
  const std::vector<Record> sent = {{"M", 1, 97}, {"M", 2, 104}, {"M", 3, 111}};
  const RecordVerdict v = JudgeRecords(sent, {{"M", 1, 97}, {"M", 1, 97}, {"M", 2, 105}, {"M", 9, 90}});
  ASSERT_EQ(v.duplicated.size(), 1u);
  EXPECT_EQ(v.duplicated[0].record_seq, 1);
  EXPECT_EQ(v.unexpected.size(), 2u);  // #2 with another value, #9 never sent
  ASSERT_EQ(v.missing.size(), 2u);     // #2 (its only copy is wrong) and #3
  EXPECT_EQ(v.missing[0].record_seq, 2);
  EXPECT_EQ(v.missing[1].record_seq, 3);
}

// The chaos run's catalogue: the shipped one with hr_high over 60 s, cleared after 30 s.
const alerts::rules::RuleEngine& Engine() {
  static const alerts::rules::RuleEngine* engine = [] {
    auto toml = alerts::rules::ShortHrHighToml(HT_ALERT_RULES_TOML, 60, 30);
    if (!toml.ok()) std::abort();
    auto e = alerts::rules::RuleEngine::FromToml(*toml, "chaos_alert_rules.toml");
    if (!e.ok()) std::abort();
    return new alerts::rules::RuleEngine(*std::move(e));
  }();
  return *engine;
}

// 1 Hz heart rates of one strap from second `from_s` to `to_s` inclusive.
void Points(std::vector<alerts::rules::VitalPoint>& out, int64_t from_s, int64_t to_s, double bpm) {
  for (int64_t t = from_s; t <= to_s; ++t) out.push_back({alerts::rules::kHeartRate, bpm, t * kS, 0, "strap"});
}

std::vector<ExpectedAlert> Expected(const std::vector<alerts::rules::VitalPoint>& v) {
  alerts::rules::PatientInputs in;
  in.patient_id = "pat-0001";
  in.vitals = v;
  std::vector<alerts::SampleTime> times;
  for (const auto& p : v) times.push_back({p.vital_type, p.measured_us});
  return ExpectedAlerts(Engine(), in, alerts::EvaluationInstants(times, 0), 600 * kS);
}

TEST(ExpectedAlertsTest, OneSustainedRunIsOneHrHighAlertFromItsStart) {
  std::vector<alerts::rules::VitalPoint> v;
  Points(v, 0, 30, 70);
  Points(v, 31, 120, 135);
  EXPECT_EQ(Expected(v), (std::vector<ExpectedAlert>{{"hr_high", 31 * kS}}));
}

// The second run starts 60 s after the first ended (reopens its alert); the third, 700 s after
// the second ended, is a new one.
TEST(ExpectedAlertsTest, ARunWithinTheReopenWindowOfTheLastEndReopensOneAfterItIsNew) {
  std::vector<alerts::rules::VitalPoint> v;
  Points(v, 0, 9, 70);  // (a start at data time 0 would read as "no episode")
  Points(v, 10, 90, 135);
  Points(v, 91, 150, 70);
  Points(v, 151, 250, 135);
  Points(v, 251, 950, 70);
  Points(v, 951, 1050, 135);
  Points(v, 1051, 1100, 70);
  EXPECT_EQ(Expected(v), (std::vector<ExpectedAlert>{{"hr_high", 10 * kS}, {"hr_high", 951 * kS}}));
}

TEST(ExpectedAlertsTest, AShortBurstRaisesNothing) {
  std::vector<alerts::rules::VitalPoint> v;
  Points(v, 1, 40, 135);
  Points(v, 41, 100, 70);
  EXPECT_TRUE(Expected(v).empty());
}

// Samples the strap flagged contact-lost are not evidence (the evaluator translates the stored
// status into this flag); the same samples unflagged raise.
TEST(ExpectedAlertsTest, ContactLostSamplesRaiseNothing) {
  std::vector<alerts::rules::VitalPoint> v;
  Points(v, 1, 200, 135);
  EXPECT_EQ(Expected(v).size(), 1u);
  for (auto& p : v) p.flags = alerts::rules::kFlagSensorContactLost;
  EXPECT_TRUE(Expected(v).empty());
}

}  // namespace
}  // namespace healthtwin::chaos
