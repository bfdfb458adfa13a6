// deploy/slurm/submit-cohort.sh against a real private Slurm cluster: the exact sbatch calls and
// their order, the shards' and the merge's exact healthtwin arguments, a failed shard cancelling
// the merge, and bad arguments refused before anything is submitted.
//
// sbatch here is the real one behind a logging wrapper on PATH. The jobs run a stand-in for
// healthtwin that records its arguments (the real binary runs in cohort_on_slurm_test).

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/slurm_cluster.h"
#include "tests/harness/slurm_config.h"
#include "tests/harness/subprocess.h"
#include "tests/slurm/slurm_jobs.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Records each call as its arguments, one a line, then "--end", and fails shard $FAIL_TASK.
constexpr char kStandIn[] = R"(#!/bin/bash
set -eu
log="$(dirname "$0")/calls"
{ printf '%s\n' "$@"; echo "--end"; } >> "${log}-${SLURM_ARRAY_TASK_ID:-merge}"
if [[ "$2" == cohort ]]; then
  [[ "${SLURM_ARRAY_TASK_ID}" != "${FAIL_TASK:-none}" ]] || { echo "shard failed on purpose" >&2; exit 3; }
  echo "part ${SLURM_ARRAY_TASK_ID}" > "${@: -1}"
else
  echo '{"merged": true}'
  echo "csv" > "${@: -1}"
fi
)";

class SubmitCohortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SlurmCluster>> cluster = SlurmCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(cluster).value();
    work_ = cluster_->dir() + "/work";
    fs::create_directories(work_ + "/bin");
    spec_ = work_ + "/spec.json";
    std::ofstream(spec_) << "{}";
    stand_in_ = work_ + "/bin/healthtwin";
    WriteExecutable(stand_in_, kStandIn);
    absl::StatusOr<std::string> sbatch = slurm::FindProgram("sbatch");
    ASSERT_TRUE(sbatch.ok()) << sbatch.status();
    WriteExecutable(work_ + "/bin/sbatch", absl::StrCat("#!/bin/bash\n{ printf '%s\\n' \"$@\"; echo --end; } >> ",
                                                        work_, "/sbatch.log\nexec ", *sbatch, " \"$@\"\n"));
  }

  ScriptRun Submit(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    std::vector<std::string> full_env = {absl::StrCat("PATH=", work_, "/bin:/usr/bin:/bin")};
    full_env.insert(full_env.end(), env.begin(), env.end());
    absl::StatusOr<ScriptRun> run = RunScript(*cluster_, HT_SUBMIT_COHORT, args, full_env);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : ScriptRun{};
  }

  // The argument vectors of the calls recorded in `path`, in order.
  static std::vector<std::vector<std::string>> Calls(const std::string& path) {
    std::vector<std::vector<std::string>> calls;
    std::vector<std::string> current;
    for (absl::string_view line : absl::StrSplit(ReadFileOrEmpty(path), '\n', absl::SkipEmpty())) {
      if (line == "--end") {
        calls.push_back(std::move(current));
        current.clear();
      } else {
        current.emplace_back(line);
      }
    }
    return calls;
  }

  std::unique_ptr<SlurmCluster> cluster_;
  std::string work_, spec_, stand_in_;
};

TEST_F(SubmitCohortTest, SubmitsTheArrayThenTheMergeAfterItWithExactArguments) {
  const std::string out = work_ + "/run";
  ScriptRun run = Submit({spec_, "4", "--out", out, "--healthtwin", stand_in_, "--time", "5"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string array = run.vars["ARRAY_JOB"];
  const std::string merge = run.vars["MERGE_JOB"];
  EXPECT_EQ(run.vars["OUT"], out);

  const std::string dir = fs::path(HT_SUBMIT_COHORT).parent_path().string();
  const std::string exported = "--export=ALL,HEALTHTWIN=" + stand_in_;
  EXPECT_THAT(
      Calls(work_ + "/sbatch.log"),
      ElementsAre(
          ElementsAre("--parsable", exported, "--time=5", "--array=0-3", "--job-name=healthtwin-cohort",
                      "--output=" + out + "/logs/shard-%a.out", dir + "/cohort.sbatch", spec_, "4", out),
          ElementsAre("--parsable", exported, "--time=5", "--dependency=afterok:" + array, "--kill-on-invalid-dep=yes",
                      "--job-name=healthtwin-cohort-merge", "--output=" + out + "/summary.json",
                      "--error=" + out + "/logs/merge.err", dir + "/merge.sbatch", out, out + "/per_patient.csv")));

  ASSERT_TRUE(cluster_->WaitForNoActiveJobs(milliseconds(60000)).ok());
  EXPECT_EQ(*JobStates(*cluster_, merge), "COMPLETED None");
  EXPECT_EQ(*JobStates(*cluster_, array), "COMPLETED None\nCOMPLETED None\nCOMPLETED None\nCOMPLETED None");
  for (int i = 0; i < 4; ++i) {
    const std::string part = absl::StrCat(out, "/part-", i, ".json");
    EXPECT_THAT(
        Calls(absl::StrCat(work_, "/bin/calls-", i)),
        ElementsAre(ElementsAre("sim", "cohort", "--spec", spec_, "--shard", absl::StrCat(i, "/4"), "--out", part)));
  }
  // The merge saw every part: it ran after the whole array.
  EXPECT_THAT(Calls(work_ + "/bin/calls-merge"),
              ElementsAre(ElementsAre("sim", "merge", out + "/part-0.json", out + "/part-1.json", out + "/part-2.json",
                                      out + "/part-3.json", "--json", "--csv", out + "/per_patient.csv")));
  EXPECT_EQ(ReadFileOrEmpty(out + "/summary.json"), "{\"merged\": true}\n");
  EXPECT_EQ(ReadFileOrEmpty(out + "/per_patient.csv"), "csv\n");
}

TEST_F(SubmitCohortTest, AFailedShardMakesSlurmCancelTheMerge) {
  const std::string out = work_ + "/run";
  ScriptRun run = Submit({spec_, "3", "--out", out, "--healthtwin", stand_in_}, {"FAIL_TASK=1"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  ASSERT_TRUE(cluster_->WaitForNoActiveJobs(milliseconds(60000)).ok());
  EXPECT_EQ(*JobStates(*cluster_, run.vars["MERGE_JOB"]), "CANCELLED DependencyNeverSatisfied");
  EXPECT_THAT(*JobStates(*cluster_, run.vars["ARRAY_JOB"] + "_1"), HasSubstr("FAILED"));
  EXPECT_THAT(ReadFileOrEmpty(out + "/logs/shard-1.out"), HasSubstr("shard failed on purpose"));
  EXPECT_FALSE(fs::exists(work_ + "/bin/calls-merge"));
  EXPECT_TRUE(fs::exists(out + "/part-0.json"));
  EXPECT_TRUE(fs::exists(out + "/part-2.json"));
}

TEST_F(SubmitCohortTest, ResumeSubmitsOnlyTheMissingShardsThenTheMergeOverAllParts) {
  const std::string out = work_ + "/run";
  fs::create_directories(out);
  std::ofstream(out + "/part-0.json") << "part 0 from before\n";
  std::ofstream(out + "/part-2.json") << "part 2 from before\n";
  ScriptRun run = Submit({spec_, "4", "--out", out, "--healthtwin", stand_in_, "--resume"});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  const std::vector<std::vector<std::string>> calls = Calls(work_ + "/sbatch.log");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[0], ::testing::Contains("--array=1,3"));
  EXPECT_THAT(calls[1], ::testing::Contains("--dependency=afterok:" + run.vars["ARRAY_JOB"]));
  ASSERT_TRUE(cluster_->WaitForNoActiveJobs(milliseconds(60000)).ok());
  EXPECT_EQ(*JobStates(*cluster_, run.vars["MERGE_JOB"]), "COMPLETED None");
  EXPECT_FALSE(fs::exists(work_ + "/bin/calls-0"));
  EXPECT_FALSE(fs::exists(work_ + "/bin/calls-2"));
  EXPECT_TRUE(fs::exists(work_ + "/bin/calls-1"));
  EXPECT_TRUE(fs::exists(work_ + "/bin/calls-3"));
  EXPECT_EQ(ReadFileOrEmpty(out + "/part-0.json"), "part 0 from before\n");
  EXPECT_THAT(Calls(work_ + "/bin/calls-merge"),
              ElementsAre(ElementsAre("sim", "merge", out + "/part-0.json", out + "/part-1.json", out + "/part-2.json",
                                      out + "/part-3.json", "--json", "--csv", out + "/per_patient.csv")));
}

TEST_F(SubmitCohortTest, ResumeWithEveryPartPresentSubmitsTheMergeAlone) {
  const std::string out = work_ + "/run";
  fs::create_directories(out);
  for (int i = 0; i < 2; ++i) std::ofstream(absl::StrCat(out, "/part-", i, ".json")) << "part\n";
  ScriptRun run = Submit({spec_, "2", "--out", out, "--healthtwin", stand_in_, "--resume"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.vars["ARRAY_JOB"], "");
  const std::vector<std::vector<std::string>> calls = Calls(work_ + "/sbatch.log");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_THAT(calls[0], Not(::testing::Contains(::testing::HasSubstr("--dependency"))));
  ASSERT_TRUE(cluster_->WaitForNoActiveJobs(milliseconds(30000)).ok());
  EXPECT_EQ(*JobStates(*cluster_, run.vars["MERGE_JOB"]), "COMPLETED None");
}

TEST_F(SubmitCohortTest, CohortSbatchRefusesToRunOutsideAnArrayTaskOfItsN) {
  const std::string script = fs::path(HT_SUBMIT_COHORT).parent_path().string() + "/cohort.sbatch";
  const std::vector<std::string> args = {spec_, "2", work_};
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"SLURM_ARRAY_TASK_ID="}, "SLURM_ARRAY_TASK_ID is not set"},
      {{"SLURM_ARRAY_TASK_ID=2", "HEALTHTWIN=" + stand_in_}, "array task 2 is not a shard of N = 2"},
  };
  for (const auto& [env, message] : cases) {
    absl::StatusOr<ScriptRun> run = RunScript(*cluster_, script, args, env);
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->exit_code, 2) << message;
    EXPECT_THAT(run->err, HasSubstr(message));
  }
  EXPECT_FALSE(fs::exists(work_ + "/bin/calls-2"));
}

TEST_F(SubmitCohortTest, ARefusedSubmissionExitsOneAndLeavesNothingQueued) {
  ScriptRun run = Submit({spec_, "2", "--out", work_ + "/run", "--healthtwin", stand_in_, "--partition", "nosuch"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("sbatch of the shard array failed"));
  EXPECT_THAT(*cluster_->ActiveJobs(), IsEmpty());
}

TEST_F(SubmitCohortTest, BadArgumentsExitTwoNamingTheProblemAndSubmitNothing) {
  const std::string stale = work_ + "/stale";
  fs::create_directories(stale);
  std::ofstream(stale + "/part-0.json") << "old";
  std::ofstream(work_ + "/file") << "x";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "expected SPEC and N, got 0 arguments"},
      {{spec_}, "expected SPEC and N, got 1 arguments"},
      {{spec_, "2", "3"}, "expected SPEC and N, got 3 arguments"},
      {{work_ + "/missing.json", "2"}, "is not a readable file"},
      {{spec_, "0"}, "N must be a positive integer, got '0'"},
      {{spec_, "two"}, "N must be a positive integer, got 'two'"},
      {{spec_, "-3"}, "unknown option '-3'"},
      {{spec_, "2", "--out"}, "option --out needs a value"},
      {{spec_, "2", "--frobnicate"}, "unknown option '--frobnicate'"},
      {{spec_, "2", "--healthtwin", work_ + "/nope"}, "is not an executable file"},
      {{spec_, "2", "--healthtwin", stand_in_, "--out", stale}, "already holds 1 part-*.json files"},
      {{spec_, "2", "--healthtwin", stand_in_, "--out", work_ + "/file"}, "exists and is not a directory"},
      {{spec_, "2", "--healthtwin", stand_in_, "--csv", work_ + "/no/dir/x.csv"}, "does not exist"},
      {{spec_, "2", "--healthtwin", stand_in_, "--out", work_ + "/absent", "--resume"}, "--resume: --out"},
  };
  for (const Case& c : cases) {
    ScriptRun run = Submit(c.args);
    EXPECT_EQ(run.exit_code, 2) << absl::StrJoin(c.args, " ");
    EXPECT_THAT(run.err, HasSubstr(c.message)) << absl::StrJoin(c.args, " ");
    EXPECT_THAT(run.out, IsEmpty());
  }
  EXPECT_FALSE(fs::exists(work_ + "/sbatch.log"));
  EXPECT_THAT(*cluster_->ActiveJobs(), IsEmpty());
}

}  // namespace
}  // namespace healthtwin::testing
