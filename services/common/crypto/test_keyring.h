// For tests: a keyring directory laid out as FileKeyring expects, with fresh random keys, in a
// temporary directory that is removed on destruction. Header-only and free of GoogleTest, so
// unit and integration tests share it.
#pragma once

#include <openssl/rand.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace healthtwin::common::crypto::testing {

class TestKeyringDir {
 public:
  // KEK versions 1..`keks`, a blind-index key and a pseudonym key; `active` is written to active-kek.
  explicit TestKeyringDir(int keks = 2, int active = 1) {
    std::string pattern = (std::filesystem::temp_directory_path() / "ht-keyring-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
    for (int v = 1; v <= keks; ++v) WriteKey("kek-" + std::to_string(v) + ".key", RandomHex());
    WriteKey("blind-index.key", RandomHex());
    WriteKey("pseudonym.key", RandomHex());
    WriteFile("active-kek", std::to_string(active) + "\n", 0600);
  }
  ~TestKeyringDir() { std::filesystem::remove_all(dir_); }
  TestKeyringDir(const TestKeyringDir&) = delete;
  TestKeyringDir& operator=(const TestKeyringDir&) = delete;

  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  void WriteFile(const std::string& name, const std::string& text, mode_t mode) const {
    std::ofstream(path(name), std::ios::binary | std::ios::trunc) << text;
    ::chmod(path(name).c_str(), mode);
  }
  void WriteKey(const std::string& name, const std::string& hex) const { WriteFile(name, hex + "\n", 0600); }

  static std::string RandomHex() {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) std::abort();
    std::string hex;
    char buf[3];
    for (unsigned char b : raw) {
      std::snprintf(buf, sizeof buf, "%02x", b);
      hex += buf;
    }
    return hex;
  }

 private:
  std::string dir_;
};

}  // namespace healthtwin::common::crypto::testing
