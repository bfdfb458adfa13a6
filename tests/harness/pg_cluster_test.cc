#include "tests/harness/pg_cluster.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Runs one query and returns the first column of the first row.
std::string QueryOne(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<std::string>();
}

TEST(PgClusterTest, StartedServerAcceptsLibpqxxConnections) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SELECT 40 + 2"), "42");
}

// Start copies a cached template (pg_template_cache_test.cc); the initdb path stays tested here.
TEST(PgClusterTest, WithoutTheTemplateCacheStartRunsInitdb) {
  PgClusterOptions options;
  options.use_template_cache = false;
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  std::ifstream log(fs::path((*cluster)->dir()) / "postgres.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("The files belonging to this database system will be owned by user"));
  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SELECT 40 + 2"), "42");
}

TEST(PgClusterTest, ListensOnItsPrivateUnixSocketOnly) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string& dir = (*cluster)->dir();

  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SHOW listen_addresses"), "");
  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SHOW unix_socket_directories"), dir);
  EXPECT_TRUE(fs::exists(fs::path(dir) / ".s.PGSQL.5432"));
  EXPECT_EQ((*cluster)->ConnInfo("app"), "host=" + dir + " port=5432 dbname=app user=postgres");
}

TEST(PgClusterTest, KeepsFsyncOnForDurabilityTests) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SHOW fsync"), "on");
  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SHOW max_connections"), "200");
}

TEST(PgClusterTest, CreateDatabaseMakesAnEmptyConnectableDatabase) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  ASSERT_TRUE((*cluster)->CreateDatabase("vitals_test").ok());

  std::string conninfo = (*cluster)->ConnInfo("vitals_test");
  EXPECT_EQ(QueryOne(conninfo, "SELECT current_database()"), "vitals_test");
  EXPECT_EQ(QueryOne(conninfo, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), "0");
}

TEST(PgClusterTest, CreateDatabaseTwiceIsAlreadyExists) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateDatabase("twice").ok());

  EXPECT_EQ((*cluster)->CreateDatabase("twice").code(), absl::StatusCode::kAlreadyExists);
}

TEST(PgClusterTest, Kill9ThenRestartKeepsCommittedData) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  {
    pqxx::connection conn((*cluster)->ConnInfo());
    pqxx::work tx(conn);
    tx.exec("CREATE TABLE readings (heart_rate_bpm int)");
    tx.exec("INSERT INTO readings VALUES (72)");
    tx.commit();
  }

  ASSERT_TRUE((*cluster)->Kill9().ok());
  EXPECT_THROW(pqxx::connection((*cluster)->ConnInfo()), pqxx::broken_connection);
  absl::Status restarted = (*cluster)->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;

  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SELECT heart_rate_bpm FROM readings"), "72");
}

TEST(PgClusterTest, Kill9DropsOpenConnections) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  pqxx::connection conn((*cluster)->ConnInfo());

  ASSERT_TRUE((*cluster)->Kill9().ok());

  EXPECT_THROW(pqxx::nontransaction(conn).exec("SELECT 1"), pqxx::broken_connection);
}

TEST(PgClusterTest, StopThenRestartServesAgain) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  ASSERT_TRUE((*cluster)->Stop().ok());
  EXPECT_THROW(pqxx::connection((*cluster)->ConnInfo()), pqxx::broken_connection);
  ASSERT_TRUE((*cluster)->Restart().ok());

  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SELECT 1"), "1");
}

TEST(PgClusterTest, Kill9OnStoppedServerIsFailedPrecondition) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->Stop().ok());

  EXPECT_EQ((*cluster)->Kill9().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(PgClusterTest, FailedStartReportsTheServerLog) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->Stop().ok());
  std::ofstream(fs::path((*cluster)->dir()) / "data" / "postgresql.conf", std::ios::app) << "shared_buffers = 'lots'\n";

  absl::Status restarted = (*cluster)->Restart();

  EXPECT_EQ(restarted.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(restarted.message()), HasSubstr("\"shared_buffers\"")) << restarted;
}

TEST(PgClusterTest, DestructorStopsServerAndRemovesDirectory) {
  std::string dir;
  {
    absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    dir = (*cluster)->dir();
    ASSERT_TRUE(fs::exists(dir));
  }
  EXPECT_FALSE(fs::exists(dir));
}

TEST(PgClusterTest, KeepLeavesStoppedClusterOnDisk) {
  std::string dir;
  {
    PgClusterOptions options;
    options.keep = true;
    absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    dir = (*cluster)->dir();
  }
  EXPECT_TRUE(fs::exists(fs::path(dir) / "postgres.log"));
  EXPECT_FALSE(fs::exists(fs::path(dir) / "data" / "postmaster.pid"));
  fs::remove_all(dir);
}

TEST(PgClusterTest, UsesGivenBaseDirectory) {
  std::string base = fs::temp_directory_path() / ("healthtwin-given-" + std::to_string(getpid()));
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start(PgClusterOptions{.base_dir = base});
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  EXPECT_EQ((*cluster)->dir(), base);
  EXPECT_TRUE(fs::exists(fs::path(base) / "data" / "PG_VERSION"));
}

TEST(PgClusterTest, StartRefusesDirectoryThatHoldsACluster) {
  absl::StatusOr<std::unique_ptr<PgCluster>> first = PgCluster::Start();
  ASSERT_TRUE(first.ok()) << first.status();

  absl::StatusOr<std::unique_ptr<PgCluster>> second = PgCluster::Start(PgClusterOptions{.base_dir = (*first)->dir()});

  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(PgClusterTest, RunsServerAsPostgresUserWhenRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "only meaningful when the tests run as root";
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  struct stat st {};
  ASSERT_EQ(stat((*cluster)->dir().c_str(), &st), 0);
  passwd* postgres = getpwnam("postgres");  // NOLINT(concurrency-mt-unsafe): one thread
  ASSERT_NE(postgres, nullptr);
  EXPECT_EQ(st.st_uid, postgres->pw_uid);
  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SELECT current_user"), "postgres");
}

TEST(PgClusterTest, AttachedClusterCanBeStoppedAndDestroyed) {
  absl::StatusOr<std::unique_ptr<PgCluster>> started = PgCluster::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  std::string dir = (*started)->dir();
  (*started)->Detach();
  started->reset();  // leaves the server running, as the CLI's start does
  ASSERT_EQ(QueryOne("host=" + dir + " dbname=postgres user=postgres", "SELECT 1"), "1");

  absl::StatusOr<std::unique_ptr<PgCluster>> attached = PgCluster::Attach(dir);
  ASSERT_TRUE(attached.ok()) << attached.status();
  ASSERT_TRUE((*attached)->CreateDatabase("from_attach").ok());
  ASSERT_TRUE((*attached)->Stop().ok());
  EXPECT_THROW(pqxx::connection((*attached)->ConnInfo()), pqxx::broken_connection);
  ASSERT_TRUE((*attached)->Destroy().ok());

  EXPECT_FALSE(fs::exists(dir));
}

TEST(PgClusterTest, AttachWithoutClusterIsNotFound) {
  std::string empty = fs::temp_directory_path() / ("healthtwin-empty-" + std::to_string(getpid()));
  fs::create_directories(empty);

  EXPECT_EQ(PgCluster::Attach(empty).status().code(), absl::StatusCode::kNotFound);
  fs::remove_all(empty);
}

}  // namespace
}  // namespace healthtwin::testing
