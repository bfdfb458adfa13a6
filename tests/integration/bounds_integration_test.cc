// Bounds on expensive requests, against real components: PostgreSQL (the shared test cluster),
// gRPC over mutual TLS on port 0, the production service classes.
//  - PgPool: statement_timeout and a bounded wait for a free connection.
//  - RunUnary: a full executor queue answers RESOURCE_EXHAUSTED "server busy" at once.
//  - Vitals queries: bucket cap, keyset paging (union of pages == unpaged, no duplicates, even
//    when rows arrive between pages or while a writer runs during paging), page token validation.
//  - Alerts: the patient-id cap and a replay of more than 10,000 events, complete and in pages.
#include <atomic>
#include <chrono>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "healthtwin/alerts/v1/alerts.grpc.pb.h"
#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/alerts/alert_service.h"
#include "services/alerts/evaluator.h"
#include "services/common/config.h"
#include "services/common/executor.h"
#include "services/common/grpc_util.h"
#include "services/common/pg.h"
#include "services/common/service_host.h"
#include "services/common/time_util.h"
#include "services/ingest/query_service.h"
#include "services/ingest/vitals_reader.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

using namespace std::chrono_literals;
namespace vv1 = healthtwin::vitals::v1;
namespace av1 = healthtwin::alerts::v1;

constexpr int64_t kSecondUs = 1'000'000;
constexpr int64_t kDayUs = 86'400 * kSecondUs;
// 2026-01-01T00:00:00Z: a fixed base so the data and the ranges are the same every run.
constexpr int64_t kBaseUs = 1'767'225'600 * kSecondUs;

void SetDeadline(grpc::ClientContext& ctx, std::chrono::seconds timeout = kRpcDeadline) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

common::ServiceConfig HostConfig(const std::string& conninfo) {
  common::ServiceConfig cfg;
  cfg.service_name = "bounds";
  cfg.listen_address = "127.0.0.1:0";
  cfg.tls = SliceEnvironment::Tls("ingest");
  cfg.db_conninfo = conninfo;
  cfg.drain_timeout_s = 1;
  return cfg;
}

void Exec(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::work tx(conn);
  tx.exec(sql);
  tx.commit();
}

// A fresh migrated database per test (the Slice's hosts are not used by most tests).
class BoundsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = std::string("bounds_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::string db;
    for (char c : name) db += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto slice = Slice::Start(db.substr(0, 60));  // PostgreSQL names stop at 63 bytes
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
    conninfo_ = slice_->conninfo();
  }

  std::unique_ptr<Slice> slice_;
  std::string conninfo_;
};

// ------------------------------------------------------------------------------ PgPool

TEST_F(BoundsTest, StatementTimeoutCancelsALongQueryWithDeadlineExceeded) {
  common::PgPool pool(conninfo_, 1, {}, {.statement_timeout = 200ms, .acquire_timeout = 5s});
  const auto t0 = std::chrono::steady_clock::now();
  absl::Status s = pool.WithTransaction("sleep", [](pqxx::work& tx) { tx.exec("SELECT pg_sleep(3)"); });
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_NE(s.message().find("statement timeout"), std::string::npos) << s;
  EXPECT_LT(elapsed, 2s);
  // The connection is still usable afterwards.
  EXPECT_TRUE(pool.WithTransaction("ping", [](pqxx::work& tx) { tx.exec("SELECT 1"); }).ok());
}

TEST_F(BoundsTest, PoolWaitGivesUpWhenEveryConnectionStaysBusy) {
  common::PgPool pool(conninfo_, 1, {}, {.statement_timeout = 15s, .acquire_timeout = 300ms});
  std::promise<void> holding, release;
  std::thread holder([&] {
    (void)pool.WithConnection("hold", [&](pqxx::connection&) {
      holding.set_value();
      release.get_future().wait();
    });
  });
  holding.get_future().wait();
  const auto t0 = std::chrono::steady_clock::now();
  auto call = std::async(std::launch::async, [&] {
    return pool.WithTransaction("second", [](pqxx::work& tx) { tx.exec("SELECT 1"); });
  });
  const bool returned = call.wait_for(3s) == std::future_status::ready;
  release.set_value();
  holder.join();
  ASSERT_TRUE(returned) << "Acquire waited more than 3 s for a busy pool";
  const absl::Status s = call.get();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("database pool exhausted"), std::string::npos) << s;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
}

// ------------------------------------------------------------------------------ executor

TEST_F(BoundsTest, FullExecutorQueueAnswersServerBusyAtOnce) {
  common::PgPool pool(conninfo_, 2);
  ingest::VitalsReader reader(pool);
  common::Executor executor(1, /*max_queued=*/1);
  ingest::QueryServiceImpl query(reader, executor, pool,
                                 common::PolicyOrExit("ingest", ingest::QueryServiceImpl::DefaultPolicy(), {}));
  auto host = common::ServiceHost::Start(HostConfig(conninfo_), {&query});
  ASSERT_TRUE(host.ok()) << host.status();
  // Occupy the only thread, then the only queue slot.
  std::promise<void> running, release;
  std::shared_future<void> release_future = release.get_future().share();
  ASSERT_TRUE(executor.TrySubmit([&running, release_future] {
    running.set_value();
    release_future.wait();
  }));
  running.get_future().wait();
  ASSERT_TRUE(executor.TrySubmit([] {}));

  auto stub = vv1::VitalsQueryService::NewStub(
      Slice::Channel("127.0.0.1:" + std::to_string((*host)->port()), "clinician_api", "ingest"));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  vv1::QueryVitalsRequest req;
  req.set_patient_id("pat-busy");
  *req.mutable_start() = common::FromUnixMicros(kBaseUs);
  *req.mutable_end() = common::FromUnixMicros(kBaseUs + kDayUs);
  vv1::QueryVitalsResponse resp;
  const auto t0 = std::chrono::steady_clock::now();
  const grpc::Status s = stub->QueryVitals(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("server busy"), std::string::npos) << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  release.set_value();
  (*host)->Shutdown();
}

// ------------------------------------------------------------------------------ vitals

using SampleKey = std::tuple<std::string, int, int64_t, double>;
using BucketKey = std::tuple<int, int64_t, double, double, double, uint32_t>;

class VitalsPagingTest : public BoundsTest {
 protected:
  void SetUp() override {
    BoundsTest::SetUp();
    if (HasFatalFailure()) return;
    // 900 rows of three types; every two rows share an instant, and device dev-b repeats
    // some of dev-a's heart rates at the same instant (ties the ingest_seq order must break).
    Exec(conninfo_,
         "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
         " bridge_id) SELECT 'pat-v', 'dev-a', 1 + i % 3, 60 + i % 50, 'x',"
         " timestamptz 'epoch' + (" + std::to_string(kBaseUs) + " + (i::bigint / 2) * 7000000) * interval '1 microsecond',"
         " i, 'b' FROM generate_series(0, 899) i;"
         "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
         " bridge_id) SELECT patient_id, 'dev-b', vital_type, value + 1, ucum_unit, measured_at, device_record_seq,"
         " bridge_id FROM vitals WHERE vital_type = 1 AND device_record_seq % 5 = 0;"
         "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
         " bridge_id) SELECT 'pat-other', 'dev-o', vital_type, value, ucum_unit, measured_at, device_record_seq,"
         " 'b' FROM vitals WHERE device_id = 'dev-a' AND device_record_seq < 100");
    stub_ = vv1::VitalsQueryService::NewStub(Slice::Channel(slice_->data_address(), "clinician_api", "ingest"));
  }

  vv1::QueryVitalsRequest Request(uint32_t bucket_s, uint32_t page_size) const {
    vv1::QueryVitalsRequest req;
    req.set_patient_id("pat-v");
    *req.mutable_start() = common::FromUnixMicros(kBaseUs + 10 * kSecondUs);
    *req.mutable_end() = common::FromUnixMicros(kBaseUs + 3000 * kSecondUs);
    req.set_bucket_s(bucket_s);
    req.set_page_size(page_size);
    return req;
  }

  grpc::Status Call(const vv1::QueryVitalsRequest& req, vv1::QueryVitalsResponse& resp) const {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return stub_->QueryVitals(&ctx, req, &resp);
  }

  // Every page of `req`, concatenated; `between` runs after the first page.
  vv1::QueryVitalsResponse AllPages(vv1::QueryVitalsRequest req, int& pages,
                                    const std::function<void()>& between = {}) const {
    vv1::QueryVitalsResponse all;
    pages = 0;
    while (true) {
      vv1::QueryVitalsResponse page;
      const grpc::Status s = Call(req, page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) return all;
      ++pages;
      EXPECT_LE(page.samples_size() + page.buckets_size(), static_cast<int>(req.page_size()));
      for (auto& x : *page.mutable_samples()) *all.add_samples() = std::move(x);
      for (auto& x : *page.mutable_buckets()) *all.add_buckets() = std::move(x);
      if (page.next_page_token().empty()) return all;
      EXPECT_LT(pages, 5000) << "paging does not end";
      if (pages >= 5000) return all;
      req.set_page_token(page.next_page_token());
      if (pages == 1 && between) between();
    }
  }

  static std::vector<SampleKey> Samples(const vv1::QueryVitalsResponse& r) {
    std::vector<SampleKey> out;
    for (const auto& s : r.samples()) {
      out.emplace_back(s.device_id(), s.type(), *common::ToUnixMicros(s.measured_at(), "measured_at"), s.value());
    }
    return out;
  }
  static std::vector<BucketKey> Buckets(const vv1::QueryVitalsResponse& r) {
    std::vector<BucketKey> out;
    for (const auto& b : r.buckets()) {
      out.emplace_back(b.type(), *common::ToUnixMicros(b.bucket_start(), "bucket_start"), b.min(), b.max(), b.mean(), b.count());
    }
    return out;
  }

  std::unique_ptr<vv1::VitalsQueryService::Stub> stub_;
};

TEST_F(VitalsPagingTest, RawPagesUnionToTheUnpagedResultWithoutDuplicates) {
  vv1::QueryVitalsResponse unpaged;
  ASSERT_TRUE(Call(Request(0, 10'000), unpaged).ok());
  ASSERT_GT(unpaged.samples_size(), 900);  // 10 s after the first instant, plus dev-b's rows
  ASSERT_TRUE(unpaged.next_page_token().empty());
  int pages = 0;
  const vv1::QueryVitalsResponse paged = AllPages(Request(0, 7), pages);
  EXPECT_EQ(Samples(paged), Samples(unpaged));
  EXPECT_EQ(pages, (unpaged.samples_size() + 6) / 7);
  const std::vector<SampleKey> keys = Samples(paged);
  EXPECT_EQ(std::set<SampleKey>(keys.begin(), keys.end()).size(), keys.size());
}

TEST_F(VitalsPagingTest, RowsStoredBeforeTheCursorBetweenPagesNeitherRepeatNorShiftRows) {
  vv1::QueryVitalsResponse unpaged;
  ASSERT_TRUE(Call(Request(0, 10'000), unpaged).ok());
  int pages = 0;
  // After page 1, three rows arrive at the start of the range (a late device sync). With
  // offset paging every later page would shift back by three and repeat rows.
  const vv1::QueryVitalsResponse paged = AllPages(Request(0, 50), pages, [&] {
    Exec(conninfo_,
         "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
         " bridge_id) SELECT 'pat-v', 'dev-late', 1, 99, 'x', timestamptz 'epoch' + (" +
             std::to_string(kBaseUs + 10 * kSecondUs) + " + i) * interval '1 microsecond', i, 'b'"
             " FROM generate_series(1, 3) i");
  });
  EXPECT_EQ(Samples(paged), Samples(unpaged));
}

// A writer keeps storing rows while a client pages, as ingest does during a clinician's scroll:
// rows measured inside the range already paged (late device syncs), at the instant the last
// page ended on, and at the end of the range (new readings). Every row present before the first
// page comes back exactly once and in order; no row, old or new, comes back twice.
TEST_F(VitalsPagingTest, RawPagingWhileRowsAreInsertedConcurrentlyLosesAndRepeatsNothing) {
  vv1::QueryVitalsResponse unpaged;
  ASSERT_TRUE(Call(Request(0, 10'000), unpaged).ok());
  ASSERT_TRUE(unpaged.next_page_token().empty());
  const std::vector<SampleKey> before = Samples(unpaged);
  const std::set<SampleKey> before_set(before.begin(), before.end());
  ASSERT_EQ(before_set.size(), before.size());

  const int64_t start_us = kBaseUs + 10 * kSecondUs;
  std::atomic<int64_t> paged_up_to_us{start_us};  // measured_at of the last row paged so far
  std::atomic<bool> done{false};
  std::atomic<int> behind{0}, at_cursor{0}, ahead{0};
  std::thread writer([&] {
    try {
      pqxx::connection conn(conninfo_);
      const std::string insert =
          "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
          " bridge_id) VALUES ('pat-v', $1, 1, $2, 'x', timestamptz 'epoch' + $3::bigint * interval '1 microsecond',"
          " $4, 'b')";
      // At most 600 rounds, so that broken paging which keeps finding new rows still ends.
      for (int64_t n = 1; n <= 600 && !done.load(); ++n) {
        const int64_t cursor_us = paged_up_to_us.load();
        pqxx::work tx(conn);
        // Values are unique per row (n), so every stored row has its own SampleKey.
        if (cursor_us > start_us) {
          tx.exec_params(insert, "dev-late", 1000 + 3 * n,
                         start_us + (n * 7919 * kSecondUs / 10) % (cursor_us - start_us), n);
          ++behind;
        }
        tx.exec_params(insert, "dev-late", 1001 + 3 * n, cursor_us, n);
        ++at_cursor;
        tx.exec_params(insert, "dev-new", 1002 + 3 * n, kBaseUs + 2997 * kSecondUs + n, n);
        ++ahead;
        tx.commit();
        std::this_thread::sleep_for(1ms);
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "writer: " << e.what();
    }
  });

  vv1::QueryVitalsRequest req = Request(0, 7);
  std::vector<SampleKey> paged;
  int pages = 0;
  while (pages < 1000) {
    vv1::QueryVitalsResponse page;
    const grpc::Status s = Call(req, page);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) break;  // still join the writer
    ++pages;
    for (const SampleKey& k : Samples(page)) paged.push_back(k);
    if (page.next_page_token().empty()) break;
    paged_up_to_us = std::get<2>(paged.back());
    req.set_page_token(page.next_page_token());
  }
  done = true;
  writer.join();
  EXPECT_LT(pages, 1000) << "paging does not end";
  EXPECT_GT(pages, 100);
  EXPECT_GT(behind.load(), 50) << "rows were stored inside the paged range while paging";
  EXPECT_GT(ahead.load(), 50);
  std::cout << pages << " pages; stored meanwhile: " << behind << " behind the cursor, " << at_cursor << " at it, "
            << ahead << " at the end of the range\n";

  std::map<SampleKey, int> seen;
  for (const SampleKey& k : paged) ++seen[k];
  int repeated = 0;
  std::string examples;
  for (const auto& [key, times] : seen) {
    if (times == 1) continue;
    if (++repeated <= 5) {
      examples += absl::StrCat(" ", std::get<0>(key), "/", std::get<3>(key), "@", std::get<2>(key), " x", times);
    }
  }
  EXPECT_EQ(repeated, 0) << "rows returned more than once, e.g." << examples;
  std::vector<SampleKey> old_rows;
  for (const SampleKey& k : paged) {
    if (before_set.count(k)) old_rows.push_back(k);
  }
  EXPECT_EQ(old_rows.size(), before.size());
  EXPECT_TRUE(old_rows == before) << "every row present before paging, once each, in the unpaged order";
  for (size_t i = 1; i < paged.size(); ++i) {
    ASSERT_LE(std::get<2>(paged[i - 1]), std::get<2>(paged[i])) << "pages are in measured_at order, row " << i;
  }
}

TEST_F(VitalsPagingTest, BucketPagesUnionToTheUnpagedResult) {
  vv1::QueryVitalsResponse unpaged;
  ASSERT_TRUE(Call(Request(60, 10'000), unpaged).ok());
  ASSERT_GT(unpaged.buckets_size(), 100);
  for (uint32_t page_size : {1u, 2u, 7u, 500u}) {  // smaller than, and larger than, the 10 types
    int pages = 0;
    const vv1::QueryVitalsResponse paged = AllPages(Request(60, page_size), pages);
    EXPECT_EQ(Buckets(paged), Buckets(unpaged)) << "page_size " << page_size;
  }
}

TEST_F(VitalsPagingTest, RejectsTooManyBucketsNamingBucketS) {
  vv1::QueryVitalsRequest req = Request(1, 0);
  *req.mutable_end() = common::FromUnixMicros(kBaseUs + 30 * kDayUs);
  vv1::QueryVitalsResponse resp;
  const grpc::Status s = Call(req, resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("bucket_s"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("10000"), std::string::npos) << s.error_message();
}

TEST_F(VitalsPagingTest, RejectsOffsetMalformedOversizedAndForeignTokens) {
  vv1::QueryVitalsResponse first;
  ASSERT_TRUE(Call(Request(0, 5), first).ok());
  ASSERT_FALSE(first.next_page_token().empty());
  struct Case {
    uint32_t bucket_s;
    std::string token;
  };
  for (const Case& c : {Case{0, "5"}, Case{0, "s1.abc.1"}, Case{0, "s1.1." + std::string(80, '1')},
                        Case{60, first.next_page_token()},  // a raw token on a bucketed query
                        Case{0, "s1.0.1"}}) {                 // a position outside the range
    vv1::QueryVitalsRequest req = Request(c.bucket_s, 5);
    req.set_page_token(c.token);
    vv1::QueryVitalsResponse resp;
    const grpc::Status s = Call(req, resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "'" << c.token << "': " << s.error_message();
    EXPECT_NE(s.error_message().find("page_token"), std::string::npos) << s.error_message();
  }
}

// ------------------------------------------------------------------------------ alerts

class AlertReplayTest : public BoundsTest {
 protected:
  // Starts an alerts service of our own on the test database, after the data is in place, so
  // its hub's live point is the last inserted event.
  void StartAlerts() {
    pool_ = std::make_unique<common::PgPool>(conninfo_, 4);
    executor_ = std::make_unique<common::Executor>(2);
    hub_ = std::make_unique<alerts::AlertHub>(*pool_, conninfo_);
    store_ = std::make_unique<alerts::lifecycle::PgLifecycleStore>(*pool_, alerts::lifecycle::DefaultConfig(),
                                                                   alerts::SystemClock());
    service_ = std::make_unique<alerts::AlertServiceImpl>(
        *pool_, *executor_, *hub_, common::PolicyOrExit("alerts", alerts::AlertServiceImpl::DefaultPolicy(), {}),
        *store_);
    auto host = common::ServiceHost::Start(HostConfig(conninfo_), {service_.get()});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    alerts::AlertHub* hub = hub_.get();
    host_->OnDrain([hub] { hub->FinishAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down")); });
    hub_->Start();
    stub_ = av1::AlertService::NewStub(Slice::Channel("127.0.0.1:" + std::to_string(host_->port()), "clinician_api", "ingest"));
  }

  void TearDown() override {
    if (host_) host_->Shutdown();
    hub_.reset();
  }

  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<common::Executor> executor_;
  std::unique_ptr<alerts::AlertHub> hub_;
  std::unique_ptr<alerts::lifecycle::PgLifecycleStore> store_;
  std::unique_ptr<alerts::AlertServiceImpl> service_;
  std::unique_ptr<common::ServiceHost> host_;
  std::unique_ptr<av1::AlertService::Stub> stub_;
};

// `n` alerts for `patient`, raised two per second from kBaseUs (pairs tie on raised_at), each
// with its RAISED event; the first `updated` also get an UPDATED event.
std::string InsertAlertsSql(const std::string& patient, int n, int updated) {
  return "INSERT INTO alerts (patient_id, rule_id, priority, state, summary, condition_started_at, raised_at,"
         " peak_value, ucum_unit, duration_s) SELECT '" + patient + "', 'hr_high', 3, 1, 'test',"
         " timestamptz 'epoch' + (" + std::to_string(kBaseUs) + " + i::bigint * 1000000) * interval '1 microsecond',"
         " timestamptz 'epoch' + (" + std::to_string(kBaseUs) + " + (i::bigint / 2) * 1000000) * interval '1 microsecond',"
         " 130, '/min', 60 FROM generate_series(1, " + std::to_string(n) + ") i;"
         "INSERT INTO alert_events (alert_id, kind) SELECT alert_id, 1 FROM alerts WHERE patient_id = '" + patient +
         "' ORDER BY condition_started_at;"
         "INSERT INTO alert_events (alert_id, kind) SELECT alert_id, 2 FROM alerts WHERE patient_id = '" + patient +
         "' ORDER BY condition_started_at LIMIT " + std::to_string(updated) + ";";
}

// Reads until `expected` events arrived (or the deadline); returns (alert_id, kind) in order.
std::vector<std::pair<std::string, int>> ReadEvents(grpc::ClientReader<av1::AlertEvent>& reader, std::size_t expected) {
  std::vector<std::pair<std::string, int>> out;
  av1::AlertEvent ev;
  while (out.size() < expected && reader.Read(&ev)) out.emplace_back(ev.alert().alert_id(), ev.kind());
  return out;
}

TEST_F(AlertReplayTest, ReplaysMoreThanTenThousandEventsCompletelyThenGoesLive) {
  constexpr int kAlerts = 10'050, kUpdated = 20, kOther = 30;
  Exec(conninfo_, InsertAlertsSql("pat-a", kAlerts, kUpdated) + InsertAlertsSql("pat-b", kOther, 0));
  StartAlerts();
  ASSERT_FALSE(HasFatalFailure());

  // All three patients first (a subscription must name its patients): the replay pages across
  // patients; the live alert of pat-c is outside the one-patient replay that follows.
  for (const bool filtered : {false, true}) {
    SCOPED_TRACE(filtered ? "patient pat-a" : "patients pat-a, pat-b and pat-c");
    grpc::ClientContext ctx;
    SetDeadline(ctx, std::chrono::seconds(60));
    av1::SubscribeRequest req;
    req.add_patient_ids("pat-a");
    if (!filtered) {
      req.add_patient_ids("pat-b");
      req.add_patient_ids("pat-c");
    }
    *req.mutable_since() = common::FromUnixMicros(kBaseUs);
    auto reader = stub_->Subscribe(&ctx, req);
    const std::size_t expected = kAlerts + kUpdated + (filtered ? 0 : kOther);
    const auto events = ReadEvents(*reader, expected);
    ASSERT_EQ(events.size(), expected);
    std::set<std::pair<std::string, int>> distinct(events.begin(), events.end());
    EXPECT_EQ(distinct.size(), events.size()) << "an event was replayed twice";
    std::set<std::string> alerts;
    for (const auto& [id, kind] : events) alerts.insert(id);
    EXPECT_EQ(alerts.size(), static_cast<std::size_t>(kAlerts + (filtered ? 0 : kOther)));
    const int64_t in_db = QueryInt(conninfo_, filtered ? "SELECT count(*) FROM alert_events e JOIN alerts a USING"
                                                         " (alert_id) WHERE a.patient_id = 'pat-a'"
                                                       : "SELECT count(*) FROM alert_events");
    EXPECT_EQ(static_cast<int64_t>(events.size()), in_db);

    // Past the replay, live events follow.
    const std::string live_patient = filtered ? "pat-a" : "pat-c";
    Exec(conninfo_,
         "INSERT INTO alerts (patient_id, rule_id, priority, state, summary, condition_started_at, peak_value,"
         " ucum_unit, duration_s) VALUES ('" + live_patient + "', 'live', 3, 1, 'live', now(), 140, '/min', 60);"
         "INSERT INTO alert_events (alert_id, kind) SELECT alert_id, 1 FROM alerts WHERE rule_id = 'live'"
         " AND patient_id = '" + live_patient + "';"
         "SELECT pg_notify('alerts_new', '')");
    av1::AlertEvent live;
    ASSERT_TRUE(reader->Read(&live));
    EXPECT_EQ(live.alert().rule_id(), "live");
    EXPECT_EQ(live.alert().patient_id(), live_patient);
    ctx.TryCancel();
    (void)reader->Finish();
  }
}

TEST_F(AlertReplayTest, RejectsMoreThanAThousandPatientIds) {
  StartAlerts();
  ASSERT_FALSE(HasFatalFailure());
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  av1::SubscribeRequest req;
  for (int i = 0; i <= 1000; ++i) req.add_patient_ids("pat-" + std::to_string(i));
  auto reader = stub_->Subscribe(&ctx, req);
  av1::AlertEvent ev;
  EXPECT_FALSE(reader->Read(&ev));
  const grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("patient_ids"), std::string::npos) << s.error_message();
}

// The lifecycle RPCs over gRPC: a shelve beyond the maximum names `duration`; a shelve and an
// acknowledgement are each an event on the alert's log (GetAlert) and on Subscribe, naming who.
TEST_F(AlertReplayTest, ShelveIsBoundedAndEveryLifecycleEventReachesGetAlertAndSubscribe) {
  StartAlerts();
  ASSERT_FALSE(HasFatalFailure());
  alerts::Observation obs;
  obs.patient_id = "pat-l";
  obs.rule_id = "hr_high";
  obs.priority = alerts::Priority::kHigh;
  obs.active = true;
  obs.condition_started_us = kBaseUs;
  obs.observed_us = kBaseUs + 60'000'000;
  obs.peak_value = 140;
  obs.ucum_unit = "/min";
  obs.summary = "test";
  ASSERT_TRUE(store_->Apply(obs).ok());
  const std::string id = QueryText(conninfo_, "SELECT alert_id::text FROM alerts WHERE patient_id = 'pat-l'");

  grpc::ClientContext sub_ctx;
  SetDeadline(sub_ctx, std::chrono::seconds(30));
  av1::SubscribeRequest sub;
  sub.add_patient_ids("pat-l");
  *sub.mutable_since() = common::FromUnixMicros(0);
  auto reader = stub_->Subscribe(&sub_ctx, sub);
  av1::AlertEvent ev;
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.kind(), av1::AlertEvent::KIND_RAISED);
  EXPECT_EQ(ev.record().actor(), "system");

  auto shelve = [&](int64_t seconds, av1::Alert& out) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    ctx.AddMetadata(common::kOnBehalfOfHeader, "nurse-1");
    av1::ShelveRequest req;
    req.set_alert_id(id);
    req.set_recipient("nurse-1");
    req.mutable_duration()->set_seconds(seconds);
    req.set_reason("dressing change");
    return stub_->Shelve(&ctx, req, &out);
  };
  av1::Alert shelved;
  const grpc::Status too_long = shelve(61 * 60, shelved);
  EXPECT_EQ(too_long.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(too_long.error_message().find("duration"), std::string::npos) << too_long.error_message();
  const grpc::Status ok = shelve(15 * 60, shelved);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  ASSERT_EQ(shelved.shelves_size(), 1);
  EXPECT_EQ(shelved.shelves(0).recipient(), "nurse-1");
  EXPECT_TRUE(shelved.has_shelved_until());
  EXPECT_EQ(shelved.phase(), av1::ALERT_PHASE_ACTIVE);  // the visual state stays
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.kind(), av1::AlertEvent::KIND_SHELVED);
  EXPECT_EQ(ev.record().actor(), "nurse-1");
  EXPECT_EQ(ev.record().reason(), "dressing change");

  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    ctx.AddMetadata(common::kOnBehalfOfHeader, "nurse-1");
    av1::AcknowledgeRequest req;
    req.set_alert_id(id);
    req.set_recipient("nurse-1");
    av1::Alert acked;
    ASSERT_TRUE(stub_->Acknowledge(&ctx, req, &acked).ok());
    EXPECT_EQ(acked.state(), av1::ALERT_STATE_ACKNOWLEDGED);
  }
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.kind(), av1::AlertEvent::KIND_ACKNOWLEDGED);

  auto get = [&](const std::string& alert_id, av1::Alert& out) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    av1::GetAlertRequest req;
    req.set_alert_id(alert_id);
    return stub_->GetAlert(&ctx, req, &out);
  };
  av1::Alert full;
  ASSERT_TRUE(get(id, full).ok());
  ASSERT_EQ(full.events_size(), 3);
  EXPECT_EQ(full.events(0).kind(), av1::AlertEvent::KIND_RAISED);
  EXPECT_EQ(full.events(1).kind(), av1::AlertEvent::KIND_SHELVED);
  EXPECT_EQ(full.events(2).kind(), av1::AlertEvent::KIND_ACKNOWLEDGED);
  EXPECT_EQ(full.events(2).actor(), "nurse-1");
  EXPECT_TRUE(full.latched());
  EXPECT_EQ(full.category(), av1::ALARM_CATEGORY_PHYSIOLOGICAL);
  av1::Alert none;
  EXPECT_EQ(get("00000000-0000-0000-0000-000000000001", none).error_code(), grpc::StatusCode::NOT_FOUND);
  sub_ctx.TryCancel();
  (void)reader->Finish();
}

}  // namespace
}  // namespace healthtwin::testing
