#include "services/feeds/hl7/escape.h"

#include <gtest/gtest.h>

#include <string>

namespace healthtwin::feeds::hl7 {
namespace {

struct Case {
  std::string raw;
  std::string escaped;
};

class EscapeTest : public ::testing::TestWithParam<Case> {};

TEST_P(EscapeTest, EscapesAndRoundTrips) {
  EXPECT_EQ(Escape(GetParam().raw), GetParam().escaped);
  auto back = Unescape(GetParam().escaped);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, GetParam().raw);
}

INSTANTIATE_TEST_SUITE_P(EverySpecialCharacter, EscapeTest,
                         ::testing::Values(Case{"a|b", "a\\F\\b"}, Case{"a^b", "a\\S\\b"}, Case{"a~b", "a\\R\\b"},
                                           Case{"a\\b", "a\\E\\b"}, Case{"a&b", "a\\T\\b"}, Case{"a\rb", "a\\X0D\\b"},
                                           Case{"a\nb", "a\\X0A\\b"}, Case{"plain text 123", "plain text 123"},
                                           Case{std::string("a\0b", 3), "a\\X00\\b"},
                                           Case{"a\x0b"
                                                "b",
                                                "a\\X0B\\b"},
                                           Case{"a\x1c\x1d"
                                                "b",
                                                "a\\X1C\\\\X1D\\b"},
                                           Case{"a\x7f"
                                                "b",
                                                "a\\X7F\\b"},
                                           Case{"caf\xc3\xa9", "caf\xc3\xa9"},
                                           Case{"|^~\\&", "\\F\\\\S\\\\R\\\\E\\\\T\\"}));

TEST(UnescapeTest, RejectsUnterminatedSequence) { EXPECT_FALSE(Unescape("a\\F").ok()); }

TEST(UnescapeTest, RejectsUnknownSequence) { EXPECT_FALSE(Unescape("a\\Q\\b").ok()); }

}  // namespace
}  // namespace healthtwin::feeds::hl7
