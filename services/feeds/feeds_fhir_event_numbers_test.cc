// FHIR event numbers (migration 0018): each feed's two subscriptions (alerts, vitals) count
// their events 1, 2, 3, ... with no gap, whatever the filters skip and whoever enqueues, and a
// resend carries the numbers first written. Real enqueuer, FhirEncoder and delivery loop over a
// private PostgreSQL; the payloads are read back from feed_outbox as stored.
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/pg.h"
#include "services/feeds/enqueuer.h"
#include "services/feeds/feed_worker.h"
#include "services/feeds/feeds_test_db.h"
#include "services/feeds/fhir_feed.h"
#include "services/feeds/test_fakes.h"

namespace healthtwin::feeds {
namespace {

using nlohmann::json;
using testing::ExecSql;
using testing::QueryInt64;

// What one stored Bundle says: events-since-subscription-start and its event numbers.
struct Numbers {
  int64_t since_start = 0;
  std::vector<int64_t> events;
};

Numbers NumbersOf(const json& bundle) {
  Numbers n;
  for (const json& p : bundle["entry"][0]["resource"]["parameter"]) {
    if (p["name"] == "events-since-subscription-start") n.since_start = std::stoll(p["valueString"].get<std::string>());
    if (p["name"] == "notification-event")
      n.events.push_back(std::stoll(p["part"][0]["valueString"].get<std::string>()));
  }
  return n;
}

class FeedsFhirEventNumbersTest : public FeedsDbTest {
 protected:
  // A fhir-rest-hook feed; `patients` is a SQL array literal ('{}': every patient).
  Feed AddFeed(const std::string& name, const std::string& patients) {
    ExecSql(su_, absl::StrCat("INSERT INTO feeds (name, kind, target, tls, send_alerts, send_vitals, patients,"
                              " created_by, updated_by) VALUES ('",
                              name, "', 'fhir-rest-hook', 'https://receiver.invalid/notify', true, true, true, '",
                              patients, "', 'admin1', 'admin1')"));
    Feed f;
    f.feed_id = QueryInt64(su_, absl::StrCat("SELECT feed_id FROM feeds WHERE name = '", name, "'"));
    f.config.name = name;
    f.config.kind = registry::FeedKind::kFhirRestHook;
    f.config.send_alerts = true;
    f.config.send_vitals = true;
    return f;
  }

  void AddAlert(const std::string& patient) {
    const int n = ++alerts_;
    ExecSql(su_, absl::StrCat("INSERT INTO alerts (alert_id, patient_id, rule_id, priority, state, summary,"
                              " condition_started_at, peak_value, ucum_unit, duration_s, covers) VALUES (md5('n",
                              n, "')::uuid, '", patient,
                              "', 'hr_high', 3, 1, 'HR above 130 /min', now(), 141, '/min', 60, '{heart_rate}')"));
    ExecSql(su_, absl::StrCat("INSERT INTO alert_events (alert_id, kind) VALUES (md5('n", n, "')::uuid, 1)"));
  }

  // One sample of `patient`; type 8 (glucose) has no R4 vital-signs profile and makes no event.
  void AddVital(const std::string& patient, int type, double value, const std::string& unit, int second) {
    ExecSql(su_, absl::StrCat("INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at,"
                              " device_record_seq, bridge_id) VALUES ('",
                              patient, "', 'AA:BB:CC:DD:EE:FF', ", type, ", ", value, ", '", unit,
                              "', timestamptz '2026-12-07 01:00:00+00' + interval '", second, " s', ", ++records_,
                              ", 'b1')"));
  }

  // The feed's stored Bundles of `source_kind`, in enqueue order, with the outbox's number columns.
  struct Stored {
    json bundle;
    int64_t first = 0, last = 0;  // 0: NULL
  };
  std::vector<Stored> StoredOf(const Feed& feed, const std::string& source_kind) {
    pqxx::connection c(su_);
    pqxx::nontransaction q(c);
    std::vector<Stored> out;
    for (const auto& r : q.exec_params("SELECT payload, coalesce(first_event_number, 0),"
                                       " coalesce(last_event_number, 0) FROM feed_outbox WHERE feed_id = $1"
                                       " AND source_kind = $2 ORDER BY id",
                                       feed.feed_id, source_kind)) {
      out.push_back({json::parse(r[0].as<std::string>()), r[1].as<int64_t>(), r[2].as<int64_t>()});
    }
    return out;
  }

  // Every event number of the stored Bundles in order, checking each Bundle's
  // events-since-subscription-start and outbox columns against its own numbers.
  std::vector<int64_t> AllNumbers(const Feed& feed, const std::string& source_kind) {
    std::vector<int64_t> all;
    for (const Stored& s : StoredOf(feed, source_kind)) {
      const Numbers n = NumbersOf(s.bundle);
      if (n.events.empty()) continue;
      EXPECT_EQ(n.since_start, n.events.back()) << s.bundle.dump();
      EXPECT_EQ(s.first, n.events.front());
      EXPECT_EQ(s.last, n.events.back());
      all.insert(all.end(), n.events.begin(), n.events.end());
    }
    return all;
  }

  static std::vector<int64_t> OneTo(int64_t n) {
    std::vector<int64_t> v;
    for (int64_t i = 1; i <= n; ++i) v.push_back(i);
    return v;
  }

  FhirEncoder encoder_{"https://ht.test/fhir/r4"};
  EncoderLookup encoders_ = [this](const Feed&) -> const MessageEncoder* { return &encoder_; };
  int alerts_ = 0;
  int records_ = 0;
};

TEST_F(FeedsFhirEventNumbersTest, AFilteredStreamCountsOneTwoThreeWithoutGapsAcrossReplicas) {
  const Feed feed = AddFeed("p1-only", "{p1}");
  common::PgPool pool(feeds_conninfo_, 2);
  Enqueuer replica_a(pool, encoders_);
  Enqueuer replica_b(pool, encoders_);
  ASSERT_TRUE(replica_a.RunOnce(feed).ok());  // the cursor at the current end

  // Interleaved with p2's rows (filtered out) and a glucose (no profile), over rounds that the
  // two replicas take in turn.
  AddAlert("p1");
  AddAlert("p2");
  AddVital("p2", 1, 70, "/min", 0);
  AddVital("p1", 1, 71, "/min", 1);
  ASSERT_TRUE(replica_a.RunOnce(feed).ok());
  AddAlert("p2");
  AddAlert("p1");
  AddVital("p1", 8, 99, "mg/dL", 2);
  AddVital("p2", 1, 72, "/min", 3);
  ASSERT_TRUE(replica_b.RunOnce(feed).ok());
  AddVital("p1", 8, 98, "mg/dL", 4);  // a Bundle of its own with no event: a heartbeat
  ASSERT_TRUE(replica_a.RunOnce(feed).ok());
  AddAlert("p1");
  AddVital("p1", 2, 121, "mm[Hg]", 5);  // a BP panel of two rows: one event
  AddVital("p1", 3, 79, "mm[Hg]", 5);
  AddVital("p1", 5, 97, "%", 6);
  ASSERT_TRUE(replica_b.RunOnce(feed).ok());

  EXPECT_EQ(AllNumbers(feed, "alert_event"), OneTo(3));
  EXPECT_EQ(AllNumbers(feed, "vitals"), OneTo(3));  // HR, BP panel, SpO2
  // The heartbeat repeats the count so far and takes no number.
  const auto vitals = StoredOf(feed, "vitals");
  ASSERT_EQ(vitals.size(), 4u);
  EXPECT_EQ(NumbersOf(vitals[2].bundle).since_start, 1);
  EXPECT_TRUE(NumbersOf(vitals[2].bundle).events.empty());
  EXPECT_EQ(vitals[2].first, 0) << "no numbers: NULL in the outbox";
  EXPECT_EQ(QueryInt64(su_, absl::StrCat("SELECT alert_events_numbered * 10 + vitals_events_numbered FROM"
                                         " feed_cursors WHERE feed_id = ",
                                         feed.feed_id)),
            33);
}

TEST_F(FeedsFhirEventNumbersTest, TwoFeedsCountIndependently) {
  const Feed only_p1 = AddFeed("p1-only", "{p1}");
  const Feed all = AddFeed("everyone", "{}");
  common::PgPool pool(feeds_conninfo_, 2);
  Enqueuer enqueuer(pool, encoders_);
  ASSERT_TRUE(enqueuer.RunOnce(only_p1).ok());
  ASSERT_TRUE(enqueuer.RunOnce(all).ok());
  for (const char* p : {"p1", "p2", "p1", "p3", "p1"}) AddAlert(p);
  ASSERT_TRUE(enqueuer.RunOnce(only_p1).ok());
  ASSERT_TRUE(enqueuer.RunOnce(all).ok());
  EXPECT_EQ(AllNumbers(only_p1, "alert_event"), OneTo(3));
  EXPECT_EQ(AllNumbers(all, "alert_event"), OneTo(5));
  for (const Stored& s : StoredOf(all, "alert_event")) {
    EXPECT_EQ(s.bundle["entry"][0]["resource"]["parameter"][0]["valueReference"]["reference"],
              absl::StrCat("https://ht.test/fhir/r4/Subscription/ht-feed-", all.feed_id, "-alerts"));
  }
}

TEST_F(FeedsFhirEventNumbersTest, AResendCarriesTheSameNumbers) {
  AddFeed("hospital", "{}");
  common::PgPool pool(feeds_conninfo_, 2);
  // The receiver fails the first attempt of every message (a 503), then accepts it.
  std::vector<std::string> sent;
  const auto transports = [&](const Feed&) -> absl::StatusOr<std::unique_ptr<Transport>> {
    return std::make_unique<fakes::CallbackTransport>([&](const std::string& payload, const std::string&) {
      sent.push_back(payload);
      return sent.size() % 2 == 1 ? SendResult{SendResult::Outcome::kRetry, "HTTP 503", "HTTP 503"}
                                  : SendResult{SendResult::Outcome::kDelivered, "", "HTTP 200"};
    });
  };
  WorkerOptions w;
  w.deliver.backoff = {.first = std::chrono::milliseconds(50), .cap = std::chrono::milliseconds(50)};
  FeedWorker worker(
      pool, feeds_conninfo_, encoders_, transports, [] { return 0.0; }, w);
  ASSERT_TRUE(worker.RunOnce().ok());
  AddAlert("p1");
  ASSERT_NO_FATAL_FAILURE(RunUntilSettled(worker));
  AddAlert("p2");
  ASSERT_NO_FATAL_FAILURE(RunUntilSettled(worker));
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0], sent[1]) << "the resend is the stored Bundle, byte for byte";
  EXPECT_EQ(sent[2], sent[3]);
  EXPECT_EQ(NumbersOf(json::parse(sent[1])).events, std::vector<int64_t>{1});
  EXPECT_EQ(NumbersOf(json::parse(sent[3])).events, std::vector<int64_t>{2});
  EXPECT_EQ(Count("state = 'delivered' AND attempts = 2"), 2);
}

}  // namespace
}  // namespace healthtwin::feeds
