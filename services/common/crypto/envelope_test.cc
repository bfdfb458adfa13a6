#include "services/common/crypto/envelope.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/crypto/test_keyring.h"

namespace healthtwin::common::crypto {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kName[] = "Ada Lovelace";

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto keys = FileKeyring::Create(ring_.dir());
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);
    auto dek = DataKey::Generate("pat-0001", 1);
    ASSERT_TRUE(dek.ok()) << dek.status();
    dek_.emplace(*std::move(dek));
    auto ct = dek_->Encrypt("patients", "given_enc", kName);
    ASSERT_TRUE(ct.ok()) << ct.status();
    ciphertext_ = *ct;
  }

  // Decrypting `ct` as patients.given_enc of pat-0001 fails with DATA_LOSS and a message naming
  // where, never the value.
  void ExpectRefused(const std::string& ct) {
    auto plain = dek_->Decrypt("patients", "given_enc", ct);
    ASSERT_FALSE(plain.ok());
    EXPECT_EQ(plain.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(
        plain.status().message(),
        AllOf(HasSubstr("patients.given_enc of patient pat-0001 does not authenticate"), Not(HasSubstr(kName))));
  }

  testing::TestKeyringDir ring_;
  std::unique_ptr<FileKeyring> keys_;
  std::optional<DataKey> dek_;
  std::string ciphertext_;
};

TEST_F(EnvelopeTest, RoundTripsAndTheCiphertextHidesThePlaintext) {
  EXPECT_EQ(dek_->Decrypt("patients", "given_enc", ciphertext_).value_or(""), kName);
  EXPECT_EQ(ciphertext_.size(), 5 + 12 + sizeof(kName) - 1 + 16);
  EXPECT_EQ(ciphertext_.find(kName), std::string::npos);
  EXPECT_EQ(ciphertext_[0], 0x01);
}

TEST_F(EnvelopeTest, EncryptingTwiceGivesDifferentCiphertexts) {
  EXPECT_NE(dek_->Encrypt("patients", "given_enc", kName).value_or(""), ciphertext_);
}

TEST_F(EnvelopeTest, AFlippedCiphertextBitIsRefused) {
  std::string ct = ciphertext_;
  ct[5 + 12 + 3] ^= 0x10;
  ExpectRefused(ct);
}

TEST_F(EnvelopeTest, AFlippedIvBitIsRefused) {
  std::string ct = ciphertext_;
  ct[5] ^= 0x01;
  ExpectRefused(ct);
}

TEST_F(EnvelopeTest, AFlippedTagBitIsRefused) {
  std::string ct = ciphertext_;
  ct.back() ^= 0x80;
  ExpectRefused(ct);
}

TEST_F(EnvelopeTest, ACiphertextCopiedToAnotherColumnOrTableIsRefused) {
  auto other_column = dek_->Decrypt("patients", "family_enc", ciphertext_);
  EXPECT_EQ(other_column.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(other_column.status().message(), HasSubstr("copied from another patient, table, column or key version"));
  EXPECT_EQ(dek_->Decrypt("patients_archive", "given_enc", ciphertext_).status().code(), absl::StatusCode::kDataLoss);
}

// The same key bytes under another patient id: only the AAD differs, and it is refused.
TEST_F(EnvelopeTest, ACiphertextCopiedToAnotherPatientIsRefusedEvenUnderTheSameKeyBytes) {
  const std::string raw(32, 'r');
  auto a = DataKey::FromRaw("pat-a", 1, raw);
  auto b = DataKey::FromRaw("pat-b", 1, raw);
  ASSERT_TRUE(a.ok() && b.ok());
  auto ct = a->Encrypt("patients", "mrn_enc", "MRN-1");
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(a->Decrypt("patients", "mrn_enc", *ct).value_or(""), "MRN-1");
  auto moved = b->Decrypt("patients", "mrn_enc", *ct);
  EXPECT_EQ(moved.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(moved.status().message(), HasSubstr("patients.mrn_enc of patient pat-b does not authenticate"));
}

// Relabelling the version in the header (and decrypting with the same bytes as that version)
// changes the AAD, so it is refused; an honest version mismatch is named as such.
TEST_F(EnvelopeTest, AnotherKeyVersionIsRefused) {
  const std::string raw(32, 'r');
  auto v1 = DataKey::FromRaw("pat-a", 1, raw);
  auto v2 = DataKey::FromRaw("pat-a", 2, raw);
  ASSERT_TRUE(v1.ok() && v2.ok());
  std::string ct = v1->Encrypt("patients", "mrn_enc", "MRN-1").value();
  auto mismatch = v2->Decrypt("patients", "mrn_enc", ct);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(mismatch.status().message(), HasSubstr("is under data key version 1, not the version 2"));
  ct[4] = 0x02;  // dek_version 1 -> 2 in the header
  EXPECT_EQ(v2->Decrypt("patients", "mrn_enc", ct).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(EnvelopeTest, AnUnknownFormatOrTruncatedCiphertextIsInvalid) {
  std::string ct = ciphertext_;
  ct[0] = 0x02;
  auto unknown = dek_->Decrypt("patients", "given_enc", ct);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown field ciphertext format 0x2"));
  EXPECT_THAT(dek_->Decrypt("patients", "given_enc", ciphertext_.substr(0, 20)).status().message(),
              HasSubstr("truncated"));
}

TEST_F(EnvelopeTest, TheDataKeyRoundTripsThroughTheKeyringAndBindsToItsPatient) {
  auto wrapped = dek_->Wrap(*keys_, 1);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  auto back = DataKey::Unwrap(*keys_, *wrapped);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->Decrypt("patients", "given_enc", ciphertext_).value_or(""), kName);

  WrappedDataKey moved = *wrapped;
  moved.patient_id = "pat-0002";
  auto refused = DataKey::Unwrap(*keys_, moved);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(refused.status().message(), HasSubstr("data key version 1 of patient pat-0002"));

  WrappedDataKey flipped = *wrapped;
  flipped.wrapped[20] ^= 0x04;
  EXPECT_EQ(DataKey::Unwrap(*keys_, flipped).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(EnvelopeTest, RewrappingUnderANewKekKeepsTheSameDataKey) {
  auto v1 = dek_->Wrap(*keys_, 1);
  ASSERT_TRUE(v1.ok());
  auto dek = DataKey::Unwrap(*keys_, *v1);
  ASSERT_TRUE(dek.ok());
  auto v2 = dek->Wrap(*keys_, 2);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->kek_version, 2u);
  EXPECT_NE(v2->wrapped, v1->wrapped);
  auto again = DataKey::Unwrap(*keys_, *v2);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->Decrypt("patients", "given_enc", ciphertext_).value_or(""), kName);
}

}  // namespace
}  // namespace healthtwin::common::crypto
