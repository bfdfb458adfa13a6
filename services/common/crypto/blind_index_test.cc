#include "services/common/crypto/blind_index.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/crypto/test_keyring.h"

namespace healthtwin::common::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<FileKeyring> Keys(const testing::TestKeyringDir& ring) {
  auto keys = FileKeyring::Create(ring.dir());
  EXPECT_TRUE(keys.ok()) << keys.status();
  return keys.ok() ? *std::move(keys) : nullptr;
}

TEST(BlindIndexTest, IsStableAndIgnoresSurroundingWhitespace) {
  testing::TestKeyringDir ring;
  auto keys = Keys(ring);
  auto a = MrnBlindIndex(*keys, "urn:oid:1.2.3", "MRN-0042");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->size(), 32u);
  EXPECT_EQ(MrnBlindIndex(*keys, " urn:oid:1.2.3 ", "\tMRN-0042\n").value_or(""), *a);
  // A second keyring object over the same files gives the same index (it is not per process).
  EXPECT_EQ(MrnBlindIndex(*Keys(ring), "urn:oid:1.2.3", "MRN-0042").value_or(""), *a);
}

TEST(BlindIndexTest, DependsOnTheKeyTheSystemTheValueAndItsCase) {
  testing::TestKeyringDir ring;
  testing::TestKeyringDir other_ring;
  auto keys = Keys(ring);
  const std::string a = MrnBlindIndex(*keys, "urn:oid:1.2.3", "MRN-0042").value();
  EXPECT_NE(MrnBlindIndex(*Keys(other_ring), "urn:oid:1.2.3", "MRN-0042").value(), a);
  EXPECT_NE(MrnBlindIndex(*keys, "urn:oid:1.2.4", "MRN-0042").value(), a);
  EXPECT_NE(MrnBlindIndex(*keys, "urn:oid:1.2.3", "MRN-0043").value(), a);
  EXPECT_NE(MrnBlindIndex(*keys, "urn:oid:1.2.3", "mrn-0042").value(), a);
}

TEST(BlindIndexTest, AnEmptySystemIsTheDefaultSystem) {
  testing::TestKeyringDir ring;
  auto keys = Keys(ring);
  EXPECT_EQ(MrnBlindIndex(*keys, "", "42").value(), MrnBlindIndex(*keys, kDefaultMrnSystem, "42").value());
}

TEST(BlindIndexTest, BadInputNamesTheFieldWithoutQuotingTheValue) {
  testing::TestKeyringDir ring;
  auto keys = Keys(ring);
  EXPECT_THAT(MrnBlindIndex(*keys, "", "  ").status().message(), HasSubstr("mrn: must not be empty"));
  const std::string long_mrn(65, '7');
  auto too_long = MrnBlindIndex(*keys, "", long_mrn);
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.status().message(), Not(HasSubstr(long_mrn)));
  EXPECT_THAT(MrnBlindIndex(*keys, "", "12\x01").status().message(), HasSubstr("mrn: contains a control character"));
  EXPECT_THAT(MrnBlindIndex(*keys, "urn:a b", "12").status().message(), HasSubstr("mrn_system: must be a URI"));
}

}  // namespace
}  // namespace healthtwin::common::crypto
