#include "services/common/caller_policy.h"

#include <gtest/gtest.h>

namespace healthtwin::common {
namespace {

PeerIdentity Peer(Role role, std::string cn) {
  PeerIdentity p;
  p.role = role;
  p.common_name = std::move(cn);
  return p;
}

const CallerPolicy::Rules kDefaults = {
    {"Acknowledge", {"service:clinician_api"}},
    {"RunWhatIf", {"clinician"}},
};

TEST(CallerPolicyTest, AllowsTheNamedServiceIdentityOnly) {
  auto policy = CallerPolicy::Create(kDefaults);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->Check("Acknowledge", Peer(Role::kService, "clinician_api")).ok());
  auto twin = policy->Check("Acknowledge", Peer(Role::kService, "twin"));
  EXPECT_EQ(twin.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(twin.message().find("'twin' (role service) may not call Acknowledge"), std::string::npos);
  // The CN alone is not enough: the role must match too.
  EXPECT_FALSE(policy->Check("Acknowledge", Peer(Role::kAdmin, "clinician_api")).ok());
}

TEST(CallerPolicyTest, RoleWithoutNameAllowsEveryIdentityOfThatRole) {
  auto policy = CallerPolicy::Create(kDefaults);
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->Check("RunWhatIf", Peer(Role::kClinician, "dr-alice")).ok());
  EXPECT_TRUE(policy->Check("RunWhatIf", Peer(Role::kClinician, "dr-bob")).ok());
  EXPECT_FALSE(policy->Check("RunWhatIf", Peer(Role::kAdmin, "cli-admin")).ok());
}

TEST(CallerPolicyTest, UnknownMethodFailsClosed) {
  auto policy = CallerPolicy::Create(kDefaults);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(policy->Check("DropEverything", Peer(Role::kService, "clinician_api")).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(CallerPolicyTest, UnknownRoleIsRefusedEvenWithAMatchingName) {
  auto policy = CallerPolicy::Create(kDefaults);
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->Check("Acknowledge", Peer(Role::kUnknown, "clinician_api")).ok());
}

TEST(CallerPolicyTest, OverrideReplacesTheDefaultList) {
  auto policy = CallerPolicy::Create(kDefaults, {{"Acknowledge", {"service:clinician-api.prod"}}});
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_FALSE(policy->Check("Acknowledge", Peer(Role::kService, "clinician_api")).ok());
  EXPECT_TRUE(policy->Check("Acknowledge", Peer(Role::kService, "clinician-api.prod")).ok());
  EXPECT_EQ(policy->Principals("Acknowledge"), (std::vector<std::string>{"service:clinician-api.prod"}));
}

TEST(CallerPolicyTest, RejectsOverrideOfAMethodTheServiceDoesNotHave) {
  auto policy = CallerPolicy::Create(kDefaults, {{"Acknowlege", {"admin"}}});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(policy.status().message().find("access.Acknowlege"), std::string::npos);
}

TEST(CallerPolicyTest, RejectsUnknownRoleAndEmptyName) {
  EXPECT_FALSE(CallerPolicy::Create({{"A", {"superuser"}}}).ok());
  EXPECT_FALSE(CallerPolicy::Create({{"A", {"service:"}}}).ok());
}

}  // namespace
}  // namespace healthtwin::common
