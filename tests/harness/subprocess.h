// Runs a real binary as a child process for black-box tests: its exit code, its signals
// and its stderr, as an operator would see them.
//
// Spawn() starts `binary` with an explicit argument vector through posix_spawn (no shell,
// so nothing is word-split or expanded). stdin is /dev/null; stdout and stderr go to two
// files that the test can read at any time, also while the child runs. The child starts
// with every signal unblocked and at its default disposition, whatever the test process
// has set, and inherits no descriptor above stderr.
//
// Ownership: the Subprocess object owns the child. Its destructor SIGKILLs a child that
// is still running and reaps it, so a failing test never leaks a process. It reaps only
// its own pid, never waitpid(-1), so it coexists with other spawners (PgCluster).
//
// Thread safety: none; use one object from one thread.

#ifndef HEALTHTWIN_TESTS_PROCESS_SUBPROCESS_H_
#define HEALTHTWIN_TESTS_PROCESS_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace healthtwin::testing {

// How a child ended.
struct ExitInfo {
  bool exited = false;  // true: returned from main or called exit(); `code` is valid
  int code = -1;        // exit code when `exited`
  int signal = 0;       // terminating signal when !exited

  // "exit code 2" or "killed by signal 11 (Segmentation fault)".
  std::string ToString() const;
};

struct SubprocessOptions {
  // Where the child's stdout and stderr go (created or truncated). Empty: a file in a
  // private temporary directory that the Subprocess removes when destroyed.
  std::string stdout_path;
  std::string stderr_path;
  // "NAME=value" entries added to (or replacing those of) the test's environment.
  std::vector<std::string> extra_env;
};

class Subprocess {
 public:
  // Starts the child. Errors: NotFound when `binary` does not exist or is not executable,
  // Internal when the output files or posix_spawn fail.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Spawn(const std::string& binary,
                                                           const std::vector<std::string>& args,
                                                           SubprocessOptions options = {});

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();  // SIGKILLs and reaps a running child; removes private output files

  pid_t pid() const { return pid_; }

  // Sends `sig` to the child. FailedPrecondition once it has been reaped.
  absl::Status Signal(int sig);

  // Waits up to `timeout` for the child to end and reaps it. DeadlineExceeded if it is
  // still running then (it keeps running). Once reaped, returns the same ExitInfo again.
  absl::StatusOr<ExitInfo> Wait(std::chrono::milliseconds timeout);

  // Whether the child is still running; reaps it if it has ended.
  bool Running();

  // The exit status, once Wait() or Running() has reaped the child.
  const std::optional<ExitInfo>& exit_info() const { return exit_; }

  // Everything the child has written so far.
  std::string Stdout() const;
  std::string Stderr() const;

  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }

 private:
  Subprocess() = default;
  // Non-blocking reap; true when the child has been reaped (now or before).
  bool TryReap();

  pid_t pid_ = -1;
  std::optional<ExitInfo> exit_;
  std::string private_dir_;  // removed by the destructor when not empty
  std::string stdout_path_;
  std::string stderr_path_;
};

// Polls `done` every 20 ms until it returns true or `timeout` passes; returns its last
// value. For conditions that no event announces: a file appearing, a log line, a health
// status changing.
bool PollUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);

// The contents of `path`, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace healthtwin::testing

#endif  // HEALTHTWIN_TESTS_PROCESS_SUBPROCESS_H_
