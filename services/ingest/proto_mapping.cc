#include "services/ingest/proto_mapping.h"

#include "services/common/time_util.h"

namespace healthtwin::ingest {

namespace v1 = healthtwin::vitals::v1;

std::vector<IncomingSample> FromProto(const v1::SampleBatch& batch) {
  std::vector<IncomingSample> out;
  out.reserve(batch.samples_size());
  for (const auto& s : batch.samples()) {
    IncomingSample in;
    in.sender_seq = s.sender_seq();
    in.device_id = s.device_id();
    in.type = s.type();
    in.value = s.value();
    in.ucum_unit = s.ucum_unit();
    // A timestamp out of range rejects this sample only (a stream error would make the bridge
    // resend it for ever); ValidateSample reports mapping_error.
    if (s.has_measured_at()) {
      absl::StatusOr<int64_t> us = common::ToUnixMicros(s.measured_at(), "measured_at");
      if (us.ok()) {
        in.measured_at_us = *us;
      } else {
        in.mapping_error = std::string(us.status().message());
      }
    }
    if (s.has_received_at() && in.mapping_error.empty()) {
      absl::StatusOr<int64_t> us = common::ToUnixMicros(s.received_at(), "received_at");
      if (us.ok()) {
        in.received_at_us = *us;
      } else {
        in.mapping_error = std::string(us.status().message());
      }
    }
    in.device_record_seq = s.device_record_seq();
    out.push_back(std::move(in));
  }
  return out;
}

void ToProto(const BatchResult& result, v1::Ack* ack) {
  ack->set_durable_through_seq(result.durable_through_seq);
  ack->set_stored_count(result.outcome.stored);
  ack->set_duplicate_count(result.outcome.duplicates);
  ack->set_quarantined_count(result.outcome.quarantined);
  for (const auto& r : result.rejections) {
    auto* out = ack->add_rejections();
    out->set_sender_seq(r.sender_seq);
    out->set_reason(static_cast<v1::RejectReason>(r.reason));
    out->set_detail(r.detail);
  }
}

}  // namespace healthtwin::ingest
