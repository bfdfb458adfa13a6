// Hospital feeds under faults (issue 12, item 5), black box: the real `healthtwin-feeds` binary
// as a process, the real python3-hl7 peer (tests/peers/hl7_mllp_peer.py, answers switched with
// its --mode-file), the feed registered and inspected with the real `healthtwin` CLI against
// the slice's registry, and the slice's in-process alerts evaluator raising the admins' feed
// alerts (migration 0015). Alert events are written by SQL, as the alerts lifecycle writes them.
//
// Cases: the peer down for 60 s during a burst of several patients' alerts; kill -9 of the
// service mid-delivery; AE three times (retried, then a technical alert, resolved on delivery);
// AR (dead letter, in `feed status` and as a technical alert).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/harness/migrated_database.h"
#include "tests/harness/subprocess.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Polls `done` every 100 ms until it is true or `timeout` passes; returns its last value.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

class FeedsFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(SliceEnvironment::cluster(), nullptr) << "the shared PostgreSQL cluster did not start";
    auto slice = Slice::Start(TestDatabaseName("ffault"));
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
    dir_ = ::testing::TempDir() + "/feeds_fault_" + TestDatabaseName("d");
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    record_ = dir_ + "/received.jsonl";
    mode_file_ = dir_ + "/mode";
    for (const char* p : {"p1", "p2", "p3", "p4"})
      Sql(absl::StrCat("INSERT INTO patients (patient_id) VALUES ('", p, "')"));
  }
  void TearDown() override {
    feeds_.reset();
    peer_.reset();
    slice_.reset();
    std::filesystem::remove_all(dir_);
  }

  const std::string& db() const { return slice_->conninfo(); }
  void Sql(const std::string& sql) { ExecSql(db(), sql); }
  int64_t Int(const std::string& sql) { return QueryInt(db(), sql); }

  // The peer on `port` (0: any), answering what the mode file says (AA when it is absent).
  void StartPeer(int port = 0) {
    const std::string port_file = dir_ + "/peer-port" + std::to_string(++peers_);
    auto peer = Subprocess::Spawn("/usr/bin/python3", {HT_HL7_PEER, "--port", std::to_string(port), "--port-file",
                                                       port_file, "--record", record_, "--mode-file", mode_file_});
    ASSERT_TRUE(peer.ok()) << peer.status();
    peer_ = std::move(*peer);
    ASSERT_TRUE(WaitUntil([&] { return !ReadFileOrEmpty(port_file).empty() || !peer_->Running(); }, 20s));
    ASSERT_TRUE(peer_->Running()) << peer_->Stderr();
    peer_port_ = std::stoi(ReadFileOrEmpty(port_file));
  }
  void SetPeerAnswer(const std::string& answer) {
    std::ofstream(mode_file_ + ".tmp") << answer << "\n";
    std::filesystem::rename(mode_file_ + ".tmp", mode_file_);
  }

  // Runs the real CLI against the slice's registry as the admin.
  CliResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--registry", slice_->data_address()});
    return RunHealthtwin(HT_HEALTHTWIN_BIN, "cli-admin", args);
  }
  void AddFeed() {
    CliResult add = Cli({"admin", "feed", "add", "--name", "hospital", "--kind", "hl7v2-mllp", "--target",
                         absl::StrCat("127.0.0.1:", peer_port_), "--content", "alerts"});
    ASSERT_EQ(add.code, 0) << add.err;
    feed_id_ = Int("SELECT feed_id FROM feeds WHERE name = 'hospital'");
  }
  std::string FeedStatus() {
    CliResult status = Cli({"admin", "feed", "status", "--name", "hospital"});
    EXPECT_EQ(status.code, 0) << status.err;
    return status.out;
  }

  // The real binary, as demo.sh runs it, with short backoff so the test is quick after a fault;
  // returns once it has set the feed's cursor (a new feed starts at the current end).
  void StartFeeds() {
    const common::TlsFiles tls = SliceEnvironment::Tls("feeds");
    const std::string port_file = dir_ + "/feeds-port" + std::to_string(++feeds_starts_);
    auto feeds = Subprocess::Spawn(
        HT_FEEDS_BIN, {"--tls-ca", tls.ca_cert_path, "--tls-cert", tls.cert_path, "--tls-key", tls.key_path, "--db",
                       ServiceConnInfo(db(), "feeds"), "--listen", "127.0.0.1:0", "--port-file", port_file,
                       "--first-retry-ms", "200", "--max-retry-s", "2"});
    ASSERT_TRUE(feeds.ok()) << feeds.status();
    feeds_ = std::move(*feeds);
    ASSERT_TRUE(WaitUntil([&] { return !ReadFileOrEmpty(port_file).empty() || !feeds_->Running(); }, 20s));
    ASSERT_TRUE(feeds_->Running()) << feeds_->Stderr();
    ASSERT_TRUE(WaitUntil([&] { return Int("SELECT count(*) FROM feed_cursors") == 1; }, 20s)) << feeds_->Stderr();
  }
  void KillFeeds() {
    ASSERT_TRUE(feeds_->Signal(SIGKILL).ok());
    auto exit = feeds_->Wait(10s);
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->signal, SIGKILL);
  }

  // One raised alert of `patient` and its event, as the alerts lifecycle writes them; returns
  // the message id the feed gives it (migration 0013).
  std::string AddAlertEvent(const std::string& patient) {
    const int n = ++alerts_;
    Sql(
        absl::StrCat("INSERT INTO alerts (alert_id, patient_id, rule_id, priority, state, summary,"
                     " condition_started_at, peak_value, ucum_unit, duration_s, covers) VALUES (md5('a",
                     n, "')::uuid, '", patient, "', 'hr_high', 3, 1, 'Heart rate above 120 /min',",
                     " now() + interval '", n, " s', 141, '/min', 60, '{heart_rate}')"));
    Sql(absl::StrCat("INSERT INTO alert_events (alert_id, kind) VALUES (md5('a", n, "')::uuid, 1)"));
    return absl::StrCat("ht-", feed_id_, "-a", Int("SELECT max(event_seq) FROM alert_events"));
  }

  std::vector<json> Received() const {
    std::vector<json> out;
    std::ifstream in(record_);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(json::parse(line));
    }
    return out;
  }
  int64_t Outbox(const std::string& where) {
    return Int(absl::StrCat("SELECT count(*) FROM feed_outbox WHERE feed_id = ", feed_id_, " AND ", where));
  }
  int64_t OpenFeedAlerts(const std::string& kind) {
    return Int(absl::StrCat("SELECT count(*) FROM feed_alerts WHERE feed_id = ", feed_id_, " AND kind = '", kind,
                            "' AND resolved_at IS NULL"));
  }

  // Every outbox message delivered; the peer received exactly the outbox's control ids (a
  // duplicate only ever repeats one), each patient's first receipts in the outbox's order.
  // Returns how many receipts were duplicates.
  int ExpectEveryMessageDeliveredInOrder(const std::map<std::string, std::vector<std::string>>& sent_by_patient,
                                         size_t sent) {
    EXPECT_EQ(Outbox("state = 'delivered'"), static_cast<int64_t>(sent));
    EXPECT_EQ(Outbox("true"), static_cast<int64_t>(sent));
    std::set<std::string> outbox_ids;
    for (const auto& [patient, ids] : sent_by_patient) outbox_ids.insert(ids.begin(), ids.end());
    std::set<std::string> seen;
    std::map<std::string, std::vector<std::string>> first_receipts;
    int duplicates = 0;
    for (const auto& r : Received()) {
      EXPECT_TRUE(r["parsed"].get<bool>()) << r.dump();
      const std::string id = r["control_id"];
      EXPECT_TRUE(outbox_ids.contains(id)) << id << " is not in the outbox";
      if (!seen.insert(id).second) {
        ++duplicates;
        continue;
      }
      first_receipts[r["patient_id"]].push_back(id);
    }
    EXPECT_EQ(seen, outbox_ids) << "a message was lost";
    EXPECT_EQ(first_receipts, sent_by_patient) << "order per patient";
    return duplicates;
  }

  std::unique_ptr<Slice> slice_;
  std::string dir_, record_, mode_file_;
  std::unique_ptr<Subprocess> peer_, feeds_;
  int peer_port_ = 0, peers_ = 0, feeds_starts_ = 0, alerts_ = 0;
  int64_t feed_id_ = 0;
};

TEST_F(FeedsFaultTest, PeerDownForAMinuteDuringABurstLosesNothingAndKeepsOrderPerPatient) {
  ASSERT_NO_FATAL_FAILURE(StartPeer());
  const int port = peer_port_;
  ASSERT_NO_FATAL_FAILURE(AddFeed());
  ASSERT_NO_FATAL_FAILURE(StartFeeds());
  std::map<std::string, std::vector<std::string>> sent;
  size_t count = 0;
  for (int i = 0; i < 3; ++i) {  // a few delivered before the outage
    sent["p1"].push_back(AddAlertEvent("p1"));
    ++count;
  }
  ASSERT_TRUE(WaitUntil([&] { return Outbox("state = 'delivered'") == 3; }, 20s)) << feeds_->Stderr();

  peer_.reset();  // the hospital goes down (SIGKILL) for the 60 s of issue 12
  const auto down_at = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) {
    for (const char* p : {"p1", "p2", "p3", "p4"}) {
      sent[p].push_back(AddAlertEvent(p));
      ++count;
    }
  }
  ASSERT_TRUE(WaitUntil([&] { return Outbox("true") == static_cast<int64_t>(count); }, 20s));
  std::this_thread::sleep_until(down_at + 60s);
  EXPECT_EQ(Outbox("state = 'delivered'"), 3) << "nothing can be delivered while the peer is down";
  EXPECT_EQ(Outbox("state = 'dead'"), 0) << "an outage is never a dead letter";
  EXPECT_GE(Int("SELECT coalesce(max(attempts), 0) FROM feed_outbox WHERE state = 'pending'"), 3)
      << "retried while down";

  ASSERT_NO_FATAL_FAILURE(StartPeer(port));  // back on the same port
  EXPECT_TRUE(WaitUntil([&] { return Outbox("state = 'delivered'") == static_cast<int64_t>(count); }, 30s))
      << feeds_->Stderr();
  ExpectEveryMessageDeliveredInOrder(sent, count);
  // The outage was also an episode of 'feed_retrying' for the admins, resolved once delivered.
  EXPECT_TRUE(WaitUntil([&] { return OpenFeedAlerts("feed_retrying") == 0; }, 10s));
  EXPECT_GE(Int("SELECT count(*) FROM feed_alerts WHERE kind = 'feed_retrying'"), 1);
}

TEST_F(FeedsFaultTest, KillNineMidDeliveryLosesNothingAndResendsOnlyWithTheSameControlId) {
  ASSERT_NO_FATAL_FAILURE(StartPeer());
  ASSERT_NO_FATAL_FAILURE(AddFeed());
  ASSERT_NO_FATAL_FAILURE(StartFeeds());
  SetPeerAnswer("none");  // the peer reads each message and never answers: a send stays in flight
  std::map<std::string, std::vector<std::string>> sent;
  size_t count = 0;
  for (int i = 0; i < 3; ++i) {
    for (const char* p : {"p1", "p2"}) {
      sent[p].push_back(AddAlertEvent(p));
      ++count;
    }
  }
  // Mid-delivery: the peer has the first message, the service waits for its ACK.
  ASSERT_TRUE(WaitUntil([&] { return !Received().empty(); }, 20s)) << feeds_->Stderr();
  ASSERT_NO_FATAL_FAILURE(KillFeeds());
  // The send in flight was never acknowledged: nothing is recorded as delivered. (The events not
  // yet enqueued at the kill are enqueued by the next start, from the cursor.)
  EXPECT_EQ(Outbox("state <> 'pending'"), 0) << "the unacknowledged send stays pending";

  SetPeerAnswer("AA");
  ASSERT_NO_FATAL_FAILURE(StartFeeds());
  EXPECT_TRUE(WaitUntil([&] { return Outbox("state = 'delivered'") == static_cast<int64_t>(count); }, 30s))
      << feeds_->Stderr();
  const int duplicates = ExpectEveryMessageDeliveredInOrder(sent, count);
  EXPECT_GE(duplicates, 1) << "the message in flight at the kill is sent again, with its MSH-10";
}

TEST_F(FeedsFaultTest, AeThreeTimesIsRetriedThenATechnicalAlertUntilDelivered) {
  ASSERT_NO_FATAL_FAILURE(StartPeer());
  ASSERT_NO_FATAL_FAILURE(AddFeed());
  SetPeerAnswer("AE");
  ASSERT_NO_FATAL_FAILURE(StartFeeds());
  const std::string id = AddAlertEvent("p1");
  ASSERT_TRUE(WaitUntil([&] { return OpenFeedAlerts("feed_retrying") == 1; }, 30s)) << feeds_->Stderr();
  EXPECT_EQ(Int(absl::StrCat("SELECT count(*) FROM technical_events WHERE kind = 'feed_retrying' AND message_id = '",
                             id, "'")),
            1);
  int answered_ae = 0;
  for (const auto& r : Received()) answered_ae += r["control_id"] == id && r["answer"] == "AE";
  EXPECT_GE(answered_ae, 3);
  EXPECT_EQ(Outbox("state = 'pending'"), 1) << "AE is retried, never dead-lettered";
  const std::string status = FeedStatus();
  EXPECT_THAT(status, HasSubstr("TECHNICAL ALERT medium feed_retrying since "));
  EXPECT_THAT(status, HasSubstr(absl::StrCat("last ", id, "): Messages are not being acknowledged")));
  EXPECT_EQ(Int("SELECT count(*) FROM alerts"), 1) << "no patient alert: only the one the test wrote";

  // More AE answers are the same episode: still one event, one alert.
  const int received_before = static_cast<int>(Received().size());
  ASSERT_TRUE(WaitUntil([&] { return static_cast<int>(Received().size()) >= received_before + 2; }, 20s));
  EXPECT_EQ(Int("SELECT count(*) FROM technical_events WHERE kind = 'feed_retrying'"), 1);

  SetPeerAnswer("AA");
  ASSERT_TRUE(WaitUntil([&] { return Outbox("state = 'delivered'") == 1; }, 20s)) << feeds_->Stderr();
  ASSERT_TRUE(WaitUntil([&] { return OpenFeedAlerts("feed_retrying") == 0; }, 10s));
  EXPECT_THAT(FeedStatus(), Not(HasSubstr("TECHNICAL ALERT")));
}

TEST_F(FeedsFaultTest, ArDeadLettersAndShowsInFeedStatusAndAsATechnicalAlert) {
  ASSERT_NO_FATAL_FAILURE(StartPeer());
  ASSERT_NO_FATAL_FAILURE(AddFeed());
  SetPeerAnswer("AR");
  ASSERT_NO_FATAL_FAILURE(StartFeeds());
  const std::string rejected = AddAlertEvent("p1");
  ASSERT_TRUE(WaitUntil([&] { return Outbox("state = 'dead'") == 1; }, 20s)) << feeds_->Stderr();
  SetPeerAnswer("AA");
  const std::string next = AddAlertEvent("p1");  // the patient's later messages go on
  ASSERT_TRUE(WaitUntil([&] { return Outbox("state = 'delivered'") == 1; }, 20s)) << feeds_->Stderr();
  ASSERT_TRUE(WaitUntil([&] { return OpenFeedAlerts("feed_dead_letter") == 1; }, 20s));

  const std::string status = FeedStatus();
  EXPECT_THAT(
      status,
      HasSubstr("hospital (enabled): 0 pending, 0 retries, 1 dead, 1 delivered; last acknowledged: " + next + " at "));
  EXPECT_THAT(status, HasSubstr("TECHNICAL ALERT medium feed_dead_letter since "));
  EXPECT_THAT(status, HasSubstr(absl::StrCat("(1 event, last ", rejected, "): The receiver rejected a message")));
  int sends_of_rejected = 0;
  for (const auto& r : Received()) sends_of_rejected += r["control_id"] == rejected;
  EXPECT_EQ(sends_of_rejected, 1) << "AR is never resent";
}

}  // namespace
}  // namespace healthtwin::testing
