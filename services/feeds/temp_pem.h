// A feed's CA PEM (stored in the feeds row, not a path) written to a private temporary file for
// TLS libraries that take a path (the MLLP client, cpp-httplib), removed with its owner.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace healthtwin::feeds {

// Owns the file: removes it when destroyed. Movable, not copyable.
class TempPemFile {
 public:
  // InternalError naming feed.tls_ca_pem when the file cannot be written ($TMPDIR or /tmp).
  static absl::StatusOr<TempPemFile> Write(const std::string& pem);
  TempPemFile() = default;
  TempPemFile(TempPemFile&& other) noexcept;
  TempPemFile& operator=(TempPemFile&& other) noexcept;
  TempPemFile(const TempPemFile&) = delete;
  TempPemFile& operator=(const TempPemFile&) = delete;
  ~TempPemFile();

  const std::string& path() const { return path_; }

 private:
  explicit TempPemFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace healthtwin::feeds
