#include "ble_bridge/parsers/byte_reader.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

// A read past the end is a parser bug; it used to abort the whole bridge.
TEST(ByteReaderTest, ReadPastTheEndIsAnErrorNotAnAbort) {
  const auto bytes = V("2A 01 02");
  ByteReader r(bytes);
  EXPECT_EQ(r.U8(), 0x2A);
  EXPECT_EQ(r.U32(), 0u);  // only two bytes left: zeros, never bytes that were not sent
  EXPECT_EQ(r.U8(), 0u);   // sticky: later reads are zeros too
  EXPECT_TRUE(r.overrun());
  absl::StatusOr<int> finished = r.Finish(7);
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(finished.status().message(),
            "a parser read 4 bytes at offset 1 of a 3-byte value (past its end; its length check is missing)");
}

TEST(ByteReaderTest, FinishPassesTheValueWhenEveryReadFitted) {
  const auto bytes = V("34 12");
  ByteReader r(bytes);
  EXPECT_EQ(r.U16(), 0x1234);
  EXPECT_FALSE(r.overrun());
  absl::StatusOr<int> finished = r.Finish(7);
  ASSERT_TRUE(finished.ok());
  EXPECT_EQ(*finished, 7);
}

}  // namespace
}  // namespace healthtwin::ble
