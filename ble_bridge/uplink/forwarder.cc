#include "ble_bridge/uplink/forwarder.h"

#include <algorithm>
#include <map>
#include <set>

#include "services/common/logging.h"

namespace healthtwin::ble {

Forwarder::Forwarder(Outbox& outbox, SampleSink& sink, ForwarderOptions options, BindingCache* bindings)
    : outbox_(outbox), sink_(sink), options_(options), bindings_(bindings), rng_(options.jitter_seed) {}

ForwarderStats Forwarder::Stats() const {
  return {sent_total_.load(),        acked_total_.load(),           rejected_total_.load(),
          quarantined_total_.load(), duplicate_total_.load(),       held_total_.load(),
          sessions_total_.load(),    stream_failures_total_.load(), heartbeats_total_.load()};
}

void Forwarder::Run(StopSignal& stop) {
  bool drained = false;
  Loop(stop, false, drained);
}

bool Forwarder::Drain(StopSignal& stop) {
  bool drained = false;
  Loop(stop, true, drained);
  return drained;
}

void Forwarder::Loop(StopSignal& stop, bool until_drained, bool& drained) {
  auto backoff = options_.initial_backoff;
  uint64_t consecutive_failures = 0;
  while (!stop.stopped()) {
    absl::Status failure;
    bool progressed = false;
    const SessionEnd end = RunSession(stop, until_drained, failure, progressed);
    if (progressed && consecutive_failures > 0) {
      common::LogInfo("bridge.uplink_restored", {{"after_failures", consecutive_failures}});
      consecutive_failures = 0;
    }
    if (progressed) backoff = options_.initial_backoff;
    switch (end) {
      case SessionEnd::kStopped:
        return;
      case SessionEnd::kDrained:
        drained = true;
        return;
      case SessionEnd::kRenew:
        continue;
      case SessionEnd::kFailed:
        break;
    }
    ++stream_failures_total_;
    ++consecutive_failures;
    // Full backoff at most, half of it at least, so many bridges do not retry in step.
    std::uniform_int_distribution<int64_t> jitter(backoff.count() / 2, backoff.count());
    const std::chrono::milliseconds wait{jitter(rng_)};
    // An outage of days must not fill the disk with logs: the first few failures, then every 20th.
    if (consecutive_failures <= 5 || consecutive_failures % 20 == 0) {
      const bool ours = failure.code() == absl::StatusCode::kUnauthenticated ||
                        failure.code() == absl::StatusCode::kPermissionDenied ||
                        failure.code() == absl::StatusCode::kInvalidArgument;
      common::Log(ours ? spdlog::level::err : spdlog::level::warn, "bridge.uplink_failed",
                  {{"code", absl::StatusCodeToString(failure.code())},
                   {"error", failure.message()},
                   {"consecutive_failures", consecutive_failures},
                   {"pending_rows", outbox_.Stats().rows},
                   {"retry_in_ms", wait.count()}});
    }
    if (stop.WaitFor(wait)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

Forwarder::SessionEnd Forwarder::RunSession(StopSignal& stop, bool until_drained, absl::Status& failure,
                                            bool& progressed) {
  auto stream = sink_.Open();
  if (!stream.ok()) {
    failure = stream.status();
    return SessionEnd::kFailed;
  }
  ++sessions_total_;
  const auto started = std::chrono::steady_clock::now();
  last_heartbeat_.reset();  // a new stream says at once that the gateway is alive
  // A new stream resends everything still in the outbox: ingest's watermark is per stream.
  int64_t cursor = 0;
  uint64_t held_in_session = 0;
  // A device with a row held in this session has all its later rows held too, until the next
  // session resends them from the outbox in order: sending a later row first would put a
  // device's readings out of order at ingest (the twin refuses a reading older than its state;
  // the hour's chaos soak lost 6 that way when the first registry answer for a device was an
  // error and the next batch's was "bound").
  std::set<std::string> held_devices;
  while (!stop.stopped()) {
    auto rows = outbox_.ReadAfter(cursor, options_.batch_size);
    if (!rows.ok()) {
      failure = rows.status();
      return SessionEnd::kFailed;
    }
    if (rows->empty()) {
      if (auto heartbeat = DueHeartbeat(std::chrono::steady_clock::now()); heartbeat && !until_drained) {
        if (auto s = Exchange(**stream, {}, heartbeat); !s.ok()) {
          failure = s;
          return SessionEnd::kFailed;
        }
        progressed = true;
        continue;
      }
      if (until_drained) {
        (void)(*stream)->Finish();
        return SessionEnd::kDrained;
      }
      if (held_in_session > 0 && bindings_ != nullptr &&
          std::chrono::steady_clock::now() - started >= bindings_->ttl()) {
        (void)(*stream)->Finish();
        return SessionEnd::kRenew;  // held rows may belong to a device bound since
      }
      if (stop.WaitFor(options_.idle_poll)) break;
      continue;
    }
    cursor = rows->back().id;

    std::vector<OutboxRow> batch;
    batch.reserve(rows->size());
    if (bindings_ == nullptr) {
      batch = *std::move(rows);
    } else {
      std::map<std::string, bool> decided;  // one registry question per device per batch
      for (auto& r : *rows) {
        auto [it, fresh] = decided.try_emplace(r.device_id(), false);
        if (fresh && !held_devices.contains(r.device_id())) {
          auto bound = bindings_->IsBound(r.device_id());
          it->second = bound.ok() && *bound;
        }
        if (it->second) {
          batch.push_back(std::move(r));
        } else {
          held_devices.insert(r.device_id());
          ++held_in_session;
          ++held_total_;
        }
      }
      if (batch.empty()) continue;
    }

    if (auto s = Exchange(**stream, batch, DueHeartbeat(std::chrono::steady_clock::now())); !s.ok()) {
      failure = s;
      return SessionEnd::kFailed;
    }
    progressed = true;
  }
  return SessionEnd::kStopped;  // destroying the stream cancels it
}

std::optional<GatewayHeartbeat> Forwarder::DueHeartbeat(std::chrono::steady_clock::time_point now) {
  if (options_.heartbeat_interval.count() <= 0) return std::nullopt;
  if (last_heartbeat_ && now - *last_heartbeat_ < options_.heartbeat_interval) return std::nullopt;
  GatewayHeartbeat hb;
  hb.observed_at_unix_us =
      options_.now_unix_us
          ? options_.now_unix_us()
          : std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
  hb.outbox_depth = outbox_.Stats().rows;
  hb.bridge_version = options_.bridge_version;
  hb.uptime_s = std::chrono::duration_cast<std::chrono::seconds>(now - started_).count();
  last_heartbeat_ = now;
  return hb;
}

absl::Status Forwarder::Exchange(SampleStream& stream, std::span<const OutboxRow> batch,
                                 const std::optional<GatewayHeartbeat>& heartbeat) {
  if (auto s = stream.Write(batch, heartbeat); !s.ok()) return s;
  sent_total_ += batch.size();
  if (heartbeat) ++heartbeats_total_;
  auto ack = stream.ReadAck();
  if (!ack.ok()) return ack.status();
  if (batch.empty()) return absl::OkStatus();  // a heartbeat alone: nothing to delete
  return HandleAck(*ack, batch);
}

absl::Status Forwarder::HandleAck(const UplinkAck& ack, std::span<const OutboxRow> sent) {
  const uint64_t last = static_cast<uint64_t>(sent.back().id);
  std::vector<int64_t> covered;
  covered.reserve(sent.size());
  std::map<uint64_t, const OutboxRow*> by_seq;
  for (const auto& r : sent) {
    if (static_cast<uint64_t>(r.id) > ack.durable_through_seq) break;
    covered.push_back(r.id);
    by_seq[static_cast<uint64_t>(r.id)] = &r;
  }
  for (const auto& rej : ack.rejections) {
    auto it = by_seq.find(rej.sender_seq);
    // The field the detail names, not the detail: it quotes the clinical value.
    nlohmann::json fields = {
        {"sender_seq", rej.sender_seq}, {"reason", rej.reason}, {"field", rej.detail.substr(0, rej.detail.find(':'))}};
    if (it != by_seq.end()) {
      const OutboxRow& r = *it->second;
      fields["device_id"] = r.device_id();
      fields["type"] =
          r.is_status() ? std::string("device_status") : std::string(common::VitalTypeName(r.measurement.type));
      ++rejected_total_;
    }
    // Rejected for good: resending would only be rejected again. It is removed with the rest.
    common::LogWarn("bridge.sample_rejected", fields);
  }
  auto deleted = outbox_.Delete(covered);
  if (!deleted.ok()) return deleted.status();
  acked_total_ += static_cast<uint64_t>(*deleted);
  quarantined_total_ += ack.quarantined_count;
  duplicate_total_ += ack.duplicate_count + ack.status_duplicate_count;
  if (ack.durable_through_seq < last) {
    // Ingest acknowledges whole batches; anything else means the rest must be resent, and
    // only a new stream may go back to lower sender_seq.
    return absl::UnavailableError("ingest acknowledged through " + std::to_string(ack.durable_through_seq) +
                                  " of a batch ending at " + std::to_string(last));
  }
  return absl::OkStatus();
}

}  // namespace healthtwin::ble
