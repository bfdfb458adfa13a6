#include "tests/harness/dev_pki.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

fs::perms Mode(const fs::path& path) { return fs::status(path).permissions() & fs::perms::mask; }

// Each test gets a private TMPDIR, so it builds its own cache entries and sees only them.
class DevPkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ht-dev-pki-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    const char* old = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): single-threaded test
    if (old != nullptr) old_tmpdir_ = old;
    ASSERT_EQ(::setenv("TMPDIR", (root_ / "tmp").c_str(), 1), 0);
    fs::create_directories(root_ / "tmp");
  }
  void TearDown() override {
    if (old_tmpdir_) {
      ::setenv("TMPDIR", old_tmpdir_->c_str(), 1);
    } else {
      ::unsetenv("TMPDIR");
    }
    ::unsetenv(kDevPkiNoCacheEnv);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  // The cache entries under the private TMPDIR.
  int CacheEntries() const {
    int n = 0;
    for (const auto& e : fs::directory_iterator(root_ / "tmp")) {
      if (e.path().filename().string().rfind("healthtwin-dev-pki-", 0) == 0) ++n;
    }
    return n;
  }

  fs::path root_;
  std::optional<std::string> old_tmpdir_;
};

TEST_F(DevPkiTest, TwoTestsGetTheSameCachedPkiAsPrivateCopiesWithTheScriptsModes) {
  ASSERT_TRUE(MakeDevPki(HT_PKI_SCRIPT, (root_ / "a").string()).ok());
  ASSERT_TRUE(MakeDevPki(HT_PKI_SCRIPT, (root_ / "b").string()).ok());
  EXPECT_EQ(CacheEntries(), 1);
  const std::string ca = Read(root_ / "a" / "ca.pem");
  ASSERT_NE(ca.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_EQ(Read(root_ / "b" / "ca.pem"), ca);
  for (const char* file : {"ca.pem", "ca.key", "dr-alice.pem", "dr-alice.key", "ingest.key", "crl.pem",
                           "keyring/kek-1.key", "ca-db/index.txt"}) {
    EXPECT_TRUE(fs::is_regular_file(root_ / "b" / file)) << file;
  }
  EXPECT_EQ(Mode(root_ / "b" / "dr-alice.key"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(Mode(root_ / "b" / "keyring"), fs::perms::owner_all);
  EXPECT_EQ(Mode(root_ / "b" / "keyring" / "kek-1.key"), fs::perms::owner_read | fs::perms::owner_write);

  // A copy is the test's own: changing it changes neither the other copy nor the next one.
  std::ofstream(root_ / "a" / "crl.pem", std::ios::trunc) << "edited";
  ASSERT_TRUE(MakeDevPki(HT_PKI_SCRIPT, (root_ / "c").string()).ok());
  EXPECT_NE(Read(root_ / "b" / "crl.pem"), "edited");
  EXPECT_NE(Read(root_ / "c" / "crl.pem"), "edited");
}

TEST_F(DevPkiTest, TheForeignPkiIsCachedApartFromTheDevelopmentOne) {
  ASSERT_TRUE(MakeDevPki(HT_PKI_SCRIPT, (root_ / "dev").string()).ok());
  ASSERT_TRUE(MakeDevPki(HT_PKI_SCRIPT, (root_ / "foreign").string(), /*foreign=*/true).ok());
  EXPECT_EQ(CacheEntries(), 2);
  EXPECT_TRUE(fs::is_regular_file(root_ / "foreign" / "intruder.pem"));
  EXPECT_FALSE(fs::exists(root_ / "foreign" / "dr-alice.pem"));
  EXPECT_NE(Read(root_ / "foreign" / "ca.pem"), Read(root_ / "dev" / "ca.pem"));
}

TEST_F(DevPkiTest, ADirectoryThatHoldsFilesGoesToTheScriptNotTheCache) {
  ASSERT_TRUE(MakeDevPki(HT_PKI_SCRIPT, (root_ / "cached").string()).ok());
  fs::create_directories(root_ / "partial");
  std::ofstream(root_ / "partial" / "unrelated.txt") << "x";
  ASSERT_TRUE(MakeDevPki(HT_PKI_SCRIPT, (root_ / "partial").string()).ok());
  EXPECT_TRUE(fs::is_regular_file(root_ / "partial" / "unrelated.txt"));
  // The script made a CA of its own there.
  EXPECT_NE(Read(root_ / "partial" / "ca.pem"), Read(root_ / "cached" / "ca.pem"));
}

TEST_F(DevPkiTest, TheEnvironmentSwitchRunsTheScriptEveryTime) {
  ASSERT_EQ(::setenv(kDevPkiNoCacheEnv, "1", 1), 0);
  ASSERT_TRUE(MakeDevPki(HT_PKI_SCRIPT, (root_ / "a").string()).ok());
  ASSERT_TRUE(MakeDevPki(HT_PKI_SCRIPT, (root_ / "b").string()).ok());
  EXPECT_EQ(CacheEntries(), 0);
  EXPECT_NE(Read(root_ / "a" / "ca.pem"), Read(root_ / "b" / "ca.pem"));
}

TEST_F(DevPkiTest, EntriesOfOtherKeysAreRemovedOnlyWhenOld) {
  const fs::path stale = root_ / "tmp" / absl::StrCat("healthtwin-dev-pki-", ::geteuid(), "-0000000000000000");
  const fs::path recent = root_ / "tmp" / absl::StrCat("healthtwin-dev-pki-", ::geteuid(), "-1111111111111111");
  fs::create_directories(stale);
  fs::create_directories(recent);
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(72));
  ASSERT_TRUE(MakeDevPki(HT_PKI_SCRIPT, (root_ / "a").string()).ok());
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(recent));
}

TEST_F(DevPkiTest, AMissingScriptIsAnErrorNamingIt) {
  const absl::Status s = MakeDevPki((root_ / "no-such-script.sh").string(), (root_ / "a").string());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-such-script.sh"), std::string::npos) << s;
}

}  // namespace
}  // namespace healthtwin::testing
