#include "services/common/crypto/file_keyring.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/crypto/aes_gcm.h"
#include "services/common/crypto/hmac.h"

namespace healthtwin::common::crypto {
namespace {

namespace fs = std::filesystem;

// First byte of a wrapped DEK: the format below (IV || encrypted DEK || tag under the KEK).
constexpr char kWrapFormatV1 = 0x01;
constexpr size_t kWrappedBytes = 1 + kGcmIvBytes + kKeyBytes + kGcmTagBytes;

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

absl::StatusOr<std::string> ReadSmallFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read keyring file '", path.string(), "'"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A keyring file's text: a regular file of mode 0600 exactly.
absl::StatusOr<std::string> ReadMode0600File(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("keyring file '", path.string(), "' does not exist"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("keyring file '", path.string(), "' is not a regular file"));
  }
  if ((st.st_mode & 07777) != 0600) {
    return absl::PermissionDeniedError(absl::StrCat("keyring file '", path.string(), "' has mode ", Octal(st.st_mode),
                                                    "; a key file must be mode 0600"));
  }
  return ReadSmallFile(path);
}

// A key file's text as key bytes: 64 hex digits and an optional trailing newline. `text` is
// wiped; the error names `path` and the length, never the contents.
absl::StatusOr<std::string> DecodeKeyHex(std::string text, const fs::path& path) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  const bool all_hex = std::all_of(text.begin(), text.end(), [](char c) { return absl::ascii_isxdigit(c); });
  if (text.size() != 2 * kKeyBytes || !all_hex) {
    const size_t n = text.size();
    OPENSSL_cleanse(text.data(), text.size());
    return absl::InvalidArgumentError(absl::StrCat("keyring file '", path.string(), "' holds ", n, " characters",
                                                   all_hex ? "" : " (not all hex digits)",
                                                   "; a key is 64 hex digits (256 bits)"));
  }
  std::string key(kKeyBytes, '\0');
  for (size_t i = 0; i < kKeyBytes; ++i) {
    auto nibble = [](char c) { return absl::ascii_isdigit(c) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10; };
    key[i] = static_cast<char>(nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]));
  }
  OPENSSL_cleanse(text.data(), text.size());
  return key;
}

// A key file: mode 0600 exactly, 64 hex digits and an optional trailing newline.
absl::StatusOr<std::string> ReadKeyFile(const fs::path& path) {
  absl::StatusOr<std::string> text = ReadMode0600File(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::string> key = DecodeKeyHex(*text, path);
  OPENSSL_cleanse(text->data(), text->size());
  return key;
}

// "kek-12.key" -> 12; anything else -> 0.
uint32_t KekVersionOf(const std::string& name) {
  constexpr std::string_view kPrefix = "kek-", kSuffix = ".key";
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.rfind(kPrefix, 0) != 0 ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    return 0;
  }
  uint32_t v = 0;
  const std::string digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return absl::ascii_isdigit(c); }) ||
      !absl::SimpleAtoi(digits, &v)) {
    return 0;
  }
  return v;
}

// The keyring directory exists and gives group and others no access.
absl::Status CheckKeyringDir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("keyring directory '", dir, "' does not exist"));
  }
  if ((st.st_mode & 0077) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("keyring directory '", dir, "' has mode ", Octal(st.st_mode),
                                                    "; it must give group and others no access (0700)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<std::string>> ReadOptionalKeyringFile(const std::string& dir, const std::string& name) {
  if (absl::Status s = CheckKeyringDir(dir); !s.ok()) return s;
  const fs::path path = fs::path(dir) / name;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return std::optional<std::string>();
  absl::StatusOr<std::string> text = ReadMode0600File(path);
  if (!text.ok()) return text.status();
  return std::optional<std::string>(*std::move(text));
}

absl::StatusOr<std::optional<std::string>> ReadOptionalKeyringKey(const std::string& dir, const std::string& name) {
  absl::StatusOr<std::optional<std::string>> text = ReadOptionalKeyringFile(dir, name);
  if (!text.ok() || !text->has_value()) return text;
  absl::StatusOr<std::string> key = DecodeKeyHex(**text, fs::path(dir) / name);
  OPENSSL_cleanse((*text)->data(), (*text)->size());
  if (!key.ok()) return key.status();
  return std::optional<std::string>(*std::move(key));
}

absl::StatusOr<std::unique_ptr<FileKeyring>> FileKeyring::Create(const std::string& dir) {
  if (absl::Status s = CheckKeyringDir(dir); !s.ok()) return s;
  std::unique_ptr<FileKeyring> ring(new FileKeyring());
  ring->dir_ = dir;

  const fs::path marker = fs::path(dir) / "active-kek";
  absl::StatusOr<std::string> active = ReadSmallFile(marker);
  if (!active.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("keyring '", dir,
                                                      "' has no readable active-kek file naming the KEK version "
                                                      "new data keys are wrapped under"));
  }
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*active), &ring->active_kek_version_) ||
      ring->active_kek_version_ == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("keyring file '", marker.string(), "' must hold one KEK version number (1 or more)"));
  }

  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const uint32_t version = KekVersionOf(entry.path().filename().string());
    if (version == 0) continue;
    absl::StatusOr<std::string> key = ReadKeyFile(entry.path());
    if (!key.ok()) return key.status();
    ring->keks_[version] = *std::move(key);
  }
  if (ec) return absl::InternalError(absl::StrCat("listing keyring directory '", dir, "': ", ec.message()));
  if (!ring->keks_.contains(ring->active_kek_version_)) {
    return absl::FailedPreconditionError(absl::StrCat("keyring '", dir, "' names KEK version ",
                                                      ring->active_kek_version_, " active in active-kek, but kek-",
                                                      ring->active_kek_version_, ".key is missing"));
  }
  absl::StatusOr<std::string> index_key = ReadKeyFile(fs::path(dir) / "blind-index.key");
  if (!index_key.ok()) return index_key.status();
  ring->blind_index_key_ = *std::move(index_key);
  if (const fs::path pseudonym = fs::path(dir) / "pseudonym.key"; fs::exists(pseudonym, ec)) {
    absl::StatusOr<std::string> key = ReadKeyFile(pseudonym);
    if (!key.ok()) return key.status();
    ring->pseudonym_key_ = *std::move(key);
  }
  return ring;
}

FileKeyring::~FileKeyring() {
  for (auto& [version, key] : keks_) OPENSSL_cleanse(key.data(), key.size());
  OPENSSL_cleanse(blind_index_key_.data(), blind_index_key_.size());
  OPENSSL_cleanse(pseudonym_key_.data(), pseudonym_key_.size());
}

std::string FileKeyring::KekVersions() const {
  std::vector<uint32_t> versions;
  for (const auto& [version, key] : keks_) versions.push_back(version);
  return versions.empty() ? "none" : absl::StrJoin(versions, ", ");
}

absl::StatusOr<std::string_view> FileKeyring::Kek(uint32_t version) const {
  auto it = keks_.find(version);
  if (it == keks_.end()) {
    return absl::NotFoundError(absl::StrCat("KEK version ", version, " is not in keyring '", dir_,
                                            "' (it has versions: ", KekVersions(), ")"));
  }
  return std::string_view(it->second);
}

absl::StatusOr<std::string> FileKeyring::WrapKey(uint32_t kek_version, std::string_view dek,
                                                 std::string_view context) const {
  absl::StatusOr<std::string_view> kek = Kek(kek_version);
  if (!kek.ok()) return kek.status();
  if (dek.size() != kKeyBytes) return absl::InvalidArgumentError("a data key to wrap must be 32 bytes");
  absl::StatusOr<std::string> sealed = AesGcmSeal(*kek, dek, context);
  if (!sealed.ok()) return sealed.status();
  return std::string(1, kWrapFormatV1) + *sealed;
}

absl::StatusOr<std::string> FileKeyring::UnwrapKey(uint32_t kek_version, std::string_view wrapped,
                                                   std::string_view context) const {
  absl::StatusOr<std::string_view> kek = Kek(kek_version);
  if (!kek.ok()) return kek.status();
  if (wrapped.size() != kWrappedBytes || wrapped[0] != kWrapFormatV1) {
    return absl::DataLossError(
        absl::StrCat("a wrapped data key is ", kWrappedBytes, " bytes starting with format 0x01; this one is not"));
  }
  absl::StatusOr<std::string> dek = AesGcmOpen(*kek, wrapped.substr(1), context);
  if (!dek.ok()) {
    return absl::DataLossError(absl::StrCat("the wrapped data key does not authenticate under KEK version ",
                                            kek_version, " for this patient and key version"));
  }
  return dek;
}

absl::StatusOr<std::string> FileKeyring::BlindIndexMac(std::string_view message) const {
  return HmacSha256(blind_index_key_, message);
}

absl::StatusOr<std::string> FileKeyring::PseudonymMac(std::string_view message) const {
  if (pseudonym_key_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("keyring '", dir_, "' has no pseudonym.key (the research pseudonym key)"));
  }
  return HmacSha256(pseudonym_key_, message);
}

}  // namespace healthtwin::common::crypto
