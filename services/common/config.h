// Configuration shared by every healthtwin service: a TOML file with command-line overrides.
//
// Precedence, highest first: command-line flag, config file, built-in default. The database
// connection string is a standard libpq conninfo; when it is empty libpq reads the PG*
// environment variables (PGHOST, PGPORT, PGDATABASE, ...).
//
// Example file:
//   listen = "127.0.0.1:7443"
//   [tls]
//   ca = "/etc/healthtwin/pki/ca.pem"
//   cert = "/etc/healthtwin/pki/ingest.pem"
//   key = "/etc/healthtwin/pki/ingest.key"
//   crl = "/etc/healthtwin/pki/crl.pem"     # optional; absent: no revocation checking
//   [database]
//   conninfo = "host=/run/postgresql dbname=healthtwin"
//   statement_timeout_ms = 15000   # optional, see PgPoolLimits
//   pool_wait_ms = 5000            # optional
//   read_conninfo = "host=standby.internal dbname=healthtwin"   # optional, ingest only
//   read_max_lag_ms = 5000         # optional (read_replica.h)
//   [log]
//   level = "info"
//   format = "json"
//   expiry_warning_days = 30
//   [peers]
//   alerts = "alerts.internal:7443"
//   [access]                       # replaces a method's allow-list (services/common/caller_policy.h)
//   Acknowledge = ["service:clinician-api.prod"]
//   [peer_identities]           # optional; default: the peer's own service name
//   alerts = "alerts"
//   [auth]                      # clinician_api only: bearer tokens (docs/security.md)
//   token_public_key = "/etc/healthtwin/pki/token-issuer.pub"
//   token_issuer = "https://tokens.healthtwin.example"
//   token_audience = "healthtwin-clinician-api"
//   require_token = false
//   [limits]                    # optional; the defaults are in ServerLimits
//   max_concurrent_streams = 100
//   memory_quota_mb = 512
//   max_connection_age_s = 300
//   max_message_mb = 4
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/logging.h"
#include "services/common/pg_limits.h"
#include "services/common/tls/tls.h"

namespace healthtwin::common {

// Bearer tokens on people's calls (services/common/auth/bearer_token.h): `[auth]` and the
// --token-* / --require-token flags, accepted only by the services in kTokenServices.
struct TokenAuthConfig {
  std::string public_key_path;  // PEM EC P-256 public key of the token issuer; empty: none
  std::string issuer;           // expected "iss"
  std::string audience;         // expected "aud"
  // false: a call without a token is admitted on its certificate alone (a token, when sent,
  // is still verified and narrows the call); true: every call must carry a valid token.
  bool require_token = false;
};

// What one gRPC server lets its clients take (`[limits]`, --max-* / --memory-quota-mb flags;
// ServiceHost applies them). Without them one client could open unbounded streams or make the
// server buffer without limit (issue 13 item 6).
struct ServerLimits {
  // HTTP/2 streams (calls) one connection may have open at once (GRPC_ARG_MAX_CONCURRENT_STREAMS);
  // more wait in the client until one ends.
  int max_concurrent_streams = 100;
  // gRPC ResourceQuota: the memory all of the server's connections may use for buffers; past it
  // gRPC refuses new work (RESOURCE_EXHAUSTED) instead of growing.
  int memory_quota_mb = 512;
  // A connection older than this is sent GOAWAY (GRPC_ARG_MAX_CONNECTION_AGE_MS, gRPC proposal A9,
  // with gRPC's +-10 % jitter): open calls finish on it, new ones reconnect, so clients re-resolve
  // `dns:///` names and spread over replicas added since. 0: never.
  int max_connection_age_s = 300;
  // The largest message received (SetMaxReceiveMessageSize); larger is RESOURCE_EXHAUSTED.
  int max_message_mb = 4;
};

// The services that verify bearer tokens (the clinician API's gRPC edge).
inline constexpr std::string_view kTokenServices[] = {"clinician_api"};

// The services whose query-heavy reads can go to a hot standby (--db-read; read_replica.h):
// ingest's VitalsQueryService.
inline constexpr std::string_view kReadReplicaServices[] = {"ingest"};
// The smallest lag bound accepted: the primary's position is sampled every 200 ms, and a bound
// near that would send most reads back to the primary.
inline constexpr int kMinReadMaxLagMs = 250;

struct ServiceConfig {
  std::string service_name;
  // host:port; port 0 asks the kernel for a free port (tests, demo).
  std::string listen_address = "127.0.0.1:0";
  // When set, the bound port is written here once the server listens.
  std::string port_file;
  TlsFiles tls;
  // A certificate with fewer whole days left than this is reported (log warning
  // tls.certificate_expiring, health service "healthtwin.tls" NOT_SERVING).
  int tls_expiry_warning_days = 30;
  std::string db_conninfo;
  // --db-statement-timeout-ms / --db-pool-wait-ms, [database] statement_timeout_ms / pool_wait_ms.
  PgPoolLimits db_limits;
  // --db-read / [database] read_conninfo: a hot standby for query-heavy reads; empty: every read
  // goes to db_conninfo. Only the services in kReadReplicaServices take it.
  std::string db_read_conninfo;
  // --db-read-max-lag-ms / [database] read_max_lag_ms: reads use the standby only while its
  // data is at most this old (replica_lag.h), else the primary.
  int db_read_max_lag_ms = 5'000;
  std::string log_level = "info";
  LogFormat log_format = LogFormat::kJson;
  // Addresses of the other services this one calls, by service name.
  std::map<std::string, std::string> peers;
  // The identity each peer must prove, by the same keys: the DNS SAN its server certificate
  // must carry (MakePeerChannel). Defaults to the service name ("ingest", "alerts", ...).
  std::map<std::string, std::string> peer_identities;
  int drain_timeout_s = 10;
  // Allow-list overrides by method name, from `[access]`; checked by CallerPolicy::Create.
  std::map<std::string, std::vector<std::string>, std::less<>> access;
  TokenAuthConfig auth;
  ServerLimits limits;
};

// Parses argv (and the file named by --config). `peer_names` lists the services this one
// calls; each gets a `--<name>-addr` flag and a `[peers] <name>` key, and all are required,
// and a `--<name>-identity` flag and `[peer_identities] <name>` key (default: the name itself).
// `extra` may add service-specific flags to the CLI11 app before parsing.
// Returns InvalidArgument naming the bad flag, key or value. `--help` yields a
// status with code kCancelled whose message is the help text.
absl::StatusOr<ServiceConfig> ParseServiceConfig(int argc, const char* const* argv, std::string_view service_name,
                                                 const std::vector<std::string>& peer_names,
                                                 const std::function<void(CLI::App&)>& extra = {});

// For main(): parses, and on error prints one clear line to stderr and exits with 2
// (help prints to stdout and exits 0). Also initialises logging from the result.
ServiceConfig ParseServiceConfigOrExit(int argc, const char* const* argv, std::string_view service_name,
                                       const std::vector<std::string>& peer_names,
                                       const std::function<void(CLI::App&)>& extra = {});

}  // namespace healthtwin::common
