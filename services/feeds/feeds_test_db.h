// The database half of the feed integration fixtures: a migrated database of the test's own
// (tests/harness), patients p1..p4, and the outbox helpers both suites use.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/feeds/feed_worker.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"

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

  std::string su_;
  std::string feeds_conninfo_;
};

}  // namespace healthtwin::feeds
