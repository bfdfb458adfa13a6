// The walking-skeleton slice, in one test process: real PostgreSQL, real gRPC over mutual
// TLS on 127.0.0.1, the production service classes wired the way the mains wire them.
//
// SliceEnvironment starts ONE PostgreSQL cluster and ONE development PKI per test binary
// (a ::testing::Environment registered by test_env.cc). Slice::Start then gives each test
// its own fresh database with the schema applied and three ServiceHosts on port 0:
//   data       ingest + vitals query + registry + twin + simulation   (cert "ingest")
//   alerts     alerts service, hub and evaluator, started (cert "alerts")
//   clinician  clinician_api, calling the other two       (cert "clinician_api")
//
// Ownership: a Slice owns its hosts, services, pools and threads; destroying it drains the
// hosts (clinician first, so nothing calls a stopped upstream) and stops the threads.
// A Slice is used from one test thread; its stubs and channels are thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "services/common/tls/tls.h"
#include "tests/harness/pg_cluster.h"

namespace healthtwin::clinician {
class TokenGate;
}  // namespace healthtwin::clinician

namespace healthtwin::testing {

// Every RPC and every wait in these tests is bounded by a deadline of this order.
inline constexpr auto kRpcDeadline = std::chrono::seconds(5);

class SliceEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;

  // Null until SetUp succeeded.
  static PgCluster* cluster();
  // TLS files of one identity made by make-dev-pki.sh: "ingest", "bridge-001", "dr-alice", ...
  static common::TlsFiles Tls(std::string_view identity);
  // The directory of that PKI (ca.pem, ca.key, crl.pem, ...). Every slice host loads its
  // crl.pem at start, as the deployed services do.
  static std::string PkiDir();
};

class Slice {
 public:
  // Creates database `db_name` in the shared cluster, migrates it and starts the hosts.
  static absl::StatusOr<std::unique_ptr<Slice>> Start(std::string_view db_name);
  // The same, with clinician_api's gRPC calls admitted by `tokens` (bearer tokens,
  // clinician_api/token_gate.h) instead of by certificate alone.
  static absl::StatusOr<std::unique_ptr<Slice>> Start(std::string_view db_name, const clinician::TokenGate& tokens);
  ~Slice();

  const std::string& conninfo() const { return conninfo_; }
  std::string data_address() const;
  std::string alerts_address() const;
  std::string clinician_address() const;

  // A mutual-TLS channel to `address` presenting `identity`'s certificate and accepting only a
  // server whose certificate names `expected_peer` ("ingest" for data_address(), "alerts",
  // "clinician_api", ...).
  static std::shared_ptr<grpc::Channel> Channel(const std::string& address, std::string_view identity,
                                                std::string_view expected_peer);

 private:
  struct Parts;
  Slice() = default;

  std::string conninfo_;
  std::unique_ptr<Parts> parts_;
};

// A database name unique in this process for the running test: `prefix`, a counter and the
// test's name, lower-cased and cut to PostgreSQL's 63 characters.
std::string TestDatabaseName(std::string_view prefix);

// Convenience SQL for assertions: runs `sql` on a fresh connection and returns the first
// column of the first row (NULL reads as the default value).
int64_t QueryInt(const std::string& conninfo, const std::string& sql);
double QueryDouble(const std::string& conninfo, const std::string& sql);
std::string QueryText(const std::string& conninfo, const std::string& sql);

}  // namespace healthtwin::testing
