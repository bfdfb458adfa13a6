// The template data directory cache behind PgCluster::Start, each test with a private cache
// directory so that it sees the first, building Start too.
#include "tests/harness/pg_template_cache.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/pg_cluster.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

// What initdb prints first; a copied template has no initdb output in postgres.log.
constexpr char kInitDbBanner[] = "The files belonging to this database system will be owned by user";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string QueryOne(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  return pqxx::nontransaction(conn).exec1(sql)[0].as<std::string>();
}

absl::Status CreateDatabaseNamed(PgCluster& cluster, const std::string& name) { return cluster.CreateDatabase(name); }

class PgTemplateCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ht-tmplcache-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    cache_ = pattern;
    // The cluster's user (`postgres` when we are root) must reach the templates inside.
    ASSERT_EQ(::chmod(cache_.c_str(), 0755), 0);
  }
  void TearDown() override {
    ::unsetenv(internal::kNoTemplateEnv);  // NOLINT(concurrency-mt-unsafe): one thread
    fs::remove_all(cache_);
  }

  PgClusterOptions Options() const {
    PgClusterOptions options;
    options.template_cache_dir = cache_;
    return options;
  }

  // Directory names in the cache, other than templates' own: staging or damaged leftovers.
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(cache_)) names.push_back(entry.path().filename().string());
    return names;
  }

  std::string OnlyTemplate() const {
    std::vector<std::string> names = Entries();
    EXPECT_THAT(names, SizeIs(1));
    return names.empty() ? "" : cache_ + "/" + names[0];
  }

  std::string cache_;
};

TEST_F(PgTemplateCacheTest, FirstStartBuildsTheTemplateAndLaterStartsCopyIt) {
  auto first = PgCluster::Start(Options());
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string tmpl = OnlyTemplate();
  ASSERT_TRUE(internal::TemplateUsable(tmpl));
  EXPECT_THAT(fs::path(tmpl).filename().string(), HasSubstr("healthtwin-pg-template-"));
  std::ofstream(fs::path(tmpl) / "data" / "copied-from-template") << "yes\n";

  auto second = PgCluster::Start(Options());
  ASSERT_TRUE(second.ok()) << second.status();

  EXPECT_TRUE(fs::exists(fs::path((*second)->dir()) / "data" / "copied-from-template"));
  EXPECT_THAT(ReadFile(fs::path((*second)->dir()) / "postgres.log"), Not(HasSubstr(kInitDbBanner)));
  EXPECT_EQ(QueryOne((*second)->ConnInfo(), "SHOW unix_socket_directories"), (*second)->dir());
  EXPECT_EQ(QueryOne((*second)->ConnInfo(), "SELECT 40 + 2"), "42");
  EXPECT_THAT(Entries(), SizeIs(1));  // no staging directory left behind
}

TEST_F(PgTemplateCacheTest, TheEnvironmentVariableDisablesTheCacheAndThePreparation) {
  ASSERT_EQ(::setenv(internal::kNoTemplateEnv, "1", 1), 0);  // NOLINT(concurrency-mt-unsafe): one thread
  PgClusterOptions options = Options();
  options.template_key = "with a database";
  options.prepare_template = [](PgCluster& c) { return CreateDatabaseNamed(c, "prepared"); };

  auto cluster = PgCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  EXPECT_THAT(ReadFile(fs::path((*cluster)->dir()) / "postgres.log"), HasSubstr(kInitDbBanner));
  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SELECT count(*) FROM pg_database WHERE datname = 'prepared'"), "0");
  EXPECT_THAT(Entries(), SizeIs(0));
}

TEST_F(PgTemplateCacheTest, ADamagedTemplateIsRebuiltNotCopied) {
  ASSERT_TRUE(PgCluster::Start(Options()).ok());
  const std::string tmpl = OnlyTemplate();
  std::ofstream(fs::path(tmpl) / "data" / "left-from-the-damaged-one") << "yes\n";
  fs::remove(fs::path(tmpl) / "data" / "PG_VERSION");

  auto cluster = PgCluster::Start(Options());
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  EXPECT_EQ(QueryOne((*cluster)->ConnInfo(), "SELECT 1"), "1");
  EXPECT_EQ(OnlyTemplate(), tmpl);
  EXPECT_TRUE(internal::TemplateUsable(tmpl));
  EXPECT_FALSE(fs::exists(fs::path(tmpl) / "data" / "left-from-the-damaged-one"));
  EXPECT_FALSE(fs::exists(fs::path((*cluster)->dir()) / "data" / "left-from-the-damaged-one"));
}

TEST(PgTemplateCacheKeyTest, ADifferentPostgresVersionIsADifferentTemplate) {
  const std::vector<std::string> v15 = {"format 1", "version postgres (PostgreSQL) 15.18"};
  const std::vector<std::string> v16 = {"format 1", "version postgres (PostgreSQL) 16.4"};

  EXPECT_NE(internal::TemplateCacheDir("/cache", v15), internal::TemplateCacheDir("/cache", v16));
  EXPECT_EQ(internal::TemplateCacheDir("/cache", v15), internal::TemplateCacheDir("/cache", v15));
  EXPECT_THAT(internal::TemplateCacheDir("/cache", v15),
              ::testing::StartsWith("/cache/healthtwin-pg-template-" + std::to_string(::geteuid()) + "-"));
}

TEST_F(PgTemplateCacheTest, TheVersionInTheKeyIsWhatTheBinariesSay) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql")) {
    const std::string bin = (entry.path() / "bin").string();
    if (!fs::exists(bin + "/postgres")) continue;
    // `postgres --version` answers before refusing root, so no user switch is needed.
    absl::StatusOr<std::string> version = internal::PostgresVersion(bin, internal::PgUser{}, cache_);
    ASSERT_TRUE(version.ok()) << version.status();
    EXPECT_THAT(*version, HasSubstr("(PostgreSQL) " + entry.path().filename().string() + "."));
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no /usr/lib/postgresql/*/bin/postgres";
}

TEST_F(PgTemplateCacheTest, PreparedContentIsMadeOnceAndAnotherKeyIsNotReused) {
  static int prepared_one = 0;
  prepared_one = 0;
  PgClusterOptions one = Options();
  one.template_key = "one";
  one.prepare_template = [](PgCluster& c) {
    ++prepared_one;
    return CreateDatabaseNamed(c, "one");
  };
  PgClusterOptions two = Options();
  two.template_key = "two";
  two.prepare_template = [](PgCluster& c) { return CreateDatabaseNamed(c, "two"); };

  auto a = PgCluster::Start(one);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = PgCluster::Start(one);
  ASSERT_TRUE(b.ok()) << b.status();
  auto c = PgCluster::Start(two);
  ASSERT_TRUE(c.ok()) << c.status();

  EXPECT_EQ(prepared_one, 1);
  const std::string has =
      "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname IN ('one', 'two')";
  EXPECT_EQ(QueryOne((*a)->ConnInfo(), has), "one");
  EXPECT_EQ(QueryOne((*b)->ConnInfo(), has), "one");
  EXPECT_EQ(QueryOne((*c)->ConnInfo(), has), "two");
  EXPECT_THAT(Entries(), SizeIs(3));  // initdb's, "one" and "two"
  // The prepared copies got their own socket settings, not those of the cluster that built them.
  EXPECT_EQ(QueryOne((*b)->ConnInfo(), "SHOW unix_socket_directories"), (*b)->dir());
}

TEST_F(PgTemplateCacheTest, AKeyWithoutAPreparationIsInvalidArgument) {
  PgClusterOptions options = Options();
  options.template_key = "nothing prepares this";

  EXPECT_EQ(PgCluster::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PgTemplateCacheTest, ConcurrentFirstStartsFromTwoProcessesBothWork) {
  PgClusterOptions options = Options();
  options.template_key = "raced";
  options.prepare_template = [](PgCluster& c) { return CreateDatabaseNamed(c, "raced"); };
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 1;
      {
        auto cluster = PgCluster::Start(options);
        if (cluster.ok()) {
          try {
            code = QueryOne((*cluster)->ConnInfo("raced"), "SELECT current_database()") == "raced" ? 0 : 2;
          } catch (const std::exception&) {
            code = 3;
          }
        }
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }

  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child exit status " << status;
  }
  std::vector<std::string> entries = Entries();
  EXPECT_THAT(entries, SizeIs(2)) << ::testing::PrintToString(entries);  // initdb's and "raced"; no staging
  for (const std::string& name : entries) EXPECT_TRUE(internal::TemplateUsable(cache_ + "/" + name)) << name;
}

}  // namespace
}  // namespace healthtwin::testing

namespace healthtwin::testing {
namespace {

// EnsureTemplate alone, with a build that only makes the two files TemplateUsable checks.
absl::Status FakeDataDirectory(const std::string& staging) {
  fs::create_directories(fs::path(staging) / "data" / "global");
  std::ofstream(fs::path(staging) / "data" / "PG_VERSION") << "15\n";
  std::ofstream(fs::path(staging) / "data" / "global" / "pg_control") << "x";
  return absl::OkStatus();
}

TEST_F(PgTemplateCacheTest, BuildingATemplateRemovesOthersUnusedForAWeekAndUsingOneKeepsIt) {
  const internal::PgUser me{.drop_privileges = false};
  const std::string prefix = absl::StrCat(cache_, "/healthtwin-pg-template-", ::geteuid(), "-");
  const std::string unused = prefix + "aaaaaaaaaaaaaaaa";
  const std::string used = prefix + "bbbbbbbbbbbbbbbb";
  const std::string other_user = cache_ + "/healthtwin-pg-template-99999-cccccccccccccccc";
  for (const std::string& dir : {unused, used, other_user}) {
    ASSERT_TRUE(internal::EnsureTemplate(dir, me, FakeDataDirectory).ok());
    fs::last_write_time(dir, fs::file_time_type::clock::now() - std::chrono::hours(24 * 8));
  }
  // A use marks `used` as used now.
  ASSERT_TRUE(internal::EnsureTemplate(used, me, FakeDataDirectory).ok());

  ASSERT_TRUE(internal::EnsureTemplate(prefix + "dddddddddddddddd", me, FakeDataDirectory).ok());
  EXPECT_FALSE(fs::exists(unused));
  EXPECT_TRUE(fs::exists(used));
  EXPECT_TRUE(fs::exists(other_user));  // another user's templates are theirs to manage
}

}  // namespace
}  // namespace healthtwin::testing
