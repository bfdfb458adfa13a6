#include "tests/harness/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace healthtwin::testing {
namespace {

// Owns the posix_spawn attribute objects so that every early return frees them.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  posix_spawn_file_actions_t* actions() { return &actions_; }
  posix_spawnattr_t* attr() { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

// The test's environment with `extra` ("NAME=value") added or replacing same-named entries.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> by_name;
  std::vector<std::string> order;
  auto add = [&](const std::string& entry) {
    const std::string name = entry.substr(0, entry.find('='));
    if (!by_name.contains(name)) order.push_back(name);
    by_name[name] = entry;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) add(*e);
  for (const std::string& entry : extra) add(entry);
  std::vector<std::string> merged;
  merged.reserve(order.size());
  for (const std::string& name : order) merged.push_back(by_name[name]);
  return merged;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ExitInfo::ToString() const {
  if (exited) return absl::StrCat("exit code ", code);
  return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Spawn(const std::string& binary,
                                                              const std::vector<std::string>& args,
                                                              SubprocessOptions options) {
  if (::access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot execute '", binary, "': ", std::strerror(errno)));
  }
  std::unique_ptr<Subprocess> child(new Subprocess());
  if (options.stdout_path.empty() || options.stderr_path.empty()) {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp", "/ht-proc.XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp(", pattern, "): ", std::strerror(errno)));
    }
    child->private_dir_ = pattern;
  }
  child->stdout_path_ = options.stdout_path.empty() ? child->private_dir_ + "/stdout" : options.stdout_path;
  child->stderr_path_ = options.stderr_path.empty() ? child->private_dir_ + "/stderr" : options.stderr_path;

  SpawnSetup setup;
  constexpr int kOutFlags = O_WRONLY | O_CREAT | O_TRUNC;
  if (posix_spawn_file_actions_addopen(setup.actions(), STDIN_FILENO, "/dev/null", O_RDONLY, 0) != 0 ||
      posix_spawn_file_actions_addopen(setup.actions(), STDOUT_FILENO, child->stdout_path_.c_str(), kOutFlags, 0644) !=
          0 ||
      posix_spawn_file_actions_addopen(setup.actions(), STDERR_FILENO, child->stderr_path_.c_str(), kOutFlags, 0644) !=
          0 ||
      // gtest, libpq and gRPC may hold descriptors without O_CLOEXEC; the child gets none.
      posix_spawn_file_actions_addclosefrom_np(setup.actions(), STDERR_FILENO + 1) != 0) {
    return absl::InternalError("posix_spawn_file_actions setup failed");
  }
  // The test process may block or ignore signals (ctest, gRPC threads); the child must
  // react to SIGTERM exactly as it would when started from a shell or a supervisor.
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  if (posix_spawnattr_setsigmask(setup.attr(), &empty) != 0 || posix_spawnattr_setsigdefault(setup.attr(), &all) != 0 ||
      posix_spawnattr_setflags(setup.attr(), POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0) {
    return absl::InternalError("posix_spawnattr setup failed");
  }

  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = MergedEnvironment(options.extra_env);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);

  pid_t pid = -1;
  const int error = posix_spawn(&pid, binary.c_str(), setup.actions(), setup.attr(), argv.data(), envp.data());
  if (error != 0) {
    return absl::InternalError(absl::StrCat("posix_spawn(", binary, "): ", std::strerror(error)));
  }
  child->pid_ = pid;
  return child;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exit_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (!private_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(private_dir_, ec);
  }
}

absl::Status Subprocess::Signal(int sig) {
  if (exit_) return absl::FailedPreconditionError(absl::StrCat("pid ", pid_, " already ended: ", exit_->ToString()));
  if (::kill(pid_, sig) != 0) return absl::InternalError(absl::StrCat("kill(", pid_, "): ", std::strerror(errno)));
  return absl::OkStatus();
}

bool Subprocess::TryReap() {
  if (exit_) return true;
  int status = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  ExitInfo info;
  if (WIFEXITED(status)) {
    info.exited = true;
    info.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
  }
  exit_ = info;
  return true;
}

absl::StatusOr<ExitInfo> Subprocess::Wait(std::chrono::milliseconds timeout) {
  if (!PollUntil([&] { return TryReap(); }, timeout)) {
    return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still running after ", timeout.count(), " ms"));
  }
  return *exit_;
}

bool Subprocess::Running() { return !TryReap(); }

std::string Subprocess::Stdout() const { return ReadFileOrEmpty(stdout_path_); }
std::string Subprocess::Stderr() const { return ReadFileOrEmpty(stderr_path_); }

bool PollUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace healthtwin::testing
