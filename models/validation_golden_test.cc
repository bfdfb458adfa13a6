// Golden test: models/VALIDATION.md must equal what the code generates today.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "models/validation.h"

namespace healthtwin::models {
namespace {

TEST(ValidationGoldenTest, CommittedTableMatchesTheModel) {
  absl::StatusOr<std::vector<ValidationRow>> rows = RunValidation();
  ASSERT_TRUE(rows.ok()) << rows.status();
  const std::string generated = RenderValidationMarkdown(*rows);
  std::ifstream f(HT_MODELS_VALIDATION_MD, std::ios::binary);
  ASSERT_TRUE(f) << "missing " << HT_MODELS_VALIDATION_MD;
  std::stringstream committed;
  committed << f.rdbuf();
  EXPECT_EQ(committed.str(), generated)
      << "models/VALIDATION.md is stale: run healthtwin-model-validate --out models/VALIDATION.md and review the diff";
}

TEST(ValidationGoldenTest, NoRowIsRed) {
  absl::StatusOr<std::vector<ValidationRow>> rows = RunValidation();
  ASSERT_TRUE(rows.ok()) << rows.status();
  for (const ValidationRow& r : *rows) EXPECT_NE(r.grade, Grade::kRed) << r.section << ": " << r.quantity;
}

TEST(GradeTest, InsideOrWithinTenPercentIsGreenThirtyYellowBeyondRed) {
  EXPECT_EQ(GradeAgainstRange(80, 60, 100), Grade::kGreen);
  EXPECT_EQ(GradeAgainstRange(109, 60, 100), Grade::kGreen);
  EXPECT_EQ(GradeAgainstRange(111, 60, 100), Grade::kYellow);
  EXPECT_EQ(GradeAgainstRange(131, 60, 100), Grade::kRed);
  EXPECT_EQ(GradeAgainstRange(5.0, 5.6, 5.6), Grade::kYellow);
}

}  // namespace
}  // namespace healthtwin::models
