#include "services/ingest/ingest_core.h"

#include <set>

#include <gtest/gtest.h>

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
  IngestStream stream(store, "bridge-1", [] { return kNow; });
  auto r = stream.Process({Hr(1, 70), Hr(2, 900), Hr(3, 75)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->durable_through_seq, 3u);
  EXPECT_EQ(r->outcome.stored, 2u);
  ASSERT_EQ(r->rejections.size(), 1u);
  EXPECT_EQ(r->rejections[0].sender_seq, 2u);
}

TEST(IngestStreamTest, RejectsNonIncreasingSenderSeqNamingTheField) {
  FakeStore store;
  IngestStream stream(store, "bridge-1", [] { return kNow; });
  ASSERT_TRUE(stream.Process({Hr(5, 70)}).ok());
  auto r = stream.Process({Hr(5, 70)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("samples[0].sender_seq"), std::string::npos) << r.status();
}

TEST(IngestStreamTest, StoreFailureDoesNotAdvanceWatermark) {
  FakeStore store;
  IngestStream stream(store, "bridge-1", [] { return kNow; });
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
  IngestStream first(store, "bridge-1", [] { return kNow; });
  ASSERT_TRUE(first.Process({Hr(1, 70), Hr(2, 71)}).ok());
  IngestStream second(store, "bridge-1", [] { return kNow; });  // a reconnect
  auto r = second.Process({Hr(1, 70), Hr(2, 71)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.duplicates, 2u);
  EXPECT_EQ(r->outcome.stored, 0u);
}

TEST(IngestStreamTest, RejectsOversizedBatch) {
  FakeStore store;
  IngestStream stream(store, "bridge-1", [] { return kNow; });
  std::vector<IncomingSample> batch(kMaxSamplesPerBatch + 1);
  auto r = stream.Process(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace healthtwin::ingest
