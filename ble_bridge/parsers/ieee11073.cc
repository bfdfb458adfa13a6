#include "ble_bridge/parsers/ieee11073.h"

#include <array>
#include <cmath>
#include <string>

namespace healthtwin::ble {
namespace {

// Special mantissas relative to the mantissa width: +max, min, +max-1, min+2, min+1.
MderSpecial SpecialForMantissa(int32_t mantissa, int bits) {
  const int32_t max = (1 << (bits - 1)) - 1;
  const int32_t min = -(1 << (bits - 1));
  if (mantissa == max) return MderSpecial::kNaN;
  if (mantissa == min) return MderSpecial::kNRes;
  if (mantissa == max - 1) return MderSpecial::kPositiveInfinity;
  if (mantissa == min + 2) return MderSpecial::kNegativeInfinity;
  if (mantissa == min + 1) return MderSpecial::kReserved;
  return MderSpecial::kNone;
}

int32_t SignExtend(uint32_t value, int bits) {
  const uint32_t sign = 1u << (bits - 1);
  value &= (sign << 1) - 1;
  return static_cast<int32_t>(value ^ sign) - static_cast<int32_t>(sign);
}

MderFloat Decode(uint32_t raw_mantissa, uint32_t raw_exponent, int mantissa_bits, int exponent_bits) {
  MderFloat f;
  f.mantissa = SignExtend(raw_mantissa, mantissa_bits);
  f.exponent = SignExtend(raw_exponent, exponent_bits);
  const MderSpecial special = SpecialForMantissa(f.mantissa, mantissa_bits);
  if (special != MderSpecial::kNone) f.special = f.exponent == 0 ? special : MderSpecial::kReserved;
  return f;
}

double PowerOfTen(int n) {
  // Exact for 0..22; beyond that std::pow is as good as anything.
  static constexpr std::array<double, 23> kExact = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  return n < static_cast<int>(kExact.size()) ? kExact[n] : std::pow(10.0, n);
}

absl::StatusOr<uint32_t> Encode(int32_t mantissa, int32_t exponent, int mantissa_bits, int exponent_bits,
                                absl::string_view what) {
  const int32_t mmax = (1 << (mantissa_bits - 1)) - 1;
  const int32_t mmin = -(1 << (mantissa_bits - 1));
  const int32_t emax = (1 << (exponent_bits - 1)) - 1;
  const int32_t emin = -(1 << (exponent_bits - 1));
  // The five special mantissas are mmax, mmax-1, mmin, mmin+1, mmin+2.
  if (mantissa > mmax - 2 || mantissa < mmin + 3) {
    return absl::InvalidArgumentError(std::string(what) + ": mantissa " + std::to_string(mantissa) +
                                      " is out of range or a special value");
  }
  if (exponent > emax || exponent < emin) {
    return absl::InvalidArgumentError(std::string(what) + ": exponent " + std::to_string(exponent) +
                                      " is out of range");
  }
  const uint32_t m = static_cast<uint32_t>(mantissa) & ((1u << mantissa_bits) - 1);
  const uint32_t e = static_cast<uint32_t>(exponent) & ((1u << exponent_bits) - 1);
  return (e << mantissa_bits) | m;
}

}  // namespace

absl::string_view MderSpecialName(MderSpecial special) {
  switch (special) {
    case MderSpecial::kNone:
      return "";
    case MderSpecial::kNaN:
      return "NaN";
    case MderSpecial::kNRes:
      return "NRes";
    case MderSpecial::kPositiveInfinity:
      return "+INF";
    case MderSpecial::kNegativeInfinity:
      return "-INF";
    case MderSpecial::kReserved:
      return "Reserved";
  }
  return "Reserved";
}

double MderFloat::Scaled(int extra_exponent) const {
  const int e = exponent + extra_exponent;
  // Dividing by an exact power of ten rounds once, so 365e-1 prints as 36.5, not 36.500000000000004.
  return e >= 0 ? mantissa * PowerOfTen(e) : mantissa / PowerOfTen(-e);
}

MderFloat DecodeSfloat(uint16_t raw) { return Decode(raw & 0x0FFFu, raw >> 12, 12, 4); }

MderFloat DecodeFloat(uint32_t raw) { return Decode(raw & 0x00FFFFFFu, raw >> 24, 24, 8); }

absl::StatusOr<uint16_t> EncodeSfloat(int32_t mantissa, int32_t exponent) {
  auto raw = Encode(mantissa, exponent, 12, 4, "SFLOAT");
  if (!raw.ok()) return raw.status();
  return static_cast<uint16_t>(*raw);
}

absl::StatusOr<uint32_t> EncodeFloat(int32_t mantissa, int32_t exponent) {
  return Encode(mantissa, exponent, 24, 8, "FLOAT");
}

}  // namespace healthtwin::ble
