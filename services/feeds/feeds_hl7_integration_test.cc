// The hl7v2-mllp feed end to end: real alert_events and vitals rows in a private PostgreSQL,
// the feed service's enqueue and delivery, the HL7 v2 encoder and MLLP client, and the real
// python3-hl7 peer (tests/peers/hl7_mllp_peer.py), which parses every message with hl7.parse.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/access.h"
#include "services/common/audit/fhir_audit_event.h"
#include "services/common/audit/keyring_key.h"
#include "services/common/audit/patient_records.h"
#include "services/common/audit/verify.h"
#include "services/common/pg.h"
#include "services/common/tls/tls.h"
#include "services/feeds/feed_worker.h"
#include "services/feeds/feeds_test_db.h"
#include "services/feeds/hl7_feed.h"
#include "services/feeds/test_peers.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::feeds {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::ExecSql;
using testing::QueryInt64;

class FeedsHl7IntegrationTest : public FeedsDbTest {
 protected:
  void SetUp() override {
    FeedsDbTest::SetUp();
    dir_ = ::testing::TempDir() + "/feeds_hl7_" + TestDatabaseName();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    peer_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Starts the peer (on `port`, 0: any) and waits for its port.
  void StartPeer(std::vector<std::string> flags, int port = 0) {
    const std::string port_file = dir_ + "/port" + std::to_string(++peers_);
    std::vector<std::string> args = {HT_HL7_PEER, "--port", std::to_string(port), "--port-file", port_file,
                                     "--record",  record_};
    args.insert(args.end(), flags.begin(), flags.end());
    ASSERT_NO_FATAL_FAILURE(testing_peers::StartPeer("/usr/bin/python3", args, port_file, peer_, port_));
  }

  std::vector<json> Received() const { return testing_peers::ReadJsonLines(record_); }

  int64_t AddFeed() {
    ExecSql(su_, absl::StrCat("INSERT INTO feeds (name, kind, target, tls, send_alerts, send_vitals, created_by,"
                              " updated_by) VALUES ('hospital', 'hl7v2-mllp', '127.0.0.1:",
                              port_, "', false, true, true, 'admin1', 'admin1')"));
    return QueryInt64(su_, "SELECT feed_id FROM feeds WHERE name = 'hospital'");
  }

  std::unique_ptr<FeedWorker> MakeWorker(common::PgPool& pool, WorkerOptions options = {}) {
    options.deliver.backoff = {.first = 400ms, .cap = 400ms};
    return std::make_unique<FeedWorker>(
        pool, feeds_conninfo_, [this](const Feed&) -> const MessageEncoder* { return &encoder_; },
        [](const Feed& feed) { return MakeMllpTransport(feed, {}); }, [] { return 0.0; }, options);
  }

  int64_t AddAlertEvent(const std::string& patient, const std::string& summary) {
    const int n = ++alerts_;
    ExecSql(su_, absl::StrCat("INSERT INTO alerts (alert_id, patient_id, rule_id, priority, state, summary,"
                              " condition_started_at, peak_value, ucum_unit, duration_s, covers) VALUES"
                              " (md5('a",
                              n, "')::uuid, '", patient, "', 'hr_high', 3, 1, ", "$$", summary, "$$",
                              ", now() + interval '", n, " s', 141, '/min', 60, '{heart_rate}')"));
    ExecSql(su_, absl::StrCat("INSERT INTO alert_events (alert_id, kind) VALUES (md5('a", n, "')::uuid, 1)"));
    return QueryInt64(su_, "SELECT max(event_seq) FROM alert_events");
  }

  std::string dir_;
  std::string record_ = "";
  std::unique_ptr<testing::Subprocess> peer_;
  int port_ = 0;
  int peers_ = 0;
  int alerts_ = 0;
  Hl7Encoder encoder_;
};

TEST_F(FeedsHl7IntegrationTest, RealPeerGetsOruR40AndOruR01WithTextIntactAndAnArDeadLetters) {
  record_ = dir_ + "/received.jsonl";
  ASSERT_NO_FATAL_FAILURE(StartPeer({"--answer-script", "AA,AR"}));
  const int64_t feed = AddFeed();
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());  // the cursor

  const std::string text = "HR | high ^ 141 & rising \\ check ~ now";
  const int64_t first = AddAlertEvent("p1", text);
  const int64_t rejected = AddAlertEvent("p1", "second");
  const int64_t third = AddAlertEvent("p1", "third");
  ExecSql(su_,
          "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
          " bridge_id) SELECT 'p2', 'd2', 1, 60 + g, '/min', now() - (g || ' s')::interval, g, 'b1'"
          " FROM generate_series(1, 3) g");
  RunUntilSettled(*worker);

  const auto received = Received();
  ASSERT_EQ(received.size(), 4u);
  EXPECT_EQ(received[0]["control_id"], absl::StrCat("ht-", feed, "-a", first));
  EXPECT_EQ(received[0]["message_type"], "ORU^R40^ORU_R40");
  EXPECT_EQ(received[0]["alert_text"], text) << "escaped on our side, unescaped by hl7.parse: intact";
  EXPECT_EQ(received[1]["control_id"], absl::StrCat("ht-", feed, "-a", rejected));
  EXPECT_EQ(received[2]["control_id"], absl::StrCat("ht-", feed, "-a", third));
  EXPECT_EQ(received[3]["message_type"], "ORU^R01^ORU_R01");
  EXPECT_EQ(received[3]["obx"].size(), 3u);

  EXPECT_EQ(Count("state = 'delivered' AND ack LIKE 'MSA|AA|ht-%'"), 3);
  EXPECT_EQ(
      Count(absl::StrCat("message_id = 'ht-", feed, "-a", rejected, "' AND state = 'dead' AND ack LIKE 'MSA|AR|%'")),
      1);
  EXPECT_EQ(QueryInt64(su_, "SELECT count(*) FROM technical_events WHERE kind = 'feed_dead_letter'"), 1);
}

TEST_F(FeedsHl7IntegrationTest, PeerDownThenBackOnTheSamePortGetsEveryMessageInOrder) {
  record_ = dir_ + "/received.jsonl";
  ASSERT_NO_FATAL_FAILURE(StartPeer({}));
  const int port = port_;
  const int64_t feed = AddFeed();
  peer_.reset();  // the hospital goes down
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(absl::StrCat("ht-", feed, "-a", AddAlertEvent("p1", "burst")));
  ASSERT_TRUE(worker->RunOnce().ok());
  EXPECT_EQ(Count("state = 'pending' AND attempts = 1 AND last_error IS NOT NULL"), 1);
  EXPECT_EQ(Count("state = 'pending' AND attempts = 0"), 4);

  ASSERT_NO_FATAL_FAILURE(StartPeer({}, port));
  RunUntilSettled(*worker);
  std::vector<std::string> got;
  for (const auto& r : Received()) got.push_back(r["control_id"]);
  EXPECT_EQ(got, ids);
}

// Each delivery is a disclosure (disclosure_audit.h): every answered attempt has an audit record
// in the chain, coded as an export, agent = the feeds certificate, and the patient's FHIR
// accounting of disclosures lists it; an attempt nobody answered has none.
TEST_F(FeedsHl7IntegrationTest, EveryAnsweredDeliveryIsAnAuditedDisclosureInThePatientsAccounting) {
  ASSERT_NO_FATAL_FAILURE(testing_peers::MakeDevPkis(HT_PKI_SCRIPT, dir_));
  const std::string pki = dir_ + "/pki";
  auto agent = common::IdentityFromCertificatePem(testing::ReadFileOrEmpty(pki + "/feeds.pem"));
  ASSERT_TRUE(agent.ok()) << agent.status();
  auto key = common::audit::CheckpointKeyFromKeyring(pki + "/keyring");
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_NE(*key, nullptr);

  record_ = dir_ + "/received.jsonl";
  ASSERT_NO_FATAL_FAILURE(StartPeer({"--answer-script", "AE,AA,AR"}));
  const int port = port_;
  const int64_t feed = AddFeed();
  peer_.reset();  // the first attempt finds nobody
  common::PgPool pool(feeds_conninfo_, 2);
  common::Access access(pool);
  access.EnableCheckpoints(*key, {.every_records = 2});
  WorkerOptions options;
  options.deliver.agent = *agent;
  options.deliver.checkpoints = &access;
  auto worker = MakeWorker(pool, options);
  ASSERT_TRUE(worker->RunOnce().ok());  // the cursor

  const std::string first = absl::StrCat("ht-", feed, "-a", AddAlertEvent("p1", "first"));
  const std::string second = absl::StrCat("ht-", feed, "-a", AddAlertEvent("p1", "second"));
  ASSERT_TRUE(worker->RunOnce().ok());
  ASSERT_EQ(Count("state = 'pending' AND attempts = 1"), 1);
  EXPECT_EQ(QueryInt64(su_, "SELECT count(*) FROM audit_log WHERE action = 'feed.export'"), 0)
      << "no answer, no disclosure on record";

  ASSERT_NO_FATAL_FAILURE(StartPeer({"--answer-script", "AE,AA,AR"}, port));
  RunUntilSettled(*worker);

  // AE (answered, not accepted), then AA for the first; AR (dead) for the second.
  const std::string target = absl::StrCat("127.0.0.1:", port);
  pqxx::connection conn(su_);
  std::vector<std::string> rows;
  for (const auto& r : pqxx::nontransaction(conn).exec(
           "SELECT entity_what || ' ' || outcome || ' ' || outcome_code || ' ' || event_type || ' ' || action_code || ' ' ||"
      " purpose_of_use || ' ' || actor || ' ' || role || ' ' || peer || ' ' || patient_id FROM audit_log"
           " WHERE action = 'feed.export' ORDER BY seq")) {
    rows.push_back(r[0].as<std::string>());
  }
  const std::string tail = absl::StrCat(" 110106 R TREAT feeds service ", target, " p1");
  EXPECT_EQ(rows, (std::vector<std::string>{absl::StrCat("feed_message/", first, " rejected 4", tail),
                                            absl::StrCat("feed_message/", first, " allowed 0", tail),
                                            absl::StrCat("feed_message/", second, " rejected 4", tail)}));
  EXPECT_EQ(QueryInt64(su_, "SELECT count(*) FROM audit_log WHERE action = 'feed.export' AND detail LIKE"
                            " 'hl7v2-mllp feed \"hospital\" to 127.0.0.1:%: acknowledged (MSA|AA|%'"),
            1);

  const auto bundle = common::audit::PatientAuditBundle(common::audit::ReadPatientRecords(conn, "p1", {}), "p1");
  int exports = 0;
  for (const auto& entry : bundle["entry"]) {
    const auto& event = entry["resource"];
    if (event["type"]["code"] != "110106") continue;
    ++exports;
    EXPECT_EQ(event["entity"][1]["what"]["identifier"]["value"].get<std::string>().rfind("feed_message/ht-", 0), 0u);
  }
  EXPECT_EQ(exports, 3);

  // The deliveries' records are signed like any other, and the chain verifies.
  EXPECT_GE(QueryInt64(su_, "SELECT count(*) FROM audit_checkpoints"), 1);
  const auto report = common::audit::VerifyChain(conn, {.exported = {}, .public_keys = {**key}});
  EXPECT_TRUE(report.ok) << report.Summary();
}

}  // namespace
}  // namespace healthtwin::feeds
