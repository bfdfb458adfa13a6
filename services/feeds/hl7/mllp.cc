#include "services/feeds/hl7/mllp.h"

#include "absl/strings/str_cat.h"

namespace healthtwin::feeds::hl7 {

std::string MllpFrame(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 3);
  out += kMllpStart;
  out.append(message);
  out += kMllpEnd;
  out += kMllpTrailer;
  return out;
}

absl::StatusOr<std::optional<std::string>> MllpDeframer::Next() {
  for (;;) {
    const size_t start = pending_.find(kMllpStart);
    if (start == std::string::npos) {
      garbage_bytes_ += pending_.size();
      pending_.clear();
      return std::nullopt;
    }
    if (start > 0) {
      garbage_bytes_ += start;
      pending_.erase(0, start);
    }
    // A start byte inside an unfinished frame means the previous frame was cut off: what came
    // before it is garbage and the new start begins a frame.
    const size_t end = pending_.find(kMllpEnd, 1);
    const size_t restart = pending_.find(kMllpStart, 1);
    if (restart != std::string::npos && (end == std::string::npos || restart < end)) {
      garbage_bytes_ += restart;
      pending_.erase(0, restart);
      continue;
    }
    if (end == std::string::npos || end + 1 >= pending_.size()) {
      const size_t content = end == std::string::npos ? pending_.size() - 1 : end - 1;
      if (content > max_frame_bytes_) {
        return absl::ResourceExhaustedError(
            absl::StrCat("MLLP frame exceeds the limit of ", max_frame_bytes_, " bytes"));
      }
      return std::nullopt;  // wait for the rest (or for the trailer byte)
    }
    if (end - 1 > max_frame_bytes_) {
      return absl::ResourceExhaustedError(absl::StrCat("MLLP frame exceeds the limit of ", max_frame_bytes_, " bytes"));
    }
    if (pending_[end + 1] != kMllpTrailer) {
      // 0x1C not followed by 0x0D: not a frame end; treat the frame as corrupt and resync.
      garbage_bytes_ += end + 1;
      pending_.erase(0, end + 1);
      continue;
    }
    std::string message = pending_.substr(1, end - 1);
    pending_.erase(0, end + 2);
    return std::optional<std::string>(std::move(message));
  }
}

}  // namespace healthtwin::feeds::hl7
