#include "tests/harness/pg_cluster.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/harness/pg_template_cache.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using internal::ErrnoText;

// The socket lives in a private directory, so the port only names the socket
// file and can be the same for every cluster.
constexpr int kPort = 5432;
constexpr int kLogTailLines = 25;
constexpr char kPgCtlTimeoutS[] = "60";
constexpr char kPostgresUser[] = "postgres";
constexpr char kCopyProgram[] = "/bin/cp";

// initdb's flags after -D; part of the template cache key.
const std::vector<std::string>& InitDbFlags() {
  static const auto* const kFlags =
      new std::vector<std::string>{"-A", "trust", "-U", kPostgresUser, "--no-sync", "-E", "UTF8", "--locale=C",
                                   // 1 MB WAL segments instead of 16: each test copies the data directory.
                                   "--wal-segsize=1"};
  return *kFlags;
}

std::string SocketFileName(int port) { return absl::StrCat(".s.PGSQL.", port); }

bool SocketPathFits(const std::string& dir) {
  // sun_path holds the path and its terminating NUL.
  return dir.size() + 1 + SocketFileName(kPort).size() < sizeof(sockaddr_un{}.sun_path);
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

bool HasPgBinaries(const std::string& dir) {
  return IsExecutableFile(dir + "/initdb") && IsExecutableFile(dir + "/pg_ctl");
}

// PATH first, so that a developer can point at another installation; then the
// Debian layout, newest major version first.
absl::StatusOr<std::string> FindPgBinDir() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing here calls setenv.
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view entry : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      std::string dir(entry);
      if (HasPgBinaries(dir)) return dir;
    }
  }
  std::optional<std::pair<double, std::string>> best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    double version = 0;
    if (!absl::SimpleAtod(entry.path().filename().string(), &version)) continue;
    std::string bin = (entry.path() / "bin").string();
    if (!HasPgBinaries(bin)) continue;
    if (!best || version > best->first) best.emplace(version, bin);
  }
  if (best) return best->second;
  return absl::NotFoundError(
      "PostgreSQL server binaries (initdb, pg_ctl) not found in PATH or "
      "/usr/lib/postgresql/*/bin; install the postgresql package");
}

// Reads the whole file; empty when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string LastLines(const std::string& text, int count) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  auto first = lines.end() - std::min<std::ptrdiff_t>(count, static_cast<std::ptrdiff_t>(lines.size()));
  return absl::StrJoin(first, lines.end(), "\n");
}

// libpq conninfo value: bare when possible, otherwise single-quoted.
std::string QuoteConnValue(std::string_view value) {
  bool needs_quotes = value.empty() || value.find_first_of(" \t\n\r'\\") != std::string_view::npos;
  if (!needs_quotes) return std::string(value);
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

// A string value in postgresql.conf.
std::string QuoteConfValue(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += c;  // '' and \\ stand for themselves
    quoted += c;
  }
  return quoted + "'";
}

absl::StatusOr<internal::PgUser> CurrentRunAs() {
  internal::PgUser run_as;
  if (::geteuid() != 0) return run_as;
  // PostgreSQL refuses to run as root.
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  int error = ::getpwnam_r(kPostgresUser, &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("running as root, but user '", kPostgresUser,
                                                      "' does not exist and PostgreSQL refuses to run as root",
                                                      error != 0 ? absl::StrCat(" (", ErrnoText(error), ")") : ""));
  }
  run_as.drop_privileges = true;
  run_as.uid = found->pw_uid;
  run_as.gid = found->pw_gid;
  return run_as;
}

// Creates (or checks) the cluster directory and hands it to the cluster's user.
absl::StatusOr<std::string> PrepareDirectory(const std::string& base_dir, const internal::PgUser& run_as) {
  std::string dir;
  if (base_dir.empty()) {
    std::vector<std::string> parents;
    // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing here calls setenv.
    if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') {
      parents.emplace_back(tmp);
    }
    parents.emplace_back("/tmp");
    for (std::string parent : parents) {
      while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
      std::string pattern = parent + "/healthtwin-pg-XXXXXX";
      if (!SocketPathFits(pattern)) continue;  // a long $TMPDIR: fall back to /tmp
      if (::mkdtemp(pattern.data()) == nullptr) {
        return absl::InternalError(absl::StrCat("mkdtemp(", pattern, "): ", ErrnoText(errno)));
      }
      dir = pattern;
      break;
    }
    if (dir.empty()) {
      return absl::InvalidArgumentError("no temporary directory short enough for a Unix socket");
    }
  } else {
    fs::path path = fs::absolute(base_dir).lexically_normal();
    if (!path.has_filename()) path = path.parent_path();
    dir = path.string();
    if (!SocketPathFits(dir)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster directory ", dir, " is too long to hold a Unix socket; use a shorter path"));
    }
    if (dir.find(',') != std::string::npos) {  // unix_socket_directories is a list
      return absl::InvalidArgumentError(absl::StrCat("cluster directory ", dir, " must not contain a comma"));
    }
    std::error_code ec;
    if (fs::exists(path, ec)) {
      if (!fs::is_directory(path, ec)) {
        return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
      }
      if (fs::exists(path / "data" / "PG_VERSION", ec)) {
        return absl::AlreadyExistsError(absl::StrCat(dir, " already holds a cluster"));
      }
      if (!fs::is_empty(path, ec)) {
        return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not empty"));
      }
    } else if (!fs::create_directories(path, ec)) {
      return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
    }
    if (::chmod(dir.c_str(), 0700) != 0) {
      return absl::InternalError(absl::StrCat("chmod ", dir, ": ", ErrnoText(errno)));
    }
  }
  if (run_as.drop_privileges && ::chown(dir.c_str(), run_as.uid, run_as.gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", dir, ": ", ErrnoText(errno)));
  }
  return dir;
}

struct PostmasterPid {
  pid_t pid = 0;
  int shmid = -1;  // -1 when the file does not name a segment
};

// postmaster.pid: line 1 is the PID, line 7 "<shm key> <shm id>".
absl::StatusOr<PostmasterPid> ReadPostmasterPid(const std::string& data_dir) {
  std::string path = data_dir + "/postmaster.pid";
  std::string text = ReadFileOrEmpty(path);
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  PostmasterPid result;
  int pid = 0;
  if (lines.empty() || !absl::SimpleAtoi(lines[0], &pid) || pid <= 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read a PID from ", path));
  }
  result.pid = pid;
  if (lines.size() > 6) {
    std::vector<absl::string_view> shm = absl::StrSplit(lines[6], ' ', absl::SkipWhitespace());
    int shmid = -1;
    if (shm.size() == 2 && absl::SimpleAtoi(shm[1], &shmid)) result.shmid = shmid;
  }
  return result;
}

// True once `pid` has exited. A zombie counts as gone: an orphaned postmaster
// is reparented to PID 1, which may be slow, or never, to reap it.
bool ProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
  size_t paren = stat.rfind(')');
  return stat.empty() || (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z');
}

// Processes still attached to the server's System V segment: the postmaster
// and every child it forked.
int ShmAttachCount(int shmid) {
  shmid_ds info{};
  if (::shmctl(shmid, IPC_STAT, &info) != 0) return 0;  // segment removed
  return static_cast<int>(info.shm_nattch);
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace

PgCluster::PgCluster(std::string dir, std::string bin_dir, internal::PgUser run_as, bool owned, bool keep)
    : dir_(std::move(dir)), bin_dir_(std::move(bin_dir)), run_as_(run_as), port_(kPort), owned_(owned), keep_(keep) {}

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::Start(const PgClusterOptions& options) {
  absl::StatusOr<std::string> bin_dir = FindPgBinDir();
  if (!bin_dir.ok()) return bin_dir.status();
  absl::StatusOr<internal::PgUser> run_as = CurrentRunAs();
  if (!run_as.ok()) return run_as.status();
  absl::StatusOr<std::string> dir = PrepareDirectory(options.base_dir, *run_as);
  if (!dir.ok()) return dir.status();

  // From here the object owns the directory, so a failure below cleans up.
  std::unique_ptr<PgCluster> cluster(
      new PgCluster(*std::move(dir), *std::move(bin_dir), *run_as, /*owned=*/true, options.keep));
  const bool use_cache = options.use_template_cache && !internal::TemplateCacheDisabledByEnv();
  absl::Status made;
  if (options.standby_of != nullptr) {
    made = cluster->BaseBackupFrom(*options.standby_of);
  } else {
    made = use_cache ? cluster->CopyTemplate(options) : cluster->InitDb();
  }
  if (!made.ok()) return made;
  if (absl::Status s = cluster->WriteConfig(options.extra_config); !s.ok()) return s;
  if (absl::Status s = cluster->StartServer(); !s.ok()) return s;
  return cluster;
}

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::Attach(std::string_view dir) {
  fs::path path = fs::absolute(fs::path(dir)).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();
  std::error_code ec;
  if (!fs::exists(path / "data" / "PG_VERSION", ec)) {
    return absl::NotFoundError(absl::StrCat("no cluster in ", path.string()));
  }
  absl::StatusOr<std::string> bin_dir = FindPgBinDir();
  if (!bin_dir.ok()) return bin_dir.status();
  absl::StatusOr<internal::PgUser> run_as = CurrentRunAs();
  if (!run_as.ok()) return run_as.status();

  std::unique_ptr<PgCluster> cluster(new PgCluster(path.string(), *std::move(bin_dir), *run_as,
                                                   /*owned=*/false, /*keep=*/true));
  // Exit code 0: running; 3: stopped.
  absl::StatusOr<int> status = cluster->RunPg("pg_ctl", {"status", "-D", cluster->data_dir()});
  if (!status.ok()) return status.status();
  cluster->running_ = *status == 0;
  cluster->ReadStandbySettings();
  return cluster;
}

PgCluster::~PgCluster() {
  if (!owned_) return;
  if (running_ && !keep_) {
    // The data is about to be deleted: skip the shutdown checkpoint, which writes and fsyncs
    // every dirty buffer (measured up to 2.7 s per test under load, for nothing).
    absl::StatusOr<int> code =
        RunPg("pg_ctl", {"stop", "-D", data_dir(), "-m", "immediate", "-w", "-t", kPgCtlTimeoutS, "-s"});
    if (code.ok() && *code == 0) running_ = false;
  }
  if (running_) {
    if (absl::Status s = Stop(); !s.ok()) {
      std::cerr << "PgCluster: " << s << "\n";
      // The directory is about to go; do not leave a server running on it.
      (void)RunPg("pg_ctl", {"stop", "-D", data_dir(), "-m", "immediate", "-w", "-s"});
    }
  }
  DropReplicationSlot();
  if (!keep_) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec) std::cerr << "PgCluster: cannot remove " << dir_ << ": " << ec.message() << "\n";
  }
}

std::string PgCluster::ConnInfo(std::string_view dbname) const {
  return absl::StrCat("host=", QuoteConnValue(dir_), " port=", port_, " dbname=", QuoteConnValue(dbname),
                      " user=", kPostgresUser);
}

absl::Status PgCluster::CreateDatabase(std::string_view name) { return CreateDatabase(name, "template0"); }

absl::Status PgCluster::CreateDatabase(std::string_view name_view, std::string_view template_db) {
  if (name_view.empty()) return absl::InvalidArgumentError("database name is empty");
  if (template_db.empty()) return absl::InvalidArgumentError("template database name is empty");
  const std::string name(name_view);
  try {
    pqxx::connection conn(ConnInfo());
    // CREATE DATABASE cannot run inside a transaction block. The template
    // takes no connections, so concurrent CreateDatabase calls do not collide.
    pqxx::nontransaction tx(conn);
    tx.exec(absl::StrCat("CREATE DATABASE ", conn.quote_name(name), " TEMPLATE ",
                         conn.quote_name(std::string(template_db)), " ENCODING 'UTF8'"));
    return absl::OkStatus();
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat("cannot connect to the cluster in ", dir_, ": ", e.what()));
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "42P04") {
      return absl::AlreadyExistsError(absl::StrCat("database ", name, " already exists"));
    }
    return absl::InternalError(absl::StrCat("CREATE DATABASE ", name, ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("CREATE DATABASE ", name, ": ", e.what()));
  }
}

absl::Status PgCluster::Stop() {
  if (!running_) return absl::OkStatus();
  absl::StatusOr<int> code =
      RunPg("pg_ctl", {"stop", "-D", data_dir(), "-m", "fast", "-w", "-t", kPgCtlTimeoutS, "-s"});
  if (!code.ok()) return code.status();
  if (*code != 0) {
    // Stopped behind our back (a crash, another process): that is fine.
    absl::StatusOr<int> status = RunPg("pg_ctl", {"status", "-D", data_dir()});
    if (!status.ok() || *status != 3) {
      return ErrorWithLog(absl::StatusCode::kInternal, absl::StrCat("pg_ctl stop failed with exit code ", *code));
    }
  }
  running_ = false;
  return absl::OkStatus();
}

absl::Status PgCluster::Restart() {
  if (absl::Status s = Stop(); !s.ok()) return s;
  return StartServer();
}

absl::Status PgCluster::Kill9() {
  if (!running_) return absl::FailedPreconditionError("server is not running");
  absl::StatusOr<PostmasterPid> postmaster = ReadPostmasterPid(data_dir());
  if (!postmaster.ok()) return postmaster.status();
  if (::kill(postmaster->pid, SIGKILL) != 0 && errno != ESRCH) {
    return absl::InternalError(absl::StrCat("kill(", postmaster->pid, ", SIGKILL): ", ErrnoText(errno)));
  }
  running_ = false;
  if (!WaitUntil([&] { return ProcessGone(postmaster->pid); }, std::chrono::seconds(30))) {
    return absl::DeadlineExceededError(absl::StrCat("postmaster ", postmaster->pid, " survived SIGKILL"));
  }
  // The children notice the postmaster's death and exit on their own; a new
  // postmaster refuses to start while any of them is still attached.
  if (postmaster->shmid >= 0 &&
      !WaitUntil([&] { return ShmAttachCount(postmaster->shmid) == 0; }, std::chrono::seconds(60))) {
    return absl::DeadlineExceededError("children of the killed postmaster are still running after 60 s");
  }
  // Everything is gone now, so the lock files are stale. Remove them: if the
  // postmaster is an unreaped zombie, the new server would still see its PID
  // as alive and refuse to start.
  std::error_code ec;
  fs::remove(fs::path(data_dir()) / "postmaster.pid", ec);
  fs::remove(fs::path(dir_) / absl::StrCat(SocketFileName(port_), ".lock"), ec);
  return absl::OkStatus();
}

absl::Status PgCluster::Destroy() {
  if (absl::Status s = Stop(); !s.ok()) return s;
  DropReplicationSlot();
  owned_ = false;
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot remove ", dir_, ": ", ec.message()));
  return absl::OkStatus();
}

void PgCluster::Detach() { owned_ = false; }

absl::Status PgCluster::InitDb() {
  // The usual cause of failure when we run as root.
  std::string hint = run_as_.drop_privileges ? absl::StrCat(" (initdb runs as user ", kPostgresUser,
                                                            ", who must be able to reach ", dir_, ")")
                                             : "";
  std::vector<std::string> args = {"-D", data_dir()};
  args.insert(args.end(), InitDbFlags().begin(), InitDbFlags().end());
  absl::StatusOr<int> code = RunPg("initdb", args);
  if (!code.ok()) {
    return absl::Status(code.status().code(), absl::StrCat(code.status().message(), hint));
  }
  if (*code != 0) {
    return ErrorWithLog(absl::StatusCode::kInternal, absl::StrCat("initdb failed with exit code ", *code, hint));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PgCluster::EnsureTemplates(const PgClusterOptions& options) {
  if (options.template_key.empty() != !options.prepare_template) {
    return absl::InvalidArgumentError("PgClusterOptions: template_key and prepare_template go together");
  }
  absl::StatusOr<std::string> version = internal::PostgresVersion(bin_dir_, run_as_, dir_);
  if (!version.ok()) return version.status();
  std::vector<std::string> key = {absl::StrCat("format ", internal::kTemplateFormat), "bin " + bin_dir_,
                                  "version " + *version, "initdb " + absl::StrJoin(InitDbFlags(), " ")};
  const std::string initdb_dir = internal::TemplateCacheDir(options.template_cache_dir, key);
  absl::Status plain = internal::EnsureTemplate(initdb_dir, run_as_, [this](const std::string& staging) {
    std::vector<std::string> argv = {bin_dir_ + "/initdb", "-D", staging + "/data"};
    argv.insert(argv.end(), InitDbFlags().begin(), InitDbFlags().end());
    absl::StatusOr<int> code = internal::SpawnAs(argv, run_as_, staging, staging + "/initdb.log");
    if (!code.ok()) return code.status();
    if (*code != 0) {
      return absl::InternalError(absl::StrCat("initdb failed with exit code ", *code, "; see ", staging,
                                              "/initdb.log (removed) or run with ", internal::kNoTemplateEnv, "=1"));
    }
    return absl::OkStatus();
  });
  if (!plain.ok()) return plain;
  if (options.template_key.empty() && !options.prepare_template) return initdb_dir;

  key.push_back("prepared " + options.template_key);
  const std::string prepared_dir = internal::TemplateCacheDir(options.template_cache_dir, key);
  absl::Status prepared = internal::EnsureTemplate(prepared_dir, run_as_, [&](const std::string& staging) {
    PgClusterOptions base;
    base.base_dir = staging;
    base.keep = true;  // the staging directory becomes the template
    base.template_cache_dir = options.template_cache_dir;
    absl::StatusOr<std::unique_ptr<PgCluster>> builder = Start(base);
    if (!builder.ok()) return builder.status();
    if (absl::Status s = options.prepare_template(**builder); !s.ok()) return s;
    if (absl::Status s = (*builder)->Stop(); !s.ok()) return s;  // a clean shutdown: a consistent copy
    // The socket settings WriteConfig appended name the staging directory: put back initdb's
    // file, so that every copy appends its own to the original, as a plain copy does.
    std::ifstream original(initdb_dir + "/data/postgresql.conf", std::ios::binary);
    std::ofstream conf(staging + "/data/postgresql.conf", std::ios::binary | std::ios::trunc);
    conf << original.rdbuf();
    conf.close();
    if (!original || !conf)
      return absl::InternalError(absl::StrCat("cannot restore ", staging, "/data/postgresql.conf"));
    return absl::OkStatus();
  });
  if (!prepared.ok()) return prepared;
  return prepared_dir;
}

absl::Status PgCluster::CopyTemplate(const PgClusterOptions& options) {
  absl::StatusOr<std::string> template_dir = EnsureTemplates(options);
  if (!template_dir.ok()) return template_dir.status();
  // As the cluster's user, so that the copy is theirs with the template's modes (0700).
  absl::StatusOr<int> code = internal::SpawnAs(
      {kCopyProgram, "-a", "--reflink=auto", *template_dir + "/data", data_dir()}, run_as_, dir_, log_path());
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return ErrorWithLog(absl::StatusCode::kInternal,
                        absl::StrCat("copying the template ", *template_dir, " failed with exit code ", *code));
  }
  return absl::OkStatus();
}

absl::Status PgCluster::WriteConfig(const std::vector<std::string>& extra_config) {
  // Later settings win, so appending overrides what initdb wrote. Appending
  // also keeps the file's owner.
  std::string path = data_dir() + "/postgresql.conf";
  std::ofstream conf(path, std::ios::app);
  conf << "\n# Added by healthtwin::testing::PgCluster: Unix socket only.\n"
       << "listen_addresses = ''\n"
       << "unix_socket_directories = " << QuoteConfValue(dir_) << "\n"
       << "port = " << port_ << "\n"
       << "fsync = on\n"
       << "synchronous_commit = on\n"
       << "max_connections = 200\n"
       << "shared_buffers = 128MB\n";
  for (const std::string& line : extra_config) conf << line << "\n";
  conf.close();
  if (!conf) return absl::InternalError(absl::StrCat("cannot append to ", path));
  return absl::OkStatus();
}

absl::Status PgCluster::StartServer() {
  absl::StatusOr<int> code =
      RunPg("pg_ctl", {"start", "-D", data_dir(), "-l", log_path(), "-w", "-t", kPgCtlTimeoutS, "-s"});
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return ErrorWithLog(absl::StatusCode::kInternal, absl::StrCat("pg_ctl start failed with exit code ", *code));
  }
  running_ = true;
  return absl::OkStatus();
}

absl::StatusOr<int> PgCluster::RunPg(const std::string& program, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {bin_dir_ + "/" + program};
  argv.insert(argv.end(), args.begin(), args.end());
  return internal::SpawnAs(argv, run_as_, dir_, log_path());
}

absl::Status PgCluster::ErrorWithLog(absl::StatusCode code, absl::string_view message) const {
  return absl::Status(code, absl::StrCat(message, "; last lines of ", log_path(), ":\n",
                                         LastLines(ReadFileOrEmpty(log_path()), kLogTailLines)));
}

}  // namespace healthtwin::testing
