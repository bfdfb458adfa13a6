#include "services/common/crypto/file_keyring.h"

#include <sys/stat.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/crypto/test_keyring.h"

namespace healthtwin::common::crypto {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(FileKeyringTest, LoadsTheActiveVersionNamedInTheMarkerNotTheHighest) {
  testing::TestKeyringDir ring(/*keks=*/3, /*active=*/2);
  auto keys = FileKeyring::Create(ring.dir());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ((*keys)->ActiveKekVersion(), 2u);
  EXPECT_EQ((*keys)->KekVersions(), "1, 2, 3");
}

TEST(FileKeyringTest, RefusesAKeyFileNotMode0600NamingTheFileAndMode) {
  testing::TestKeyringDir ring;
  ::chmod(ring.path("kek-2.key").c_str(), 0644);
  auto keys = FileKeyring::Create(ring.dir());
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(keys.status().message(), AllOf(HasSubstr(ring.path("kek-2.key")), HasSubstr("mode 0644")));
}

TEST(FileKeyringTest, RefusesADirectoryOpenToOthers) {
  testing::TestKeyringDir ring;
  ::chmod(ring.dir().c_str(), 0755);
  auto keys = FileKeyring::Create(ring.dir());
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(keys.status().message(), HasSubstr("mode 0755"));
}

TEST(FileKeyringTest, RefusesAShortKeyWithoutQuotingIt) {
  testing::TestKeyringDir ring;
  const std::string short_key = testing::TestKeyringDir::RandomHex().substr(0, 62);
  ring.WriteKey("kek-1.key", short_key);
  auto keys = FileKeyring::Create(ring.dir());
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(keys.status().message(),
              AllOf(HasSubstr(ring.path("kek-1.key")), HasSubstr("holds 62 characters"), Not(HasSubstr(short_key))));
}

TEST(FileKeyringTest, RefusesALongOrNonHexKey) {
  testing::TestKeyringDir ring;
  ring.WriteKey("blind-index.key", testing::TestKeyringDir::RandomHex() + "00");
  EXPECT_THAT(FileKeyring::Create(ring.dir()).status().message(), HasSubstr("holds 66 characters"));
  ring.WriteKey("blind-index.key", std::string(64, 'g'));
  EXPECT_THAT(FileKeyring::Create(ring.dir()).status().message(), HasSubstr("not all hex digits"));
}

TEST(FileKeyringTest, RefusesAnActiveVersionWithoutItsKeyFile) {
  testing::TestKeyringDir ring(/*keks=*/2, /*active=*/3);
  auto keys = FileKeyring::Create(ring.dir());
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(keys.status().message(), HasSubstr("kek-3.key is missing"));
}

TEST(FileKeyringTest, RefusesAKeyringWithoutActiveMarkerOrBlindIndexKey) {
  testing::TestKeyringDir ring;
  std::filesystem::remove(ring.path("active-kek"));
  EXPECT_THAT(FileKeyring::Create(ring.dir()).status().message(), HasSubstr("no readable active-kek"));
  testing::TestKeyringDir ring2;
  std::filesystem::remove(ring2.path("blind-index.key"));
  EXPECT_THAT(FileKeyring::Create(ring2.dir()).status().message(), HasSubstr("blind-index.key' does not exist"));
}

TEST(FileKeyringTest, AMissingKekVersionIsNotFoundListingTheVersionsPresent) {
  testing::TestKeyringDir ring;
  auto keys = FileKeyring::Create(ring.dir());
  ASSERT_TRUE(keys.ok()) << keys.status();
  auto wrapped = (*keys)->WrapKey(7, std::string(32, 'k'), "ctx");
  EXPECT_EQ(wrapped.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(wrapped.status().message(), HasSubstr("KEK version 7 is not in keyring"));
  EXPECT_THAT(wrapped.status().message(), HasSubstr("versions: 1, 2"));
}

TEST(FileKeyringTest, WrapsUnderOneVersionAndRefusesAnotherVersionOrContext) {
  testing::TestKeyringDir ring;
  auto keys = FileKeyring::Create(ring.dir());
  ASSERT_TRUE(keys.ok()) << keys.status();
  const std::string dek(32, 'd');
  auto wrapped = (*keys)->WrapKey(1, dek, "patient a");
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(wrapped->size(), 61u);
  EXPECT_EQ((*keys)->UnwrapKey(1, *wrapped, "patient a").value_or(""), dek);
  EXPECT_EQ((*keys)->UnwrapKey(2, *wrapped, "patient a").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ((*keys)->UnwrapKey(1, *wrapped, "patient b").status().code(), absl::StatusCode::kDataLoss);
}

TEST(FileKeyringTest, ThePseudonymKeyIsItsOwnAndOptional) {
  testing::TestKeyringDir ring;
  auto keys = FileKeyring::Create(ring.dir());
  ASSERT_TRUE(keys.ok()) << keys.status();
  auto pseudonym = (*keys)->PseudonymMac("m");
  ASSERT_TRUE(pseudonym.ok()) << pseudonym.status();
  EXPECT_EQ(pseudonym->size(), 32u);
  EXPECT_NE(*pseudonym, (*keys)->BlindIndexMac("m").value_or(""));  // a different key
  std::filesystem::remove(ring.path("pseudonym.key"));
  auto without = FileKeyring::Create(ring.dir());
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_EQ((*without)->PseudonymMac("m").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT((*without)->PseudonymMac("m").status().message(), HasSubstr("no pseudonym.key"));
}

}  // namespace
}  // namespace healthtwin::common::crypto
