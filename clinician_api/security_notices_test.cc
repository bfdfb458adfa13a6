// The NOTIFY payloads of channel healthtwin_security as break_glass.cc and
// services/common/break_glass_grants.cc send them, and what is ignored.
#include "clinician_api/security_notices.h"

#include <gtest/gtest.h>

namespace healthtwin::clinician {
namespace {

TEST(SecurityNoticeTest, ParsesAGrantStartedAndEnded) {
  auto started = ParseSecurityNotice(R"({"event":"break_glass_started","grant_id":7})");
  ASSERT_TRUE(started.has_value());
  EXPECT_EQ(started->kind, SecurityNotice::Kind::kBreakGlassStarted);
  EXPECT_EQ(started->grant_id, 7);
  auto ended = ParseSecurityNotice(R"({"event": "break_glass_ended", "grant_id": 12})");
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->kind, SecurityNotice::Kind::kBreakGlassEnded);
  EXPECT_EQ(ended->grant_id, 12);
}

TEST(SecurityNoticeTest, IgnoresAnythingElse) {
  for (const char* payload :
       {"", "7", "not json", R"({"event":"break_glass_started"})", R"({"event":"break_glass_started","grant_id":"7"})",
        R"({"event":"something_else","grant_id":7})", R"({"grant_id":7})", "[1,2]"}) {
    EXPECT_FALSE(ParseSecurityNotice(payload).has_value()) << payload;
  }
}

}  // namespace
}  // namespace healthtwin::clinician
