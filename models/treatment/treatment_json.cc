#include "models/treatment/treatment_json.h"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace healthtwin::models::treatment {
namespace {

using nlohmann::json;

absl::Status Error(const std::string& path, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", absl::string_view(what.data(), what.size())));
}

std::string Join(const std::string& path, std::string_view key) {
  const absl::string_view k(key.data(), key.size());
  return path.empty() ? std::string(k) : absl::StrCat(path, ".", k);
}

absl::Status ExpectObject(const json& j, const std::string& path, std::initializer_list<std::string_view> known) {
  if (!j.is_object()) return Error(path.empty() ? "spec" : path, "must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    bool ok = false;
    for (std::string_view k : known) ok |= key == k;
    if (!ok) {
      std::vector<std::string> names(known.begin(), known.end());
      return Error(Join(path, key), absl::StrCat("unknown field (expected one of ", absl::StrJoin(names, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

// Reads an optional number into *out; missing leaves *out alone unless `required`.
absl::Status Number(const json& obj, std::string_view key, const std::string& path, bool required, double* out) {
  const std::string field = Join(path, key);
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return required ? Error(field, "is required") : absl::OkStatus();
  if (!it->is_number()) return Error(field, "must be a number");
  *out = it->get<double>();
  if (!std::isfinite(*out)) return Error(field, "must be finite");
  return absl::OkStatus();
}

absl::Status Integer(const json& obj, std::string_view key, const std::string& path, bool required, int* out) {
  const std::string field = Join(path, key);
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return required ? Error(field, "is required") : absl::OkStatus();
  if (!it->is_number_integer()) return Error(field, "must be an integer");
  // An unsigned above INT64_MAX would wrap to a negative int64 (e.g. 2^64 - 1 to -1).
  if (it->is_number_unsigned() &&
      it->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
    return Error(field, "is out of range");
  const auto v = it->get<std::int64_t>();
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    return Error(field, "is out of range");
  *out = static_cast<int>(v);
  return absl::OkStatus();
}

absl::Status String(const json& obj, std::string_view key, const std::string& path, bool required, std::string* out) {
  const std::string field = Join(path, key);
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return required ? Error(field, "is required") : absl::OkStatus();
  if (!it->is_string()) return Error(field, "must be a string");
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status Bool(const json& obj, std::string_view key, const std::string& path, bool* out) {
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return absl::OkStatus();
  if (!it->is_boolean()) return Error(Join(path, key), "must be true or false");
  *out = it->get<bool>();
  return absl::OkStatus();
}

absl::Status Seed(const json& obj, std::string_view key, const std::string& path, bool required, std::uint64_t* out) {
  const std::string field = Join(path, key);
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return required ? Error(field, "is required") : absl::OkStatus();
  if (it->is_number_unsigned()) {
    *out = it->get<std::uint64_t>();
  } else if (it->is_number_integer() && it->get<std::int64_t>() >= 0) {
    *out = static_cast<std::uint64_t>(it->get<std::int64_t>());
  } else {
    return Error(field, "must be an integer from 0 to 18446744073709551615");
  }
  return absl::OkStatus();
}

#define HT_RETURN_IF_ERROR(expr)                       \
  do {                                                 \
    if (absl::Status _s = (expr); !_s.ok()) return _s; \
  } while (0)

absl::StatusOr<json> ParseText(std::string_view text, std::string_view what) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error(std::string(what), "not valid JSON");
  return j;
}

absl::Status ParseTarget(const json& obj, const std::string& path, Target* t) {
  HT_RETURN_IF_ERROR(ExpectObject(obj, path, {"systolic_below_mmhg", "diastolic_below_mmhg"}));
  HT_RETURN_IF_ERROR(Number(obj, "systolic_below_mmhg", path, false, &t->systolic_below_mmhg));
  return Number(obj, "diastolic_below_mmhg", path, false, &t->diastolic_below_mmhg);
}

absl::Status ParseNormal(const json& parent, std::string_view key, const std::string& path, NormalSpec* n) {
  const std::string field = Join(path, key);
  auto it = parent.find(std::string(key));
  if (it == parent.end()) return Error(field, "is required ({\"mean\": ..., \"sd\": ...})");
  HT_RETURN_IF_ERROR(ExpectObject(*it, field, {"mean", "sd"}));
  HT_RETURN_IF_ERROR(Number(*it, "mean", field, true, &n->mean));
  return Number(*it, "sd", field, true, &n->sd);
}

absl::Status ParseRegimen(const json& obj, const std::string& path, DrugRegimen* r) {
  HT_RETURN_IF_ERROR(ExpectObject(
      obj, path,
      {"drug", "dose_mg", "interval_h", "adherence_fraction", "start_day", "stop_day", "off_label", "missed_doses"}));
  HT_RETURN_IF_ERROR(String(obj, "drug", path, true, &r->drug));
  HT_RETURN_IF_ERROR(Number(obj, "dose_mg", path, true, &r->dose_mg));
  HT_RETURN_IF_ERROR(Number(obj, "interval_h", path, false, &r->interval_h));
  HT_RETURN_IF_ERROR(Number(obj, "adherence_fraction", path, false, &r->adherence_fraction));
  HT_RETURN_IF_ERROR(Integer(obj, "start_day", path, false, &r->start_day));
  HT_RETURN_IF_ERROR(Integer(obj, "stop_day", path, false, &r->stop_day));
  HT_RETURN_IF_ERROR(Bool(obj, "off_label", path, &r->off_label));
  if (auto it = obj.find("missed_doses"); it != obj.end()) {
    const std::string field = Join(path, "missed_doses");
    if (!it->is_array()) return Error(field, "must be an array of dose indices");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      if (!v.is_number_integer()) return Error(absl::StrCat(field, "[", i, "]"), "must be an integer");
      r->missed_doses.push_back(static_cast<int>(v.get<std::int64_t>()));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseOption(const json& obj, const std::string& path, TreatmentOption* o) {
  HT_RETURN_IF_ERROR(
      ExpectObject(obj, path, {"name", "drugs", "sodium_intake_mmol_per_day", "fluid_intake_l_per_day"}));
  HT_RETURN_IF_ERROR(String(obj, "name", path, true, &o->name));
  if (auto it = obj.find("drugs"); it != obj.end()) {
    const std::string field = Join(path, "drugs");
    if (!it->is_array()) return Error(field, "must be an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      DrugRegimen r;
      HT_RETURN_IF_ERROR(ParseRegimen((*it)[i], absl::StrCat(field, "[", i, "]"), &r));
      o->drugs.push_back(std::move(r));
    }
  }
  for (auto [key, into] : {std::pair{"sodium_intake_mmol_per_day", &o->sodium_intake_mmol_per_day},
                           {"fluid_intake_l_per_day", &o->fluid_intake_l_per_day}}) {
    if (!obj.contains(key)) continue;
    double v = 0;
    HT_RETURN_IF_ERROR(Number(obj, key, path, true, &v));
    *into = v;
  }
  return absl::OkStatus();
}

absl::Status ParsePosterior(const json& obj, const std::string& path, TwinPosterior* p) {
  HT_RETURN_IF_ERROR(ExpectObject(obj, path, {"names", "mean", "covariance", "version", "source"}));
  for (const char* key : {"names", "mean", "covariance"}) {
    if (!obj.contains(key) || !obj[key].is_array()) return Error(Join(path, key), "is required and must be an array");
  }
  for (std::size_t i = 0; i < obj["names"].size(); ++i) {
    if (!obj["names"][i].is_string()) return Error(absl::StrCat(path, ".names[", i, "]"), "must be a string");
    p->names.push_back(obj["names"][i].get<std::string>());
  }
  for (auto [key, into] : {std::pair{"mean", &p->mean}, {"covariance", &p->covariance}}) {
    for (std::size_t i = 0; i < obj[key].size(); ++i) {
      if (!obj[key][i].is_number()) return Error(absl::StrCat(path, ".", key, "[", i, "]"), "must be a number");
      into->push_back(obj[key][i].get<double>());
    }
  }
  HT_RETURN_IF_ERROR(Seed(obj, "version", path, false, &p->version));
  p->source = "file";
  return String(obj, "source", path, false, &p->source);
}

// "trial": false (everything off), true (the defaults) or an object of switches and numbers.
absl::Status ParseTrial(const json& j, const std::string& path, TrialSpec* t) {
  if (j.is_boolean()) {
    *t = j.get<bool>() ? TrialSpec{} : TrialSpec::Off();
    return absl::OkStatus();
  }
  HT_RETURN_IF_ERROR(ExpectObject(j, path,
                                  {"measurement_noise",
                                   "sbp_within_visit_sd_mmhg",
                                   "dbp_within_visit_sd_mmhg",
                                   "sbp_visit_sd_mmhg",
                                   "dbp_visit_sd_mmhg",
                                   "readings_per_visit",
                                   "visit_schedule",
                                   "visit_interval_days",
                                   "screening",
                                   "screen_sbp_min_mmhg",
                                   "confirm_at_baseline",
                                   "placebo_response",
                                   "placebo_sbp_mmhg",
                                   "placebo_dbp_mmhg",
                                   "dropout",
                                   "dropout_per_30_days",
                                   "analysis",
                                   "response_heterogeneity",
                                   "response_log_sd",
                                   "adherence",
                                   "adherence_mean",
                                   "adherence_concentration",
                                   "stop_per_year"}));
  HT_RETURN_IF_ERROR(Bool(j, "measurement_noise", path, &t->measurement_noise));
  HT_RETURN_IF_ERROR(Number(j, "sbp_within_visit_sd_mmhg", path, false, &t->sbp_within_visit_sd_mmhg));
  HT_RETURN_IF_ERROR(Number(j, "dbp_within_visit_sd_mmhg", path, false, &t->dbp_within_visit_sd_mmhg));
  HT_RETURN_IF_ERROR(Number(j, "sbp_visit_sd_mmhg", path, false, &t->sbp_visit_sd_mmhg));
  HT_RETURN_IF_ERROR(Number(j, "dbp_visit_sd_mmhg", path, false, &t->dbp_visit_sd_mmhg));
  HT_RETURN_IF_ERROR(Integer(j, "readings_per_visit", path, false, &t->readings_per_visit));
  HT_RETURN_IF_ERROR(Bool(j, "visit_schedule", path, &t->visit_schedule));
  HT_RETURN_IF_ERROR(Integer(j, "visit_interval_days", path, false, &t->visit_interval_days));
  HT_RETURN_IF_ERROR(Bool(j, "screening", path, &t->screening));
  HT_RETURN_IF_ERROR(Number(j, "screen_sbp_min_mmhg", path, false, &t->screen_sbp_min_mmhg));
  HT_RETURN_IF_ERROR(Bool(j, "confirm_at_baseline", path, &t->confirm_at_baseline));
  HT_RETURN_IF_ERROR(Bool(j, "placebo_response", path, &t->placebo_response));
  HT_RETURN_IF_ERROR(Number(j, "placebo_sbp_mmhg", path, false, &t->placebo_sbp_mmhg));
  HT_RETURN_IF_ERROR(Number(j, "placebo_dbp_mmhg", path, false, &t->placebo_dbp_mmhg));
  HT_RETURN_IF_ERROR(Bool(j, "dropout", path, &t->dropout));
  HT_RETURN_IF_ERROR(Number(j, "dropout_per_30_days", path, false, &t->dropout_per_30_days));
  HT_RETURN_IF_ERROR(Bool(j, "response_heterogeneity", path, &t->response_heterogeneity));
  HT_RETURN_IF_ERROR(Number(j, "response_log_sd", path, false, &t->response_log_sd));
  HT_RETURN_IF_ERROR(Bool(j, "adherence", path, &t->adherence));
  HT_RETURN_IF_ERROR(Number(j, "adherence_mean", path, false, &t->adherence_mean));
  HT_RETURN_IF_ERROR(Number(j, "adherence_concentration", path, false, &t->adherence_concentration));
  HT_RETURN_IF_ERROR(Number(j, "stop_per_year", path, false, &t->stop_per_year));
  std::string analysis = t->analysis == DropoutAnalysis::kLocf ? "locf" : "completers";
  HT_RETURN_IF_ERROR(String(j, "analysis", path, false, &analysis));
  if (analysis == "locf") {
    t->analysis = DropoutAnalysis::kLocf;
  } else if (analysis == "completers") {
    t->analysis = DropoutAnalysis::kCompleters;
  } else {
    return Error(Join(path, "analysis"), absl::StrCat("must be \"locf\" or \"completers\", got \"", analysis, "\""));
  }
  return absl::OkStatus();
}

json TrialJson(const TrialSpec& t) {
  return json{{"measurement_noise", t.measurement_noise},
              {"sbp_within_visit_sd_mmhg", t.sbp_within_visit_sd_mmhg},
              {"dbp_within_visit_sd_mmhg", t.dbp_within_visit_sd_mmhg},
              {"sbp_visit_sd_mmhg", t.sbp_visit_sd_mmhg},
              {"dbp_visit_sd_mmhg", t.dbp_visit_sd_mmhg},
              {"readings_per_visit", t.readings_per_visit},
              {"visit_schedule", t.visit_schedule},
              {"visit_interval_days", t.visit_interval_days},
              {"screening", t.screening},
              {"screen_sbp_min_mmhg", t.screen_sbp_min_mmhg},
              {"confirm_at_baseline", t.confirm_at_baseline},
              {"placebo_response", t.placebo_response},
              {"placebo_sbp_mmhg", t.placebo_sbp_mmhg},
              {"placebo_dbp_mmhg", t.placebo_dbp_mmhg},
              {"dropout", t.dropout},
              {"dropout_per_30_days", t.dropout_per_30_days},
              {"analysis", t.analysis == DropoutAnalysis::kLocf ? "locf" : "completers"},
              {"response_heterogeneity", t.response_heterogeneity},
              {"response_log_sd", t.response_log_sd},
              {"adherence", t.adherence},
              {"adherence_mean", t.adherence_mean},
              {"adherence_concentration", t.adherence_concentration},
              {"stop_per_year", t.stop_per_year}};
}

json DifferenceJson(const MeanDifference& d) {
  return json{{"difference", d.difference}, {"ci95_low", d.ci95_low}, {"ci95_high", d.ci95_high}};
}

std::string_view AllocationName(Allocation a) { return a == Allocation::kRandomized ? "randomized" : "every_arm"; }

json MeanChangeJson(const MeanChange& m) {
  return json{{"baseline_mean", m.baseline_mean}, {"end_mean", m.end_mean},          {"mean_change", m.mean_change},
              {"change_ci95_low", m.ci95_low},    {"change_ci95_high", m.ci95_high}, {"sd_change", m.sd_change}};
}

}  // namespace

absl::StatusOr<CohortSpec> ParseCohortSpec(std::string_view text) {
  absl::StatusOr<json> parsed = ParseText(text, "spec");
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  CohortSpec s;
  HT_RETURN_IF_ERROR(ExpectObject(
      j, "", {"seed", "patients", "days", "population", "arms", "target", "allocation", "description", "trial"}));
  HT_RETURN_IF_ERROR(Seed(j, "seed", "", true, &s.seed));
  HT_RETURN_IF_ERROR(Integer(j, "patients", "", true, &s.patients));
  HT_RETURN_IF_ERROR(Integer(j, "days", "", true, &s.days));
  if (j.contains("description") && !j["description"].is_string()) return Error("description", "must be a string");
  if (j.contains("target")) HT_RETURN_IF_ERROR(ParseTarget(j["target"], "target", &s.target));
  if (j.contains("trial")) HT_RETURN_IF_ERROR(ParseTrial(j["trial"], "trial", &s.trial));
  if (j.contains("allocation")) {
    std::string a;
    HT_RETURN_IF_ERROR(String(j, "allocation", "", true, &a));
    if (a == "every_arm") {
      s.allocation = Allocation::kEveryArm;
    } else if (a == "randomized") {
      s.allocation = Allocation::kRandomized;
    } else {
      return Error("allocation", absl::StrCat("must be \"every_arm\" or \"randomized\", got \"", a, "\""));
    }
  }
  if (!j.contains("population")) return Error("population", "is required");
  const json& pop = j["population"];
  HT_RETURN_IF_ERROR(ExpectObject(
      pop, "population",
      {"sbp_mmhg", "dbp_mmhg", "heart_rate_bpm", "age_years", "weight_kg", "female_fraction", "sbp_dbp_correlation"}));
  PopulationSpec& p = s.population;
  HT_RETURN_IF_ERROR(ParseNormal(pop, "sbp_mmhg", "population", &p.sbp_mmhg));
  HT_RETURN_IF_ERROR(ParseNormal(pop, "dbp_mmhg", "population", &p.dbp_mmhg));
  HT_RETURN_IF_ERROR(ParseNormal(pop, "heart_rate_bpm", "population", &p.heart_rate_bpm));
  HT_RETURN_IF_ERROR(ParseNormal(pop, "age_years", "population", &p.age_years));
  HT_RETURN_IF_ERROR(ParseNormal(pop, "weight_kg", "population", &p.weight_kg));
  HT_RETURN_IF_ERROR(Number(pop, "female_fraction", "population", true, &p.female_fraction));
  HT_RETURN_IF_ERROR(Number(pop, "sbp_dbp_correlation", "population", false, &p.sbp_dbp_correlation));
  if (!j.contains("arms") || !j["arms"].is_array()) return Error("arms", "is required and must be an array");
  for (std::size_t a = 0; a < j["arms"].size(); ++a) {
    const json& arm = j["arms"][a];
    const std::string path = absl::StrCat("arms[", a, "]");
    HT_RETURN_IF_ERROR(ExpectObject(arm, path, {"name", "treatments"}));
    ArmSpec spec;
    HT_RETURN_IF_ERROR(String(arm, "name", path, true, &spec.name));
    if (!arm.contains("treatments") || !arm["treatments"].is_array()) {
      return Error(Join(path, "treatments"), "is required and must be an array ([] for placebo)");
    }
    for (std::size_t t = 0; t < arm["treatments"].size(); ++t) {
      const json& tj = arm["treatments"][t];
      const std::string tp = absl::StrCat(path, ".treatments[", t, "]");
      HT_RETURN_IF_ERROR(ExpectObject(tj, tp, {"drug", "dose_mg", "interval_h", "off_label"}));
      ArmTreatment tr;
      HT_RETURN_IF_ERROR(String(tj, "drug", tp, true, &tr.drug));
      HT_RETURN_IF_ERROR(Number(tj, "dose_mg", tp, true, &tr.dose_mg));
      HT_RETURN_IF_ERROR(Number(tj, "interval_h", tp, false, &tr.interval_h));
      HT_RETURN_IF_ERROR(Bool(tj, "off_label", tp, &tr.off_label));
      spec.treatments.push_back(std::move(tr));
    }
    s.arms.push_back(std::move(spec));
  }
  HT_RETURN_IF_ERROR(ValidateCohortSpec(s));
  return s;
}

json CohortSpecToJson(const CohortSpec& s) {
  auto normal = [](const NormalSpec& n) { return json{{"mean", n.mean}, {"sd", n.sd}}; };
  const PopulationSpec& p = s.population;
  json arms = json::array();
  for (const ArmSpec& a : s.arms) {
    json ts = json::array();
    for (const ArmTreatment& t : a.treatments) {
      json tj = {{"drug", t.drug}, {"dose_mg", t.dose_mg}, {"interval_h", t.interval_h}};
      if (t.off_label) tj["off_label"] = true;
      ts.push_back(std::move(tj));
    }
    arms.push_back({{"name", a.name}, {"treatments", std::move(ts)}});
  }
  return json{{"seed", s.seed},
              {"patients", s.patients},
              {"days", s.days},
              {"allocation", AllocationName(s.allocation)},
              {"target",
               {{"systolic_below_mmhg", s.target.systolic_below_mmhg},
                {"diastolic_below_mmhg", s.target.diastolic_below_mmhg}}},
              {"population",
               {{"sbp_mmhg", normal(p.sbp_mmhg)},
                {"dbp_mmhg", normal(p.dbp_mmhg)},
                {"heart_rate_bpm", normal(p.heart_rate_bpm)},
                {"age_years", normal(p.age_years)},
                {"weight_kg", normal(p.weight_kg)},
                {"female_fraction", p.female_fraction},
                {"sbp_dbp_correlation", p.sbp_dbp_correlation}}},
              {"trial", TrialJson(s.trial)},
              {"arms", std::move(arms)}};
}

absl::StatusOr<WhatIfSpec> ParseWhatIfOptions(std::string_view text, const WhatIfSpec& defaults) {
  absl::StatusOr<json> parsed = ParseText(text, "options file");
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  WhatIfSpec s = defaults;
  s.options.clear();
  HT_RETURN_IF_ERROR(ExpectObject(j, "", {"options", "target", "flag_fraction", "posterior", "description"}));
  if (j.contains("description") && !j["description"].is_string()) return Error("description", "must be a string");
  if (!j.contains("options") || !j["options"].is_array()) return Error("options", "is required and must be an array");
  for (std::size_t i = 0; i < j["options"].size(); ++i) {
    TreatmentOption o;
    HT_RETURN_IF_ERROR(ParseOption(j["options"][i], absl::StrCat("options[", i, "]"), &o));
    s.options.push_back(std::move(o));
  }
  if (j.contains("target")) HT_RETURN_IF_ERROR(ParseTarget(j["target"], "target", &s.target));
  HT_RETURN_IF_ERROR(Number(j, "flag_fraction", "", false, &s.flag_fraction));
  if (j.contains("posterior")) {
    TwinPosterior p;
    HT_RETURN_IF_ERROR(ParsePosterior(j["posterior"], "posterior", &p));
    s.posterior = std::move(p);
  }
  HT_RETURN_IF_ERROR(ValidateWhatIfSpec(s));
  return s;
}

json CohortResultToJson(const CohortSpec& spec, const CohortResult& r) {
  json arms = json::array();
  for (const ArmSummary& a : r.arms) {
    json adjusted = nullptr;
    if (a.placebo_adjusted.control_arm >= 0) {
      adjusted = {{"versus", spec.arms[static_cast<std::size_t>(a.placebo_adjusted.control_arm)].name},
                  {"systolic_mmhg", DifferenceJson(a.placebo_adjusted.sbp_mmhg)},
                  {"diastolic_mmhg", DifferenceJson(a.placebo_adjusted.dbp_mmhg)}};
    }
    arms.push_back({{"arm", a.name},
                    {"patients", a.n},
                    {"analysed", a.analysed},
                    {"dropouts", a.dropouts},
                    {"placebo_adjusted", std::move(adjusted)},
                    {"systolic_mmhg", MeanChangeJson(a.sbp_mmhg)},
                    {"diastolic_mmhg", MeanChangeJson(a.dbp_mmhg)},
                    {"heart_rate_bpm", MeanChangeJson(a.heart_rate_bpm)},
                    {"target_attainment_fraction", a.target_attainment_fraction},
                    {"safety_flag_counts",
                     {{"hypotension", a.hypotension_count},
                      {"bradycardia", a.bradycardia_count},
                      {"volume_loss", a.volume_loss_count}}}});
  }
  return json{{"type", "cohort_result"},
              {"seed", spec.seed},
              {"patients", spec.patients},
              {"days", spec.days},
              {"allocation", AllocationName(spec.allocation)},
              {"target",
               {{"systolic_below_mmhg", spec.target.systolic_below_mmhg},
                {"diastolic_below_mmhg", spec.target.diastolic_below_mmhg}}},
              {"archetypes_built", r.archetypes_built},
              {"trial", TrialJson(spec.trial)},
              {"arms", std::move(arms)}};
}

json WhatIfResultToJson(const WhatIfResult& r) {
  json options = json::array();
  for (const OptionResult& o : r.options) {
    json flags = json::array();
    for (SafetyFlag f : o.safety_flags) flags.push_back(std::string(SafetyFlagName(f)));
    json trajectories = json::array();
    for (const Trajectory& t : o.trajectories) {
      json days = json::array();
      for (const DailyBand& b : t.days) {
        days.push_back({{"day", b.day}, {"mean", b.mean}, {"lower", b.lower}, {"upper", b.upper}});
      }
      trajectories.push_back({{"quantity", t.quantity}, {"days", std::move(days)}});
    }
    options.push_back({{"name", o.name},
                       {"rank", o.rank},
                       {"input_index", o.input_index},
                       {"target_attainment_fraction", o.target_attainment_fraction},
                       {"safety_flags", std::move(flags)},
                       {"safety_flag_fractions",
                        {{"hypotension", o.hypotension_fraction},
                         {"bradycardia", o.bradycardia_fraction},
                         {"volume_loss", o.volume_loss_fraction}}},
                       {"mean_end_trough_systolic_mmhg", o.mean_end_trough_sbp_mmhg},
                       {"mean_end_trough_diastolic_mmhg", o.mean_end_trough_dbp_mmhg},
                       {"mean_doses_taken_fraction", o.mean_doses_taken_fraction},
                       {"extrapolated", o.extrapolated},
                       {"trajectories", std::move(trajectories)}});
  }
  return json{{"type", "whatif_result"}, {"twin_version", r.twin_version},   {"ensemble_source", r.ensemble_source},
              {"days", r.days},          {"ensemble_size", r.ensemble_size}, {"options", std::move(options)}};
}

}  // namespace healthtwin::models::treatment
