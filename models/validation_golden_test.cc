// Golden test: the tables in models/VALIDATION.md must equal what the code generates today.
//
// The file is the engine's, the pharmacology, the virtual-trial rows and the reproductions of the
// published trials in docs/examples/trials (deterministic, regenerated here), then a
// "## Twin calibration" section from the 100-patient calibration study, whose golden test is
// its own binary (validation_calibration_golden_test.cc: minutes in the Debug build, so CTest
// starts it first and the rest of the suite runs beside it).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "models/pharmacology/pharmacology_validation.h"
#include "models/treatment/trial_reproduction.h"
#include "models/treatment/trial_validation.h"
#include "models/validation.h"

namespace healthtwin::models {
namespace {

constexpr std::string_view kCalibrationHeading = "\n## Twin calibration";

class ValidationGoldenTest : public ::testing::Test {
 protected:
  // The engine's rows, then the pharmacology, virtual-trial and reproduction rows, as the tool writes them;
  // computed once.
  static void SetUpTestSuite() {
    absl::StatusOr<std::vector<ValidationRow>> r = RunValidation();
    if (r.ok()) {
      absl::StatusOr<std::vector<ValidationRow>> pharma = pharma::RunPharmacologyValidation();
      if (pharma.ok()) {
        r->insert(r->end(), pharma->begin(), pharma->end());
      } else {
        r = pharma.status();
      }
    }
    if (r.ok()) {
      absl::StatusOr<std::vector<ValidationRow>> trial = treatment::RunTrialValidation();
      if (trial.ok()) {
        r->insert(r->end(), trial->begin(), trial->end());
      } else {
        r = trial.status();
      }
    }
    if (r.ok()) {
      absl::StatusOr<std::vector<ValidationRow>> reproductions = treatment::RunTrialReproductions(HT_TRIAL_SPECS_DIR);
      if (reproductions.ok()) {
        r->insert(r->end(), reproductions->begin(), reproductions->end());
      } else {
        r = reproductions.status();
      }
    }
    rows_ = new absl::StatusOr<std::vector<ValidationRow>>(std::move(r));
  }
  static void TearDownTestSuite() {
    delete rows_;
    rows_ = nullptr;
  }
  static std::string Committed() {
    std::ifstream f(HT_MODELS_VALIDATION_MD, std::ios::binary);
    std::stringstream committed;
    committed << f.rdbuf();
    return committed.str();
  }
  static absl::StatusOr<std::vector<ValidationRow>>* rows_;
};
absl::StatusOr<std::vector<ValidationRow>>* ValidationGoldenTest::rows_ = nullptr;

TEST_F(ValidationGoldenTest, CommittedTableMatchesTheModel) {
  ASSERT_TRUE(rows_->ok()) << rows_->status();
  const std::string committed = Committed();
  ASSERT_FALSE(committed.empty()) << "missing " << HT_MODELS_VALIDATION_MD;
  const std::size_t calibration = committed.find(kCalibrationHeading);
  ASSERT_NE(calibration, std::string::npos) << "the twin calibration section is missing";
  EXPECT_EQ(committed.substr(0, calibration), RenderValidationMarkdown(**rows_))
      << "models/VALIDATION.md is stale: run healthtwin-model-validate --out models/VALIDATION.md and review the diff";
}

TEST_F(ValidationGoldenTest, NoRowIsRed) {
  ASSERT_TRUE(rows_->ok()) << rows_->status();
  for (const ValidationRow& r : **rows_) EXPECT_NE(r.grade, Grade::kRed) << r.section << ": " << r.quantity;
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
