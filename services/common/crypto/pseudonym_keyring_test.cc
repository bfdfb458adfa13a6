#include "services/common/crypto/pseudonym_keyring.h"

#include <sys/stat.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/crypto/test_keyring.h"

namespace healthtwin::common::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TestKeyringDir;

// A keyring as clinician_api gets it: pseudonym.key and audit-signing.key, no KEK, no
// blind-index key, no active-kek marker.
void RemoveDataKeys(const TestKeyringDir& ring) {
  for (const char* name : {"kek-1.key", "kek-2.key", "blind-index.key", "active-kek"}) {
    ASSERT_TRUE(std::filesystem::remove(ring.path(name))) << name;
  }
}

TEST(PseudonymKeyringTest, ADirectoryWithoutKeksGivesTheSamePseudonymsAsTheFullKeyring) {
  TestKeyringDir ring;
  auto full = FileKeyring::Create(ring.dir());
  ASSERT_TRUE(full.ok()) << full.status();
  auto expected = (*full)->PseudonymMac("study-1|pat-1");
  ASSERT_TRUE(expected.ok()) << expected.status();

  RemoveDataKeys(ring);
  ring.WriteFile("audit-signing.key", "not read by this loader", 0600);
  ASSERT_FALSE(FileKeyring::Create(ring.dir()).ok()) << "the narrowed directory is no full keyring";
  auto narrow = PseudonymKeyring::Load(ring.dir());
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  EXPECT_EQ((*narrow)->PseudonymMac("study-1|pat-1").value_or(""), *expected);
  EXPECT_NE((*narrow)->PseudonymMac("study-1|pat-2").value_or(""), *expected);
}

TEST(PseudonymKeyringTest, ReadsNoOtherFile) {
  TestKeyringDir ring;
  // A KEK file that FileKeyring::Create would refuse (mode 0644) is not looked at.
  ::chmod(ring.path("kek-1.key").c_str(), 0644);
  ASSERT_FALSE(FileKeyring::Create(ring.dir()).ok());
  EXPECT_TRUE(PseudonymKeyring::Load(ring.dir()).ok());
}

TEST(PseudonymKeyringTest, RefusesAMissingKeyNamingTheFile) {
  TestKeyringDir ring;
  RemoveDataKeys(ring);
  std::filesystem::remove(ring.path("pseudonym.key"));
  auto loaded = PseudonymKeyring::Load(ring.dir());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(loaded.status().message(), HasSubstr(ring.path("pseudonym.key")));
  EXPECT_THAT(loaded.status().message(), HasSubstr("does not exist"));
}

TEST(PseudonymKeyringTest, RefusesAKeyOfTheWrongSizeWithoutQuotingIt) {
  TestKeyringDir ring;
  const std::string short_key = TestKeyringDir::RandomHex().substr(0, 62);
  ring.WriteKey("pseudonym.key", short_key);
  auto loaded = PseudonymKeyring::Load(ring.dir());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr(ring.path("pseudonym.key")));
  EXPECT_THAT(loaded.status().message(), HasSubstr("holds 62 characters"));
  EXPECT_THAT(loaded.status().message(), Not(HasSubstr(short_key)));

  ring.WriteKey("pseudonym.key", std::string(64, 'g'));
  loaded = PseudonymKeyring::Load(ring.dir());
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("not all hex digits"));
}

TEST(PseudonymKeyringTest, RefusesAKeyFileNotMode0600AndADirectoryOpenToOthers) {
  TestKeyringDir ring;
  ::chmod(ring.path("pseudonym.key").c_str(), 0640);
  auto loaded = PseudonymKeyring::Load(ring.dir());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(loaded.status().message(), HasSubstr(ring.path("pseudonym.key")));
  EXPECT_THAT(loaded.status().message(), HasSubstr("mode 0640"));

  ::chmod(ring.path("pseudonym.key").c_str(), 0600);
  ::chmod(ring.dir().c_str(), 0755);
  loaded = PseudonymKeyring::Load(ring.dir());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(loaded.status().message(), HasSubstr("keyring directory '" + ring.dir() + "'"));
}

TEST(PseudonymKeyringTest, HoldsNoKekAndNoBlindIndexKey) {
  TestKeyringDir ring;
  auto loaded = PseudonymKeyring::Load(ring.dir());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const PseudonymKeyring& keys = **loaded;
  EXPECT_EQ(keys.ActiveKekVersion(), 0u);
  EXPECT_EQ(keys.WrapKey(1, std::string(32, 'k'), "ctx").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(keys.UnwrapKey(1, "wrapped", "ctx").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(keys.BlindIndexMac("m").status().message(), HasSubstr("no blind-index key"));
}

}  // namespace
}  // namespace healthtwin::common::crypto
