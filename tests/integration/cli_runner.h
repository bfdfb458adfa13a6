// Runs the real `healthtwin` command-line binary in integration tests, as an operator would:
// with the development PKI files of one identity, and at most 30 s.
#pragma once

#include <string>
#include <vector>

namespace healthtwin::testing {

struct CliResult {
  int code = -1;  // -1 when the binary did not start or did not exit
  std::string out;
  std::string err;
};

// Runs `binary` with --ca/--cert/--key of `identity` (SliceEnvironment::Tls) followed by `args`
// (which name the server: --api ADDRESS, --registry ADDRESS, ...).
CliResult RunHealthtwin(const std::string& binary, const std::string& identity, const std::vector<std::string>& args);

}  // namespace healthtwin::testing
