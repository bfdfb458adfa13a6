// A private single-node Slurm cluster for integration tests and manual runs (the HPC route of
// deploy/slurm).
//
// SlurmCluster starts Debian's munged, slurmctld and slurmd (bootstrap installs them) from one
// short private directory, on free TCP ports, with a munge key of its own, and returns once
// `sinfo` reports the node idle. A client pointed at another cluster is refused, because the
// keys differ, so several clusters can run at once. Facts and pitfalls:
// ../shared/notes/slurm-single-node.md.
//
// Directory layout (all under dir(); Unix socket paths must stay under 108 bytes, so the
// directory must be short, by default /tmp/hts-XXXXXX):
//   etc/slurm.conf, etc/plugstack.conf   the configuration (slurm_config.h)
//   munge/munge.key, munge/munge.sock    this cluster's key and munged's socket
//   spool/ctld, spool/d                  StateSaveLocation and SlurmdSpoolDir
//   run/{munged,slurmctld,slurmd}.pid    the daemons' pid files
//   log/{munged,slurmctld,slurmd}.log    their logs
//
// Clients (sbatch, squeue, scancel, srun, sinfo) need SLURM_CONF=conf_path() in their
// environment: Env() gives it, Client() runs one with it.
//
// Ownership: an object made by Start() owns the cluster; its destructor cancels every job,
// stops the daemons and removes the directory (unless `keep`). Detach() gives that up. An
// object made by Attach() never owns the cluster.
//
// Thread safety: const methods may be called concurrently; the others must not run concurrently
// with any other call on the same object.

#ifndef HEALTHTWIN_TESTS_HARNESS_SLURM_CLUSTER_H_
#define HEALTHTWIN_TESTS_HARNESS_SLURM_CLUSTER_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthtwin::testing {

struct SlurmClusterOptions {
  // Directory for the cluster: created if missing, must be empty if present, and short (see
  // above). Empty: a fresh directory made with mkdtemp as /tmp/hts-XXXXXX.
  std::string base_dir;
  // Leave the directory (and its logs) on disk when the owning object is destroyed.
  bool keep = false;
  // How long the node may take to become idle.
  std::chrono::milliseconds ready_timeout{20000};
};

// What a client program printed and how it ended.
struct ClientResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

// Whether `pid` runs and is not a zombie. The daemons are reparented to init when their
// starter exits, and a container's init may leave them unreaped for a while.
bool ProcessRunning(pid_t pid);

class SlurmCluster {
 public:
  // Creates the directory, a munge key and slurm.conf on free ports, starts the three daemons
  // and waits until the node is idle. Errors: NotFound when a Slurm or munge program is
  // missing, InvalidArgument when base_dir is too long, FailedPrecondition when it is not
  // empty, DeadlineExceeded when the node does not become idle in time, Internal when a daemon
  // fails (the message ends with the tail of its log). A port taken by someone else between
  // the choice and the bind is retried on other ports.
  static absl::StatusOr<std::unique_ptr<SlurmCluster>> Start(const SlurmClusterOptions& options = {});

  // Attaches to a cluster started earlier in `dir`, possibly by another process (the harness
  // CLI). The returned object does not own it. NotFound when `dir` holds no cluster.
  static absl::StatusOr<std::unique_ptr<SlurmCluster>> Attach(absl::string_view dir);

  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;
  ~SlurmCluster();

  // Runs a Slurm client program (found on PATH) with SLURM_CONF set and waits up to `timeout`.
  // The status is an error only when the program cannot run or times out; a non-zero exit
  // code is in the result.
  absl::StatusOr<ClientResult> Client(const std::string& program, const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

  // The node's state as `sinfo` prints it ("idle", "mixed", "allocated", "down*", ...).
  absl::StatusOr<std::string> NodeState() const;

  // Ids of the jobs squeue lists (pending, running, completing), array tasks as "A_I".
  absl::StatusOr<std::vector<std::string>> ActiveJobs() const;

  // Waits until squeue lists no pending, running or completing job. DeadlineExceeded names
  // the jobs still listed.
  absl::Status WaitForNoActiveJobs(std::chrono::milliseconds timeout) const;

  // Cancels every job and waits until none is running or completing (slurmstepd would
  // otherwise outlive slurmd).
  absl::Status CancelAllJobs(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // Cancels every job, then stops slurmd, slurmctld and munged and waits for them to exit
  // (SIGKILL after a grace period). OK when they are already stopped.
  absl::Status Stop();

  // Stop() and remove the directory; afterwards the destructor does nothing. Also works on
  // an attached cluster.
  absl::Status Destroy();

  // Leaves the cluster running and the directory in place when this object is destroyed.
  void Detach() { owned_ = false; }

  const std::string& dir() const { return dir_; }
  std::string conf_path() const { return dir_ + "/etc/slurm.conf"; }
  int controller_port() const { return port_; }
  // {"SLURM_CONF=<conf_path()>"}, for SubprocessOptions::extra_env.
  std::vector<std::string> Env() const { return {"SLURM_CONF=" + conf_path()}; }
  // Pid of "munged", "slurmctld" or "slurmd" from its pid file; -1 when absent.
  pid_t DaemonPid(absl::string_view daemon) const;

 private:
  SlurmCluster(std::string dir, int port, bool owned, bool keep);

  // Writes the configuration for `port`, starts the daemons and waits for idle.
  absl::Status StartDaemons(int port, std::chrono::milliseconds ready_timeout);
  absl::Status StartDaemon(const std::string& program, const std::vector<std::string>& args, const std::string& name);
  absl::Status StopDaemon(const std::string& name);
  absl::Status ErrorWithLog(absl::StatusCode code, absl::string_view message, absl::string_view log) const;

  std::string dir_;
  int port_;
  bool owned_;
  bool keep_;
};

}  // namespace healthtwin::testing

#endif  // HEALTHTWIN_TESTS_HARNESS_SLURM_CLUSTER_H_
