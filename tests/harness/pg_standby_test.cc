#include <chrono>
#include <memory>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/harness/pg_cluster.h"

namespace healthtwin::testing {
namespace {

std::string QueryOne(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction tx(conn);
  const pqxx::row row = tx.exec1(sql);
  return row[0].is_null() ? "NULL" : row[0].as<std::string>();
}

void Exec(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

// Polls `sql` on `conninfo` until it returns `want`; the last value otherwise.
std::string WaitFor(const std::string& conninfo, const std::string& sql, const std::string& want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string got;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      got = QueryOne(conninfo, sql);
      if (got == want) return got;
    } catch (const std::exception& e) {
      got = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return got;
}

TEST(PgStandbyTest, StreamsThePrimarysWritesAndRefusesItsOwn) {
  auto primary = PgCluster::Start();
  ASSERT_TRUE(primary.ok()) << primary.status();
  Exec((*primary)->ConnInfo(), "CREATE TABLE t (v int); INSERT INTO t VALUES (1)");
  auto standby = PgCluster::Start({.standby_of = primary->get()});
  ASSERT_TRUE(standby.ok()) << standby.status();
  ASSERT_NE((*standby)->dir(), (*primary)->dir());

  EXPECT_EQ(QueryOne((*standby)->ConnInfo(), "SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(QueryOne((*standby)->ConnInfo(), "SHOW unix_socket_directories"), (*standby)->dir());
  Exec((*primary)->ConnInfo(), "INSERT INTO t VALUES (2)");
  EXPECT_EQ(WaitFor((*standby)->ConnInfo(), "SELECT sum(v) FROM t", "3"), "3");
  EXPECT_THROW(Exec((*standby)->ConnInfo(), "INSERT INTO t VALUES (3)"), pqxx::sql_error);
}

TEST(PgStandbyTest, CatchesUpAfterStopAndStartAndDropsItsSlotWhenGone) {
  auto primary = PgCluster::Start();
  ASSERT_TRUE(primary.ok()) << primary.status();
  Exec((*primary)->ConnInfo(), "CREATE TABLE t (v int)");
  {
    auto standby = PgCluster::Start({.standby_of = primary->get(), .extra_config = {"log_statement = 'mod'"}});
    ASSERT_TRUE(standby.ok()) << standby.status();
    EXPECT_EQ(QueryOne((*standby)->ConnInfo(), "SHOW log_statement"), "mod");
    EXPECT_EQ(QueryOne((*primary)->ConnInfo(), "SELECT count(*) FROM pg_replication_slots"), "1");

    ASSERT_TRUE((*standby)->Stop().ok());
    EXPECT_THROW(QueryOne((*standby)->ConnInfo(), "SELECT 1"), pqxx::broken_connection);
    Exec((*primary)->ConnInfo(), "INSERT INTO t SELECT generate_series(1, 1000)");
    ASSERT_TRUE((*standby)->Restart().ok());
    EXPECT_EQ(WaitFor((*standby)->ConnInfo(), "SELECT count(*) FROM t", "1000"), "1000");
  }
  EXPECT_EQ(WaitFor((*primary)->ConnInfo(), "SELECT count(*) FROM pg_replication_slots", "0"), "0");
}

// The CLI's path (`start --standby-of`, then `stop --remove` from another process).
TEST(PgStandbyTest, AnAttachedStandbyDropsItsSlotWhenDestroyed) {
  auto primary = PgCluster::Start();
  ASSERT_TRUE(primary.ok()) << primary.status();
  auto standby = PgCluster::Start({.standby_of = primary->get()});
  ASSERT_TRUE(standby.ok()) << standby.status();
  (*standby)->Detach();
  EXPECT_EQ(QueryOne((*primary)->ConnInfo(), "SELECT count(*) FROM pg_replication_slots"), "1");

  auto attached = PgCluster::Attach((*standby)->dir());
  ASSERT_TRUE(attached.ok()) << attached.status();
  ASSERT_TRUE((*attached)->Destroy().ok());
  EXPECT_EQ(WaitFor((*primary)->ConnInfo(), "SELECT count(*) FROM pg_replication_slots", "0"), "0");
}

TEST(PgStandbyTest, RefusesAStoppedPrimary) {
  auto primary = PgCluster::Start();
  ASSERT_TRUE(primary.ok()) << primary.status();
  ASSERT_TRUE((*primary)->Stop().ok());
  auto standby = PgCluster::Start({.standby_of = primary->get()});
  EXPECT_EQ(standby.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace healthtwin::testing
