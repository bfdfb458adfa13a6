#include "services/feeds/hl7/ack.h"

#include <gtest/gtest.h>

namespace healthtwin::feeds::hl7 {
namespace {

std::string AckWith(const std::string& code, const std::string& control_id, const std::string& extra = "") {
  return "MSH|^~\\&|RCV|HOSP|HEALTHTWIN||20261206120000||ACK^R40^ACK|A1|P|2.6\rMSA|" + code + "|" + control_id + extra +
         "\r";
}

struct CodeCase {
  const char* code;
  AckOutcome outcome;
};

class AckCodeTest : public ::testing::TestWithParam<CodeCase> {};

TEST_P(AckCodeTest, MapsMsa1ToTheOutcome) {
  auto ack = ParseAck(AckWith(GetParam().code, "ctl-1"), "ctl-1");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->outcome, GetParam().outcome);
  EXPECT_EQ(ack->code, GetParam().code);
  EXPECT_EQ(ack->control_id, "ctl-1");
}

INSTANTIATE_TEST_SUITE_P(OriginalAndEnhanced, AckCodeTest,
                         ::testing::Values(CodeCase{"AA", AckOutcome::kDelivered}, CodeCase{"AE", AckOutcome::kRetry},
                                           CodeCase{"AR", AckOutcome::kRejected},
                                           CodeCase{"CA", AckOutcome::kDelivered}, CodeCase{"CE", AckOutcome::kRetry},
                                           CodeCase{"CR", AckOutcome::kRejected}));

TEST(AckTest, RejectsAnAckForAnotherMessage) {
  auto ack = ParseAck(AckWith("AA", "ctl-2"), "ctl-1");
  ASSERT_FALSE(ack.ok());
  EXPECT_NE(ack.status().message().find("MSA-2"), std::string::npos);
}

TEST(AckTest, RejectsAnUnknownCode) {
  auto ack = ParseAck(AckWith("OK", "ctl-1"), "ctl-1");
  ASSERT_FALSE(ack.ok());
  EXPECT_NE(ack.status().message().find("MSA-1"), std::string::npos);
}

TEST(AckTest, RejectsAMessageWithoutMsa) { EXPECT_FALSE(ParseAck("MSH|^~\\&|RCV|HOSP\r", "ctl-1").ok()); }

TEST(AckTest, RejectsSomethingThatIsNotHl7) {
  EXPECT_FALSE(ParseAck("HTTP/1.1 400 Bad Request\r\n", "ctl-1").ok());
  EXPECT_FALSE(ParseAck("", "ctl-1").ok());
}

TEST(AckTest, KeepsMsa3AndErrTextUnescaped) {
  auto ack =
      ParseAck(AckWith("AE", "ctl-1", "|bad OBX\\F\\5") + "ERR||||E||||unknown^code\rERR|legacy message\r", "ctl-1");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->text, "bad OBX|5; unknown code; legacy message");
}

TEST(AckTest, AcceptsLineFeedsAfterSegments) {
  std::string msg = AckWith("AA", "ctl-1");
  for (auto& c : msg) {
    if (c == '\r') c = '\n';
  }
  auto ack = ParseAck(msg, "ctl-1");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->outcome, AckOutcome::kDelivered);
}

}  // namespace
}  // namespace healthtwin::feeds::hl7
