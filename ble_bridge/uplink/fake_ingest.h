// An in-memory ingest for the forwarder's unit tests: keeps what it "stores" keyed like
// ingest's idempotent key, enforces the per-stream sender_seq contract, and injects faults.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "ble_bridge/uplink/sample_sink.h"
#include "gtest/gtest.h"

namespace healthtwin::ble::testing {

class FakeIngest final : public SampleSink {
 public:
  using Key = std::tuple<std::string, int, int64_t, uint64_t>;  // device, type, measured_at, record seq

  // Faults, read under the lock when they apply.
  int fail_opens = 0;             // the next N Open() calls fail with Unavailable
  int lose_ack_of_batch = -1;     // batch number (0-based, across streams) stored but its ack lost
  int partial_ack_of_batch = -1;  // batch number acknowledged only through its first half
  double reject_above = 300;      // values above are rejected as implausible

  absl::StatusOr<std::unique_ptr<SampleStream>> Open() override {
    std::lock_guard lock(mu);
    ++opens;
    if (fail_opens > 0) {
      --fail_opens;
      return absl::UnavailableError("fake ingest is down");
    }
    return std::unique_ptr<SampleStream>(new Stream(*this));
  }

  std::size_t stored_count() {
    std::lock_guard lock(mu);
    return stored.size();
  }

  std::mutex mu;
  std::map<Key, double> stored;
  std::map<std::pair<std::string, int64_t>, DeviceStatusRecord> statuses;
  std::vector<GatewayHeartbeat> heartbeats;
  std::set<std::string> devices_seen;
  std::vector<Key> arrival;  // stored samples in the order they were stored
  int opens = 0;
  int batches = 0;
  uint64_t duplicates = 0;
  uint64_t contract_violations = 0;

 private:
  class Stream final : public SampleStream {
   public:
    explicit Stream(FakeIngest& ingest) : ingest_(ingest) {}
    absl::Status Write(std::span<const OutboxRow> rows, const std::optional<GatewayHeartbeat>& heartbeat) override {
      pending_.assign(rows.begin(), rows.end());
      if (heartbeat) {
        std::lock_guard lock(ingest_.mu);
        ingest_.heartbeats.push_back(*heartbeat);
      }
      return absl::OkStatus();
    }
    absl::StatusOr<UplinkAck> ReadAck() override {
      std::lock_guard lock(ingest_.mu);
      const int batch = ingest_.batches++;
      UplinkAck ack;
      std::size_t through = pending_.size();
      if (batch == ingest_.partial_ack_of_batch) through = pending_.size() / 2;
      for (std::size_t i = 0; i < through; ++i) {
        const OutboxRow& r = pending_[i];
        if (static_cast<uint64_t>(r.id) <= last_seq_) ++ingest_.contract_violations;
        last_seq_ = static_cast<uint64_t>(r.id);
        if (r.status) {
          // Keyed like ingest's device_status_history: device, (bridge,) observed_at.
          if (ingest_.statuses.try_emplace({r.status->device_id, r.status->observed_at_unix_us}, *r.status).second) {
            ++ack.status_stored_count;
          } else {
            ++ack.status_duplicate_count;
            ++ingest_.duplicates;
          }
          continue;
        }
        const Measurement& m = r.measurement;
        ingest_.devices_seen.insert(m.device_id);
        if (m.value > ingest_.reject_above) {
          ack.rejections.push_back({last_seq_, "REJECT_REASON_IMPLAUSIBLE_VALUE", "value: too high"});
          continue;
        }
        auto [it, inserted] = ingest_.stored.try_emplace(
            Key{m.device_id, static_cast<int>(m.type), m.measured_at_unix_us, m.device_record_seq}, m.value);
        if (inserted) {
          ingest_.arrival.push_back(it->first);
          ++ack.stored_count;
        } else {
          ++ack.duplicate_count;
          ++ingest_.duplicates;
        }
      }
      ack.durable_through_seq = last_seq_;
      if (batch == ingest_.lose_ack_of_batch) return absl::UnavailableError("connection reset before the ack");
      return ack;
    }
    absl::Status Finish() override { return absl::OkStatus(); }

   private:
    FakeIngest& ingest_;
    std::vector<OutboxRow> pending_;
    uint64_t last_seq_ = 0;
  };
};

}  // namespace healthtwin::ble::testing
