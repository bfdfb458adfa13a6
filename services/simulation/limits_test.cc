#include "services/simulation/limits.h"

#include <string>

#include <gtest/gtest.h>

namespace healthtwin::simulation {
namespace {

TEST(SimulationLimitsTest, RejectsTheLargestWhatIfTheFieldMaximaAllow) {
  const absl::Status s = CheckWhatIfSize(20, 1000, 365, SimulationLimits{}.max_whatif_member_days);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("7300000 member-days"), std::string::npos) << s;
  EXPECT_NE(s.message().find("ensemble_size"), std::string::npos) << s;
}

TEST(SimulationLimitsTest, AcceptsTheDefaultsAndAYearForTwentyOptions) {
  EXPECT_TRUE(CheckWhatIfSize(5, 0, 0, SimulationLimits{}.max_whatif_member_days).ok());
  EXPECT_TRUE(CheckWhatIfSize(20, 50, 365, SimulationLimits{}.max_whatif_member_days).ok());
}

TEST(SimulationLimitsTest, CountsZeroFieldsAsTheirDefaults) {
  EXPECT_TRUE(CheckWhatIfSize(1, 0, 0, 1500).ok());   // 1 x 50 x 30
  EXPECT_FALSE(CheckWhatIfSize(1, 0, 0, 1499).ok());
}

}  // namespace
}  // namespace healthtwin::simulation
