// A little-endian cursor over a GATT value, for the parsers in this folder.
//
// Parsers check the whole length against their flags *before* reading, so a read past the end
// is a parser bug, not bad input. It must not take the bridge down for every device, so the
// reader does not abort: an overrun read yields zeros and marks the reader, and the parser's
// Finish() turns the value into an InvalidArgument (a malformed payload, counted as rejected)
// instead of returning a value that was never sent. Every parser returns through Finish().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::ble {

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return bytes_.size() - offset_; }
  // True once a read went past the end; every later read yields zeros too.
  bool overrun() const { return overrun_.has_value(); }

  // `value`, or InvalidArgument naming the first read past the end.
  template <typename T>
  absl::StatusOr<T> Finish(T value) const {
    if (overrun_) {
      return absl::InvalidArgumentError(absl::StrCat("a parser read ", overrun_->bytes, " bytes at offset ",
                                                     overrun_->offset, " of a ", bytes_.size(),
                                                     "-byte value (past its end; its length check is missing)"));
    }
    return value;
  }

  uint8_t U8() { return Take(1)[0]; }
  uint16_t U16() {
    auto b = Take(2);
    return static_cast<uint16_t>(b[0] | (b[1] << 8));
  }
  int16_t S16() { return static_cast<int16_t>(U16()); }
  uint32_t U24() {
    auto b = Take(3);
    return static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) | (static_cast<uint32_t>(b[2]) << 16);
  }
  uint32_t U32() {
    auto b = Take(4);
    return static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) | (static_cast<uint32_t>(b[2]) << 16) |
           (static_cast<uint32_t>(b[3]) << 24);
  }

 private:
  struct Overrun {
    std::size_t offset, bytes;
  };

  std::span<const uint8_t> Take(std::size_t n) {
    if (overrun_ || n > remaining()) {  // the caller skipped its length check
      if (!overrun_) overrun_ = Overrun{offset_, n};
      return std::span<const uint8_t>(kZeros, n);
    }
    auto out = bytes_.subspan(offset_, n);
    offset_ += n;
    return out;
  }

  static constexpr uint8_t kZeros[4] = {0, 0, 0, 0};  // at least the widest read
  std::span<const uint8_t> bytes_;
  std::size_t offset_ = 0;
  std::optional<Overrun> overrun_;
};

}  // namespace healthtwin::ble
