// The request edge of ingest without a server: proto mapping into the validator, and the
// vitals query checks.
#include "services/ingest/proto_mapping.h"

#include "gtest/gtest.h"
#include "services/common/time_util.h"
#include "services/ingest/vitals_reader.h"

namespace healthtwin::ingest {
namespace {

namespace v1 = healthtwin::vitals::v1;

constexpr int64_t kNow = 1'790'000'000'000'000;  // 2026-09-21

v1::SampleBatch OneHeartRate(int64_t measured_seconds, int32_t measured_nanos = 0) {
  v1::SampleBatch batch;
  v1::Sample* s = batch.add_samples();
  s->set_sender_seq(1);
  s->set_device_id("AA:BB:CC:DD:EE:01");
  s->set_type(v1::VITAL_TYPE_HEART_RATE);
  s->set_value(72);
  s->set_ucum_unit("/min");
  s->mutable_measured_at()->set_seconds(measured_seconds);
  s->mutable_measured_at()->set_nanos(measured_nanos);
  *s->mutable_received_at() = common::FromUnixMicros(kNow);
  return batch;
}

Verdict MapAndValidate(const v1::SampleBatch& batch) {
  std::vector<IncomingSample> in = FromProto(batch);
  EXPECT_EQ(in.size(), 1u);
  return ValidateSample(in.at(0), kNow);
}

TEST(IngestMappingTest, AcceptsAnOrdinaryTimestamp) {
  EXPECT_TRUE(std::holds_alternative<ValidSample>(MapAndValidate(OneHeartRate(kNow / 1'000'000 - 1))));
}

// seconds * 1e6 used to overflow: 20236744074158 s (year ~643000) wrapped to 0.45 s after kNow
// and passed the future-timestamp check.
TEST(IngestMappingTest, RejectsATimestampWhoseMicrosecondsWouldWrapIntoThePresent) {
  Verdict v = MapAndValidate(OneHeartRate(20'236'744'074'158));
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_EQ(std::get<Rejection>(v).reason, RejectReason::kInvalidField);
  EXPECT_EQ(std::get<Rejection>(v).detail.rfind("measured_at: seconds 20236744074158 ", 0), 0u)
      << std::get<Rejection>(v).detail;
}

TEST(IngestMappingTest, RejectsNegativeNanosAndABadReceivedAtNamingTheField) {
  Verdict v = MapAndValidate(OneHeartRate(kNow / 1'000'000 - 1, -1));
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_EQ(std::get<Rejection>(v).detail.rfind("measured_at: nanos -1 ", 0), 0u) << std::get<Rejection>(v).detail;

  v1::SampleBatch batch = OneHeartRate(kNow / 1'000'000 - 1);
  batch.mutable_samples(0)->mutable_received_at()->set_seconds(INT64_MAX);
  v = MapAndValidate(batch);
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_EQ(std::get<Rejection>(v).detail.rfind("received_at: seconds ", 0), 0u) << std::get<Rejection>(v).detail;
}

TEST(IngestMappingTest, RejectionReasonReachesTheAck) {
  BatchResult result;
  result.rejections.push_back({7, RejectReason::kInvalidField, "device_record_seq: too big"});
  v1::Ack ack;
  ToProto(result, &ack);
  ASSERT_EQ(ack.rejections_size(), 1);
  EXPECT_EQ(ack.rejections(0).reason(), v1::REJECT_REASON_INVALID_FIELD);
}

// Page tokens are keyset cursors now (vitals_paging.h); VitalsPagingTest checks their validation.

}  // namespace
}  // namespace healthtwin::ingest
