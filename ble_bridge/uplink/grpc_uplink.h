// The gRPC side of the uplink: IngestService.StreamSamples and RegistryService.CheckForwarding over
// mutual TLS with the bridge's certificate. Thin adapters: they convert between outbox rows
// and protos, and between grpc::Status and absl::Status; every decision is the forwarder's.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "ble_bridge/uplink/binding.h"
#include "ble_bridge/uplink/sample_sink.h"
#include "healthtwin/vitals/v1/vitals.pb.h"
#include "services/common/tls/tls.h"

namespace healthtwin::ble {

// Fills `out` from `rows`, with sender_seq = row id: measurements as `samples`, device status
// rows as `statuses`, each list in id order; the heartbeat, when given, as `gateway`.
void ToProto(std::span<const OutboxRow> rows, const std::optional<GatewayHeartbeat>& heartbeat,
             vitals::v1::SampleBatch* out);
UplinkAck FromProto(const vitals::v1::Ack& ack);

struct GrpcSinkOptions {
  // An acknowledgement that takes longer than this cancels the stream (a hung ingest or a
  // dead connection), and the forwarder starts over.
  std::chrono::milliseconds ack_timeout{60'000};
  // The name ingest's certificate must carry (DNS SAN); anything else at the address is
  // refused at the handshake, so vitals never go to an impostor.
  std::string ingest_identity = "ingest";
};

// Opens a new channel for every stream, so the forwarder's backoff, not gRPC's reconnect
// timer, decides when to try again, and a rotated certificate is picked up. `address` is
// asked on every Open() (tests move ingest to a new port). Thread-safe.
class GrpcSampleSink final : public SampleSink {
 public:
  GrpcSampleSink(std::function<std::string()> address, common::TlsFiles tls, GrpcSinkOptions options = {});
  absl::StatusOr<std::unique_ptr<SampleStream>> Open() override;

 private:
  std::function<std::string()> address_;
  const common::TlsFiles tls_;
  const GrpcSinkOptions options_;
};

// RegistryService.CheckForwarding with the bridge certificate, from the ingest process (whose
// certificate must name `ingest_identity`). Thread-safe.
class GrpcDeviceRegistry final : public DeviceRegistry {
 public:
  GrpcDeviceRegistry(std::function<std::string()> address, common::TlsFiles tls,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(5'000),
                     std::string ingest_identity = "ingest");
  absl::StatusOr<bool> MayForward(const std::string& device_id) override;

 private:
  std::function<std::string()> address_;
  const common::TlsFiles tls_;
  const std::chrono::milliseconds timeout_;
  const std::string ingest_identity_;
};

}  // namespace healthtwin::ble
