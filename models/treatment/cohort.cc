#include "models/treatment/cohort.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "models/long_horizon.h"
#include "models/steady_state_map.h"
#include "models/treatment/course.h"
#include "models/treatment/random.h"
#include "models/treatment/trial_patient.h"
#include "models/treatment/whatif.h"

namespace healthtwin::models::treatment {
namespace {

// Archetype tiers (SBP, DBP) and the archetype people: a 55-year-old man of 176 cm and 85 kg or
// woman of 162 cm and 72 kg (NHANES 2015-2018 adult means, Fryar et al., Vital Health Stat 3(46),
// 2021: height 175.4 / 161.7 cm, weight 89.8 / 77.5 kg, rounded down toward trial populations),
// resting HR 72.
constexpr std::array<std::pair<double, double>, 6> kTiers = {
    {{115.0, 75.0}, {130.0, 82.0}, {145.0, 89.0}, {160.0, 95.0}, {175.0, 100.0}, {190.0, 105.0}}};
constexpr int kTierCount = static_cast<int>(kTiers.size());
constexpr double kArchetypeHeartRateBpm = 72.0;

// Relative costs for the progress bar: one archetype (fit + map) against one 30-day course.
constexpr double kArchetypeCost = 1.0;
constexpr double kCourseDayCost = 1.5e-5;

struct Bounds {
  double lo, hi;
};
constexpr Bounds kSbp{90, 220}, kDbp{50, 130}, kHr{45, 120}, kAge{18, 90}, kWeight{40, 180};
constexpr double kMinPulsePressure = 20, kMaxPulsePressure = 100;
// Per-patient rows are kept in memory (~200 bytes each).
constexpr std::int64_t kMaxRows = 2'000'000;

struct Drawn {
  Sex sex;
  double sbp, dbp, hr, age, weight;
  pharma::ResponseSensitivity sensitivity;
  int arm = -1;  // kRandomized only
  double screen_sbp = 0.0;
  int candidate = 0;
  OfficeBp baseline_noise;     // the baseline visit minus the drawn BP (trial.h)
  TrialPatient trial_patient;  // response factor (already in `sensitivity`) and adherence
};

double Truncated(Rng& rng, const NormalSpec& n, Bounds b) {
  for (int i = 0; i < 64; ++i) {
    const double v = n.mean + n.sd * rng.Normal();
    if (v >= b.lo && v <= b.hi) return v;
  }
  return std::clamp(n.mean, b.lo, b.hi);
}

// Candidate 0 of a slot draws from (seed, patient, 1), as the plain cohort; later candidates
// (screening, trial.h) from (seed, patient, 1, candidate).
Drawn DrawCandidate(const CohortSpec& spec, int patient, int candidate) {
  const PopulationSpec& pop = spec.population;
  const auto slot = static_cast<std::uint64_t>(patient);
  Rng rng(candidate == 0 ? StreamSeed(spec.seed, {slot, 1})
                         : StreamSeed(spec.seed, {slot, 1, static_cast<std::uint64_t>(candidate)}));
  Drawn d{};
  d.sex = rng.Uniform() < pop.female_fraction ? Sex::kFemale : Sex::kMale;
  const double rho = pop.sbp_dbp_correlation;
  bool ok = false;
  for (int i = 0; i < 64 && !ok; ++i) {
    const double z1 = rng.Normal(), z2 = rng.Normal();
    d.sbp = pop.sbp_mmhg.mean + pop.sbp_mmhg.sd * z1;
    d.dbp = pop.dbp_mmhg.mean + pop.dbp_mmhg.sd * (rho * z1 + std::sqrt(1.0 - rho * rho) * z2);
    const double pp = d.sbp - d.dbp;
    ok = d.sbp >= kSbp.lo && d.sbp <= kSbp.hi && d.dbp >= kDbp.lo && d.dbp <= kDbp.hi && pp >= kMinPulsePressure &&
         pp <= kMaxPulsePressure;
  }
  if (!ok) {
    d.sbp = std::clamp(pop.sbp_mmhg.mean, kSbp.lo, kSbp.hi);
    d.dbp = std::clamp(pop.dbp_mmhg.mean, std::max(kDbp.lo, d.sbp - kMaxPulsePressure),
                       std::min(kDbp.hi, d.sbp - kMinPulsePressure));
  }
  d.hr = Truncated(rng, pop.heart_rate_bpm, kHr);
  d.age = Truncated(rng, pop.age_years, kAge);
  d.weight = Truncated(rng, pop.weight_kg, kWeight);
  d.sensitivity = DrawResponseSensitivity(rng);
  d.screen_sbp = d.sbp;
  d.candidate = candidate;
  if (spec.allocation == Allocation::kRandomized) {
    d.arm = static_cast<int>(StreamSeed(spec.seed, {static_cast<std::uint64_t>(patient), 2}) %
                             static_cast<std::uint64_t>(spec.arms.size()));
  }
  return d;
}

// Candidate c with its screening and baseline visits (trial.h).
Drawn DrawMeasured(const CohortSpec& spec, int patient, int c) {
  const TrialSpec& t = spec.trial;
  const auto i = static_cast<std::uint64_t>(patient);
  const auto k = static_cast<std::uint64_t>(c);
  Drawn d = DrawCandidate(spec, patient, c);
  if (t.screening) {
    Rng screen(StreamSeed(spec.seed, {i, 4, k}));
    d.screen_sbp = MeasureVisit(t, screen, d.sbp, d.dbp).sbp_mmhg;
  }
  if (t.measurement_noise) {
    Rng baseline(StreamSeed(spec.seed, {i, 6, k}));
    const OfficeBp v = MeasureVisit(t, baseline, d.sbp, d.dbp);
    d.baseline_noise = {v.sbp_mmhg - d.sbp, v.dbp_mmhg - d.dbp};
  }
  return d;
}

// The slot's first candidate whose screening SBP (and, confirmed at baseline, baseline-visit SBP)
// reaches the threshold (trial.h); InvalidArgument after kMaxCandidates.
absl::StatusOr<Drawn> DrawEnrolled(const CohortSpec& spec, int patient) {
  const TrialSpec& t = spec.trial;
  if (!t.screening) return DrawMeasured(spec, patient, 0);
  for (int c = 0; c < kMaxCandidates; ++c) {
    Drawn d = DrawMeasured(spec, patient, c);
    const bool baseline_ok = !t.confirm_at_baseline || d.sbp + d.baseline_noise.sbp_mmhg >= t.screen_sbp_min_mmhg;
    if (d.screen_sbp >= t.screen_sbp_min_mmhg && baseline_ok) return d;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "trial.screen_sbp_min_mmhg: none of ", kMaxCandidates, " candidates for patient ", patient,
      " screened at or above ", t.screen_sbp_min_mmhg, " mmHg; lower it or raise population.sbp_mmhg.mean"));
}

// The enrolled patient with its per-patient trial draws (trial_patient.h).
absl::StatusOr<Drawn> Draw(const CohortSpec& spec, int patient) {
  absl::StatusOr<Drawn> d = DrawEnrolled(spec, patient);
  if (!d.ok()) return d;
  d->trial_patient = DrawTrialPatient(spec.trial, spec.seed, patient);
  d->sensitivity = ScaleSensitivity(d->sensitivity, d->trial_patient);
  return d;
}

int TierOf(double sbp) {
  int best = 0;
  for (int i = 1; i < kTierCount; ++i) {
    if (std::abs(kTiers[i].first - sbp) < std::abs(kTiers[best].first - sbp)) best = i;
  }
  return best;
}

int ArchetypeIndex(Sex sex, int tier) { return (sex == Sex::kFemale ? kTierCount : 0) + tier; }

struct Archetype {
  ModelParams params;
  std::shared_ptr<const SteadyStateMap> map;
  Haemodynamics rest;  // at the nominal point, no modifiers
};

absl::StatusOr<Archetype> BuildArchetype(int index) {
  const Sex sex = index >= kTierCount ? Sex::kFemale : Sex::kMale;
  const auto [sbp, dbp] = kTiers[index % kTierCount];
  const Demographics d =
      sex == Sex::kMale ? Demographics{55.0, Sex::kMale, 176.0, 85.0} : Demographics{55.0, Sex::kFemale, 162.0, 72.0};
  absl::StatusOr<ModelParams> p = PatientFromDemographics(d, {kArchetypeHeartRateBpm, sbp, dbp});
  if (!p.ok()) {
    return absl::InternalError(absl::StrCat("archetype ", sbp, "/", dbp, ": ", p.status().message()));
  }
  absl::StatusOr<SteadyStateMap> map = SteadyStateMap::Build(*p);
  if (!map.ok()) return absl::InternalError(absl::StrCat("archetype map: ", map.status().message()));
  Archetype a;
  a.params = *p;
  a.map = std::make_shared<const SteadyStateMap>(*std::move(map));
  a.rest = a.map->At(a.params.circulation.total_blood_volume_ml, a.params.baroreflex.set_point_mmhg, {});
  return a;
}

// Archetypes are deterministic, so one process keeps those it has built (a few hundred kB each)
// for later cohorts: the service runs many jobs, the tests many small cohorts.
absl::StatusOr<std::shared_ptr<const Archetype>> CachedArchetype(int index) {
  static std::mutex mu;
  static std::array<std::shared_ptr<const Archetype>, 2 * kTierCount> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (cache[index] != nullptr) return cache[index];
  }
  absl::StatusOr<Archetype> a = BuildArchetype(index);  // outside the lock: two may race, same result
  if (!a.ok()) return a.status();
  std::lock_guard<std::mutex> lock(mu);
  if (cache[index] == nullptr) cache[index] = std::make_shared<const Archetype>(*std::move(a));
  return cache[index];
}

// The patient's resting state on the archetype (see the header).
struct Personalised {
  RestingState rest;
  double pulse_pressure_scale = 1.0;
};

Personalised Personalise(const Archetype& a, const Drawn& d) {
  const double bv = a.params.circulation.total_blood_volume_ml;
  Personalised p;
  EffectorModifiers& m = p.rest.effectors;
  Haemodynamics h = a.rest;
  // Reported SBP = MAP + s·(SBP_map − MAP), s = PP_target / PP_map, so SBP and DBP are both hit
  // when MAP = DBP + shape·PP_target with the map's own waveform shape at the solution.
  for (int i = 0; i < 100; ++i) {
    const double shape = (h.map_mmhg - h.dbp_mmhg) / std::max(1.0, h.sbp_mmhg - h.dbp_mmhg);
    const double map_target = d.dbp + shape * (d.sbp - d.dbp);
    p.rest.set_point_offset_mmhg = map_target - a.rest.map_mmhg;
    const double sp = a.params.baroreflex.set_point_mmhg + p.rest.set_point_offset_mmhg;
    h = a.map->At(bv, sp, m);
    if (std::abs(h.map_mmhg - map_target) < 0.002 && std::abs(h.heart_rate_bpm - d.hr) < 0.002) break;
    m.heart_rate_factor = std::clamp(m.heart_rate_factor * d.hr / h.heart_rate_bpm, 0.3, 3.0);
    m.systemic_resistance_factor = std::clamp(
        m.systemic_resistance_factor * (map_target - h.cvp_mmhg) / std::max(1.0, h.map_mmhg - h.cvp_mmhg), 0.3, 3.0);
    h = a.map->At(bv, sp, m);
  }
  p.pulse_pressure_scale = (d.sbp - d.dbp) / std::max(1.0, h.sbp_mmhg - h.dbp_mmhg);
  return p;
}

VirtualPerson MakePerson(const Archetype& a, const Drawn& d) {
  const Personalised p = Personalise(a, d);
  VirtualPerson person;
  person.map = a.map;
  person.params = a.params;
  // Height only enters the engine's blood volume, which is the archetype's (see the header).
  person.long_horizon = LongHorizonParamsFor(Demographics{d.age, d.sex, 170.0, d.weight});
  person.rest = p.rest;
  person.pulse_pressure_scale = p.pulse_pressure_scale;
  person.covariates.weight_kg = d.weight;
  person.covariates.age_years = d.age;
  person.sensitivity = d.sensitivity;
  return person;
}

absl::Status CheckNormal(const NormalSpec& n, const char* field, Bounds b) {
  if (!(n.mean >= b.lo && n.mean <= b.hi)) {
    return absl::InvalidArgumentError(
        absl::StrCat("population.", field, ".mean: must be in ", b.lo, "-", b.hi, ", got ", n.mean));
  }
  if (!(n.sd >= 0.0 && n.sd <= (b.hi - b.lo))) {
    return absl::InvalidArgumentError(
        absl::StrCat("population.", field, ".sd: must be in 0-", b.hi - b.lo, ", got ", n.sd));
  }
  return absl::OkStatus();
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string CsvQuote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

absl::Status ValidateCohortSpec(const CohortSpec& spec) {
  if (spec.patients < 1 || spec.patients > 1'000'000) {
    return absl::InvalidArgumentError(absl::StrCat("patients: must be in 1..1000000, got ", spec.patients));
  }
  if (spec.days < 1 || spec.days > 365) {
    return absl::InvalidArgumentError(absl::StrCat("days: must be in 1..365, got ", spec.days));
  }
  const PopulationSpec& p = spec.population;
  for (auto [n, field, b] : {std::tuple{p.sbp_mmhg, "sbp_mmhg", kSbp},
                             {p.dbp_mmhg, "dbp_mmhg", kDbp},
                             {p.heart_rate_bpm, "heart_rate_bpm", kHr},
                             {p.age_years, "age_years", kAge},
                             {p.weight_kg, "weight_kg", kWeight}}) {
    if (absl::Status s = CheckNormal(n, field, b); !s.ok()) return s;
  }
  if (p.sbp_mmhg.mean - p.dbp_mmhg.mean < kMinPulsePressure) {
    return absl::InvalidArgumentError(absl::StrCat("population.dbp_mmhg.mean: must be at least ", kMinPulsePressure,
                                                   " mmHg below population.sbp_mmhg.mean"));
  }
  if (!(p.female_fraction >= 0.0 && p.female_fraction <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("population.female_fraction: must be in 0-1, got ", p.female_fraction));
  }
  if (!(p.sbp_dbp_correlation >= 0.0 && p.sbp_dbp_correlation < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("population.sbp_dbp_correlation: must be in [0, 1), got ", p.sbp_dbp_correlation));
  }
  if (spec.arms.empty() || spec.arms.size() > 20) {
    return absl::InvalidArgumentError(absl::StrCat("arms: between 1 and 20 arms are required, got ", spec.arms.size()));
  }
  const std::int64_t rows =
      static_cast<std::int64_t>(spec.patients) *
      (spec.allocation == Allocation::kEveryArm ? static_cast<std::int64_t>(spec.arms.size()) : 1);
  if (rows > kMaxRows) {
    return absl::InvalidArgumentError(absl::StrCat("patients: ", spec.patients, " patients x ", spec.arms.size(),
                                                   " arms is ", rows, " per-patient rows; at most ", kMaxRows,
                                                   " are kept in memory (split the cohort by seed)"));
  }
  if (absl::Status s = ValidateTarget(spec.target, "target"); !s.ok()) return s;
  if (absl::Status s = ValidateTrialSpec(spec.trial); !s.ok()) return s;
  std::set<std::string> names;
  for (std::size_t a = 0; a < spec.arms.size(); ++a) {
    const ArmSpec& arm = spec.arms[a];
    if (arm.name.empty()) return absl::InvalidArgumentError(absl::StrCat("arms[", a, "].name: must not be empty"));
    if (!names.insert(arm.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("arms[", a, "].name: '", arm.name, "' is used by an earlier arm"));
    }
    if (arm.treatments.size() > 8) {
      return absl::InvalidArgumentError(
          absl::StrCat("arms[", a, "].treatments: at most 8, got ", arm.treatments.size()));
    }
    for (std::size_t t = 0; t < arm.treatments.size(); ++t) {
      const ArmTreatment& tr = arm.treatments[t];
      DrugRegimen r;
      r.drug = tr.drug;
      r.dose_mg = tr.dose_mg;
      r.interval_h = tr.interval_h;
      r.off_label = tr.off_label;
      if (absl::Status s = ValidateRegimen(r, spec.days, absl::StrCat("arms[", a, "].treatments[", t, "]")); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

namespace {

// Simulates patients [range.begin, range.end) of a validated spec; rows by patient, then arm.
absl::StatusOr<CohortShardResult> SimulateRange(const CohortSpec& spec, PatientRange range,
                                                const CohortRunOptions& options) {
  const ProgressFn& progress = options.progress;
  if (progress && !progress(0.0, "drawing patients")) return absl::CancelledError("cancelled by the progress callback");

  const int n = range.end - range.begin;
  const int n_arms = static_cast<int>(spec.arms.size());
  std::vector<Drawn> drawn(static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j) {
    absl::StatusOr<Drawn> d = Draw(spec, range.begin + j);
    if (!d.ok()) return d.status();
    drawn[j] = *d;
  }

  // Archetypes in use, built in parallel.
  std::vector<int> needed;
  {
    std::array<bool, 2 * kTierCount> used{};
    for (const Drawn& d : drawn) used[ArchetypeIndex(d.sex, TierOf(d.sbp))] = true;
    for (int i = 0; i < 2 * kTierCount; ++i) {
      if (used[i]) needed.push_back(i);
    }
  }
  const int arms_per_patient = spec.allocation == Allocation::kEveryArm ? n_arms : 1;
  const double archetype_cost = kArchetypeCost * static_cast<double>(needed.size());
  const double course_cost = kCourseDayCost * spec.days * static_cast<double>(n) * arms_per_patient;
  const double map_share = archetype_cost / (archetype_cost + course_cost);

  std::array<std::shared_ptr<const Archetype>, 2 * kTierCount> archetypes;
  absl::Status built = ParallelFor(
      static_cast<int>(needed.size()), options.threads,
      [&](int i) -> absl::Status {
        absl::StatusOr<std::shared_ptr<const Archetype>> a = CachedArchetype(needed[i]);
        if (!a.ok()) return a.status();
        archetypes[needed[i]] = *std::move(a);
        return absl::OkStatus();
      },
      [&](int done) {
        return !progress || progress(map_share * done / static_cast<double>(needed.size()), "building archetype maps");
      });
  if (!built.ok()) return built;

  // Arm regimens.
  std::vector<std::vector<pharma::Regimen>> regimens;
  for (const ArmSpec& arm : spec.arms) {
    std::vector<pharma::Regimen> rs;
    for (const ArmTreatment& t : arm.treatments) {
      DrugRegimen r;
      r.drug = t.drug;
      r.dose_mg = t.dose_mg;
      r.interval_h = t.interval_h;
      r.off_label = t.off_label;
      rs.push_back(ToPharmaRegimen(r));
    }
    regimens.push_back(std::move(rs));
  }

  std::vector<PatientRow> rows(static_cast<std::size_t>(n) * arms_per_patient);
  auto work = [&](int j) -> absl::Status {
    const int i = range.begin + j;  // the patient index: every random stream derives from it
    const Drawn& d = drawn[j];
    const VirtualPerson person = MakePerson(*archetypes[ArchetypeIndex(d.sex, TierOf(d.sbp))], d);
    const Intake intake{person.long_horizon.reference_sodium_intake_mmol_per_day,
                        person.long_horizon.reference_fluid_intake_l_per_day};
    for (int k = 0; k < arms_per_patient; ++k) {
      const int arm = spec.allocation == Allocation::kEveryArm ? k : d.arm;
      const std::uint64_t pk_seed =
          StreamSeed(spec.seed, {static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(arm), 3});
      absl::StatusOr<Course> c =
          SimulateCourse(person, AsTaken(regimens[arm], d.trial_patient), intake, spec.days, pk_seed);
      if (!c.ok()) {
        // The spec was validated, so a failing course is our fault, not the caller's.
        return absl::InternalError(absl::StrCat("patient ", i, " arm ", arm, ": ", c.status().message()));
      }
      PatientRow& r = rows[static_cast<std::size_t>(j) * arms_per_patient + k];
      r.patient = i;
      r.arm = arm;
      r.sex = d.sex;
      r.age_years = d.age;
      r.weight_kg = d.weight;
      r.drawn_sbp_mmhg = d.sbp;
      r.drawn_dbp_mmhg = d.dbp;
      r.drawn_heart_rate_bpm = d.hr;
      r.baseline_sbp_mmhg = c->baseline.sbp_mmhg;
      r.baseline_dbp_mmhg = c->baseline.dbp_mmhg;
      r.baseline_heart_rate_bpm = c->baseline.heart_rate_bpm;
      const Vitals& end = c->days.back().trough;
      r.end_sbp_mmhg = end.sbp_mmhg;
      r.end_dbp_mmhg = end.dbp_mmhg;
      r.end_heart_rate_bpm = end.heart_rate_bpm;
      r.weight_change_percent = 100.0 * (end.weight_kg - c->baseline.weight_kg) / c->baseline.weight_kg;
      r.at_target = end.sbp_mmhg < spec.target.systolic_below_mmhg && end.dbp_mmhg < spec.target.diastolic_below_mmhg;
      r.min_sbp_mmhg = c->baseline.sbp_mmhg;
      r.min_heart_rate_bpm = c->baseline.heart_rate_bpm;
      for (const CourseDay& day : c->days) {
        r.min_sbp_mmhg = std::min(r.min_sbp_mmhg, day.min_sbp_mmhg);
        r.min_heart_rate_bpm = std::min(r.min_heart_rate_bpm, day.min_heart_rate_bpm);
        r.extrapolated |= day.extrapolated;
      }
      const CourseFlags flags = FlagsOf(*c);
      r.hypotension = flags.hypotension;
      r.bradycardia = flags.bradycardia;
      r.volume_loss = flags.volume_loss;
      const TrialMeasures m =
          MeasureTrial(spec.trial, *c, spec.days, d.baseline_noise,
                       Rng(StreamSeed(spec.seed, {static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(arm), 5})));
      r.screen_sbp_mmhg = d.screen_sbp;
      r.office_baseline_sbp_mmhg = m.baseline.sbp_mmhg;
      r.office_baseline_dbp_mmhg = m.baseline.dbp_mmhg;
      r.office_end_sbp_mmhg = m.end.sbp_mmhg;
      r.office_end_dbp_mmhg = m.end.dbp_mmhg;
      r.last_visit_day = m.last_visit_day;
      r.completed = m.completed;
      r.doses_taken_fraction = c->doses_scheduled > 0 ? static_cast<double>(c->doses_taken) / c->doses_scheduled : 1.0;
    }
    return absl::OkStatus();
  };
  auto on_done = [&](int done) {
    return !progress || progress(map_share + (1.0 - map_share) * done / static_cast<double>(n), "simulating");
  };
  if (absl::Status s = ParallelFor(n, options.threads, work, on_done); !s.ok()) return s;

  CohortShardResult result;
  result.range = range;
  result.rows = std::move(rows);
  result.archetypes = std::move(needed);
  return result;
}

}  // namespace

absl::StatusOr<CohortResult> RunCohort(const CohortSpec& spec, const CohortRunOptions& options) {
  if (absl::Status s = ValidateCohortSpec(spec); !s.ok()) return s;
  absl::StatusOr<CohortShardResult> all = SimulateRange(spec, {0, spec.patients}, options);
  if (!all.ok()) return all.status();
  CohortResult result;
  result.archetypes_built = static_cast<int>(all->archetypes.size());
  result.arms = SummariseCohort(spec, all->rows);
  result.rows = std::move(all->rows);
  return result;
}

absl::Status ValidateCohortShard(const CohortSpec& spec, CohortShard shard) {
  if (shard.count < 1 || shard.count > spec.patients) {
    return absl::InvalidArgumentError(absl::StrCat("--shard: the shard count must be in 1..", spec.patients,
                                                   " (the spec's patients), got ", shard.count));
  }
  if (shard.index < 0 || shard.index >= shard.count) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shard: the shard index must be in 0..", shard.count - 1, ", got ", shard.index));
  }
  return absl::OkStatus();
}

PatientRange CohortShardRange(int patients, CohortShard shard) {
  const auto edge = [&](int k) {
    return static_cast<int>(static_cast<std::int64_t>(patients) * k / std::max(1, shard.count));
  };
  return {edge(shard.index), edge(shard.index + 1)};
}

absl::StatusOr<CohortShardResult> RunCohortShard(const CohortSpec& spec, CohortShard shard,
                                                 const CohortRunOptions& options) {
  if (absl::Status s = ValidateCohortSpec(spec); !s.ok()) return s;
  if (absl::Status s = ValidateCohortShard(spec, shard); !s.ok()) return s;
  absl::StatusOr<CohortShardResult> r = SimulateRange(spec, CohortShardRange(spec.patients, shard), options);
  if (r.ok()) r->shard = shard;
  return r;
}

absl::StatusOr<PopulationDraw> DrawPopulation(const CohortSpec& spec, int index) {
  if (absl::Status s = ValidateCohortSpec(spec); !s.ok()) return s;
  if (index < 0 || index >= spec.patients) {
    return absl::InvalidArgumentError(absl::StrCat("index: must be in 0..", spec.patients - 1, ", got ", index));
  }
  absl::StatusOr<Drawn> d = Draw(spec, index);
  if (!d.ok()) return d.status();
  return PopulationDraw{d->sex, d->sbp, d->dbp, d->hr, d->age, d->weight, d->sensitivity, d->screen_sbp, d->candidate};
}

absl::StatusOr<CohortPatient> MakeCohortPatient(const CohortSpec& spec, int index) {
  if (absl::Status s = ValidateCohortSpec(spec); !s.ok()) return s;
  if (index < 0 || index >= spec.patients) {
    return absl::InvalidArgumentError(absl::StrCat("index: must be in 0..", spec.patients - 1, ", got ", index));
  }
  absl::StatusOr<Drawn> drawn = Draw(spec, index);
  if (!drawn.ok()) return drawn.status();
  const Drawn& d = *drawn;
  absl::StatusOr<std::shared_ptr<const Archetype>> a = CachedArchetype(ArchetypeIndex(d.sex, TierOf(d.sbp)));
  if (!a.ok()) return a.status();
  CohortPatient p;
  p.person = MakePerson(**a, d);
  p.demographics = Demographics{d.age, d.sex, 170.0, d.weight};
  p.targets = RestingTargets{d.hr, d.sbp, d.dbp};
  return p;
}

std::string PerPatientCsvHeader() {
  return "patient,arm,sex,age_years,weight_kg,baseline_sbp_mmhg,baseline_dbp_mmhg,baseline_heart_rate_bpm,"
         "end_sbp_mmhg,end_dbp_mmhg,end_heart_rate_bpm,delta_sbp_mmhg,delta_dbp_mmhg,delta_heart_rate_bpm,"
         "min_sbp_mmhg,min_heart_rate_bpm,weight_change_percent,at_target,hypotension,bradycardia,volume_loss,"
         "extrapolated\n";
}

std::string PerPatientCsvHeader(const CohortSpec& spec) {
  std::string h = PerPatientCsvHeader();
  if (!spec.trial.AnyOn()) return h;
  h.pop_back();
  return h +
         ",screen_sbp_mmhg,office_baseline_sbp_mmhg,office_baseline_dbp_mmhg,office_end_sbp_mmhg,office_end_dbp_mmhg,"
         "office_delta_sbp_mmhg,office_delta_dbp_mmhg,last_visit_day,completed,doses_taken_fraction\n";
}

std::string PerPatientCsvRow(const CohortSpec& spec, const PatientRow& r) {
  const std::string arm = r.arm >= 0 && r.arm < static_cast<int>(spec.arms.size()) ? spec.arms[r.arm].name : "";
  std::string trial;
  if (spec.trial.AnyOn()) {
    trial =
        absl::StrCat(",", Fixed(r.screen_sbp_mmhg, 2), ",", Fixed(r.office_baseline_sbp_mmhg, 2), ",",
                     Fixed(r.office_baseline_dbp_mmhg, 2), ",", Fixed(r.office_end_sbp_mmhg, 2), ",",
                     Fixed(r.office_end_dbp_mmhg, 2), ",", Fixed(r.office_end_sbp_mmhg - r.office_baseline_sbp_mmhg, 2),
                     ",", Fixed(r.office_end_dbp_mmhg - r.office_baseline_dbp_mmhg, 2), ",", r.last_visit_day, ",",
                     r.completed ? 1 : 0, ",", Fixed(r.doses_taken_fraction, 3));
  }
  return absl::StrCat(
      r.patient, ",", CsvQuote(arm), ",", r.sex == Sex::kFemale ? "female" : "male", ",", Fixed(r.age_years, 1), ",",
      Fixed(r.weight_kg, 1), ",", Fixed(r.baseline_sbp_mmhg, 2), ",", Fixed(r.baseline_dbp_mmhg, 2), ",",
      Fixed(r.baseline_heart_rate_bpm, 2), ",", Fixed(r.end_sbp_mmhg, 2), ",", Fixed(r.end_dbp_mmhg, 2), ",",
      Fixed(r.end_heart_rate_bpm, 2), ",", Fixed(r.end_sbp_mmhg - r.baseline_sbp_mmhg, 2), ",",
      Fixed(r.end_dbp_mmhg - r.baseline_dbp_mmhg, 2), ",", Fixed(r.end_heart_rate_bpm - r.baseline_heart_rate_bpm, 2),
      ",", Fixed(r.min_sbp_mmhg, 2), ",", Fixed(r.min_heart_rate_bpm, 2), ",", Fixed(r.weight_change_percent, 3), ",",
      r.at_target ? 1 : 0, ",", r.hypotension ? 1 : 0, ",", r.bradycardia ? 1 : 0, ",", r.volume_loss ? 1 : 0, ",",
      r.extrapolated ? 1 : 0, trial, "\n");
}

std::string PerPatientCsv(const CohortSpec& spec, const CohortResult& result, int offset, int limit) {
  std::string out = PerPatientCsvHeader(spec);
  const int total = static_cast<int>(result.rows.size());
  const int from = std::clamp(offset, 0, total);
  const int to = limit < 0 ? total : std::min(total, from + limit);
  for (int i = from; i < to; ++i) out += PerPatientCsvRow(spec, result.rows[static_cast<std::size_t>(i)]);
  return out;
}

}  // namespace healthtwin::models::treatment
