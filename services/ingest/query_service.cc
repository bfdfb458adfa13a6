#include "services/ingest/query_service.h"

#include "services/common/grpc_util.h"
#include "services/common/time_util.h"

namespace healthtwin::ingest {

namespace v1 = healthtwin::vitals::v1;

const common::CallerPolicy::Rules& QueryServiceImpl::DefaultPolicy() {
  // People read vitals through clinician_api (care team checked there); no other service needs them.
  static const common::CallerPolicy::Rules kRules = {{"QueryVitals", {"service:clinician_api"}}};
  return kRules;
}

grpc::ServerUnaryReactor* QueryServiceImpl::QueryVitals(grpc::CallbackServerContext* ctx,
                                                        const v1::QueryVitalsRequest* request,
                                                        v1::QueryVitalsResponse* response) {
  return common::RunUnary(ctx, executor_, [this, ctx, request, response]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "QueryVitals", access_, "vitals.query",
                                           {request->patient_id()});
        !c.ok()) {
      return c.status();
    }
    if (!request->has_start() || !request->has_end()) return absl::InvalidArgumentError("start and end: required");
    VitalsQuery q;
    q.patient_id = request->patient_id();
    for (int t : request->types()) q.types.push_back(static_cast<common::VitalType>(t));
    absl::StatusOr<int64_t> start_us = common::ToUnixMicros(request->start(), "start");
    if (!start_us.ok()) return start_us.status();
    absl::StatusOr<int64_t> end_us = common::ToUnixMicros(request->end(), "end");
    if (!end_us.ok()) return end_us.status();
    q.start_us = *start_us;
    q.end_us = *end_us;
    q.bucket_s = request->bucket_s();
    q.page_size = request->page_size();
    q.page_token = request->page_token();
    auto page = reader_.Query(q);
    if (!page.ok()) return page.status();
    for (const auto& s : page->samples) {
      auto* out = response->add_samples();
      out->set_patient_id(q.patient_id);
      out->set_ingest_seq(s.ingest_seq);
      out->set_device_id(s.device_id);
      out->set_type(static_cast<v1::VitalType>(s.type));
      out->set_value(s.value);
      out->set_ucum_unit(std::string(common::CanonicalUnit(s.type)));
      *out->mutable_measured_at() = common::FromUnixMicros(s.measured_at_us);
      if (s.received_at_us) *out->mutable_received_at() = common::FromUnixMicros(*s.received_at_us);
      for (int flag = 1; flag < 32; ++flag) {
        if (s.flags & (1u << flag)) out->add_flags(static_cast<v1::SampleFlag>(flag));
      }
    }
    for (const auto& b : page->buckets) {
      auto* out = response->add_buckets();
      out->set_type(static_cast<v1::VitalType>(b.type));
      *out->mutable_bucket_start() = common::FromUnixMicros(b.bucket_start_us);
      out->set_min(b.min);
      out->set_max(b.max);
      out->set_mean(b.mean);
      out->set_count(b.count);
      out->set_ucum_unit(std::string(common::CanonicalUnit(b.type)));
    }
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

}  // namespace healthtwin::ingest
