// Syntax checks for identifiers that arrive from the network, so a bad one is rejected with a
// clear INVALID_ARGUMENT before it reaches a ::uuid cast in SQL.
#pragma once

#include <cctype>
#include <string_view>

namespace healthtwin::common {

// True for the canonical 8-4-4-4-12 hexadecimal form of a UUID.
inline bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace healthtwin::common
