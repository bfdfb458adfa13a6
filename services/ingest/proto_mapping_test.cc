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
  std::vector<IncomingSample> in = FromProto(batch).samples;
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

TEST(IngestMappingTest, MapsEveryDeviceStatusFieldAndTheHeartbeat) {
  v1::SampleBatch batch;
  v1::DeviceStatus* s = batch.add_statuses();
  s->set_sender_seq(12);
  s->set_device_id("AA:BB:CC:DD:EE:01");
  *s->mutable_observed_at() = common::FromUnixMicros(kNow - 5);
  s->set_battery_percent(64);
  s->set_sensor_contact(v1::SENSOR_CONTACT_NOT_DETECTED);
  s->set_connection(v1::CONNECTION_STATE_DISCONNECTED);
  *s->mutable_connection_changed_at() = common::FromUnixMicros(kNow - 7);
  s->set_clock_skew_s(-1.5);
  v1::DeviceStatus* bare = batch.add_statuses();  // no optional field set
  bare->set_sender_seq(13);
  v1::GatewayStatus* g = batch.mutable_gateway();
  *g->mutable_observed_at() = common::FromUnixMicros(kNow);
  g->set_outbox_depth(321);
  g->set_bridge_version("0.1.0");
  g->set_uptime_s(99);

  IncomingBatch in = FromProto(batch);
  EXPECT_TRUE(in.samples.empty());
  ASSERT_EQ(in.statuses.size(), 2u);
  const IncomingDeviceStatus& m = in.statuses[0];
  EXPECT_EQ(m.sender_seq, 12u);
  EXPECT_EQ(m.device_id, "AA:BB:CC:DD:EE:01");
  EXPECT_EQ(m.observed_at_us, kNow - 5);
  EXPECT_EQ(m.battery_percent, 64);
  EXPECT_EQ(m.sensor_contact, 3);
  EXPECT_EQ(m.connection, 2);
  EXPECT_EQ(m.connection_changed_at_us, kNow - 7);
  EXPECT_EQ(m.clock_skew_s, -1.5);
  EXPECT_FALSE(in.statuses[1].battery_percent.has_value());
  EXPECT_FALSE(in.statuses[1].clock_skew_s.has_value());
  EXPECT_FALSE(in.statuses[1].observed_at_us.has_value());
  ASSERT_TRUE(in.gateway.has_value());
  EXPECT_EQ(in.gateway->observed_at_us, kNow);
  EXPECT_EQ(in.gateway->outbox_depth, 321u);
  EXPECT_EQ(in.gateway->bridge_version, "0.1.0");
  EXPECT_EQ(in.gateway->uptime_s, 99u);
}

TEST(IngestMappingTest, ABatchWithoutStatusesOrHeartbeatMapsToNone) {
  IncomingBatch in = FromProto(OneHeartRate(kNow / 1'000'000 - 1));
  EXPECT_EQ(in.samples.size(), 1u);
  EXPECT_TRUE(in.statuses.empty());
  EXPECT_FALSE(in.gateway.has_value());
}

TEST(IngestMappingTest, AnUnrepresentableStatusTimestampRejectsThatStatusOnly) {
  v1::SampleBatch batch;
  v1::DeviceStatus* s = batch.add_statuses();
  s->set_sender_seq(1);
  s->mutable_observed_at()->set_nanos(-1);
  IncomingBatch in = FromProto(batch);
  ASSERT_EQ(in.statuses.size(), 1u);
  EXPECT_EQ(in.statuses[0].mapping_error.rfind("observed_at: nanos -1 ", 0), 0u) << in.statuses[0].mapping_error;
}

TEST(IngestMappingTest, StatusCountsReachTheAck) {
  BatchResult result;
  result.status_outcome.stored = 3;
  result.status_outcome.duplicates = 2;
  v1::Ack ack;
  ToProto(result, &ack);
  EXPECT_EQ(ack.status_stored_count(), 3u);
  EXPECT_EQ(ack.status_duplicate_count(), 2u);
}

// Page tokens are keyset cursors now (vitals_paging.h); VitalsPagingTest checks their validation.

}  // namespace
}  // namespace healthtwin::ingest
