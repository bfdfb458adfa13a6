// healthtwin-slurm-harness as a script uses it: start prints SLURM_CONF, the cluster outlives
// the command, stop --remove ends it; bad arguments exit 2.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/slurm_cluster.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

ExitInfo RunHarness(const std::vector<std::string>& args, std::string* out, std::string* err) {
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Spawn(HT_SLURM_HARNESS, args);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return {};
  absl::StatusOr<ExitInfo> exit = (*child)->Wait(milliseconds(60000));
  EXPECT_TRUE(exit.ok()) << exit.status();
  *out = (*child)->Stdout();
  *err = (*child)->Stderr();
  return exit.ok() ? *exit : ExitInfo{};
}

TEST(SlurmHarnessCliTest, StartLeavesAClusterRunningAndStopRemovesIt) {
  const std::string dir = "/tmp/hts-cli-" + std::to_string(::getpid());
  std::string out, err;
  ExitInfo started = RunHarness({"start", dir}, &out, &err);
  ASSERT_TRUE(started.exited && started.code == 0) << started.ToString() << ": " << err;
  EXPECT_EQ(out, "SLURM_CONF=" + dir + "/etc/slurm.conf\n");

  absl::StatusOr<std::unique_ptr<SlurmCluster>> attached = SlurmCluster::Attach(dir);
  ASSERT_TRUE(attached.ok()) << attached.status();
  EXPECT_EQ(*(*attached)->NodeState(), "idle");
  const pid_t ctld = (*attached)->DaemonPid("slurmctld");

  ExitInfo stopped = RunHarness({"stop", dir, "--remove"}, &out, &err);
  EXPECT_TRUE(stopped.exited && stopped.code == 0) << stopped.ToString() << ": " << err;
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(PollUntil([&] { return !ProcessRunning(ctld); }, milliseconds(3000)));
}

TEST(SlurmHarnessCliTest, BadArgumentsExitTwoNamingTheProblem) {
  std::string out, err;
  ExitInfo none = RunHarness({}, &out, &err);
  EXPECT_EQ(none.code, 2);
  EXPECT_THAT(err, HasSubstr("subcommand"));

  ExitInfo no_dir = RunHarness({"start"}, &out, &err);
  EXPECT_EQ(no_dir.code, 2);
  EXPECT_THAT(err, HasSubstr("DIR"));

  ExitInfo unknown = RunHarness({"restart", "/tmp/x"}, &out, &err);
  EXPECT_EQ(unknown.code, 2);

  ExitInfo stop_nothing = RunHarness({"stop", "/nonexistent-hts"}, &out, &err);
  EXPECT_EQ(stop_nothing.code, 1);
  EXPECT_THAT(err, HasSubstr("no Slurm cluster in '/nonexistent-hts'"));
}

}  // namespace
}  // namespace healthtwin::testing
