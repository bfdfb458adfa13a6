// gRPC adapter for healthtwin.alerts.v1.AlertService, and the hub that fans new alert
// events out to live subscriptions.
//
// The hub follows alert_events in PostgreSQL (woken by NOTIFY alerts_new, polling every
// second as a fallback), so any replica delivers every event raised by any replica.
// Callers are clinician_api only (by default; config `[access]`), which enforces care-team
// access and names the person it relays for; every call is audited here as well.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "healthtwin/alerts/v1/alerts.grpc.pb.h"
#include "services/alerts/lifecycle/pg_store.h"
#include "services/alerts/rules/engine.h"
#include "services/common/access.h"
#include "services/common/caller_policy.h"
#include "services/common/executor.h"
#include "services/common/pg.h"

namespace healthtwin::alerts {

namespace v1 = healthtwin::alerts::v1;

class Subscription;

class AlertHub {
 public:
  AlertHub(common::PgPool& pool, std::string conninfo);
  ~AlertHub();
  void Start();
  // Asks the consumer thread to end after its current wait (at most about a second) without
  // waiting for it; the destructor joins it. Lets that wait overlap the server drain.
  void RequestStop() { stop_ = true; }
  // Ends every live subscription with `status` (used on drain).
  void FinishAll(const grpc::Status& status);

  // Registers `sub` and returns the last event_seq already delivered; events after it
  // will be pushed to `sub`.
  int64_t Add(Subscription* sub);
  void Remove(Subscription* sub);

 private:
  void Loop();
  absl::Status DeliverNew();

  common::PgPool& pool_;
  const std::string conninfo_;
  std::mutex mu_;
  std::set<Subscription*> subs_;
  int64_t last_seq_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class AlertServiceImpl final : public v1::AlertService::CallbackService {
 public:
  static const common::CallerPolicy::Rules& DefaultPolicy();

  // Acknowledge and Shelve go through `store` (the alarm lifecycle), which must outlive this.
  // SetPatientAlertSettings validates against `rules` (the loaded catalogue, which must
  // outlive this); without it, setting is FAILED_PRECONDITION.
  AlertServiceImpl(common::PgPool& pool, common::Executor& executor, AlertHub& hub, common::CallerPolicy policy,
                   const lifecycle::PgLifecycleStore& store, const rules::RuleEngine* rules = nullptr)
      : pool_(pool),
        executor_(executor),
        hub_(hub),
        access_(pool),
        policy_(std::move(policy)),
        store_(store),
        rules_(rules) {}

  grpc::ServerWriteReactor<v1::AlertEvent>* Subscribe(grpc::CallbackServerContext* ctx,
                                                      const v1::SubscribeRequest* req) override;
  grpc::ServerUnaryReactor* Acknowledge(grpc::CallbackServerContext* ctx, const v1::AcknowledgeRequest* req,
                                        v1::Alert* resp) override;
  grpc::ServerUnaryReactor* ListAlerts(grpc::CallbackServerContext* ctx, const v1::ListAlertsRequest* req,
                                       v1::ListAlertsResponse* resp) override;
  grpc::ServerUnaryReactor* Shelve(grpc::CallbackServerContext* ctx, const v1::ShelveRequest* req,
                                   v1::Alert* resp) override;
  grpc::ServerUnaryReactor* GetAlert(grpc::CallbackServerContext* ctx, const v1::GetAlertRequest* req,
                                     v1::Alert* resp) override;
  // In alert_service_settings.cc: settings (patient_alert_settings) and alarm burden.
  grpc::ServerUnaryReactor* GetPatientAlertSettings(grpc::CallbackServerContext* ctx,
                                                    const v1::GetPatientAlertSettingsRequest* req,
                                                    v1::PatientAlertSettings* resp) override;
  grpc::ServerUnaryReactor* SetPatientAlertSettings(grpc::CallbackServerContext* ctx,
                                                    const v1::SetPatientAlertSettingsRequest* req,
                                                    v1::PatientAlertSettings* resp) override;
  grpc::ServerUnaryReactor* GetAlarmBurden(grpc::CallbackServerContext* ctx, const v1::GetAlarmBurdenRequest* req,
                                           v1::GetAlarmBurdenResponse* resp) override;

  // For start-up wiring: audit checkpoints (services/common/audit_checkpointing.h).
  common::Access& access() { return access_; }

 private:
  // Authorises and audits `method` on the alert for `recipient` (null: no person named);
  // NOT_FOUND for an unknown alert.
  absl::StatusOr<common::Caller> AuthorizeOnAlert(grpc::CallbackServerContext& ctx, const char* method,
                                                  const char* action, const std::string& alert_id,
                                                  const std::string* recipient);

  common::PgPool& pool_;
  common::Executor& executor_;
  AlertHub& hub_;
  common::Access access_;
  const common::CallerPolicy policy_;
  const lifecycle::PgLifecycleStore& store_;
  const rules::RuleEngine* rules_;
};

// Loads alerts with their acknowledgements and current shelves; `ids` are alert UUIDs.
std::vector<v1::Alert> LoadAlerts(pqxx::work& tx, const std::vector<std::string>& ids);
// The alert's event log, oldest first.
std::vector<v1::AlertEventRecord> LoadAlertEvents(pqxx::work& tx, const std::string& alert_id);

}  // namespace healthtwin::alerts
