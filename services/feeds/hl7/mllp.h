// MLLP (HL7 Minimal Lower Layer Protocol, HL7 v2.6 Appendix C.4) framing:
//   0x0B <message> 0x1C 0x0D
// Ours because no maintained C++ HL7 v2 library is packaged in Debian 12 (see encoder.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace healthtwin::feeds::hl7 {

inline constexpr char kMllpStart = 0x0B;
inline constexpr char kMllpEnd = 0x1C;
inline constexpr char kMllpTrailer = 0x0D;

// One HL7 message in an MLLP frame.
std::string MllpFrame(std::string_view message);

// Incremental deframer for a byte stream that arrives in pieces of any size. Bytes outside a
// frame (before a start byte) are discarded and counted. A frame whose content grows past
// `max_frame_bytes` is an error (ResourceExhausted naming the limit); the stream is then
// unusable and the caller must close the connection.
//
// Thread safety: none; one object per connection.
class MllpDeframer {
 public:
  // 1 MiB: far above a PCD message (an ORU^R01 of 1000 samples is about 150 kB) and small
  // enough that a misbehaving peer cannot make us buffer without bound.
  static constexpr size_t kDefaultMaxFrameBytes = 1 << 20;

  explicit MllpDeframer(size_t max_frame_bytes = kDefaultMaxFrameBytes) : max_frame_bytes_(max_frame_bytes) {}

  // Appends received bytes.
  void Feed(std::string_view bytes) { pending_.append(bytes); }

  // The next complete message (without the framing bytes), nullopt when none is complete yet,
  // or an error when the frame in progress exceeds the limit.
  absl::StatusOr<std::optional<std::string>> Next();

  // Bytes discarded because they were outside any frame.
  size_t garbage_bytes() const { return garbage_bytes_; }

 private:
  size_t max_frame_bytes_;
  std::string pending_;
  size_t garbage_bytes_ = 0;
};

}  // namespace healthtwin::feeds::hl7
