#include "services/twin/shard.h"

#include <gtest/gtest.h>

namespace healthtwin::twin {
namespace {

// The first 7 hex digits of MD5 (RFC 1321, appendix A.5: MD5("") = d41d8cd9..., MD5("a") =
// 0cc175b9...; "foobar" from `printf foobar | md5sum`), as PostgreSQL's
// ('x' || substr(md5(id), 1, 7))::bit(28)::integer gives them (migration 0020).
TEST(ShardTest, ShardKeyIsTheFirst28BitsOfMd5) {
  EXPECT_EQ(ShardKey(""), 0xd41d8cd);
  EXPECT_EQ(ShardKey("a"), 0x0cc175b);
  EXPECT_EQ(ShardKey("foobar"), 0x3858f62);
}

// Every key belongs to exactly the shard whose [KeyBegin, KeyEnd) holds it, for any count.
TEST(ShardTest, KeyRangesTileTheKeySpaceAndAgreeWithShardOf) {
  for (int n : {1, 2, 3, 7, 4096}) {
    auto first = ShardSpec::Create(0, n), last = ShardSpec::Create(n - 1, n);
    ASSERT_TRUE(first.ok() && last.ok());
    EXPECT_EQ(first->KeyBegin(), 0);
    EXPECT_EQ(last->KeyEnd(), kShardKeySpace);
    for (int i = 0; i + 1 < n; ++i) {
      auto a = ShardSpec::Create(i, n), b = ShardSpec::Create(i + 1, n);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(a->KeyEnd(), b->KeyBegin()) << i << " of " << n;
      EXPECT_LT(a->KeyBegin(), a->KeyEnd());
    }
    for (int i = 0; i < 500; ++i) {
      const std::string id = "pat-" + std::to_string(i);
      auto s = ShardSpec::Create(0, n);
      auto owner = ShardSpec::Create(s->ShardOf(id), n);
      ASSERT_TRUE(owner.ok());
      EXPECT_GE(ShardKey(id), owner->KeyBegin()) << id;
      EXPECT_LT(ShardKey(id), owner->KeyEnd()) << id;
    }
  }
}

TEST(ShardTest, EveryPatientHasExactlyOneOwnerAndTheLoadSpreads) {
  auto s0 = ShardSpec::Create(0, 3), s1 = ShardSpec::Create(1, 3), s2 = ShardSpec::Create(2, 3);
  ASSERT_TRUE(s0.ok() && s1.ok() && s2.ok());
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 3000; ++i) {
    const std::string id = "pat-" + std::to_string(i);
    const int owners = s0->Owns(id) + s1->Owns(id) + s2->Owns(id);
    ASSERT_EQ(owners, 1) << id;
    ++counts[s0->ShardOf(id)];
  }
  for (int c : counts) EXPECT_NEAR(c, 1000, 150);
}

TEST(ShardTest, BadFlagsAreNamedAndMessagesNameTheOwner) {
  EXPECT_NE(ShardSpec::Create(3, 3).status().message().find("--shard-index"), std::string::npos);
  EXPECT_NE(ShardSpec::Create(0, 0).status().message().find("--shard-count"), std::string::npos);
  EXPECT_NE(ShardSpec::Create(-1, 2).status().message().find("--shard-index"), std::string::npos);
  auto s = ShardSpec::Create(1, 2);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->ConsumerName(), "twin/1-of-2");
  std::string other;
  for (int i = 0; other.empty(); ++i) {
    if (!s->Owns("p" + std::to_string(i))) other = "p" + std::to_string(i);
  }
  EXPECT_NE(s->WrongShardMessage(other).find("belongs to twin shard 0 of 2"), std::string::npos);
}

}  // namespace
}  // namespace healthtwin::twin
