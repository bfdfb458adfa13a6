#include "ble_bridge/uplink/binding.h"

#include <map>

#include "gtest/gtest.h"

namespace healthtwin::ble {
namespace {

using namespace std::chrono_literals;

class ScriptedRegistry final : public DeviceRegistry {
 public:
  absl::StatusOr<bool> MayForward(const std::string& device_id) override {
    ++calls;
    if (down) return absl::UnavailableError("registry down");
    auto it = patients.find(device_id);
    if (it == patients.end()) return absl::NotFoundError("no such device");
    return !it->second.empty();
  }
  std::map<std::string, std::string> patients;
  bool down = false;
  int calls = 0;
};

struct BindingCacheTest : ::testing::Test {
  ScriptedRegistry registry;
  int64_t now_us = 1'000'000;
  BindingCache cache{registry, 60s, [this] { return now_us; }};
};

TEST_F(BindingCacheTest, AsksTheRegistryOncePerTtl) {
  registry.patients["d1"] = "pat-1";
  EXPECT_TRUE(*cache.IsBound("d1"));
  EXPECT_TRUE(*cache.IsBound("d1"));
  EXPECT_EQ(registry.calls, 1);
  now_us += 61'000'000;
  registry.patients["d1"] = "";  // unbound meanwhile
  EXPECT_FALSE(*cache.IsBound("d1"));
  EXPECT_EQ(registry.calls, 2);
}

TEST_F(BindingCacheTest, UnknownAndUnboundDevicesAreListedForEnrollment) {
  registry.patients = {{"bound", "pat-1"}, {"known", ""}};
  EXPECT_TRUE(*cache.IsBound("bound"));
  EXPECT_FALSE(*cache.IsBound("known"));
  EXPECT_FALSE(*cache.IsBound("stranger"));
  auto list = cache.Unbound();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].device_id, "known");
  EXPECT_TRUE(list[0].known_to_registry);
  EXPECT_EQ(list[1].device_id, "stranger");
  EXPECT_FALSE(list[1].known_to_registry);
}

TEST_F(BindingCacheTest, RegistryDownWithNoAnswerYetIsAnError) {
  registry.down = true;
  EXPECT_EQ(cache.IsBound("d1").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(BindingCacheTest, RegistryDownKeepsTheLastAnswer) {
  registry.patients["d1"] = "pat-1";
  EXPECT_TRUE(*cache.IsBound("d1"));
  now_us += 61'000'000;
  registry.down = true;
  auto bound = cache.IsBound("d1");
  ASSERT_TRUE(bound.ok());
  EXPECT_TRUE(*bound);
}

}  // namespace
}  // namespace healthtwin::ble
