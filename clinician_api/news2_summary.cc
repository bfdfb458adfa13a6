#include "clinician_api/news2_summary.h"

#include <algorithm>

#include "models/scores/news2.h"
#include "services/common/vital_type.h"

namespace healthtwin::clinician {

std::optional<News2Summary> SummarizeNews2(const std::vector<LatestVital>& latest) {
  namespace sc = healthtwin::models::scores;
  using common::VitalType;
  sc::News2Observation obs;
  int64_t oldest = 0;
  bool any = false;
  // Heart rate and pulse rate are one chart row: the fresher one counts.
  const LatestVital* pulse = nullptr;
  const auto take = [&](std::optional<double>& slot, const LatestVital& v, int64_t fresh_s) {
    if (v.age_s > fresh_s) return;
    slot = v.value;
    oldest = std::max(oldest, v.age_s);
    any = true;
  };
  for (const LatestVital& v : latest) {
    switch (static_cast<VitalType>(v.type)) {
      case VitalType::kHeartRate:
      case VitalType::kPulseRate:
        if (pulse == nullptr || v.age_s < pulse->age_s) pulse = &v;
        break;
      case VitalType::kSpo2:
        take(obs.spo2_percent, v, kNews2FreshSpo2S);
        break;
      case VitalType::kSystolicBp:
        take(obs.systolic_mmhg, v, kNews2FreshSystolicS);
        break;
      case VitalType::kBodyTemperature:
        take(obs.temperature_c, v, kNews2FreshTemperatureS);
        break;
      case VitalType::kRespiratoryRate:
        take(obs.respiratory_rate_per_min, v, kNews2FreshRespiratoryRateS);
        break;
      default:
        break;
    }
  }
  if (pulse != nullptr) take(obs.heart_rate_bpm, *pulse, kNews2FreshHeartRateS);
  if (!any) return std::nullopt;
  auto r = sc::ScoreNews2(obs, sc::Spo2Scale::kScale1);
  if (!r.ok()) return std::nullopt;
  News2Summary out;
  out.score = r->score;
  out.risk = std::string(sc::News2RiskName(r->risk));
  out.partial = r->partial || r->spo2_scored_as_on_air;
  for (auto m : r->missing) out.missing.emplace_back(sc::News2ParameterName(m));
  out.oldest_age_s = oldest;
  return out;
}

}  // namespace healthtwin::clinician
