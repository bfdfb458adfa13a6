// HL7 v2 escaping of text placed in one field or component (HL7 v2.6 chapter 2, section
// 2.7, "Use of escape sequences in text fields"). Our messages always declare the default
// encoding characters `|^~\&` in MSH-1/MSH-2, so the escape sequences are fixed:
//   |  -> \F\     ^ -> \S\     ~ -> \R\     \ -> \E\     & -> \T\  (section 2.7.4)
//   CR -> \X0D\   LF -> \X0A\  (hexadecimal data, section 2.7.5; a raw CR would end the segment),
//   and so every other C0 control and DEL (a raw 0x0B or 0x1C would break the MLLP frame)
// Every piece of text that comes from a person, a patient record or a rule goes through
// Escape() before it is placed between separators; a receiver that unescapes it gets the
// original bytes back.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace healthtwin::feeds::hl7 {

std::string Escape(std::string_view text);

// The inverse of Escape() for the sequences above (used by tests and by the ACK parser for
// MSA-3 / ERR text). InvalidArgument on an unterminated or unknown escape sequence.
absl::StatusOr<std::string> Unescape(std::string_view text);

}  // namespace healthtwin::feeds::hl7
