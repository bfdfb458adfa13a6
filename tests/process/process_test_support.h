// What the black-box process tests share: temporary directories, a development PKI that many
// test processes can use at once, mutual-TLS channels and grpc.health.v1 checks against a
// service on 127.0.0.1, starting a service binary until it listens, and reading its stderr.
//
// Every wait here is bounded, so a hung binary fails its test instead of hanging ctest.
// Nothing here depends on GoogleTest; the test files assert on the results.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::testing {

// A process that fails on its arguments or configuration is done in well under this.
inline constexpr std::chrono::milliseconds kQuickExit{15'000};
// From spawn to the port file: TLS setup and bind only, no database.
inline constexpr std::chrono::milliseconds kStartup{15'000};
// The PostgreSQL supervisor's backoff tops out at 5 s and pings every 1 s; ample slack.
inline constexpr std::chrono::milliseconds kHealthFlip{30'000};

// A conninfo that fails at once: no socket there, no TCP.
inline constexpr char kUnreachableDb[] =
    "host=/nonexistent-healthtwin-socket-dir port=5432 dbname=healthtwin user=postgres";

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<std::string> NonEmptyLines(const std::string& text);

// The first line of `text` that contains `needle`, or "".
std::string LineWith(const std::string& text, const std::string& needle);

// The development PKI in `dir`, made by deploy/pki/make-dev-pki.sh (`script`) unless a complete
// one from the same script is already there. Several test processes may call this at once for
// the same `dir`: an flock on `dir`.lock makes one of them issue and the others wait, so a
// whole test run pays for one PKI. Returns `dir`.
absl::StatusOr<std::string> SharedDevPki(const std::string& script, const std::string& dir);

struct ClientIdentity {
  std::string ca_path;    // whom the client trusts
  std::string cert_path;  // what it presents
  std::string key_path;
};

// The identity `name` (e.g. "cli-admin") of the development PKI in `pki_dir`.
ClientIdentity PkiIdentity(const std::string& pki_dir, const std::string& name);

// A fresh mutual-TLS channel (no shared subchannel, so a refused handshake is not hidden by a
// cached one) to the server on 127.0.0.1:port, which must prove it is `expected_peer`.
absl::StatusOr<std::shared_ptr<grpc::Channel>> TlsChannel(int port, const ClientIdentity& id,
                                                          const std::string& expected_peer);

// A health stub over TlsChannel().
absl::StatusOr<std::unique_ptr<grpc::health::v1::Health::Stub>> HealthStub(int port, const ClientIdentity& id,
                                                                           const std::string& expected_peer);

// One grpc.health.v1 Check, bounded to 5 s (the first one also handshakes). `service` names a
// health service ("" is the server); `server_cert_pem`, when given, receives the certificate the
// server presented.
grpc::Status CheckHealth(grpc::health::v1::Health::Stub& stub,
                         grpc::health::v1::HealthCheckResponse::ServingStatus* status, const std::string& service = "",
                         std::string* server_cert_pem = nullptr);

// Polls health of `service` until it reports `want`; false when `timeout` passes first.
bool WaitForHealth(grpc::health::v1::Health::Stub& stub, grpc::health::v1::HealthCheckResponse::ServingStatus want,
                   std::chrono::milliseconds timeout, const std::string& service = "");

// Spawns `binary` with `args` (which must make it write its port to `port_file`) and waits
// until the port file is there. Internal (with the exit and stderr) when the process ends
// first; DeadlineExceeded after kStartup.
absl::StatusOr<std::unique_ptr<Subprocess>> StartListening(const std::string& binary,
                                                           const std::vector<std::string>& args,
                                                           const std::string& port_file,
                                                           SubprocessOptions options = {});

// The port written by a service into `port_file`; 0 when there is none.
int PortInFile(const std::string& port_file);

// Waits (bounded by kQuickExit) for a process that should stop on its own, quickly.
absl::StatusOr<ExitInfo> RunToExit(Subprocess& process);

// A running cluster with the migrated database `healthtwin` (migrated_database.h).
absl::StatusOr<std::unique_ptr<PgCluster>> StartMigratedCluster();

}  // namespace healthtwin::testing
