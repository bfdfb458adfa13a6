#include "services/common/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>

#include "absl/status/status.h"

namespace healthtwin::common {
namespace {

constexpr int kMaxDbLimitMs = 3'600'000;  // an hour: anything longer is a typo

// [limits] keys with their flags and ranges (ServerLimits says what each does).
struct LimitSpec {
  const char* key;
  int ServerLimits::*field;
  int min, max;
  const char* help;
};
constexpr LimitSpec kLimitSpecs[] = {
    {"max_concurrent_streams", &ServerLimits::max_concurrent_streams, 1, 100'000,
     "calls one connection may have open at once (default 100)"},
    {"memory_quota_mb", &ServerLimits::memory_quota_mb, 16, 1'048'576,
     "memory for the server's buffers over all connections, in MiB (default 512)"},
    {"max_connection_age_s", &ServerLimits::max_connection_age_s, 0, 86'400 * 24,
     "send GOAWAY to connections older than this so clients reconnect and re-resolve (0: never; default 300)"},
    {"max_message_mb", &ServerLimits::max_message_mb, 1, 64, "largest message received, in MiB (default 4)"},
};

std::string FlagOf(const LimitSpec& spec) {
  std::string flag = std::string("--") + spec.key;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view s) {
  if (s == "json") return LogFormat::kJson;
  if (s == "text") return LogFormat::kText;
  return absl::InvalidArgumentError("log format must be 'json' or 'text', got '" + std::string(s) + "'");
}

// Copies known keys of the TOML document into `cfg`, rejecting unknown keys and wrong
// types so that a typo never silently falls back to a default.
absl::Status ApplyToml(const toml::table& doc, const std::string& path, const std::set<std::string>& peer_names,
                       ServiceConfig& cfg, std::string& log_format) {
  auto bad = [&](const std::string& key, const std::string& why) {
    return absl::InvalidArgumentError("config " + path + ": " + key + ": " + why);
  };
  auto get_string = [&](const toml::node& node, const std::string& key, std::string& out) -> absl::Status {
    auto v = node.value<std::string>();
    if (!v) return bad(key, "must be a string");
    out = *v;
    return absl::OkStatus();
  };
  static const std::map<std::string, std::set<std::string>> kTables = {
      {"tls", {"ca", "cert", "key", "crl", "expiry_warning_days"}},
      {"database", {"conninfo", "statement_timeout_ms", "pool_wait_ms", "read_conninfo", "read_max_lag_ms"}},
      {"log", {"level", "format"}},
      {"auth", {"token_public_key", "token_issuer", "token_audience", "require_token"}},
      {"limits", {}}};

  for (const auto& [key_view, node] : doc) {
    const std::string key(key_view.str());
    if (key == "listen") {
      if (auto s = get_string(node, key, cfg.listen_address); !s.ok()) return s;
    } else if (key == "port_file") {
      if (auto s = get_string(node, key, cfg.port_file); !s.ok()) return s;
    } else if (key == "drain_timeout_s") {
      auto v = node.value<int64_t>();
      if (!v || *v < 0 || *v > 3600) return bad(key, "must be an integer from 0 to 3600");
      cfg.drain_timeout_s = static_cast<int>(*v);
    } else if (key == "peers" || key == "peer_identities") {
      const auto* table = node.as_table();
      if (!table) return bad(key, "must be a table");
      auto& target = key == "peers" ? cfg.peers : cfg.peer_identities;
      for (const auto& [peer_view, peer_node] : *table) {
        const std::string peer(peer_view.str());
        if (!peer_names.contains(peer)) return bad(key + "." + peer, "unknown peer for this service");
        if (auto s = get_string(peer_node, key + "." + peer, target[peer]); !s.ok()) return s;
      }
    } else if (key == "access") {
      const auto* table = node.as_table();
      if (!table) return bad(key, "must be a table of method = [\"role\" or \"role:CN\", ...]");
      for (const auto& [method_view, method_node] : *table) {
        const std::string full = "access." + std::string(method_view.str());
        const auto* list = method_node.as_array();
        if (!list) return bad(full, "must be an array of strings");
        auto& principals = cfg.access[std::string(method_view.str())];
        for (const auto& item : *list) {
          auto v = item.value<std::string>();
          if (!v) return bad(full, "must be an array of strings");
          principals.push_back(*v);
        }
      }
    } else if (kTables.contains(key)) {
      const auto* table = node.as_table();
      if (!table) return bad(key, "must be a table");
      for (const auto& [sub_view, sub_node] : *table) {
        const std::string sub(sub_view.str());
        const std::string full = key + "." + sub;
        if (key == "limits") {
          auto spec = std::find_if(std::begin(kLimitSpecs), std::end(kLimitSpecs),
                                   [&](const LimitSpec& l) { return sub == l.key; });
          if (spec == std::end(kLimitSpecs)) return bad(full, "unknown key");
          auto v = sub_node.value<int64_t>();
          if (!v || *v < spec->min || *v > spec->max) {
            return bad(full,
                       "must be an integer from " + std::to_string(spec->min) + " to " + std::to_string(spec->max));
          }
          cfg.limits.*(spec->field) = static_cast<int>(*v);
          continue;
        }
        if (!kTables.at(key).contains(sub)) return bad(full, "unknown key");
        if (full == "tls.expiry_warning_days") {
          auto v = sub_node.value<int64_t>();
          if (!v || *v < 0 || *v > 3650) return bad(full, "must be an integer from 0 to 3650");
          cfg.tls_expiry_warning_days = static_cast<int>(*v);
          continue;
        }
        if (full == "auth.require_token") {
          auto v = sub_node.value<bool>();
          if (!v) return bad(full, "must be true or false");
          cfg.auth.require_token = *v;
          continue;
        }
        if (full == "database.statement_timeout_ms" || full == "database.pool_wait_ms") {
          auto v = sub_node.value<int64_t>();
          if (!v || *v < 0 || *v > kMaxDbLimitMs) return bad(full, "must be an integer from 0 to 3600000");
          (full == "database.pool_wait_ms" ? cfg.db_limits.acquire_timeout : cfg.db_limits.statement_timeout) =
              std::chrono::milliseconds(*v);
          continue;
        }
        if (full == "database.read_max_lag_ms") {
          auto v = sub_node.value<int64_t>();
          if (!v || *v < kMinReadMaxLagMs || *v > kMaxDbLimitMs) {
            return bad(full, "must be an integer from " + std::to_string(kMinReadMaxLagMs) + " to 3600000");
          }
          cfg.db_read_max_lag_ms = static_cast<int>(*v);
          continue;
        }
        std::string* target = nullptr;
        if (full == "database.read_conninfo") target = &cfg.db_read_conninfo;
        if (full == "tls.ca") target = &cfg.tls.ca_cert_path;
        if (full == "tls.cert") target = &cfg.tls.cert_path;
        if (full == "tls.key") target = &cfg.tls.key_path;
        if (full == "tls.crl") target = &cfg.tls.crl_path;
        if (full == "database.conninfo") target = &cfg.db_conninfo;
        if (full == "auth.token_public_key") target = &cfg.auth.public_key_path;
        if (full == "auth.token_issuer") target = &cfg.auth.issuer;
        if (full == "auth.token_audience") target = &cfg.auth.audience;
        if (full == "log.level") target = &cfg.log_level;
        if (full == "log.format") target = &log_format;
        if (auto s = get_string(sub_node, full, *target); !s.ok()) return s;
      }
    } else {
      return bad(key, "unknown key");
    }
  }
  return absl::OkStatus();
}

// Bearer-token settings are all or nothing, and only where tokens are verified: anything else is
// a configuration that looks safer than it is.
absl::Status CheckTokenAuth(const TokenAuthConfig& auth, bool verifies_tokens, std::string_view service_name) {
  const bool any =
      !auth.public_key_path.empty() || !auth.issuer.empty() || !auth.audience.empty() || auth.require_token;
  if (!any) return absl::OkStatus();
  if (!verifies_tokens) {
    return absl::InvalidArgumentError("auth: " + std::string(service_name) +
                                      " does not verify bearer tokens (only clinician_api does); remove [auth]");
  }
  if (auth.public_key_path.empty()) {
    return absl::InvalidArgumentError(
        "auth.token_public_key: required with any other [auth] setting "
        "(--token-public-key)");
  }
  if (auth.issuer.empty()) return absl::InvalidArgumentError("auth.token_issuer: required (--token-issuer)");
  if (auth.audience.empty()) return absl::InvalidArgumentError("auth.token_audience: required (--token-audience)");
  return absl::OkStatus();
}

// A read connection only where a read path uses it; anywhere else it would look like an
// offload that does not happen.
absl::Status CheckReadReplica(const ServiceConfig& cfg, bool reads_standby) {
  if (reads_standby) return absl::OkStatus();
  if (!cfg.db_read_conninfo.empty() || cfg.db_read_max_lag_ms != ServiceConfig{}.db_read_max_lag_ms) {
    return absl::InvalidArgumentError("database.read_conninfo: " + cfg.service_name +
                                      " reads only from the primary (only ingest reads from a standby); remove "
                                      "read_conninfo and read_max_lag_ms");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServiceConfig> ParseServiceConfig(int argc, const char* const* argv, std::string_view service_name,
                                                 const std::vector<std::string>& peer_names,
                                                 const std::function<void(CLI::App&)>& extra) {
  CLI::App app("healthtwin " + std::string(service_name) + " service", "healthtwin-" + std::string(service_name));
  std::string config_path;
  std::optional<std::string> listen, port_file, ca, cert, key, crl, db, log_level, log_format;
  std::optional<std::string> token_key, token_issuer, token_audience;
  bool require_token = false;  // the flag can only turn the requirement on
  const bool verifies_tokens =
      std::find(std::begin(kTokenServices), std::end(kTokenServices), service_name) != std::end(kTokenServices);
  std::optional<int> drain_s, statement_timeout_ms, pool_wait_ms, expiry_days, read_max_lag_ms;
  std::optional<std::string> db_read;
  const bool reads_standby = std::find(std::begin(kReadReplicaServices), std::end(kReadReplicaServices),
                                       service_name) != std::end(kReadReplicaServices);
  std::map<std::string, std::optional<std::string>> peer_flags, identity_flags;
  std::map<const LimitSpec*, std::optional<int>> limit_flags;
  app.add_option("--config", config_path, "TOML config file")->check(CLI::ExistingFile);
  app.add_option("--listen", listen, "host:port to listen on (port 0 picks a free one)");
  app.add_option("--port-file", port_file, "write the bound port to this file");
  app.add_option("--tls-ca", ca, "PEM CA bundle that signs clients and peers");
  app.add_option("--tls-cert", cert, "PEM certificate of this service");
  app.add_option("--tls-key", key, "PEM private key of this service");
  app.add_option("--tls-crl", crl,
                 "PEM CRL of the CA (deploy/pki/revoke.sh); revoked client certificates are refused. Optional: "
                 "without it nothing is checked for revocation");
  app.add_option("--tls-expiry-warning-days", expiry_days,
                 "warn (log, health service healthtwin.tls) when the certificate has fewer days left (default 30)")
      ->check(CLI::Range(0, 3650));
  app.add_option("--db", db, "libpq connection string (empty: PG* environment variables)");
  app.add_option("--db-statement-timeout-ms", statement_timeout_ms,
                 "cancel a database query running longer than this (0: never; default 15000)")
      ->check(CLI::Range(0, kMaxDbLimitMs));
  app.add_option("--db-pool-wait-ms", pool_wait_ms,
                 "fail a call that waited this long for a free database connection (default 5000)")
      ->check(CLI::Range(0, kMaxDbLimitMs));
  if (reads_standby) {
    app.add_option("--db-read", db_read,
                   "libpq connection string of a hot standby for vitals queries (opened read-only; must be in "
                   "recovery); unset: every read goes to --db");
    app.add_option("--db-read-max-lag-ms", read_max_lag_ms,
                   "read from the standby only while its data is at most this old, else from the primary "
                   "(default 5000)")
        ->check(CLI::Range(kMinReadMaxLagMs, kMaxDbLimitMs));
  }
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error");
  app.add_option("--log-format", log_format, "json or text");
  app.add_option("--drain-timeout-s", drain_s, "seconds to finish in-flight calls on SIGTERM")
      ->check(CLI::Range(0, 3600));
  for (const LimitSpec& spec : kLimitSpecs) {
    app.add_option(FlagOf(spec), limit_flags[&spec], spec.help)->check(CLI::Range(spec.min, spec.max));
  }
  if (verifies_tokens) {
    app.add_option("--token-public-key", token_key,
                   "PEM EC P-256 public key of the bearer-token issuer (deploy/pki: token-issuer.pub); unset: "
                   "calls carrying a token are refused");
    app.add_option("--token-issuer", token_issuer, "the 'iss' every bearer token must carry");
    app.add_option("--token-audience", token_audience, "the 'aud' every bearer token must carry");
    app.add_flag("--require-token", require_token,
                 "refuse calls without a valid bearer token (default: the client certificate alone suffices)");
  }
  for (const auto& peer : peer_names) {
    app.add_option("--" + peer + "-addr", peer_flags[peer], "address of the " + peer + " service");
    app.add_option("--" + peer + "-identity", identity_flags[peer],
                   "name the " + peer + " service's certificate must carry (DNS SAN; default '" + peer + "')");
  }
  if (extra) extra(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return absl::CancelledError(app.help());
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  }

  ServiceConfig cfg;
  cfg.service_name = std::string(service_name);
  std::string format_name = "json";
  if (!config_path.empty()) {
    toml::table doc;
    try {
      doc = toml::parse_file(config_path);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      return absl::InvalidArgumentError("config " + config_path + ":" + std::to_string(where.line) + ":" +
                                        std::to_string(where.column) + ": " + std::string(e.description()));
    }
    std::set<std::string> peers(peer_names.begin(), peer_names.end());
    if (auto s = ApplyToml(doc, config_path, peers, cfg, format_name); !s.ok()) return s;
  }
  if (listen) cfg.listen_address = *listen;
  if (port_file) cfg.port_file = *port_file;
  if (ca) cfg.tls.ca_cert_path = *ca;
  if (cert) cfg.tls.cert_path = *cert;
  if (key) cfg.tls.key_path = *key;
  if (crl) cfg.tls.crl_path = *crl;
  if (db) cfg.db_conninfo = *db;
  if (db_read) cfg.db_read_conninfo = *db_read;
  if (read_max_lag_ms) cfg.db_read_max_lag_ms = *read_max_lag_ms;
  if (log_level) cfg.log_level = *log_level;
  if (log_format) format_name = *log_format;
  if (drain_s) cfg.drain_timeout_s = *drain_s;
  if (statement_timeout_ms) cfg.db_limits.statement_timeout = std::chrono::milliseconds(*statement_timeout_ms);
  if (pool_wait_ms) cfg.db_limits.acquire_timeout = std::chrono::milliseconds(*pool_wait_ms);
  if (expiry_days) cfg.tls_expiry_warning_days = *expiry_days;
  if (token_key) cfg.auth.public_key_path = *token_key;
  if (token_issuer) cfg.auth.issuer = *token_issuer;
  if (token_audience) cfg.auth.audience = *token_audience;
  if (require_token) cfg.auth.require_token = true;
  for (const auto& [spec, value] : limit_flags) {
    if (value) cfg.limits.*(spec->field) = *value;
  }
  if (auto s = CheckTokenAuth(cfg.auth, verifies_tokens, service_name); !s.ok()) return s;
  if (auto s = CheckReadReplica(cfg, reads_standby); !s.ok()) return s;
  for (const auto& [peer, value] : peer_flags) {
    if (value) cfg.peers[peer] = *value;
  }
  for (const auto& [peer, value] : identity_flags) {
    if (value) cfg.peer_identities[peer] = *value;
  }

  auto format = ParseLogFormat(format_name);
  if (!format.ok()) return format.status();
  cfg.log_format = *format;
  if (cfg.listen_address.rfind(':') == std::string::npos) {
    return absl::InvalidArgumentError("listen: expected host:port, got '" + cfg.listen_address + "'");
  }
  if (cfg.tls.ca_cert_path.empty() || cfg.tls.cert_path.empty() || cfg.tls.key_path.empty()) {
    return absl::InvalidArgumentError(
        "tls: --tls-ca, --tls-cert and --tls-key (or [tls] ca/cert/key) are all required; healthtwin has no "
        "plaintext mode");
  }
  for (const auto& peer : peer_names) {
    if (cfg.peers[peer].empty()) {
      return absl::InvalidArgumentError("peers." + peer + ": the address of the " + peer + " service is required (--" +
                                        peer + "-addr)");
    }
    if (!cfg.peer_identities.contains(peer)) cfg.peer_identities[peer] = peer;
    if (cfg.peer_identities[peer].empty()) {
      return absl::InvalidArgumentError("peer_identities." + peer +
                                        ": must not be empty; it names the certificate the " + peer +
                                        " service must present");
    }
  }
  return cfg;
}

ServiceConfig ParseServiceConfigOrExit(int argc, const char* const* argv, std::string_view service_name,
                                       const std::vector<std::string>& peer_names,
                                       const std::function<void(CLI::App&)>& extra) {
  auto cfg = ParseServiceConfig(argc, argv, service_name, peer_names, extra);
  if (!cfg.ok()) {
    if (cfg.status().code() == absl::StatusCode::kCancelled) {
      std::cout << cfg.status().message();
      std::exit(0);
    }
    std::cerr << "healthtwin-" << service_name << ": " << cfg.status().message() << "\n";
    std::exit(2);
  }
  if (auto s = InitLogging(service_name, cfg->log_level, cfg->log_format); !s.ok()) {
    std::cerr << "healthtwin-" << service_name << ": " << s.message() << "\n";
    std::exit(2);
  }
  return *std::move(cfg);
}

}  // namespace healthtwin::common
