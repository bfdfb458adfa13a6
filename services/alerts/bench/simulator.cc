#include "services/alerts/bench/simulator.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace healthtwin::alerts::bench {
namespace {

using rules::VitalPoint;
constexpr int64_t kS = 1'000'000;
constexpr int64_t kMin = 60 * kS;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;
constexpr double kPi = 3.14159265358979323846;

// Linear ramp 0 -> 1 over [a, b], 1 until c, back to 0 over [c, d].
double Trapezoid(int64_t t, int64_t a, int64_t b, int64_t c, int64_t d) {
  if (t <= a || t >= d) return 0;
  if (t < b) return static_cast<double>(t - a) / static_cast<double>(b - a);
  if (t <= c) return 1;
  return static_cast<double>(d - t) / static_cast<double>(d - c);
}

struct Baseline {
  double hr_rest, sbp, spo2, temp, weight;
  std::vector<std::pair<int64_t, int64_t>> walks;  // [from, to)
  std::vector<double> walk_hr;
};

struct Physiology {
  double hr, sbp, spo2, temp, weight;
};

class Patient {
 public:
  Patient(const Baseline& b, const std::vector<Episode>& eps) : b_(b), eps_(eps) {}

  Physiology At(int64_t t) const {
    const double hour = static_cast<double>(t % kDay) / static_cast<double>(kHour);
    const double circ = -std::cos(2 * kPi * (hour - 4) / 24);  // lowest at 04:00, highest at 16:00
    Physiology p{b_.hr_rest + 6 * circ, b_.sbp + 8 * circ, b_.spo2, b_.temp + 0.25 * circ, b_.weight};
    for (size_t i = 0; i < b_.walks.size(); ++i) {
      const auto [from, to] = b_.walks[i];
      const double w = Trapezoid(t, from, from + 3 * kMin, to - 3 * kMin, to);
      p.hr += w * b_.walk_hr[i];
      p.sbp += w * 15;
    }
    for (const Episode& e : eps_) {
      switch (e.type) {
        case EpisodeType::kSepsis: {
          const double w = Trapezoid(t, e.start_us, e.start_us + 6 * kHour, e.end_us - 6 * kHour, e.end_us);
          p.hr += 40 * w, p.temp += 2.0 * w, p.sbp -= 30 * w, p.spo2 -= 3 * w;
          break;
        }
        case EpisodeType::kHeartFailure: {
          const double ramp = std::clamp(static_cast<double>(t - e.start_us) / (4.0 * kDay), 0.0, 1.0);
          p.weight += 2.5 * ramp, p.hr += 12 * ramp;
          break;
        }
        case EpisodeType::kDesaturation: {
          const double w = Trapezoid(t, e.start_us, e.start_us + 10 * kMin, e.end_us - 10 * kMin, e.end_us);
          p.spo2 -= 9 * w, p.hr += 10 * w;
          break;
        }
        case EpisodeType::kHypotension: {
          const double w = Trapezoid(t, e.start_us, e.start_us + kHour, e.end_us - kHour, e.end_us);
          p.sbp -= 45 * w, p.hr += 15 * w;
          break;
        }
      }
    }
    return p;
  }

 private:
  Baseline b_;
  std::vector<Episode> eps_;
};

bool Inside(const std::vector<std::pair<int64_t, int64_t>>& spans, int64_t t) {
  for (const auto& [a, b] : spans) {
    if (t >= a && t < b) return true;
  }
  return false;
}

}  // namespace

const char* EpisodeName(EpisodeType t) {
  switch (t) {
    case EpisodeType::kSepsis:
      return "sepsis";
    case EpisodeType::kHeartFailure:
      return "heart_failure";
    case EpisodeType::kDesaturation:
      return "desaturation";
    case EpisodeType::kHypotension:
      return "hypotension";
  }
  return "?";
}

SimPatient SimulatePatient(const SimConfig& cfg, int index, int64_t t0) {
  std::mt19937_64 rng(cfg.seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(index + 1)));
  std::normal_distribution<double> n01(0, 1);
  std::uniform_real_distribution<double> u01(0, 1);
  auto uni = [&](double a, double b) { return a + (b - a) * u01(rng); };
  auto at = [&](int day, double hour) { return t0 + day * kDay + static_cast<int64_t>(hour * kHour); };

  SimPatient p;
  p.id = "patient-" + std::to_string(index);
  const int total_days = cfg.warmup_days + cfg.days;
  Baseline b;
  b.hr_rest = std::clamp(68 + 7 * n01(rng), 50.0, 88.0);
  b.sbp = std::clamp(128 + 12 * n01(rng), 105.0, 165.0);
  b.spo2 = std::clamp(96.5 + 0.8 * n01(rng), 94.5, 98.5);
  b.temp = 36.7 + 0.2 * n01(rng);
  b.weight = 80 + 12 * n01(rng);
  for (int d = 0; d < total_days; ++d) {
    for (int w = 0; w < 2; ++w) {
      const int64_t from = at(d, uni(9, 19));
      b.walks.push_back({from, from + static_cast<int64_t>(uni(20, 40) * kMin)});
      b.walk_hr.push_back(uni(20, 40));
    }
  }

  // One ground-truth episode for four patients in five, in the counted days.
  const int64_t counted = t0 + cfg.warmup_days * kDay;
  switch (index % 5) {
    case 0: {
      const int64_t s = counted + static_cast<int64_t>(uni(0.5, cfg.days - 2.0) * kDay);
      p.episodes.push_back({EpisodeType::kSepsis, s, s + 30 * kHour});
      break;
    }
    case 1: {
      const int64_t s = counted + static_cast<int64_t>(uni(0, std::max(0.5, cfg.days - 5.0)) * kDay);
      p.episodes.push_back({EpisodeType::kHeartFailure, s, s + 5 * kDay});
      break;
    }
    case 2: {
      const int64_t s = counted + static_cast<int64_t>(std::floor(uni(0, cfg.days - 1.0))) * kDay +
                        static_cast<int64_t>(uni(0.5, 4) * kHour);  // overnight
      p.episodes.push_back({EpisodeType::kDesaturation, s, s + 2 * kHour});
      break;
    }
    case 3: {
      const int64_t s = counted + static_cast<int64_t>(uni(0.5, cfg.days - 1.5) * kDay);
      p.episodes.push_back({EpisodeType::kHypotension, s, s + 14 * kHour});
      break;
    }
    default:
      break;
  }
  const Patient phys(b, p.episodes);
  auto& v = p.vitals;

  // Watch: heart rate once a minute; 3 % of minutes lost; off the wrist 15-45 min a morning;
  // four motion spikes a day (unflagged: the watch does not know).
  DeviceTimeline watch{"watch-" + std::to_string(index), "watch", 60, 100, 0, {}, {}};
  for (int d = 0; d < total_days; ++d) {
    const int64_t off = at(d, uni(6.5, 8));
    watch.off_wrist.push_back({off, off + static_cast<int64_t>(uni(15, 45) * kMin)});
  }
  std::vector<int64_t> spikes;
  for (int d = 0; d < total_days; ++d) {
    for (int k = 0; k < 4; ++k) spikes.push_back(at(d, 0) + static_cast<int64_t>(uni(0, 1440)) * kMin);
  }
  for (int64_t t = t0; t < t0 + total_days * kDay; t += kMin) {
    if (u01(rng) < 0.03 || Inside(watch.off_wrist, t)) continue;
    double hr = phys.At(t).hr + 3 * n01(rng);
    if (std::find(spikes.begin(), spikes.end(), t) != spikes.end()) hr = uni(150, 220), ++p.motion_spikes;
    v.push_back({rules::kHeartRate, std::round(hr), t, 0, watch.device_id});
  }
  p.devices.push_back(watch);

  // Chest strap (three patients in ten): 1 Hz during the walks of the day; one session in two
  // has a minute of poor contact, flagged by the strap; its battery runs down and it dies.
  if (u01(rng) < 0.3) {
    DeviceTimeline strap{"strap-" + std::to_string(index), "hr_strap", 0, uni(40, 100), 12, {}, {}};
    for (const auto& [from, to] : b.walks) {
      const double battery = strap.battery_start - strap.battery_drain_per_day * static_cast<double>(from - t0) / kDay;
      if (battery <= 0) continue;
      int64_t lost = -1;
      if (u01(rng) < 0.5) {
        lost = from + static_cast<int64_t>(uni(2, 10) * kMin);
        strap.contact_lost.push_back({lost, lost + kMin});
      }
      for (int64_t t = from; t < to; t += kS) {
        if (lost >= 0 && t >= lost && t < lost + kMin) {
          v.push_back({rules::kHeartRate, std::round(uni(30, 250)), t, rules::kFlagSensorContactLost, strap.device_id});
          ++p.contact_lost_samples;
        } else {
          v.push_back({rules::kHeartRate, std::round(phys.At(t).hr + 2 * n01(rng)), t, 0, strap.device_id});
        }
      }
    }
    p.devices.push_back(strap);
  }

  // Oximeter: every 5 min from 23:00 to 07:00, spot checks at noon and 18:00; two motion
  // artefacts a night (one low reading each, unflagged).
  DeviceTimeline oxi{"oxi-" + std::to_string(index), "oximeter", 0, 100, 0, {}, {}};
  for (int d = 0; d < total_days; ++d) {
    std::vector<int64_t> times;
    for (int64_t t = at(d, -1); t < at(d, 7); t += 5 * kMin) {
      if (t >= t0) times.push_back(t);
    }
    const size_t night = times.size();
    times.push_back(at(d, 12) + static_cast<int64_t>(uni(-20, 20) * kMin));
    times.push_back(at(d, 18) + static_cast<int64_t>(uni(-20, 20) * kMin));
    std::vector<size_t> art = {static_cast<size_t>(uni(0, static_cast<double>(night))),
                               static_cast<size_t>(uni(0, static_cast<double>(night)))};
    for (size_t k = 0; k < times.size(); ++k) {
      double s = std::min(100.0, std::round(phys.At(times[k]).spo2 + 0.8 * n01(rng)));
      if (std::find(art.begin(), art.end(), k) != art.end()) s = std::round(uni(75, 85)), ++p.motion_spikes;
      v.push_back({rules::kSpo2, s, times[k], 0, oxi.device_id});
    }
  }
  p.devices.push_back(oxi);

  // Cuff: three readings a day; 5 % are error frames (flagged, absurd values).
  DeviceTimeline cuff{"cuff-" + std::to_string(index), "bp_cuff", 0, 100, 0, {}, {}};
  for (int d = 0; d < total_days; ++d) {
    for (double h : {8.0, 14.0, 20.0}) {
      const int64_t t = at(d, h) + static_cast<int64_t>(uni(-30, 30) * kMin);
      if (u01(rng) < 0.05) {
        v.push_back({rules::kSystolicBp, std::round(uni(40, 260)), t, rules::kFlagDeviceError, cuff.device_id});
        ++p.error_frames;
      } else {
        v.push_back({rules::kSystolicBp, std::round(phys.At(t).sbp + 6 * n01(rng)), t, 0, cuff.device_id});
      }
    }
  }
  p.devices.push_back(cuff);

  // Scale daily; thermometer twice a day.
  DeviceTimeline scale{"scale-" + std::to_string(index), "scale", 0, 100, 0, {}, {}};
  DeviceTimeline thermo{"thermo-" + std::to_string(index), "thermometer", 0, 100, 0, {}, {}};
  for (int d = 0; d < total_days; ++d) {
    const int64_t tw = at(d, 7.5) + static_cast<int64_t>(uni(-20, 20) * kMin);
    v.push_back(
        {rules::kBodyWeight, std::round((phys.At(tw).weight + 0.3 * n01(rng)) * 10) / 10, tw, 0, scale.device_id});
    for (double h : {8.0, 20.0}) {
      const int64_t t = at(d, h) + static_cast<int64_t>(uni(-30, 30) * kMin);
      v.push_back(
          {rules::kBodyTemperature, std::round((phys.At(t).temp + 0.15 * n01(rng)) * 10) / 10, t, 0, thermo.device_id});
    }
  }
  p.devices.push_back(scale);
  p.devices.push_back(thermo);

  std::stable_sort(v.begin(), v.end(),
                   [](const VitalPoint& a, const VitalPoint& c) { return a.measured_us < c.measured_us; });
  return p;
}

std::vector<rules::DeviceStatus> DeviceStatusAt(const SimPatient& p, int64_t now_us) {
  std::vector<rules::DeviceStatus> out;
  for (const DeviceTimeline& d : p.devices) {
    rules::DeviceStatus s;
    s.device_id = d.device_id;
    s.kind = d.kind;
    s.expected_interval_s = d.expected_interval_s;
    s.status_at_us = now_us;
    const int64_t t0 = p.vitals.empty() ? now_us : p.vitals.front().measured_us;
    s.battery_percent = static_cast<int>(
        std::max(0.0, d.battery_start - d.battery_drain_per_day * static_cast<double>(now_us - t0) / kDay));
    for (const auto& [a, b] : d.contact_lost) {
      if (now_us >= a && now_us < b) s.contact_lost_since_us = a;
    }
    out.push_back(s);
  }
  // Newest sample per device at or before now.
  auto end = std::upper_bound(p.vitals.begin(), p.vitals.end(), now_us,
                              [](int64_t t, const VitalPoint& v) { return t < v.measured_us; });
  for (auto it = std::make_reverse_iterator(end); it != p.vitals.rend(); ++it) {
    bool all = true;
    for (auto& s : out) {
      if (s.last_sample_us == 0 && s.device_id == it->device_id) s.last_sample_us = it->measured_us;
      all = all && s.last_sample_us != 0;
    }
    if (all || now_us - it->measured_us > 2 * kDay) break;
  }
  return out;
}

}  // namespace healthtwin::alerts::bench
