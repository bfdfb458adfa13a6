// The reproduction layer's own checks, without simulating: the committed specs parse and have the
// design the rows assume, and bad spec directories and files are errors naming the file. The
// simulated rows themselves are golden-tested in ValidationGoldenTest (models/VALIDATION.md).
#include "models/treatment/trial_reproduction.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "models/treatment/treatment_json.h"

namespace healthtwin::models::treatment {
namespace {

std::string Read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(TrialReproductionTest, EverySpecParsesAsATwoArmRandomizedPlaceboControlledTrial) {
  std::set<std::string> files;
  for (const PublishedTrial& t : PublishedTrials()) {
    SCOPED_TRACE(t.spec_file);
    EXPECT_TRUE(files.insert(t.spec_file).second) << "listed twice";
    const std::string text = Read(std::string(HT_TRIAL_SPECS_DIR) + "/" + t.spec_file);
    ASSERT_FALSE(text.empty());
    absl::StatusOr<CohortSpec> spec = ParseCohortSpec(text);
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->allocation, Allocation::kRandomized);
    ASSERT_EQ(spec->arms.size(), 2u);
    EXPECT_TRUE(spec->arms[0].treatments.empty());
    EXPECT_EQ(spec->arms[1].treatments.size(), 1u);
    EXPECT_TRUE(spec->trial.AnyOn()) << "a reproduction measures what a trial measures";
    EXPECT_LT(t.sbp.value, 0.0);
    EXPECT_LT(t.dbp.value, 0.0);
  }
  // Every spec in the folder is in the table, so none is left unrun.
  int json_files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(HT_TRIAL_SPECS_DIR)) {
    if (entry.path().extension() != ".json") continue;
    ++json_files;
    EXPECT_TRUE(files.count(entry.path().filename().string())) << entry.path() << " is not in PublishedTrials()";
  }
  EXPECT_EQ(json_files, static_cast<int>(files.size()));
}

TEST(TrialReproductionTest, MissingDirectoryIsNotFoundNamingTheFile) {
  absl::StatusOr<std::vector<ValidationRow>> r = RunTrialReproductions("/nonexistent/trials");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/trials/" + PublishedTrials()[0].spec_file), std::string::npos)
      << r.status();
}

class TrialReproductionBadSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("trial_reproduction_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // Writes the first committed spec into dir_ with `from` replaced by `to`.
  void WriteFirstWith(const std::string& from, const std::string& to) {
    std::string text = Read(std::string(HT_TRIAL_SPECS_DIR) + "/" + PublishedTrials()[0].spec_file);
    ASSERT_NE(text.find(from), std::string::npos) << from;
    text.replace(text.find(from), from.size(), to);
    std::ofstream(dir_ / PublishedTrials()[0].spec_file, std::ios::binary) << text;
  }
  absl::Status Run() { return RunTrialReproductions(dir_.string()).status(); }
  std::filesystem::path dir_;
};

TEST_F(TrialReproductionBadSpecTest, MalformedSpecIsInvalidArgumentNamingFileAndField) {
  WriteFirstWith("\"days\": 56", "\"days\": \"eight weeks\"");
  if (HasFatalFailure()) return;
  const absl::Status s = Run();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(PublishedTrials()[0].spec_file), std::string::npos) << s;
  EXPECT_NE(s.message().find("days"), std::string::npos) << s;
}

TEST_F(TrialReproductionBadSpecTest, EveryArmDesignIsRefused) {
  WriteFirstWith("\"randomized\"", "\"every_arm\"");
  if (HasFatalFailure()) return;
  const absl::Status s = Run();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("randomized trial of two arms, placebo first"), std::string::npos) << s;
}

}  // namespace
}  // namespace healthtwin::models::treatment
