#include "tests/harness/dev_pki.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kCachePrefix[] = "healthtwin-dev-pki-";
constexpr auto kStaleAfter = std::chrono::hours(48);

bool CacheDisabledByEnv() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing here calls setenv.
  const char* value = std::getenv(kDevPkiNoCacheEnv);
  return value != nullptr && *value != '\0' && std::string(value) != "0";
}

std::string CacheParent() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing here calls setenv.
  const char* tmp = std::getenv("TMPDIR");
  std::string parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  return parent;
}

absl::StatusOr<std::string> ReadWhole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Sha256Hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest.data()), size));
}

absl::StatusOr<std::string> CacheKey(const std::string& script, bool foreign) {
  auto main = ReadWhole(script);
  if (!main.ok()) return main.status();
  auto revoke = ReadWhole(fs::path(script).parent_path() / "revoke.sh");
  if (!revoke.ok()) return revoke.status();
  const std::string day = absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  const std::string material = absl::StrCat(kDevPkiFormat, "\n", foreign ? "foreign" : "dev", "\n", day, "\n",
                                            Sha256Hex(*main), "\n", Sha256Hex(*revoke));
  return Sha256Hex(material).substr(0, 16);
}

absl::Status RunScript(const std::string& script, const std::string& dir, bool foreign) {
  std::vector<std::string> args = {script, dir};
  if (foreign) args.push_back("--foreign");
  auto pki = Subprocess::Spawn("/bin/bash", args);
  if (!pki.ok()) return pki.status();
  auto exit = (*pki)->Wait(std::chrono::seconds(60));
  if (!exit.ok()) return exit.status();
  if (!exit->exited || exit->code != 0) {
    return absl::InternalError("make-dev-pki.sh " + exit->ToString() + ": " + (*pki)->Stderr());
  }
  return absl::OkStatus();
}

bool EmptyOrMissing(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  return fs::is_directory(dir, ec) && fs::is_empty(dir, ec);
}

// The entry is complete once the script has written its CRL, the last thing it makes.
bool Complete(const fs::path& entry) {
  std::error_code ec;
  return fs::is_regular_file(entry / "ca.pem", ec) && fs::is_regular_file(entry / "crl.pem", ec);
}

// Entries of other keys (another script version, an earlier day) that nobody has used for
// kStaleAfter. Best effort: a concurrent run may remove the same one.
void RemoveStaleEntries(const fs::path& parent, const fs::path& keep) {
  const std::string prefix = absl::StrCat(kCachePrefix, ::geteuid(), "-");
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || e.path() == keep) continue;
    std::error_code time_ec;
    const auto modified = e.last_write_time(time_ec);
    if (time_ec || now - modified < kStaleAfter) continue;
    std::error_code remove_ec;
    fs::remove_all(e.path(), remove_ec);
  }
}

absl::StatusOr<fs::path> EnsureCacheEntry(const std::string& script, bool foreign) {
  auto key = CacheKey(script, foreign);
  if (!key.ok()) return key.status();
  const fs::path parent = CacheParent();
  const fs::path entry = parent / absl::StrCat(kCachePrefix, ::geteuid(), "-", *key);
  if (Complete(entry)) {
    // Marks it used (its mtime), so RemoveStaleEntries keeps it.
    ::utimensat(AT_FDCWD, entry.c_str(), nullptr, 0);
    return entry;
  }

  std::string staging = entry.string() + ".staging-XXXXXX";
  if (::mkdtemp(staging.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp(", staging, "): ", std::strerror(errno)));
  }
  std::error_code ec;
  // The script makes its output directory itself, with its own modes.
  fs::remove(staging, ec);
  if (absl::Status made = RunScript(script, staging, foreign); !made.ok()) {
    fs::remove_all(staging, ec);
    return made;
  }
  if (::rename(staging.c_str(), entry.c_str()) != 0) {
    const int error = errno;
    fs::remove_all(staging, ec);
    // Another test process published the same entry first: use theirs.
    if ((error == ENOTEMPTY || error == EEXIST) && Complete(entry)) return entry;
    return absl::InternalError(absl::StrCat("rename ", staging, " to ", entry.string(), ": ", std::strerror(error)));
  }
  RemoveStaleEntries(parent, entry);
  return entry;
}

}  // namespace

absl::Status MakeDevPki(const std::string& script, const std::string& dir, bool foreign) {
  if (CacheDisabledByEnv() || !EmptyOrMissing(dir)) return RunScript(script, dir, foreign);
  auto entry = EnsureCacheEntry(script, foreign);
  if (!entry.ok()) return entry.status();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  // The top directory keeps the script's mode too (it holds private keys).
  fs::permissions(dir, fs::status(*entry).permissions(), ec);
  if (ec) return absl::InternalError(absl::StrCat("chmod ", dir, ": ", ec.message()));
  // Recursive copy keeps each file's and directory's permission bits (the keyring's 0700, the
  // keys' 0600).
  fs::copy(*entry, dir, fs::copy_options::recursive, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("copying the cached PKI ", entry->string(), " to ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace healthtwin::testing
