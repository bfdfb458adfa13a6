#include "services/ingest/ingest_core.h"

#include <gtest/gtest.h>

#include <set>

namespace healthtwin::ingest {
namespace {

constexpr int64_t kNow = 1'790'000'000'000'000;

class FakeStore : public SampleStore {
 public:
  absl::StatusOr<StoreOutcome> StoreBatch(std::string_view, const std::vector<ValidSample>& samples) override {
    if (!fail.ok()) return fail;
    StoreOutcome out;
    for (const auto& s : samples) {
      auto key = s.device_id + "/" + std::to_string(static_cast<int>(s.type)) + "/" + std::to_string(s.measured_at_us);
      if (keys.insert(key).second) {
        ++out.stored;
      } else {
        ++out.duplicates;
      }
    }
    return out;
  }
  std::set<std::string> keys;
  absl::Status fail;
};

class FakeStatusStore : public DeviceStatusStore {
 public:
  absl::StatusOr<StatusStoreOutcome> StoreStatuses(std::string_view, const std::vector<ValidDeviceStatus>& statuses,
                                                   const std::optional<GatewayHeartbeat>& heartbeat, int64_t) override {
    if (!fail.ok()) return fail;
    StatusStoreOutcome out;
    for (const auto& s : statuses) {
      if (keys.insert(s.device_id + "/" + std::to_string(s.observed_at_us)).second) {
        ++out.stored;
      } else {
        ++out.duplicates;
      }
    }
    if (heartbeat) {
      heartbeats.push_back(*heartbeat);
      out.heartbeat_stored = true;
    }
    return out;
  }
  std::set<std::string> keys;
  std::vector<GatewayHeartbeat> heartbeats;
  absl::Status fail;
};

IncomingSample Hr(uint64_t seq, double bpm) {
  IncomingSample s;
  s.sender_seq = seq;
  s.device_id = "dev-1";
  s.type = 1;
  s.value = bpm;
  s.ucum_unit = "/min";
  s.measured_at_us = kNow - 1'000'000 * static_cast<int64_t>(100 - seq);
  return s;
}

TEST(IngestStreamTest, WatermarkCoversStoredAndRejectedSamples) {
  FakeStore store;
  FakeStatusStore statuses;
  IngestStream stream(store, statuses, "bridge-1", [] { return kNow; });
  auto r = stream.Process({Hr(1, 70), Hr(2, 900), Hr(3, 75)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->durable_through_seq, 3u);
  EXPECT_EQ(r->outcome.stored, 2u);
  ASSERT_EQ(r->rejections.size(), 1u);
  EXPECT_EQ(r->rejections[0].sender_seq, 2u);
}

TEST(IngestStreamTest, RejectsNonIncreasingSenderSeqNamingTheField) {
  FakeStore store;
  FakeStatusStore statuses;
  IngestStream stream(store, statuses, "bridge-1", [] { return kNow; });
  ASSERT_TRUE(stream.Process({Hr(5, 70)}).ok());
  auto r = stream.Process({Hr(5, 70)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("samples[0].sender_seq"), std::string::npos) << r.status();
}

TEST(IngestStreamTest, StoreFailureDoesNotAdvanceWatermark) {
  FakeStore store;
  FakeStatusStore statuses;
  IngestStream stream(store, statuses, "bridge-1", [] { return kNow; });
  store.fail = absl::UnavailableError("db down");
  auto r = stream.Process({Hr(1, 70)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(stream.last_seq(), 0u);
  store.fail = absl::OkStatus();
  r = stream.Process({Hr(1, 70)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->durable_through_seq, 1u);
}

TEST(IngestStreamTest, ReplayCountsDuplicates) {
  FakeStore store;
  FakeStatusStore statuses;
  IngestStream first(store, statuses, "bridge-1", [] { return kNow; });
  ASSERT_TRUE(first.Process({Hr(1, 70), Hr(2, 71)}).ok());
  IngestStream second(store, statuses, "bridge-1", [] { return kNow; });  // a reconnect
  auto r = second.Process({Hr(1, 70), Hr(2, 71)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.duplicates, 2u);
  EXPECT_EQ(r->outcome.stored, 0u);
}

TEST(IngestStreamTest, RejectsOversizedBatch) {
  FakeStore store;
  FakeStatusStore statuses;
  IngestStream stream(store, statuses, "bridge-1", [] { return kNow; });
  std::vector<IncomingSample> batch(kMaxSamplesPerBatch + 1);
  auto r = stream.Process(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

IncomingDeviceStatus Battery(uint64_t seq, int64_t percent) {
  IncomingDeviceStatus s;
  s.sender_seq = seq;
  s.device_id = "dev-1";
  s.observed_at_us = kNow - 1'000'000 * static_cast<int64_t>(100 - seq);
  s.battery_percent = percent;
  s.connection = kConnectionConnected;
  s.connection_changed_at_us = kNow - 200'000'000;
  return s;
}

TEST(IngestStreamTest, OneWatermarkCoversSamplesAndStatusesAndRejectsABadStatus) {
  FakeStore store;
  FakeStatusStore statuses;
  IngestStream stream(store, statuses, "bridge-1", [] { return kNow; });
  auto r = stream.Process(IncomingBatch{{Hr(1, 70), Hr(4, 71)}, {Battery(2, 80), Battery(3, 130)}, std::nullopt});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->durable_through_seq, 4u);
  EXPECT_EQ(r->outcome.stored, 2u);
  EXPECT_EQ(r->status_outcome.stored, 1u);
  ASSERT_EQ(r->rejections.size(), 1u);
  EXPECT_EQ(r->rejections[0].sender_seq, 3u);
  EXPECT_EQ(r->rejections[0].detail, "battery_percent: 130 is outside 0..100");

  // The watermark is shared: a later batch may not go back to a status's sequence number.
  auto again = stream.Process(IncomingBatch{{}, {Battery(3, 80)}, std::nullopt});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("statuses[0].sender_seq: 3 is not greater than 4"), std::string::npos)
      << again.status();
}

TEST(IngestStreamTest, ASequenceNumberUsedByASampleAndAStatusBreaksTheStream) {
  FakeStore store;
  FakeStatusStore statuses;
  IngestStream stream(store, statuses, "bridge-1", [] { return kNow; });
  auto r = stream.Process(IncomingBatch{{Hr(1, 70), Hr(2, 71)}, {Battery(2, 80)}, std::nullopt});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("statuses[0].sender_seq: 2 is also a sample's"), std::string::npos) << r.status();
  EXPECT_TRUE(store.keys.empty());
}

TEST(IngestStreamTest, AResentStatusIsADuplicateOnANewStream) {
  FakeStore store;
  FakeStatusStore statuses;
  IngestStream first(store, statuses, "bridge-1", [] { return kNow; });
  ASSERT_TRUE(first.Process(IncomingBatch{{}, {Battery(1, 80)}, std::nullopt}).ok());
  IngestStream second(store, statuses, "bridge-1", [] { return kNow; });
  auto r = second.Process(IncomingBatch{{}, {Battery(1, 80)}, std::nullopt});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status_outcome.stored, 0u);
  EXPECT_EQ(r->status_outcome.duplicates, 1u);
  EXPECT_EQ(r->durable_through_seq, 1u);
}

TEST(IngestStreamTest, AStatusStoreFailureFailsTheBatchWithoutMovingTheWatermark) {
  FakeStore store;
  FakeStatusStore statuses;
  IngestStream stream(store, statuses, "bridge-1", [] { return kNow; });
  statuses.fail = absl::UnavailableError("db down");
  auto r = stream.Process(IncomingBatch{{Hr(1, 70)}, {Battery(2, 80)}, std::nullopt});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(stream.last_seq(), 0u);
}

TEST(IngestStreamTest, AHeartbeatAloneIsStoredAndAnInvalidOneIsDroppedNotFatal) {
  FakeStore store;
  FakeStatusStore statuses;
  IngestStream stream(store, statuses, "bridge-1", [] { return kNow; });
  auto r = stream.Process(IncomingBatch{{}, {}, IncomingHeartbeat{kNow - 5, 17, "0.1.0", 60, ""}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->status_outcome.heartbeat_stored);
  ASSERT_EQ(statuses.heartbeats.size(), 1u);
  EXPECT_EQ(statuses.heartbeats[0].outbox_depth, 17);
  EXPECT_EQ(r->durable_through_seq, 0u);

  r = stream.Process(IncomingBatch{{Hr(1, 70)}, {}, IncomingHeartbeat{std::nullopt, 1, "", 0, ""}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->heartbeat_error.message(), "gateway.observed_at: missing");
  EXPECT_EQ(r->durable_through_seq, 1u);
  EXPECT_EQ(statuses.heartbeats.size(), 1u);
}

}  // namespace
}  // namespace healthtwin::ingest
