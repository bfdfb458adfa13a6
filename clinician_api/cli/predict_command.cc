#include "clinician_api/cli/predict_command.h"

#include <ostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "services/common/time_util.h"

namespace healthtwin::cli {

namespace twin_v1 = healthtwin::twin::v1;

PredictCommand::PredictCommand(CLI::App& twin, ApiAccess api) : api_(std::move(api)) {
  predict_ = twin.add_subcommand("predict", "the twin's predicted vitals with intervals (through clinician_api)");
  predict_->add_option("--patient", patient_, "patient id")->required();
  predict_->add_option("--horizon-h", horizon_h_, "hours ahead")->capture_default_str()->check(CLI::PositiveNumber);
  predict_->add_option("--step-min", step_min_, "minutes between points")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  predict_->add_option("--interval", interval_, "prediction interval level, e.g. 0.9 for 90 %")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 0.999));
  predict_->add_flag("--json", json_, "the reply as one JSON object");
}

int PredictCommand::Run(std::ostream& out) const {
  twin_v1::PredictRequest req;
  req.set_patient_id(patient_);
  req.set_horizon_h(horizon_h_);
  req.set_step_min(step_min_);
  req.set_interval_level(interval_);
  twin_v1::PredictResponse resp;
  if (int rc = CallUnary(api_, &clinician::v1::ClinicianService::Stub::Predict, req, &resp); rc != 0) return rc;
  if (json_) {
    out << ProtoToJson(resp).dump() << "\n";
    return 0;
  }
  out << "twin of " << patient_ << " version " << resp.twin_version() << ", "
      << absl::StrFormat("%.0f", interval_ * 100) << " % intervals (one reading; expected level):\n";
  for (const twin_v1::PredictedPoint& p : resp.points()) {
    const std::string type =
        absl::AsciiStrToLower(vitals::v1::VitalType_Name(p.type()).substr(std::string("VITAL_TYPE_").size()));
    out << absl::StrFormat("%s  %-20s %8.1f %-6s [%.1f, %.1f]; [%.1f, %.1f]\n", common::FormatTimestamp(p.at()), type,
                           p.mean(), p.ucum_unit(), p.lower(), p.upper(), p.level_lower(), p.level_upper());
  }
  return 0;
}

}  // namespace healthtwin::cli
