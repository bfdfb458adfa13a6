#include "services/common/db/migrator.h"

#include <algorithm>
#include <memory>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/db/roles.h"
#include "tests/harness/cluster_per_suite_test.h"

namespace healthtwin::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One cluster per test binary; every test gets its own database.
class MigratorTest : public ::healthtwin::testing::ClusterPerSuiteTest {
 protected:
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    const std::string name = TestDatabaseName();
    absl::Status created = cluster_->CreateDatabase(name);
    ASSERT_TRUE(created.ok()) << created;
    // Migrations run as the migrator, as healthtwin-migrate does (0006 insists on it).
    pqxx::connection superuser(cluster_->ConnInfo(name));
    absl::Status roles = BootstrapRoles(superuser);
    ASSERT_TRUE(roles.ok()) << roles;
    conninfo_ = ConnInfoAs(cluster_->ConnInfo(name), kMigratorRole);
  }

  std::unique_ptr<pqxx::connection> Connect() const { return std::make_unique<pqxx::connection>(conninfo_); }

  std::string QueryOne(const std::string& sql) const {
    pqxx::connection conn(conninfo_);
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<std::string>();
  }

  void Execute(const std::string& sql) const {
    pqxx::connection conn(conninfo_);
    pqxx::work tx(conn);
    tx.exec(sql);
    tx.commit();
  }

  std::vector<int> RecordedVersions() const {
    pqxx::connection conn(conninfo_);
    pqxx::nontransaction tx(conn);
    std::vector<int> versions;
    for (const pqxx::row& row : tx.exec("SELECT version FROM schema_migrations ORDER BY 1")) {
      versions.push_back(row[0].as<int>());
    }
    return versions;
  }

  absl::StatusOr<MigrationReport> Migrate(const std::vector<Migration>& migrations) const {
    pqxx::connection conn(conninfo_);
    return ApplyMigrations(conn, migrations);
  }

  std::string conninfo_;
};

std::vector<int> Versions(const std::vector<Migration>& migrations) {
  std::vector<int> versions;
  versions.reserve(migrations.size());
  for (const Migration& migration : migrations) versions.push_back(migration.version);
  return versions;
}

TEST(MigrationChecksumTest, IsLowerCaseHexSha256) {
  EXPECT_EQ(MigrationChecksum("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(BuiltInMigrationsTest, StartWithCoreAndAscend) {
  const std::vector<Migration>& migrations = BuiltInMigrations();

  ASSERT_FALSE(migrations.empty());
  EXPECT_EQ(migrations[0].version, 1);
  EXPECT_EQ(migrations[0].name, "core");
  EXPECT_THAT(migrations[0].sql, HasSubstr("CREATE TABLE app_info"));
  EXPECT_TRUE(std::is_sorted(migrations.begin(), migrations.end(),
                             [](const Migration& a, const Migration& b) { return a.version < b.version; }));
}

TEST_F(MigratorTest, FreshDatabaseGetsEveryVersionRecorded) {
  const std::vector<Migration>& migrations = BuiltInMigrations();

  absl::StatusOr<MigrationReport> report = Migrate(migrations);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->from_version, 0);
  EXPECT_EQ(report->to_version, migrations.back().version);
  EXPECT_EQ(report->applied, Versions(migrations));
  EXPECT_EQ(RecordedVersions(), Versions(migrations));
  EXPECT_EQ(QueryOne("SELECT name || ':' || checksum FROM schema_migrations WHERE version = 1"),
            "core:" + MigrationChecksum(migrations[0].sql));
  EXPECT_EQ(QueryOne("SELECT value FROM app_info WHERE key = 'schema_owner'"), "healthtwin");
}

TEST_F(MigratorTest, SecondRunAppliesNothing) {
  ASSERT_TRUE(Migrate(BuiltInMigrations()).ok());

  absl::StatusOr<MigrationReport> report = Migrate(BuiltInMigrations());

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->applied.empty());
  EXPECT_EQ(report->from_version, BuiltInMigrations().back().version);
  EXPECT_EQ(report->to_version, report->from_version);
}

TEST_F(MigratorTest, CheckSchemaAcceptsExactlyThisBuildsMigrations) {
  std::vector<Migration> v1 = {{1, "first", "CREATE TABLE first (id int)"}};
  std::vector<Migration> v2 = v1;
  v2.push_back({2, "second", "CREATE TABLE second (id int)"});
  std::unique_ptr<pqxx::connection> conn = Connect();

  absl::Status missing = CheckSchema(*conn, v2);
  ASSERT_TRUE(Migrate(v1).ok());
  absl::Status older = CheckSchema(*conn, v2);
  ASSERT_TRUE(Migrate(v2).ok());
  absl::Status current = CheckSchema(*conn, v2);

  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.message(), HasSubstr("has no healthtwin schema; run healthtwin-migrate"));
  EXPECT_EQ(older.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(older.message(), "database schema version 1 is older than this build (2); run healthtwin-migrate");
  EXPECT_TRUE(current.ok()) << current;
  EXPECT_EQ(CheckSchema(*conn, v1).code(), absl::StatusCode::kFailedPrecondition) << "newer than the build";
}

TEST_F(MigratorTest, AppliesOnlyMigrationsNewerThanTheDatabase) {
  std::vector<Migration> v1 = {{1, "first", "CREATE TABLE first (id int)"}};
  std::vector<Migration> v2 = v1;
  v2.push_back({2, "second", "CREATE TABLE second (id int)"});
  ASSERT_TRUE(Migrate(v1).ok());

  absl::StatusOr<MigrationReport> report = Migrate(v2);

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->from_version, 1);
  EXPECT_EQ(report->to_version, 2);
  EXPECT_THAT(report->applied, ElementsAre(2));
}

TEST_F(MigratorTest, RefusesDatabaseNewerThanThisBuild) {
  ASSERT_TRUE(Migrate(BuiltInMigrations()).ok());
  Execute("INSERT INTO schema_migrations VALUES (9999, 'future', 'x', now())");

  absl::StatusOr<MigrationReport> report = Migrate(BuiltInMigrations());

  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(report.status().message(), "database schema version 9999 is newer than this build supports (" +
                                           std::to_string(BuiltInMigrations().back().version) + "); refusing to start");
}

TEST_F(MigratorTest, RefusesAppliedMigrationWhoseRecordedChecksumDiffers) {
  ASSERT_TRUE(Migrate(BuiltInMigrations()).ok());
  Execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");

  absl::StatusOr<MigrationReport> report = Migrate(BuiltInMigrations());

  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.status().message(), HasSubstr("0001_core"));
}

TEST_F(MigratorTest, RefusesAppliedMigrationWhoseSqlWasEdited) {
  std::vector<Migration> original = {{1, "first", "CREATE TABLE first (id int)"}};
  std::vector<Migration> edited = {{1, "first", "CREATE TABLE first (id bigint)"}};
  ASSERT_TRUE(Migrate(original).ok());

  absl::StatusOr<MigrationReport> report = Migrate(edited);

  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.status().message(), HasSubstr("0001_first"));
}

TEST_F(MigratorTest, RefusesAppliedMigrationUnknownToThisBuild) {
  ASSERT_TRUE(Migrate({{1, "first", "SELECT 1"}, {2, "dropped", "SELECT 2"}, {3, "third", "SELECT 3"}}).ok());

  absl::StatusOr<MigrationReport> report = Migrate({{1, "first", "SELECT 1"}, {3, "third", "SELECT 3"}});

  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.status().message(), HasSubstr("0002_dropped"));
}

TEST_F(MigratorTest, RefusesMigrationOlderThanDatabaseThatWasNeverApplied) {
  ASSERT_TRUE(Migrate({{1, "first", "SELECT 1"}, {3, "third", "SELECT 3"}}).ok());

  absl::StatusOr<MigrationReport> report =
      Migrate({{1, "first", "SELECT 1"}, {2, "late", "SELECT 2"}, {3, "third", "SELECT 3"}});

  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.status().message(), HasSubstr("0002_late"));
}

TEST_F(MigratorTest, SqlErrorIsInternalNamingTheMigrationAndRollsItBack) {
  std::vector<Migration> migrations = {
      {1, "good", "CREATE TABLE good (id int)"},
      {2, "broken", "CREATE TABLE half (id int); SELECT no_such_function();"},
  };

  absl::StatusOr<MigrationReport> report = Migrate(migrations);

  EXPECT_EQ(report.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(report.status().message(), HasSubstr("0002_broken"));
  EXPECT_THAT(RecordedVersions(), ElementsAre(1));
  EXPECT_EQ(QueryOne("SELECT to_regclass('half') IS NULL"), "t");
}

TEST_F(MigratorTest, FixedMigrationAppliesAfterAFailedOne) {
  ASSERT_FALSE(Migrate({{1, "broken", "SELECT no_such_function()"}}).ok());

  absl::StatusOr<MigrationReport> report = Migrate({{1, "broken", "SELECT 1"}});

  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->applied, ElementsAre(1));
}

TEST_F(MigratorTest, LostConnectionIsUnavailable) {
  std::vector<Migration> migrations = {{1, "hangs_up", "SELECT pg_terminate_backend(pg_backend_pid())"}};

  absl::StatusOr<MigrationReport> report = Migrate(migrations);

  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable) << report.status();
  EXPECT_TRUE(RecordedVersions().empty());
}

TEST_F(MigratorTest, UnreachableServerIsUnavailable) {
  std::unique_ptr<pqxx::connection> conn = Connect();
  ASSERT_TRUE(cluster_->Stop().ok());

  absl::StatusOr<MigrationReport> report = ApplyMigrations(*conn, BuiltInMigrations());

  ASSERT_TRUE(cluster_->Restart().ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable) << report.status();
}

TEST_F(MigratorTest, RejectsMigrationsOutOfOrder) {
  absl::StatusOr<MigrationReport> report = Migrate({{2, "second", "SELECT 2"}, {1, "first", "SELECT 1"}});

  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MigratorTest, ConcurrentRunsBothSucceedAndApplyEachMigrationOnce) {
  // pg_sleep keeps the first migrator inside its run long enough for the
  // second to arrive; CREATE TABLE without IF NOT EXISTS fails if run twice.
  std::vector<Migration> migrations = BuiltInMigrations();
  int next = migrations.back().version + 1;
  migrations.push_back({next, "slow_one", "SELECT pg_sleep(0.3); CREATE TABLE slow_one (id int)"});
  migrations.push_back({next + 1, "slow_two", "SELECT pg_sleep(0.3); CREATE TABLE slow_two (id int)"});
  std::unique_ptr<pqxx::connection> conn_a = Connect();
  std::unique_ptr<pqxx::connection> conn_b = Connect();

  absl::StatusOr<MigrationReport> report_a;
  absl::StatusOr<MigrationReport> report_b;
  std::thread a([&] { report_a = ApplyMigrations(*conn_a, migrations); });
  std::thread b([&] { report_b = ApplyMigrations(*conn_b, migrations); });
  a.join();
  b.join();

  ASSERT_TRUE(report_a.ok()) << report_a.status();
  ASSERT_TRUE(report_b.ok()) << report_b.status();
  std::vector<int> applied = report_a->applied;
  applied.insert(applied.end(), report_b->applied.begin(), report_b->applied.end());
  std::sort(applied.begin(), applied.end());
  EXPECT_EQ(applied, Versions(migrations));
  EXPECT_EQ(RecordedVersions(), Versions(migrations));
  // The lock serialised the runs: whoever came second found nothing to do.
  EXPECT_TRUE(report_a->applied.empty() || report_b->applied.empty());
  EXPECT_EQ(report_a->to_version, next + 1);
  EXPECT_EQ(report_b->to_version, next + 1);
}

}  // namespace
}  // namespace healthtwin::common
