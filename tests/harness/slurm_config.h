// Pieces of SlurmCluster (slurm_cluster.h) that need no running daemon: the slurm.conf text,
// free ports, and where the Slurm and munge programs are.

#ifndef HEALTHTWIN_TESTS_HARNESS_SLURM_CONFIG_H_
#define HEALTHTWIN_TESTS_HARNESS_SLURM_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthtwin::testing::slurm {

// Ports of one cluster: slurmctld on `port`, slurmd on port + 1, srun on port + 100 .. + 199.
inline constexpr int kSlurmdPortOffset = 1;
inline constexpr int kSrunPortFirstOffset = 100;
inline constexpr int kSrunPortLastOffset = 199;

struct ConfParams {
  std::string dir;   // the cluster directory
  int port = 0;      // SlurmctldPort
  std::string user;  // SlurmUser and SlurmdUser: the user running the daemons
  int cpus = 1;      // CPUs of the one node
};

// slurm.conf for a single node "localhost" at 127.0.0.1 in the default partition "test".
// Memory is not a consumable (CR_Core), so RealMemory is a small fixed figure that every
// machine has.
std::string ConfText(const ConfParams& params);

// A controller port P such that P and P + 1 are free now on every address (the daemons bind
// 0.0.0.0). Picked at random in 20000..59000, so parallel tests rarely try the same one; the
// caller retries when a daemon still finds it taken.
absl::StatusOr<int> PickControllerPort();

// The absolute path of `program` from PATH, then /usr/sbin and /sbin (daemons live there and
// PATH for non-root users often lacks them). NotFound names the Debian package to install.
absl::StatusOr<std::string> FindProgram(absl::string_view program);

// The name of the effective user.
std::string CurrentUser();

}  // namespace healthtwin::testing::slurm

#endif  // HEALTHTWIN_TESTS_HARNESS_SLURM_CONFIG_H_
