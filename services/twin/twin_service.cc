#include "services/twin/twin_service.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/common/grpc_util.h"
#include "services/common/page_token.h"
#include "services/common/stream_writer.h"
#include "services/common/time_util.h"
#include "services/common/vital_type.h"
#include "services/twin/limits.h"
#include "services/twin/vitals_mapping.h"

namespace healthtwin::twin {
namespace {

namespace mc = healthtwin::models::calibration;

constexpr int64_t kFarFutureUs = 253'402'300'799'000'000;  // 9999-12-31
constexpr double kZ90 = 1.6448536269514722;
constexpr uint32_t kDefaultHorizonH = 24;
constexpr uint32_t kDefaultStepMin = 60;

constexpr const char* kColumns =
    "patient_id, version, model_version, reason, (extract(epoch FROM created_at) * 1000000)::bigint,"
    " (extract(epoch FROM data_window_start) * 1000000)::bigint,"
    " (extract(epoch FROM data_window_end) * 1000000)::bigint, parameters::text, array_to_string(covariance, ','),"
    " (extract(epoch FROM state_time) * 1000000)::bigint, samples_absorbed, calibrated";

void RowToSnapshot(const pqxx::row& r, v1::TwinSnapshot* s) {
  s->set_patient_id(r[0].as<std::string>());
  s->set_version(r[1].as<uint64_t>());
  s->set_model_version(r[2].as<std::string>());
  s->set_reason(static_cast<v1::UpdateReason>(r[3].as<int>()));
  *s->mutable_created_at() = common::FromUnixMicros(r[4].as<int64_t>());
  if (!r[5].is_null()) *s->mutable_data_window_start() = common::FromUnixMicros(r[5].as<int64_t>());
  if (!r[6].is_null()) *s->mutable_data_window_end() = common::FromUnixMicros(r[6].as<int64_t>());
  // parameters: [{"name", "value", "std_dev", "fixed_at_prior", "lower_90", "upper_90"}, ...]
  for (const auto& p : nlohmann::json::parse(r[7].as<std::string>())) {
    auto* out = s->add_parameters();
    out->set_name(p.at("name").get<std::string>());
    out->set_value(p.at("value").get<double>());
    out->set_std_dev(p.value("std_dev", 0.0));
    out->set_fixed_at_prior(p.value("fixed_at_prior", false));
    out->set_lower_90(p.value("lower_90", out->value() - kZ90 * out->std_dev()));
    out->set_upper_90(p.value("upper_90", out->value() + kZ90 * out->std_dev()));
  }
  for (double c : common::ParseNumberList(r[8].as<std::string>())) s->add_covariance(c);
  if (!r[9].is_null()) *s->mutable_state_time() = common::FromUnixMicros(r[9].as<int64_t>());
  s->set_samples_absorbed(r[10].as<uint64_t>());
  s->set_calibrated(r[11].as<bool>());
}

// z with P(|Z| <= z) = level, by bisection on the normal tail (level in (0, 1)).
double TwoSidedZ(double level) {
  double lo = 0.0, hi = 10.0;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    (std::erf(mid / std::sqrt(2.0)) < level ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

absl::Status CheckPatientId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("patient_id: required");
  if (id.size() > 64) return absl::InvalidArgumentError("patient_id: at most 64 characters");
  return absl::OkStatus();
}

}  // namespace

void ToProto(const SnapshotRecord& r, v1::TwinSnapshot* s) {
  s->set_patient_id(r.patient_id);
  s->set_version(r.version);
  s->set_model_version(r.model_version);
  s->set_reason(static_cast<v1::UpdateReason>(static_cast<int>(r.reason)));
  *s->mutable_created_at() = common::FromUnixMicros(r.created_at_unix_us);
  if (r.window_start_unix_s != 0) *s->mutable_data_window_start() = common::FromUnixMicros(r.window_start_unix_s * 1'000'000);
  if (r.window_end_unix_s != 0) *s->mutable_data_window_end() = common::FromUnixMicros(r.window_end_unix_s * 1'000'000);
  for (const mc::ParameterEstimate& p : r.parameters) {
    auto* out = s->add_parameters();
    out->set_name(p.name);
    out->set_value(p.mean);
    out->set_std_dev(p.sd);
    out->set_fixed_at_prior(!p.identifiable);
    out->set_lower_90(p.lo90);
    out->set_upper_90(p.hi90);
  }
  for (double c : r.covariance) s->add_covariance(c);
  if (r.state_time_unix_s != 0) *s->mutable_state_time() = common::FromUnixMicros(r.state_time_unix_s * 1'000'000);
  s->set_samples_absorbed(r.samples_absorbed);
  s->set_calibrated(r.calibrated);
  for (const EventRecord& e : r.events) {
    auto* out = s->add_events();
    out->set_event_id(e.event_id);
    out->set_patient_id(r.patient_id);
    out->set_type(e.type);
    for (const auto& v : e.vitals) out->add_vitals(v);
    *out->mutable_started_at() = common::FromUnixMicros(e.started_at_unix_s * 1'000'000);
    *out->mutable_detected_at() = common::FromUnixMicros(e.detected_at_unix_s * 1'000'000);
    out->set_magnitude(e.magnitude);
    out->set_magnitude_sd(e.magnitude_sd);
    out->set_twin_version(e.twin_version);
  }
  s->set_last_calibration_error(r.last_calibration_error);
}

const common::CallerPolicy::Rules& TwinServiceImpl::DefaultPolicy() {
  // People reach twins through clinician_api (care team checked there) and simulation reads the
  // twin tables itself; admins administer and read no twin (ADR 0003).
  static const common::CallerPolicy::Rules kRules = {
      {"GetTwin", {"service:clinician_api"}},     {"GetTwinHistory", {"service:clinician_api"}},
      {"Predict", {"service:clinician_api"}},     {"Recalibrate", {"service:clinician_api"}},
      {"WatchTwins", {"service:clinician_api"}},
  };
  return kRules;
}

grpc::ServerUnaryReactor* TwinServiceImpl::GetTwin(grpc::CallbackServerContext* ctx, const v1::GetTwinRequest* req,
                                                   v1::TwinSnapshot* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "GetTwin", access_, "twin.read", {req->patient_id()});
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckPatientId(req->patient_id()); !s.ok()) return s;
    absl::StatusOr<int64_t> as_of = req->has_as_of() ? common::ToUnixMicros(req->as_of(), "as_of") : kFarFutureUs;
    if (!as_of.ok()) return as_of.status();
    bool found = false;
    auto s = pool_.WithTransaction("get twin", [&](pqxx::work& tx) {
      resp->Clear();
      auto r = tx.exec_params(std::string("SELECT ") + kColumns +
                                  " FROM twin_snapshots WHERE patient_id = $1"
                                  " AND created_at <= timestamptz 'epoch' + $2::bigint * interval '1 microsecond'"
                                  " ORDER BY version DESC LIMIT 1",
                              req->patient_id(), *as_of);
      if (!(found = !r.empty())) return;
      RowToSnapshot(r[0], resp);
      // The newest failed calibration after the last success, as of the same instant.
      auto err = tx.exec_params(
          "SELECT message FROM twin_calibrations WHERE patient_id = $1 AND NOT ok"
          " AND attempted_at <= timestamptz 'epoch' + $2::bigint * interval '1 microsecond'"
          " AND id > coalesce((SELECT max(id) FROM twin_calibrations WHERE patient_id = $1 AND ok"
          "   AND attempted_at <= timestamptz 'epoch' + $2::bigint * interval '1 microsecond'), 0)"
          " ORDER BY id DESC LIMIT 1",
          req->patient_id(), *as_of);
      if (!err.empty()) resp->set_last_calibration_error(err[0][0].as<std::string>());
    });
    if (s.ok() && !found) {
      return absl::NotFoundError("no twin snapshot for patient " + req->patient_id() +
                                 (req->has_as_of() ? " at that date" : "") + "; the twin has no data yet");
    }
    return s;
  });
}

grpc::ServerUnaryReactor* TwinServiceImpl::GetTwinHistory(grpc::CallbackServerContext* ctx,
                                                          const v1::GetTwinHistoryRequest* req,
                                                          v1::GetTwinHistoryResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "GetTwinHistory", access_, "twin.history", {req->patient_id()});
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckPatientId(req->patient_id()); !s.ok()) return s;
    if (req->page_size() > kMaxHistoryPageSize) {
      return absl::InvalidArgumentError(absl::StrCat("page_size: at most ", kMaxHistoryPageSize));
    }
    absl::StatusOr<int64_t> start = req->has_start() ? common::ToUnixMicros(req->start(), "start") : 0;
    if (!start.ok()) return start.status();
    absl::StatusOr<int64_t> end = req->has_end() ? common::ToUnixMicros(req->end(), "end") : kFarFutureUs;
    if (!end.ok()) return end.status();
    const int64_t limit = req->page_size() == 0 ? kDefaultHistoryPageSize : req->page_size();
    absl::StatusOr<int64_t> after_version = common::ParsePageToken(req->page_token(), INT64_MAX);
    if (!after_version.ok()) return after_version.status();
    return pool_.WithTransaction("get twin history", [&](pqxx::work& tx) {
      resp->Clear();
      auto rows = tx.exec_params(
          std::string("SELECT ") + kColumns +
              " FROM twin_snapshots WHERE patient_id = $1 AND version > $2"
              " AND created_at >= timestamptz 'epoch' + $3::bigint * interval '1 microsecond'"
              " AND created_at < timestamptz 'epoch' + $4::bigint * interval '1 microsecond'"
              " ORDER BY version LIMIT $5",
          req->patient_id(), *after_version, *start, *end, limit + 1);
      for (const auto& r : rows) {
        if (resp->snapshots_size() == limit) {
          resp->set_next_page_token(std::to_string(resp->snapshots(resp->snapshots_size() - 1).version()));
          break;
        }
        RowToSnapshot(r, resp->add_snapshots());
      }
    });
  });
}

grpc::ServerUnaryReactor* TwinServiceImpl::Predict(grpc::CallbackServerContext* ctx, const v1::PredictRequest* req,
                                                   v1::PredictResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "Predict", access_, "twin.predict", {req->patient_id()});
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckPatientId(req->patient_id()); !s.ok()) return s;
    const uint32_t horizon_h = req->horizon_h() == 0 ? kDefaultHorizonH : req->horizon_h();
    const uint32_t step_min = req->step_min() == 0 ? kDefaultStepMin : req->step_min();
    if (horizon_h > kMaxHorizonH) {
      return absl::InvalidArgumentError(absl::StrCat("horizon_h: ", horizon_h, "; at most ", kMaxHorizonH, " (30 days)"));
    }
    const double level = req->interval_level() == 0.0 ? 0.9 : req->interval_level();
    if (!(level > 0.0 && level < 1.0)) {
      return absl::InvalidArgumentError(absl::StrCat("interval_level: ", req->interval_level(), "; must be in (0, 1)"));
    }
    std::set<mc::Vital> wanted;
    for (int t : req->types()) {
      std::optional<mc::Vital> v = VitalOfType(t);
      if (!v) {
        return absl::InvalidArgumentError(absl::StrCat(
            "types: ", std::string(common::VitalTypeName(static_cast<common::VitalType>(common::IsKnownVitalType(t) ? t : 0))),
            " (", t, ") is not predicted by the twin; it predicts heart_rate, systolic_bp, diastolic_bp, spo2,"
                     " body_temperature and body_weight"));
      }
      wanted.insert(*v);
    }
    const std::size_t per_vital = static_cast<std::size_t>(horizon_h) * 60 / step_min + 1;
    if (per_vital * (wanted.empty() ? mc::kNumVitals : wanted.size()) > kMaxPredictedPoints) {
      return absl::InvalidArgumentError(absl::StrCat("step_min: ", step_min, " over horizon_h ", horizon_h,
                                                     " gives more than ", kMaxPredictedPoints, " points"));
    }
    absl::StatusOr<TwinKeeper::Prediction> p = keeper_.Predict(req->patient_id(), horizon_h, step_min / 60.0);
    if (!p.ok()) return p.status();
    const double scale = TwoSidedZ(level) / kZ90;
    resp->set_twin_version(p->twin_version);
    for (const mc::PredictionPoint& pt : p->points) {
      if (!wanted.empty() && !wanted.contains(pt.vital)) continue;
      auto* out = resp->add_points();
      const int type = TypeOfVital(pt.vital);
      out->set_type(static_cast<healthtwin::vitals::v1::VitalType>(type));
      *out->mutable_at() = common::FromUnixMicros(pt.at_unix_s * 1'000'000);
      const double ceiling = mc::ReadingCeiling(pt.vital);
      out->set_mean(std::min(pt.mean, ceiling));
      out->set_lower(pt.mean - (pt.mean - pt.reading_lo90) * scale);
      out->set_upper(std::min(pt.mean + (pt.reading_hi90 - pt.mean) * scale, ceiling));
      out->set_level_lower(pt.mean - (pt.mean - pt.level_lo90) * scale);
      out->set_level_upper(std::min(pt.mean + (pt.level_hi90 - pt.mean) * scale, ceiling));
      out->set_ucum_unit(std::string(common::CanonicalUnit(static_cast<common::VitalType>(type))));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TwinServiceImpl::Recalibrate(grpc::CallbackServerContext* ctx,
                                                       const v1::RecalibrateRequest* req, v1::TwinSnapshot* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "Recalibrate", access_, "twin.recalibrate", {req->patient_id()});
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckPatientId(req->patient_id()); !s.ok()) return s;
    std::optional<int64_t> start, end;
    if (req->has_window_start()) {
      absl::StatusOr<int64_t> us = common::ToUnixMicros(req->window_start(), "window_start");
      if (!us.ok()) return us.status();
      start = *us / 1'000'000;
    }
    if (req->has_window_end()) {
      absl::StatusOr<int64_t> us = common::ToUnixMicros(req->window_end(), "window_end");
      if (!us.ok()) return us.status();
      end = *us / 1'000'000;
    }
    if (start && end && *start >= *end) return absl::InvalidArgumentError("window_start: must be before window_end");
    absl::StatusOr<SnapshotRecord> r = keeper_.Recalibrate(req->patient_id(), start, end);
    if (!r.ok()) return r.status();
    ToProto(*r, resp);
    return absl::OkStatus();
  });
}

// One WatchTwins call. `mu` orders the keeper's pushes against Shutdown's close.
struct TwinServiceImpl::Watch {
  std::mutex mu;
  common::QueuedWriter<v1::TwinSnapshot>* writer = nullptr;
  std::set<std::string> patients;  // empty: all of the shard
  int watcher_id = 0;
  bool released = false;

  void ReleaseLocked(const grpc::Status* close_with) {
    if (released) return;
    if (close_with) writer->Close(*close_with);
    writer->Release();
    released = true;
  }
};

grpc::ServerWriteReactor<v1::TwinSnapshot>* TwinServiceImpl::WatchTwins(grpc::CallbackServerContext* ctx,
                                                                        const v1::WatchTwinsRequest* req) {
  auto* writer = new common::QueuedWriter<v1::TwinSnapshot>(256);
  auto fail = [writer](const absl::Status& s) {
    writer->Close(common::ToGrpcStatus(s));
    writer->Release();
    return writer;
  };
  // Bounded before anything is audited: a refused oversize request writes no thousand records.
  if (req->patient_ids_size() > kMaxWatchPatients) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("patient_ids: ", req->patient_ids_size(), " ids; at most ", kMaxWatchPatients, " per watch")));
  }
  // Audited before the stream starts; the whole shard (no patient ids) is one record without a
  // patient. Synchronous: the keeper's first snapshots follow at once.
  std::vector<std::string> patients(req->patient_ids().begin(), req->patient_ids().end());
  if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "WatchTwins", access_, "twin.watch", patients,
                                         patients.empty() ? "all patients of the shard" : "");
      !c.ok()) {
    return fail(c.status());
  }
  auto watch = std::make_shared<Watch>();
  watch->writer = writer;
  for (const std::string& id : req->patient_ids()) {
    if (auto s = CheckPatientId(id); !s.ok()) return fail(absl::InvalidArgumentError(absl::StrCat("patient_ids: ", s.message())));
    if (!keeper_.shard().Owns(id)) return fail(absl::FailedPreconditionError(keeper_.shard().WrongShardMessage(id)));
    watch->patients.insert(id);
  }
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return fail(absl::UnavailableError("twin service shutting down"));
    for (auto it = watches_.begin(); it != watches_.end();) {  // forget finished watches
      std::lock_guard wl(it->second->mu);
      it = it->second->released ? watches_.erase(it) : std::next(it);
    }
    watch->watcher_id = keeper_.AddWatcher([watch](const SnapshotRecord& rec) {
      std::lock_guard wl(watch->mu);
      if (watch->released) return false;
      if (watch->writer->done()) {
        watch->ReleaseLocked(nullptr);
        return false;
      }
      if (!watch->patients.empty() && !watch->patients.contains(rec.patient_id)) return true;
      v1::TwinSnapshot msg;
      ToProto(rec, &msg);
      if (!watch->writer->Push(std::move(msg))) {
        watch->ReleaseLocked(nullptr);
        return false;
      }
      return true;
    });
    watches_.emplace(watch->watcher_id, watch);
  }
  // The current snapshot of each requested patient first (from the database).
  if (!watch->patients.empty()) {
    executor_.Submit([this, watch] {
      std::vector<v1::TwinSnapshot> current;
      auto s = pool_.WithTransaction("watch twins: current", [&](pqxx::work& tx) {
        current.clear();
        for (const std::string& id : watch->patients) {
          auto r = tx.exec_params(std::string("SELECT ") + kColumns +
                                      " FROM twin_snapshots WHERE patient_id = $1 ORDER BY version DESC LIMIT 1",
                                  id);
          if (!r.empty()) RowToSnapshot(r[0], &current.emplace_back());
        }
      });
      std::lock_guard wl(watch->mu);
      if (watch->released) return;
      if (!s.ok()) {
        const grpc::Status st = common::ToGrpcStatus(s);
        watch->ReleaseLocked(&st);
        return;
      }
      for (auto& m : current) watch->writer->Push(std::move(m));
    }, [watch] {
      const grpc::Status busy = common::ToGrpcStatus(common::ServerBusyError());
      std::lock_guard wl(watch->mu);
      watch->ReleaseLocked(&busy);
    });
  }
  return writer;
}

void TwinServiceImpl::Shutdown() {
  std::map<int, std::shared_ptr<Watch>> watches;
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    watches.swap(watches_);
  }
  const grpc::Status closing(grpc::StatusCode::UNAVAILABLE, "twin service shutting down");
  for (auto& [id, w] : watches) {
    keeper_.RemoveWatcher(id);  // waits for a push in progress
    std::lock_guard wl(w->mu);
    w->ReleaseLocked(&closing);
  }
}

}  // namespace healthtwin::twin
