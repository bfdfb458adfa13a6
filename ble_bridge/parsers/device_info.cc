#include "ble_bridge/parsers/device_info.h"

#include "absl/strings/str_cat.h"

namespace healthtwin::ble {
namespace {

// Offset of the first invalid UTF-8 sequence, or npos.
std::size_t FirstInvalidUtf8(std::span<const uint8_t> s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = s[i];
    std::size_t len;
    uint32_t cp;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string::npos;
}

}  // namespace

absl::StatusOr<DeviceInfoString> ParseDeviceInfoString(std::span<const uint8_t> value) {
  if (value.size() > kMaxAttributeValueSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("length is ", value.size(), " bytes, above the ATT maximum of ", kMaxAttributeValueSize));
  }
  std::size_t end = value.size();
  while (end > 0 && value[end - 1] == 0) --end;
  DeviceInfoString out;
  out.had_nul_padding = end != value.size();
  auto text = value.first(end);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == 0) {
      return absl::InvalidArgumentError(absl::StrCat("NUL at offset ", i, " is followed by more text"));
    }
  }
  if (std::size_t bad = FirstInvalidUtf8(text); bad != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at offset ", bad));
  }
  out.value.assign(text.begin(), text.end());
  return out;
}

}  // namespace healthtwin::ble
