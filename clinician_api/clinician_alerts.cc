// ClinicianService: listing, reading and shelving alerts, per-patient alert settings and alarm
// burden. Each handler authorises the person, checks and audits the care team, and relays to
// the alerts service (which owns alerts and settings, and audits again) as the person.
#include "clinician_api/clinician_service.h"
#include "clinician_api/upstream.h"

namespace healthtwin::clinician {
namespace {
namespace alerts_v1 = healthtwin::alerts::v1;
}  // namespace

absl::StatusOr<std::vector<std::string>> ClinicianServiceImpl::PatientsInScope(const Caller& caller,
                                                                               std::string_view action,
                                                                               std::vector<std::string> requested) {
  if (!requested.empty()) {
    for (const auto& p : requested) {
      if (p.empty()) return absl::InvalidArgumentError("patient_id: empty");
      if (auto s = access_.CheckAndAudit(caller, action, p); !s.ok()) return s;
    }
    return requested;
  }
  auto patients = access_.CareTeamPatients(caller);
  if (!patients.ok()) return patients.status();
  if (auto s = access_.Audit(caller, action, "", "allowed", std::to_string(patients->size()) + " patients"); !s.ok()) {
    return absl::UnavailableError("access refused: the audit record could not be written");
  }
  return patients;
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::ListAlerts(grpc::CallbackServerContext* ctx,
                                                           const alerts_v1::ListAlertsRequest* req,
                                                           alerts_v1::ListAlertsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Authenticate(*ctx, "ListAlerts");
    if (!caller.ok()) return caller.status();
    return ListAlertsAs(*caller, *req, resp);
  });
}

absl::Status ClinicianServiceImpl::ListAlertsAs(const Caller& caller, const alerts_v1::ListAlertsRequest& req,
                                                alerts_v1::ListAlertsResponse* resp) {
  std::vector<std::string> requested(req.patient_ids().begin(), req.patient_ids().end());
  if (!req.patient_id().empty()) requested.push_back(req.patient_id());
  if (auto s = common::AuthorizeAuditingRefusal(caller, policy_, "ListAlerts", access_, "alerts.list", requested);
      !s.ok()) {
    return s;
  }
  auto patients = PatientsInScope(caller, "alerts.list", std::move(requested));
  if (!patients.ok()) return patients.status();
  if (patients->empty()) return absl::OkStatus();  // no patients, no alerts
  alerts_v1::ListAlertsRequest upstream = req;
  upstream.clear_patient_id();
  upstream.clear_patient_ids();
  for (const auto& p : *patients) upstream.add_patient_ids(p);
  return CallUpstream(caller, up_.alerts.get(), &alerts_v1::AlertService::Stub::ListAlerts, upstream, resp);
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::GetAlert(grpc::CallbackServerContext* ctx,
                                                         const alerts_v1::GetAlertRequest* req,
                                                         alerts_v1::Alert* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = IdentifyForAlert(*ctx, "GetAlert", "alert.get", req->alert_id());
    if (!caller.ok()) return caller.status();
    return CallUpstream(*caller, up_.alerts.get(), &alerts_v1::AlertService::Stub::GetAlert, *req, resp);
  });
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::ShelveAlert(grpc::CallbackServerContext* ctx,
                                                            const v1::ShelveAlertRequest* req, alerts_v1::Alert* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Authenticate(*ctx, "ShelveAlert");
    if (!caller.ok()) return caller.status();
    return ShelveAlertAs(*caller, *req, resp);
  });
}

absl::Status ClinicianServiceImpl::ShelveAlertAs(const Caller& caller, const v1::ShelveAlertRequest& req,
                                                 alerts_v1::Alert* resp) {
  if (auto s = AuthorizeForAlert(caller, "ShelveAlert", "alert.shelve", req.alert_id()); !s.ok()) return s;
  if (req.reason().empty()) return absl::InvalidArgumentError("reason: required");
  if (!req.has_duration()) return absl::InvalidArgumentError("duration: required");
  // The maximum is the alerts service's (its lifecycle configuration); it names `duration`.
  alerts_v1::ShelveRequest upstream;
  upstream.set_alert_id(req.alert_id());
  upstream.set_recipient(caller.identity.common_name);
  *upstream.mutable_duration() = req.duration();
  upstream.set_reason(req.reason());
  return CallUpstream(caller, up_.alerts.get(), &alerts_v1::AlertService::Stub::Shelve, upstream, resp);
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::GetPatientAlertSettings(
    grpc::CallbackServerContext* ctx, const alerts_v1::GetPatientAlertSettingsRequest* req,
    alerts_v1::PatientAlertSettings* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Identify(*ctx, "GetPatientAlertSettings", "alert_settings.read", {req->patient_id()});
    if (!caller.ok()) return caller.status();
    if (req->patient_id().empty()) return absl::InvalidArgumentError("patient_id: required");
    if (auto s = access_.CheckAndAudit(*caller, "alert_settings.read", req->patient_id()); !s.ok()) return s;
    return CallUpstream(*caller, up_.alerts.get(), &alerts_v1::AlertService::Stub::GetPatientAlertSettings, *req, resp);
  });
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::SetPatientAlertSettings(grpc::CallbackServerContext* ctx,
                                                                        const v1::SetPatientAlertSettingsRequest* req,
                                                                        alerts_v1::PatientAlertSettings* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    const std::string& patient = req->settings().patient_id();
    auto caller = Identify(*ctx, "SetPatientAlertSettings", "alert_settings.write", {patient});
    if (!caller.ok()) return caller.status();
    if (patient.empty()) return absl::InvalidArgumentError("settings.patient_id: required");
    if (auto s = access_.CheckAndAudit(*caller, "alert_settings.write", patient); !s.ok()) return s;
    // The alerts service validates against its rule catalogue and names the bad field.
    alerts_v1::SetPatientAlertSettingsRequest upstream;
    *upstream.mutable_settings() = req->settings();
    upstream.set_updated_by(caller->identity.common_name);
    upstream.set_expected_version(req->expected_version());
    return CallUpstream(*caller, up_.alerts.get(), &alerts_v1::AlertService::Stub::SetPatientAlertSettings, upstream,
                        resp);
  });
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::GetAlarmBurden(grpc::CallbackServerContext* ctx,
                                                               const alerts_v1::GetAlarmBurdenRequest* req,
                                                               alerts_v1::GetAlarmBurdenResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller =
        Identify(*ctx, "GetAlarmBurden", "alerts.burden", {req->patient_ids().begin(), req->patient_ids().end()});
    if (!caller.ok()) return caller.status();
    auto patients = PatientsInScope(*caller, "alerts.burden", {req->patient_ids().begin(), req->patient_ids().end()});
    if (!patients.ok()) return patients.status();
    if (patients->empty()) return absl::FailedPreconditionError(caller->identity.common_name + " has no patients");
    alerts_v1::GetAlarmBurdenRequest upstream = *req;
    upstream.clear_patient_ids();
    for (const auto& p : *patients) upstream.add_patient_ids(p);
    return CallUpstream(*caller, up_.alerts.get(), &alerts_v1::AlertService::Stub::GetAlarmBurden, upstream, resp);
  });
}

}  // namespace healthtwin::clinician
