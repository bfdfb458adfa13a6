#include "ble_bridge/simulated/history.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace healthtwin::ble::simulated {
namespace {

std::time_t LocalMidnight(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

int LocalDay(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm.tm_year * 400 + tm.tm_yday;
}

TEST(HistoryTest, TwoCuffReadingsAndOneWeighingOnEachOfTheDaysBeforeToday) {
  const std::time_t now = 1'796'656'900;  // 2026-12-07, mid-afternoon UTC
  const History h = MakeHistory(126, 80, 75, now, 30, 7);
  ASSERT_EQ(h.blood_pressure.size(), 60u);
  ASSERT_EQ(h.weight.size(), 30u);
  std::set<int> bp_days, weight_days;
  for (std::size_t i = 0; i < h.blood_pressure.size(); ++i) {
    const StoredBloodPressure& r = h.blood_pressure[i];
    EXPECT_LT(r.taken_at, LocalMidnight(now)) << "a stored reading is from before today";
    if (i > 0) {
      EXPECT_GT(r.taken_at, h.blood_pressure[i - 1].taken_at) << "oldest first";
    }
    EXPECT_LE(std::abs(r.systolic_mmhg - 126), 20.0);
    EXPECT_LE(std::abs(r.diastolic_mmhg - 80), 12.0);
    EXPECT_LE(r.diastolic_mmhg, r.systolic_mmhg - 25);
    bp_days.insert(LocalDay(r.taken_at));
  }
  for (const StoredWeight& w : h.weight) {
    EXPECT_LT(w.taken_at, LocalMidnight(now));
    EXPECT_LE(std::abs(w.kg - 75), 0.8);
    weight_days.insert(LocalDay(w.taken_at));
  }
  EXPECT_EQ(bp_days.size(), 30u);
  EXPECT_EQ(weight_days.size(), 30u);
}

TEST(HistoryTest, VariesFromDayToDayAsHomeReadingsDoAndIsReproducible) {
  const History h = MakeHistory(126, 80, 75, 1'796'656'900, 30, 11);
  double sum = 0, sum2 = 0;
  for (const StoredBloodPressure& r : h.blood_pressure) {
    sum += r.systolic_mmhg;
    sum2 += r.systolic_mmhg * r.systolic_mmhg;
  }
  const double n = static_cast<double>(h.blood_pressure.size());
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, 126, 4.0);
  // The within-person SD the generator aims at is 7.8 mmHg (history.h); 60 readings estimate it
  // to about +-1 mmHg, and the clamp trims the tails.
  EXPECT_GT(sd, 5.0);
  EXPECT_LT(sd, 10.0);
  const History again = MakeHistory(126, 80, 75, 1'796'656'900, 30, 11);
  ASSERT_EQ(again.blood_pressure.size(), h.blood_pressure.size());
  EXPECT_EQ(again.blood_pressure.front().systolic_mmhg, h.blood_pressure.front().systolic_mmhg);
  EXPECT_EQ(again.weight.back().kg, h.weight.back().kg);
}

}  // namespace
}  // namespace healthtwin::ble::simulated
