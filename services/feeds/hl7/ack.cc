#include "services/feeds/hl7/ack.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/feeds/hl7/escape.h"

namespace healthtwin::feeds::hl7 {
namespace {

std::string UnescapeOrRaw(absl::string_view text) {
  auto unescaped = Unescape(std::string_view(text.data(), text.size()));
  return unescaped.ok() ? *unescaped : std::string(text);
}

}  // namespace

const char* AckOutcomeName(AckOutcome outcome) {
  switch (outcome) {
    case AckOutcome::kDelivered:
      return "delivered";
    case AckOutcome::kRetry:
      return "retry";
    case AckOutcome::kRejected:
      return "rejected";
  }
  return "unknown";
}

absl::StatusOr<Ack> ParseAck(std::string_view message_in, std::string_view expected_control_id) {
  const absl::string_view message(message_in.data(), message_in.size());
  // Segments end with CR; tolerate LF from receivers that add it.
  std::vector<absl::string_view> segments = absl::StrSplit(message, absl::ByAnyChar("\r\n"), absl::SkipEmpty());
  if (segments.empty() || segments.front().size() < 8 || segments.front().substr(0, 3) != "MSH") {
    return absl::InvalidArgumentError("ACK: does not start with an MSH segment");
  }
  const char field_sep = segments.front()[3];
  const char component_sep = segments.front()[4];

  Ack ack;
  bool have_msa = false;
  std::vector<std::string> texts;
  for (absl::string_view segment : segments) {
    std::vector<absl::string_view> fields = absl::StrSplit(segment, field_sep);
    if (fields[0] == "MSA") {
      if (have_msa) return absl::InvalidArgumentError("ACK: more than one MSA segment");
      have_msa = true;
      ack.code = fields.size() > 1 ? std::string(fields[1]) : "";
      ack.control_id = fields.size() > 2 ? UnescapeOrRaw(fields[2]) : "";
      if (fields.size() > 3 && !fields[3].empty()) texts.push_back(UnescapeOrRaw(fields[3]));
    } else if (fields[0] == "ERR") {
      absl::string_view diag = fields.size() > 8 && !fields[8].empty() ? fields[8]
                               : fields.size() > 1                     ? fields[1]
                                                                       : absl::string_view();
      if (!diag.empty()) {
        std::vector<std::string> parts;
        for (absl::string_view part : absl::StrSplit(diag, component_sep)) {
          if (!part.empty()) parts.push_back(UnescapeOrRaw(part));
        }
        texts.push_back(absl::StrJoin(parts, " "));
      }
    }
  }
  if (!have_msa) return absl::InvalidArgumentError("ACK: no MSA segment");

  if (ack.code == "AA" || ack.code == "CA") {
    ack.outcome = AckOutcome::kDelivered;
  } else if (ack.code == "AE" || ack.code == "CE") {
    ack.outcome = AckOutcome::kRetry;
  } else if (ack.code == "AR" || ack.code == "CR") {
    ack.outcome = AckOutcome::kRejected;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("ACK: MSA-1 '", ack.code, "' is not an acknowledgment code (AA/AE/AR/CA/CE/CR)"));
  }
  if (ack.control_id != expected_control_id) {
    return absl::InvalidArgumentError(absl::StrCat("ACK: MSA-2 '", ack.control_id, "' does not echo the MSH-10 sent, '",
                                                   std::string(expected_control_id), "'"));
  }
  ack.text = absl::StrJoin(texts, "; ");
  return ack;
}

}  // namespace healthtwin::feeds::hl7
