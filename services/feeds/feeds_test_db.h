// The database half of the feed integration fixtures: a migrated database of the test's own
// (tests/harness), patients p1..p4, and the outbox helpers both suites use.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/feeds/feed_worker.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::feeds {

class FeedsDbTest : public testing::ClusterPerSuiteTest {
 protected:
  void SetUp() override {
    auto db = CreateMigratedDatabase(*cluster_, TestDatabaseName());
    ASSERT_TRUE(db.ok()) << db.status();
    su_ = *db;
    feeds_conninfo_ = testing::ServiceConnInfo(su_, "feeds");
    for (const char* p : {"p1", "p2", "p3", "p4"}) {
      testing::ExecSql(su_, absl::StrCat("INSERT INTO patients (patient_id) VALUES ('", p, "')"));
    }
  }

  int64_t Count(const std::string& where) {
    return testing::QueryInt64(su_, "SELECT count(*) FROM feed_outbox WHERE " + where);
  }

  // Runs rounds (at least one: the first enqueues) until every outbox row is delivered or dead,
  // or 30 s pass.
  void RunUntilSettled(FeedWorker& worker) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    do {
      ASSERT_TRUE(worker.RunOnce().ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (Count("state = 'pending'") > 0 && std::chrono::steady_clock::now() < deadline);
    ASSERT_EQ(Count("state = 'pending'"), 0);
  }

  // Starts both replicas' loops, waits until `n` messages are delivered (at most 60 s), then
  // stops both.
  void RunBothUntilDelivered(FeedWorker& a, FeedWorker& b, int64_t n) {
    a.Start();
    b.Start();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (Count("state = 'delivered'") < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(a.StopBy(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
    ASSERT_TRUE(b.StopBy(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
  }

#ifdef HT_FEEDS_REPLICA_BIN  // only test binaries built with the replica (feeds_integration_test)
  // Runs the kill -9 replica (feeds_replica_main.cc, HT_FEEDS_REPLICA_BIN) with the deliverer's
  // `max_batch` until it hangs in its `hang_at`-th send, SIGKILLs it there, and returns the
  // message ids it sent, in order (the last one was in flight).
  std::vector<std::string> SendUntilReplicaHangsThenKill(int hang_at, int max_batch) {
    const std::string record = ::testing::TempDir() + "/feeds_replica_" + TestDatabaseName();
    std::remove(record.c_str());
    auto replica = testing::Subprocess::Spawn(
        HT_FEEDS_REPLICA_BIN, {feeds_conninfo_, record, std::to_string(hang_at), std::to_string(max_batch)});
    EXPECT_TRUE(replica.ok()) << replica.status();
    if (!replica.ok()) return {};
    const auto ReadRecord = [&] {
      std::ifstream in(record);
      std::vector<std::string> ids;
      for (std::string line; std::getline(in, line);) ids.push_back(line);
      return ids;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (ReadRecord().size() < static_cast<size_t>(hang_at) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE((*replica)->Signal(SIGKILL).ok());
    EXPECT_TRUE((*replica)->Wait(std::chrono::seconds(10)).ok());
    std::vector<std::string> sent = ReadRecord();
    EXPECT_EQ(sent.size(), static_cast<size_t>(hang_at)) << (*replica)->Stderr();
    return sent;
  }
#endif  // HT_FEEDS_REPLICA_BIN

  std::string su_;
  std::string feeds_conninfo_;
};

}  // namespace healthtwin::feeds
