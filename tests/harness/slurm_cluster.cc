#include "tests/harness/slurm_cluster.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/harness/slurm_config.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// The longest cluster directory: slurmd's step sockets (spool/d/localhost_<job>.<step>) and
// munged's socket must stay under the 108-byte limit of a Unix socket path.
constexpr size_t kMaxDirLength = 60;
constexpr int kPortAttempts = 4;
constexpr milliseconds kDaemonForkTimeout{10000};
constexpr milliseconds kStopGrace{10000};

}  // namespace

bool ProcessRunning(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  const size_t close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

namespace {

bool WaitGone(pid_t pid, milliseconds timeout) {
  return PollUntil([pid] { return !ProcessRunning(pid); }, timeout);
}

std::string Tail(const std::string& path, int lines) {
  std::string text = ReadFileOrEmpty(path);
  std::vector<std::string> all = absl::StrSplit(text, '\n', absl::SkipEmpty());
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size(); ++i) {
    absl::StrAppend(&out, all[i], "\n");
  }
  return out;
}

absl::Status MakeLayout(const std::string& dir) {
  std::error_code ec;
  for (const char* sub : {"etc", "spool/ctld", "spool/d", "log", "run", "munge"}) {
    fs::create_directories(fs::path(dir) / sub, ec);
    if (ec) return absl::InternalError(absl::StrCat("mkdir ", dir, "/", sub, ": ", ec.message()));
  }
  // munged refuses a socket directory that others cannot enter (o+x) or may write to.
  for (const std::string& d : {dir, dir + "/munge"}) {
    if (::chmod(d.c_str(), 0755) != 0) return absl::InternalError(absl::StrCat("chmod ", d, ": ", strerror(errno)));
  }
  std::ofstream(dir + "/etc/plugstack.conf").flush();
  return absl::OkStatus();
}

absl::StatusOr<std::string> MakeDir(const std::string& base_dir) {
  if (base_dir.empty()) {
    std::string pattern = "/tmp/hts-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
    return pattern;
  }
  std::string dir = fs::absolute(base_dir).lexically_normal().string();
  if (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.size() > kMaxDirLength) {
    return absl::InvalidArgumentError(absl::StrCat("cluster directory '", dir, "' is ", dir.size(), " bytes; at most ",
                                                   kMaxDirLength, " fit the Unix socket paths under it"));
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat("cluster directory '", dir, "' is not empty"));
  }
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", ec.message()));
  return dir;
}

}  // namespace

SlurmCluster::SlurmCluster(std::string dir, int port, bool owned, bool keep)
    : dir_(std::move(dir)), port_(port), owned_(owned), keep_(keep) {}

absl::StatusOr<std::unique_ptr<SlurmCluster>> SlurmCluster::Start(const SlurmClusterOptions& options) {
  for (const char* program : {"munged", "mungekey", "slurmctld", "slurmd", "sinfo", "squeue", "scancel"}) {
    if (absl::StatusOr<std::string> found = slurm::FindProgram(program); !found.ok()) return found.status();
  }
  absl::StatusOr<std::string> dir = MakeDir(options.base_dir);
  if (!dir.ok()) return dir.status();
  // Owned from here on, so that a failure below stops whatever started and removes the directory.
  std::unique_ptr<SlurmCluster> cluster(new SlurmCluster(*dir, 0, true, options.keep));
  if (absl::Status s = MakeLayout(*dir); !s.ok()) return s;

  const std::string key = *dir + "/munge/munge.key";
  absl::Status s = cluster->StartDaemon(*slurm::FindProgram("mungekey"), {"-c", "-k", key}, "mungekey");
  if (!s.ok()) return s;
  s = cluster->StartDaemon(
      *slurm::FindProgram("munged"),
      {"--key-file=" + key, "--socket=" + *dir + "/munge/munge.sock", "--pid-file=" + *dir + "/run/munged.pid",
       "--log-file=" + *dir + "/log/munged.log", "--seed-file=" + *dir + "/munge/munge.seed"},
      "munged");
  if (!s.ok()) return s;

  for (int attempt = 1; attempt <= kPortAttempts; ++attempt) {
    absl::StatusOr<int> port = slurm::PickControllerPort();
    if (!port.ok()) return port.status();
    s = cluster->StartDaemons(*port, options.ready_timeout);
    if (s.ok()) return cluster;
    if (!absl::IsUnavailable(s) || attempt == kPortAttempts) return s;
    // Someone took the port between the choice and the bind: clean up and try others.
    (void)cluster->StopDaemon("slurmd");
    (void)cluster->StopDaemon("slurmctld");
    std::error_code ec;
    for (const char* spool : {"/spool/ctld", "/spool/d"}) {
      fs::remove_all(*dir + spool, ec);
      fs::create_directories(*dir + spool, ec);
    }
  }
  return s;
}

absl::Status SlurmCluster::StartDaemons(int port, milliseconds ready_timeout) {
  port_ = port;
  {
    std::ofstream conf(conf_path(), std::ios::trunc);
    conf << slurm::ConfText({.dir = dir_,
                             .port = port,
                             .user = slurm::CurrentUser(),
                             .cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))});
    if (!conf.flush()) return absl::InternalError(absl::StrCat("cannot write ", conf_path()));
  }
  absl::Status s = StartDaemon(*slurm::FindProgram("slurmctld"), {"-f", conf_path()}, "slurmctld");
  if (s.ok()) s = StartDaemon(*slurm::FindProgram("slurmd"), {"-f", conf_path(), "-N", "localhost"}, "slurmd");
  if (!s.ok()) return s;

  std::string state;
  const bool idle = PollUntil(
      [&] {
        if (!ProcessRunning(DaemonPid("slurmctld")) || !ProcessRunning(DaemonPid("slurmd"))) return true;
        absl::StatusOr<std::string> st = NodeState();
        state = st.ok() ? *st : st.status().ToString();
        return state == "idle";
      },
      ready_timeout);
  for (const char* daemon : {"slurmctld", "slurmd"}) {
    if (ProcessRunning(DaemonPid(daemon))) continue;
    const std::string log = absl::StrCat(dir_, "/log/", daemon, ".log");
    // The daemons fork before they bind, so a taken port shows only as a dead daemon.
    const absl::StatusCode code = absl::StrContains(ReadFileOrEmpty(log), "Address already in use")
                                      ? absl::StatusCode::kUnavailable
                                      : absl::StatusCode::kInternal;
    return ErrorWithLog(code, absl::StrCat(daemon, " exited after starting on port ", port), log);
  }
  if (!idle) {
    return ErrorWithLog(absl::StatusCode::kDeadlineExceeded,
                        absl::StrCat("node not idle after ", ready_timeout.count(), " ms (last: ", state, ")"),
                        dir_ + "/log/slurmd.log");
  }
  return absl::OkStatus();
}

absl::Status SlurmCluster::StartDaemon(const std::string& program, const std::vector<std::string>& args,
                                       const std::string& name) {
  const std::string out = absl::StrCat(dir_, "/log/", name, ".out");
  SubprocessOptions options;
  options.stdout_path = out;
  options.stderr_path = out;
  options.extra_env = Env();
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Spawn(program, args, options);
  if (!child.ok()) return child.status();
  // Each daemon forks into the background and its first process exits.
  absl::StatusOr<ExitInfo> exit = (*child)->Wait(kDaemonForkTimeout);
  if (!exit.ok()) return ErrorWithLog(absl::StatusCode::kInternal, absl::StrCat(name, " did not fork in time"), out);
  if (!exit->exited || exit->code != 0) {
    return ErrorWithLog(absl::StatusCode::kInternal, absl::StrCat(name, " failed: ", exit->ToString()), out);
  }
  if (name == "mungekey") return absl::OkStatus();
  if (!PollUntil([&] { return DaemonPid(name) > 0; }, kDaemonForkTimeout)) {
    return ErrorWithLog(absl::StatusCode::kInternal, absl::StrCat(name, " wrote no pid file"),
                        absl::StrCat(dir_, "/log/", name, ".log"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SlurmCluster>> SlurmCluster::Attach(absl::string_view dir_in) {
  const std::string dir(dir_in);
  const std::string conf = ReadFileOrEmpty(dir + "/etc/slurm.conf");
  int port = 0;
  for (absl::string_view line : absl::StrSplit(conf, '\n')) {
    if (absl::ConsumePrefix(&line, "SlurmctldPort=") && absl::SimpleAtoi(line, &port)) break;
  }
  if (port == 0) return absl::NotFoundError(absl::StrCat("no Slurm cluster in '", dir, "' (no etc/slurm.conf)"));
  return std::unique_ptr<SlurmCluster>(new SlurmCluster(dir, port, false, true));
}

SlurmCluster::~SlurmCluster() {
  if (!owned_) return;
  absl::Status s = keep_ ? Stop() : Destroy();
  if (!s.ok()) std::cerr << "SlurmCluster " << dir_ << ": " << s << "\n";
}

absl::StatusOr<ClientResult> SlurmCluster::Client(const std::string& program, const std::vector<std::string>& args,
                                                  milliseconds timeout) const {
  absl::StatusOr<std::string> path = slurm::FindProgram(program);
  if (!path.ok()) return path.status();
  SubprocessOptions options;
  options.extra_env = Env();
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Spawn(*path, args, options);
  if (!child.ok()) return child.status();
  absl::StatusOr<ExitInfo> exit = (*child)->Wait(timeout);
  if (!exit.ok()) {
    return absl::DeadlineExceededError(absl::StrCat(program, " did not finish in ", timeout.count(), " ms"));
  }
  return ClientResult{
      .exit_code = exit->exited ? exit->code : -1, .out = (*child)->Stdout(), .err = (*child)->Stderr()};
}

absl::StatusOr<std::string> SlurmCluster::NodeState() const {
  absl::StatusOr<ClientResult> r = Client("sinfo", {"-h", "-n", "localhost", "-o", "%T"}, milliseconds(5000));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return absl::UnavailableError(absl::StrCat("sinfo: ", r->err));
  return std::string(absl::StripAsciiWhitespace(r->out));
}

absl::StatusOr<std::vector<std::string>> SlurmCluster::ActiveJobs() const {
  absl::StatusOr<ClientResult> r = Client("squeue", {"-h", "-o", "%i"}, milliseconds(10000));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return absl::UnavailableError(absl::StrCat("squeue: ", r->err));
  return std::vector<std::string>(absl::StrSplit(r->out, '\n', absl::SkipWhitespace()));
}

absl::Status SlurmCluster::CancelAllJobs(milliseconds timeout) {
  absl::StatusOr<std::vector<std::string>> jobs = ActiveJobs();
  if (!jobs.ok()) return jobs.status();
  if (jobs->empty()) return absl::OkStatus();
  absl::StatusOr<ClientResult> r = Client("scancel", {"--user=" + slurm::CurrentUser()});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return absl::InternalError(absl::StrCat("scancel: ", r->err));
  return WaitForNoActiveJobs(timeout);
}

absl::Status SlurmCluster::WaitForNoActiveJobs(milliseconds timeout) const {
  absl::StatusOr<std::vector<std::string>> jobs;
  if (!PollUntil(
          [&] {
            jobs = ActiveJobs();
            return jobs.ok() && jobs->empty();
          },
          timeout)) {
    return absl::DeadlineExceededError(absl::StrCat("jobs still active after ", timeout.count(), " ms: ",
                                                    jobs.ok() ? absl::StrJoin(*jobs, " ") : jobs.status().ToString()));
  }
  return absl::OkStatus();
}

absl::Status SlurmCluster::Stop() {
  absl::Status first = absl::OkStatus();
  if (ProcessRunning(DaemonPid("slurmctld")) && ProcessRunning(DaemonPid("slurmd"))) first = CancelAllJobs();
  for (const char* daemon : {"slurmd", "slurmctld", "munged"}) {
    absl::Status s = StopDaemon(daemon);
    if (first.ok()) first = s;
  }
  return first;
}

absl::Status SlurmCluster::StopDaemon(const std::string& name) {
  const pid_t pid = DaemonPid(name);
  if (!ProcessRunning(pid)) return absl::OkStatus();
  ::kill(pid, SIGTERM);
  if (WaitGone(pid, kStopGrace)) return absl::OkStatus();
  ::kill(pid, SIGKILL);
  if (WaitGone(pid, milliseconds(3000))) {
    return absl::InternalError(absl::StrCat(name, " (pid ", pid, ") ignored SIGTERM and was killed"));
  }
  return absl::InternalError(absl::StrCat(name, " (pid ", pid, ") survived SIGKILL"));
}

absl::Status SlurmCluster::Destroy() {
  absl::Status s = Stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec && s.ok()) s = absl::InternalError(absl::StrCat("remove ", dir_, ": ", ec.message()));
  owned_ = false;
  return s;
}

pid_t SlurmCluster::DaemonPid(absl::string_view daemon) const {
  int pid = -1;
  std::string text = ReadFileOrEmpty(absl::StrCat(dir_, "/run/", daemon, ".pid"));
  return absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) ? pid : -1;
}

absl::Status SlurmCluster::ErrorWithLog(absl::StatusCode code, absl::string_view message, absl::string_view log) const {
  return absl::Status(code, absl::StrCat(message, "; ", log, " ends:\n", Tail(std::string(log), 15)));
}

}  // namespace healthtwin::testing
