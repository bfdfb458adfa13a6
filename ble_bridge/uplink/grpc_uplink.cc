#include "ble_bridge/uplink/grpc_uplink.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "services/common/status.h"
#include "services/common/time_util.h"

namespace healthtwin::ble {
namespace {

namespace v1 = healthtwin::vitals::v1;

absl::Status FromGrpc(const grpc::Status& status, const std::string& address) {
  if (common::IsPeerNameMismatch(status)) {
    return absl::UnauthenticatedError("the server at " + address +
                                      " is not the expected service: " + status.error_message());
  }
  if (common::IsTlsHandshakeFailure(status)) {
    return absl::UnauthenticatedError("TLS handshake with " + address +
                                      " refused: the server and the bridge certificate do not share a CA");
  }
  auto s = common::FromGrpcStatus(status);
  return absl::Status(s.code(), address + ": " + std::string(s.message()));
}

// Cancels the call when an acknowledgement is overdue.
class Watchdog {
 public:
  explicit Watchdog(grpc::ClientContext& ctx) : ctx_(ctx), thread_([this] { Loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Arm(std::chrono::milliseconds timeout) {
    std::lock_guard lock(mu_);
    deadline_ = std::chrono::steady_clock::now() + timeout;
    armed_ = true;
    cv_.notify_all();
  }
  void Disarm() {
    std::lock_guard lock(mu_);
    armed_ = false;
  }
  bool fired() const {
    std::lock_guard lock(mu_);
    return fired_;
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!done_) {
      if (!armed_) {
        cv_.wait(lock);
        continue;
      }
      if (cv_.wait_until(lock, deadline_) == std::cv_status::timeout && armed_ && !done_ &&
          std::chrono::steady_clock::now() >= deadline_) {
        fired_ = true;
        armed_ = false;
        ctx_.TryCancel();
      }
    }
  }

  grpc::ClientContext& ctx_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::steady_clock::time_point deadline_;
  bool armed_ = false;
  bool fired_ = false;
  bool done_ = false;
  std::thread thread_;  // last: starts after the members it reads
};

class GrpcSampleStream final : public SampleStream {
 public:
  GrpcSampleStream(std::shared_ptr<grpc::Channel> channel, std::string address, GrpcSinkOptions options)
      : stub_(v1::IngestService::NewStub(channel)), address_(std::move(address)), options_(options) {
    stream_ = stub_->StreamSamples(&ctx_);
    watchdog_ = std::make_unique<Watchdog>(ctx_);
  }
  ~GrpcSampleStream() override {
    if (!finished_) {
      ctx_.TryCancel();
      (void)stream_->Finish();
    }
    watchdog_.reset();
  }

  absl::Status Write(std::span<const OutboxRow> rows, const std::optional<GatewayHeartbeat>& heartbeat) override {
    if (finished_) return final_;
    batch_.Clear();
    ToProto(rows, heartbeat, &batch_);
    // The write itself can block on flow control; the watchdog covers it too.
    watchdog_->Arm(options_.ack_timeout);
    const bool ok = stream_->Write(batch_);
    watchdog_->Disarm();
    if (!ok) return Fail();
    return absl::OkStatus();
  }

  absl::StatusOr<UplinkAck> ReadAck() override {
    if (finished_) return final_;
    v1::Ack ack;
    watchdog_->Arm(options_.ack_timeout);
    const bool ok = stream_->Read(&ack);
    watchdog_->Disarm();
    if (!ok) return Fail();
    return FromProto(ack);
  }

  absl::Status Finish() override {
    if (finished_) return final_;
    stream_->WritesDone();
    final_ = FromGrpc(stream_->Finish(), address_);
    finished_ = true;
    return final_;
  }

 private:
  absl::Status Fail() {
    ctx_.TryCancel();
    final_ = FromGrpc(stream_->Finish(), address_);
    finished_ = true;
    if (watchdog_->fired()) {
      final_ = absl::DeadlineExceededError(address_ + ": no acknowledgement within " +
                                           std::to_string(options_.ack_timeout.count()) + " ms");
    } else if (final_.ok()) {
      final_ = absl::UnavailableError(address_ + ": ingest closed the stream");
    }
    return final_;
  }

  std::unique_ptr<v1::IngestService::Stub> stub_;
  const std::string address_;
  const GrpcSinkOptions options_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::SampleBatch, v1::Ack>> stream_;
  std::unique_ptr<Watchdog> watchdog_;
  v1::SampleBatch batch_;
  bool finished_ = false;
  absl::Status final_;
};

}  // namespace

namespace {

void StatusToProto(int64_t id, const DeviceStatusRecord& st, v1::DeviceStatus* out) {
  out->set_sender_seq(static_cast<uint64_t>(id));
  out->set_device_id(st.device_id);
  *out->mutable_observed_at() = common::FromUnixMicros(st.observed_at_unix_us);
  if (st.battery_percent) out->set_battery_percent(static_cast<uint32_t>(*st.battery_percent));
  out->set_sensor_contact(static_cast<v1::SensorContact>(static_cast<int>(st.sensor_contact)));
  out->set_connection(st.connected ? v1::CONNECTION_STATE_CONNECTED : v1::CONNECTION_STATE_DISCONNECTED);
  *out->mutable_connection_changed_at() = common::FromUnixMicros(st.connection_changed_at_unix_us);
  if (st.clock_skew_us) out->set_clock_skew_s(static_cast<double>(*st.clock_skew_us) / 1e6);
}

}  // namespace

void ToProto(std::span<const OutboxRow> rows, const std::optional<GatewayHeartbeat>& heartbeat, v1::SampleBatch* out) {
  if (heartbeat) {
    v1::GatewayStatus* g = out->mutable_gateway();
    *g->mutable_observed_at() = common::FromUnixMicros(heartbeat->observed_at_unix_us);
    g->set_outbox_depth(static_cast<uint64_t>(std::max<int64_t>(0, heartbeat->outbox_depth)));
    g->set_bridge_version(heartbeat->bridge_version);
    g->set_uptime_s(static_cast<uint64_t>(std::max<int64_t>(0, heartbeat->uptime_s)));
  }
  for (const auto& r : rows) {
    if (r.status) {
      StatusToProto(r.id, *r.status, out->add_statuses());
      continue;
    }
    auto* s = out->add_samples();
    s->set_sender_seq(static_cast<uint64_t>(r.id));
    s->set_device_id(r.measurement.device_id);
    s->set_type(static_cast<v1::VitalType>(static_cast<int>(r.measurement.type)));
    s->set_value(r.measurement.value);
    s->set_ucum_unit(r.measurement.ucum_unit);
    *s->mutable_measured_at() = common::FromUnixMicros(r.measurement.measured_at_unix_us);
    *s->mutable_received_at() = common::FromUnixMicros(r.measurement.received_at_unix_us);
    s->set_device_record_seq(r.measurement.device_record_seq);
  }
}

UplinkAck FromProto(const v1::Ack& ack) {
  UplinkAck out;
  out.durable_through_seq = ack.durable_through_seq();
  out.stored_count = ack.stored_count();
  out.duplicate_count = ack.duplicate_count();
  out.quarantined_count = ack.quarantined_count();
  out.status_stored_count = ack.status_stored_count();
  out.status_duplicate_count = ack.status_duplicate_count();
  for (const auto& r : ack.rejections()) {
    out.rejections.push_back({r.sender_seq(), v1::RejectReason_Name(r.reason()), r.detail()});
  }
  return out;
}

GrpcSampleSink::GrpcSampleSink(std::function<std::string()> address, common::TlsFiles tls, GrpcSinkOptions options)
    : address_(std::move(address)), tls_(std::move(tls)), options_(options) {}

absl::StatusOr<std::unique_ptr<SampleStream>> GrpcSampleSink::Open() {
  const std::string address = address_();
  auto channel = common::MakePeerChannel(address, tls_, options_.ingest_identity);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<SampleStream>(new GrpcSampleStream(*std::move(channel), address, options_));
}

GrpcDeviceRegistry::GrpcDeviceRegistry(std::function<std::string()> address, common::TlsFiles tls,
                                       std::chrono::milliseconds timeout, std::string ingest_identity)
    : address_(std::move(address)),
      tls_(std::move(tls)),
      timeout_(timeout),
      ingest_identity_(std::move(ingest_identity)) {}

absl::StatusOr<bool> GrpcDeviceRegistry::MayForward(const std::string& device_id) {
  const std::string address = address_();
  auto channel = common::MakePeerChannel(address, tls_, ingest_identity_);
  if (!channel.ok()) return channel.status();
  auto stub = registry::v1::RegistryService::NewStub(*channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout_);
  registry::v1::CheckForwardingRequest req;
  req.set_device_id(device_id);
  registry::v1::CheckForwardingResponse resp;
  auto status = stub->CheckForwarding(&ctx, req, &resp);
  if (!status.ok()) return FromGrpc(status, address);
  return resp.state() == registry::v1::FORWARDING_STATE_ALLOWED;
}

}  // namespace healthtwin::ble
