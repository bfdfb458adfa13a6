#include "services/common/auth/scopes.h"

#include <gtest/gtest.h>

namespace healthtwin::common::auth {
namespace {

TEST(ScopesTest, ExactScopeCovers) { EXPECT_TRUE(ScopesCover({"user/Observation.rs"}, "user/Observation.rs")); }

TEST(ScopesTest, SubsetOfPermissionsCovers) {
  EXPECT_TRUE(ScopesCover({"user/Observation.rs"}, "user/Observation.r"));
  EXPECT_TRUE(ScopesCover({"user/Communication.cruds"}, "user/Communication.u"));
}

TEST(ScopesTest, MissingPermissionDoesNotCover) {
  EXPECT_FALSE(ScopesCover({"user/Observation.r"}, "user/Observation.rs"));
  EXPECT_FALSE(ScopesCover({"user/Communication.rs"}, "user/Communication.u"));
}

TEST(ScopesTest, OtherResourceDoesNotCover) { EXPECT_FALSE(ScopesCover({"user/Patient.rs"}, "user/Observation.r")); }

TEST(ScopesTest, WildcardResourceCovers) {
  EXPECT_TRUE(ScopesCover({"user/*.rs"}, "user/Observation.rs"));
  EXPECT_TRUE(ScopesCover({"user/*.rs"}, "user/Communication.r"));
  EXPECT_FALSE(ScopesCover({"user/*.rs"}, "user/Communication.u"));
}

TEST(ScopesTest, GrantedScopesCombine) {
  EXPECT_TRUE(ScopesCover({"user/Observation.r", "user/Observation.s"}, "user/Observation.rs"));
  EXPECT_TRUE(ScopesCover({"user/*.r", "user/Observation.s"}, "user/Observation.rs"));
}

TEST(ScopesTest, SmartV1FormsMapToV2) {
  EXPECT_TRUE(ScopesCover({"user/Observation.read"}, "user/Observation.rs"));
  EXPECT_FALSE(ScopesCover({"user/Observation.read"}, "user/Observation.u"));
  EXPECT_TRUE(ScopesCover({"user/Communication.write"}, "user/Communication.cu"));
  EXPECT_FALSE(ScopesCover({"user/Communication.write"}, "user/Communication.r"));
  EXPECT_TRUE(ScopesCover({"user/*.*"}, "user/Communication.cruds"));
}

TEST(ScopesTest, OtherContextsAndQueriesGrantNothing) {
  EXPECT_FALSE(ScopesCover({"patient/Observation.rs"}, "user/Observation.r"));
  EXPECT_FALSE(ScopesCover({"system/*.rs"}, "user/Observation.r"));
  EXPECT_FALSE(ScopesCover({"user/Observation.rs?category=vital-signs"}, "user/Observation.r"));
  EXPECT_FALSE(ScopesCover({"openid", "launch"}, "user/Observation.r"));
}

TEST(ScopesTest, MalformedGrantedScopesGrantNothing) {
  EXPECT_FALSE(ScopesCover({"user/Observation.sr"}, "user/Observation.r"));  // out of cruds order
  EXPECT_FALSE(ScopesCover({"user/Observation.rr"}, "user/Observation.r"));  // repeated
  EXPECT_FALSE(ScopesCover({"user/Observation.x"}, "user/Observation.r"));
  EXPECT_FALSE(ScopesCover({"user/Observation."}, "user/Observation.r"));
  EXPECT_FALSE(ScopesCover({"user/.rs"}, "user/Observation.r"));
  EXPECT_FALSE(ScopesCover({"user/Obs-ervation.rs"}, "user/Obs-ervation.r"));
}

TEST(ScopesTest, NoScopesCoverNothing) { EXPECT_FALSE(ScopesCover({}, "user/Observation.r")); }

TEST(ScopesTest, RequireScopesNamesTheMissingOnes) {
  auto s = RequireScopes({"user/Observation.rs"}, {"user/Observation.rs", "user/Communication.u"}, "AcknowledgeAlert");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("user/Communication.u"), std::string_view::npos) << s;
  EXPECT_EQ(s.message().find("user/Observation.rs"), std::string_view::npos) << s;
  EXPECT_NE(s.message().find("AcknowledgeAlert"), std::string_view::npos) << s;
}

TEST(ScopesTest, RequireNothingIsAlwaysCovered) { EXPECT_TRUE(RequireScopes({}, {}, "WhoAmI").ok()); }

TEST(ScopesTest, IsUserScopeChecksTheForm) {
  EXPECT_TRUE(IsUserScope("user/Observation.rs"));
  EXPECT_TRUE(IsUserScope("user/*.cruds"));
  EXPECT_FALSE(IsUserScope("user/Observation.sr"));
  EXPECT_FALSE(IsUserScope("patient/Observation.rs"));
}

}  // namespace
}  // namespace healthtwin::common::auth
