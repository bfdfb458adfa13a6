#include "clinician_api/clinician_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

#include "clinician_api/upstream.h"
#include "services/common/grpc_util.h"
#include "services/common/ids.h"
#include "services/common/logging.h"

namespace healthtwin::clinician {
namespace {

namespace alerts_v1 = healthtwin::alerts::v1;

// Relays an alert subscription from the alerts service to the clinician, one event at a
// time: read upstream, write downstream, read again. Lives until both the clinician's call
// and the upstream call are done. The upstream call can end while a downstream write is in
// flight; its status is then held until that write completes, and no further read is started.
class AlertRelay final : public grpc::ServerWriteReactor<alerts_v1::AlertEvent> {
 public:
  void Start(const Caller& caller, alerts_v1::AlertService::Stub* stub, const alerts_v1::SubscribeRequest& req) {
    upstream_.owner = this;
    upstream_.ctx.AddMetadata(common::kOnBehalfOfHeader, caller.identity.common_name);
    stub->async()->Subscribe(&upstream_.ctx, &req, &upstream_);
    upstream_.StartRead(&event_);
    upstream_.StartCall();
  }

  // Finishes without an upstream call (refused before relaying).
  void Refuse(const absl::Status& status) {
    Release();  // no upstream call will ever hold its reference
    Finish(common::ToGrpcStatus(status));
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (upstream_status_) {
      Finish(*upstream_status_);
    } else if (ok) {
      upstream_.StartRead(&event_);
    } else {
      upstream_.ctx.TryCancel();
    }
  }
  void OnCancel() override { upstream_.ctx.TryCancel(); }
  void OnDone() override { Release(); }

 private:
  struct Upstream : grpc::ClientReadReactor<alerts_v1::AlertEvent> {
    AlertRelay* owner = nullptr;
    grpc::ClientContext ctx;
    void OnReadDone(bool ok) override {
      if (!ok) return;  // OnDone follows with the status
      std::lock_guard lock(owner->mu_);
      owner->writing_ = true;
      owner->StartWrite(&owner->event_);
    }
    void OnDone(const grpc::Status& status) override {
      {
        std::lock_guard lock(owner->mu_);
        owner->upstream_status_ = status;
        if (!owner->writing_) owner->Finish(status);
      }
      owner->Release();
    }
  };

  void Release() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  Upstream upstream_;
  alerts_v1::AlertEvent event_;
  std::mutex mu_;
  bool writing_ = false;
  std::optional<grpc::Status> upstream_status_;
  std::atomic<int> refs_{2};  // the server call and the upstream call
};

}  // namespace

const common::CallerPolicy::Rules& ClinicianServiceImpl::DefaultPolicy() {
  static const common::CallerPolicy::Rules kRules = {
      {"WhoAmI", {"clinician", "nurse", "researcher", "admin"}},
      {"ListMyPatients", {"clinician", "nurse"}},
      {"ReadPatient", {"clinician", "nurse"}},  // FHIR Patient/{id} (fhir_api.h)
      {"GetVitals", {"clinician", "nurse"}},
      {"SubscribeAlerts", {"clinician", "nurse"}},
      {"AcknowledgeAlert", {"clinician", "nurse"}},
      {"GetTwin", {"clinician", "nurse"}},
      {"Predict", {"clinician", "nurse"}},  // also the dashboard's twin overlay (dashboard_api.h)
      {"RunWhatIf", {"clinician"}},         // the dashboard's what-if (simulation: clinicians only)
      {"ListAlerts", {"clinician", "nurse"}},
      {"GetAlert", {"clinician", "nurse"}},
      {"ShelveAlert", {"clinician", "nurse"}},
      {"GetPatientAlertSettings", {"clinician", "nurse"}},
      {"SetPatientAlertSettings", {"clinician", "nurse"}},
      {"GetAlarmBurden", {"clinician", "nurse"}},
      // Break-glass: clinicians only, never nurses (break_glass.h); the review is the admins'.
      {"BreakGlass", {"clinician"}},
      {"ListBreakGlassGrants", {"admin"}},
      {"ReviewBreakGlassGrant", {"admin"}},
      {"WatchSecurityEvents", {"admin"}},
      // Identifying data: the care team, or a clinician holding a break-glass grant.
      {"GetPatientIdentity", {"clinician", "nurse"}},
      // De-identified research reads: researchers only; the study's researcher list on top.
      {"ListStudyPatients", {"researcher"}},
      {"GetDeidentifiedVitals", {"researcher"}},
      {"GetDeidentifiedTwin", {"researcher"}},
      {"RunDeidentifiedWhatIf", {"researcher"}},
      // The dashboard's researcher view: the person's own cohort jobs (virtual patients only),
      // relayed to the simulation service, which returns only that person's jobs.
      {"ListCohortJobs", {"researcher"}},
      {"GetCohortResults", {"researcher"}},
  };
  return kRules;
}

absl::StatusOr<Caller> ClinicianServiceImpl::Identify(const grpc::CallbackServerContext& ctx, std::string_view method,
                                                      std::string_view action,
                                                      const std::vector<std::string>& patient_ids) {
  auto caller = Authenticate(ctx, method);
  if (!caller.ok()) return caller.status();
  // A refused role is an attempt on patient data too: it is recorded like a care-team refusal.
  if (auto s = common::AuthorizeAuditingRefusal(*caller, policy_, method, access_, action, patient_ids); !s.ok()) {
    return s;
  }
  return caller;
}

absl::StatusOr<Caller> ClinicianServiceImpl::IdentifyForAlert(const grpc::CallbackServerContext& ctx,
                                                              std::string_view method, std::string_view action,
                                                              const std::string& alert_id) {
  auto caller = Authenticate(ctx, method);
  if (!caller.ok()) return caller.status();
  if (auto s = AuthorizeForAlert(*caller, method, action, alert_id); !s.ok()) return s;
  return caller;
}

absl::Status ClinicianServiceImpl::AuthorizeForAlert(const Caller& caller, std::string_view method,
                                                     std::string_view action, const std::string& alert_id) {
  // The alert's patient first, so that a refused role is recorded against that patient too.
  const bool valid_id = common::IsUuid(alert_id);
  auto patient = valid_id ? access_.AlertPatient(alert_id) : absl::StatusOr<std::string>(std::string());
  if (auto s = common::AuthorizeAuditingRefusal(
          caller, policy_, method, access_, action,
          patient.ok() && !patient->empty() ? std::vector<std::string>{*patient} : std::vector<std::string>{});
      !s.ok()) {
    return s;
  }
  if (alert_id.empty()) return absl::InvalidArgumentError("alert_id: required");
  if (!valid_id) return absl::InvalidArgumentError("alert_id: not a UUID");
  if (!patient.ok()) {
    if (absl::IsNotFound(patient.status())) {
      if (auto s = access_.Audit(caller, action, "", "not_found", "alert " + alert_id); !s.ok()) {
        return absl::UnavailableError("access refused: the audit record could not be written");
      }
    }
    return patient.status();
  }
  return access_.CheckAndAudit(caller, action, *patient);
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::WhoAmI(grpc::CallbackServerContext* ctx, const v1::WhoAmIRequest*,
                                                       v1::WhoAmIResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Identify(*ctx, "WhoAmI", "identity.whoami");
    if (!caller.ok()) return caller.status();
    resp->set_subject(caller->identity.common_name);
    resp->set_role(std::string(common::RoleName(caller->identity.role)));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::ListMyPatients(grpc::CallbackServerContext* ctx,
                                                               const v1::ListMyPatientsRequest*,
                                                               v1::ListMyPatientsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Authenticate(*ctx, "ListMyPatients");
    if (!caller.ok()) return caller.status();
    return ListMyPatientsAs(*caller, resp);
  });
}

absl::Status ClinicianServiceImpl::ListMyPatientsAs(const Caller& caller, v1::ListMyPatientsResponse* resp) {
  if (auto s = common::AuthorizeAuditingRefusal(caller, policy_, "ListMyPatients", access_, "patient.list"); !s.ok()) {
    return s;
  }
  auto patients = access_.CareTeamPatients(caller);
  if (!patients.ok()) return patients.status();
  if (auto s = access_.Audit(caller, "patient.list", "", "allowed", std::to_string(patients->size()) + " patients");
      !s.ok()) {
    return s;
  }
  for (const auto& id : *patients) resp->add_patients()->set_patient_id(id);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::GetVitals(grpc::CallbackServerContext* ctx,
                                                          const healthtwin::vitals::v1::QueryVitalsRequest* req,
                                                          healthtwin::vitals::v1::QueryVitalsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Authenticate(*ctx, "GetVitals");
    if (!caller.ok()) return caller.status();
    return GetVitalsAs(*caller, *req, resp);
  });
}

absl::Status ClinicianServiceImpl::GetVitalsAs(const Caller& caller,
                                               const healthtwin::vitals::v1::QueryVitalsRequest& req,
                                               healthtwin::vitals::v1::QueryVitalsResponse* resp) {
  if (auto s =
          common::AuthorizeAuditingRefusal(caller, policy_, "GetVitals", access_, "vitals.read", {req.patient_id()});
      !s.ok()) {
    return s;
  }
  if (req.patient_id().empty()) return absl::InvalidArgumentError("patient_id: required");
  if (auto s = access_.CheckAndAudit(caller, "vitals.read", req.patient_id()); !s.ok()) return s;
  return CallUpstream(caller, up_.vitals.get(), &healthtwin::vitals::v1::VitalsQueryService::Stub::QueryVitals, req,
                      resp);
}

absl::Status ClinicianServiceImpl::AuthorizeReadAs(const Caller& caller, std::string_view method,
                                                   std::string_view action,
                                                   const std::vector<std::string>& patient_ids) {
  if (auto s = common::AuthorizeAuditingRefusal(caller, policy_, method, access_, action, patient_ids); !s.ok()) {
    return s;
  }
  if (patient_ids.empty()) return absl::OkStatus();
  auto team = access_.CareTeamPatients(caller);
  if (!team.ok()) return team.status();
  for (const auto& p : patient_ids) {
    // Not on the team: CheckAndAudit refuses with a "denied" row, or allows under an active
    // break-glass grant (its row flagged with the grant), and the next patient is checked.
    if (std::find(team->begin(), team->end(), p) == team->end()) {
      if (auto s = access_.CheckAndAudit(caller, action, p); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ClinicianServiceImpl::ReadPatientAs(const Caller& caller, const std::string& patient_id) {
  if (auto s = common::AuthorizeAuditingRefusal(caller, policy_, "ReadPatient", access_, "patient.read", {patient_id});
      !s.ok()) {
    return s;
  }
  if (patient_id.empty()) return absl::InvalidArgumentError("patient_id: required");
  return access_.CheckAndAudit(caller, "patient.read", patient_id);
}

absl::StatusOr<alerts_v1::SubscribeRequest> ClinicianServiceImpl::AuthorizeSubscribeAs(
    const Caller& caller, const alerts_v1::SubscribeRequest& req) {
  if (auto s = common::AuthorizeAuditingRefusal(caller, policy_, "SubscribeAlerts", access_, "alerts.subscribe",
                                                {req.patient_ids().begin(), req.patient_ids().end()});
      !s.ok()) {
    return s;
  }
  alerts_v1::SubscribeRequest upstream = req;
  // The alerts service delivers an event only while the caller is on the patient's care team,
  // so removals (and, for "all my patients", additions) take effect on this open stream.
  upstream.set_care_team_of(caller.identity.common_name);
  if (req.patient_ids().empty()) {
    // "All my patients", followed: recorded against each patient on the care team now.
    auto patients = access_.CareTeamPatients(caller);
    if (!patients.ok()) return patients.status();
    if (auto s = access_.AuditEach(caller, "alerts.subscribe", *patients, "allowed", "care team, followed"); !s.ok()) {
      return s;
    }
  } else {
    for (const auto& p : req.patient_ids()) {
      if (auto s = access_.CheckAndAudit(caller, "alerts.subscribe", p); !s.ok()) return s;
    }
  }
  return upstream;
}

absl::StatusOr<std::unique_ptr<AlertSubscription>> ClinicianServiceImpl::SubscribeAlertsAs(
    const Caller& caller, const alerts_v1::SubscribeRequest& req) {
  auto upstream = AuthorizeSubscribeAs(caller, req);
  if (!upstream.ok()) return upstream.status();
  return std::make_unique<AlertSubscription>(caller, up_.alerts.get(), *upstream);
}

AlertSubscription::AlertSubscription(const Caller& caller, alerts_v1::AlertService::Stub* stub,
                                     const alerts_v1::SubscribeRequest& upstream) {
  ctx_.AddMetadata(common::kOnBehalfOfHeader, caller.identity.common_name);
  reader_ = stub->Subscribe(&ctx_, upstream);
}

AlertSubscription::~AlertSubscription() {
  if (!finished_) {
    ctx_.TryCancel();
    alerts_v1::AlertEvent drain;
    while (reader_->Read(&drain)) {
    }
    (void)reader_->Finish();
  }
}

bool AlertSubscription::Read(alerts_v1::AlertEvent* event) { return !finished_ && reader_->Read(event); }

absl::Status AlertSubscription::Finish() {
  if (finished_) return absl::CancelledError("subscription: already finished");
  finished_ = true;
  return common::FromGrpcStatus(reader_->Finish());
}

grpc::ServerWriteReactor<alerts_v1::AlertEvent>* ClinicianServiceImpl::SubscribeAlerts(
    grpc::CallbackServerContext* ctx, const alerts_v1::SubscribeRequest* req) {
  auto* relay = new AlertRelay();
  // Authorisation needs the database, so it runs on the executor; the relay waits.
  executor_.Submit(
      [=, this] {
        auto caller = Authenticate(*ctx, "SubscribeAlerts");
        if (!caller.ok()) return relay->Refuse(caller.status());
        auto upstream = AuthorizeSubscribeAs(*caller, *req);
        if (!upstream.ok()) return relay->Refuse(upstream.status());
        relay->Start(*caller, up_.alerts.get(), *upstream);
      },
      [relay] { relay->Refuse(common::ServerBusyError()); });
  return relay;
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::AcknowledgeAlert(grpc::CallbackServerContext* ctx,
                                                                 const v1::AcknowledgeAlertRequest* req,
                                                                 alerts_v1::Alert* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Authenticate(*ctx, "AcknowledgeAlert");
    if (!caller.ok()) return caller.status();
    return AcknowledgeAlertAs(*caller, *req, resp);
  });
}

absl::Status ClinicianServiceImpl::AcknowledgeAlertAs(const Caller& caller, const v1::AcknowledgeAlertRequest& req,
                                                      alerts_v1::Alert* resp) {
  if (auto s = AuthorizeForAlert(caller, "AcknowledgeAlert", "alert.acknowledge", req.alert_id()); !s.ok()) return s;
  alerts_v1::AcknowledgeRequest upstream;
  upstream.set_alert_id(req.alert_id());
  upstream.set_recipient(caller.identity.common_name);
  upstream.set_note(req.note());
  return CallUpstream(caller, up_.alerts.get(), &alerts_v1::AlertService::Stub::Acknowledge, upstream, resp);
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::GetTwin(grpc::CallbackServerContext* ctx, const v1::GetTwinRequest* req,
                                                        healthtwin::twin::v1::TwinSnapshot* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Authenticate(*ctx, "GetTwin");
    if (!caller.ok()) return caller.status();
    return GetTwinAs(*caller, *req, resp);
  });
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::Predict(grpc::CallbackServerContext* ctx,
                                                        const healthtwin::twin::v1::PredictRequest* req,
                                                        healthtwin::twin::v1::PredictResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Authenticate(*ctx, "Predict");
    if (!caller.ok()) return caller.status();
    return PredictAs(*caller, *req, resp);
  });
}

absl::Status ClinicianServiceImpl::GetTwinAs(const Caller& caller, const v1::GetTwinRequest& req,
                                             healthtwin::twin::v1::TwinSnapshot* resp) {
  if (auto s = common::AuthorizeAuditingRefusal(caller, policy_, "GetTwin", access_, "twin.read", {req.patient_id()});
      !s.ok()) {
    return s;
  }
  if (req.patient_id().empty()) return absl::InvalidArgumentError("patient_id: required");
  if (auto s = access_.CheckAndAudit(caller, "twin.read", req.patient_id()); !s.ok()) return s;
  healthtwin::twin::v1::GetTwinRequest upstream;
  upstream.set_patient_id(req.patient_id());
  if (req.has_as_of()) *upstream.mutable_as_of() = req.as_of();
  return CallTwin(caller, req.patient_id(), &TwinRouter::Stub::GetTwin, upstream, resp);
}

absl::Status ClinicianServiceImpl::PredictAs(const Caller& caller, const healthtwin::twin::v1::PredictRequest& req,
                                             healthtwin::twin::v1::PredictResponse* resp) {
  if (auto s =
          common::AuthorizeAuditingRefusal(caller, policy_, "Predict", access_, "twin.predict", {req.patient_id()});
      !s.ok()) {
    return s;
  }
  if (req.patient_id().empty()) return absl::InvalidArgumentError("patient_id: required");
  if (auto s = access_.CheckAndAudit(caller, "twin.predict", req.patient_id()); !s.ok()) return s;
  // The twin service checks horizon_h, step_min, types and interval_level and names the field.
  return CallTwin(caller, req.patient_id(), &TwinRouter::Stub::Predict, req, resp);
}

}  // namespace healthtwin::clinician
