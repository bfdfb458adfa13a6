// healthtwin-slurm-harness: drives SlurmCluster from scripts and by hand.
//
//   healthtwin-slurm-harness start DIR   # prints SLURM_CONF=DIR/etc/slurm.conf
//   healthtwin-slurm-harness stop DIR [--remove]
//
// `eval "$(healthtwin-slurm-harness start /tmp/hts-me)"` then points sbatch, squeue and
// srun at the new cluster. stop cancels every job first.
// Exit codes: 0 success, 1 the operation failed, 2 bad arguments.

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/slurm_cluster.h"

namespace {

using healthtwin::testing::SlurmCluster;
using healthtwin::testing::SlurmClusterOptions;

constexpr char kProgram[] = "healthtwin-slurm-harness";
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int Fail(const absl::Status& status) {
  std::cerr << kProgram << ": " << status << "\n";
  return kExitFailure;
}

int RunStart(const std::string& dir) {
  // keep = false only matters on failure: a half-started cluster is stopped and removed.
  absl::StatusOr<std::unique_ptr<SlurmCluster>> cluster = SlurmCluster::Start(
      SlurmClusterOptions{.base_dir = dir, .keep = false, .ready_timeout = std::chrono::seconds(20)});
  if (!cluster.ok()) return Fail(cluster.status());
  std::cout << "SLURM_CONF=" << (*cluster)->conf_path() << std::endl;
  (*cluster)->Detach();  // the daemons outlive this process
  return 0;
}

int RunStop(const std::string& dir, bool remove) {
  absl::StatusOr<std::unique_ptr<SlurmCluster>> cluster = SlurmCluster::Attach(dir);
  if (!cluster.ok()) return Fail(cluster.status());
  absl::Status status = remove ? (*cluster)->Destroy() : (*cluster)->Stop();
  return status.ok() ? 0 : Fail(status);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A private single-node Slurm cluster (munged, slurmctld, slurmd) on free ports.", kProgram};
  app.require_subcommand(1);

  std::string dir;
  bool remove = false;

  CLI::App* start = app.add_subcommand("start", "Start a cluster in DIR, leave it running, print SLURM_CONF=...");
  start->add_option("DIR", dir, "Cluster directory (created; must be empty; at most 60 bytes)")->required();

  CLI::App* stop = app.add_subcommand("stop", "Cancel every job and stop the cluster in DIR");
  stop->add_option("DIR", dir, "Cluster directory")->required();
  stop->add_flag("--remove", remove, "Also delete DIR");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::string message = e.what();
    std::replace(message.begin(), message.end(), '\n', ' ');
    std::cerr << kProgram << ": " << message << " (see --help)\n";
    return kExitUsage;
  }

  if (start->parsed()) return RunStart(dir);
  return RunStop(dir, remove);
}
