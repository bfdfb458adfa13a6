#include "ble_bridge/bluez/backoff.h"

#include <gtest/gtest.h>

namespace healthtwin::ble {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, GrowsGeometricallyUpToTheCap) {
  Backoff b(BackoffPolicy{.initial = milliseconds(100), .max = milliseconds(500), .multiplier = 2, .jitter = 0});
  EXPECT_EQ(b.Next(), milliseconds(100));
  EXPECT_EQ(b.Next(), milliseconds(200));
  EXPECT_EQ(b.Next(), milliseconds(400));
  EXPECT_EQ(b.Next(), milliseconds(500));
  EXPECT_EQ(b.Next(), milliseconds(500));
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff b(BackoffPolicy{.initial = milliseconds(100), .max = milliseconds(500), .multiplier = 2, .jitter = 0});
  b.Next();
  b.Next();
  b.Reset();
  EXPECT_EQ(b.Next(), milliseconds(100));
}

TEST(BackoffTest, JitterOnlyShortensAndIsSeeded) {
  BackoffPolicy p{.initial = milliseconds(1000), .max = milliseconds(1000), .multiplier = 2, .jitter = 0.5};
  Backoff a(p, 7), b(p, 7);
  for (int i = 0; i < 20; ++i) {
    auto d = a.Next();
    EXPECT_EQ(d, b.Next());
    EXPECT_GE(d, milliseconds(500));
    EXPECT_LE(d, milliseconds(1000));
  }
}

}  // namespace
}  // namespace healthtwin::ble
