#include "ble_bridge/bluez/gatt_uuids.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace healthtwin::ble {
namespace {
constexpr absl::string_view kBaseSuffix = "-0000-1000-8000-00805f9b34fb";
}  // namespace

std::string FullUuid(uint16_t uuid16) { return absl::StrFormat("0000%04x%s", uuid16, kBaseSuffix); }

std::optional<uint16_t> ShortUuid(absl::string_view uuid) {
  if (uuid.size() != 36) return std::nullopt;
  std::string lower = absl::AsciiStrToLower(uuid);
  if (absl::string_view(lower).substr(8) != kBaseSuffix || lower.substr(0, 4) != "0000") return std::nullopt;
  uint32_t value = 0;
  std::string hex = lower.substr(4, 4);
  if (!std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); })) return std::nullopt;
  if (!absl::SimpleHexAtoi(hex, &value)) return std::nullopt;
  return static_cast<uint16_t>(value);
}

bool IsHealthService(absl::string_view uuid) {
  auto short_uuid = ShortUuid(uuid);
  return short_uuid && std::find(kHealthServiceUuids16.begin(), kHealthServiceUuids16.end(), *short_uuid) !=
                           kHealthServiceUuids16.end();
}

std::optional<Characteristic> NotifiedCharacteristic(absl::string_view uuid) {
  auto short_uuid = ShortUuid(uuid);
  if (!short_uuid) return std::nullopt;
  for (Characteristic c : kNotifiedCharacteristics) {
    if (static_cast<uint16_t>(c) == *short_uuid) return c;
  }
  return std::nullopt;
}

}  // namespace healthtwin::ble
