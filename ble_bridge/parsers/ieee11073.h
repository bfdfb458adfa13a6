// IEEE 11073-20601 "medical floats" as used by the Bluetooth health profiles: the 16-bit SFLOAT
// (4-bit exponent, 12-bit mantissa) and the 32-bit FLOAT (8-bit exponent, 24-bit mantissa), both
// base 10 and two's complement, little-endian on the wire.
//
// Each format reserves five mantissa values (with exponent 0) for special values: NaN, NRes
// ("not at this resolution"), +INF, -INF and one reserved value. They are never turned into a
// number: MderFloat keeps them apart and value() must not be called on them. A special mantissa
// with a non-zero exponent is not defined by the standard; it is reported as kReserved rather
// than guessed at (a naive decoder would read 0xF7FF as 204.7).
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthtwin::ble {

enum class MderSpecial : uint8_t {
  kNone,  // an ordinary number
  kNaN,
  kNRes,
  kPositiveInfinity,
  kNegativeInfinity,
  kReserved,
};

// "NaN", "NRes", "+INF", "-INF", "Reserved" (the names the decode JSON contract uses).
absl::string_view MderSpecialName(MderSpecial special);

struct MderFloat {
  int32_t mantissa = 0;
  int32_t exponent = 0;
  MderSpecial special = MderSpecial::kNone;

  bool is_special() const { return special != MderSpecial::kNone; }
  // mantissa * 10^exponent. Precondition: !is_special().
  double value() const { return Scaled(0); }
  // mantissa * 10^(exponent + extra_exponent): a decimal unit change (kg/L -> mg/dL is +5) without
  // the rounding a multiplication by 1e5 would add. Precondition: !is_special().
  double Scaled(int extra_exponent) const;

  friend bool operator==(const MderFloat&, const MderFloat&) = default;
};

MderFloat DecodeSfloat(uint16_t raw);
MderFloat DecodeFloat(uint32_t raw);

// For simulated devices and tests. InvalidArgument when the mantissa or exponent does not fit
// or when the mantissa would collide with a special value.
absl::StatusOr<uint16_t> EncodeSfloat(int32_t mantissa, int32_t exponent);
absl::StatusOr<uint32_t> EncodeFloat(int32_t mantissa, int32_t exponent);

inline constexpr uint16_t kSfloatNaN = 0x07FF;
inline constexpr uint16_t kSfloatNRes = 0x0800;
inline constexpr uint16_t kSfloatPositiveInfinity = 0x07FE;
inline constexpr uint16_t kSfloatNegativeInfinity = 0x0802;
inline constexpr uint16_t kSfloatReserved = 0x0801;
inline constexpr uint32_t kFloatNaN = 0x007FFFFF;
inline constexpr uint32_t kFloatNRes = 0x00800000;
inline constexpr uint32_t kFloatPositiveInfinity = 0x007FFFFE;
inline constexpr uint32_t kFloatNegativeInfinity = 0x00800002;
inline constexpr uint32_t kFloatReserved = 0x00800001;

}  // namespace healthtwin::ble
