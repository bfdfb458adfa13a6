#include "services/ingest/device_status.h"

#include <gtest/gtest.h>

#include <cmath>

namespace healthtwin::ingest {
namespace {

constexpr int64_t kNow = 1'790'000'000'000'000;

IncomingDeviceStatus Status() {
  IncomingDeviceStatus s;
  s.sender_seq = 9;
  s.device_id = "AA:BB:CC:DD:EE:01";
  s.observed_at_us = kNow - 1'000'000;
  s.battery_percent = 57;
  s.sensor_contact = 2;
  s.connection = kConnectionConnected;
  s.connection_changed_at_us = kNow - 60'000'000;
  s.clock_skew_s = -600.25;
  return s;
}

// The rejection's reason and detail, or fails the test when the status was accepted.
Rejection Rejected(const IncomingDeviceStatus& in) {
  StatusVerdict v = ValidateDeviceStatus(in, kNow);
  EXPECT_TRUE(std::holds_alternative<Rejection>(v)) << "accepted";
  if (!std::holds_alternative<Rejection>(v)) return {};
  EXPECT_EQ(std::get<Rejection>(v).sender_seq, in.sender_seq);
  return std::get<Rejection>(v);
}

TEST(DeviceStatusValidationTest, AcceptsACompleteStatusAndKeepsEveryField) {
  StatusVerdict v = ValidateDeviceStatus(Status(), kNow);
  ASSERT_TRUE(std::holds_alternative<ValidDeviceStatus>(v)) << std::get<Rejection>(v).detail;
  const auto& s = std::get<ValidDeviceStatus>(v);
  EXPECT_EQ(s.sender_seq, 9u);
  EXPECT_EQ(s.device_id, "AA:BB:CC:DD:EE:01");
  EXPECT_EQ(s.observed_at_us, kNow - 1'000'000);
  EXPECT_EQ(s.battery_percent, 57);
  EXPECT_EQ(s.sensor_contact, SensorContact::kDetected);
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.connection_changed_at_us, kNow - 60'000'000);
  EXPECT_EQ(s.clock_skew_s, -600.25);
}

TEST(DeviceStatusValidationTest, OptionalFieldsMayBeAbsentAndDisconnectedIsNotConnected) {
  IncomingDeviceStatus in = Status();
  in.battery_percent.reset();
  in.clock_skew_s.reset();
  in.sensor_contact = 0;
  in.connection = kConnectionDisconnected;
  StatusVerdict v = ValidateDeviceStatus(in, kNow);
  ASSERT_TRUE(std::holds_alternative<ValidDeviceStatus>(v));
  const auto& s = std::get<ValidDeviceStatus>(v);
  EXPECT_FALSE(s.battery_percent.has_value());
  EXPECT_FALSE(s.clock_skew_s.has_value());
  EXPECT_EQ(s.sensor_contact, SensorContact::kUnknown);
  EXPECT_FALSE(s.connected);
}

TEST(DeviceStatusValidationTest, BatteryBoundsAreInclusive) {
  for (int64_t ok : {0, 100}) {
    IncomingDeviceStatus in = Status();
    in.battery_percent = ok;
    EXPECT_TRUE(std::holds_alternative<ValidDeviceStatus>(ValidateDeviceStatus(in, kNow))) << ok;
  }
}

TEST(DeviceStatusValidationTest, RejectsBatteryOutside0To100NamingTheField) {
  IncomingDeviceStatus in = Status();
  in.battery_percent = 101;
  Rejection r = Rejected(in);
  EXPECT_EQ(r.reason, RejectReason::kImplausibleValue);
  EXPECT_EQ(r.detail, "battery_percent: 101 is outside 0..100");
  in.battery_percent = -1;
  EXPECT_EQ(Rejected(in).detail, "battery_percent: -1 is outside 0..100");
}

TEST(DeviceStatusValidationTest, RejectsABadDeviceIdLikeASample) {
  IncomingDeviceStatus in = Status();
  in.device_id = "dev 1";
  EXPECT_EQ(Rejected(in).reason, RejectReason::kInvalidDeviceId);
  in.device_id = std::string(65, 'a');
  EXPECT_EQ(Rejected(in).reason, RejectReason::kInvalidDeviceId);
  in.device_id.clear();
  EXPECT_EQ(Rejected(in).detail, "device_id: empty");
}

TEST(DeviceStatusValidationTest, RejectsObservedAtMoreThanFiveMinutesAhead) {
  IncomingDeviceStatus in = Status();
  in.observed_at_us = kNow + kMaxFutureUs;
  EXPECT_TRUE(std::holds_alternative<ValidDeviceStatus>(ValidateDeviceStatus(in, kNow)));
  in.observed_at_us = kNow + kMaxFutureUs + 1;
  Rejection r = Rejected(in);
  EXPECT_EQ(r.reason, RejectReason::kFutureTimestamp);
  EXPECT_EQ(r.detail, "observed_at: more than 5 min in the future");
}

TEST(DeviceStatusValidationTest, RejectsMissingTimesAndConnection) {
  IncomingDeviceStatus in = Status();
  in.observed_at_us.reset();
  EXPECT_EQ(Rejected(in).detail, "observed_at: missing");
  in = Status();
  in.connection_changed_at_us.reset();
  EXPECT_EQ(Rejected(in).detail, "connection_changed_at: missing");
  in = Status();
  in.connection = 0;
  Rejection r = Rejected(in);
  EXPECT_EQ(r.reason, RejectReason::kMissingField);
  EXPECT_EQ(r.detail, "connection: unspecified");
}

TEST(DeviceStatusValidationTest, RejectsAConnectionChangeAfterTheObservation) {
  IncomingDeviceStatus in = Status();
  in.connection_changed_at_us = *in.observed_at_us + 1;
  EXPECT_EQ(Rejected(in).detail, "connection_changed_at: after observed_at");
}

TEST(DeviceStatusValidationTest, RejectsUnknownEnumValues) {
  IncomingDeviceStatus in = Status();
  in.sensor_contact = 4;
  EXPECT_EQ(Rejected(in).detail, "sensor_contact: 4 is not a known SensorContact");
  in = Status();
  in.connection = 3;
  EXPECT_EQ(Rejected(in).detail, "connection: 3 is not a known ConnectionState");
}

TEST(DeviceStatusValidationTest, RejectsANonFiniteOrAbsurdClockSkew) {
  IncomingDeviceStatus in = Status();
  in.clock_skew_s = std::nan("");
  EXPECT_EQ(Rejected(in).reason, RejectReason::kInvalidField);
  in.clock_skew_s = kMaxAbsClockSkewS * 2;
  EXPECT_EQ(Rejected(in).reason, RejectReason::kInvalidField);
  // A clock that was never set (2000-01-01 against 2026) is a real skew, and kept.
  in.clock_skew_s = -8.4e8;
  EXPECT_TRUE(std::holds_alternative<ValidDeviceStatus>(ValidateDeviceStatus(in, kNow)));
}

TEST(DeviceStatusValidationTest, AMappingErrorRejectsTheStatusWithTheMappedMessage) {
  IncomingDeviceStatus in = Status();
  in.mapping_error = "observed_at: nanos -1 is outside [0, 1e9)";
  Rejection r = Rejected(in);
  EXPECT_EQ(r.reason, RejectReason::kInvalidField);
  EXPECT_EQ(r.detail, in.mapping_error);
}

TEST(GatewayHeartbeatValidationTest, AcceptsAndRejectsNamingTheField) {
  IncomingHeartbeat in{kNow, 42, "0.1.0", 3600, ""};
  auto ok = ValidateHeartbeat(in, kNow);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->outbox_depth, 42);
  EXPECT_EQ(ok->uptime_s, 3600);
  in.observed_at_us = kNow + kMaxFutureUs + 1;
  EXPECT_EQ(ValidateHeartbeat(in, kNow).status().message(), "gateway.observed_at: more than 5 min in the future");
  in.observed_at_us.reset();
  EXPECT_EQ(ValidateHeartbeat(in, kNow).status().message(), "gateway.observed_at: missing");
  in.observed_at_us = kNow;
  in.outbox_depth = UINT64_MAX;
  EXPECT_EQ(ValidateHeartbeat(in, kNow).status().message(), "gateway.outbox_depth: above 2^63 - 1");
}

}  // namespace
}  // namespace healthtwin::ingest
