// The incremental evaluator's windows without a database: order and de-duplication of rows,
// trimming to the cold load's range, re-translation of flags when contact-lost periods change,
// and least-recently-used eviction under the row cap.
#include "services/alerts/patient_windows.h"

#include <gtest/gtest.h>

namespace healthtwin::alerts {
namespace {

CachedRow Row(int type, int64_t t_us, int64_t seq, double value = 70, const std::string& device = "strap") {
  return {.point = {.vital_type = type, .value = value, .measured_us = t_us, .flags = 0, .device_id = device},
          .ingest_seq = seq,
          .stored_flags = 0};
}

std::vector<int64_t> Times(const PatientWindow& w) {
  std::vector<int64_t> out;
  for (const rules::VitalPoint& v : w.Merged()) out.push_back(v.measured_us);
  return out;
}

TEST(PatientWindowTest, ALateRowIsInsertedInOrderAndARereadRowOnce) {
  PatientWindow w;
  EXPECT_TRUE(w.Add(Row(rules::kHeartRate, 10, 1)));
  EXPECT_TRUE(w.Add(Row(rules::kHeartRate, 30, 2)));
  EXPECT_TRUE(w.Add(Row(rules::kSystolicBp, 20, 3, 130, "cuff")));
  EXPECT_TRUE(w.Add(Row(rules::kHeartRate, 20, 4)));   // late: measured before the newest
  EXPECT_FALSE(w.Add(Row(rules::kHeartRate, 30, 2)));  // re-read behind a gap
  EXPECT_EQ(Times(w), (std::vector<int64_t>{10, 20, 20, 30}));
  // Ties by ingest_seq: the cuff's row (seq 3) before the strap's (seq 4).
  EXPECT_EQ(w.Merged()[1].vital_type, rules::kSystolicBp);
  EXPECT_EQ(w.rows(), 4u);
}

TEST(PatientWindowTest, TrimDropsRowsBeforeEachSeriesStartOnlyForward) {
  PatientWindow w;
  w.Add(Row(rules::kSystolicBp, 5, 1, 130, "cuff"));
  for (int i = 0; i < 5; ++i) w.Add(Row(rules::kPulseRate, 10 * (i + 1), 10 + i));
  w.TrimTo(/*sparse_from_us=*/0, /*hr_from_us=*/30);
  EXPECT_EQ(Times(w), (std::vector<int64_t>{5, 30, 40, 50}));
  EXPECT_TRUE(w.Covers(0, 30));
  EXPECT_FALSE(w.Covers(0, 29));
  w.TrimTo(0, 20);  // backwards: nothing to gain, the starts stay
  EXPECT_EQ(w.hr_from_us, 30);
  w.TrimTo(6, 30);
  EXPECT_EQ(Times(w), (std::vector<int64_t>{30, 40, 50}));
}

TEST(PatientWindowTest, NewContactLostPeriodsTranslateTheKeptRowsAgain) {
  PatientWindow w;
  w.Add(Row(rules::kHeartRate, 10, 1));
  w.Add(Row(rules::kHeartRate, 20, 2));
  EXPECT_FALSE(w.SetLost({}));
  EXPECT_TRUE(w.SetLost({{"strap", {{15, 100}}}}));
  EXPECT_EQ(w.Merged()[0].flags, 0u);
  EXPECT_EQ(w.Merged()[1].flags, rules::kFlagSensorContactLost);
  EXPECT_TRUE(w.SetLost({}));
  EXPECT_EQ(w.Merged()[1].flags, 0u);
}

TEST(PatientWindowsTest, EvictionKeepsTheRecentlyUsedUnderTheCap) {
  PatientWindows windows(/*max_rows=*/5);
  auto window_of = [](int rows) {
    PatientWindow w;
    for (int i = 0; i < rows; ++i) w.Add(Row(rules::kHeartRate, i, i));
    return w;
  };
  windows.Put("a", window_of(2));
  windows.NextRound();
  windows.Put("b", window_of(2));
  windows.NextRound();
  windows.Put("c", window_of(2));
  ASSERT_NE(windows.Find("a"), nullptr);  // "a" used again: "b" is now the least recent
  EXPECT_EQ(windows.EvictToCap(), 1);
  EXPECT_EQ(windows.Find("b"), nullptr);
  EXPECT_NE(windows.Find("a"), nullptr);
  EXPECT_NE(windows.Find("c"), nullptr);
  EXPECT_EQ(windows.rows(), 4u);
  PatientWindows none(0);
  none.Put("a", window_of(1));
  EXPECT_EQ(none.EvictToCap(), 1);
  EXPECT_EQ(none.patients(), 0u);
}

}  // namespace
}  // namespace healthtwin::alerts
