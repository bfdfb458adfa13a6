// The stored records a simulated cuff and scale hold when the bridge first connects: 30 days of
// home readings, which the bridge fetches through their Record Access Control Point (2A52) and
// from which the demo's twins calibrate.
//
// Schedule, as home blood-pressure monitoring is recommended and studied (readings every morning
// and every evening for weeks; the Ohasama home-BP survey measured once each morning and evening
// for 4 weeks): a cuff reading each morning between 07:00 and 07:45 and each evening between
// 21:00 and 22:00 local time, and a weighing each morning (before the BP reading) on each of the
// `days` days before today.
//
// Levels and variation (all readings drawn from a seeded generator, so a demo is reproducible):
//   - Blood pressure: the wearer's own level, plus a day effect shared by the day's readings and a
//     reading effect. Day-to-day within-person SD of home BP is about 8.6 mmHg systolic and
//     5.8 mmHg diastolic (mean within-individual SD of morning home BP in 1,215 Ohasama residents,
//     mean age 62: Kato T, Kikuya M, Ohkubo T et al., "Factors associated with day-by-day
//     variability of self-measured blood pressure at home: the Ohasama study", Am J Hypertens
//     2010;23:980-986). Here day SD 6 / reading SD 5 mmHg systolic (total 7.8) and 4 / 4 mmHg
//     diastolic (total 5.7); morning readings 2 mmHg above the level, evening ones 2 below.
//     Deviations are clamped to +-20 / +-12 mmHg so that a simulated history never crosses an
//     alert threshold (sbp_high 180, sbp_low 90, a 40 mmHg drop) by chance.
//   - Weight: the wearer's level plus a daily fluctuation with SD 0.3 kg, clamped to +-0.8 kg
//     (normal day-to-day changes are mostly under 0.5 kg: in a study of young adults weighed
//     daily, 32 % of day-to-day changes were 0.5 kg or more and 6 % 1 kg or more, as summarised
//     at https://www.droracle.ai/articles/620996/what-is-a-normal-weight-fluctuation-in-a-day;
//     the primary study was not checked here). The clamp keeps any 3-day rise under
//     hf_weight_gain's 2 kg.
//   - No pulse rate in the stored readings: the cuff's pulse would count as heart rate for the
//     alert rules, and pat-0002's simulated tachycardia starts today.
#pragma once

#include <cstdint>
#include <ctime>
#include <vector>

namespace healthtwin::ble::simulated {

struct StoredBloodPressure {
  std::time_t taken_at;
  double systolic_mmhg, diastolic_mmhg;
};

struct StoredWeight {
  std::time_t taken_at;
  double kg;
};

struct History {
  std::vector<StoredBloodPressure> blood_pressure;  // oldest first
  std::vector<StoredWeight> weight;                 // oldest first
};

// The wearer's `days` days before the local day of `now` (all readings before that day's
// midnight, so never in the future). Deterministic for a given seed.
History MakeHistory(double systolic_mmhg, double diastolic_mmhg, double weight_kg, std::time_t now, int days,
                    uint64_t seed);

}  // namespace healthtwin::ble::simulated
