#include "tests/harness/ingest_process.h"

#include <chrono>
#include <filesystem>

namespace healthtwin::testing {

std::vector<std::string> ServiceFlags(const std::string& pki_dir, const std::string& name, const std::string& conninfo,
                                      const std::string& port_file) {
  return {"--tls-ca",    pki_dir + "/ca.pem",
          "--tls-cert",  pki_dir + "/" + name + ".pem",
          "--tls-key",   pki_dir + "/" + name + ".key",
          "--db",        ServiceConnInfo(conninfo, name),
          "--listen",    "127.0.0.1:0",
          "--port-file", port_file};
}

absl::StatusOr<IngestProcess> StartIngestProcess(const std::string& binary, const std::string& pki_dir,
                                                 const std::string& conninfo, const std::string& work_dir,
                                                 const std::vector<std::string>& extra_args) {
  const std::string port_file = work_dir + "/ingest.port";
  std::filesystem::remove(port_file);
  std::vector<std::string> args = ServiceFlags(pki_dir, "ingest", conninfo, port_file);
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  auto proc = Subprocess::Spawn(binary, args);
  if (!proc.ok()) return proc.status();
  std::string port;
  if (!PollUntil([&] { return !(port = ReadFileOrEmpty(port_file)).empty(); }, std::chrono::seconds(20))) {
    return absl::DeadlineExceededError("ingest wrote no port file within 20 s: " + (*proc)->Stderr());
  }
  return IngestProcess{*std::move(proc), "localhost:" + port.substr(0, port.find('\n'))};
}

}  // namespace healthtwin::testing
