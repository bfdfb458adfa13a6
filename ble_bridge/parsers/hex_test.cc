#include "ble_bridge/parsers/hex.h"

#include <gtest/gtest.h>

namespace healthtwin::ble {
namespace {

TEST(HexTest, AcceptsCommonSpellings) {
  const std::vector<uint8_t> want = {0x16, 0x7C, 0x00};
  for (const char* s : {"16 7C 00", "16:7c:00", "167C00", "0x16 0x7C 0x00", " 16-7C-00 "}) {
    auto b = ParseHex(s);
    ASSERT_TRUE(b.ok()) << s << ": " << b.status();
    EXPECT_EQ(*b, want) << s;
  }
  EXPECT_TRUE(ParseHex("")->empty());
}

TEST(HexTest, RejectsOddDigitsAndNonHex) {
  EXPECT_FALSE(ParseHex("1 6").ok());
  EXPECT_FALSE(ParseHex("167").ok());
  EXPECT_FALSE(ParseHex("GG").ok());
  EXPECT_FALSE(ParseHex("16 7Z").ok());
}

}  // namespace
}  // namespace healthtwin::ble
