// Helpers of the deploy/slurm tests: run deploy/slurm/submit-cohort.sh against a SlurmCluster
// and follow the jobs it submitted.

#ifndef HEALTHTWIN_TESTS_SLURM_SLURM_JOBS_H_
#define HEALTHTWIN_TESTS_SLURM_SLURM_JOBS_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/harness/slurm_cluster.h"

namespace healthtwin::testing {

struct ScriptRun {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
  // The NAME=value lines of stdout (ARRAY_JOB, MERGE_JOB, OUT).
  std::map<std::string, std::string> vars;
};

// Runs `bash script args...` with the cluster's SLURM_CONF and `extra_env` and waits for it.
absl::StatusOr<ScriptRun> RunScript(const SlurmCluster& cluster, const std::string& script,
                                    const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// "STATE REASON" of a job (also of a finished one: MinJobAge keeps it listed), e.g.
// "COMPLETED None", "CANCELLED DependencyNeverSatisfied"; for an array, one line per task.
absl::StatusOr<std::string> JobStates(const SlurmCluster& cluster, const std::string& job);

// docs/examples/cohort.json (at `example_path`) as JSON text with `patients` patients, `days`
// days and its first `arms` arms. Narrow: men around 147/90 only, so that each process builds
// one archetype map (~1 s) instead of up to 12 (~20 s in a Debug build).
std::string CohortSpecFromExample(const std::string& example_path, int patients, int days, int arms, bool narrow);

// Writes an executable file.
void WriteExecutable(const std::string& path, const std::string& text);

}  // namespace healthtwin::testing

#endif  // HEALTHTWIN_TESTS_SLURM_SLURM_JOBS_H_
