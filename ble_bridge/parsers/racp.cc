#include "ble_bridge/parsers/racp.h"

#include "ble_bridge/parsers/byte_reader.h"
#include "ble_bridge/parsers/parse_util.h"

namespace healthtwin::ble {
namespace {

bool IsRequest(uint8_t op) { return op == 1 || op == 2 || op == 4; }

absl::Status Invalid(absl::string_view why) { return absl::InvalidArgumentError(std::string(why)); }

std::size_t FilterValueSize(RacpFilterType t) { return t == RacpFilterType::kSequenceNumber ? 2 : kDateTimeSize; }

std::size_t ValuesFor(RacpOperator op) { return op == RacpOperator::kWithinRangeOf ? 2 : 1; }

bool NeedsFilter(RacpOperator op) {
  return op == RacpOperator::kLessThanOrEqualTo || op == RacpOperator::kGreaterThanOrEqualTo ||
         op == RacpOperator::kWithinRangeOf;
}

absl::StatusOr<RacpMessage> ParseRequest(RacpMessage m, ByteReader& r) {
  const uint8_t op = static_cast<uint8_t>(m.op);
  if (op == 0 || op > 6) {
    return Invalid(absl::StrCat("operator ", op, " is not valid for op code ", static_cast<int>(m.op_code)));
  }
  if (!NeedsFilter(m.op)) {
    if (r.remaining() != 0) {
      return Invalid(
          absl::StrCat("operator ", RacpOperatorName(m.op), " takes no operand, got ", r.remaining(), " bytes"));
    }
    return r.Finish(std::move(m));
  }
  if (r.remaining() < 1) return Invalid(absl::StrCat("operator ", RacpOperatorName(m.op), " needs a filter type"));
  const uint8_t filter = r.U8();
  if (filter != 1 && filter != 2) return Invalid(absl::StrCat("filter type ", filter, " is not defined"));
  RacpFilter f;
  f.type = static_cast<RacpFilterType>(filter);
  const std::size_t need = ValuesFor(m.op) * FilterValueSize(f.type);
  if (r.remaining() != need) {
    return Invalid(absl::StrCat("operand for ", RacpOperatorName(m.op), " with filter type ", filter, " needs ", need,
                                " bytes, got ", r.remaining()));
  }
  for (std::size_t i = 0; i < ValuesFor(m.op); ++i) {
    if (f.type == RacpFilterType::kSequenceNumber) {
      f.sequence_numbers.push_back(r.U16());
    } else {
      auto t = ReadDateTime(r);
      if (!t.ok()) return t.status();
      f.user_facing_times.push_back(*t);
    }
  }
  if (m.op == RacpOperator::kWithinRangeOf && f.type == RacpFilterType::kSequenceNumber &&
      f.sequence_numbers[0] > f.sequence_numbers[1]) {
    return Invalid(absl::StrCat("range minimum ", f.sequence_numbers[0], " is above maximum ", f.sequence_numbers[1]));
  }
  m.filter = std::move(f);
  return r.Finish(std::move(m));
}

}  // namespace

absl::string_view RacpOpCodeName(RacpOpCode op) {
  switch (op) {
    case RacpOpCode::kReportStoredRecords:
      return "report_stored_records";
    case RacpOpCode::kDeleteStoredRecords:
      return "delete_stored_records";
    case RacpOpCode::kAbortOperation:
      return "abort_operation";
    case RacpOpCode::kReportNumberOfStoredRecords:
      return "report_number_of_stored_records";
    case RacpOpCode::kNumberOfStoredRecordsResponse:
      return "number_of_stored_records_response";
    case RacpOpCode::kResponseCode:
      return "response_code";
  }
  return "reserved";
}

absl::string_view RacpOperatorName(RacpOperator op) {
  switch (op) {
    case RacpOperator::kNull:
      return "null";
    case RacpOperator::kAllRecords:
      return "all_records";
    case RacpOperator::kLessThanOrEqualTo:
      return "less_than_or_equal_to";
    case RacpOperator::kGreaterThanOrEqualTo:
      return "greater_than_or_equal_to";
    case RacpOperator::kWithinRangeOf:
      return "within_range_of";
    case RacpOperator::kFirstRecord:
      return "first_record";
    case RacpOperator::kLastRecord:
      return "last_record";
  }
  return "reserved";
}

absl::string_view RacpResponseCodeName(uint8_t code) {
  switch (code) {
    case 1:
      return "success";
    case 2:
      return "op_code_not_supported";
    case 3:
      return "invalid_operator";
    case 4:
      return "operator_not_supported";
    case 5:
      return "invalid_operand";
    case 6:
      return "no_records_found";
    case 7:
      return "abort_unsuccessful";
    case 8:
      return "procedure_not_completed";
    case 9:
      return "operand_not_supported";
  }
  return "reserved";
}

absl::StatusOr<RacpMessage> ParseRacp(std::span<const uint8_t> value) {
  if (value.size() < 2) return internal::TooShort(value.size(), 2);
  ByteReader r(value);
  const uint8_t op_code = r.U8();
  const uint8_t op = r.U8();
  if (op_code == 0 || op_code > 6) return Invalid(absl::StrCat("op code ", op_code, " is not supported"));
  RacpMessage m;
  m.op_code = static_cast<RacpOpCode>(op_code);
  m.op = static_cast<RacpOperator>(op);
  if (IsRequest(op_code)) return ParseRequest(std::move(m), r);
  if (op != 0) return Invalid(absl::StrCat("op code ", op_code, " needs the null operator, got ", op));
  switch (m.op_code) {
    case RacpOpCode::kAbortOperation:
      if (r.remaining() != 0) return Invalid(absl::StrCat("abort takes no operand, got ", r.remaining(), " bytes"));
      return r.Finish(std::move(m));
    case RacpOpCode::kNumberOfStoredRecordsResponse:
      if (r.remaining() == 2) {
        m.number_of_records = r.U16();
      } else if (r.remaining() == 4) {
        m.number_of_records = r.U32();
      } else {
        return Invalid(absl::StrCat("number of stored records needs a 2- or 4-byte count, got ", r.remaining()));
      }
      m.count_size_bytes = static_cast<uint8_t>(value.size() - 2);
      return r.Finish(std::move(m));
    case RacpOpCode::kResponseCode:
      if (r.remaining() != 2) {
        return Invalid(absl::StrCat("response code needs request op code and value (2 bytes), got ", r.remaining()));
      }
      m.request_op_code = r.U8();
      m.response_code = r.U8();
      return r.Finish(std::move(m));
    default:
      break;
  }
  return Invalid("unreachable op code");  // IsRequest covered 1, 2 and 4
}

absl::StatusOr<std::vector<uint8_t>> EncodeRacp(const RacpMessage& m) {
  RacpMessage expected = m;
  std::vector<uint8_t> out = {static_cast<uint8_t>(m.op_code), static_cast<uint8_t>(m.op)};
  if (m.op_code == RacpOpCode::kNumberOfStoredRecordsResponse && m.number_of_records) {
    const uint32_t n = *m.number_of_records;
    const uint8_t size = m.count_size_bytes.value_or(n > 0xFFFF ? 4 : 2);
    if (size != 2 && size != 4) return Invalid("count size must be 2 or 4 bytes");
    if (size == 2 && n > 0xFFFF) return Invalid("count does not fit in 2 bytes");
    for (int i = 0; i < size; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
    expected.count_size_bytes = size;
  } else if (m.op_code == RacpOpCode::kResponseCode && m.request_op_code && m.response_code) {
    out.push_back(*m.request_op_code);
    out.push_back(*m.response_code);
  } else if (m.filter) {
    out.push_back(static_cast<uint8_t>(m.filter->type));
    for (uint16_t s : m.filter->sequence_numbers) {
      out.push_back(static_cast<uint8_t>(s & 0xFF));
      out.push_back(static_cast<uint8_t>(s >> 8));
    }
    for (const DateTime& t : m.filter->user_facing_times) AppendDateTime(t, out);
  }
  // Round-trip through the parser: one definition of "valid" for both directions, and a field the
  // op code does not carry (which would be silently dropped) is an error.
  auto parsed = ParseRacp(out);
  if (!parsed.ok()) return parsed.status();
  if (!(*parsed == expected)) return Invalid("message has fields its op code and operator do not carry");
  return out;
}

RacpMessage RacpReportRecordsFrom(uint16_t first_sequence_number) {
  RacpMessage m;
  m.op_code = RacpOpCode::kReportStoredRecords;
  m.op = RacpOperator::kGreaterThanOrEqualTo;
  m.filter = RacpFilter{RacpFilterType::kSequenceNumber, {first_sequence_number}, {}};
  return m;
}

}  // namespace healthtwin::ble
