#include "models/calibration/cli_commands.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "models/calibration/observation_model.h"
#include "models/calibration/prior.h"
#include "models/calibration/twin.h"
#include "models/calibration/twin_json.h"
#include "models/calibration/vitals_csv.h"
#include "models/patient.h"

namespace healthtwin::models::calibration::cli {
namespace {

using nlohmann::json;

struct Patient {
  ModelParams params = StandardAdult();
  PriorInputs prior;
  std::optional<double> weight_kg;
};

// The patient file of `healthtwin model` (models/cli_commands.h); errors name the field.
absl::StatusOr<Patient> LoadPatient(const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::InvalidArgumentError(absl::StrCat("--patient: cannot read '", path, "'"));
  json j = json::parse(f, nullptr, /*allow_exceptions=*/false);
  const std::string where = absl::StrCat("--patient ", path, ": ");
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(where, "not valid JSON"));
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, "expected a JSON object"));
  static const std::set<std::string> kKnown = {"age_years", "sex",        "height_cm",     "weight_kg",
                                               "targets",   "conditions", "salt_sensitive"};
  for (const auto& [key, value] : j.items()) {
    if (!kKnown.contains(key)) return absl::InvalidArgumentError(absl::StrCat(where, "field ", key, " is unknown"));
  }
  Demographics d;
  Patient p;
  for (auto [field, into] : {std::pair{"age_years", &d.age_years}, {"height_cm", &d.height_cm},
                             {"weight_kg", &d.weight_kg}}) {
    if (!j.contains(field)) continue;
    if (!j[field].is_number()) return absl::InvalidArgumentError(absl::StrCat(where, "field ", field, " must be a number"));
    *into = j[field].get<double>();
  }
  if (j.contains("weight_kg")) p.weight_kg = d.weight_kg;
  if (j.contains("sex")) {
    const json& s = j["sex"];
    if (!s.is_string() || (s != "female" && s != "male")) {
      return absl::InvalidArgumentError(absl::StrCat(where, "field sex must be \"female\" or \"male\""));
    }
    d.sex = s == "female" ? Sex::kFemale : Sex::kMale;
  }
  RestingTargets t;
  if (j.contains("targets")) {
    if (!j["targets"].is_object()) return absl::InvalidArgumentError(absl::StrCat(where, "field targets must be an object"));
    for (const auto& [key, value] : j["targets"].items()) {
      std::optional<double>* into = key == "heart_rate_bpm" ? &t.heart_rate_bpm
                                    : key == "sbp_mmhg"     ? &t.sbp_mmhg
                                    : key == "dbp_mmhg"     ? &t.dbp_mmhg
                                                            : nullptr;
      if (into == nullptr) return absl::InvalidArgumentError(absl::StrCat(where, "field targets.", key, " is unknown"));
      if (!value.is_number()) {
        return absl::InvalidArgumentError(absl::StrCat(where, "field targets.", key, " must be a number"));
      }
      *into = value.get<double>();
    }
  }
  if (j.contains("salt_sensitive") && !j["salt_sensitive"].is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat(where, "field salt_sensitive must be true or false"));
  }
  absl::StatusOr<ModelParams> params = PatientFromDemographics(d, t);
  if (!params.ok()) return absl::InvalidArgumentError(absl::StrCat(where, params.status().message()));
  p.params = *params;
  p.prior.age_years = d.age_years;
  p.prior.sex = d.sex;
  if (j.contains("conditions")) {
    if (!j["conditions"].is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "field conditions must be an array of names"));
    }
    for (const json& c : j["conditions"]) {
      if (!c.is_string()) return absl::InvalidArgumentError(absl::StrCat(where, "field conditions must hold strings"));
      absl::StatusOr<Condition> cond = ParseCondition(c.get<std::string>());
      if (!cond.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where, "field conditions: unknown '", c.get<std::string>(), "'"));
      }
      if (absl::Status s = ApplyCondition(*cond, p.params); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where, "field conditions: ", s.message()));
      }
      p.prior.conditions.push_back(*cond);
    }
  }
  return p;
}

std::string Iso(std::int64_t t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t), absl::UTCTimeZone()); }

}  // namespace

TwinCommands::TwinCommands(CLI::App& app) {
  twin_ = app.add_subcommand("twin", "patient twin: calibration (offline) and twin state");
  calibrate_ = twin_->add_subcommand("calibrate", "calibrate a twin offline from a vitals CSV");
  calibrate_->add_option("--vitals", vitals_path_, "CSV: measured_at,vital,value[,flagged]")->required();
  calibrate_->add_option("--patient", patient_path_, "patient JSON (as for `healthtwin model`)");
  calibrate_->add_option("--snapshot-out", snapshot_out_, "write the twin snapshot JSON here");
  calibrate_->add_flag("--json", json_, "one JSON object instead of text");
}

bool TwinCommands::parsed() const { return calibrate_->parsed(); }

int TwinCommands::Run(std::ostream& out, std::ostream& err) const {
  std::ifstream csv(vitals_path_);
  if (!csv) {
    err << "healthtwin: --vitals: cannot read '" << vitals_path_ << "'\n";
    return 2;
  }
  absl::StatusOr<std::vector<Sample>> samples = ParseVitalsCsv(csv, vitals_path_);
  if (!samples.ok()) {
    err << "healthtwin: --vitals " << samples.status().message() << "\n";
    return 2;
  }
  if (samples->empty()) {  // before the map is built: say so at once
    err << "healthtwin: --vitals " << vitals_path_ << ": no readings (empty window)\n";
    return 2;
  }
  Patient patient;
  if (!patient_path_.empty()) {
    absl::StatusOr<Patient> p = LoadPatient(patient_path_);
    if (!p.ok()) {
      err << "healthtwin: " << p.status().message() << "\n";
      return 2;
    }
    patient = *p;
  }
  absl::StatusOr<std::shared_ptr<const ObservationModel>> model = ObservationModel::Create(patient.params);
  if (!model.ok()) {
    err << "healthtwin: patient model: " << model.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<Twin> twin = Twin::Create(*model, {PriorFor(patient.prior), patient.weight_kg, 3.0});
  if (!twin.ok()) {
    err << "healthtwin: " << twin.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<FitQuality> q = twin->Calibrate(*samples);
  if (!q.ok()) {
    err << "healthtwin: --vitals " << vitals_path_ << ": " << q.status().message() << "\n";
    return q.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  absl::StatusOr<std::vector<PredictionPoint>> pred = twin->Predict(24.0, 24.0);
  if (!pred.ok()) {
    err << "healthtwin: " << pred.status().message() << "\n";
    return 1;
  }
  const TwinSnapshot snap = twin->Snapshot();
  if (!snapshot_out_.empty()) {
    std::ofstream f(snapshot_out_);
    f << SnapshotToJson(snap).dump() << "\n";
    if (!f) {
      err << "healthtwin: --snapshot-out: cannot write '" << snapshot_out_ << "'\n";
      return 2;
    }
  }
  const std::vector<ParameterEstimate> est = twin->Estimates();
  if (json_) {
    json params = json::array(), fit = json::object(), next = json::object();
    for (const ParameterEstimate& e : est) {
      const bool is_log = e.name.rfind("log_", 0) == 0;
      json p{{"name", e.name},         {"estimate", e.mean},       {"sd", e.sd},
             {"lo90", e.lo90},         {"hi90", e.hi90},           {"prior_sd", e.prior_sd},
             {"identifiable", e.identifiable}};
      if (is_log) p["factor"] = {std::exp(e.mean), std::exp(e.lo90), std::exp(e.hi90)};
      params.push_back(p);
    }
    for (Vital v : kAllVitals) {
      const int i = static_cast<int>(v);
      fit[std::string(VitalName(v))] = {{"n_used", q->n_used[i]}, {"n_rejected", q->n_rejected[i]}, {"rmse", q->rmse[i]}};
    }
    for (const PredictionPoint& p : *pred) {
      next[std::string(VitalName(p.vital))] = {
          {"mean", p.mean}, {"reading_lo90", p.reading_lo90}, {"reading_hi90", std::min(p.reading_hi90, ReadingCeiling(p.vital))}};
    }
    out << json{{"type", "twin_calibration"},
                {"model_version", snap.model_version},
                {"converged", q->converged},
                {"iterations", q->iterations},
                {"window", {{"start", Iso(snap.window_start_unix_s)}, {"end", Iso(snap.window_end_unix_s)}, {"days", q->days}}},
                {"n_flagged", q->n_flagged},
                {"extrapolated", q->extrapolated},
                {"parameters", params},
                {"fit", fit},
                {"expected_in_24h", next}}
               .dump()
        << "\n";
    return 0;
  }
  out << "twin calibration: " << Iso(snap.window_start_unix_s) << " to " << Iso(snap.window_end_unix_s) << " ("
      << q->days << " days), " << (q->converged ? "converged" : "NOT converged") << " in " << q->iterations
      << " iterations" << (q->extrapolated ? ", estimate outside the steady-state map's grid" : "") << "\n";
  out << std::fixed;
  out << "parameter                 estimate  90 % interval         prior SD  (factor)\n";
  for (const ParameterEstimate& e : est) {
    out << std::left << std::setw(26) << e.name << std::right << std::setprecision(3) << std::showpos
        << std::setw(8) << e.mean << "  [" << std::setw(7) << e.lo90 << ", " << std::setw(7) << e.hi90 << "]  "
        << std::noshowpos << std::setw(8) << e.prior_sd;
    if (e.name.rfind("log_", 0) == 0) out << "  x" << std::setprecision(2) << std::exp(e.mean);
    out << (e.identifiable ? "" : "  (consider parameter, prior-dominated)") << "\n";
  }
  out << "fit: vital        used  rejected  RMSE\n";
  for (Vital v : kAllVitals) {
    const int i = static_cast<int>(v);
    if (q->n_used[i] + q->n_rejected[i] == 0) continue;
    out << "     " << std::left << std::setw(12) << std::string(VitalName(v)) << std::right << std::setw(5)
        << q->n_used[i] << std::setw(10) << q->n_rejected[i] << std::setprecision(2) << std::setw(8) << q->rmse[i]
        << " " << std::string(VitalUnit(v)) << "\n";
  }
  out << "flagged by ingest (excluded): " << q->n_flagged << "\n";
  out << "expected 24 h after the last reading (90 % interval of a reading):\n";
  for (const PredictionPoint& p : *pred) {
    out << "     " << std::left << std::setw(12) << std::string(VitalName(p.vital)) << std::right << std::setprecision(1)
        << std::setw(7) << p.mean << "  [" << p.reading_lo90 << ", " << std::min(p.reading_hi90, ReadingCeiling(p.vital)) << "] "
        << std::string(VitalUnit(p.vital)) << "\n";
  }
  return 0;
}

}  // namespace healthtwin::models::calibration::cli
