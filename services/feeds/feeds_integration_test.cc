// The feed service against a real PostgreSQL (tests/harness): enqueue from real alert_events
// and vitals rows, restart from the cursor, two replicas, backoff, dead letters, replay, pause,
// and a sequence value committed late. The encoder and the transport are fakes of our own
// interfaces (message_encoder.h, transport.h); the HL7 ones replace them when they land.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/common/pg.h"
#include "services/feeds/feed_worker.h"
#include "services/feeds/feeds_test_db.h"
#include "services/feeds/test_fakes.h"
#include "services/registry/feed_store.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::feeds {
namespace {

using namespace std::chrono_literals;
using testing::ExecSql;
using testing::QueryInt64;

using fakes::FakeEncoder;

// Records every send; answers from a script per message id (then: delivered). Flags a message
// sent by two callers at once.
class RecordingTransport : public Transport {
 public:
  struct Sent {
    std::string message_id;
    std::string payload;
  };
  SendResult Send(const std::string& payload, const std::string& message_id) override {
    {
      std::lock_guard lock(mu_);
      if (!in_flight_.insert(message_id).second) concurrent_ = true;
      if (!patients_in_flight_.insert(PatientOf(payload)).second) patient_overlap_ = true;
      sent_.push_back({message_id, payload});
    }
    std::this_thread::sleep_for(send_delay_);
    std::lock_guard lock(mu_);
    in_flight_.erase(message_id);
    patients_in_flight_.erase(PatientOf(payload));
    auto& script = script_[message_id];
    if (script.empty()) return {SendResult::Outcome::kDelivered, "", "ACK " + message_id};
    SendResult r = script.front();
    script.pop_front();
    return r;
  }
  void Script(const std::string& message_id, std::vector<SendResult> results) {
    std::lock_guard lock(mu_);
    script_[message_id].assign(results.begin(), results.end());
  }
  std::vector<Sent> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  bool concurrent() const {
    std::lock_guard lock(mu_);
    return concurrent_;
  }
  // A patient's message was sent while another of that patient's was still in flight.
  bool patient_overlap() const {
    std::lock_guard lock(mu_);
    return patient_overlap_;
  }
  std::chrono::milliseconds send_delay_{0};

 private:
  mutable std::mutex mu_;
  std::vector<Sent> sent_;
  std::set<std::string> in_flight_;
  std::map<std::string, std::deque<SendResult>> script_;
  bool concurrent_ = false;
  std::set<std::string> patients_in_flight_;
  bool patient_overlap_ = false;
  static std::string PatientOf(const std::string& payload) {
    const std::vector<std::string> parts = absl::StrSplit(payload, '|');
    return parts.size() > 2 ? parts[2] : "";
  }
};

// A transport per feed that forwards to one shared recorder.
class Forwarding : public Transport {
 public:
  explicit Forwarding(RecordingTransport& to) : to_(to) {}
  SendResult Send(const std::string& payload, const std::string& message_id) override {
    return to_.Send(payload, message_id);
  }

 private:
  RecordingTransport& to_;
};

class FeedsIntegrationTest : public FeedsDbTest {
 protected:
  void SetUp() override {
    FeedsDbTest::SetUp();
    ingest_pool_ = std::make_unique<common::PgPool>(testing::ServiceConnInfo(su_, "ingest"), 2);
    store_ = std::make_unique<registry::FeedStore>(*ingest_pool_);
  }

  // Adds a feed through the registry's store (as the admin RPC does) and returns its id.
  int64_t AddFeed(const std::string& name, bool alerts, bool vitals, int min_priority = 1,
                  std::vector<std::string> patients = {}) {
    registry::FeedConfig c;
    c.name = name;
    c.kind = registry::FeedKind::kHl7v2Mllp;
    c.target = "127.0.0.1:2575";
    c.send_alerts = alerts;
    c.send_vitals = vitals;
    c.min_priority = min_priority;
    c.patient_ids = std::move(patients);
    auto added = store_->Add(c, "admin1");
    EXPECT_TRUE(added.ok()) << added.status();
    return QueryInt64(su_, absl::StrCat("SELECT feed_id FROM feeds WHERE name = '", name, "'"));
  }

  std::unique_ptr<FeedWorker> MakeWorker(common::PgPool& pool, WorkerOptions options = {}) {
    options.idle_poll = 50ms;
    return std::make_unique<FeedWorker>(
        pool, feeds_conninfo_, [this](const Feed&) -> const MessageEncoder* { return &encoder_; },
        [this](const Feed&) -> absl::StatusOr<std::unique_ptr<Transport>> {
          return std::make_unique<Forwarding>(transport_);
        },
        [] { return 0.0; }, options);
  }

  // An alert and its 'raised' event; returns the event_seq.
  int64_t AddAlertEvent(const std::string& patient, int priority, const std::string& summary = "s") {
    const int n = ++alerts_;
    ExecSql(su_, absl::StrCat("INSERT INTO alerts (alert_id, patient_id, rule_id, priority, state, summary,"
                              " condition_started_at, peak_value, ucum_unit, duration_s) VALUES"
                              " (md5('a",
                              n, "')::uuid, '", patient, "', 'r", n, "', ", priority, ", 1, '", summary,
                              "', now(), 130, '/min', 60)"));
    ExecSql(su_, absl::StrCat("INSERT INTO alert_events (alert_id, kind) VALUES (md5('a", n, "')::uuid, 1)"));
    return QueryInt64(su_, "SELECT max(event_seq) FROM alert_events");
  }

  void AddVitals(const std::string& patient, int count) {
    ExecSql(su_, absl::StrCat("INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at,"
                              " device_record_seq, bridge_id) SELECT '",
                              patient, "', 'd-", patient,
                              "', 1, 60 + g, '/min', now() - (g || ' s')::interval, g, 'b1'"
                              " FROM generate_series(1, ",
                              count, ") g"));
  }

  std::unique_ptr<common::PgPool> ingest_pool_;
  std::unique_ptr<registry::FeedStore> store_;
  FakeEncoder encoder_;
  RecordingTransport transport_;
  int alerts_ = 0;
};

TEST_F(FeedsIntegrationTest, NewFeedStartsAtTheEndThenEnqueuesFilteredAlertsAndBatchedVitals) {
  const int64_t feed = AddFeed("ward", true, true, /*min_priority=*/2, {"p1", "p2"});
  AddAlertEvent("p1", 3);  // before the feed was first seen: not sent
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());
  EXPECT_EQ(Count("true"), 0);

  AddAlertEvent("p1", 1);  // below min_priority
  const int64_t high = AddAlertEvent("p1", 3, "HR | high ^ & \\ ~");
  AddAlertEvent("p3", 3);  // not one of the feed's patients
  AddVitals("p1", 3);
  AddVitals("p3", 2);
  // Enqueue only: nothing is due to the transport in a paused feed.
  ASSERT_TRUE(store_->SetPaused("ward", true, "admin1").ok());
  ASSERT_TRUE(worker->RunOnce().ok());

  EXPECT_EQ(Count("source_kind = 'alert_event'"), 1);
  EXPECT_EQ(Count(absl::StrCat("message_id = 'ht-", feed, "-a", high, "' AND patient_id = 'p1'")), 1);
  EXPECT_EQ(QueryInt64(su_, absl::StrCat("SELECT count(*) FROM feed_outbox WHERE payload = "
                                         "'ALERT|ht-",
                                         feed, "-a", high, "|p1|", high, "|3|HR | high ^ & \\ ~'")),
            1);
  EXPECT_EQ(Count("source_kind = 'vitals' AND patient_id = 'p1' AND source_last_seq - source_first_seq = 2"), 1);
  EXPECT_EQ(Count("patient_id = 'p3'"), 0);
  EXPECT_TRUE(transport_.sent().empty());
  // The cursor is at the end of both sources.
  EXPECT_EQ(QueryInt64(su_, "SELECT alert_event_seq FROM feed_cursors"),
            QueryInt64(su_, "SELECT max(event_seq) FROM alert_events"));
  EXPECT_EQ(QueryInt64(su_, "SELECT vitals_seq FROM feed_cursors"),
            QueryInt64(su_, "SELECT max(ingest_seq) FROM vitals"));

  ASSERT_TRUE(store_->SetPaused("ward", false, "admin1").ok());
  RunUntilSettled(*worker);
  EXPECT_EQ(transport_.sent().size(), 2u);
  EXPECT_EQ(Count("state = 'delivered' AND attempts = 1 AND ack LIKE 'ACK ht-%' AND delivered_at IS NOT NULL"), 2);
}

TEST_F(FeedsIntegrationTest, RestartResumesFromTheCursorWithoutDuplicates) {
  AddFeed("ward", true, true);
  {
    common::PgPool pool(feeds_conninfo_, 2);
    auto first = MakeWorker(pool);
    ASSERT_TRUE(first->RunOnce().ok());
    for (int i = 0; i < 5; ++i) AddAlertEvent("p1", 2);
    AddVitals("p2", 4);
    RunUntilSettled(*first);
  }
  for (int i = 0; i < 3; ++i) AddAlertEvent("p1", 2);
  common::PgPool pool(feeds_conninfo_, 2);
  auto second = MakeWorker(pool);  // a new process: new gap trackers, no memory of the first
  RunUntilSettled(*second);
  ASSERT_TRUE(second->RunOnce().ok());

  EXPECT_EQ(Count("true"), 9);
  const auto sent = transport_.sent();
  std::set<std::string> ids;
  for (const auto& s : sent) ids.insert(s.message_id);
  EXPECT_EQ(sent.size(), 9u);
  EXPECT_EQ(ids.size(), 9u);
}

TEST_F(FeedsIntegrationTest, TwoReplicasDeliverEachMessageOnceInOrderPerPatient) {
  const int64_t feed = AddFeed("ward", true, false);
  common::PgPool pool_a(feeds_conninfo_, 2), pool_b(feeds_conninfo_, 2);
  auto a = MakeWorker(pool_a);
  auto b = MakeWorker(pool_b);
  // Every message is in the outbox before both replicas start, each patient's in one run of
  // ids, so both compete for the same patient's queue from the first claim.
  ASSERT_TRUE(store_->SetPaused("ward", true, "admin1").ok());
  ASSERT_TRUE(a->RunOnce().ok());
  std::map<std::string, std::vector<int64_t>> written;
  for (const char* p : {"p1", "p2", "p3", "p4"}) {
    for (int i = 0; i < 15; ++i) written[p].push_back(AddAlertEvent(p, 2));
  }
  ASSERT_TRUE(a->RunOnce().ok());
  ASSERT_EQ(Count("state = 'pending'"), 60);
  ASSERT_TRUE(store_->SetPaused("ward", false, "admin1").ok());
  transport_.send_delay_ = 5ms;
  RunBothUntilDelivered(*a, *b, 60);

  EXPECT_EQ(Count("state = 'delivered' AND attempts = 1"), 60);
  EXPECT_FALSE(transport_.concurrent());
  EXPECT_FALSE(transport_.patient_overlap()) << "a patient's next message was sent before the previous one was done";
  std::map<std::string, std::vector<int64_t>> received;
  std::set<std::string> ids;
  for (const auto& s : transport_.sent()) {
    ids.insert(s.message_id);
    const std::vector<std::string> parts = absl::StrSplit(s.payload, '|');
    received[parts[2]].push_back(std::stoll(parts[3]));
  }
  EXPECT_EQ(transport_.sent().size(), 60u);
  EXPECT_EQ(ids.size(), 60u);
  EXPECT_EQ(received, written);  // every patient's events, each once, in the order written
  EXPECT_EQ(QueryInt64(su_, absl::StrCat("SELECT count(*) FROM feed_outbox WHERE feed_id = ", feed)), 60);
}

TEST_F(FeedsIntegrationTest, RetryBacksOffHoldsThePatientsLaterMessagesAndEventuallyDelivers) {
  const int64_t feed = AddFeed("ward", true, false);
  WorkerOptions options;
  options.deliver.backoff = {.first = 2s, .cap = 2s};  // with jitter 0: 1 s between attempts
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool, options);
  ASSERT_TRUE(worker->RunOnce().ok());
  const int64_t first = AddAlertEvent("p1", 2);
  const int64_t second = AddAlertEvent("p1", 2);
  const int64_t other = AddAlertEvent("p2", 2);
  const std::string first_id = absl::StrCat("ht-", feed, "-a", first);
  const SendResult busy{SendResult::Outcome::kRetry, "AE: busy", "MSA|AE|" + first_id};
  transport_.Script(first_id, {busy, busy, busy});

  ASSERT_TRUE(worker->RunOnce().ok());
  // The first failed and waits; p1's second waits behind it; p2 went on.
  EXPECT_EQ(Count(absl::StrCat("message_id = '", first_id,
                               "' AND state = 'pending' AND attempts = 1 AND last_error = 'AE: busy'"
                               " AND next_attempt_at > now() + interval '200 ms'")),
            1);
  EXPECT_EQ(Count(absl::StrCat("message_id = 'ht-", feed, "-a", second, "' AND attempts = 0")), 1);
  EXPECT_EQ(Count(absl::StrCat("message_id = 'ht-", feed, "-a", other, "' AND state = 'delivered'")), 1);

  RunUntilSettled(*worker);
  EXPECT_EQ(Count(absl::StrCat("message_id = '", first_id, "' AND state = 'delivered' AND attempts = 4")), 1);
  std::vector<std::string> order;
  for (const auto& s : transport_.sent()) order.push_back(s.message_id);
  const std::vector<std::string> expected = {first_id, absl::StrCat("ht-", feed, "-a", other), first_id, first_id,
                                             first_id, absl::StrCat("ht-", feed, "-a", second)};
  EXPECT_EQ(order, expected);
}

TEST_F(FeedsIntegrationTest, PermanentRejectionDeadLettersRaisesATechnicalEventAndUnblocksThePatient) {
  const int64_t feed = AddFeed("ward", true, false);
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());
  const int64_t rejected = AddAlertEvent("p1", 3);
  AddAlertEvent("p1", 3);
  const std::string rejected_id = absl::StrCat("ht-", feed, "-a", rejected);
  transport_.Script(rejected_id, {{SendResult::Outcome::kPermanent, "AR: unknown patient", "MSA|AR|" + rejected_id}});

  RunUntilSettled(*worker);
  EXPECT_EQ(Count(absl::StrCat("message_id = '", rejected_id,
                               "' AND state = 'dead' AND attempts = 1 AND ack = 'MSA|AR|", rejected_id, "'")),
            1);
  EXPECT_EQ(Count("state = 'delivered'"), 1);
  EXPECT_EQ(QueryInt64(su_, absl::StrCat("SELECT count(*) FROM technical_events WHERE kind = 'feed_dead_letter'"
                                         " AND feed_id = ",
                                         feed, " AND message_id = '", rejected_id, "' AND patient_id IS NULL")),
            1);
  auto status = store_->Status("ward");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ((*status)[0].dead_count, 1u);
}

TEST_F(FeedsIntegrationTest, ReplayResendsTheSameMessageIdsAndPayloads) {
  AddFeed("ward", true, true);
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());
  AddAlertEvent("p1", 2);
  AddAlertEvent("p2", 2);
  AddVitals("p1", 2);
  RunUntilSettled(*worker);
  const auto before = transport_.sent();
  ASSERT_EQ(before.size(), 3u);

  auto requeued = store_->Replay("ward", 0, "admin1");
  ASSERT_TRUE(requeued.ok()) << requeued.status();
  EXPECT_EQ(*requeued, 3u);
  RunUntilSettled(*worker);
  const auto after = transport_.sent();
  ASSERT_EQ(after.size(), 6u);
  std::multiset<std::pair<std::string, std::string>> first, second;
  for (size_t i = 0; i < 3; ++i) first.insert({after[i].message_id, after[i].payload});
  for (size_t i = 3; i < 6; ++i) second.insert({after[i].message_id, after[i].payload});
  EXPECT_EQ(first, second);
  EXPECT_EQ(Count("true"), 3);  // no new rows
}

// ingest_seq / event_seq values are taken before commit: a lower one committed after a higher
// one must still be enqueued, and before it in the patient's order.
TEST_F(FeedsIntegrationTest, AnEventCommittedLateBelowTheCursorIsNotSkipped) {
  const int64_t feed = AddFeed("ward", true, false);
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());

  pqxx::connection slow(su_);
  pqxx::work slow_tx(slow);
  slow_tx.exec(
      "INSERT INTO alerts (alert_id, patient_id, rule_id, priority, state, summary, condition_started_at, peak_value,"
      " ucum_unit, duration_s) VALUES (md5('slow')::uuid, 'p1', 'slow', 2, 1, 's', now(), 1, '/min', 1)");
  const int64_t late = slow_tx
                           .exec(
                               "INSERT INTO alert_events (alert_id, kind) VALUES (md5('slow')::uuid, 1)"
                               " RETURNING event_seq")[0][0]
                           .as<int64_t>();
  const int64_t early = AddAlertEvent("p1", 2);
  ASSERT_LT(late, early);

  ASSERT_TRUE(worker->RunOnce().ok());
  EXPECT_EQ(Count("true"), 0);  // held behind the gap, not skipped over
  slow_tx.commit();
  for (int i = 0; i < 3 && Count("state = 'delivered'") < 2; ++i) ASSERT_TRUE(worker->RunOnce().ok());
  std::vector<std::string> order;
  for (const auto& s : transport_.sent()) order.push_back(s.message_id);
  EXPECT_EQ(order,
            (std::vector<std::string>{absl::StrCat("ht-", feed, "-a", late), absl::StrCat("ht-", feed, "-a", early)}));
}

// kill -9 of a replica while it waits for a receiver's answer: the message in flight stays
// pending (its transaction never committed), the next replica sends it again under the same id,
// and every message arrives, in order per patient, with that one resend as the only duplicate.
TEST_F(FeedsIntegrationTest, KillDashNineMidSendLosesNothingAndResendsTheSameId) {
  AddFeed("ward", true, false);
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool);
  ASSERT_TRUE(worker->RunOnce().ok());  // the cursor, before the events
  for (int i = 0; i < 10; ++i) {
    for (const char* p : {"p1", "p2", "p3", "p4"}) AddAlertEvent(p, 2);
  }
  constexpr int kHangAt = 12;
  // One message per batch: the commit follows each ACK (the batched case: feeds_batch_integration_test.cc).
  const std::vector<std::string> before_kill = SendUntilReplicaHangsThenKill(kHangAt, 1);
  ASSERT_EQ(before_kill.size(), static_cast<size_t>(kHangAt));
  EXPECT_EQ(Count("state = 'delivered'"), kHangAt - 1);
  const std::string in_flight = before_kill.back();
  EXPECT_EQ(Count("message_id = '" + in_flight + "' AND state = 'pending' AND attempts = 0"), 1);

  RunUntilSettled(*worker);
  EXPECT_EQ(Count("state = 'delivered'"), 40);
  std::vector<std::string> all = before_kill;
  for (const auto& s : transport_.sent()) all.push_back(s.message_id);
  EXPECT_EQ(all.size(), 41u);
  EXPECT_EQ(std::count(all.begin(), all.end(), in_flight), 2);
  EXPECT_EQ(transport_.sent().front().message_id, in_flight) << "the oldest due message is the one in flight";
  // Per patient, in event order, the resend right after the first try.
  pqxx::connection c(su_);
  pqxx::nontransaction q(c);
  std::map<std::string, std::pair<std::string, int64_t>> source;
  for (const auto& r : q.exec("SELECT message_id, patient_id, source_first_seq FROM feed_outbox")) {
    source[r[0].as<std::string>()] = {r[1].as<std::string>(), r[2].as<int64_t>()};
  }
  std::map<std::string, std::vector<int64_t>> per_patient;
  for (const auto& id : all) {
    auto& seqs = per_patient[source.at(id).first];
    if (!seqs.empty() && seqs.back() == source.at(id).second) continue;  // the resend
    seqs.push_back(source.at(id).second);
  }
  for (const auto& [patient, seqs] : per_patient) {
    EXPECT_EQ(seqs.size(), 10u) << patient;
    EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << patient;
  }
}

}  // namespace
}  // namespace healthtwin::feeds
