// A little-endian cursor over a GATT value, for the parsers in this folder.
//
// Parsers check the whole length against their flags *before* reading, so a read past the end
// is a parser bug, not bad input: it aborts (the fuzzers turn that into a crash report) rather
// than returning a value that was never sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace healthtwin::ble {

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return bytes_.size() - offset_; }

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
  std::span<const uint8_t> Take(std::size_t n) {
    if (n > remaining()) std::abort();  // the caller skipped its length check
    auto out = bytes_.subspan(offset_, n);
    offset_ += n;
    return out;
  }

  std::span<const uint8_t> bytes_;
  std::size_t offset_ = 0;
};

}  // namespace healthtwin::ble
