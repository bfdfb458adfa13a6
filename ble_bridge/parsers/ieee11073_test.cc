#include "ble_bridge/parsers/ieee11073.h"

#include <gtest/gtest.h>

namespace healthtwin::ble {
namespace {

// Source [HL7-PHD]: HL7 FHIR Personal Health Device IG, "Mder FLOATs and SFLOATs", example table
// (https://build.fhir.org/ig/HL7/PHD/MderFLOATsandSFLOATs.html).
TEST(SfloatTest, DecodesHl7PhdExampleTable) {
  struct Case {
    uint16_t raw;
    int mantissa, exponent;
    double value;
  };
  for (const Case& c : {Case{0x0002, 2, 0, 2}, Case{0xF014, 20, -1, 2.0}, Case{0xE0C8, 200, -2, 2.00},
                        Case{0x1002, 2, 1, 20}, Case{0x2002, 2, 2, 200}, Case{0x00C8, 200, 0, 200},
                        Case{0x04D2, 1234, 0, 1234}, Case{0x0B2E, -1234, 0, -1234}}) {
    MderFloat f = DecodeSfloat(c.raw);
    EXPECT_FALSE(f.is_special()) << std::hex << c.raw;
    EXPECT_EQ(f.mantissa, c.mantissa) << std::hex << c.raw;
    EXPECT_EQ(f.exponent, c.exponent) << std::hex << c.raw;
    EXPECT_DOUBLE_EQ(f.value(), c.value) << std::hex << c.raw;
  }
}

// Source [HL7-PHD], FLOAT half of the same table.
TEST(FloatTest, DecodesHl7PhdExampleTable) {
  struct Case {
    uint32_t raw;
    double value;
  };
  for (const Case& c :
       {Case{0x00000002, 2}, Case{0xFF000014, 2.0}, Case{0xFE0000C8, 2.00}, Case{0x01000002, 20}, Case{0x02000002, 200},
        Case{0x000000C8, 200}, Case{0x000004D2, 1234}, Case{0x00FFFB2E, -1234}}) {
    MderFloat f = DecodeFloat(c.raw);
    EXPECT_FALSE(f.is_special()) << std::hex << c.raw;
    EXPECT_DOUBLE_EQ(f.value(), c.value) << std::hex << c.raw;
  }
}

// Source [HL7-PHD] "Special Values" table and GSS v5 section 2.2.2 (medfloat16/medfloat32).
TEST(SfloatTest, SpecialValuesAreNeverNumbers) {
  EXPECT_EQ(DecodeSfloat(0x07FF).special, MderSpecial::kNaN);
  EXPECT_EQ(DecodeSfloat(0x0800).special, MderSpecial::kNRes);
  EXPECT_EQ(DecodeSfloat(0x07FE).special, MderSpecial::kPositiveInfinity);
  EXPECT_EQ(DecodeSfloat(0x0802).special, MderSpecial::kNegativeInfinity);
  EXPECT_EQ(DecodeSfloat(0x0801).special, MderSpecial::kReserved);
}

TEST(FloatTest, SpecialValuesAreNeverNumbers) {
  EXPECT_EQ(DecodeFloat(0x007FFFFF).special, MderSpecial::kNaN);
  EXPECT_EQ(DecodeFloat(0x00800000).special, MderSpecial::kNRes);
  EXPECT_EQ(DecodeFloat(0x007FFFFE).special, MderSpecial::kPositiveInfinity);
  EXPECT_EQ(DecodeFloat(0x00800002).special, MderSpecial::kNegativeInfinity);
  EXPECT_EQ(DecodeFloat(0x00800001).special, MderSpecial::kReserved);
}

// A special mantissa with a non-zero exponent is undefined; 0xF7FF would naively be 204.7.
TEST(SfloatTest, SpecialMantissaWithExponentIsReserved) {
  EXPECT_EQ(DecodeSfloat(0xF7FF).special, MderSpecial::kReserved);
  EXPECT_EQ(DecodeSfloat(0x1800).special, MderSpecial::kReserved);
  EXPECT_EQ(DecodeFloat(0xFF7FFFFF).special, MderSpecial::kReserved);
}

TEST(SfloatTest, NeighboursOfSpecialValuesAreNumbers) {
  EXPECT_DOUBLE_EQ(DecodeSfloat(0x07FD).value(), 2045);
  EXPECT_DOUBLE_EQ(DecodeSfloat(0x0803).value(), -2045);
}

// Source [bluetooth-sig-python] tests/gatt/characteristics/utils/test_ieee11073_parser.py
// (RonanB96/bluetooth-sig-python @ 27bdb3dc) calls 0x700A "mantissa 10, exponent -1 = 1.0". The
// exponent nibble 0x7 is +7 in two's complement (the HL7 table has -1 as 0xF), so 0x700A is 1e8.
TEST(SfloatTest, ExponentIsTwosComplementNotOffsetBinary) {
  EXPECT_DOUBLE_EQ(DecodeSfloat(0x700A).value(), 10e7);
  EXPECT_DOUBLE_EQ(DecodeSfloat(0xF00A).value(), 1.0);
  EXPECT_EQ(DecodeSfloat(0x8078).exponent, -8);  // their "120 mmHg"; really 1.2e-6
}

TEST(SfloatTest, DecimalScalingIsExact) {
  EXPECT_EQ(DecodeSfloat(0xF16D).value(), 36.5);  // 365e-1
  MderFloat mg_per_l = DecodeSfloat(0xB05F);      // 95e-5 kg/L
  EXPECT_EQ(mg_per_l.Scaled(5), 95.0);            // = 95 mg/dL
}

TEST(SfloatTest, EncodeRoundTripsAndRefusesSpecials) {
  for (int m : {-2045, -1, 0, 1, 120, 2045}) {
    for (int e : {-8, -1, 0, 7}) {
      auto raw = EncodeSfloat(m, e);
      ASSERT_TRUE(raw.ok()) << m << "e" << e;
      MderFloat f = DecodeSfloat(*raw);
      EXPECT_EQ(f.mantissa, m);
      EXPECT_EQ(f.exponent, e);
      EXPECT_FALSE(f.is_special());
    }
  }
  EXPECT_FALSE(EncodeSfloat(2047, 0).ok());
  EXPECT_FALSE(EncodeSfloat(2046, 0).ok());
  EXPECT_FALSE(EncodeSfloat(-2046, 0).ok());
  EXPECT_FALSE(EncodeSfloat(1, 8).ok());
  EXPECT_FALSE(EncodeSfloat(1, -9).ok());
  EXPECT_FALSE(EncodeFloat(0x7FFFFF, 0).ok());
  auto f = EncodeFloat(-1234, 0);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, 0x00FFFB2Eu);  // [HL7-PHD]
}

}  // namespace
}  // namespace healthtwin::ble
