#include "services/twin/twin_service.h"

#include <nlohmann/json.hpp>

#include "services/common/grpc_util.h"
#include "services/common/time_util.h"

namespace healthtwin::twin {
namespace {

constexpr std::initializer_list<common::Role> kCallers = {common::Role::kService, common::Role::kAdmin};
constexpr int64_t kFarFutureUs = 253'402'300'799'000'000;  // 9999-12-31

constexpr const char* kColumns =
    "patient_id, version, model_version, reason, (extract(epoch FROM created_at) * 1000000)::bigint,"
    " (extract(epoch FROM data_window_start) * 1000000)::bigint,"
    " (extract(epoch FROM data_window_end) * 1000000)::bigint, parameters::text, array_to_string(covariance, ',')";

void RowToSnapshot(const pqxx::row& r, v1::TwinSnapshot* s) {
  s->set_patient_id(r[0].as<std::string>());
  s->set_version(r[1].as<uint64_t>());
  s->set_model_version(r[2].as<std::string>());
  s->set_reason(static_cast<v1::UpdateReason>(r[3].as<int>()));
  *s->mutable_created_at() = common::FromUnixMicros(r[4].as<int64_t>());
  if (!r[5].is_null()) *s->mutable_data_window_start() = common::FromUnixMicros(r[5].as<int64_t>());
  if (!r[6].is_null()) *s->mutable_data_window_end() = common::FromUnixMicros(r[6].as<int64_t>());
  // parameters: [{"name": ..., "value": ..., "std_dev": ..., "fixed_at_prior": ...}, ...]
  for (const auto& p : nlohmann::json::parse(r[7].as<std::string>())) {
    auto* out = s->add_parameters();
    out->set_name(p.at("name").get<std::string>());
    out->set_value(p.at("value").get<double>());
    out->set_std_dev(p.value("std_dev", 0.0));
    out->set_fixed_at_prior(p.value("fixed_at_prior", false));
  }
  const std::string cov = r[8].as<std::string>();
  std::size_t start = 0;
  while (start < cov.size()) {
    std::size_t end = cov.find(',', start);
    if (end == std::string::npos) end = cov.size();
    s->add_covariance(std::stod(cov.substr(start, end - start)));
    start = end + 1;
  }
}

}  // namespace

grpc::ServerUnaryReactor* TwinServiceImpl::GetTwin(grpc::CallbackServerContext* ctx, const v1::GetTwinRequest* req,
                                                   v1::TwinSnapshot* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto peer = common::RequireRole(*ctx, kCallers); !peer.ok()) return peer.status();
    if (req->patient_id().empty()) return absl::InvalidArgumentError("patient_id: required");
    const int64_t as_of = req->has_as_of() ? common::ToUnixMicros(req->as_of()) : kFarFutureUs;
    bool found = false;
    auto s = pool_.WithTransaction("get twin", [&](pqxx::work& tx) {
      auto r = tx.exec_params(std::string("SELECT ") + kColumns +
                                  " FROM twin_snapshots WHERE patient_id = $1"
                                  " AND created_at <= timestamptz 'epoch' + $2::bigint * interval '1 microsecond'"
                                  " ORDER BY version DESC LIMIT 1",
                              req->patient_id(), as_of);
      if ((found = !r.empty())) RowToSnapshot(r[0], resp);
    });
    if (s.ok() && !found) {
      return absl::NotFoundError("no twin snapshot for patient " + req->patient_id() +
                                 (req->has_as_of() ? " at that date" : "") + "; the twin has not been calibrated");
    }
    return s;
  });
}

grpc::ServerUnaryReactor* TwinServiceImpl::GetTwinHistory(grpc::CallbackServerContext* ctx,
                                                          const v1::GetTwinHistoryRequest* req,
                                                          v1::GetTwinHistoryResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto peer = common::RequireRole(*ctx, kCallers); !peer.ok()) return peer.status();
    if (req->patient_id().empty()) return absl::InvalidArgumentError("patient_id: required");
    if (req->page_size() > 1000) return absl::InvalidArgumentError("page_size: at most 1000");
    const int64_t start = req->has_start() ? common::ToUnixMicros(req->start()) : 0;
    const int64_t end = req->has_end() ? common::ToUnixMicros(req->end()) : kFarFutureUs;
    const int64_t limit = req->page_size() == 0 ? 100 : req->page_size();
    int64_t after_version = 0;
    if (!req->page_token().empty()) {
      try {
        after_version = std::stoll(req->page_token());
      } catch (const std::exception&) {
        return absl::InvalidArgumentError("page_token: not a token this service issued");
      }
    }
    return pool_.WithTransaction("get twin history", [&](pqxx::work& tx) {
      auto rows = tx.exec_params(
          std::string("SELECT ") + kColumns +
              " FROM twin_snapshots WHERE patient_id = $1 AND version > $2"
              " AND created_at >= timestamptz 'epoch' + $3::bigint * interval '1 microsecond'"
              " AND created_at < timestamptz 'epoch' + $4::bigint * interval '1 microsecond'"
              " ORDER BY version LIMIT $5",
          req->patient_id(), after_version, start, end, limit + 1);
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

}  // namespace healthtwin::twin
