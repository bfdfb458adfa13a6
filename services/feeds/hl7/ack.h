// Reads the receiver's answer to one message (HL7 v2.6 chapter 2, 2.9 acknowledgement
// messages): MSA-1 decides, MSA-2 must echo the MSH-10 we sent.
//   Original mode:  AA delivered, AE retry (application error), AR permanent rejection.
//   Enhanced mode:  CA delivered (commit accept), CE retry, CR permanent rejection.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace healthtwin::feeds::hl7 {

enum class AckOutcome : int {
  kDelivered = 1,  // AA, CA
  kRetry = 2,      // AE, CE: send the same message again later
  kRejected = 3,   // AR, CR: never resend; dead-letter it
};
const char* AckOutcomeName(AckOutcome outcome);

struct Ack {
  AckOutcome outcome = AckOutcome::kRetry;
  std::string code;        // MSA-1 as received, e.g. "AE"
  std::string control_id;  // MSA-2
  // What the receiver said: MSA-3 and the ERR segments' diagnostics (ERR-8 user message, or
  // ERR-1 in pre-2.5 receivers), unescaped and joined with "; ". Empty when it said nothing.
  std::string text;
};

// Errors (InvalidArgument, naming what is wrong): no MSH or MSA segment, an MSA-1 that is none
// of the six codes, or an MSA-2 that is not `expected_control_id` (an answer to another
// message; the caller must not treat it as this message's outcome).
absl::StatusOr<Ack> ParseAck(std::string_view message, std::string_view expected_control_id);

}  // namespace healthtwin::feeds::hl7
