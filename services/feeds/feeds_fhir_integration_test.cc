// The fhir-rest-hook feed end to end: real alert_events and vitals rows in a private
// PostgreSQL, the feed service's enqueue and delivery (FeedWorker), the FHIR encoder and the
// HTTPS transport (cpp-httplib, mutual TLS from the development PKI made by the real script),
// and the Node receiver (tests/peers/fhir_receiver.mjs), which validates every resource with
// @medplum/core and checks LOINC, UCUM and the BP components itself.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/pg.h"
#include "services/feeds/feed_worker.h"
#include "services/feeds/feeds_test_db.h"
#include "services/feeds/fhir_feed.h"
#include "services/feeds/test_peers.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::feeds {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::ExecSql;
using testing::QueryInt64;
using testing::ReadFileOrEmpty;
using testing::Subprocess;

class FeedsFhirIntegrationTest : public FeedsDbTest {
 protected:
  static void SetUpTestSuite() {
    FeedsDbTest::SetUpTestSuite();
    std::string pattern = (std::filesystem::temp_directory_path() / "ht-fhir-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = new std::filesystem::path(pattern);
    ASSERT_NO_FATAL_FAILURE(testing_peers::MakeDevPkis(HT_PKI_SCRIPT, *dir_));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    FeedsDbTest::TearDownTestSuite();
  }
  void TearDown() override { peer_.reset(); }

  static std::string Pki(const std::string& file) { return (*dir_ / "pki" / file).string(); }
  static std::string ForeignPki(const std::string& file) { return (*dir_ / "pki-foreign" / file).string(); }

  // Starts the receiver with the "alerts" server certificate of the dev PKI, requiring a
  // client certificate of the dev CA, plus `flags`.
  void StartReceiver(std::vector<std::string> flags) {
    const std::string port_file = (*dir_ / "receiver.port").string();
    record_ = (*dir_ / (TestDatabaseName() + ".jsonl")).string();
    std::vector<std::string> args = {HT_FHIR_RECEIVER,  "--port",          "0",          "--port-file",     port_file,
                                     "--record",        record_,           "--tls-cert", Pki("alerts.pem"), "--tls-key",
                                     Pki("alerts.key"), "--tls-client-ca", Pki("ca.pem")};
    args.insert(args.end(), flags.begin(), flags.end());
    ASSERT_NO_FATAL_FAILURE(testing_peers::StartPeer("/usr/bin/node", args, port_file, peer_, port_));
  }

  std::vector<json> Received() const { return testing_peers::ReadJsonLines(record_); }

  // A fhir-rest-hook feed to the receiver ("alerts" resolves to 127.0.0.1 in the transport),
  // trusting `ca_pem`, presenting our client certificate.
  int64_t AddFeed(const std::string& ca_pem, const std::string& host = "alerts") {
    ExecSql(su_, absl::StrCat("INSERT INTO feeds (name, kind, target, tls, tls_ca_pem, tls_client_cert, send_alerts,"
                              " send_vitals, created_by, updated_by) VALUES ('hospital', 'fhir-rest-hook',"
                              " 'https://",
                              host, ":", port_, "/fhir/notify', true, $pem$", ca_pem,
                              "$pem$, true, true, true, 'admin1', 'admin1')"));
    return QueryInt64(su_, "SELECT feed_id FROM feeds WHERE name = 'hospital'");
  }

  std::unique_ptr<FeedWorker> MakeWorker(common::PgPool& pool, FhirTransportOptions options = {}) {
    options.identity = {Pki("feeds.pem"), Pki("feeds.key")};
    options.host_addresses = {{"alerts", "127.0.0.1"}, {"twin", "127.0.0.1"}};
    options.connect_timeout = 3s;
    options.read_timeout = 10s;
    WorkerOptions w;
    w.deliver.backoff = {.first = 300ms, .cap = 300ms};
    return std::make_unique<FeedWorker>(
        pool, feeds_conninfo_, [this](const Feed&) -> const MessageEncoder* { return &encoder_; },
        [options](const Feed& feed) { return MakeFhirTransport(feed, options); }, [] { return 0.0; }, w);
  }

  // A raised heart-rate alert (priority high) for `patient`; returns the SQL of its uuid.
  std::string AddAlert(const std::string& patient) {
    const int n = ++alerts_;
    ExecSql(su_, absl::StrCat("INSERT INTO alerts (alert_id, patient_id, rule_id, priority, state, summary,"
                              " condition_started_at, peak_value, ucum_unit, duration_s, covers) VALUES (md5('f",
                              n, "')::uuid, '", patient,
                              "', 'hr_high', 3, 1, 'HR above 130 /min', now(), 141, '/min', 60, '{heart_rate}')"));
    ExecSql(su_, absl::StrCat("INSERT INTO alert_events (alert_id, kind) VALUES (md5('f", n, "')::uuid, 1)"));
    return absl::StrCat("md5('f", n, "')::uuid");
  }

  std::string LastErrors() {
    pqxx::connection c(su_);
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT coalesce(string_agg(last_error, ';'), '') FROM feed_outbox")[0].as<std::string>();
  }

  static inline std::filesystem::path* dir_ = nullptr;
  std::string record_;
  std::unique_ptr<Subprocess> peer_;
  int port_ = 0;
  int alerts_ = 0;
  FhirEncoder encoder_{"https://ht.test/fhir/r4"};
};

TEST_F(FeedsFhirIntegrationTest, VitalsAndAlertEventsArriveValidOverMutualTls) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver({}));
  const int64_t feed = AddFeed(ReadFileOrEmpty(Pki("ca.pem")));
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());  // the cursor starts at the end

  const std::string alert = AddAlert("p1");
  ExecSql(su_, absl::StrCat("INSERT INTO alert_events (alert_id, kind, actor) VALUES (", alert, ", 4, 'nurse-nora')"));
  // One reading of each profiled type, a cuff reading stored as two rows, and a glucose (no
  // R4 vital-signs profile: skipped).
  ExecSql(su_,
          "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
          " bridge_id) SELECT 'p2', 'AA:BB:CC:DD:EE:FF', t, v, u, timestamptz '2026-12-07 01:00:00+00', t, 'b1'"
          " FROM (VALUES (1, 72, '/min'), (2, 121, 'mm[Hg]'), (3, 79, 'mm[Hg]'), (5, 97, '%'), (6, 36.8, 'Cel'),"
          " (7, 71.5, 'kg'), (8, 99, 'mg/dL'), (9, 14, '/min'), (10, 73, '/min')) AS s(t, v, u)");
  RunUntilSettled(*worker);

  const auto received = Received();
  ASSERT_EQ(received.size(), 3u);
  std::set<std::string> outbox_ids;
  for (const json& r : received) {
    EXPECT_EQ(r["errors"], json::array()) << r.dump(1);
    EXPECT_EQ(r["answered"], 200);
    EXPECT_EQ(r["method"], "POST");
    EXPECT_EQ(r["path"], "/fhir/notify");
    EXPECT_EQ(r["content_type"], "application/fhir+json");
    EXPECT_EQ(r["client_cert_cn"], "feeds");
    outbox_ids.insert(r["bundle_id"].get<std::string>());
  }
  EXPECT_EQ(Count("state = 'delivered' AND ack LIKE 'HTTP 200%'"), 3);
  EXPECT_EQ(testing::QueryInt64(
                su_, absl::StrCat("SELECT count(*) FROM feed_outbox WHERE message_id IN ('", *outbox_ids.begin(),
                                  "', '", *std::next(outbox_ids.begin()), "', '", *outbox_ids.rbegin(), "')")),
            3);

  // Alerts: raised, then acknowledged, both for the same CommunicationRequest.
  const json& raised = received[0];
  EXPECT_EQ(raised["subscription"], absl::StrCat("https://ht.test/fhir/r4/Subscription/ht-feed-", feed, "-alerts"));
  std::map<std::string, json> by_type;
  for (const json& r : raised["resources"]) by_type[r["type"]] = r;
  EXPECT_EQ(by_type["CommunicationRequest"]["priority"], "stat");
  EXPECT_EQ(by_type["CommunicationRequest"]["status"], "active");
  EXPECT_EQ(by_type["DetectedIssue"]["severity"], "high");
  EXPECT_EQ(by_type["Observation"]["loinc"], json::array({"8867-4"}));
  const json& acked = received[1];
  EXPECT_NE(acked["events"][0]["focus"].get<std::string>().find("/Communication/ht-ack-"), std::string::npos)
      << acked.dump(1);
  EXPECT_EQ(acked["resources"].back()["based_on"], by_type["CommunicationRequest"]["type"].get<std::string>() + "/" +
                                                       by_type["CommunicationRequest"]["id"].get<std::string>());
  EXPECT_EQ(std::stoll(acked["events"][0]["number"].get<std::string>()),
            std::stoll(raised["events"][0]["number"].get<std::string>()) + 1);

  // Vitals: one Bundle for p2, one event per Observation, the BP rows as one panel.
  const json& vitals = received[2];
  EXPECT_EQ(vitals["subscription"], absl::StrCat("https://ht.test/fhir/r4/Subscription/ht-feed-", feed, "-vitals"));
  std::multiset<std::string> loincs;
  for (const json& r : vitals["resources"]) {
    if (r["type"] == "Observation") loincs.insert(r["loinc"][0].get<std::string>());
  }
  EXPECT_EQ(loincs,
            (std::multiset<std::string>{"8867-4", "85354-9", "2708-6", "8310-5", "29463-7", "9279-1", "8867-4"}));
  EXPECT_EQ(vitals["events"].size(), 7u);
}

TEST_F(FeedsFhirIntegrationTest, A500AndA429AreRetriedThenDeliveredUnderTheSameBundleId) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver({"--answer-script", "500,429"}));
  AddFeed(ReadFileOrEmpty(Pki("ca.pem")));
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());
  AddAlert("p1");
  RunUntilSettled(*worker);
  const auto received = Received();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0]["answered"], 500);
  EXPECT_EQ(received[1]["answered"], 429);
  EXPECT_EQ(received[2]["answered"], 200);
  EXPECT_EQ(received[0]["bundle_id"], received[2]["bundle_id"]);
  EXPECT_EQ(received[1]["bundle_id"], received[2]["bundle_id"]);
  EXPECT_EQ(Count("state = 'delivered' AND attempts = 3"), 1);
}

TEST_F(FeedsFhirIntegrationTest, A400DeadLettersAndTheNextMessageGoesOn) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver({"--answer-script", "400"}));
  AddFeed(ReadFileOrEmpty(Pki("ca.pem")));
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());
  AddAlert("p1");
  AddAlert("p1");
  RunUntilSettled(*worker);
  EXPECT_EQ(Count("state = 'dead' AND ack LIKE 'HTTP 400%'"), 1);
  EXPECT_EQ(Count("state = 'delivered'"), 1);
  EXPECT_EQ(QueryInt64(su_, "SELECT count(*) FROM technical_events WHERE kind = 'feed_dead_letter'"), 1);
  EXPECT_EQ(Received().size(), 2u);
}

TEST_F(FeedsFhirIntegrationTest, AReceiverCertificateFromAnotherCaIsRefusedAndRetriedNotDelivered) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver({}));
  AddFeed(ReadFileOrEmpty(ForeignPki("ca.pem")));  // the feed trusts another CA than the receiver's
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());
  AddAlert("p1");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(worker->RunOnce().ok());
    std::this_thread::sleep_for(350ms);
  }
  EXPECT_EQ(Count("state = 'pending' AND attempts >= 2 AND last_error LIKE '%SSLServerVerification%'"), 1)
      << LastErrors();
  EXPECT_TRUE(Received().empty());
}

TEST_F(FeedsFhirIntegrationTest, AReceiverWhoseCertificateNamesAnotherHostIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver({}));  // presents "alerts"
  AddFeed(ReadFileOrEmpty(Pki("ca.pem")), "twin");
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());
  AddAlert("p1");
  ASSERT_TRUE(worker->RunOnce().ok());
  ASSERT_TRUE(worker->RunOnce().ok());
  EXPECT_EQ(Count("state = 'pending' AND attempts >= 1 AND last_error LIKE '%SSLServerVerification%'"), 1)
      << LastErrors();
  EXPECT_TRUE(Received().empty());
}

TEST_F(FeedsFhirIntegrationTest, ABearerTokenFromTheTokenDirectoryIsSent) {
  ASSERT_NO_FATAL_FAILURE(StartReceiver({"--bearer", "s3cret-token"}));
  AddFeed(ReadFileOrEmpty(Pki("ca.pem")));
  const std::string tokens = (*dir_ / "tokens").string();
  std::filesystem::create_directories(tokens);
  std::ofstream(tokens + "/hospital.token") << "s3cret-token\n";
  common::PgPool pool(feeds_conninfo_, 2);
  FhirTransportOptions options;
  options.bearer_token_dir = tokens;
  auto worker = MakeWorker(pool, options);
  ASSERT_TRUE(worker->RunOnce().ok());
  AddAlert("p1");
  RunUntilSettled(*worker);
  ASSERT_EQ(Received().size(), 1u);
  EXPECT_EQ(Received()[0]["errors"], json::array());
  EXPECT_EQ(Count("state = 'delivered'"), 1);
}

}  // namespace
}  // namespace healthtwin::feeds
