#include "services/common/audit/keyring_key.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/crypto/test_keyring.h"

namespace healthtwin::common::audit {
namespace {

using crypto::testing::TestKeyringDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// A fresh private key of `type` ("ED25519", or "EC" for P-256) as PEM (PKCS#8).
std::string NewPrivateKeyPem(const char* type) {
  EVP_PKEY* key = std::string_view(type) == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                                 : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  if (key == nullptr) std::abort();
  BIO* bio = BIO_new(BIO_s_mem());
  if (PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) std::abort();
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

TEST(KeyringCheckpointKeyTest, LoadsTheKeyringsSigningKeyWhichSignsAndVerifies) {
  TestKeyringDir ring;
  ring.WriteFile(kKeyringCheckpointKeyFile, NewPrivateKeyPem("ED25519"), 0600);
  auto key = CheckpointKeyFromKeyring(ring.dir());
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_NE(*key, nullptr);
  EXPECT_TRUE((*key)->can_sign());
  EXPECT_EQ((*key)->key_id().size(), 16u);
  auto signature = (*key)->Sign("checkpoint 42");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE((*key)->Verify("checkpoint 42", *signature));
  EXPECT_FALSE((*key)->Verify("checkpoint 43", *signature));
  // The keyring of data keys still loads beside it: Create() does not read this file.
  EXPECT_TRUE(crypto::FileKeyring::Create(ring.dir()).ok());
}

TEST(KeyringCheckpointKeyTest, AKeyringWithoutTheKeyCannotSignButIsNoError) {
  TestKeyringDir ring;
  auto key = CheckpointKeyFromKeyring(ring.dir());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, nullptr);
}

TEST(KeyringCheckpointKeyTest, RefusesAKeyFileNotMode0600NamingTheFileAndMode) {
  TestKeyringDir ring;
  ring.WriteFile(kKeyringCheckpointKeyFile, NewPrivateKeyPem("ED25519"), 0640);
  auto key = CheckpointKeyFromKeyring(ring.dir());
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(key.status().message(), AllOf(HasSubstr(ring.path(kKeyringCheckpointKeyFile)), HasSubstr("mode 0640")));
}

TEST(KeyringCheckpointKeyTest, RefusesADirectoryOpenToOthersEvenWithoutTheKey) {
  TestKeyringDir ring;
  ::chmod(ring.dir().c_str(), 0755);
  auto key = CheckpointKeyFromKeyring(ring.dir());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(key.status().message(), AllOf(HasSubstr(ring.dir()), HasSubstr("mode 0755")));
}

TEST(KeyringCheckpointKeyTest, RefusesAMissingDirectory) {
  auto key = CheckpointKeyFromKeyring("/nonexistent/ht-keyring");
  EXPECT_EQ(key.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(key.status().message(), HasSubstr("/nonexistent/ht-keyring"));
}

TEST(KeyringCheckpointKeyTest, RefusesBadPemWithoutQuotingIt) {
  TestKeyringDir ring;
  const std::string junk = "-----BEGIN PRIVATE KEY-----\nnot-base64-secret-material\n-----END PRIVATE KEY-----\n";
  ring.WriteFile(kKeyringCheckpointKeyFile, junk, 0600);
  auto key = CheckpointKeyFromKeyring(ring.dir());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(),
              AllOf(HasSubstr(ring.path(kKeyringCheckpointKeyFile)), HasSubstr("does not hold a PEM private key"),
                    Not(HasSubstr("secret-material"))));
}

TEST(KeyringCheckpointKeyTest, RefusesAKeyThatIsNotEd25519) {
  TestKeyringDir ring;
  ring.WriteFile(kKeyringCheckpointKeyFile, NewPrivateKeyPem("EC"), 0600);
  auto key = CheckpointKeyFromKeyring(ring.dir());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("not Ed25519"));
}

}  // namespace
}  // namespace healthtwin::common::audit
