// AlertService: per-patient alert settings and alarm burden (the rest is alert_service.cc).
#include "absl/strings/str_cat.h"
#include "services/alerts/alert_queries.h"
#include "services/alerts/alert_service.h"
#include "services/alerts/settings_store.h"
#include "services/common/grpc_util.h"
#include "services/common/time_util.h"

namespace healthtwin::alerts {
namespace {

// A burden window longer than this is refused: a year and a bit covers any report, and the
// query reads every alert of the patients inside it.
constexpr int64_t kMaxBurdenWindowUs = 400LL * 86'400'000'000;
constexpr int64_t kDefaultBurdenWindowUs = 7LL * 86'400'000'000;

}  // namespace

grpc::ServerUnaryReactor* AlertServiceImpl::GetPatientAlertSettings(grpc::CallbackServerContext* ctx,
                                                                    const v1::GetPatientAlertSettingsRequest* req,
                                                                    v1::PatientAlertSettings* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "GetPatientAlertSettings", access_, "alert_settings.read",
                                           {req->patient_id()});
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckPatientIds({req->patient_id()}, "patient_id"); !s.ok()) return s;
    absl::Status result;
    auto s = pool_.WithTransaction("read alert settings", [&](pqxx::work& tx) {
      auto got = LoadPatientSettings(tx, req->patient_id());
      result = got.status();
      if (got.ok()) *resp = std::move(*got);
    });
    return s.ok() ? result : s;
  });
}

grpc::ServerUnaryReactor* AlertServiceImpl::SetPatientAlertSettings(grpc::CallbackServerContext* ctx,
                                                                    const v1::SetPatientAlertSettingsRequest* req,
                                                                    v1::PatientAlertSettings* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    const std::string& patient = req->settings().patient_id();
    auto caller =
        common::AuthorizeAndAudit(*ctx, policy_, "SetPatientAlertSettings", access_, "alert_settings.write", {patient});
    if (!caller.ok()) return caller.status();
    if (auto s = CheckPatientIds({patient}, "settings.patient_id"); !s.ok()) return s;
    if (req->updated_by().empty()) return absl::InvalidArgumentError("updated_by: required");
    if (caller->on_behalf_of != req->updated_by()) {
      return absl::InvalidArgumentError(std::string("updated_by: must be the person named in ") +
                                        common::kOnBehalfOfHeader);
    }
    if (req->expected_version() < 0) return absl::InvalidArgumentError("expected_version: negative");
    if (rules_ == nullptr) return absl::FailedPreconditionError("no alert rule catalogue is loaded (--alert-rules)");
    const rules::PatientAlertSettings settings = SettingsFromProto(req->settings());
    if (auto s = rules_->ValidateSettings(settings); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("settings.", s.message()));
    }
    absl::Status result;
    auto s = pool_.WithTransaction("write alert settings", [&](pqxx::work& tx) {
      auto stored = StorePatientSettings(tx, patient, settings, req->updated_by(), req->expected_version());
      result = stored.status();
      if (stored.ok()) *resp = std::move(*stored);
    });
    return s.ok() ? result : s;
  });
}

grpc::ServerUnaryReactor* AlertServiceImpl::GetAlarmBurden(grpc::CallbackServerContext* ctx,
                                                           const v1::GetAlarmBurdenRequest* req,
                                                           v1::GetAlarmBurdenResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    BurdenQuery q;
    q.patient_ids.assign(req->patient_ids().begin(), req->patient_ids().end());
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "GetAlarmBurden", access_, "alerts.burden", q.patient_ids);
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckPatientIds(q.patient_ids, "patient_ids"); !s.ok()) return s;
    if (!v1::GetAlarmBurdenRequest::GroupBy_IsValid(req->group_by())) {
      return absl::InvalidArgumentError("group_by: unknown value");
    }
    q.group_by = req->group_by();
    absl::StatusOr<int64_t> end = req->has_end() ? common::ToUnixMicros(req->end(), "end") : common::NowUnixMicros();
    if (!end.ok()) return end.status();
    absl::StatusOr<int64_t> start =
        req->has_start() ? common::ToUnixMicros(req->start(), "start") : *end - kDefaultBurdenWindowUs;
    if (!start.ok()) return start.status();
    if (*start >= *end) return absl::InvalidArgumentError("start: must be before end");
    if (*end - *start > kMaxBurdenWindowUs) return absl::InvalidArgumentError("start: the window is over 400 days");
    q.start_us = *start;
    q.end_us = *end;
    return pool_.WithTransaction("alarm burden", [&](pqxx::work& tx) {
      resp->Clear();
      for (auto& row : AlarmBurden(tx, q)) *resp->add_rows() = std::move(row);
      *resp->mutable_start() = common::FromUnixMicros(q.start_us);
      *resp->mutable_end() = common::FromUnixMicros(q.end_us);
    });
  });
}

}  // namespace healthtwin::alerts
