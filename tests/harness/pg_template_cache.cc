#include "tests/harness/pg_template_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/db/migrator.h"

namespace healthtwin::testing::internal {
namespace {

namespace fs = std::filesystem;

// Hex digits of the key's SHA-256 in the directory name: 64 bits make an accidental clash of
// two keys on one machine negligible and keep the socket path of a staging cluster short.
constexpr size_t kKeyHexDigits = 16;

// A template nobody has copied for this long is removed when another is built.
constexpr auto kUnusedFor = std::chrono::hours(24 * 7);

std::string DefaultParent() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing here calls setenv.
  const char* tmp = std::getenv("TMPDIR");
  std::string parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  return parent;
}

// Moves a damaged template out of the way (atomically, so a concurrent caller never sees half
// of it) and deletes it. Another process may have done so already.
void DiscardDamaged(const std::string& cache_dir) {
  std::string aside = cache_dir + ".damaged-XXXXXX";
  if (::mkdtemp(aside.data()) == nullptr) return;
  std::error_code ec;
  // Renaming a directory onto an empty one replaces it.
  if (::rename(cache_dir.c_str(), aside.c_str()) != 0) {
    fs::remove(aside, ec);
    return;
  }
  fs::remove_all(aside, ec);
}

// Marks `dir` as used now (its mtime), so RemoveUnusedTemplates keeps it. Best effort.
void MarkUsed(const std::string& dir) { ::utimensat(AT_FDCWD, dir.c_str(), nullptr, 0); }

// Removes the templates of other keys (older PostgreSQL, other migrations, earlier months) and
// staging leftovers of crashed builds that nobody has used for kUnusedFor, beside `keep`.
// Best effort; a template unused that long is not being copied either (the window of a race
// with a first use after a week is a few milliseconds, and that use then rebuilds it).
void RemoveUnusedTemplates(const std::string& keep) {
  const fs::path parent = fs::path(keep).parent_path();
  const std::string prefix = absl::StrCat("healthtwin-pg-template-", ::geteuid(), "-");
  const auto now = fs::file_time_type::clock::now();
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || e.path() == fs::path(keep)) continue;
    std::error_code time_ec;
    const auto modified = e.last_write_time(time_ec);
    if (time_ec || now - modified < kUnusedFor) continue;
    std::error_code remove_ec;
    fs::remove_all(e.path(), remove_ec);
  }
}

}  // namespace

bool TemplateCacheDisabledByEnv() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing here calls setenv.
  const char* value = std::getenv(kNoTemplateEnv);
  return value != nullptr && *value != '\0' && std::string(value) != "0";
}

std::string TemplateCacheDir(const std::string& parent, const std::vector<std::string>& key_parts) {
  std::string base = parent.empty() ? DefaultParent() : parent;
  // The key parts are joined with a byte none of them contains, so the split is unambiguous.
  // MigrationChecksum is the project's SHA-256 (hex); nothing else about migrations is used.
  const std::string hash = common::MigrationChecksum(absl::StrJoin(key_parts, std::string(1, '\0')));
  return absl::StrCat(base, "/healthtwin-pg-template-", ::geteuid(), "-", hash.substr(0, kKeyHexDigits));
}

bool TemplateUsable(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / "data" / "PG_VERSION", ec) &&
         fs::is_regular_file(fs::path(dir) / "data" / "global" / "pg_control", ec);
}

absl::Status EnsureTemplate(const std::string& cache_dir, const PgUser& run_as,
                            const std::function<absl::Status(const std::string& staging)>& build) {
  if (TemplateUsable(cache_dir)) {
    MarkUsed(cache_dir);
    return absl::OkStatus();
  }
  std::error_code ec;
  if (fs::exists(cache_dir, ec)) DiscardDamaged(cache_dir);

  std::string staging = cache_dir + ".staging-XXXXXX";
  if (::mkdtemp(staging.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp(", staging, "): ", ErrnoText(errno)));
  }
  auto discard = [&staging] {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
  };
  if (run_as.drop_privileges && ::chown(staging.c_str(), run_as.uid, run_as.gid) != 0) {
    int error = errno;
    discard();
    return absl::InternalError(absl::StrCat("chown ", staging, ": ", ErrnoText(error)));
  }
  if (absl::Status built = build(staging); !built.ok()) {
    discard();
    return absl::Status(built.code(),
                        absl::StrCat("building the data directory template ", cache_dir, " failed: ", built.message()));
  }
  if (!TemplateUsable(staging)) {
    discard();
    return absl::InternalError(absl::StrCat("building the template in ", staging, " left no complete data directory"));
  }
  if (::rename(staging.c_str(), cache_dir.c_str()) != 0) {
    int error = errno;
    discard();
    // Another process published the same template first: use theirs.
    if ((error == ENOTEMPTY || error == EEXIST) && TemplateUsable(cache_dir)) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("rename ", staging, " to ", cache_dir, ": ", ErrnoText(error)));
  }
  RemoveUnusedTemplates(cache_dir);
  return absl::OkStatus();
}

absl::StatusOr<std::string> PostgresVersion(const std::string& bin_dir, const PgUser& run_as,
                                            const std::string& scratch_dir) {
  static std::mutex mutex;
  static auto* const known = new std::map<std::string, std::string>();
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = known->find(bin_dir); it != known->end()) return it->second;

  const std::string out = scratch_dir + "/postgres-version.txt";
  absl::StatusOr<int> code = SpawnAs({bin_dir + "/postgres", "--version"}, run_as, scratch_dir, out);
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  std::error_code ec;
  fs::remove(out, ec);
  if (!code.ok()) return code.status();
  line = std::string(absl::StripAsciiWhitespace(line));
  if (*code != 0 || line.empty()) {
    return absl::InternalError(absl::StrCat(bin_dir, "/postgres --version failed with exit code ", *code));
  }
  known->emplace(bin_dir, line);
  return line;
}

}  // namespace healthtwin::testing::internal
