#include "ble_bridge/parsers/device_info.h"

#include <gtest/gtest.h>

#include <string>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

// Source [bluetooth-sig-python] test_manufacturer_name_string.py: "Apple Inc.", "" (empty),
// invalid UTF-8 {0xFF, 0xFE, 0xFD}.
TEST(DeviceInfoTest, BluetoothSigPythonVectors) {
  EXPECT_EQ(ParseDeviceInfoString(Bytes("Apple Inc."))->value, "Apple Inc.");
  EXPECT_EQ(ParseDeviceInfoString(V(""))->value, "");
  EXPECT_FALSE(ParseDeviceInfoString(V("FF FE FD")).ok());
}

// Source [bluetooth-sig-python] test_null_terminated_string_handling: b"Test\x00Extra" becomes "Test"
// there. Text after a NUL is not padding, so it is rejected here rather than silently cut.
TEST(DeviceInfoTest, RejectsTextAfterNul) {
  auto s = ParseDeviceInfoString(Bytes(std::string("Test\0Extra", 10)));
  EXPECT_FALSE(s.ok());
}

// Accepted quirk: fixed-size, NUL-padded strings (alistair23/AutoMower-BLE PR #129,
// bettercap/gatt PR #4).
TEST(DeviceInfoTest, StripsTrailingNulPadding) {
  auto s = ParseDeviceInfoString(Bytes(std::string("HMSoft\0\0\0\0\0\0\0", 13)));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->value, "HMSoft");
  EXPECT_TRUE(s->had_nul_padding);
}

TEST(DeviceInfoTest, AcceptsMultibyteUtf8AndRejectsMalformed) {
  EXPECT_EQ(ParseDeviceInfoString(V("53 63 61 72 61 62 C3 A9 65"))->value,
            "Scarab\xC3\xA9"
            "e");
  EXPECT_FALSE(ParseDeviceInfoString(V("C0 AF")).ok());        // overlong '/'
  EXPECT_FALSE(ParseDeviceInfoString(V("ED A0 80")).ok());     // surrogate
  EXPECT_FALSE(ParseDeviceInfoString(V("F4 90 80 80")).ok());  // above U+10FFFF
  EXPECT_FALSE(ParseDeviceInfoString(V("E2 82")).ok());        // truncated
  EXPECT_FALSE(ParseDeviceInfoString(std::vector<uint8_t>(513, 'a')).ok());
}

}  // namespace
}  // namespace healthtwin::ble
