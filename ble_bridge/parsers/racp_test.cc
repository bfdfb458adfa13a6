#include "ble_bridge/parsers/racp.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

// Source [Nordic] RecordAccessControlPointDataCallbackTest: {6, 0, 1, 1} success for "report";
// {6, 0, 12, 2} op code not supported; {6, 0, 1, 6} no records found; {6, 0, 1, 10} unknown code.
TEST(RacpTest, NordicResponseCodes) {
  auto ok = ParseRacp(V("06 00 01 01"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->op_code, RacpOpCode::kResponseCode);
  EXPECT_EQ(ok->request_op_code, 1);
  EXPECT_EQ(ok->response_code, 1);
  EXPECT_EQ(RacpResponseCodeName(*ok->response_code), "success");
  auto unsupported = ParseRacp(V("06 00 0C 02"));
  ASSERT_TRUE(unsupported.ok());
  EXPECT_EQ(unsupported->request_op_code, 12);
  EXPECT_EQ(RacpResponseCodeName(ParseRacp(V("06 00 01 06"))->response_code.value()), "no_records_found");
  for (const char* v : {"06 00 01 03", "06 00 02 04", "06 00 01 05", "06 00 03 07", "06 00 02 08", "06 00 02 09"}) {
    EXPECT_TRUE(ParseRacp(V(v)).ok()) << v;
  }
  auto unknown = ParseRacp(V("06 00 01 0A"));
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(RacpResponseCodeName(*unknown->response_code), "reserved");
}

// Source [Nordic] onNumberOfRecordsReceived_uint16 {5, 0, 2, 1} = 258 and _uint32 {5, 0, 4, 3, 2, 1}.
// Nordic also accepts a 1-byte and rejects a 3-byte count; GSS has u16 (and u32 for CGM), so a
// 1-byte count is rejected here.
TEST(RacpTest, NordicNumberOfRecords) {
  EXPECT_EQ(ParseRacp(V("05 00 02 01"))->number_of_records, 258u);
  EXPECT_EQ(ParseRacp(V("05 00 04 03 02 01"))->number_of_records, 16909060u);
  EXPECT_FALSE(ParseRacp(V("05 00 03 02 01")).ok());
  EXPECT_FALSE(ParseRacp(V("05 00 01")).ok());
}

// Source [Nordic] onInvalidDataReceived_*: that callback parses responses only, so its _tooShort
// {1, 1} and _wrongOpCode {1, 3, 1, 2, 0} are valid *requests* per GSS here (report all; report
// sequence >= 2). Its _invalidOperator {6, 1, 1} is invalid here too (responses use operator null).
TEST(RacpTest, NordicInvalidOperator) {
  EXPECT_FALSE(ParseRacp(V("06 01 01")).ok());
  EXPECT_TRUE(ParseRacp(V("01 01")).ok());
  auto req = ParseRacp(V("01 03 01 02 00"));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->filter->sequence_numbers, std::vector<uint16_t>{2});
}

// Source [bluetooth-sig-python] test_record_access_control_point.py: [0x01, 0x01] report all,
// [0x03, 0x00] abort, [0x06, 0x00, 0x01, 0x01] success.
TEST(RacpTest, BluetoothSigPythonVectors) {
  EXPECT_EQ(ParseRacp(V("01 01"))->op, RacpOperator::kAllRecords);
  EXPECT_EQ(ParseRacp(V("03 00"))->op_code, RacpOpCode::kAbortOperation);
  EXPECT_EQ(ParseRacp(V("06 00 01 01"))->response_code, 1);
}

// GSS 3.186 operand layouts.
TEST(RacpTest, RangeAndTimeFilters) {
  auto range = ParseRacp(V("01 04 01 0A 00 14 00"));
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->filter->sequence_numbers, (std::vector<uint16_t>{10, 20}));
  EXPECT_FALSE(ParseRacp(V("01 04 01 14 00 0A 00")).ok());  // min > max
  auto by_time = ParseRacp(V("04 03 02 E8 07 03 0F 00 00 00"));
  ASSERT_TRUE(by_time.ok()) << by_time.status();
  EXPECT_EQ(by_time->filter->user_facing_times[0].ToIso8601(), "2024-03-15T00:00:00");
}

TEST(RacpTest, RejectsMalformedRequests) {
  EXPECT_FALSE(ParseRacp(V("01")).ok());
  EXPECT_FALSE(ParseRacp(V("00 01")).ok());           // op code 0 reserved
  EXPECT_FALSE(ParseRacp(V("07 00")).ok());           // not supported here
  EXPECT_FALSE(ParseRacp(V("01 00")).ok());           // null operator on a request
  EXPECT_FALSE(ParseRacp(V("01 07")).ok());           // operator 7 reserved
  EXPECT_FALSE(ParseRacp(V("01 01 01")).ok());        // "all" takes no operand
  EXPECT_FALSE(ParseRacp(V("01 03")).ok());           // >= needs a filter
  EXPECT_FALSE(ParseRacp(V("01 03 03 01 00")).ok());  // filter type 3 undefined
  EXPECT_FALSE(ParseRacp(V("01 03 01 01")).ok());     // truncated value
  EXPECT_FALSE(ParseRacp(V("03 01")).ok());           // abort needs null operator
  EXPECT_FALSE(ParseRacp(V("06 00 01")).ok());        // response code truncated
}

TEST(RacpTest, EncodeRoundTrips) {
  auto bytes = EncodeRacp(RacpReportRecordsFrom(0x1234));
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, V("01 03 01 34 12"));
  for (const char* v : {"01 01", "02 05", "04 06", "03 00", "05 00 02 01", "05 00 04 03 02 01", "06 00 01 01",
                        "01 04 01 0A 00 14 00", "04 03 02 E8 07 03 0F 00 00 00"}) {
    auto parsed = ParseRacp(V(v));
    ASSERT_TRUE(parsed.ok()) << v;
    auto encoded = EncodeRacp(*parsed);
    ASSERT_TRUE(encoded.ok()) << v << ": " << encoded.status();
    EXPECT_EQ(*encoded, V(v));
  }
}

TEST(RacpTest, EncodeRefusesFieldsTheOpCodeDoesNotCarry) {
  RacpMessage m;
  m.op_code = RacpOpCode::kReportStoredRecords;
  m.op = RacpOperator::kAllRecords;
  m.number_of_records = 3;
  EXPECT_FALSE(EncodeRacp(m).ok());
}

}  // namespace
}  // namespace healthtwin::ble
