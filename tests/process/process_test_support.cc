#include "tests/process/process_test_support.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/harness/ingest_process.h"
#include "tests/harness/migrated_database.h"

namespace healthtwin::testing {

namespace fs = std::filesystem;
using grpc::health::v1::HealthCheckResponse;

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/ht-proc-test.XXXXXX");
  if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

std::vector<std::string> NonEmptyLines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

std::string LineWith(const std::string& text, const std::string& needle) {
  for (const std::string& line : NonEmptyLines(text)) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

absl::StatusOr<std::string> SharedDevPki(const std::string& script, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const std::string lock_path = dir + ".lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) return absl::InternalError(absl::StrCat("cannot open ", lock_path));
  // Released by close(), also when this process dies while issuing.
  if (::flock(lock, LOCK_EX) != 0) {
    ::close(lock);
    return absl::InternalError(absl::StrCat("cannot lock ", lock_path));
  }
  // The stamp names the script version that completed the PKI, so an edited script reissues.
  const std::string stamp_path = dir + "/.complete";
  const std::string version = std::to_string(std::hash<std::string>{}(ReadFileOrEmpty(script)));
  absl::Status made = absl::OkStatus();
  if (ReadFileOrEmpty(stamp_path) != version) {
    made = MakeDevPki(script, dir);
    if (made.ok()) std::ofstream(stamp_path, std::ios::trunc) << version;
  }
  ::close(lock);
  if (!made.ok()) return made;
  return dir;
}

ClientIdentity PkiIdentity(const std::string& pki_dir, const std::string& name) {
  return {pki_dir + "/ca.pem", pki_dir + "/" + name + ".pem", pki_dir + "/" + name + ".key"};
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> TlsChannel(int port, const ClientIdentity& id,
                                                          const std::string& expected_peer) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadFileOrEmpty(id.ca_path);
  tls.pem_cert_chain = ReadFileOrEmpty(id.cert_path);
  tls.pem_private_key = ReadFileOrEmpty(id.key_path);
  if (tls.pem_root_certs.empty() || tls.pem_cert_chain.empty() || tls.pem_private_key.empty()) {
    return absl::NotFoundError(absl::StrCat("cannot read ", id.ca_path, ", ", id.cert_path, " or ", id.key_path));
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetSslTargetNameOverride(expected_peer);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(tls), args);
}

absl::StatusOr<std::unique_ptr<grpc::health::v1::Health::Stub>> HealthStub(int port, const ClientIdentity& id,
                                                                           const std::string& expected_peer) {
  auto channel = TlsChannel(port, id, expected_peer);
  if (!channel.ok()) return channel.status();
  return grpc::health::v1::Health::NewStub(*channel);
}

grpc::Status CheckHealth(grpc::health::v1::Health::Stub& stub, HealthCheckResponse::ServingStatus* status,
                         const std::string& service, std::string* server_cert_pem) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status s = stub.Check(&ctx, request, &response);
  *status = response.status();
  if (server_cert_pem != nullptr && ctx.auth_context() != nullptr) {
    auto pems = ctx.auth_context()->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (!pems.empty()) server_cert_pem->assign(pems.front().data(), pems.front().size());
  }
  return s;
}

bool WaitForHealth(grpc::health::v1::Health::Stub& stub, HealthCheckResponse::ServingStatus want,
                   std::chrono::milliseconds timeout, const std::string& service) {
  return PollUntil(
      [&] {
        HealthCheckResponse::ServingStatus status = HealthCheckResponse::UNKNOWN;
        return CheckHealth(stub, &status, service).ok() && status == want;
      },
      timeout);
}

absl::StatusOr<std::unique_ptr<Subprocess>> StartListening(const std::string& binary,
                                                           const std::vector<std::string>& args,
                                                           const std::string& port_file, SubprocessOptions options) {
  auto spawned = Subprocess::Spawn(binary, args, std::move(options));
  if (!spawned.ok()) return spawned.status();
  Subprocess& process = **spawned;
  const bool listening = PollUntil([&] { return !process.Running() || !ReadFileOrEmpty(port_file).empty(); }, kStartup);
  if (!process.Running()) {
    return absl::InternalError(absl::StrCat(binary, " ended before listening: ", process.exit_info()->ToString(),
                                            "; stderr:\n", process.Stderr()));
  }
  if (!listening) return absl::DeadlineExceededError(absl::StrCat("no port file; stderr:\n", process.Stderr()));
  return spawned;
}

int PortInFile(const std::string& port_file) { return std::atoi(ReadFileOrEmpty(port_file).c_str()); }

absl::StatusOr<ExitInfo> RunToExit(Subprocess& process) { return process.Wait(kQuickExit); }

absl::StatusOr<std::unique_ptr<PgCluster>> StartMigratedCluster() {
  auto cluster = PgCluster::Start(WithMigratedTemplate());
  if (!cluster.ok()) return cluster.status();
  if (auto s = CreateMigratedDatabase(**cluster, "healthtwin"); !s.ok()) return s.status();
  return cluster;
}

}  // namespace healthtwin::testing
