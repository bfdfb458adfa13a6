// The uplink's domain logic: streams outbox rows to ingest and deletes them once ingest's
// durability watermark covers them.
//
// Guarantees:
// - A row leaves the outbox only after an acknowledgement on the stream it was written to
//   covers its id. A rejected row is acknowledged too: it is logged with ingest's reason,
//   counted, and deleted (resending it would be rejected again forever).
// - After any failure (ingest down, TLS refused, PostgreSQL down behind ingest, an ack that
//   does not arrive, a kill -9 of this process) a new stream resends every row still in the
//   outbox, oldest first. Ingest's idempotent keys turn what it had already stored into
//   duplicates, so delivery is exactly once.
// - It never gives up: during an outage of any length it keeps the rows and retries with
//   exponential backoff (with jitter) up to `max_backoff`.
// - With a BindingCache, rows of devices not bound to a patient are held (kept, not sent)
//   and their devices listed; a session that held rows is renewed every binding ttl when
//   idle, so rows of a newly bound device go out (sender_seq must increase within a
//   stream, so they cannot join the running one).
//
// - Device status rows travel like measurements (same ids, same acknowledgement, held while
//   their device is not bound).
// - Gateway heartbeat: with a heartbeat_interval, every stream sends a GatewayHeartbeat (outbox
//   depth, version, uptime) when it opens and then at least every interval, on the next batch or
//   alone when idle. It is not in the outbox: it is a liveness signal that the next one
//   replaces, it carries no sender_seq, and so it cannot disturb the rows' exactly-once.
//
// One batch is in flight at a time. Thread safety: Run/Drain on one thread; Stats() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "ble_bridge/outbox/outbox.h"
#include "ble_bridge/uplink/binding.h"
#include "ble_bridge/uplink/sample_sink.h"
#include "ble_bridge/uplink/stop_signal.h"

namespace healthtwin::ble {

struct ForwarderOptions {
  std::size_t batch_size = 500;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{30'000};
  std::chrono::milliseconds idle_poll{200};  // how often an idle stream looks for new rows
  uint64_t jitter_seed = 0;
  // How often a stream sends a gateway heartbeat; 0 never. The bridge daemon uses 60 s.
  std::chrono::milliseconds heartbeat_interval{0};
  std::string bridge_version{};
  // Gateway clock for the heartbeat's observed_at; default system_clock.
  std::function<int64_t()> now_unix_us{};
};

struct ForwarderStats {
  uint64_t sent_total = 0;         // rows written (resends count again)
  uint64_t acked_total = 0;        // rows deleted after an acknowledgement
  uint64_t rejected_total = 0;     // of those, rejected by ingest
  uint64_t quarantined_total = 0;  // of those, quarantined by ingest
  uint64_t duplicate_total = 0;    // of those, already stored (a resend)
  uint64_t held_total = 0;         // rows skipped because their device is not bound
  uint64_t sessions_total = 0;     // streams opened
  uint64_t stream_failures_total = 0;
  uint64_t heartbeats_total = 0;  // heartbeats written
};

class Forwarder {
 public:
  // `outbox`, `sink` and `bindings` (may be null: forward every device) must outlive this.
  Forwarder(Outbox& outbox, SampleSink& sink, ForwarderOptions options = {}, BindingCache* bindings = nullptr);

  // Forwards until `stop`.
  void Run(StopSignal& stop);
  // Forwards until every forwardable row is acknowledged (true) or `stop` (false).
  bool Drain(StopSignal& stop);

  ForwarderStats Stats() const;

 private:
  enum class SessionEnd { kStopped, kDrained, kRenew, kFailed };
  // One stream: from the oldest row on. `failure` gets the status when kFailed.
  SessionEnd RunSession(StopSignal& stop, bool until_drained, absl::Status& failure, bool& progressed);
  void Loop(StopSignal& stop, bool until_drained, bool& drained);
  absl::Status HandleAck(const UplinkAck& ack, std::span<const OutboxRow> sent);
  // The heartbeat to send with the next write, when one is due at `now`.
  std::optional<GatewayHeartbeat> DueHeartbeat(std::chrono::steady_clock::time_point now);
  // Writes `batch` (maybe empty) with `heartbeat` and handles the acknowledgement.
  absl::Status Exchange(SampleStream& stream, std::span<const OutboxRow> batch,
                        const std::optional<GatewayHeartbeat>& heartbeat);

  Outbox& outbox_;
  SampleSink& sink_;
  const ForwarderOptions options_;
  BindingCache* bindings_;
  std::mt19937_64 rng_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> last_heartbeat_;  // on the current stream

  std::atomic<uint64_t> sent_total_{0}, acked_total_{0}, rejected_total_{0}, quarantined_total_{0}, duplicate_total_{0},
      held_total_{0}, sessions_total_{0}, stream_failures_total_{0}, heartbeats_total_{0};
};

}  // namespace healthtwin::ble
