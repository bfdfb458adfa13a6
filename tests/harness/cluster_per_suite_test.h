// A GoogleTest fixture with one PostgreSQL cluster per test suite (each CTest entry runs one
// test, so in practice one per test process) and a database name of each test's own.
// The cluster comes from the migrated template (migrated_database.h), so CreateMigratedDatabase
// copies a template database instead of migrating; CreateDatabase still gives an empty one.
// Header-only, so the harness library itself does not depend on GoogleTest.
#pragma once

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"

namespace healthtwin::testing {

class ClusterPerSuiteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto cluster = PgCluster::Start(WithMigratedTemplate());
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(cluster).value().release();
  }

  static void TearDownTestSuite() {
    delete cluster_;  // stops the server and removes its directory
    cluster_ = nullptr;
  }

  // The running test's name in lower case, cut to fit PostgreSQL's 63-byte identifiers.
  static std::string TestDatabaseName() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    return name.substr(0, 60);
  }

  inline static PgCluster* cluster_ = nullptr;
};

}  // namespace healthtwin::testing
