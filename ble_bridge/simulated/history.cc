#include "ble_bridge/simulated/history.h"

#include <algorithm>
#include <random>

namespace healthtwin::ble::simulated {
namespace {

// Local time `hour`:00 plus `offset_s` on the day `days_back` days before `now`'s local day.
std::time_t LocalAt(std::time_t now, int days_back, int hour, int offset_s) {
  std::tm tm{};
  localtime_r(&now, &tm);
  tm.tm_mday -= days_back;  // mktime normalises across months
  tm.tm_hour = hour;
  tm.tm_min = 0;
  tm.tm_sec = offset_s;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

}  // namespace

History MakeHistory(double systolic_mmhg, double diastolic_mmhg, double weight_kg, std::time_t now, int days,
                    uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> sbp_day(0, 6.0), sbp_reading(0, 5.0), dbp_day(0, 4.0), dbp_reading(0, 4.0),
      weight_day(0, 0.3);
  std::uniform_int_distribution<int> morning_offset(0, 45 * 60), evening_offset(0, 60 * 60);
  History h;
  for (int back = days; back >= 1; --back) {
    const double sbp_level = systolic_mmhg + sbp_day(rng), dbp_level = diastolic_mmhg + dbp_day(rng);
    const std::time_t morning = LocalAt(now, back, 7, morning_offset(rng));
    h.weight.push_back({morning - 120, weight_kg + std::clamp(weight_day(rng), -0.8, 0.8)});
    for (const auto& [at, shift] :
         {std::pair{morning, 2.0}, std::pair{LocalAt(now, back, 21, evening_offset(rng)), -2.0}}) {
      const double sbp = std::clamp(sbp_level + shift + sbp_reading(rng), systolic_mmhg - 20, systolic_mmhg + 20);
      const double dbp = std::clamp(dbp_level + shift / 2 + dbp_reading(rng), diastolic_mmhg - 12, diastolic_mmhg + 12);
      h.blood_pressure.push_back({at, sbp, std::min(dbp, sbp - 25)});
    }
  }
  return h;
}

}  // namespace healthtwin::ble::simulated
