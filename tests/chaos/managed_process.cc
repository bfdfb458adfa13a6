#include "tests/chaos/managed_process.h"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"

namespace healthtwin::chaos {
namespace {

// What a crash leaves in the output of our binaries.
constexpr const char* kCrashSignatures[] = {"terminate called", "std::terminate", "AddressSanitizer", "LeakSanitizer",
                                            "runtime error:"};
constexpr int64_t kDrainLimitUs = 30'000'000;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ManagedProcess::ManagedProcess(std::string name, std::string binary, Args args, std::string log_dir,
                               AfterStart after_start)
    : name_(std::move(name)),
      binary_(std::move(binary)),
      log_dir_(std::move(log_dir)),
      args_(std::move(args)),
      after_start_(std::move(after_start)) {}

absl::Status ManagedProcess::Start() {
  ++starts_;
  testing::SubprocessOptions options;
  options.stdout_path = absl::StrCat(log_dir_, "/", name_, ".", starts_, ".out");
  options.stderr_path = absl::StrCat(log_dir_, "/", name_, ".", starts_, ".err");
  stderr_paths_.push_back(options.stderr_path);
  auto proc = testing::Subprocess::Spawn(binary_, args_(), options);
  if (!proc.ok()) return proc.status();
  proc_ = *std::move(proc);
  state_ = State::kRunning;
  if (after_start_) {
    if (absl::Status s = after_start_(*proc_); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(name_, " start ", starts_, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ManagedProcess::Kill9() {
  if (!proc_ || state_ != State::kRunning) return absl::FailedPreconditionError(name_ + " is not running");
  Poll(NowUs());  // it may have died by itself just now: that is a problem, not our kill
  if (state_ != State::kRunning) return absl::FailedPreconditionError(name_ + " ended by itself");
  if (absl::Status s = proc_->Signal(SIGKILL); !s.ok()) return s;
  auto info = proc_->Wait(std::chrono::seconds(10));
  if (!info.ok()) return info.status();
  state_ = State::kKilled;
  if (info->exited || info->signal != SIGKILL) {
    problems_.push_back(absl::StrCat(name_, " start ", starts_, " ended before our SIGKILL: ", info->ToString()));
  }
  state_ = State::kStopped;
  return absl::OkStatus();
}

absl::Status ManagedProcess::Terminate() {
  if (!proc_ || state_ != State::kRunning) return absl::FailedPreconditionError(name_ + " is not running");
  if (absl::Status s = proc_->Signal(SIGTERM); !s.ok()) return s;
  state_ = State::kStopping;
  terminate_deadline_us_ = NowUs() + kDrainLimitUs;
  return absl::OkStatus();
}

void ManagedProcess::Ended(const testing::ExitInfo& info) {
  if (state_ == State::kRunning) {
    problems_.push_back(absl::StrCat(name_, " start ", starts_, " ended by itself: ", info.ToString()));
  } else if (state_ == State::kStopping && !(info.exited && info.code == 0)) {
    problems_.push_back(absl::StrCat(name_, " start ", starts_, " after SIGTERM: ", info.ToString()));
  }
  state_ = State::kStopped;
}

bool ManagedProcess::Poll(int64_t now_us) {
  if (!proc_ || state_ == State::kStopped) return false;
  if (!proc_->Running()) {
    Ended(*proc_->exit_info());
    return false;
  }
  if (state_ == State::kStopping && now_us > terminate_deadline_us_) {
    problems_.push_back(absl::StrCat(name_, " start ", starts_, " still running 30 s after SIGTERM; killed"));
    (void)proc_->Signal(SIGKILL);
    (void)proc_->Wait(std::chrono::seconds(10));
    state_ = State::kStopped;
    return false;
  }
  return true;
}

bool ManagedProcess::AwaitStopped(int timeout_ms) {
  const int64_t until = NowUs() + static_cast<int64_t>(timeout_ms) * 1000;
  while (Poll(NowUs())) {
    if (NowUs() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void ManagedProcess::ScanLogs() {
  for (const std::string& path : stderr_paths_) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      for (const char* sig : kCrashSignatures) {
        if (line.find(sig) != std::string::npos) {
          problems_.push_back(absl::StrCat(name_, ": ", path, ": ", line.substr(0, 300)));
          break;
        }
      }
    }
  }
}

}  // namespace healthtwin::chaos
