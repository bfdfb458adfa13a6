#include "services/feeds/temp_pem.h"

#include <unistd.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace healthtwin::feeds {

absl::StatusOr<TempPemFile> TempPemFile::Write(const std::string& pem) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = absl::StrCat(dir != nullptr && *dir != '\0' ? dir : "/tmp", "/healthtwin-feed-ca-XXXXXX");
  std::vector<char> buf(path.begin(), path.end());
  buf.push_back('\0');
  const int fd = mkstemp(buf.data());
  if (fd < 0) return absl::InternalError("feed.tls_ca_pem: cannot create a temporary file");
  const bool written = write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size());
  close(fd);
  if (!written) {
    unlink(buf.data());
    return absl::InternalError("feed.tls_ca_pem: cannot write a temporary file");
  }
  return TempPemFile(std::string(buf.data()));
}

TempPemFile::TempPemFile(TempPemFile&& other) noexcept : path_(std::exchange(other.path_, "")) {}

TempPemFile& TempPemFile::operator=(TempPemFile&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) unlink(path_.c_str());
    path_ = std::exchange(other.path_, "");
  }
  return *this;
}

TempPemFile::~TempPemFile() {
  if (!path_.empty()) unlink(path_.c_str());
}

}  // namespace healthtwin::feeds
