#include "ble_bridge/bluez/bluez_bus.h"

#include <gtest/gtest.h>

namespace healthtwin::ble {
namespace {

TEST(DbusErrorTest, KeepsTheErrorNameForRetryDecisions) {
  absl::Status s = DbusError("org.bluez.Error.InProgress", "busy");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(DbusErrorName(s), "org.bluez.Error.InProgress");
  EXPECT_EQ(s.message(), "org.bluez.Error.InProgress: busy");
}

TEST(DbusErrorTest, MapsFinalErrorsToSpecificCodes) {
  EXPECT_EQ(DbusError("org.freedesktop.DBus.Error.UnknownObject", "").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(DbusError("org.bluez.Error.AlreadyConnected", "").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(DbusError("org.freedesktop.DBus.Error.NoReply", "").code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(DbusErrorTest, PlainStatusHasNoName) { EXPECT_EQ(DbusErrorName(absl::InternalError("x")), ""); }

}  // namespace
}  // namespace healthtwin::ble
