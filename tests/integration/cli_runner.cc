#include "tests/integration/cli_runner.h"

#include <chrono>

#include "tests/harness/subprocess.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {

CliResult RunHealthtwin(const std::string& binary, const std::string& identity, const std::vector<std::string>& args) {
  const common::TlsFiles tls = SliceEnvironment::Tls(identity);
  std::vector<std::string> argv = {"--ca", tls.ca_cert_path, "--cert", tls.cert_path, "--key", tls.key_path};
  argv.insert(argv.end(), args.begin(), args.end());
  CliResult result;
  auto child = Subprocess::Spawn(binary, argv);
  if (!child.ok()) {
    result.err = child.status().ToString();
    return result;
  }
  auto exit = (*child)->Wait(std::chrono::seconds(30));
  if (!exit.ok() || !exit->exited) {
    result.err = "did not exit: " + (*child)->Stderr();
    return result;
  }
  result.code = exit->code;
  result.out = (*child)->Stdout();
  result.err = (*child)->Stderr();
  return result;
}

}  // namespace healthtwin::testing
