#include "services/common/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace healthtwin::common {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ht-config-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& text) {
    std::string path = dir_ + "/service.toml";
    std::ofstream(path) << text;
    return path;
  }

  absl::StatusOr<ServiceConfig> Parse(std::vector<std::string> args, std::vector<std::string> peers = {}) {
    args.insert(args.begin(), "healthtwin-test");
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    return ParseServiceConfig(static_cast<int>(argv.size()), argv.data(), "test", peers);
  }

  absl::StatusOr<ServiceConfig> ParseAs(std::string_view service, std::vector<std::string> args) {
    args.insert(args.begin(), "healthtwin-test");
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    return ParseServiceConfig(static_cast<int>(argv.size()), argv.data(), service, {});
  }

  std::vector<std::string> WithTls(std::vector<std::string> args) const {
    args.insert(args.end(), kTls.begin(), kTls.end());
    return args;
  }

  const std::vector<std::string> kTls = {"--tls-ca", "ca.pem", "--tls-cert", "s.pem", "--tls-key", "s.key"};
  std::string dir_;
};

TEST_F(ConfigTest, ReadsAccessOverrides) {
  auto path = WriteFile(R"(
[access]
Acknowledge = ["service:clinician-api.prod", "admin"]
)");
  auto args = kTls;
  args.insert(args.end(), {"--config", path});
  auto cfg = Parse(args);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  ASSERT_EQ(cfg->access.count("Acknowledge"), 1u);
  EXPECT_EQ(cfg->access.at("Acknowledge"), (std::vector<std::string>{"service:clinician-api.prod", "admin"}));
}

TEST_F(ConfigTest, RejectsAccessEntryThatIsNotAnArrayOfStrings) {
  auto path = WriteFile(R"(
[access]
Acknowledge = "service:clinician_api"
)");
  auto args = kTls;
  args.insert(args.end(), {"--config", path});
  auto cfg = Parse(args);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("access.Acknowledge: must be an array of strings"), std::string::npos);
}

TEST_F(ConfigTest, FlagOverridesFile) {
  auto path = WriteFile(R"(
listen = "127.0.0.1:7000"
[tls]
ca = "file-ca.pem"
cert = "file.pem"
key = "file.key"
[database]
conninfo = "dbname=fromfile"
)");
  auto cfg = Parse({"--config", path, "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->listen_address, "127.0.0.1:0");
  EXPECT_EQ(cfg->tls.ca_cert_path, "file-ca.pem");
  EXPECT_EQ(cfg->db_conninfo, "dbname=fromfile");
}

TEST_F(ConfigTest, RejectsUnknownKeyNamingIt) {
  auto path = WriteFile("[database]\nconnifo = \"x\"\n");
  auto cfg = Parse({"--config", path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(cfg.status().message().find("database.connifo"), std::string::npos) << cfg.status();
}

TEST_F(ConfigTest, DatabaseLimitsFromFileAndFlags) {
  auto path = WriteFile("[database]\nstatement_timeout_ms = 2500\npool_wait_ms = 700\n");
  std::vector<std::string> args = {"--config", path, "--db-pool-wait-ms", "900"};
  args.insert(args.end(), kTls.begin(), kTls.end());
  auto cfg = Parse(args);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->db_limits.statement_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(cfg->db_limits.acquire_timeout, std::chrono::milliseconds(900));
}

TEST_F(ConfigTest, DatabaseLimitsDefaultToBoundedWaits) {
  std::vector<std::string> args = kTls;
  auto cfg = Parse(args);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->db_limits.statement_timeout, std::chrono::milliseconds(15'000));
  EXPECT_EQ(cfg->db_limits.acquire_timeout, std::chrono::milliseconds(5'000));
}

TEST_F(ConfigTest, ServerLimitsDefaultAndComeFromFileAndFlags) {
  auto defaults = Parse(kTls);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->limits.max_concurrent_streams, 100);
  EXPECT_EQ(defaults->limits.memory_quota_mb, 512);
  EXPECT_EQ(defaults->limits.max_connection_age_s, 300);
  EXPECT_EQ(defaults->limits.max_message_mb, 4);
  auto path = WriteFile("[limits]\nmax_concurrent_streams = 8\nmemory_quota_mb = 64\nmax_connection_age_s = 0\n");
  std::vector<std::string> args = {"--config", path, "--max-concurrent-streams", "16", "--max-message-mb", "2"};
  args.insert(args.end(), kTls.begin(), kTls.end());
  auto cfg = Parse(args);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->limits.max_concurrent_streams, 16);  // the flag over the file
  EXPECT_EQ(cfg->limits.memory_quota_mb, 64);
  EXPECT_EQ(cfg->limits.max_connection_age_s, 0);
  EXPECT_EQ(cfg->limits.max_message_mb, 2);
}

TEST_F(ConfigTest, RejectsServerLimitsOutOfRangeOrUnknownNamingThem) {
  const std::vector<std::pair<std::string, std::string>> bad_files = {
      {"[limits]\nmax_concurrent_streams = 0\n", "limits.max_concurrent_streams: must be an integer from 1"},
      {"[limits]\nmemory_quota_mb = \"lots\"\n", "limits.memory_quota_mb: must be an integer"},
      {"[limits]\nmax_message_mb = 65\n", "limits.max_message_mb: must be an integer from 1 to 64"},
      {"[limits]\nmax_streams = 5\n", "limits.max_streams: unknown key"},
  };
  for (const auto& [text, message] : bad_files) {
    auto cfg = Parse({"--config", WriteFile(text)});
    ASSERT_FALSE(cfg.ok()) << text;
    EXPECT_NE(cfg.status().message().find(message), std::string::npos) << cfg.status();
  }
  std::vector<std::string> args = {"--max-connection-age-s", "-1"};
  args.insert(args.end(), kTls.begin(), kTls.end());
  auto flag = Parse(args);
  ASSERT_FALSE(flag.ok());
  EXPECT_NE(flag.status().message().find("--max-connection-age-s"), std::string::npos) << flag.status();
}

TEST_F(ConfigTest, RejectsNegativeStatementTimeoutNamingIt) {
  auto path = WriteFile("[database]\nstatement_timeout_ms = -1\n");
  auto cfg = Parse({"--config", path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("database.statement_timeout_ms"), std::string::npos) << cfg.status();
}

TEST_F(ConfigTest, RejectsSyntaxErrorWithLine) {
  auto path = WriteFile("listen = \n");
  auto cfg = Parse({"--config", path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find(":1:"), std::string::npos) << cfg.status();
}

TEST_F(ConfigTest, RejectsWrongType) {
  auto path = WriteFile("drain_timeout_s = \"ten\"\n");
  auto cfg = Parse({"--config", path});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("drain_timeout_s"), std::string::npos) << cfg.status();
}

TEST_F(ConfigTest, RequiresTlsFiles) {
  auto cfg = Parse({});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("plaintext"), std::string::npos) << cfg.status();
}

TEST_F(ConfigTest, RejectsUnknownFlag) {
  auto args = kTls;
  args.push_back("--frobnicate");
  auto cfg = Parse(args);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("frobnicate"), std::string::npos) << cfg.status();
}

TEST_F(ConfigTest, RejectsBadLogFormat) {
  auto args = kTls;
  args.insert(args.end(), {"--log-format", "xml"});
  auto cfg = Parse(args);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("xml"), std::string::npos);
}

TEST_F(ConfigTest, RequiresPeerAddresses) {
  auto cfg = Parse(kTls, {"alerts"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("--alerts-addr"), std::string::npos) << cfg.status();
  auto args = kTls;
  args.insert(args.end(), {"--alerts-addr", "localhost:1"});
  cfg = Parse(args, {"alerts"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->peers.at("alerts"), "localhost:1");
}

TEST_F(ConfigTest, PeerIdentityDefaultsToTheServiceName) {
  auto args = kTls;
  args.insert(args.end(), {"--alerts-addr", "localhost:1"});
  auto cfg = Parse(args, {"alerts"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->peer_identities.at("alerts"), "alerts");
  EXPECT_EQ(cfg->tls_expiry_warning_days, 30);
}

TEST_F(ConfigTest, PeerIdentityAndExpiryThresholdComeFromFileAndFlags) {
  auto path = WriteFile(R"(
[tls]
expiry_warning_days = 45
[peers]
alerts = "10.0.0.5:7444"
twin = "10.0.0.6:7445"
[peer_identities]
alerts = "alerts-eu1"
twin = "twin-eu1"
)");
  auto args = kTls;
  args.insert(args.end(), {"--config", path, "--twin-identity", "twin-eu2"});
  auto cfg = Parse(args, {"alerts", "twin"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->peer_identities.at("alerts"), "alerts-eu1");
  EXPECT_EQ(cfg->peer_identities.at("twin"), "twin-eu2");
  EXPECT_EQ(cfg->tls_expiry_warning_days, 45);
}

TEST_F(ConfigTest, RejectsEmptyPeerIdentity) {
  auto args = kTls;
  args.insert(args.end(), {"--alerts-addr", "localhost:1", "--alerts-identity", ""});
  auto cfg = Parse(args, {"alerts"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("peer_identities.alerts"), std::string::npos) << cfg.status();
}

TEST_F(ConfigTest, CrlPathIsOptionalAndComesFromFileOrFlag) {
  auto without = Parse(kTls);
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_EQ(without->tls.crl_path, "");  // No CRL: revocation checking off.

  auto path = WriteFile("[tls]\ncrl = \"file-crl.pem\"\n");
  auto args = kTls;
  args.insert(args.end(), {"--config", path});
  auto from_file = Parse(args);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->tls.crl_path, "file-crl.pem");

  args.insert(args.end(), {"--tls-crl", "flag-crl.pem"});
  auto from_flag = Parse(args);
  ASSERT_TRUE(from_flag.ok()) << from_flag.status();
  EXPECT_EQ(from_flag->tls.crl_path, "flag-crl.pem");
}

TEST_F(ConfigTest, RejectsMissingConfigFile) {
  auto cfg = Parse({"--config", dir_ + "/nope.toml"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("nope.toml"), std::string::npos) << cfg.status();
}

TEST_F(ConfigTest, ShippedExampleConfigsParse) {
  auto ingest = Parse({"--config", std::string(HT_CONFIG_DIR) + "/ingest.toml"});
  ASSERT_TRUE(ingest.ok()) << ingest.status();
  EXPECT_EQ(ingest->listen_address, "127.0.0.1:7443");
  auto api = Parse({"--config", std::string(HT_CONFIG_DIR) + "/clinician_api.toml"},
                   {"ingest", "alerts", "twin", "simulation"});
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_EQ(api->peers.at("twin"), "localhost:7445");
  EXPECT_EQ(api->peer_identities.at("twin"), "twin");
  EXPECT_EQ(api->peers.at("simulation"), "localhost:7447");
  EXPECT_EQ(api->peer_identities.at("simulation"), "simulation");
}

TEST_F(ConfigTest, ReadsBearerTokenSettingsForTheClinicianApi) {
  auto path = WriteFile(R"(
[auth]
token_public_key = "/pki/token-issuer.pub"
token_issuer = "https://tokens.example"
token_audience = "healthtwin-clinician-api"
require_token = true
)");
  auto args = kTls;
  args.insert(args.end(), {"--config", path});
  auto cfg = ParseAs("clinician_api", args);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->auth.public_key_path, "/pki/token-issuer.pub");
  EXPECT_EQ(cfg->auth.issuer, "https://tokens.example");
  EXPECT_EQ(cfg->auth.audience, "healthtwin-clinician-api");
  EXPECT_TRUE(cfg->auth.require_token);
}

TEST_F(ConfigTest, BearerTokenFlagsOverrideTheFile) {
  auto path = WriteFile(R"(
[auth]
token_public_key = "/pki/token-issuer.pub"
token_issuer = "https://tokens.example"
token_audience = "file-audience"
)");
  auto args = kTls;
  args.insert(args.end(), {"--config", path, "--token-audience", "flag-audience", "--require-token"});
  auto cfg = ParseAs("clinician_api", args);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->auth.audience, "flag-audience");
  EXPECT_TRUE(cfg->auth.require_token);
}

TEST_F(ConfigTest, RefusesBearerTokenSettingsWhereTokensAreNotVerified) {
  auto path = WriteFile("[auth]\nrequire_token = true\n");
  auto args = kTls;
  args.insert(args.end(), {"--config", path});
  auto cfg = ParseAs("ingest", args);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(std::string(cfg.status().message()).find("does not verify bearer tokens"), std::string::npos)
      << cfg.status();
  args = kTls;
  args.insert(args.end(), {"--require-token"});
  EXPECT_FALSE(ParseAs("ingest", args).ok());  // no such flag there
}

TEST_F(ConfigTest, RequireTokenNeedsTheKeyIssuerAndAudience) {
  auto args = kTls;
  args.insert(args.end(), {"--require-token"});
  auto cfg = ParseAs("clinician_api", args);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(std::string(cfg.status().message()).find("auth.token_public_key"), std::string::npos) << cfg.status();
  args.insert(args.end(), {"--token-public-key", "k.pub", "--token-issuer", "iss"});
  cfg = ParseAs("clinician_api", args);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(std::string(cfg.status().message()).find("auth.token_audience"), std::string::npos) << cfg.status();
}

TEST_F(ConfigTest, RefusesANonBooleanRequireToken) {
  auto path = WriteFile("[auth]\nrequire_token = \"yes\"\n");
  auto args = kTls;
  args.insert(args.end(), {"--config", path});
  auto cfg = ParseAs("clinician_api", args);
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(std::string(cfg.status().message()).find("auth.require_token: must be true or false"), std::string::npos)
      << cfg.status();
}

// --db-read and [database] read_* (read_replica.h).
TEST_F(ConfigTest, IngestTakesTheReadConnectionFromFileAndFlags) {
  auto defaults = ParseAs("ingest", kTls);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->db_read_conninfo, "");
  EXPECT_EQ(defaults->db_read_max_lag_ms, 5000);

  auto path = WriteFile("[database]\nread_conninfo = \"host=standby\"\nread_max_lag_ms = 2000\n");
  auto from_file = ParseAs("ingest", WithTls({"--config", path}));
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->db_read_conninfo, "host=standby");
  EXPECT_EQ(from_file->db_read_max_lag_ms, 2000);

  auto flags = ParseAs("ingest", WithTls({"--config", path, "--db-read", "host=other", "--db-read-max-lag-ms", "900"}));
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->db_read_conninfo, "host=other");
  EXPECT_EQ(flags->db_read_max_lag_ms, 900);
}

TEST_F(ConfigTest, RejectsALagBoundOutOfRangeNamingIt) {
  auto flag = ParseAs("ingest", WithTls({"--db-read-max-lag-ms", "100"}));
  ASSERT_FALSE(flag.ok());
  EXPECT_NE(flag.status().message().find("--db-read-max-lag-ms"), std::string::npos) << flag.status();
  auto file = ParseAs("ingest", WithTls({"--config", WriteFile("[database]\nread_max_lag_ms = \"soon\"\n")}));
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("database.read_max_lag_ms: must be an integer from 250"), std::string::npos)
      << file.status();
}

TEST_F(ConfigTest, ServicesWithoutAStandbyReadPathRefuseIt) {
  auto flag = ParseAs("alerts", WithTls({"--db-read", "host=standby"}));
  ASSERT_FALSE(flag.ok());
  EXPECT_NE(flag.status().message().find("--db-read"), std::string::npos) << flag.status();
  auto file = ParseAs("alerts", WithTls({"--config", WriteFile("[database]\nread_conninfo = \"host=standby\"\n")}));
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("database.read_conninfo: alerts reads only from the primary"),
            std::string::npos)
      << file.status();
}

}  // namespace
}  // namespace healthtwin::common
