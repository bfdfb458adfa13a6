#include "services/alerts/bench/burden.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace healthtwin::alerts::bench {
namespace {

constexpr int64_t kMinUs = 60'000'000;
constexpr int64_t kDayUs = 24 * 60 * kMinUs;
constexpr int64_t kSameEpisodeUs = 30 * kMinUs;  // the brief's minimal lifecycle

struct OpenState {
  bool open = false;
  int64_t closed_at = -1;
};

// A technical alert is true when the simulated device state really is faulty at that time:
// the simulation's status is the truth, so it checks that the rule read it correctly.
bool TechnicalTruth(const SimPatient& p, const rules::RuleSpec& spec, int64_t t) {
  for (const rules::DeviceStatus& s : DeviceStatusAt(p, t)) {
    switch (spec.kind) {
      case rules::RuleKind::kBatteryLow:
        if (s.battery_percent >= 0 && s.battery_percent <= spec.level) return true;
        break;
      case rules::RuleKind::kContactLost:
        if (s.contact_lost_since_us) return true;
        break;
      case rules::RuleKind::kDeviceSilent:
        for (const DeviceTimeline& d : p.devices) {
          if (d.device_id != s.device_id) continue;
          for (const auto& [a, b] : d.off_wrist) {
            if (t >= a && t <= b + 5 * kMinUs) return true;
          }
        }
        break;
      default:
        break;
    }
  }
  return false;
}

}  // namespace

BurdenResult RunBurden(const SimConfig& cfg, const rules::RuleEngine& engine, int every_min) {
  // 2026-01-05 00:00 UTC: a fixed origin, so results never depend on the wall clock.
  const int64_t t0 = 1'767'571'200LL * 1'000'000;
  const int64_t counted = t0 + cfg.warmup_days * kDayUs;
  const int64_t end = counted + cfg.days * kDayUs;
  BurdenResult r;
  r.patients = cfg.patients;
  r.days = cfg.days;
  std::map<std::string, std::vector<double>> delays;
  const std::vector<rules::GatewayStatus> no_gateways;

  for (int i = 0; i < cfg.patients; ++i) {
    const SimPatient p = SimulatePatient(cfg, i, t0);
    r.motion_spikes += p.motion_spikes;
    r.error_frames += p.error_frames;
    r.contact_lost_samples += p.contact_lost_samples;
    std::map<std::string, OpenState> state;
    std::vector<int64_t> first_alert(p.episodes.size(), -1);
    for (int64_t now = counted; now < end; now += every_min * kMinUs) {
      const auto devices = DeviceStatusAt(p, now);
      rules::PatientInputs in;
      in.patient_id = p.id;
      in.vitals = p.vitals;
      in.devices = devices;
      for (const Observation& o : engine.Evaluate(in, now)) {
        OpenState& s = state[o.rule_id];
        if (!o.active) {
          if (s.open) s.open = false, s.closed_at = now;
          continue;
        }
        if (s.open) continue;
        s.open = true;
        if (s.closed_at >= 0 && now - s.closed_at <= kSameEpisodeUs) continue;  // same episode
        ++r.alerts_by_rule[o.rule_id];
        if (o.category == AlarmCategory::kTechnical) {
          ++r.technical_alerts;
          if (TechnicalTruth(p, *engine.catalogue().Find(o.rule_id), now))
            ++r.technical_true;
          else
            ++r.false_alerts_by_rule[o.rule_id];
          continue;
        }
        ++r.physiological_alerts;
        bool belongs = false;
        for (size_t k = 0; k < p.episodes.size(); ++k) {
          const Episode& e = p.episodes[k];
          if (now >= e.start_us && now <= e.end_us + kAttributionGraceUs) {
            belongs = true;
            if (first_alert[k] < 0) first_alert[k] = now;
          }
        }
        if (belongs)
          ++r.physiological_true;
        else
          ++r.false_alerts_by_rule[o.rule_id];
      }
    }
    for (size_t k = 0; k < p.episodes.size(); ++k) {
      const std::string type = EpisodeName(p.episodes[k].type);
      ++r.episodes;
      ++r.episodes_by_type[type];
      if (first_alert[k] < 0) {
        const Episode& e = p.episodes[k];
        std::string line =
            absl::StrFormat("%s %s day %.2f:", p.id, type, static_cast<double>(e.start_us - t0) / kDayUs);
        for (const rules::VitalPoint& v : p.vitals) {
          const bool relevant = (e.type == EpisodeType::kHypotension && v.vital_type == rules::kSystolicBp) ||
                                (e.type == EpisodeType::kHeartFailure && v.vital_type == rules::kBodyWeight);
          if (relevant && v.measured_us >= e.start_us - 2 * kDayUs && v.measured_us <= e.end_us)
            absl::StrAppend(&line,
                            absl::StrFormat(" %.1f@%.2f", v.value, static_cast<double>(v.measured_us - t0) / kDayUs));
        }
        r.missed.push_back(line);
      }
      if (first_alert[k] >= 0) {
        ++r.episodes_detected;
        ++r.detected_by_type[type];
        delays[type].push_back(static_cast<double>(first_alert[k] - p.episodes[k].start_us) / kMinUs);
      }
    }
  }
  for (auto& [type, d] : delays) {
    std::sort(d.begin(), d.end());
    r.median_delay_min_by_type[type] = d.size() % 2 ? d[d.size() / 2] : (d[d.size() / 2 - 1] + d[d.size() / 2]) / 2;
  }
  return r;
}

}  // namespace healthtwin::alerts::bench
