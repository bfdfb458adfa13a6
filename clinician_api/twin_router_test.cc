#include "clinician_api/twin_router.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace healthtwin::clinician {
namespace {

using ::testing::HasSubstr;

TEST(TwinShardAddressesTest, TheTemplateNamesEveryShard) {
  auto addresses = TwinShardAddresses("dns:///twin-{shard}.twin:7443", 3);
  ASSERT_TRUE(addresses.ok()) << addresses.status();
  EXPECT_EQ(*addresses, (std::vector<std::string>{"dns:///twin-0.twin:7443", "dns:///twin-1.twin:7443",
                                                  "dns:///twin-2.twin:7443"}));
  // Every occurrence, e.g. the host and a port offset in a lab set-up.
  addresses = TwinShardAddresses("ipv4:127.0.{shard}.1:70{shard}0", 2);
  ASSERT_TRUE(addresses.ok()) << addresses.status();
  EXPECT_EQ(*addresses, (std::vector<std::string>{"ipv4:127.0.0.1:7000", "ipv4:127.0.1.1:7010"}));
}

TEST(TwinShardAddressesTest, OneShardNeedsNoPlaceholder) {
  auto addresses = TwinShardAddresses("localhost:7003", 1);
  ASSERT_TRUE(addresses.ok()) << addresses.status();
  EXPECT_EQ(*addresses, std::vector<std::string>{"localhost:7003"});
}

TEST(TwinShardAddressesTest, BadInputNamesTheFlag) {
  auto no_placeholder = TwinShardAddresses("dns:///twin:7443", 3);
  ASSERT_FALSE(no_placeholder.ok());
  EXPECT_EQ(no_placeholder.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_placeholder.status().message()), HasSubstr("--twin-addr"));
  EXPECT_THAT(std::string(no_placeholder.status().message()), HasSubstr("{shard}"));
  for (int shards : {0, -1, 4097}) {
    auto bad = TwinShardAddresses("twin-{shard}:1", shards);
    ASSERT_FALSE(bad.ok()) << shards;
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr("--twin-shards")) << shards;
  }
  EXPECT_FALSE(TwinShardAddresses("", 1).ok());
}

// Stubs on channels that never connect (a channel is lazy): For() is pure arithmetic.
std::vector<std::unique_ptr<TwinRouter::Stub>> Stubs(int n) {
  std::vector<std::unique_ptr<TwinRouter::Stub>> stubs;
  for (int i = 0; i < n; ++i) {
    stubs.push_back(twin::v1::TwinService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", i + 1), grpc::InsecureChannelCredentials())));
  }
  return stubs;
}

TEST(TwinRouterTest, EachPatientGoesToTheShardThatOwnsIt) {
  constexpr int kShards = 3;
  auto stubs = Stubs(kShards);
  std::vector<TwinRouter::Stub*> raw;
  for (const auto& s : stubs) raw.push_back(s.get());
  auto router = TwinRouter::Create(std::move(stubs));
  ASSERT_TRUE(router.ok()) << router.status();
  EXPECT_EQ(router->shards(), kShards);
  std::map<TwinRouter::Stub*, int> calls;
  for (int p = 0; p < 300; ++p) {
    const std::string id = absl::StrCat("pat-", p);
    const int owner = twin::ShardSpec{0, kShards}.ShardOf(id);
    ASSERT_EQ(router->For(id), raw[owner]) << id;
    ASSERT_TRUE((twin::ShardSpec{owner, kShards}.Owns(id)));
    ++calls[router->For(id)];
  }
  // The key spreads patients: every shard gets some of 300.
  EXPECT_EQ(calls.size(), static_cast<size_t>(kShards));
}

TEST(TwinRouterTest, OneShardTakesEveryPatientAndNoneMeansNoTwinService) {
  auto stubs = Stubs(1);
  TwinRouter::Stub* only = stubs.front().get();
  TwinRouter one(std::move(stubs.front()));
  EXPECT_EQ(one.For("pat-1"), only);
  EXPECT_EQ(one.For("anyone"), only);
  EXPECT_EQ(TwinRouter().For("pat-1"), nullptr);
  EXPECT_FALSE(TwinRouter::Create({}).ok());
}

}  // namespace
}  // namespace healthtwin::clinician
