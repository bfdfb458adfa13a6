// Batched delivery (deliverer.h) against a real PostgreSQL: two replicas claiming small batches
// of per-patient runs keep every patient's order and never send one patient's messages at once;
// a kill -9 mid-batch resends that batch's messages (same ids) and none of the batches
// committed before it.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/common/pg.h"
#include "services/feeds/feed_worker.h"
#include "services/feeds/feeds_test_db.h"
#include "services/feeds/test_fakes.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::feeds {
namespace {

using namespace std::chrono_literals;
using testing::ExecSql;
using testing::QueryInt64;

// The fake encoder's payload is "ALERT|<id>|<patient>|<event_seq>|...".
std::vector<std::string> Fields(const std::string& payload) { return absl::StrSplit(payload, '|'); }

// Shared by every replica's transport: what was sent, and whether a patient had two messages
// in flight at once.
class OrderRecorder {
 public:
  SendResult Send(const std::string& payload, const std::string& message_id) {
    const std::string patient = Fields(payload)[2];
    {
      std::lock_guard lock(mu_);
      if (!in_flight_.insert(patient).second) overlap_ = true;
      sent_.push_back(payload);
    }
    std::this_thread::sleep_for(2ms);
    std::lock_guard lock(mu_);
    in_flight_.erase(patient);
    return {SendResult::Outcome::kDelivered, "", "ACK " + message_id};
  }
  std::vector<std::string> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  bool overlap() const {
    std::lock_guard lock(mu_);
    return overlap_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> sent_;
  std::set<std::string> in_flight_;
  bool overlap_ = false;
};

class FeedsBatchIntegrationTest : public FeedsDbTest {
 protected:
  void AddFeed() {
    ExecSql(su_,
            "INSERT INTO feeds (name, kind, target, tls, send_alerts, send_vitals, created_by, updated_by)"
            " VALUES ('ward', 'hl7v2-mllp', '127.0.0.1:2575', false, true, false, 'admin1', 'admin1')");
  }
  // `rounds` alert events for each of p1..p4, round after round (p1, p2, p3, p4, p1, ...), each
  // event on an alert of its own. Returns each patient's event_seqs in order.
  std::map<std::string, std::vector<int64_t>> AddAlertEvents(int rounds) {
    const std::string events = absl::StrCat("generate_series(0, ", 4 * rounds - 1, ") g");
    ExecSql(su_,
            "INSERT INTO alerts (alert_id, patient_id, rule_id, priority, state, summary, condition_started_at,"
            " peak_value, ucum_unit, duration_s) SELECT md5('a' || g)::uuid, 'p' || (1 + g % 4), 'r' || g, 2, 1,"
            " 's', now(), 130, '/min', 60 FROM " +
                events);
    ExecSql(su_,
            "INSERT INTO alert_events (alert_id, kind) SELECT md5('a' || g)::uuid, 1 FROM " + events + " ORDER BY g");
    std::map<std::string, std::vector<int64_t>> seqs;
    pqxx::connection c(su_);
    pqxx::nontransaction q(c);
    for (const auto& r : q.exec("SELECT a.patient_id, e.event_seq FROM alert_events e JOIN alerts a USING (alert_id)"
                                " ORDER BY e.event_seq")) {
      seqs[r[0].as<std::string>()].push_back(r[1].as<int64_t>());
    }
    return seqs;
  }
  std::unique_ptr<FeedWorker> MakeWorker(common::PgPool& pool, WorkerOptions options) {
    options.idle_poll = 50ms;
    return std::make_unique<FeedWorker>(
        pool, feeds_conninfo_, [this](const Feed&) -> const MessageEncoder* { return &encoder_; },
        [this](const Feed&) -> absl::StatusOr<std::unique_ptr<Transport>> {
          return std::make_unique<fakes::CallbackTransport>(
              [this](const std::string& payload, const std::string& id) { return recorder_.Send(payload, id); });
        },
        [] { return 0.0; }, options);
  }
  // message id -> (patient, event_seq), from the outbox.
  std::map<std::string, std::pair<std::string, int64_t>> Sources() {
    pqxx::connection c(su_);
    pqxx::nontransaction q(c);
    std::map<std::string, std::pair<std::string, int64_t>> source;
    for (const auto& r : q.exec("SELECT message_id, patient_id, source_first_seq FROM feed_outbox")) {
      source[r[0].as<std::string>()] = {r[1].as<std::string>(), r[2].as<int64_t>()};
    }
    return source;
  }

  fakes::FakeEncoder encoder_;
  OrderRecorder recorder_;
};

TEST_F(FeedsBatchIntegrationTest, TwoReplicasClaimingBatchesOfRunsKeepEachPatientsOrder) {
  AddFeed();
  WorkerOptions options;
  // Small batches of short runs, so the two replicas claim, skip and extend often.
  options.deliver.max_messages_per_batch = 3;
  options.deliver.max_run_per_patient = 2;
  common::PgPool pool_a(feeds_conninfo_, 2), pool_b(feeds_conninfo_, 2);
  auto a = MakeWorker(pool_a, options);
  auto b = MakeWorker(pool_b, options);
  ASSERT_TRUE(a->RunOnce().ok());  // the cursor, before the events
  ExecSql(su_, "UPDATE feeds SET state = 'paused'");
  const auto written = AddAlertEvents(15);
  ASSERT_TRUE(a->RunOnce().ok());
  ASSERT_EQ(Count("state = 'pending'"), 60);
  ExecSql(su_, "UPDATE feeds SET state = 'enabled', updated_at = now()");
  RunBothUntilDelivered(*a, *b, 60);

  EXPECT_EQ(Count("state = 'delivered' AND attempts = 1"), 60);
  EXPECT_FALSE(recorder_.overlap()) << "two of a patient's messages were in flight at once";
  std::map<std::string, std::vector<int64_t>> received;
  for (const auto& payload : recorder_.sent()) {
    const auto f = Fields(payload);
    received[f[2]].push_back(std::stoll(f[3]));
  }
  EXPECT_EQ(recorder_.sent().size(), 60u);
  EXPECT_EQ(received, written);  // each once, in the order written
}

// The replica sends in batches of 5 and hangs in its 12th send: batches 1-5 and 6-10 are
// committed, 11 and 12 were sent in a batch that never commits. The next replica resends 11 and
// 12 (same ids, attempts still 0) and none of 1-10.
TEST_F(FeedsBatchIntegrationTest, KillDashNineMidBatchResendsOnlyTheUnrecordedBatch) {
  AddFeed();
  common::PgPool pool(feeds_conninfo_, 2);
  auto worker = MakeWorker(pool, {});
  ASSERT_TRUE(worker->RunOnce().ok());  // the cursor, before the events
  AddAlertEvents(10);
  constexpr int kBatch = 5, kHangAt = 12, kRecorded = 10;
  const std::vector<std::string> before_kill = SendUntilReplicaHangsThenKill(kHangAt, kBatch);
  ASSERT_EQ(before_kill.size(), static_cast<size_t>(kHangAt));
  const std::vector<std::string> recorded(before_kill.begin(), before_kill.begin() + kRecorded);
  const std::vector<std::string> unrecorded(before_kill.begin() + kRecorded, before_kill.end());
  EXPECT_EQ(Count("state = 'delivered'"), kRecorded);
  for (const auto& id : recorded) EXPECT_EQ(Count("message_id = '" + id + "' AND state = 'delivered'"), 1) << id;
  for (const auto& id : unrecorded) {
    EXPECT_EQ(Count("message_id = '" + id + "' AND state = 'pending' AND attempts = 0"), 1) << id;
  }

  RunUntilSettled(*worker);
  EXPECT_EQ(Count("state = 'delivered'"), 40);
  std::vector<std::string> after;
  for (const auto& payload : recorder_.sent()) after.push_back(Fields(payload)[1]);
  EXPECT_EQ(after.size(), 40u - kRecorded);
  for (const auto& id : recorded) EXPECT_EQ(std::count(after.begin(), after.end(), id), 0) << id << " resent";
  for (const auto& id : unrecorded) EXPECT_EQ(std::count(after.begin(), after.end(), id), 1) << id;
  // Per patient: what was recorded, then everything after it in order, each once.
  const auto source = Sources();
  std::map<std::string, std::vector<int64_t>> per_patient;
  std::vector<std::string> in_order = recorded;
  in_order.insert(in_order.end(), after.begin(), after.end());
  for (const auto& id : in_order) per_patient[source.at(id).first].push_back(source.at(id).second);
  for (const auto& [patient, seqs] : per_patient) {
    EXPECT_EQ(seqs.size(), 10u) << patient;
    EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << patient;
  }
}

}  // namespace
}  // namespace healthtwin::feeds
