// DashboardApi: the twin on the dashboard (issue 14): its status on the patient list and the
// overlay of the patient page, through the domain layer's GetTwinAs and PredictAs.
#include <cstdlib>

#include "clinician_api/dashboard_api.h"
#include "clinician_api/dashboard_http.h"
#include "clinician_api/dashboard_query.h"
#include "clinician_api/https_listener.h"

namespace healthtwin::clinician {
namespace {
namespace twin_v1 = healthtwin::twin::v1;
using namespace dashboard_http;
using nlohmann::json;

// The overlay's default and longest horizons: a day ahead, hourly (the twin service's own
// default, services/twin/limits.h), and at most a week so the plot stays about observations.
constexpr uint32_t kDefaultHorizonH = 24;
constexpr uint32_t kMaxHorizonH = 168;
constexpr uint32_t kStepMin = 60;
// 90 % intervals, as the issue asks (the twin reports its parameters' 90 % intervals too).
constexpr double kIntervalLevel = 0.9;
}  // namespace

json DashboardApi::TwinStatus(const Caller& caller, const std::string& patient_id) {
  v1::GetTwinRequest tr;
  tr.set_patient_id(patient_id);
  twin_v1::TwinSnapshot snap;
  if (auto s = domain_.GetTwinAs(caller, tr, &snap); !s.ok()) {
    if (absl::IsNotFound(s)) return {{"state", "none"}, {"text", "no twin yet"}};
    return {{"state", "error"}, {"text", "twin unavailable: " + std::string(s.message())}};
  }
  json out = {{"state", snap.calibrated() ? "calibrated" : "uncalibrated"},
              {"version", snap.version()},
              {"reason", twin_v1::UpdateReason_Name(snap.reason())},
              {"updatedAt", Rfc3339(Micros(snap.created_at()))},
              {"lastCalibrationError", snap.last_calibration_error()}};
  if (snap.has_state_time()) out["stateTime"] = Rfc3339(Micros(snap.state_time()));
  return out;
}

void DashboardApi::Twin(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  const std::string id = req.matches[1];
  if (!IsPatientId(id)) return SendError(res, 400, "patient: not a patient id ([A-Za-z0-9._-]{1,64})");
  uint32_t horizon_h = kDefaultHorizonH;
  for (const auto& [name, value] : req.params) {
    if (name != "horizon_h") return SendError(res, 400, name + ": unknown parameter");
    char* end = nullptr;
    const long h = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || h < 1 || h > kMaxHorizonH) {
      return SendError(res, 400, "horizon_h: a whole number of hours from 1 to " + std::to_string(kMaxHorizonH));
    }
    horizon_h = static_cast<uint32_t>(h);
  }
  v1::GetTwinRequest tr;
  tr.set_patient_id(id);
  twin_v1::TwinSnapshot snap;
  if (auto s = domain_.GetTwinAs(*caller, tr, &snap); !s.ok()) {
    // No twin yet is a state of the patient, not an error of the request.
    if (absl::IsNotFound(s)) return SendJson(res, 200, {{"twin", nullptr}, {"message", std::string(s.message())}});
    return SendError(res, s);
  }
  auto twin = ToJson(snap);
  if (!twin.ok()) return SendError(res, twin.status());
  twin_v1::PredictRequest pr;
  pr.set_patient_id(id);
  pr.set_horizon_h(horizon_h);
  pr.set_step_min(kStepMin);
  pr.set_interval_level(kIntervalLevel);
  twin_v1::PredictResponse prediction;
  json out = {{"twin", *twin}, {"intervalLevel", kIntervalLevel}, {"horizonH", horizon_h}};
  if (auto s = domain_.PredictAs(*caller, pr, &prediction); !s.ok()) {
    if (HttpStatus(s.code()) == 403) return SendError(res, s);
    out["prediction"] = nullptr;
    out["predictionError"] = std::string(s.message());
  } else {
    auto p = ToJson(prediction);
    if (!p.ok()) return SendError(res, p.status());
    out["prediction"] = *p;
  }
  SendJson(res, 200, out);
}

}  // namespace healthtwin::clinician
