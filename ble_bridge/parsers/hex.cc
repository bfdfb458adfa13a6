#include "ble_bridge/parsers/hex.h"

#include "absl/strings/str_cat.h"

namespace healthtwin::ble {
namespace {

int Nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSeparator(char c) { return c == ' ' || c == '\t' || c == ':' || c == '-' || c == ','; }

}  // namespace

absl::StatusOr<std::vector<uint8_t>> ParseHex(absl::string_view text) {
  std::vector<uint8_t> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (IsSeparator(text[i])) {
      ++i;
      continue;
    }
    if (text[i] == '0' && i + 1 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X')) i += 2;
    // Within a token, digits pair up: "167C00" is three bytes.
    while (i < text.size() && !IsSeparator(text[i])) {
      const int hi = Nibble(text[i]);
      if (hi < 0)
        return absl::InvalidArgumentError(
            absl::StrCat("hex: '", text.substr(i, 1), "' at offset ", i, " is not a hex digit"));
      if (i + 1 >= text.size() || IsSeparator(text[i + 1])) {
        return absl::InvalidArgumentError(absl::StrCat("hex: odd number of digits before offset ", i + 1));
      }
      const int lo = Nibble(text[i + 1]);
      if (lo < 0)
        return absl::InvalidArgumentError(
            absl::StrCat("hex: '", text.substr(i + 1, 1), "' at offset ", i + 1, " is not a hex digit"));
      out.push_back(static_cast<uint8_t>(hi << 4 | lo));
      i += 2;
    }
  }
  return out;
}

}  // namespace healthtwin::ble
