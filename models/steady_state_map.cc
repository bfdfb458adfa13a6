#include "models/steady_state_map.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

namespace healthtwin::models {
namespace {

// Reflex lags are at most 20 s after a 5 s delay. The slowest (venous tone) keeps 6 % of its
// start-up transient at 60 s, up to ~0.5 mmHg SBP in hypertensive patients; FitToTargets
// (patient.cc) settles 120 s for its 0.5 mmHg promise, the map keeps 60 s for its build cost.
constexpr double kSettleS = 60.0;
constexpr double kAverageS = 8.0;

// Output slots; CVP and PCWP sit near zero, so their modifier corrections are differences.
enum Slot { kMap, kSbp, kDbp, kHr, kCo, kSv, kEf, kCvp, kPcwp };
constexpr bool kAdditive[] = {false, false, false, false, false, false, false, true, true};

std::array<double, 9> ToOutputs(const Haemodynamics& h) {
  return {h.map_mmhg, h.sbp_mmhg, h.dbp_mmhg, h.heart_rate_bpm, h.cardiac_output_l_per_min,
          h.stroke_volume_ml, h.ejection_fraction, h.cvp_mmhg, h.pcwp_mmhg};
}

// Cell index and fraction on a sorted axis; the fraction leaves [0, 1] outside the axis.
struct Cell {
  std::size_t i;
  double t;
  bool outside;
};
Cell Locate(std::span<const double> axis, double x) {
  std::size_t i = 0;
  while (i + 2 < axis.size() && x > axis[i + 1]) ++i;
  const double t = (x - axis[i]) / (axis[i + 1] - axis[i]);
  return {i, t, x < axis.front() || x > axis.back()};
}

}  // namespace

absl::StatusOr<Haemodynamics> EngineSteadyState(const ModelParams& params, double blood_volume_ml,
                                                double set_point_mmhg, const EffectorModifiers& modifiers) {
  ModelParams p = params;
  p.circulation.total_blood_volume_ml = blood_volume_ml;
  p.baroreflex.set_point_mmhg = set_point_mmhg;
  // The long-horizon layer owns the slow resetting; here the set point is an input.
  p.baroreflex.resetting_half_time_s = std::numeric_limits<double>::infinity();
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(p);
  if (!e.ok()) return e.status();
  e->SetModifiers(modifiers);
  const BeatSummary b = SettleAndAverage(*e, kSettleS, kAverageS);
  Haemodynamics h;
  h.map_mmhg = b.map_mmhg;
  h.sbp_mmhg = b.sbp_mmhg;
  h.dbp_mmhg = b.dbp_mmhg;
  h.heart_rate_bpm = b.heart_rate_bpm;
  h.cardiac_output_l_per_min = b.cardiac_output_l_per_min;
  h.stroke_volume_ml = b.stroke_volume_ml;
  h.ejection_fraction = b.ejection_fraction;
  h.cvp_mmhg = b.cvp_mmhg;
  h.pcwp_mmhg = b.pcwp_mmhg;
  return h;
}

absl::StatusOr<SteadyStateMap> SteadyStateMap::Build(const ModelParams& params) {
  SteadyStateMap m;
  m.nominal_blood_volume_ml_ = params.circulation.total_blood_volume_ml;
  m.nominal_set_point_mmhg_ = params.baroreflex.set_point_mmhg;
  auto run = [&](double volume_factor, double offset_mmhg,
                 const EffectorModifiers& mods) -> absl::StatusOr<Outputs> {
    absl::StatusOr<Haemodynamics> h = EngineSteadyState(params, volume_factor * m.nominal_blood_volume_ml_,
                                                        m.nominal_set_point_mmhg_ + offset_mmhg, mods);
    if (!h.ok()) return h.status();
    return ToOutputs(*h);
  };
  for (double v : kVolumeFactors) {
    for (double o : kSetPointOffsetsMmhg) {
      absl::StatusOr<Outputs> out = run(v, o, {});
      if (!out.ok()) return out.status();
      m.grid_.push_back(*out);
    }
  }
  const Outputs neutral = m.grid_[2 * kSetPointOffsetsMmhg.size() + 2];  // factor 1.0, offset 0
  auto table = [&](std::span<const double> factors, double EffectorModifiers::*field,
                   std::array<Outputs, 4>& into) -> absl::Status {
    for (std::size_t k = 0; k < factors.size(); ++k) {
      Outputs out = neutral;
      if (factors[k] != 1.0) {
        EffectorModifiers mods;
        mods.*field = factors[k];
        absl::StatusOr<Outputs> r = run(1.0, 0.0, mods);
        if (!r.ok()) return r.status();
        out = *r;
      }
      for (int s = 0; s < kOutputs; ++s) {
        into[k][s] = kAdditive[s] ? out[s] - neutral[s] : out[s] / neutral[s];
      }
    }
    return absl::OkStatus();
  };
  if (absl::Status s = table(kHeartRateFactors, &EffectorModifiers::heart_rate_factor, m.heart_rate_); !s.ok()) {
    return s;
  }
  if (absl::Status s = table(kContractilityFactors, &EffectorModifiers::contractility_factor, m.contractility_);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = table(kResistanceFactors, &EffectorModifiers::systemic_resistance_factor, m.resistance_);
      !s.ok()) {
    return s;
  }
  return m;
}

Haemodynamics SteadyStateMap::At(double blood_volume_ml, double set_point_mmhg,
                                 const EffectorModifiers& modifiers) const {
  // Raising venous unstressed volume by d takes d out of the stressed volume.
  const double stressed_equivalent_ml = blood_volume_ml - modifiers.venous_unstressed_delta_ml;
  const Cell cv = Locate(kVolumeFactors, stressed_equivalent_ml / nominal_blood_volume_ml_);
  const Cell cp = Locate(kSetPointOffsetsMmhg, set_point_mmhg - nominal_set_point_mmhg_);
  const std::size_t n = kSetPointOffsetsMmhg.size();
  const Outputs& a = grid_[cv.i * n + cp.i];
  const Outputs& b = grid_[cv.i * n + cp.i + 1];
  const Outputs& c = grid_[(cv.i + 1) * n + cp.i];
  const Outputs& d = grid_[(cv.i + 1) * n + cp.i + 1];
  Outputs out;
  for (int s = 0; s < kOutputs; ++s) {
    const double lo = a[s] + cp.t * (b[s] - a[s]);
    const double hi = c[s] + cp.t * (d[s] - c[s]);
    out[s] = lo + cv.t * (hi - lo);
  }
  bool outside = cv.outside || cp.outside;
  auto correct = [&](std::span<const double> factors, const std::array<Outputs, 4>& table, double x) {
    const Cell c1 = Locate(factors, x);
    outside |= c1.outside;
    for (int s = 0; s < kOutputs; ++s) {
      const double v = table[c1.i][s] + c1.t * (table[c1.i + 1][s] - table[c1.i][s]);
      out[s] = kAdditive[s] ? out[s] + v : out[s] * v;
    }
  };
  correct(kHeartRateFactors, heart_rate_, modifiers.heart_rate_factor);
  correct(kContractilityFactors, contractility_, modifiers.contractility_factor);
  correct(kResistanceFactors, resistance_, modifiers.systemic_resistance_factor);
  Haemodynamics h;
  h.map_mmhg = out[kMap];
  h.sbp_mmhg = out[kSbp];
  h.dbp_mmhg = out[kDbp];
  h.heart_rate_bpm = out[kHr];
  h.cardiac_output_l_per_min = out[kCo];
  h.stroke_volume_ml = out[kSv];
  h.ejection_fraction = out[kEf];
  h.cvp_mmhg = out[kCvp];
  h.pcwp_mmhg = out[kPcwp];
  h.extrapolated = outside;
  return h;
}

}  // namespace healthtwin::models
