#include "models/treatment/whatif.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "models/treatment/course.h"
#include "models/treatment/random.h"

namespace healthtwin::models::treatment {
namespace {

// A posterior as a sampler: mean + L z, L the (semi-definite) Cholesky factor.
struct Sampler {
  std::vector<std::string> names;
  std::vector<double> mean;
  std::vector<double> chol;  // lower triangular, row-major
};

absl::StatusOr<Sampler> MakeSampler(const TwinPosterior& p) {
  static const std::set<std::string_view> kKnown = {kParamLogResistance,  kParamLogContractility,
                                                    kParamLogHeartRate,   kParamLogBloodVolume,
                                                    kParamSetPointOffset, kParamLogArterialCompliance};
  const std::size_t n = p.names.size();
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    if (!kKnown.contains(p.names[i])) {
      return absl::InvalidArgumentError(absl::StrCat("posterior.names[", i, "]: unknown parameter '", p.names[i], "'"));
    }
    if (!seen.insert(p.names[i]).second) {
      return absl::InvalidArgumentError(absl::StrCat("posterior.names[", i, "]: '", p.names[i], "' appears twice"));
    }
  }
  if (p.mean.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("posterior.mean: expected ", n, " values, got ", p.mean.size()));
  }
  if (p.covariance.size() != n * n) {
    return absl::InvalidArgumentError(
        absl::StrCat("posterior.covariance: expected ", n * n, " values, got ", p.covariance.size()));
  }
  for (double v : p.mean) {
    if (!std::isfinite(v)) return absl::InvalidArgumentError("posterior.mean: values must be finite");
  }
  Sampler s{p.names, p.mean, std::vector<double>(n * n, 0.0)};
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const double a = p.Cov(i, j), b = p.Cov(j, i);
      if (!std::isfinite(a) || std::abs(a - b) > 1e-9 * (1.0 + std::abs(a))) {
        return absl::InvalidArgumentError(
            absl::StrCat("posterior.covariance: must be finite and symmetric (entry ", i, ",", j, ")"));
      }
    }
  }
  // Cholesky that tolerates zero pivots (a parameter held fixed).
  for (std::size_t j = 0; j < n; ++j) {
    double d = p.Cov(j, j);
    for (std::size_t k = 0; k < j; ++k) d -= s.chol[j * n + k] * s.chol[j * n + k];
    const double scale = 1e-10 * (1.0 + std::abs(p.Cov(j, j)));
    if (d < -scale) {
      return absl::InvalidArgumentError("posterior.covariance: must be positive semi-definite");
    }
    const double ljj = d > scale ? std::sqrt(d) : 0.0;
    s.chol[j * n + j] = ljj;
    for (std::size_t i = j + 1; i < n; ++i) {
      double v = p.Cov(i, j);
      for (std::size_t k = 0; k < j; ++k) v -= s.chol[i * n + k] * s.chol[j * n + k];
      s.chol[i * n + j] = ljj > 0.0 ? v / ljj : 0.0;
    }
  }
  return s;
}

// One ensemble member: a resting state, a pulse-pressure scale and response sensitivities.
struct Member {
  RestingState rest;
  double pulse_pressure_scale = 1.0;
  pharma::ResponseSensitivity sensitivity;
};

Member DrawMember(const Sampler& s, std::uint64_t seed, int index, bool use_mean) {
  const std::size_t n = s.names.size();
  std::vector<double> x = s.mean;
  Member m;
  if (!use_mean) {
    Rng rng(StreamSeed(seed, {static_cast<std::uint64_t>(index), 1}));
    std::vector<double> z(n);
    for (double& v : z) v = rng.Normal();
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t k = 0; k <= i; ++k) x[i] += s.chol[i * n + k] * z[k];
    }
    m.sensitivity = DrawResponseSensitivity(rng);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& name = s.names[i];
    if (name == kParamLogResistance) m.rest.effectors.systemic_resistance_factor = std::exp(x[i]);
    if (name == kParamLogContractility) m.rest.effectors.contractility_factor = std::exp(x[i]);
    if (name == kParamLogHeartRate) m.rest.effectors.heart_rate_factor = std::exp(x[i]);
    if (name == kParamLogBloodVolume) m.rest.blood_volume_factor = std::exp(x[i]);
    if (name == kParamSetPointOffset) m.rest.set_point_offset_mmhg = x[i];
    // Pulse pressure ~ stroke volume / arterial compliance.
    if (name == kParamLogArterialCompliance) m.pulse_pressure_scale = std::exp(-x[i]);
  }
  return m;
}

double Quantile(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

struct QuantityDef {
  const char* name;
  bool trough;
  double Vitals::*field;
};
constexpr QuantityDef kQuantities[] = {
    {"trough_systolic_mmhg", true, &Vitals::sbp_mmhg},
    {"trough_diastolic_mmhg", true, &Vitals::dbp_mmhg},
    {"trough_heart_rate_bpm", true, &Vitals::heart_rate_bpm},
    {"trough_cardiac_output_l_per_min", true, &Vitals::cardiac_output_l_per_min},
    {"trough_weight_kg", true, &Vitals::weight_kg},
    {"peak_systolic_mmhg", false, &Vitals::sbp_mmhg},
    {"peak_diastolic_mmhg", false, &Vitals::dbp_mmhg},
    {"peak_heart_rate_bpm", false, &Vitals::heart_rate_bpm},
    {"peak_cardiac_output_l_per_min", false, &Vitals::cardiac_output_l_per_min},
    {"peak_weight_kg", false, &Vitals::weight_kg},
};

OptionResult Summarise(const TreatmentOption& option, int input_index, const std::vector<Course>& courses,
                       const WhatIfSpec& spec) {
  OptionResult r;
  r.name = option.name;
  r.input_index = input_index;
  const double n = static_cast<double>(courses.size());
  int at_target = 0, hypo = 0, brady = 0, volume = 0;
  double end_sbp = 0.0, end_dbp = 0.0, taken = 0.0;
  for (const Course& c : courses) {
    const Vitals& end = c.days.back().trough;
    at_target += end.sbp_mmhg < spec.target.systolic_below_mmhg && end.dbp_mmhg < spec.target.diastolic_below_mmhg;
    end_sbp += end.sbp_mmhg;
    end_dbp += end.dbp_mmhg;
    for (const CourseDay& d : c.days) r.extrapolated |= d.extrapolated;
    const CourseFlags f = FlagsOf(c);
    hypo += f.hypotension;
    brady += f.bradycardia;
    volume += f.volume_loss;
    taken += c.doses_scheduled > 0 ? static_cast<double>(c.doses_taken) / c.doses_scheduled : 1.0;
  }
  r.target_attainment_fraction = at_target / n;
  r.hypotension_fraction = hypo / n;
  r.bradycardia_fraction = brady / n;
  r.volume_loss_fraction = volume / n;
  r.mean_end_trough_sbp_mmhg = end_sbp / n;
  r.mean_end_trough_dbp_mmhg = end_dbp / n;
  r.mean_doses_taken_fraction = taken / n;
  const int members = static_cast<int>(courses.size());
  if (OptionFlagged(hypo, members, spec.flag_fraction)) r.safety_flags.push_back(SafetyFlag::kHypotension);
  if (OptionFlagged(brady, members, spec.flag_fraction)) r.safety_flags.push_back(SafetyFlag::kBradycardia);
  if (OptionFlagged(volume, members, spec.flag_fraction)) r.safety_flags.push_back(SafetyFlag::kVolumeLoss);

  std::vector<double> values(courses.size());
  for (const QuantityDef& q : kQuantities) {
    Trajectory t;
    t.quantity = q.name;
    for (int day = 0; day <= spec.days; ++day) {
      for (std::size_t m = 0; m < courses.size(); ++m) {
        const Course& c = courses[m];
        const Vitals& v = day == 0 ? c.baseline : (q.trough ? c.days[day - 1].trough : c.days[day - 1].peak);
        values[m] = v.*q.field;
      }
      DailyBand b;
      b.day = day;
      b.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
      b.lower = Quantile(values, 0.05);
      b.upper = Quantile(values, 0.95);
      t.days.push_back(b);
    }
    r.trajectories.push_back(std::move(t));
  }
  return r;
}

}  // namespace

pharma::ResponseSensitivity DrawResponseSensitivity(Rng& rng) {
  pharma::ResponseSensitivity s;
  for (double& f : s.by_class) f = std::exp(kResponseSensitivityLogSd * rng.TruncatedNormal(3.0));
  return s;
}

bool OptionFlagged(int members_with_flag, int members, double flag_fraction) {
  return static_cast<double>(members_with_flag) / members >= flag_fraction;
}

TwinPosterior WhatIfPrior() {
  TwinPosterior p;
  p.names = {std::string(kParamLogResistance), std::string(kParamLogContractility), std::string(kParamLogHeartRate),
             std::string(kParamLogBloodVolume), std::string(kParamSetPointOffset)};
  const std::vector<double> sd = {0.05, 0.10, 0.05, 0.05, 4.0};
  p.mean.assign(sd.size(), 0.0);
  p.covariance.assign(sd.size() * sd.size(), 0.0);
  for (std::size_t i = 0; i < sd.size(); ++i) p.covariance[i * sd.size() + i] = sd[i] * sd[i];
  p.version = 0;
  p.source = "prior:models/README.md#treatment-simulation";
  return p;
}

std::string_view SafetyFlagName(SafetyFlag flag) {
  switch (flag) {
    case SafetyFlag::kHypotension:
      return "hypotension";
    case SafetyFlag::kBradycardia:
      return "bradycardia";
    case SafetyFlag::kVolumeLoss:
      return "volume_loss";
  }
  return "unknown";
}

void RankOptions(std::vector<OptionResult>& options) {
  std::stable_sort(options.begin(), options.end(), [](const OptionResult& a, const OptionResult& b) {
    const bool fa = !a.safety_flags.empty(), fb = !b.safety_flags.empty();
    if (fa != fb) return !fa;
    if (a.target_attainment_fraction != b.target_attainment_fraction) {
      return a.target_attainment_fraction > b.target_attainment_fraction;
    }
    if (a.mean_end_trough_sbp_mmhg != b.mean_end_trough_sbp_mmhg) {
      return a.mean_end_trough_sbp_mmhg < b.mean_end_trough_sbp_mmhg;
    }
    return a.input_index < b.input_index;
  });
  for (std::size_t i = 0; i < options.size(); ++i) options[i].rank = static_cast<int>(i) + 1;
}

absl::Status ValidateWhatIfSpec(const WhatIfSpec& spec) {
  if (spec.days < 1 || spec.days > 365) {
    return absl::InvalidArgumentError(absl::StrCat("days: must be in 1..365, got ", spec.days));
  }
  if (spec.ensemble_size < 1 || spec.ensemble_size > 1000) {
    return absl::InvalidArgumentError(absl::StrCat("ensemble_size: must be in 1..1000, got ", spec.ensemble_size));
  }
  if (spec.options.empty() || spec.options.size() > 20) {
    return absl::InvalidArgumentError(
        absl::StrCat("options: between 1 and 20 options are required, got ", spec.options.size()));
  }
  if (!(spec.flag_fraction > 0.0 && spec.flag_fraction <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("flag_fraction: must be in (0, 1], got ", spec.flag_fraction));
  }
  if (absl::Status s = ValidateTarget(spec.target, "target"); !s.ok()) return s;
  std::set<std::string> names;
  for (std::size_t i = 0; i < spec.options.size(); ++i) {
    const std::string field = absl::StrCat("options[", i, "]");
    if (absl::Status s = ValidateOption(spec.options[i], spec.days, field); !s.ok()) return s;
    if (!names.insert(spec.options[i].name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: '", spec.options[i].name, "' is used by an earlier option"));
    }
  }
  if (spec.posterior) {
    if (absl::StatusOr<Sampler> s = MakeSampler(*spec.posterior); !s.ok()) return s.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<WhatIfResult> RunWhatIf(const WhatIfPatient& patient, const WhatIfSpec& spec,
                                       const ProgressFn& progress) {
  if (absl::Status s = ValidateWhatIfSpec(spec); !s.ok()) return s;
  const TwinPosterior posterior = spec.posterior ? *spec.posterior : WhatIfPrior();
  absl::StatusOr<Sampler> sampler = MakeSampler(posterior);
  if (!sampler.ok()) return sampler.status();

  double sim_from = 0.0;  // the share of the progress bar taken by the map
  std::shared_ptr<const SteadyStateMap> map = patient.map;
  if (map == nullptr) {
    sim_from = 0.25;
    if (progress && !progress(0.0, "building the patient's steady-state map")) {
      return absl::CancelledError("cancelled by the progress callback");
    }
    absl::StatusOr<SteadyStateMap> built = SteadyStateMap::Build(patient.params);
    if (!built.ok()) return built.status();
    map = std::make_shared<const SteadyStateMap>(*std::move(built));
  }

  const int n_members = spec.ensemble_size;
  const int n_options = static_cast<int>(spec.options.size());
  std::vector<Member> members;
  members.reserve(static_cast<std::size_t>(n_members));
  for (int m = 0; m < n_members; ++m) members.push_back(DrawMember(*sampler, spec.seed, m, n_members == 1));
  std::vector<std::vector<pharma::Regimen>> regimens;
  std::vector<Intake> intakes;
  for (const TreatmentOption& o : spec.options) {
    regimens.push_back(ToPharmaRegimens(o.drugs));
    intakes.push_back({o.sodium_intake_mmol_per_day.value_or(patient.long_horizon.reference_sodium_intake_mmol_per_day),
                       o.fluid_intake_l_per_day.value_or(patient.long_horizon.reference_fluid_intake_l_per_day)});
  }

  std::vector<Course> courses(static_cast<std::size_t>(n_members) * n_options);
  const int total = n_members * n_options;
  auto work = [&](int job) -> absl::Status {
    const int o = job / n_members, m = job % n_members;
    VirtualPerson person;
    person.map = map;
    person.params = patient.params;
    person.long_horizon = patient.long_horizon;
    person.rest = members[m].rest;
    person.pulse_pressure_scale = members[m].pulse_pressure_scale;
    person.covariates.weight_kg = patient.demographics.weight_kg;
    person.covariates.age_years = patient.demographics.age_years;
    person.sensitivity = members[m].sensitivity;
    const std::uint64_t pk_seed = StreamSeed(spec.seed, {static_cast<std::uint64_t>(m), 2});
    absl::StatusOr<Course> c = SimulateCourse(person, regimens[o], intakes[o], spec.days, pk_seed);
    if (!c.ok()) {
      // The spec was validated, so a failing course is our fault, not the caller's.
      return absl::InternalError(absl::StrCat("options[", o, "] member ", m, ": ", c.status().message()));
    }
    courses[static_cast<std::size_t>(job)] = *std::move(c);
    return absl::OkStatus();
  };
  auto on_done = [&](int done) {
    return !progress || progress(sim_from + (1.0 - sim_from) * done / total, "simulating");
  };
  if (absl::Status s = ParallelFor(total, spec.threads, work, on_done); !s.ok()) return s;

  WhatIfResult result;
  result.twin_version = posterior.version;
  result.ensemble_source = posterior.source;
  result.days = spec.days;
  result.ensemble_size = n_members;
  for (int o = 0; o < n_options; ++o) {
    const auto first = courses.begin() + static_cast<std::ptrdiff_t>(o) * n_members;
    const std::vector<Course> option_courses(first, first + n_members);
    result.options.push_back(Summarise(spec.options[o], o, option_courses, spec));
  }
  RankOptions(result.options);
  return result;
}

}  // namespace healthtwin::models::treatment
