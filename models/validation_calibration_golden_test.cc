// Golden test for the last section of models/VALIDATION.md, "## Twin calibration": the
// 100-patient calibration study (seed 1) that healthtwin-model-validate appends after the engine
// and pharmacology tables (those are ValidationGoldenTest's). The study is deterministic, so it
// is rerun here, once per process (one TEST), and compared with the committed text.
//
// Cost: the whole study, 229 s of CPU in the Debug build (Eigen unoptimised; 376 s wall at load
// average 5 on two cores) and 18 s at -O2, where the output is identical, so the ASan build
// (RelWithDebInfo) should take about a minute. Its own binary, started first by CTest (COST), so
// the rest of the suite runs beside it. A reduced 12-patient study with stated tolerances is
// healthtwin_calibration_validation_test.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "models/calibration/calibration_validation.h"

namespace healthtwin::models::calibration {
namespace {

TEST(CalibrationGoldenTest, CommittedTwinCalibrationSectionMatchesTheModel) {
  std::ifstream f(HT_MODELS_VALIDATION_MD, std::ios::binary);
  std::stringstream buffer;
  buffer << f.rdbuf();
  const std::string committed = buffer.str();
  ASSERT_FALSE(committed.empty()) << "missing " << HT_MODELS_VALIDATION_MD;
  const std::size_t at = committed.find("\n## Twin calibration");
  ASSERT_NE(at, std::string::npos) << "the twin calibration section is missing";
  absl::StatusOr<std::string> generated = RenderCalibrationValidationMarkdown(kValidationMdPatients, kValidationMdSeed);
  ASSERT_TRUE(generated.ok()) << generated.status();
  EXPECT_EQ(committed.substr(at + 1), *generated)
      << "the twin calibration section of models/VALIDATION.md is stale: run healthtwin-model-validate --out "
         "models/VALIDATION.md and review the diff";
}

}  // namespace
}  // namespace healthtwin::models::calibration
