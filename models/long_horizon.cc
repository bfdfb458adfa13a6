#include "models/long_horizon.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::models {
namespace {

constexpr double kHoursPerDay = 24.0;

// State layout; time in days, volumes in L, sodium in mmol.
enum Index : std::size_t {
  kNa, kTbw, kDrive, kSetPoint, kCumNaIn, kCumNaOut, kCumFluidIn, kCumUrine, kCumNonrenal, kCount
};

// Constants of one patient, fixed at Create.
struct Fixed {
  LongHorizonParams lh;
  double tbw0_l, ecf0_l, icf_osmoles_mosm, blood_volume0_ml, map_ref_mmhg, set_point0_mmhg;
  double reset_rate_per_day;  // ln 2 / half-time
};

// Everything derived from the state at one instant.
struct Derived {
  double ecf_l, plasma_na, blood_volume_ml, na_excretion_per_day, urine_l_per_day, drive_target;
  Haemodynamics h;
};

Derived Derive(std::span<const double> y, const Fixed& f, const SteadyStateMap& map, const LongHorizonModifiers& m) {
  Derived d{};
  // Osmotic equilibrium between ECF (2 mosm per mmol Na with its anion) and fixed ICF osmoles.
  const double ecf_osm = 2.0 * y[kNa];
  d.ecf_l = y[kTbw] * ecf_osm / (ecf_osm + f.icf_osmoles_mosm);
  d.plasma_na = y[kNa] / d.ecf_l;
  d.blood_volume_ml = f.blood_volume0_ml + 1000.0 * f.lh.plasma_fraction_of_ecf * (d.ecf_l - f.ecf0_l);
  d.h = map.At(d.blood_volume_ml, y[kSetPoint], m.effectors);
  const double dp = d.h.map_mmhg - f.map_ref_mmhg - m.natriuresis_shift_mmhg;
  const double exponent = std::clamp(f.lh.natriuresis_acute_gain_per_mmhg * dp + y[kDrive], -30.0, 10.0);
  d.na_excretion_per_day = f.lh.reference_sodium_intake_mmol_per_day * m.sodium_excretion_factor * std::exp(exponent);
  d.drive_target =
      (f.lh.natriuresis_chronic_gain_per_mmhg * m.natriuresis_gain_factor - f.lh.natriuresis_acute_gain_per_mmhg) * dp;
  // ADH: the water in excess of what would make the fluid isotonic is excreted over hours.
  const double iso_tbw_l = (ecf_osm + f.icf_osmoles_mosm) / (2.0 * f.lh.plasma_sodium_mmol_per_l);
  const double base_urine = f.lh.reference_fluid_intake_l_per_day - f.lh.nonrenal_water_loss_l_per_day;
  const double urine =
      base_urine + (y[kTbw] - iso_tbw_l) * kHoursPerDay / f.lh.adh_time_constant_h;
  d.urine_l_per_day = std::max(f.lh.min_urine_l_per_day, urine) * m.water_excretion_factor;
  return d;
}

class FluidOde final : public OdeSystem {
 public:
  FluidOde(const Fixed* f, const SteadyStateMap* map, const LongHorizonModifiers* m, const Intake* in)
      : f_(f), map_(map), m_(m), in_(in) {}
  std::size_t Dimension() const override { return kCount; }
  void Derivatives(double, std::span<const double> y, std::span<double> dy) const override {
    const Derived d = Derive(y, *f_, *map_, *m_);
    dy[kNa] = in_->sodium_mmol_per_day - d.na_excretion_per_day;
    dy[kTbw] = in_->fluid_l_per_day - f_->lh.nonrenal_water_loss_l_per_day - d.urine_l_per_day;
    dy[kDrive] = (d.drive_target - y[kDrive]) * kHoursPerDay / f_->lh.natriuresis_adaptation_time_constant_h;
    // Resetting toward the resting operating point (see BaroreflexParams::resetting_offset_mmhg).
    dy[kSetPoint] = (d.h.map_mmhg - (f_->map_ref_mmhg - f_->set_point0_mmhg) - y[kSetPoint]) * f_->reset_rate_per_day;
    dy[kCumNaIn] = in_->sodium_mmol_per_day;
    dy[kCumNaOut] = d.na_excretion_per_day;
    dy[kCumFluidIn] = in_->fluid_l_per_day;
    dy[kCumUrine] = d.urine_l_per_day;
    dy[kCumNonrenal] = f_->lh.nonrenal_water_loss_l_per_day;
  }

 private:
  const Fixed* f_;
  const SteadyStateMap* map_;
  const LongHorizonModifiers* m_;
  const Intake* in_;
};

absl::Status CheckPositive(double v, const char* name) {
  if (!(v > 0.0) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " must be positive and finite, got ", v));
  }
  return absl::OkStatus();
}

absl::Status Validate(const LongHorizonParams& p, const LongHorizonOptions& o) {
  for (auto [v, name] : {std::pair{p.body_weight_kg, "body_weight_kg"},
                         {p.total_body_water_fraction, "total_body_water_fraction"},
                         {p.ecf_fraction_of_body_water, "ecf_fraction_of_body_water"},
                         {p.plasma_fraction_of_ecf, "plasma_fraction_of_ecf"},
                         {p.plasma_sodium_mmol_per_l, "plasma_sodium_mmol_per_l"},
                         {p.reference_sodium_intake_mmol_per_day, "reference_sodium_intake_mmol_per_day"},
                         {p.reference_fluid_intake_l_per_day, "reference_fluid_intake_l_per_day"},
                         {p.adh_time_constant_h, "adh_time_constant_h"},
                         {p.natriuresis_chronic_gain_per_mmhg, "natriuresis_chronic_gain_per_mmhg"},
                         {p.natriuresis_adaptation_time_constant_h, "natriuresis_adaptation_time_constant_h"},
                         {o.dt_h, "dt_h"}}) {
    if (absl::Status s = CheckPositive(v, name); !s.ok()) return s;
  }
  if (p.total_body_water_fraction >= 1.0 || p.ecf_fraction_of_body_water >= 1.0 || p.plasma_fraction_of_ecf >= 1.0) {
    return absl::InvalidArgumentError("total_body_water_fraction, ecf_fraction_of_body_water and "
                                      "plasma_fraction_of_ecf must be below 1");
  }
  if (!(p.nonrenal_water_loss_l_per_day >= 0.0) || !(p.min_urine_l_per_day >= 0.0) ||
      !(p.natriuresis_acute_gain_per_mmhg >= 0.0)) {
    return absl::InvalidArgumentError(
        "nonrenal_water_loss_l_per_day, min_urine_l_per_day and natriuresis_acute_gain_per_mmhg must be >= 0");
  }
  if (p.reference_fluid_intake_l_per_day - p.nonrenal_water_loss_l_per_day < p.min_urine_l_per_day) {
    return absl::InvalidArgumentError(
        "reference_fluid_intake_l_per_day must exceed nonrenal_water_loss_l_per_day by at least min_urine_l_per_day");
  }
  // Stability of the explicit step on the fastest loop (ADH).
  if (o.dt_h > p.adh_time_constant_h) {
    return absl::InvalidArgumentError(absl::StrCat("dt_h must be at most adh_time_constant_h (", p.adh_time_constant_h, " h)"));
  }
  return absl::OkStatus();
}

}  // namespace

LongHorizonParams SaltSensitive(LongHorizonParams params) {
  params.natriuresis_chronic_gain_per_mmhg *= 0.25;
  return params;
}

LongHorizonParams LongHorizonParamsFor(const Demographics& d) {
  LongHorizonParams p;
  p.body_weight_kg = d.weight_kg;
  p.total_body_water_fraction = d.sex == Sex::kMale ? 0.60 : 0.50;
  return p;
}

struct LongHorizonModel::Impl {
  std::shared_ptr<const SteadyStateMap> map;
  Fixed fixed{};
  LongHorizonOptions options;
  LongHorizonModifiers modifiers;
  Intake intake;
  std::unique_ptr<OdeSolver> solver;
  FluidOde ode{&fixed, nullptr, &modifiers, &intake};
  std::vector<double> y = std::vector<double>(kCount, 0.0);
  std::int64_t steps = 0;

  double t_days() const { return static_cast<double>(steps) * options.dt_h / kHoursPerDay; }
  void Step() {
    solver->Step(ode, t_days(), options.dt_h / kHoursPerDay, y);
    ++steps;
  }
};

absl::StatusOr<LongHorizonModel> LongHorizonModel::Create(const ModelParams& params, const LongHorizonParams& lh,
                                                          const LongHorizonOptions& options) {
  if (absl::Status s = Validate(lh, options); !s.ok()) return s;
  absl::StatusOr<SteadyStateMap> map = SteadyStateMap::Build(params);
  if (!map.ok()) return map.status();
  return Create(std::make_shared<const SteadyStateMap>(*std::move(map)), params, lh, options);
}

absl::StatusOr<LongHorizonModel> LongHorizonModel::Create(std::shared_ptr<const SteadyStateMap> map,
                                                          const ModelParams& params, const LongHorizonParams& lh,
                                                          const LongHorizonOptions& options) {
  return CreateAtRest(std::move(map), params, lh, RestingState{}, options);
}

absl::StatusOr<LongHorizonModel> LongHorizonModel::CreateAtRest(std::shared_ptr<const SteadyStateMap> map,
                                                                const ModelParams& params,
                                                                const LongHorizonParams& lh,
                                                                const RestingState& rest,
                                                                const LongHorizonOptions& options) {
  if (absl::Status s = Validate(lh, options); !s.ok()) return s;
  for (auto [v, name] : {std::pair{rest.blood_volume_factor, "rest.blood_volume_factor"},
                         {rest.effectors.heart_rate_factor, "rest.effectors.heart_rate_factor"},
                         {rest.effectors.contractility_factor, "rest.effectors.contractility_factor"},
                         {rest.effectors.systemic_resistance_factor, "rest.effectors.systemic_resistance_factor"}}) {
    if (absl::Status s = CheckPositive(v, name); !s.ok()) return s;
  }
  if (!std::isfinite(rest.set_point_offset_mmhg) || !std::isfinite(rest.effectors.venous_unstressed_delta_ml)) {
    return absl::InvalidArgumentError("rest.set_point_offset_mmhg and rest.effectors.venous_unstressed_delta_ml "
                                      "must be finite");
  }
  if (map == nullptr) return absl::InvalidArgumentError("map must not be null");
  if (map->nominal_blood_volume_ml() != params.circulation.total_blood_volume_ml ||
      map->nominal_set_point_mmhg() != params.baroreflex.set_point_mmhg) {
    return absl::InvalidArgumentError("map was built for other params (blood volume or set point differ)");
  }
  if (absl::Status s = CheckPositive(params.baroreflex.resetting_half_time_s, "baroreflex.resetting_half_time_s");
      !s.ok()) {
    return s;
  }
  auto impl = std::make_unique<Impl>();
  impl->map = std::move(map);
  impl->options = options;
  impl->solver = MakeSolver(options.solver);
  impl->ode = FluidOde(&impl->fixed, impl->map.get(), &impl->modifiers, &impl->intake);
  Fixed& f = impl->fixed;
  f.lh = lh;
  f.tbw0_l = lh.total_body_water_fraction * lh.body_weight_kg;
  f.ecf0_l = lh.ecf_fraction_of_body_water * f.tbw0_l;
  f.icf_osmoles_mosm = 2.0 * lh.plasma_sodium_mmol_per_l * (f.tbw0_l - f.ecf0_l);
  f.blood_volume0_ml = params.circulation.total_blood_volume_ml * rest.blood_volume_factor;
  f.set_point0_mmhg = params.baroreflex.set_point_mmhg + rest.set_point_offset_mmhg;
  f.map_ref_mmhg = impl->map->At(f.blood_volume0_ml, f.set_point0_mmhg, rest.effectors).map_mmhg;
  impl->modifiers.effectors = rest.effectors;
  f.reset_rate_per_day = std::numbers::ln2 * 86400.0 / params.baroreflex.resetting_half_time_s;
  impl->intake = {lh.reference_sodium_intake_mmol_per_day, lh.reference_fluid_intake_l_per_day};
  impl->y[kNa] = lh.plasma_sodium_mmol_per_l * f.ecf0_l;
  impl->y[kTbw] = f.tbw0_l;
  impl->y[kSetPoint] = f.set_point0_mmhg;
  return LongHorizonModel(std::move(impl));
}

LongHorizonModel::LongHorizonModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LongHorizonModel::LongHorizonModel(LongHorizonModel&&) noexcept = default;
LongHorizonModel& LongHorizonModel::operator=(LongHorizonModel&&) noexcept = default;
LongHorizonModel::~LongHorizonModel() = default;

void LongHorizonModel::SetIntake(const Intake& intake) { impl_->intake = intake; }
void LongHorizonModel::SetModifiers(const LongHorizonModifiers& modifiers) { impl_->modifiers = modifiers; }

void LongHorizonModel::AdvanceHours(double hours) {
  const auto n = static_cast<std::int64_t>(std::ceil(hours / impl_->options.dt_h - 1e-9));
  for (std::int64_t i = 0; i < n; ++i) impl_->Step();
}

std::vector<DailySummary> LongHorizonModel::AdvanceDays(int days) {
  std::vector<DailySummary> out;
  for (int day = 0; day < days; ++day) {
    const LongHorizonState start = state();
    DailySummary s;
    s.day = static_cast<int>(std::lround(start.t_days)) + 1;
    int samples = 0;
    const std::int64_t day_end = static_cast<std::int64_t>(std::llround((start.t_days + 1.0) * kHoursPerDay /
                                                                         impl_->options.dt_h));
    while (impl_->steps < day_end) {
      impl_->Step();
      const Derived d = Derive(impl_->y, impl_->fixed, *impl_->map, impl_->modifiers);
      s.map_mmhg += d.h.map_mmhg;
      s.sbp_mmhg += d.h.sbp_mmhg;
      s.dbp_mmhg += d.h.dbp_mmhg;
      s.heart_rate_bpm += d.h.heart_rate_bpm;
      s.cardiac_output_l_per_min += d.h.cardiac_output_l_per_min;
      s.extrapolated |= d.h.extrapolated;
      ++samples;
    }
    const double n = std::max(1, samples);
    s.map_mmhg /= n;
    s.sbp_mmhg /= n;
    s.dbp_mmhg /= n;
    s.heart_rate_bpm /= n;
    s.cardiac_output_l_per_min /= n;
    const LongHorizonState end = state();
    s.blood_volume_ml = end.blood_volume_ml;
    s.ecf_volume_l = end.ecf_volume_l;
    s.weight_change_kg = end.weight_change_kg;
    s.plasma_sodium_mmol_per_l = end.plasma_sodium_mmol_per_l;
    s.baroreflex_set_point_mmhg = end.baroreflex_set_point_mmhg;
    s.sodium_intake_mmol = end.cumulative_sodium_intake_mmol - start.cumulative_sodium_intake_mmol;
    s.sodium_excreted_mmol = end.cumulative_sodium_excreted_mmol - start.cumulative_sodium_excreted_mmol;
    s.urine_l = end.cumulative_urine_l - start.cumulative_urine_l;
    out.push_back(s);
  }
  return out;
}

LongHorizonState LongHorizonModel::state() const {
  const std::vector<double>& y = impl_->y;
  const Derived d = Derive(y, impl_->fixed, *impl_->map, impl_->modifiers);
  LongHorizonState s;
  s.t_days = impl_->t_days();
  s.haemodynamics = d.h;
  s.blood_volume_ml = d.blood_volume_ml;
  s.ecf_volume_l = d.ecf_l;
  s.total_body_water_l = y[kTbw];
  s.ecf_sodium_mmol = y[kNa];
  s.plasma_sodium_mmol_per_l = d.plasma_na;
  s.weight_change_kg = y[kTbw] - impl_->fixed.tbw0_l;
  s.baroreflex_set_point_mmhg = y[kSetPoint];
  s.natriuretic_drive = y[kDrive];
  s.sodium_excretion_mmol_per_day = d.na_excretion_per_day;
  s.urine_l_per_day = d.urine_l_per_day;
  s.cumulative_sodium_intake_mmol = y[kCumNaIn];
  s.cumulative_sodium_excreted_mmol = y[kCumNaOut];
  s.cumulative_fluid_intake_l = y[kCumFluidIn];
  s.cumulative_urine_l = y[kCumUrine];
  s.cumulative_nonrenal_loss_l = y[kCumNonrenal];
  return s;
}

const SteadyStateMap& LongHorizonModel::map() const { return *impl_->map; }
double LongHorizonModel::reference_map_mmhg() const { return impl_->fixed.map_ref_mmhg; }

}  // namespace healthtwin::models
