// Record Access Control Point (0x2A52, GSS 3.186) as the Glucose, Pulse Oximeter and other
// record-keeping services use it: requests the bridge writes, and the indications the device
// answers with. Both directions parse and encode, so the bridge can log and check what it sends.
//
//   op code u8 | operator u8 | operand...
//
// Requests: 1 report stored records, 2 delete stored records, 4 report number of stored records
// (operators 1 all, 5 first, 6 last with no operand; 2 <=, 3 >= with a filter type and one value;
// 4 within range with a filter type and two values), 3 abort (operator null, no operand).
// Filter types: 1 sequence number (u16), 2 user facing time (Date Time, 7 bytes).
// Responses: 5 number of stored records (operator null, u16 or u32 count), 6 response code
// (operator null, request op code u8, response code value u8).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ble_bridge/parsers/date_time.h"

namespace healthtwin::ble {

enum class RacpOpCode : uint8_t {
  kReportStoredRecords = 1,
  kDeleteStoredRecords = 2,
  kAbortOperation = 3,
  kReportNumberOfStoredRecords = 4,
  kNumberOfStoredRecordsResponse = 5,
  kResponseCode = 6,
};

enum class RacpOperator : uint8_t {
  kNull = 0,
  kAllRecords = 1,
  kLessThanOrEqualTo = 2,
  kGreaterThanOrEqualTo = 3,
  kWithinRangeOf = 4,
  kFirstRecord = 5,
  kLastRecord = 6,
};

enum class RacpFilterType : uint8_t { kSequenceNumber = 1, kUserFacingTime = 2 };

enum class RacpResponseCode : uint8_t {
  kSuccess = 1,
  kOpCodeNotSupported = 2,
  kInvalidOperator = 3,
  kOperatorNotSupported = 4,
  kInvalidOperand = 5,
  kNoRecordsFound = 6,
  kAbortUnsuccessful = 7,
  kProcedureNotCompleted = 8,
  kOperandNotSupported = 9,
};

struct RacpFilter {
  RacpFilterType type = RacpFilterType::kSequenceNumber;
  // One value for <= and >=, two (min, max) for "within range of"; only the vector matching type.
  std::vector<uint16_t> sequence_numbers;
  std::vector<DateTime> user_facing_times;

  friend bool operator==(const RacpFilter&, const RacpFilter&) = default;
};

struct RacpMessage {
  RacpOpCode op_code = RacpOpCode::kReportStoredRecords;
  RacpOperator op = RacpOperator::kAllRecords;
  std::optional<RacpFilter> filter;           // requests with operators 2..4
  std::optional<uint32_t> number_of_records;  // op code 5
  std::optional<uint8_t> count_size_bytes;    // op code 5: 2 or 4, as received
  std::optional<uint8_t> request_op_code;     // op code 6
  std::optional<uint8_t> response_code;       // op code 6; values above 9 are reserved

  bool is_response() const {
    return op_code == RacpOpCode::kNumberOfStoredRecordsResponse || op_code == RacpOpCode::kResponseCode;
  }
  friend bool operator==(const RacpMessage&, const RacpMessage&) = default;
};

absl::string_view RacpOpCodeName(RacpOpCode op);
absl::string_view RacpOperatorName(RacpOperator op);
// "success", ..., or "reserved" for values the specification does not define.
absl::string_view RacpResponseCodeName(uint8_t code);

absl::StatusOr<RacpMessage> ParseRacp(std::span<const uint8_t> value);
// InvalidArgument when the message is not one ParseRacp would accept.
absl::StatusOr<std::vector<uint8_t>> EncodeRacp(const RacpMessage& message);

// The request the bridge sends to catch up: every record with sequence number >= first.
RacpMessage RacpReportRecordsFrom(uint16_t first_sequence_number);

}  // namespace healthtwin::ble
