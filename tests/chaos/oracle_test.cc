#include "tests/chaos/oracle.h"

#include <gtest/gtest.h>

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

std::vector<HrPointUs> Points(int64_t from_s, int64_t to_s, double bpm) {
  std::vector<HrPointUs> out;
  for (int64_t t = from_s; t <= to_s; ++t) out.push_back({t * kS, bpm});
  return out;
}

TEST(ExpectedTachycardiaStartsTest, OneSustainedRunIsOneAlert) {
  auto pts = Points(0, 30, 70);
  auto high = Points(31, 120, 130);
  pts.insert(pts.end(), high.begin(), high.end());
  EXPECT_EQ(ExpectedTachycardiaStarts(pts, 120, 60, 30, 600 * kS), std::vector<int64_t>{31 * kS});
}

// The window runs from the end of the alert's newest run: the second run reopens the first
// alert, and the third, 651 s after the second ended, is a new one.
TEST(ExpectedTachycardiaStartsTest, ARunWithinTheDedupWindowOfTheLastEndReopensOneAfterItIsNew) {
  auto pts = Points(0, 90, 130);
  for (const std::vector<HrPointUs>& part :
       {Points(91, 200, 70), Points(201, 300, 130), Points(301, 950, 70), Points(951, 1050, 130)}) {
    pts.insert(pts.end(), part.begin(), part.end());
  }
  EXPECT_EQ(ExpectedTachycardiaStarts(pts, 120, 60, 30, 600 * kS), (std::vector<int64_t>{0, 951 * kS}));
}

TEST(ExpectedTachycardiaStartsTest, AShortBurstRaisesNothing) {
  EXPECT_TRUE(ExpectedTachycardiaStarts(Points(0, 40, 130), 120, 60, 30, 600 * kS).empty());
}

}  // namespace
}  // namespace healthtwin::chaos
