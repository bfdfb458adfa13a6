// healthtwin.clinician.v1.ClinicianService: the gateway clinicians' apps and the CLI call.
// It authenticates the person by client certificate, checks the care team, audits (refusals
// included), and forwards to the owning service over mutual TLS (vitals to ingest, alerts to
// alerts, twins to twin, the dashboard's what-ifs to simulation), naming the person in
// kOnBehalfOfHeader so the owning service audits both the relay and the person.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clinician_api/break_glass.h"
#include "clinician_api/research.h"
#include "clinician_api/token_gate.h"
#include "clinician_api/twin_router.h"
#include "clinician_api/upstream.h"
#include "clinician_api/watcher_threads.h"
#include "healthtwin/alerts/v1/alerts.grpc.pb.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "healthtwin/simulation/v1/simulation.grpc.pb.h"
#include "healthtwin/twin/v1/twin.grpc.pb.h"
#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/access.h"
#include "services/common/caller_policy.h"
#include "services/common/executor.h"
#include "services/common/stream_writer.h"

namespace healthtwin::clinician {

namespace v1 = healthtwin::clinician::v1;
using common::Access;
using common::Caller;

// An open alert subscription of one caller, relayed from the alerts service and read
// synchronously, for edges that hold a thread per stream (the dashboard's server-sent events).
// Read blocks until the next event; Cancel (from any thread) makes a blocked or later Read
// return false. Destroying it cancels and finishes the upstream call.
class AlertSubscription {
 public:
  AlertSubscription(const Caller& caller, healthtwin::alerts::v1::AlertService::Stub* stub,
                    const healthtwin::alerts::v1::SubscribeRequest& upstream);
  ~AlertSubscription();
  AlertSubscription(const AlertSubscription&) = delete;
  AlertSubscription& operator=(const AlertSubscription&) = delete;

  // False when the stream has ended (Status() then tells why).
  bool Read(healthtwin::alerts::v1::AlertEvent* event);
  void Cancel() { ctx_.TryCancel(); }
  // After Read returned false: how the upstream call ended.
  absl::Status Finish();

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<healthtwin::alerts::v1::AlertEvent>> reader_;
  bool finished_ = false;
};

struct Upstreams {
  std::unique_ptr<healthtwin::vitals::v1::VitalsQueryService::Stub> vitals;
  std::unique_ptr<healthtwin::alerts::v1::AlertService::Stub> alerts;
  // One stub per twin shard; each call goes to the shard that owns its patient.
  TwinRouter twin;
  // The registry (hosted by ingest) for decrypted identities; null: GetPatientIdentity is UNIMPLEMENTED.
  std::unique_ptr<healthtwin::registry::v1::RegistryService::Stub> registry;
  // The simulation service, for the dashboard's what-if; null: StartWhatIfAs is UNIMPLEMENTED.
  std::unique_ptr<healthtwin::simulation::v1::SimulationService::Stub> simulation;
};

// A what-if comparison relayed from the simulation service: progress events, then the result.
template <typename Event>
class UpstreamStream;
using WhatIfStream = UpstreamStream<healthtwin::simulation::v1::WhatIfEvent>;

class ClinicianServiceImpl final : public v1::ClinicianService::CallbackService {
 public:
  // Who may call each method (people, by role; care team is checked per patient on top).
  static const common::CallerPolicy::Rules& DefaultPolicy();

  ClinicianServiceImpl(Access& access, Upstreams upstreams, common::Executor& executor, common::CallerPolicy policy)
      : access_(access), up_(std::move(upstreams)), executor_(executor), policy_(std::move(policy)) {}

  // Bearer tokens on the gRPC calls (token_gate.h). Call before serving; without it every
  // call is admitted on its certificate alone and a call carrying a token is refused.
  void SetTokenGate(TokenGate gate) { tokens_ = std::move(gate); }

  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* ctx, const v1::WhoAmIRequest* req,
                                   v1::WhoAmIResponse* resp) override;
  grpc::ServerUnaryReactor* ListMyPatients(grpc::CallbackServerContext* ctx, const v1::ListMyPatientsRequest* req,
                                           v1::ListMyPatientsResponse* resp) override;
  grpc::ServerUnaryReactor* GetVitals(grpc::CallbackServerContext* ctx,
                                      const healthtwin::vitals::v1::QueryVitalsRequest* req,
                                      healthtwin::vitals::v1::QueryVitalsResponse* resp) override;
  grpc::ServerWriteReactor<healthtwin::alerts::v1::AlertEvent>* SubscribeAlerts(
      grpc::CallbackServerContext* ctx, const healthtwin::alerts::v1::SubscribeRequest* req) override;
  grpc::ServerUnaryReactor* AcknowledgeAlert(grpc::CallbackServerContext* ctx, const v1::AcknowledgeAlertRequest* req,
                                             healthtwin::alerts::v1::Alert* resp) override;
  grpc::ServerUnaryReactor* GetTwin(grpc::CallbackServerContext* ctx, const v1::GetTwinRequest* req,
                                    healthtwin::twin::v1::TwinSnapshot* resp) override;
  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* ctx, const healthtwin::twin::v1::PredictRequest* req,
                                    healthtwin::twin::v1::PredictResponse* resp) override;

  // Alerts API beyond the stream and acknowledgement (clinician_alerts.cc).
  grpc::ServerUnaryReactor* ListAlerts(grpc::CallbackServerContext* ctx,
                                       const healthtwin::alerts::v1::ListAlertsRequest* req,
                                       healthtwin::alerts::v1::ListAlertsResponse* resp) override;
  grpc::ServerUnaryReactor* GetAlert(grpc::CallbackServerContext* ctx,
                                     const healthtwin::alerts::v1::GetAlertRequest* req,
                                     healthtwin::alerts::v1::Alert* resp) override;
  grpc::ServerUnaryReactor* ShelveAlert(grpc::CallbackServerContext* ctx, const v1::ShelveAlertRequest* req,
                                        healthtwin::alerts::v1::Alert* resp) override;
  grpc::ServerUnaryReactor* GetPatientAlertSettings(grpc::CallbackServerContext* ctx,
                                                    const healthtwin::alerts::v1::GetPatientAlertSettingsRequest* req,
                                                    healthtwin::alerts::v1::PatientAlertSettings* resp) override;
  grpc::ServerUnaryReactor* SetPatientAlertSettings(grpc::CallbackServerContext* ctx,
                                                    const v1::SetPatientAlertSettingsRequest* req,
                                                    healthtwin::alerts::v1::PatientAlertSettings* resp) override;
  grpc::ServerUnaryReactor* GetAlarmBurden(grpc::CallbackServerContext* ctx,
                                           const healthtwin::alerts::v1::GetAlarmBurdenRequest* req,
                                           healthtwin::alerts::v1::GetAlarmBurdenResponse* resp) override;

  // Break-glass (break_glass_service.cc; the domain is break_glass.h). UNIMPLEMENTED until
  // EnableBreakGlass.
  grpc::ServerUnaryReactor* BreakGlass(grpc::CallbackServerContext* ctx, const v1::BreakGlassRequest* req,
                                       v1::BreakGlassGrant* resp) override;
  grpc::ServerUnaryReactor* ListBreakGlassGrants(grpc::CallbackServerContext* ctx,
                                                 const v1::ListBreakGlassGrantsRequest* req,
                                                 v1::ListBreakGlassGrantsResponse* resp) override;
  grpc::ServerUnaryReactor* ReviewBreakGlassGrant(grpc::CallbackServerContext* ctx,
                                                  const v1::ReviewBreakGlassGrantRequest* req,
                                                  v1::BreakGlassGrant* resp) override;
  // Admins: break-glass starts and recorded ends as they happen, read from PostgreSQL NOTIFY on a
  // connection per stream (security_notices.h) by a thread per stream (watcher_threads_).
  grpc::ServerWriteReactor<v1::SecurityEvent>* WatchSecurityEvents(grpc::CallbackServerContext* ctx,
                                                                   const v1::WatchSecurityEventsRequest* req) override;
  // The patient's decrypted identity, relayed from the registry (clinician_identity.cc).
  grpc::ServerUnaryReactor* GetPatientIdentity(grpc::CallbackServerContext* ctx,
                                               const healthtwin::registry::v1::GetPatientIdentityRequest* req,
                                               healthtwin::registry::v1::PatientIdentity* resp) override;
  // De-identified research reads (research_service.cc; research.h, deid.h). FAILED_PRECONDITION
  // until EnableResearch.
  grpc::ServerUnaryReactor* ListStudyPatients(grpc::CallbackServerContext* ctx, const v1::ListStudyPatientsRequest* req,
                                              v1::ListStudyPatientsResponse* resp) override;
  grpc::ServerUnaryReactor* GetDeidentifiedVitals(grpc::CallbackServerContext* ctx,
                                                  const v1::GetDeidentifiedVitalsRequest* req,
                                                  v1::GetDeidentifiedVitalsResponse* resp) override;
  grpc::ServerUnaryReactor* GetDeidentifiedTwin(grpc::CallbackServerContext* ctx,
                                                const v1::GetDeidentifiedTwinRequest* req,
                                                healthtwin::twin::v1::TwinSnapshot* resp) override;
  // A what-if on a subject's twin, relayed to the simulation service for the researcher and
  // returned under the subject's pseudonym (research_service.cc).
  grpc::ServerWriteReactor<v1::DeidentifiedWhatIfEvent>* RunDeidentifiedWhatIf(
      grpc::CallbackServerContext* ctx, const v1::RunDeidentifiedWhatIfRequest* req) override;
  // Serves research through `research`, which must outlive this. Call before serving.
  void EnableResearch(clinician::Research& research) { research_ = &research; }
  // Serves break-glass through `break_glass`, which must outlive this. Call before serving.
  void EnableBreakGlass(clinician::BreakGlass& break_glass) { break_glass_ = &break_glass; }

  // The domain operations behind both edges (gRPC above, HTTPS/FHIR in fhir_api.h), for a caller
  // identified from its verified client certificate: the same policy check, care-team check
  // and audit rows whichever edge asked.
  absl::Status GetVitalsAs(const Caller& caller, const healthtwin::vitals::v1::QueryVitalsRequest& req,
                           healthtwin::vitals::v1::QueryVitalsResponse* resp);
  absl::Status ListAlertsAs(const Caller& caller, const healthtwin::alerts::v1::ListAlertsRequest& req,
                            healthtwin::alerts::v1::ListAlertsResponse* resp);
  // OK when the caller may read `patient_id` (policy "ReadPatient", care team; audited as
  // patient.read).
  absl::Status ReadPatientAs(const Caller& caller, const std::string& patient_id);
  // The role (policy `method`) and care team for a read of `patient_ids`, checked before an
  // edge validates the rest of a request, so a caller who may not read them is refused (403)
  // and audited under `action` whatever else is wrong with the request. Only refusals are
  // audited here: the read itself (GetVitalsAs, ListAlertsAs) audits the allowed access.
  absl::Status AuthorizeReadAs(const Caller& caller, std::string_view method, std::string_view action,
                               const std::vector<std::string>& patient_ids);
  // The caller's care-team patients (policy "ListMyPatients"; audited as patient.list).
  absl::Status ListMyPatientsAs(const Caller& caller, v1::ListMyPatientsResponse* resp);
  // Acknowledges an alert of one of the caller's patients as the caller (policy
  // "AcknowledgeAlert"; audited as alert.acknowledge, an unknown alert as not_found).
  absl::Status AcknowledgeAlertAs(const Caller& caller, const v1::AcknowledgeAlertRequest& req,
                                  healthtwin::alerts::v1::Alert* resp);
  // The upstream request of an alert subscription for the caller (policy "SubscribeAlerts"; the
  // care team followed when `req` names no patient, else each patient checked; audited as
  // alerts.subscribe). The gRPC stream and the dashboard's event stream both start here.
  absl::StatusOr<healthtwin::alerts::v1::SubscribeRequest> AuthorizeSubscribeAs(
      const Caller& caller, const healthtwin::alerts::v1::SubscribeRequest& req);
  // AuthorizeSubscribeAs, then the subscription itself, read synchronously.
  absl::StatusOr<std::unique_ptr<AlertSubscription>> SubscribeAlertsAs(
      const Caller& caller, const healthtwin::alerts::v1::SubscribeRequest& req);
  // The patient's current twin (policy "GetTwin"; audited as twin.read). NotFound when the
  // twin has no snapshot yet.
  absl::Status GetTwinAs(const Caller& caller, const v1::GetTwinRequest& req, healthtwin::twin::v1::TwinSnapshot* resp);
  // The twin's predicted vitals with their intervals (policy "Predict"; audited as twin.predict).
  absl::Status PredictAs(const Caller& caller, const healthtwin::twin::v1::PredictRequest& req,
                         healthtwin::twin::v1::PredictResponse* resp);
  // Shelves an alert of one of the caller's patients (policy "ShelveAlert"; audited as
  // alert.shelve). The gRPC ShelveAlert and the dashboard both go through here.
  absl::Status ShelveAlertAs(const Caller& caller, const v1::ShelveAlertRequest& req,
                             healthtwin::alerts::v1::Alert* resp);
  // Starts a what-if comparison on the patient's twin (policy "RunWhatIf", clinicians; care
  // team or break-glass checked and audited as twin.whatif) on the simulation service, which
  // validates the options and names the bad field (clinician_whatif.cc).
  absl::StatusOr<std::unique_ptr<WhatIfStream>> StartWhatIfAs(const Caller& caller,
                                                              const healthtwin::simulation::v1::WhatIfRequest& req);
  // The caller's own cohort jobs and one job's results (per-arm summaries, a page of the
  // per-patient CSV), relayed to the simulation service naming the person, which returns only
  // that person's jobs (policy "ListCohortJobs" / "GetCohortResults", researchers; audited as
  // cohort.list / cohort.results, refusals included) (clinician_cohort.cc).
  absl::Status ListCohortJobsAs(const Caller& caller, const healthtwin::simulation::v1::ListCohortJobsRequest& req,
                                healthtwin::simulation::v1::ListCohortJobsResponse* resp);
  absl::Status GetCohortResultsAs(const Caller& caller, const healthtwin::simulation::v1::JobRequest& req,
                                  healthtwin::simulation::v1::CohortResults* resp);

 private:
  // The verified caller of a gRPC call, its bearer token (if any) admitted for `method` by
  // tokens_; a refused token is audited (action auth.token, denied) before the refusal is
  // returned (clinician_auth.cc).
  absl::StatusOr<Caller> Authenticate(const grpc::CallbackServerContext& ctx, std::string_view method);
  // Calls `method` on the twin shard that owns `patient_id`, for `caller` (upstream.h).
  template <typename Req, typename Resp>
  absl::Status CallTwin(const Caller& caller, const std::string& patient_id,
                        grpc::Status (TwinRouter::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                        const Req& req, Resp* resp) {
    TwinRouter::Stub* stub = up_.twin.For(patient_id);
    if (stub == nullptr) return absl::UnimplementedError("this clinician_api has no twin service configured");
    return CallUpstream(caller, stub, method, req, resp);
  }
  // The subject's age capped at 90 (deid.h), from the birth date the registry decrypts; none
  // when there is no birth date or no registry (research_service.cc).
  absl::StatusOr<std::optional<int>> CappedAge(const Caller& caller, const StudySubject& subject);
  // RunDeidentifiedWhatIf on an executor thread: the policy, the study, the subject, then the
  // relay, each event written to `writer` de-identified; the status ends the call.
  absl::Status RelayDeidentifiedWhatIf(const grpc::CallbackServerContext& ctx,
                                       const v1::RunDeidentifiedWhatIfRequest& req,
                                       common::QueuedWriter<v1::DeidentifiedWhatIfEvent>& writer);
  // The caller when the policy admits it for `method`; a refusal is audited under `action`,
  // naming each of the patients the call asked about.
  absl::StatusOr<Caller> Identify(const grpc::CallbackServerContext& ctx, std::string_view method,
                                  std::string_view action, const std::vector<std::string>& patient_ids = {});
  // The caller when it may act on the alert: a valid, known alert of one of its patients.
  // Every outcome is audited under `action` (an unknown alert as "not_found").
  absl::StatusOr<Caller> IdentifyForAlert(const grpc::CallbackServerContext& ctx, std::string_view method,
                                          std::string_view action, const std::string& alert_id);
  // The same for a caller identified by another edge.
  absl::Status AuthorizeForAlert(const Caller& caller, std::string_view method, std::string_view action,
                                 const std::string& alert_id);
  // `requested` when every one is on the caller's care team (each audited; a refusal is
  // PERMISSION_DENIED), or the whole care team when `requested` is empty (audited once).
  absl::StatusOr<std::vector<std::string>> PatientsInScope(const Caller& caller, std::string_view action,
                                                           std::vector<std::string> requested);

  Access& access_;
  Upstreams up_;
  common::Executor& executor_;
  const common::CallerPolicy policy_;
  TokenGate tokens_;
  clinician::BreakGlass* break_glass_ = nullptr;
  clinician::Research* research_ = nullptr;
  // De-identified what-ifs relaying now: each holds an executor thread while it runs.
  std::atomic<int> research_whatifs_{0};
  // Last, so that open watch streams stop before anything they use goes away.
  WatcherThreads watcher_threads_;
};

}  // namespace healthtwin::clinician
