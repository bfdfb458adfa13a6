// The read-only conninfo of a read connection (read_replica.h).
#include "services/common/read_replica.h"

#include <gtest/gtest.h>

namespace healthtwin::common {
namespace {

TEST(ReadOnlyConnInfoTest, AddsTheReadOnlyDefaultAndAConnectTimeout) {
  auto plain = ReadOnlyConnInfo("host=/tmp/pg dbname=healthtwin");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_NE(plain->find("host='/tmp/pg'"), std::string::npos) << *plain;
  EXPECT_NE(plain->find("dbname='healthtwin'"), std::string::npos) << *plain;
  EXPECT_NE(plain->find("options='-c default_transaction_read_only=on'"), std::string::npos) << *plain;
  EXPECT_NE(plain->find("connect_timeout=5"), std::string::npos) << *plain;
}

TEST(ReadOnlyConnInfoTest, KeepsExistingOptionsAndTimeoutAndReadsUris) {
  auto uri = ReadOnlyConnInfo("postgresql://u@standby:6432/db?options=-c%20work_mem%3D8MB&connect_timeout=2");
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_NE(uri->find("options='-c work_mem=8MB -c default_transaction_read_only=on'"), std::string::npos) << *uri;
  EXPECT_NE(uri->find("connect_timeout='2'"), std::string::npos) << *uri;
  EXPECT_EQ(uri->find("connect_timeout=5"), std::string::npos) << *uri;
  EXPECT_NE(uri->find("host='standby' port='6432'"), std::string::npos) << *uri;
}

TEST(ReadOnlyConnInfoTest, RejectsWhatLibpqCannotParse) {
  auto bad = ReadOnlyConnInfo("host=a nonsense_key=1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("nonsense_key"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace healthtwin::common
