// The Slurm cohort engine (--cohort-executor slurm) on a real private Slurm cluster with the
// real healthtwin CLI and deploy/slurm/submit-cohort.sh: the same outcome as the in-process
// engine byte for byte, progress with the shards' states, cancel running scancel, and a failed
// shard failing the job by name.

#include "services/simulation/slurm_cohort_engine.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/simulation/engines.h"
#include "tests/harness/slurm_cluster.h"
#include "tests/slurm/slurm_jobs.h"

namespace healthtwin::simulation {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::SlurmCluster;

class SlurmCohortEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SlurmCluster>> cluster = SlurmCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(cluster).value();
    options_.submit_script = HT_SUBMIT_COHORT;
    options_.healthtwin = HT_HEALTHTWIN;
    options_.work_dir = cluster_->dir() + "/jobs";
    options_.shards = 3;
    options_.slurm_conf = cluster_->conf_path();
    options_.poll_interval = milliseconds(200);
    fs::create_directories(options_.work_dir);
  }

  static std::string Spec(int patients, int days, bool narrow) {
    return testing::CohortSpecFromExample(HT_EXAMPLE_COHORT, patients, days, 2, narrow);
  }

  std::unique_ptr<SlurmCluster> cluster_;
  SlurmCohortOptions options_;
};

TEST_F(SlurmCohortEngineTest, GivesTheInProcessOutcomeByteForByteAndReportsShardStates) {
  const std::string spec = Spec(18, 5, true);
  absl::StatusOr<CohortOutcome> local = MakeTreatmentCohortEngine(1)(spec, nullptr);
  ASSERT_TRUE(local.ok()) << local.status();

  std::vector<std::string> stages;
  double last_fraction = -1;
  absl::StatusOr<CohortOutcome> slurm =
      MakeSlurmCohortEngine(options_)(spec, [&](double fraction, std::string_view stage) {
        if (stages.empty() || stages.back() != stage) stages.emplace_back(stage);
        EXPECT_GE(fraction, last_fraction);
        last_fraction = fraction;
        return true;
      });
  ASSERT_TRUE(slurm.ok()) << slurm.status();

  EXPECT_EQ(slurm->result_json, local->result_json);
  EXPECT_EQ(slurm->per_patient_csv, local->per_patient_csv);
  ASSERT_FALSE(stages.empty());
  EXPECT_EQ(stages.front(), "submitting to slurm");
  EXPECT_TRUE(std::any_of(stages.begin(), stages.end(), [](const std::string& s) {
    return absl::StrContains(s, "shards done, ") && absl::StrContains(s, "/3");
  })) << stages.back();
  EXPECT_TRUE(fs::is_empty(options_.work_dir));  // the job's directory is removed on success
}

TEST_F(SlurmCohortEngineTest, CancelRunsScancelOnTheArrayAndTheMerge) {
  const std::string spec = Spec(3000, 30, false);  // each shard runs far longer than the test
  // Cancel as soon as a shard runs.
  absl::StatusOr<CohortOutcome> r = MakeSlurmCohortEngine(options_)(spec, [](double, std::string_view stage) {
    const bool some_running =
        stage.find(" running") != std::string_view::npos && stage.find(", 0 running") == std::string_view::npos;
    return !some_running;
  });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  ASSERT_TRUE(cluster_->WaitForNoActiveJobs(milliseconds(30000)).ok());
  absl::StatusOr<testing::ClientResult> states = cluster_->Client("squeue", {"-h", "-t", "all", "-o", "%T"});
  ASSERT_TRUE(states.ok());
  EXPECT_THAT(states->out, HasSubstr("CANCELLED"));
  EXPECT_THAT(states->out, Not(HasSubstr("COMPLETED")));
}

TEST_F(SlurmCohortEngineTest, AFailedShardFailsTheJobNamingTheShardAndItsLog) {
  options_.healthtwin = "/bin/false";  // every shard exits 1
  absl::StatusOr<CohortOutcome> r = MakeSlurmCohortEngine(options_)(Spec(6, 2, true), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(r.status().message(), HasSubstr("slurm shard "));
  EXPECT_THAT(r.status().message(), HasSubstr("failed (1 retries)"));
  EXPECT_THAT(r.status().message(), HasSubstr("/run/logs/shard-"));
  EXPECT_TRUE(cluster_->WaitForNoActiveJobs(milliseconds(30000)).ok());
}

TEST_F(SlurmCohortEngineTest, AShardThatFailsOnceIsRunAgainAloneAndTheJobSucceeds) {
  // The real healthtwin behind a wrapper that makes shard 1 fail the first time only.
  const std::string wrapper = cluster_->dir() + "/flaky-healthtwin";
  const std::string marker = cluster_->dir() + "/failed-once";
  testing::WriteExecutable(
      wrapper, absl::StrCat("#!/bin/bash\nif [[ \"${SLURM_ARRAY_TASK_ID:-}\" == 1 && ! -e ", marker, " ]]; then touch ",
                            marker, "; echo 'failing once' >&2; exit 1; fi\nexec ", HT_HEALTHTWIN, " \"$@\"\n"));
  options_.healthtwin = wrapper;
  const std::string spec = Spec(18, 5, true);
  absl::StatusOr<CohortOutcome> local = MakeTreatmentCohortEngine(1)(spec, nullptr);
  ASSERT_TRUE(local.ok()) << local.status();

  std::vector<std::string> stages;
  absl::StatusOr<CohortOutcome> slurm = MakeSlurmCohortEngine(options_)(spec, [&](double, std::string_view stage) {
    stages.emplace_back(stage);
    return true;
  });
  ASSERT_TRUE(slurm.ok()) << slurm.status();
  EXPECT_TRUE(fs::exists(marker));
  EXPECT_EQ(slurm->result_json, local->result_json);
  EXPECT_EQ(slurm->per_patient_csv, local->per_patient_csv);
  EXPECT_TRUE(std::any_of(stages.begin(), stages.end(), [](const std::string& s) {
    return absl::StrContains(s, "slurm job 1: 2/3 shards done, running failed shard 1 again (retry 1 of 1)");
  })) << absl::StrJoin(stages, "\n");
  // The second array ran shard 1 only.
  absl::StatusOr<testing::ClientResult> tasks =
      cluster_->Client("squeue", {"-h", "-t", "all", "-n", "healthtwin-cohort", "-o", "%i %T"});
  ASSERT_TRUE(tasks.ok());
  // Shards 0..2 of the first array, then shard 1 alone: a failure and a success of shard 1.
  std::vector<std::string> lines = absl::StrSplit(tasks->out, '\n', absl::SkipEmpty());
  std::sort(lines.begin(), lines.end(),
            [](const std::string& a, const std::string& b) { return a.substr(a.find('_')) < b.substr(b.find('_')); });
  ASSERT_EQ(lines.size(), 4u) << tasks->out;
  EXPECT_THAT(lines[0], ::testing::EndsWith("_0 COMPLETED"));
  EXPECT_THAT(std::vector<std::string>(lines.begin() + 1, lines.begin() + 3),
              ::testing::UnorderedElementsAre(::testing::EndsWith("_1 COMPLETED"), ::testing::EndsWith("_1 FAILED")));
  EXPECT_THAT(lines[3], ::testing::EndsWith("_2 COMPLETED"));
}

TEST_F(SlurmCohortEngineTest, ARefusedSubmissionFailsWithSbatchsMessage) {
  options_.partition = "nosuch";
  absl::StatusOr<CohortOutcome> r = MakeSlurmCohortEngine(options_)(Spec(6, 2, true), nullptr);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("invalid partition"));
  EXPECT_THAT(*cluster_->ActiveJobs(), IsEmpty());
}

}  // namespace
}  // namespace healthtwin::simulation
