#include "clinician_api/deid.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/crypto/test_keyring.h"

namespace healthtwin::clinician::deid {
namespace {

using common::crypto::FileKeyring;
using common::crypto::testing::TestKeyringDir;
using ::testing::HasSubstr;

class DeidTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ring = FileKeyring::Create(dir_.dir());
    ASSERT_TRUE(ring.ok()) << ring.status();
    keys_ = *std::move(ring);
  }
  // The key file's bytes, for an independent HMAC.
  std::string KeyBytes() const {
    std::string hex;
    std::ifstream(dir_.path("pseudonym.key")) >> hex;
    return absl::HexStringToBytes(hex);
  }
  TestKeyringDir dir_;
  std::unique_ptr<FileKeyring> keys_;
};

int64_t Micros(int y, int m, int d) {
  return absl::ToUnixMicros(absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone()));
}

TEST_F(DeidTest, PseudonymIsTheHmacOfStudyNulPatientInBase32) {
  auto p = Pseudonym(*keys_, "S1", "patient-7");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(IsPseudonym(*p)) << *p;
  // Recompute independently: HMAC-SHA-256 over "S1" 0x00 "patient-7", first 80 bits, RFC 4648 base32.
  const std::string key = KeyBytes();
  const std::string msg = std::string("S1") + '\0' + "patient-7";
  unsigned char mac[32];
  size_t len = 0;
  ASSERT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, sizeof mac, &len),
            nullptr);
  std::string bits;
  for (int i = 0; i < 10; ++i)
    for (int b = 7; b >= 0; --b) bits += ((mac[i] >> b) & 1) ? '1' : '0';
  std::string expected = "sp-";
  for (int i = 0; i < 80; i += 5) expected += "abcdefghijklmnopqrstuvwxyz234567"[std::stoi(bits.substr(i, 5), 0, 2)];
  EXPECT_EQ(*p, expected);
}

TEST_F(DeidTest, PseudonymIsStableWithinAStudyAndDiffersAcrossStudiesPatientsAndKeys) {
  const std::string a = Pseudonym(*keys_, "S1", "p1").value();
  EXPECT_EQ(Pseudonym(*keys_, "S1", "p1").value(), a);
  EXPECT_NE(Pseudonym(*keys_, "S2", "p1").value(), a);
  EXPECT_NE(Pseudonym(*keys_, "S1", "p2").value(), a);
  // The separator keeps ("S1", "1p") and ("S11", "p") apart.
  EXPECT_NE(Pseudonym(*keys_, "S", "1p1").value(), Pseudonym(*keys_, "S1", "p1").value());
  TestKeyringDir other_dir;
  auto other = FileKeyring::Create(other_dir.dir());
  ASSERT_TRUE(other.ok());
  EXPECT_NE(Pseudonym(**other, "S1", "p1").value(), a);
  EXPECT_THAT(a, ::testing::Not(HasSubstr("p1")));
}

TEST_F(DeidTest, RefusesEmptyIdsAndAKeyringWithoutPseudonymKey) {
  EXPECT_THAT(Pseudonym(*keys_, "", "p").status().message(), HasSubstr("study_id"));
  EXPECT_THAT(Pseudonym(*keys_, "S", std::string("p\0q", 3)).status().message(), HasSubstr("patient_id"));
  EXPECT_EQ(DateShiftDays(*keys_, "S", "").status().code(), absl::StatusCode::kInvalidArgument);
  std::filesystem::remove(dir_.path("pseudonym.key"));
  auto bare = FileKeyring::Create(dir_.dir());
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(Pseudonym(**bare, "S", "p").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DateShiftDays(**bare, "S", "p").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(DeidShapeTest, IsPseudonymChecksPrefixLengthAndAlphabet) {
  EXPECT_TRUE(IsPseudonym("sp-abcdefghijklmnop"));
  EXPECT_TRUE(IsPseudonym("sp-2345672345672345"));
  EXPECT_FALSE(IsPseudonym("sp-abcdefghijklmno"));    // 15
  EXPECT_FALSE(IsPseudonym("sp-abcdefghijklmnopq"));  // 17
  EXPECT_FALSE(IsPseudonym("sp-ABCDEFGHIJKLMNOP"));   // upper case
  EXPECT_FALSE(IsPseudonym("sp-abcdefghijklmno1"));   // 1 is not base32
  EXPECT_FALSE(IsPseudonym("xx-abcdefghijklmnop"));
  EXPECT_FALSE(IsPseudonym("patient-1"));
}

TEST_F(DeidTest, DateShiftIsStablePerPatientAndStudyNonZeroAndWithinHalfAYear) {
  std::set<int> seen;
  int negative = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string patient = absl::StrCat("p", i);
    const int d = DateShiftDays(*keys_, "S1", patient).value();
    EXPECT_EQ(DateShiftDays(*keys_, "S1", patient).value(), d);
    EXPECT_NE(d, 0);
    EXPECT_GE(d, -kMaxShiftDays);
    EXPECT_LE(d, kMaxShiftDays);
    negative += d < 0;
    seen.insert(d);
  }
  EXPECT_GT(seen.size(), 200u);  // spread over the range, not a constant
  EXPECT_GT(negative, 100);
  EXPECT_LT(negative, 300);
  int same = 0;
  for (int i = 0; i < 50; ++i) {
    const std::string patient = absl::StrCat("p", i);
    same += DateShiftDays(*keys_, "S1", patient).value() == DateShiftDays(*keys_, "S2", patient).value();
  }
  EXPECT_LT(same, 5);  // another study, another shift (chance: ~50/364)
}

TEST(DeidShiftTest, ShiftMicrosMovesWholeDaysKeepingTheTimeOfDay) {
  const int64_t t = Micros(2026, 3, 1) + 3'600'000'000;  // 01:00
  EXPECT_EQ(ShiftMicros(t, -1), Micros(2026, 2, 28) + 3'600'000'000);
  EXPECT_EQ(ShiftMicros(t, 31), Micros(2026, 4, 1) + 3'600'000'000);
  EXPECT_EQ(ShiftMicros(ShiftMicros(t, 17), -17), t);
}

TEST(DeidAgeTest, AgesAreCompletedYearsCappedAtNinety) {
  const int64_t now = Micros(2026, 12, 7);
  EXPECT_EQ(CappedAgeYears("1990-12-07", now).value(), 36);
  EXPECT_EQ(CappedAgeYears("1990-12-08", now).value(), 35);  // birthday tomorrow
  EXPECT_EQ(CappedAgeYears("1937-12-08", now).value(), 88);
  EXPECT_EQ(CappedAgeYears("1937-12-07", now).value(), 89);
  EXPECT_EQ(CappedAgeYears("1936-12-07", now).value(), 90);
  EXPECT_EQ(CappedAgeYears("1915-12-10", now).value(), 90);  // 110 reported as 90 (Safe Harbor)
  EXPECT_EQ(CappedAgeYears("2026-12-07", now).value(), 0);
}

TEST(DeidAgeTest, RefusesMalformedAndFutureBirthDates) {
  const int64_t now = Micros(2026, 12, 7);
  for (const char* bad : {"", "1990-1-1", "1990-13-01", "19900101", "1990-02-30x", "yesterday"}) {
    EXPECT_EQ(CappedAgeYears(bad, now).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(CappedAgeYears("2027-01-01", now).status().message(), HasSubstr("after"));
}

}  // namespace
}  // namespace healthtwin::clinician::deid
