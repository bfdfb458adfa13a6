// One service binary under the chaos harness: started, killed, stopped and started again,
// with every incarnation's output kept in its own files, and everything that would count as a
// crash (an exit nobody asked for, a non-zero exit after SIGTERM, std::terminate or a sanitizer
// report in its output) written down as a problem.
//
// Thread safety: none; the harness drives it from its one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::chaos {

class ManagedProcess {
 public:
  // `args` gives the arguments for each start (ports and the like may change between starts);
  // `after_start` runs after each spawn (waits for a port file, say) and may fail the start.
  using Args = std::function<std::vector<std::string>()>;
  using AfterStart = std::function<absl::Status(testing::Subprocess&)>;
  ManagedProcess(std::string name, std::string binary, Args args, std::string log_dir,
                 AfterStart after_start = nullptr);

  const std::string& name() const { return name_; }
  absl::Status Start();
  // SIGKILL and reap (a crash, as the harness means it).
  absl::Status Kill9();
  // SIGTERM; Poll() then sees it end. It must exit 0 within `drain`.
  absl::Status Terminate();
  // Call every tick: reaps, checks the way it ended. True while it runs.
  bool Poll(int64_t now_us);
  // Waits for a terminating process to end (at most `timeout_ms`); false if it did not.
  bool AwaitStopped(int timeout_ms);

  bool running() const { return proc_ != nullptr && state_ != State::kStopped; }
  bool stopping() const { return state_ == State::kStopping; }
  testing::Subprocess* process() { return proc_.get(); }
  int starts() const { return starts_; }
  // Every incarnation's stderr path, oldest first.
  const std::vector<std::string>& stderr_paths() const { return stderr_paths_; }
  const std::vector<std::string>& problems() const { return problems_; }
  // Scans every incarnation's output for crash signatures; adds problems.
  void ScanLogs();

 private:
  enum class State { kStopped, kRunning, kStopping, kKilled };
  void Ended(const testing::ExitInfo& info);

  const std::string name_, binary_, log_dir_;
  Args args_;
  AfterStart after_start_;
  std::unique_ptr<testing::Subprocess> proc_;
  State state_ = State::kStopped;
  int64_t terminate_deadline_us_ = 0;
  int starts_ = 0;
  std::vector<std::string> stderr_paths_;
  std::vector<std::string> problems_;
};

}  // namespace healthtwin::chaos
