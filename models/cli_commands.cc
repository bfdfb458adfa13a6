#include "models/cli_commands.h"

#include <fstream>
#include <iomanip>
#include <ostream>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "models/cardiovascular_engine.h"
#include "models/long_horizon.h"
#include "models/patient.h"
#include "models/patient_file.h"

namespace healthtwin::models::cli {
namespace {

using nlohmann::json;

using Patient = PatientModel;

json BeatJson(const BeatSummary& b, const char* type) {
  return json{{"type", type},
              {"beat", b.index},
              {"start_s", b.start_s},
              {"rr_s", b.rr_s},
              {"heart_rate_bpm", b.heart_rate_bpm},
              {"sbp_mmhg", b.sbp_mmhg},
              {"dbp_mmhg", b.dbp_mmhg},
              {"map_mmhg", b.map_mmhg},
              {"pulse_pressure_mmhg", b.pulse_pressure_mmhg},
              {"stroke_volume_ml", b.stroke_volume_ml},
              {"cardiac_output_l_per_min", b.cardiac_output_l_per_min},
              {"ejection_fraction", b.ejection_fraction},
              {"edv_ml", b.edv_ml},
              {"esv_ml", b.esv_ml},
              {"cvp_mmhg", b.cvp_mmhg},
              {"pcwp_mmhg", b.pcwp_mmhg},
              {"pa_systolic_mmhg", b.pa_systolic_mmhg},
              {"pa_diastolic_mmhg", b.pa_diastolic_mmhg},
              {"pa_mean_mmhg", b.pa_mean_mmhg},
              {"blood_volume_ml", b.blood_volume_ml}};
}

void PrintBeatText(std::ostream& out, const BeatSummary& b, const char* label) {
  out << std::fixed << std::setprecision(1) << label << " t=" << b.start_s << "s HR " << b.heart_rate_bpm << " BP "
      << b.sbp_mmhg << "/" << b.dbp_mmhg << " (MAP " << b.map_mmhg << ") SV " << b.stroke_volume_ml << " mL CO "
      << std::setprecision(2) << b.cardiac_output_l_per_min << " L/min EF " << b.ejection_fraction << " CVP "
      << std::setprecision(1) << b.cvp_mmhg << " PCWP " << b.pcwp_mmhg << " PA " << b.pa_systolic_mmhg << "/"
      << b.pa_diastolic_mmhg << "\n";
}

int RunBeats(const Patient& p, double seconds, const std::string& waveform_path, double sample_hz, bool as_json,
             std::ostream& out, std::ostream& err) {
  std::ofstream csv;
  if (!waveform_path.empty()) {
    csv.open(waveform_path);
    if (!csv) {
      err << "healthtwin: --waveform: cannot write '" << waveform_path << "'\n";
      return 2;
    }
  }
  absl::StatusOr<CardiovascularEngine> e =
      CardiovascularEngine::Create(p.params, {.waveform_sample_hz = waveform_path.empty() ? 0.0 : sample_hz});
  if (!e.ok()) {
    err << "healthtwin: patient: " << e.status().message() << "\n";
    return 2;
  }
  e->AdvanceSeconds(seconds);
  const std::vector<BeatSummary> beats = e->TakeBeats();
  for (const BeatSummary& b : beats) {
    if (as_json) {
      out << BeatJson(b, "beat").dump() << "\n";
    } else {
      PrintBeatText(out, b, "beat");
    }
  }
  // Steady state: the beats of the last 10 s, or of the second half of a shorter run.
  const double from_s = seconds - std::min(10.0, seconds / 2.0);
  std::vector<BeatSummary> tail;
  for (const BeatSummary& b : beats) {
    if (b.start_s >= from_s) tail.push_back(b);
  }
  if (tail.empty() && !beats.empty()) tail.push_back(beats.back());
  if (tail.empty()) {
    err << "healthtwin: --seconds: " << seconds << " s is shorter than one beat\n";
    return 2;
  }
  const BeatSummary ss = AverageBeats(tail);
  if (as_json) {
    json j = BeatJson(ss, "steady_state");
    j.erase("beat");
    j["beats_averaged"] = tail.size();
    j["from_s"] = from_s;
    out << j.dump() << "\n";
  } else {
    PrintBeatText(out, ss, "steady state");
  }
  if (csv.is_open()) {
    csv << "t_s,p_sa_mmhg,p_lv_mmhg,p_la_mmhg,p_ra_mmhg,p_rv_mmhg,p_pa_mmhg,v_lv_ml,v_rv_ml,q_aortic_ml_s,"
           "q_mitral_ml_s,q_pulmonary_ml_s,q_tricuspid_ml_s\n";
    for (const WaveformSample& w : e->TakeWaveform()) {
      csv << w.t_s << "," << w.p_sa_mmhg << "," << w.p_lv_mmhg << "," << w.p_la_mmhg << "," << w.p_ra_mmhg << ","
          << w.p_rv_mmhg << "," << w.p_pa_mmhg << "," << w.v_lv_ml << "," << w.v_rv_ml << "," << w.q_aortic_ml_s << ","
          << w.q_mitral_ml_s << "," << w.q_pulmonary_ml_s << "," << w.q_tricuspid_ml_s << "\n";
    }
    if (!csv) {
      err << "healthtwin: --waveform: writing '" << waveform_path << "' failed\n";
      return 1;
    }
  }
  return 0;
}

int RunLong(const Patient& p, int days, double sodium, double fluid, bool as_json, std::ostream& out,
            std::ostream& err) {
  absl::StatusOr<LongHorizonModel> m = LongHorizonModel::Create(p.params, p.long_horizon);
  if (!m.ok()) {
    err << "healthtwin: patient: " << m.status().message() << "\n";
    return m.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  m->SetIntake({sodium, fluid});
  for (const DailySummary& d : m->AdvanceDays(days)) {
    if (as_json) {
      out << json{{"type", "day"},
                  {"day", d.day},
                  {"map_mmhg", d.map_mmhg},
                  {"sbp_mmhg", d.sbp_mmhg},
                  {"dbp_mmhg", d.dbp_mmhg},
                  {"heart_rate_bpm", d.heart_rate_bpm},
                  {"cardiac_output_l_per_min", d.cardiac_output_l_per_min},
                  {"blood_volume_ml", d.blood_volume_ml},
                  {"ecf_volume_l", d.ecf_volume_l},
                  {"weight_change_kg", d.weight_change_kg},
                  {"plasma_sodium_mmol_per_l", d.plasma_sodium_mmol_per_l},
                  {"baroreflex_set_point_mmhg", d.baroreflex_set_point_mmhg},
                  {"sodium_intake_mmol", d.sodium_intake_mmol},
                  {"sodium_excreted_mmol", d.sodium_excreted_mmol},
                  {"urine_l", d.urine_l},
                  {"extrapolated", d.extrapolated}}
                 .dump()
          << "\n";
    } else {
      out << std::fixed << std::setprecision(1) << "day " << d.day << " BP " << d.sbp_mmhg << "/" << d.dbp_mmhg
          << " (MAP " << d.map_mmhg << ") HR " << d.heart_rate_bpm << " blood " << std::setprecision(0)
          << d.blood_volume_ml << " mL ECF " << std::setprecision(2) << d.ecf_volume_l << " L weight "
          << std::showpos << d.weight_change_kg << std::noshowpos << " kg Na in/out " << std::setprecision(0)
          << d.sodium_intake_mmol << "/" << d.sodium_excreted_mmol << " mmol urine " << std::setprecision(2)
          << d.urine_l << " L" << (d.extrapolated ? " (extrapolated)" : "") << "\n";
    }
  }
  return 0;
}

}  // namespace

ModelCommands::ModelCommands(CLI::App& app) {
  model_ = app.add_subcommand("model", "simulate a patient with the cardiovascular twin (offline)");
  model_->require_subcommand(1);
  run_ = model_->add_subcommand("run", "beat-resolved engine: per-beat summaries and a steady state");
  long_ = model_->add_subcommand("long", "long-horizon layer: daily summaries over days to months");
  const std::vector<std::string> names = ConditionFlagNames();
  for (CLI::App* sub : {run_, long_}) {
    sub->add_option("--patient", patient_, "standard, or a patient JSON file")->required();
    sub->add_option("--condition", conditions_, "hypertension1, hypertension2, hfref, hfpef, hypovolaemia, af")
        ->check(CLI::IsMember(names));
    sub->add_flag("--json", json_, "one JSON object per line");
  }
  run_->add_option("--seconds", seconds_, "simulated seconds")->required()->check(CLI::Range(1.0, 86400.0));
  run_->add_option("--waveform", waveform_path_, "write pressures, volumes and flows to this CSV");
  run_->add_option("--sample-hz", sample_hz_, "waveform sample rate")->check(CLI::Range(1.0, 1000.0));
  long_->add_option("--days", days_, "simulated days")->required()->check(CLI::Range(1, 3650));
  long_->add_option("--sodium-mmol-per-day", sodium_mmol_per_day_, "sodium intake")->check(CLI::Range(0.0, 1000.0));
  long_->add_option("--fluid-l-per-day", fluid_l_per_day_, "fluid intake")->check(CLI::Range(0.5, 10.0));
  long_->add_flag("--salt-sensitive", salt_sensitive_, "a flatter chronic pressure-natriuresis curve");
}

bool ModelCommands::parsed() const { return model_->parsed(); }

int ModelCommands::Run(std::ostream& out, std::ostream& err) const {
  absl::StatusOr<Patient> p = BuildPatientModel(patient_, conditions_, salt_sensitive_);
  if (!p.ok()) {
    err << "healthtwin: " << p.status().message() << "\n";
    return 2;
  }
  if (run_->parsed()) return RunBeats(*p, seconds_, waveform_path_, sample_hz_, json_, out, err);
  return RunLong(*p, days_, sodium_mmol_per_day_, fluid_l_per_day_, json_, out, err);
}

}  // namespace healthtwin::models::cli
