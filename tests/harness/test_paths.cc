#include "tests/harness/test_paths.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>

namespace healthtwin::testing {
namespace {

struct PathsFile {
  std::string path;
  std::map<std::string, std::string, std::less<>> values;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "healthtwin test paths: %s\n", message.c_str());
  std::abort();
}

PathsFile Load() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) Die("cannot read /proc/self/exe: " + ec.message());
  PathsFile file{exe.string() + ".paths", {}};
  std::ifstream in(file.path);
  if (!in) Die("cannot read " + file.path + " (written by ht_test_paths when CMake generates the build)");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) Die(file.path + ": a line without '=': " + line);
    file.values.emplace(line.substr(0, eq), line.substr(eq + 1));
  }
  return file;
}

}  // namespace

const char* TestPath(const char* name) {
  static const PathsFile file = Load();
  const auto it = file.values.find(std::string_view(name));
  if (it == file.values.end()) Die(std::string(name) + " is not in " + file.path);
  return it->second.c_str();
}

}  // namespace healthtwin::testing
