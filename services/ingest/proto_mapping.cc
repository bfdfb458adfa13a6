#include "services/ingest/proto_mapping.h"

#include "services/common/time_util.h"

namespace healthtwin::ingest {
namespace {

namespace v1 = healthtwin::vitals::v1;

// Maps `ts` into `out` when `present`; a Timestamp out of range sets `error` (the first one
// only) so the item alone is rejected: a stream error would make the bridge resend it for ever.
void MapTime(bool present, const google::protobuf::Timestamp& ts, const char* field, std::optional<int64_t>& out,
             std::string& error) {
  if (!present || !error.empty()) return;
  absl::StatusOr<int64_t> us = common::ToUnixMicros(ts, field);
  if (us.ok()) {
    out = *us;
  } else {
    error = std::string(us.status().message());
  }
}

IncomingDeviceStatus FromProto(const v1::DeviceStatus& s) {
  IncomingDeviceStatus in;
  in.sender_seq = s.sender_seq();
  in.device_id = s.device_id();
  MapTime(s.has_observed_at(), s.observed_at(), "observed_at", in.observed_at_us, in.mapping_error);
  MapTime(s.has_connection_changed_at(), s.connection_changed_at(), "connection_changed_at",
          in.connection_changed_at_us, in.mapping_error);
  if (s.has_battery_percent()) in.battery_percent = s.battery_percent();
  in.sensor_contact = s.sensor_contact();
  in.connection = s.connection();
  if (s.has_clock_skew_s()) in.clock_skew_s = s.clock_skew_s();
  return in;
}

}  // namespace

IncomingBatch FromProto(const v1::SampleBatch& batch) {
  IncomingBatch out;
  out.samples.reserve(batch.samples_size());
  for (const auto& s : batch.samples()) {
    IncomingSample in;
    in.sender_seq = s.sender_seq();
    in.device_id = s.device_id();
    in.type = s.type();
    in.value = s.value();
    in.ucum_unit = s.ucum_unit();
    MapTime(s.has_measured_at(), s.measured_at(), "measured_at", in.measured_at_us, in.mapping_error);
    MapTime(s.has_received_at(), s.received_at(), "received_at", in.received_at_us, in.mapping_error);
    in.device_record_seq = s.device_record_seq();
    out.samples.push_back(std::move(in));
  }
  out.statuses.reserve(batch.statuses_size());
  for (const auto& s : batch.statuses()) out.statuses.push_back(FromProto(s));
  if (batch.has_gateway()) {
    const v1::GatewayStatus& g = batch.gateway();
    IncomingHeartbeat hb;
    MapTime(g.has_observed_at(), g.observed_at(), "observed_at", hb.observed_at_us, hb.mapping_error);
    hb.outbox_depth = g.outbox_depth();
    hb.bridge_version = g.bridge_version();
    hb.uptime_s = g.uptime_s();
    out.gateway = std::move(hb);
  }
  return out;
}

void ToProto(const BatchResult& result, v1::Ack* ack) {
  ack->set_durable_through_seq(result.durable_through_seq);
  ack->set_stored_count(result.outcome.stored);
  ack->set_duplicate_count(result.outcome.duplicates);
  ack->set_quarantined_count(result.outcome.quarantined);
  ack->set_status_stored_count(result.status_outcome.stored);
  ack->set_status_duplicate_count(result.status_outcome.duplicates);
  for (const auto& r : result.rejections) {
    auto* out = ack->add_rejections();
    out->set_sender_seq(r.sender_seq);
    out->set_reason(static_cast<v1::RejectReason>(r.reason));
    out->set_detail(r.detail);
  }
}

}  // namespace healthtwin::ingest
