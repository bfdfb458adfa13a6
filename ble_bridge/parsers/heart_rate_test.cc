#include "ble_bridge/parsers/heart_rate.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

// Source [Nordic] HeartRateMeasurementDataCallbackTest.onHeartRateMeasurementReceived_simple: {0, 85}.
TEST(HeartRateTest, Uint8WithoutOptions) {
  auto m = ParseHeartRateMeasurement(V("00 55"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->heart_rate_bpm, 85);
  EXPECT_EQ(m->sensor_contact, std::nullopt);
  EXPECT_EQ(m->energy_expended_kj, std::nullopt);
  EXPECT_EQ(m->rr_intervals_1024ths, std::nullopt);
}

// Source [Nordic] ..._noContact: {0x04, 0xFF}: contact supported but not detected.
TEST(HeartRateTest, ContactSupportedNotDetected) {
  auto m = ParseHeartRateMeasurement(V("04 FF"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->heart_rate_bpm, 255);
  EXPECT_EQ(m->sensor_contact, false);
}

// Source [Nordic] ..._uint8: {0b11110, 85, 50, 0, 33, 0}.
TEST(HeartRateTest, Uint8WithContactEnergyAndOneRr) {
  auto m = ParseHeartRateMeasurement(V("1E 55 32 00 21 00"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->heart_rate_bpm, 85);
  EXPECT_EQ(m->sensor_contact, true);
  EXPECT_EQ(m->energy_expended_kj, 50);
  EXPECT_EQ(m->rr_intervals_1024ths, (std::vector<uint16_t>{33}));
}

// Source [Nordic] ..._uint16: {0b11111, 1, 1, 50, 1, 1, 0, 2, 1, 0xFF, 0xFF}.
TEST(HeartRateTest, Uint16WithThreeRr) {
  auto m = ParseHeartRateMeasurement(V("1F 01 01 32 01 01 00 02 01 FF FF"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->heart_rate_bpm, 257);
  EXPECT_EQ(m->energy_expended_kj, 306);
  EXPECT_EQ(m->rr_intervals_1024ths, (std::vector<uint16_t>{1, 258, 65535}));
}

// Source [Nordic] onInvalidDataReceived: {0b10111, 1, 1}: RR flag set, no RR value.
TEST(HeartRateTest, RejectsRrFlagWithoutRr) {
  auto m = ParseHeartRateMeasurement(V("17 01 01"));
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("RR"), std::string::npos);
}

// Source [bluetooth-sig-python] test_heart_rate_measurement.py: [0x01, 0xC8, 0x00] = 200 bpm;
// [0x0E, 0x4B, 0x80, 0x00] = 75 bpm, contact detected, 128 kJ; [0x10, 0x5A, 0x00, 0x08, 0x00, 0x10]
// = 90 bpm, RR 2.0 s and 4.0 s.
TEST(HeartRateTest, BluetoothSigPythonVectors) {
  auto a = ParseHeartRateMeasurement(V("01 C8 00"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->heart_rate_bpm, 200);
  auto b = ParseHeartRateMeasurement(V("0E 4B 80 00"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->heart_rate_bpm, 75);
  EXPECT_EQ(b->sensor_contact, true);
  EXPECT_EQ(b->energy_expended_kj, 128);
  auto c = ParseHeartRateMeasurement(V("10 5A 00 08 00 10"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->rr_intervals_1024ths, (std::vector<uint16_t>{2048, 4096}));
  EXPECT_EQ(c->sensor_contact, std::nullopt);
}

// GSS 3.113: bits 1-2 = 0b01 means "not supported", like 0b00.
TEST(HeartRateTest, ContactDetectedBitAloneMeansNotSupported) {
  auto m = ParseHeartRateMeasurement(V("02 50"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->sensor_contact, std::nullopt);
}

TEST(HeartRateTest, RejectsTruncatedAndTrailingBytes) {
  EXPECT_FALSE(ParseHeartRateMeasurement(V("")).ok());
  EXPECT_FALSE(ParseHeartRateMeasurement(V("00")).ok());
  EXPECT_FALSE(ParseHeartRateMeasurement(V("01 50")).ok());           // u16 needs two bytes
  EXPECT_FALSE(ParseHeartRateMeasurement(V("08 50 01")).ok());        // energy truncated
  EXPECT_FALSE(ParseHeartRateMeasurement(V("00 50 00")).ok());        // trailing byte
  EXPECT_FALSE(ParseHeartRateMeasurement(V("10 50 00 04 01")).ok());  // odd RR bytes
}

TEST(HeartRateTest, IgnoresReservedFlagBits) {
  auto m = ParseHeartRateMeasurement(V("E0 48"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->heart_rate_bpm, 72);
}

}  // namespace
}  // namespace healthtwin::ble
