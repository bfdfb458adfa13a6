#include "models/calibration/identifiability.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "models/patient.h"

namespace healthtwin::models::calibration {
namespace {

bool Contains(const std::vector<Param>& set, Param p) { return std::find(set.begin(), set.end(), p) != set.end(); }

// The result recorded in models/README.md: from resting HR/SBP/DBP at most three parameters are
// identifiable, {resistance, blood volume, set point} among the best-conditioned (gamma < 10),
// arterial compliance barely matters, and the full candidate set is rank deficient.
TEST(IdentifiabilityTest, StandardAdultChoosesResistanceVolumeAndSetPoint) {
  absl::StatusOr<IdentifiabilityResult> r = AnalyseIdentifiability(StandardAdult());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->chosen.size(), 3u);
  EXPECT_TRUE(Contains(r->chosen, Param::kLogResistance));
  EXPECT_TRUE(Contains(r->chosen, Param::kLogBloodVolume));
  EXPECT_TRUE(Contains(r->chosen, Param::kSetPointOffset));
  // Compliance: the least important candidate, by a wide margin.
  const double compliance = r->importance[static_cast<int>(Param::kLogArterialCompliance)];
  for (std::size_t j = 0; j < r->importance.size(); ++j) {
    if (r->params[j] != Param::kLogArterialCompliance) {
      EXPECT_GT(r->importance[j], 2.0 * compliance);
    }
  }
  // Three observables: three singular values, well conditioned among themselves.
  ASSERT_EQ(r->singular_values.size(), 3u);
  EXPECT_LT(r->condition_number, 15.0);
  for (const SubsetIdentifiability& s : r->subsets) {
    if (s.params.size() == 4) {
      EXPECT_TRUE(std::isinf(s.collinearity_index));
    }
    if (s.params == r->chosen) {
      EXPECT_LT(s.collinearity_index, 10.0);
    }
  }
  // Physiology signs: volume raises SBP, the reflex lowers HR; the HR factor raises HR.
  const int hr = 0, sbp = 1;
  EXPECT_GT(r->sensitivity[sbp][static_cast<int>(Param::kLogBloodVolume)], 0.0);
  EXPECT_LT(r->sensitivity[hr][static_cast<int>(Param::kLogBloodVolume)], 0.0);
  EXPECT_GT(r->sensitivity[hr][static_cast<int>(Param::kLogHeartRate)], 0.0);
  const std::string md = RenderIdentifiabilityMarkdown(*r);
  EXPECT_NE(md.find("collinearity index"), std::string::npos);
}

}  // namespace
}  // namespace healthtwin::models::calibration
