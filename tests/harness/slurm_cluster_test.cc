// SlurmCluster against the real daemons: up, a job array, srun, scancel, teardown, two
// clusters side by side, and the harness CLI.

#include "tests/harness/slurm_cluster.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

std::unique_ptr<SlurmCluster> StartOrDie() {
  absl::StatusOr<std::unique_ptr<SlurmCluster>> cluster = SlurmCluster::Start();
  EXPECT_TRUE(cluster.ok()) << cluster.status();
  return cluster.ok() ? std::move(cluster).value() : nullptr;
}

// Runs a client and expects exit code 0; returns its stdout without surrounding whitespace.
std::string RunOk(const SlurmCluster& cluster, const std::string& program, const std::vector<std::string>& args) {
  absl::StatusOr<ClientResult> r = cluster.Client(program, args);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return "";
  EXPECT_EQ(r->exit_code, 0) << program << ": " << r->err;
  return std::string(absl::StripAsciiWhitespace(r->out));
}

std::string JobState(const SlurmCluster& cluster, const std::string& job) {
  return RunOk(cluster, "squeue", {"-h", "-t", "all", "-j", job, "-o", "%T"});
}

SubprocessOptions CrossedEnv(const std::string& conf) {
  SubprocessOptions options;
  options.extra_env = {"SLURM_CONF=" + conf};
  return options;
}

SlurmClusterOptions InDir(const std::string& dir) {
  SlurmClusterOptions options;
  options.base_dir = dir;
  return options;
}

TEST(SlurmClusterTest, StartReturnsWithTheNodeIdleAndItsOwnKeyAndPorts) {
  std::unique_ptr<SlurmCluster> cluster = StartOrDie();
  ASSERT_NE(cluster, nullptr);

  EXPECT_EQ(*cluster->NodeState(), "idle");
  for (const char* daemon : {"munged", "slurmctld", "slurmd"})
    EXPECT_TRUE(ProcessRunning(cluster->DaemonPid(daemon))) << daemon;
  EXPECT_TRUE(fs::exists(cluster->dir() + "/munge/munge.key"));
  EXPECT_THAT(ReadFileOrEmpty(cluster->conf_path()),
              HasSubstr(absl::StrCat("SlurmctldPort=", cluster->controller_port(), "\n")));
  EXPECT_EQ(RunOk(*cluster, "sinfo", {"-h", "-o", "%P"}), "test*");
}

TEST(SlurmClusterTest, RunsEveryTaskOfAJobArray) {
  std::unique_ptr<SlurmCluster> cluster = StartOrDie();
  ASSERT_NE(cluster, nullptr);
  const std::string out = cluster->dir() + "/out";
  fs::create_directories(out);

  const std::string job = RunOk(*cluster, "sbatch",
                                {"--parsable", "--array=0-3", "--output=" + out + "/task-%a.txt", "--wrap",
                                 "echo task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT"});
  int id = 0;
  ASSERT_TRUE(absl::SimpleAtoi(job, &id)) << job;
  ASSERT_TRUE(cluster->WaitForNoActiveJobs(milliseconds(30000)).ok());

  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(ReadFileOrEmpty(absl::StrCat(out, "/task-", i, ".txt")), absl::StrCat("task ", i, " of 4\n"));
  }
  EXPECT_FALSE(fs::exists(out + "/task-4.txt"));
}

TEST(SlurmClusterTest, SrunRunsAStepAndReturnsItsOutput) {
  std::unique_ptr<SlurmCluster> cluster = StartOrDie();
  ASSERT_NE(cluster, nullptr);

  EXPECT_EQ(RunOk(*cluster, "srun", {"-n", "1", "/bin/sh", "-c", "echo step on $SLURMD_NODENAME"}),
            "step on localhost");
  absl::StatusOr<ClientResult> failing = cluster->Client("srun", {"-n", "1", "/bin/sh", "-c", "exit 3"});
  ASSERT_TRUE(failing.ok()) << failing.status();
  EXPECT_EQ(failing->exit_code, 3);
}

TEST(SlurmClusterTest, ScancelEndsARunningJobAndItsProcess) {
  std::unique_ptr<SlurmCluster> cluster = StartOrDie();
  ASSERT_NE(cluster, nullptr);
  const std::string pid_file = cluster->dir() + "/job.pid";

  const std::string job = RunOk(
      *cluster, "sbatch", {"--parsable", "--output=/dev/null", "--wrap", "echo $$ > " + pid_file + "; exec sleep 300"});
  ASSERT_TRUE(
      PollUntil([&] { return JobState(*cluster, job) == "RUNNING" && fs::exists(pid_file); }, milliseconds(20000)));
  ASSERT_TRUE(PollUntil([&] { return !ReadFileOrEmpty(pid_file).empty(); }, milliseconds(5000)));
  pid_t pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(pid_file)), &pid));
  ASSERT_TRUE(ProcessRunning(pid));

  RunOk(*cluster, "scancel", {job});
  ASSERT_TRUE(cluster->WaitForNoActiveJobs(milliseconds(20000)).ok());
  EXPECT_EQ(JobState(*cluster, job), "CANCELLED");
  EXPECT_TRUE(PollUntil([&] { return !ProcessRunning(pid); }, milliseconds(5000)));
}

TEST(SlurmClusterTest, DestroyCancelsRunningJobsStopsEveryDaemonAndRemovesTheDirectory) {
  std::unique_ptr<SlurmCluster> cluster = StartOrDie();
  ASSERT_NE(cluster, nullptr);
  const std::string pid_file = cluster->dir() + "/job.pid";
  RunOk(*cluster, "sbatch",
        {"--parsable", "--output=/dev/null", "--wrap", "echo $$ > " + pid_file + "; exec sleep 300"});
  ASSERT_TRUE(PollUntil([&] { return !ReadFileOrEmpty(pid_file).empty(); }, milliseconds(20000)));
  pid_t job_pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(pid_file)), &job_pid));
  const pid_t munged = cluster->DaemonPid("munged");
  const pid_t ctld = cluster->DaemonPid("slurmctld");
  const pid_t slurmd = cluster->DaemonPid("slurmd");
  const std::string dir = cluster->dir();

  ASSERT_TRUE(cluster->Destroy().ok());

  EXPECT_FALSE(fs::exists(dir));
  for (pid_t pid : {munged, ctld, slurmd, job_pid})
    EXPECT_TRUE(PollUntil([&] { return !ProcessRunning(pid); }, milliseconds(3000))) << pid;
}

TEST(SlurmClusterTest, TwoClustersRunSideBySideAndRefuseEachOthersClients) {
  std::unique_ptr<SlurmCluster> a = StartOrDie();
  std::unique_ptr<SlurmCluster> b = StartOrDie();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->controller_port(), b->controller_port());

  const std::string job = RunOk(*a, "sbatch", {"--parsable", "--hold", "--output=/dev/null", "--wrap", "true"});
  EXPECT_THAT(*a->ActiveJobs(), UnorderedElementsAre(job));
  EXPECT_THAT(*b->ActiveJobs(), IsEmpty());

  // A's configuration with B's controller port: B's slurmctld cannot verify A's munge credential.
  std::string conf = ReadFileOrEmpty(a->conf_path());
  const std::string from = absl::StrCat("SlurmctldPort=", a->controller_port(), "\n");
  conf.replace(conf.find(from), from.size(), absl::StrCat("SlurmctldPort=", b->controller_port(), "\n"));
  const std::string crossed = a->dir() + "/etc/crossed.conf";
  std::ofstream(crossed) << conf;
  absl::StatusOr<std::unique_ptr<Subprocess>> squeue =
      Subprocess::Spawn("/usr/bin/squeue", {"-h"}, CrossedEnv(crossed));
  ASSERT_TRUE(squeue.ok()) << squeue.status();
  absl::StatusOr<ExitInfo> exit = (*squeue)->Wait(milliseconds(30000));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_NE(exit->code, 0);
  EXPECT_THAT((*squeue)->Stderr(), HasSubstr("slurm_load_jobs error"));
  EXPECT_TRUE(PollUntil(
      [&] {
        return ReadFileOrEmpty(b->dir() + "/log/slurmctld.log").find("Protocol authentication error") !=
               std::string::npos;
      },
      milliseconds(3000)));
  EXPECT_THAT(ReadFileOrEmpty(a->dir() + "/log/slurmctld.log"), Not(HasSubstr("Protocol authentication error")));
}

TEST(SlurmClusterTest, RefusesALongOrNonEmptyDirectory) {
  absl::StatusOr<std::unique_ptr<SlurmCluster>> long_dir = SlurmCluster::Start(InDir("/tmp/" + std::string(60, 'x')));
  EXPECT_EQ(long_dir.status().code(), absl::StatusCode::kInvalidArgument) << long_dir.status();
  EXPECT_THAT(long_dir.status().message(), HasSubstr("Unix socket"));

  const std::string dir = "/tmp/hts-full-" + std::to_string(::getpid());
  fs::create_directories(dir);
  std::ofstream(dir + "/other") << "x";
  absl::StatusOr<std::unique_ptr<SlurmCluster>> full = SlurmCluster::Start(InDir(dir));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kFailedPrecondition) << full.status();
  EXPECT_TRUE(fs::exists(dir + "/other"));
  fs::remove_all(dir);
}

TEST(SlurmClusterTest, AttachToADirectoryWithoutAClusterIsNotFound) {
  const std::string dir = "/tmp/hts-none-" + std::to_string(::getpid());
  fs::create_directories(dir);
  absl::StatusOr<std::unique_ptr<SlurmCluster>> attached = SlurmCluster::Attach(dir);
  EXPECT_EQ(attached.status().code(), absl::StatusCode::kNotFound) << attached.status();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace healthtwin::testing
