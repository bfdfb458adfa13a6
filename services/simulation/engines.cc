#include "services/simulation/engines.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/patient.h"
#include "models/treatment/cohort.h"
#include "models/treatment/treatment_json.h"
#include "models/treatment/whatif.h"
#include "services/simulation/cohort_result_proto.h"
#include "services/simulation/limits.h"
#include "services/twin/patient_model.h"

namespace healthtwin::simulation {
namespace {

namespace mt = healthtwin::models::treatment;
namespace models = healthtwin::models;
using nlohmann::json;

// Defaults for proto3 fields left at zero; documented in simulation.proto's comments.
constexpr uint32_t kMaxDays = 365;  // no what-if spans more than a year
constexpr double kDefaultAgeYears = 55.0;    // when the registry has no birth year
constexpr double kDefaultHeightCm = 170.0;   // when the registry has no height
constexpr double kDefaultWeightKg = 75.0;    // when no weight was measured in the window
// Resting heart rate range a median may be fitted to (an adult's resting 50-100 /min, widened
// for athletes and for β-blocked or anxious patients).
constexpr double kMinRestingHeartRateBpm = 40.0;
constexpr double kMaxRestingHeartRateBpm = 110.0;

// The patient's nominal model. With a calibrated twin the nominal is the one the twin service
// calibrated against (demographics + every registry condition, no resting targets), and the
// posterior carries what makes it this patient; without one, the measured resting values are
// fitted directly (FitToTargets) and the ensemble comes from the documented prior.
absl::StatusOr<mt::WhatIfPatient> BuildPatient(const WhatIfPatient& p, bool has_posterior, std::string& notes) {
  if (has_posterior) {
    const twin::NominalPatient nominal = twin::NominalFor(p.registry);
    absl::StatusOr<models::ModelParams> params = twin::NominalParams(nominal);
    if (!params.ok()) return params.status();
    notes += "nominal model " + nominal.key + " (the twin's archetype), personalised by the twin's posterior; ";
    mt::WhatIfPatient out;
    out.params = *params;
    out.demographics = nominal.demographics;
    if (p.weight_kg) out.demographics.weight_kg = *p.weight_kg;  // body water for the weight trajectory
    out.long_horizon = models::LongHorizonParamsFor(out.demographics);
    return out;
  }
  models::Demographics d;
  const twin::PatientRecord& r = p.registry;
  d.sex = r.sex == 1 ? models::Sex::kFemale : models::Sex::kMale;
  if (r.sex != 1 && r.sex != 2) notes += "sex not recorded: modelled as male; ";
  d.age_years = r.age_years.value_or(kDefaultAgeYears);
  if (!r.age_years) notes += "no birth year: age 55 assumed; ";
  d.height_cm = r.height_cm.value_or(kDefaultHeightCm);
  d.weight_kg = p.weight_kg.value_or(kDefaultWeightKg);
  if (!p.weight_kg) notes += "no recent weight: 75 kg assumed; ";
  absl::StatusOr<models::ModelParams> params = models::PatientFromDemographics(d);
  if (!params.ok()) return absl::FailedPreconditionError(absl::StrCat("patient ", p.patient_id, ": ", params.status().message()));
  const bool measured_bp = p.sbp_mmhg && p.dbp_mmhg;
  for (int c : r.conditions) {
    std::optional<models::Condition> mc = twin::ToModelCondition(c);
    if (!mc) continue;
    const bool hypertension =
        *mc == models::Condition::kHypertensionStage1 || *mc == models::Condition::kHypertensionStage2;
    if (hypertension && measured_bp) continue;  // the measured BP decides
    if (auto s = models::ApplyCondition(*mc, *params); !s.ok()) return s;
  }
  // A median heart rate outside the resting range is an episode (e.g. a tachycardia), not the
  // patient's resting rate: the model is not fitted to it.
  std::optional<double> resting_hr = p.heart_rate_bpm;
  if (resting_hr && (*resting_hr < kMinRestingHeartRateBpm || *resting_hr > kMaxRestingHeartRateBpm)) {
    notes += absl::StrFormat("median heart rate %.0f /min is outside the resting range %.0f-%.0f: not fitted; ",
                             *resting_hr, kMinRestingHeartRateBpm, kMaxRestingHeartRateBpm);
    resting_hr.reset();
  }
  if (measured_bp || resting_hr) {
    models::RestingTargets t;
    if (measured_bp) {
      t.sbp_mmhg = p.sbp_mmhg;
      t.dbp_mmhg = p.dbp_mmhg;
    }
    t.heart_rate_bpm = resting_hr;
    absl::StatusOr<models::ModelParams> fitted = models::FitToTargets(*params, t);
    if (!fitted.ok() && measured_bp && resting_hr) {
      // Fit the pressures alone before giving up: they matter most for a treatment decision.
      notes += absl::StrCat("heart rate not fitted (", fitted.status().message(), "); ");
      t.heart_rate_bpm.reset();
      fitted = models::FitToTargets(*params, t);
    }
    if (!fitted.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("patient ", p.patient_id,
                                                        ": the twin cannot reach the measured resting values: ",
                                                        fitted.status().message()));
    }
    params = std::move(fitted);
  } else {
    notes += "no recent resting vitals: population resting values; ";
  }
  mt::WhatIfPatient out;
  out.params = *params;
  out.long_horizon = models::LongHorizonParamsFor(d);
  out.demographics = d;
  return out;
}

// The twin snapshot as a posterior, when its parameters are ones the what-if engine knows.
std::optional<models::TwinPosterior> PosteriorOf(const WhatIfPatient& p) {
  if (p.twin_version == 0 || p.twin_parameters.empty()) return std::nullopt;
  const std::size_t n = p.twin_parameters.size();
  if (p.twin_covariance.size() != n * n) return std::nullopt;
  models::TwinPosterior post;
  for (const auto& e : p.twin_parameters) {
    post.names.push_back(e.name);
    post.mean.push_back(e.value);
  }
  post.covariance = p.twin_covariance;
  post.version = p.twin_version;
  post.source = absl::StrCat("calibration:twin_snapshots v", p.twin_version);
  return post;
}

absl::StatusOr<mt::WhatIfSpec> ToSpec(const v1::WhatIfRequest& req) {
  mt::WhatIfSpec spec;
  // Range checks before each narrowing to int, so the error quotes the value that was sent.
  if (req.days() > kMaxDays) return absl::InvalidArgumentError(absl::StrCat("days: ", req.days(), "; at most 365"));
  if (req.ensemble_size() > 1000) {
    return absl::InvalidArgumentError(absl::StrCat("ensemble_size: ", req.ensemble_size(), "; at most 1000"));
  }
  spec.days = static_cast<int>(req.days() == 0 ? kDefaultWhatIfDays : req.days());
  spec.ensemble_size = static_cast<int>(req.ensemble_size() == 0 ? kDefaultWhatIfEnsemble : req.ensemble_size());
  spec.seed = req.seed() == 0 ? 1 : req.seed();
  if (req.has_target()) {
    spec.target.systolic_below_mmhg = req.target().systolic_below_mmhg();
    spec.target.diastolic_below_mmhg = req.target().diastolic_below_mmhg();
  }
  if (req.options_size() == 0) return absl::InvalidArgumentError("options: at least one option is required");
  for (int i = 0; i < req.options_size(); ++i) {
    const v1::TreatmentOption& o = req.options(i);
    mt::TreatmentOption opt;
    opt.name = o.name();
    if (o.sodium_intake_mmol_per_day() != 0) opt.sodium_intake_mmol_per_day = o.sodium_intake_mmol_per_day();
    if (o.fluid_intake_l_per_day() != 0) opt.fluid_intake_l_per_day = o.fluid_intake_l_per_day();
    for (int k = 0; k < o.drugs_size(); ++k) {
      const v1::DrugRegimen& d = o.drugs(k);
      const std::string field = absl::StrCat("options[", i, "].drugs[", k, "]");
      if (d.interval_h() == 0) return absl::InvalidArgumentError(field + ".interval_h: required (24 for once daily)");
      if (d.adherence_fraction() == 0) {
        return absl::InvalidArgumentError(field + ".adherence_fraction: required, in (0, 1] (1 = every dose taken)");
      }
      // No simulation is longer than kMaxDays, so a larger day is never meaningful.
      if (d.start_day() > kMaxDays || d.stop_day() > kMaxDays) {
        const bool start = d.start_day() > kMaxDays;
        return absl::InvalidArgumentError(absl::StrCat(field, start ? ".start_day: " : ".stop_day: ",
                                                       start ? d.start_day() : d.stop_day(), "; at most ", kMaxDays));
      }
      mt::DrugRegimen r;
      r.drug = d.drug();
      r.dose_mg = d.dose_mg();
      r.interval_h = d.interval_h();
      r.adherence_fraction = d.adherence_fraction();
      r.start_day = d.start_day() == 0 ? 1 : static_cast<int>(d.start_day());
      r.stop_day = static_cast<int>(d.stop_day());
      r.off_label = d.off_label();
      opt.drugs.push_back(std::move(r));
    }
    spec.options.push_back(std::move(opt));
  }
  if (auto s = mt::ValidateWhatIfSpec(spec); !s.ok()) return s;
  return spec;
}

v1::SafetyFlag ToProto(mt::SafetyFlag f) {
  switch (f) {
    case mt::SafetyFlag::kHypotension: return v1::SAFETY_FLAG_HYPOTENSION;
    case mt::SafetyFlag::kBradycardia: return v1::SAFETY_FLAG_BRADYCARDIA;
    case mt::SafetyFlag::kVolumeLoss: return v1::SAFETY_FLAG_VOLUME_LOSS;
  }
  return v1::SAFETY_FLAG_UNSPECIFIED;
}

v1::WhatIfResult ToProto(const mt::WhatIfResult& r) {
  v1::WhatIfResult out;
  out.set_twin_version(r.twin_version);
  out.set_ensemble_source(r.ensemble_source);
  for (const mt::OptionResult& o : r.options) {
    v1::OptionResult* po = out.add_options();
    po->set_name(o.name);
    po->set_rank(static_cast<uint32_t>(o.rank));
    po->set_target_attainment_fraction(o.target_attainment_fraction);
    for (mt::SafetyFlag f : o.safety_flags) po->add_safety_flags(ToProto(f));
    for (const mt::Trajectory& t : o.trajectories) {
      v1::Trajectory* pt = po->add_trajectories();
      pt->set_quantity(t.quantity);
      for (const mt::DailyBand& b : t.days) {
        v1::DailyBand* pb = pt->add_days();
        pb->set_day(static_cast<uint32_t>(b.day));
        pb->set_mean(b.mean);
        pb->set_lower(b.lower);
        pb->set_upper(b.upper);
      }
    }
  }
  return out;
}

}  // namespace

CohortEngine MakeTreatmentCohortEngine(int threads) {
  return [threads](const std::string& spec_json, const ProgressFn& progress) -> absl::StatusOr<CohortOutcome> {
    absl::StatusOr<mt::CohortSpec> spec = mt::ParseCohortSpec(spec_json);
    if (!spec.ok()) return spec.status();
    mt::CohortRunOptions options;
    options.threads = threads;
    options.progress = progress;
    absl::StatusOr<mt::CohortResult> result = mt::RunCohort(*spec, options);
    if (!result.ok()) return result.status();
    return CohortOutcome{mt::CohortResultToJson(*spec, *result).dump(), mt::PerPatientCsv(*spec, *result)};
  };
}

SimulationEngines MakeTreatmentEngines(int /*cohort_threads*/) {
  SimulationEngines e;
  e.validate_cohort_spec = [](const std::string& spec_json) -> absl::Status {
    return mt::ParseCohortSpec(spec_json).status();
  };
  e.run_whatif = [](const WhatIfPatient& patient, const v1::WhatIfRequest& request,
                    const ProgressFn& progress) -> absl::StatusOr<v1::WhatIfResult> {
    absl::StatusOr<mt::WhatIfSpec> spec = ToSpec(request);
    if (!spec.ok()) return spec.status();
    if (progress && !progress(0.0, "building the patient's twin")) return absl::CancelledError("cancelled");
    std::string notes;
    spec->posterior = PosteriorOf(patient);
    absl::StatusOr<mt::WhatIfPatient> model = BuildPatient(patient, spec->posterior.has_value(), notes);
    if (!model.ok()) return model.status();
    absl::StatusOr<mt::WhatIfResult> result = mt::RunWhatIf(*model, *spec, progress);
    if (!result.ok()) return result.status();
    v1::WhatIfResult out = ToProto(*result);
    for (std::size_t start = 0, end; start < notes.size(); start = end + 2) {
      end = notes.find("; ", start);
      if (end == std::string::npos) end = notes.size();
      out.add_assumptions(notes.substr(start, end - start));
    }
    return out;
  };
  e.parse_cohort_result = CohortResultFromJson;
  return e;
}

}  // namespace healthtwin::simulation
