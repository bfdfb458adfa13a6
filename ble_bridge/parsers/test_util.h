// Test helper: a byte vector from hex text, so vectors read like the sources they cite.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ble_bridge/parsers/hex.h"

namespace healthtwin::ble::testing {

inline std::vector<uint8_t> V(const char* hex) {
  auto bytes = ParseHex(hex);
  if (!bytes.ok()) std::abort();  // a typo in a test vector
  return *bytes;
}

}  // namespace healthtwin::ble::testing
