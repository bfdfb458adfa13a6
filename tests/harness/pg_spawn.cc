#include "tests/harness/pg_spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace healthtwin::testing::internal {

std::string ErrnoText(int error) {
  char buffer[256];
  return strerror_r(error, buffer, sizeof(buffer));  // the GNU variant
}

namespace {

enum ChildStage : int { kSetgroups, kSetgid, kSetuid, kChdir, kOpenDevNull, kOpenLog, kDup, kExec };
constexpr const char* kChildStageNames[] = {"setgroups",      "setgid",   "setuid", "chdir",
                                            "open /dev/null", "open log", "dup",    "exec"};
struct ChildFailure {
  int stage;
  int error;
};

// Runs in the forked child: only async-signal-safe calls from here on.
[[noreturn]] void ExecChild(char* const argv[], const PgUser& user, const char* cwd, const char* log_path,
                            int report_fd) {
  auto fail = [&report_fd](ChildStage stage) {
    ChildFailure failure{stage, errno};
    [[maybe_unused]] ssize_t n = ::write(report_fd, &failure, sizeof(failure));
    ::_exit(127);
  };
  if (report_fd < 3) {  // stdio was closed in the parent: keep clear of 0-2
    report_fd = ::fcntl(report_fd, F_DUPFD_CLOEXEC, 3);
    if (report_fd < 0) ::_exit(127);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);  // NOLINT(concurrency-mt-unsafe): the child has one thread
  if (user.drop_privileges) {
    if (::setgroups(1, &user.gid) != 0) fail(kSetgroups);
    if (::setgid(user.gid) != 0) fail(kSetgid);
    if (::setuid(user.uid) != 0) fail(kSetuid);
  }
  if (::chdir(cwd) != 0) fail(kChdir);
  int dev_null = ::open("/dev/null", O_RDONLY);
  if (dev_null < 0) fail(kOpenDevNull);
  int log = ::open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (log < 0) fail(kOpenLog);
  if (::dup2(dev_null, 0) < 0 || ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0) fail(kDup);
  // Keep only stdio and the report pipe, so that the server never inherits a
  // descriptor of the test process (a libpq socket, say).
  if (report_fd != 3) {
    if (::dup3(report_fd, 3, O_CLOEXEC) < 0) fail(kDup);
    report_fd = 3;
  }
  ::close_range(4, ~0U, 0);
  ::execv(argv[0], argv);
  fail(kExec);
  ::_exit(127);  // not reached: fail() exits
}

}  // namespace

absl::StatusOr<int> SpawnAs(const std::vector<std::string>& argv, const PgUser& run_as, const std::string& cwd,
                            const std::string& log_path) {
  std::vector<char*> c_argv;
  c_argv.reserve(argv.size() + 1);
  for (const std::string& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", ErrnoText(errno)));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    ::close(report[0]);
    ::close(report[1]);
    return absl::InternalError(absl::StrCat("fork: ", ErrnoText(error)));
  }
  if (pid == 0) {
    ExecChild(c_argv.data(), run_as, cwd.c_str(), log_path.c_str(), report[1]);
  }
  ::close(report[1]);
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(report[0], &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);

  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid: ", ErrnoText(errno)));
    }
  }
  if (n == sizeof(failure)) {
    return absl::InternalError(
        absl::StrCat("could not run ", argv[0], ": ", kChildStageNames[failure.stage], ": ", ErrnoText(failure.error)));
  }
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  return absl::InternalError(absl::StrCat(argv[0], " was killed by signal ", WTERMSIG(wait_status)));
}

}  // namespace healthtwin::testing::internal
