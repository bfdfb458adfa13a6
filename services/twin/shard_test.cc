#include "services/twin/shard.h"

#include <gtest/gtest.h>

namespace healthtwin::twin {
namespace {

// Reference values of the 64-bit FNV-1a test suite (Fowler/Noll/Vo, isthe.com/chongo/tech/comp/fnv).
TEST(ShardTest, Fnv1aMatchesTheReferenceValues) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
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
