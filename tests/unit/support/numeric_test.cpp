// Tests of the machine's element types: exact fp16/bf16 conversions (round to nearest, ties
// to even, subnormals, overflow, NaN, signed zero), round trips of every 16-bit pattern,
// integer saturation in encode_value, and the dtype names and ranges.
#include <cmath>
#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

#include "wafer/support/numeric.hpp"

namespace wafer {
namespace {

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

double p2(int e) { return std::ldexp(1.0, e); }

bool f16_is_nan(uint16_t b) { return (b & 0x7C00) == 0x7C00 && (b & 0x03FF) != 0; }
bool bf16_is_nan(uint16_t b) { return (b & 0x7F80) == 0x7F80 && (b & 0x007F) != 0; }

// ---------------------------------------------------------------- fp16

TEST(Fp16, ExactValues) {
  EXPECT_EQ(double_to_f16(1.0), 0x3C00);
  EXPECT_EQ(double_to_f16(-2.0), 0xC000);
  EXPECT_EQ(double_to_f16(0.5), 0x3800);
  EXPECT_EQ(double_to_f16(3.0), 0x4200);
  EXPECT_EQ(double_to_f16(1.0 + p2(-10)), 0x3C01);
  EXPECT_EQ(double_to_f16(65504.0), 0x7BFF);   // largest finite
  EXPECT_EQ(double_to_f16(-65504.0), 0xFBFF);
  EXPECT_EQ(double_to_f16(p2(-14)), 0x0400);   // smallest normal
  EXPECT_EQ(double_to_f16(1023 * p2(-24)), 0x03FF);  // largest subnormal
  EXPECT_EQ(double_to_f16(p2(-24)), 0x0001);   // smallest subnormal
  EXPECT_EQ(double_to_f16(-p2(-24)), 0x8001);
  EXPECT_EQ(double_to_f16(0.0), 0x0000);
  EXPECT_EQ(double_to_f16(-0.0), 0x8000);
  EXPECT_EQ(double_to_f16(kInf), 0x7C00);
  EXPECT_EQ(double_to_f16(-kInf), 0xFC00);

  EXPECT_EQ(f16_to_double(0x3C00), 1.0);
  EXPECT_EQ(f16_to_double(0x7BFF), 65504.0);
  EXPECT_EQ(f16_to_double(0x0001), p2(-24));
  EXPECT_EQ(f16_to_double(0x03FF), 1023 * p2(-24));
  EXPECT_EQ(f16_to_double(0x0400), p2(-14));
  EXPECT_EQ(f16_to_double(0x7C00), kInf);
  EXPECT_EQ(f16_to_double(0xFC00), -kInf);
  EXPECT_EQ(f16_to_double(0x3555), (1024 + 0x155) * p2(-10) * p2(-2));  // 1.333.. * 2^-2
  const double neg_zero = f16_to_double(0x8000);
  EXPECT_EQ(neg_zero, 0.0);
  EXPECT_TRUE(std::signbit(neg_zero));
}

TEST(Fp16, OverflowRoundsToInfinityAtTheTie) {
  // 65520 lies halfway between 65504 (0x7BFF, odd) and 65536 (which would be 0x7C00): the
  // tie goes to the even pattern, which is infinity.
  EXPECT_EQ(double_to_f16(65520.0), 0x7C00);
  EXPECT_EQ(double_to_f16(-65520.0), 0xFC00);
  EXPECT_EQ(double_to_f16(65519.99), 0x7BFF);
  EXPECT_EQ(double_to_f16(65512.0), 0x7BFF);
  EXPECT_EQ(double_to_f16(1e6), 0x7C00);
  EXPECT_EQ(double_to_f16(1e300), 0x7C00);
}

TEST(Fp16, SubnormalRounding) {
  EXPECT_EQ(double_to_f16(p2(-25)), 0x0000);       // tie between 0 and 2^-24: even is 0
  EXPECT_EQ(double_to_f16(-p2(-25)), 0x8000);      // keeps its sign
  EXPECT_EQ(double_to_f16(p2(-25) * 1.0000001), 0x0001);  // just above the tie
  EXPECT_EQ(double_to_f16(3 * p2(-25)), 0x0002);   // tie between 1 and 2 quanta: even is 2
  EXPECT_EQ(double_to_f16(5 * p2(-25)), 0x0002);   // tie between 2 and 3: even is 2
  EXPECT_EQ(double_to_f16(7 * p2(-25)), 0x0004);   // tie between 3 and 4: even is 4
  EXPECT_EQ(double_to_f16(p2(-26)), 0x0000);
  EXPECT_EQ(double_to_f16(1e-30), 0x0000);
  // Halfway between the largest subnormal (0x03FF) and the smallest normal (0x0400).
  EXPECT_EQ(double_to_f16(p2(-14) - p2(-25)), 0x0400);
  // Halfway between 0x03FE and 0x03FF: even is 0x03FE.
  EXPECT_EQ(double_to_f16(1022.5 * p2(-24)), 0x03FE);
}

TEST(Fp16, TiesToEvenInTheNormalRange) {
  // The quantum at 1.0 is 2^-10.
  EXPECT_EQ(double_to_f16(1.0 + p2(-11)), 0x3C00);            // tie, 0x3C00 even
  EXPECT_EQ(double_to_f16(1.0 + 3 * p2(-11)), 0x3C02);        // tie, 0x3C02 even
  EXPECT_EQ(double_to_f16(1.0 + 5 * p2(-11)), 0x3C02);        // tie, 0x3C02 even
  EXPECT_EQ(double_to_f16(1.0 + p2(-11) + p2(-30)), 0x3C01);  // above the tie
  EXPECT_EQ(double_to_f16(1.0 + p2(-11) - p2(-30)), 0x3C00);  // below the tie
  EXPECT_EQ(double_to_f16(-(1.0 + 3 * p2(-11))), 0xBC02);
  // The quantum in [2048, 4096) is 2.
  EXPECT_EQ(double_to_f16(2049.0), 0x6800);  // 2048
  EXPECT_EQ(double_to_f16(2051.0), 0x6802);  // 2052
  EXPECT_EQ(double_to_f16(2050.0), 0x6801);  // exact
  // Rounding up carries into the next binade: 2 - 2^-11 is halfway between 0x3FFF and 2.0.
  EXPECT_EQ(double_to_f16(2.0 - p2(-11)), 0x4000);
  EXPECT_EQ(double_to_f16(2.0 - p2(-11) - p2(-40)), 0x3FFF);
}

TEST(Fp16, NaN) {
  const uint16_t b = double_to_f16(kNaN);
  EXPECT_TRUE(f16_is_nan(b)) << std::hex << b;
  EXPECT_TRUE(f16_is_nan(double_to_f16(-kNaN)));
  EXPECT_TRUE(std::isnan(f16_to_double(0x7E00)));
  EXPECT_TRUE(std::isnan(f16_to_double(0x7C01)));
  EXPECT_TRUE(std::isnan(f16_to_double(0xFFFF)));
  EXPECT_TRUE(std::isnan(decode_value(DType::f16, encode_value(DType::f16, kNaN))));
}

TEST(Fp16, RoundTripOfEveryBitPattern) {
  int nans = 0;
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const uint16_t b = uint16_t(bits);
    const double v = f16_to_double(b);
    const uint16_t back = double_to_f16(v);
    if (f16_is_nan(b)) {
      ++nans;
      ASSERT_TRUE(std::isnan(v)) << std::hex << bits;
      ASSERT_TRUE(f16_is_nan(back)) << std::hex << bits;
      continue;
    }
    ASSERT_EQ(back, b) << "pattern 0x" << std::hex << bits << " value " << v;
    // decode_value / encode_value are the same conversions.
    ASSERT_EQ(encode_value(DType::f16, decode_value(DType::f16, bits)), bits);
  }
  EXPECT_EQ(nans, 2 * 1023);  // both signs, every non-zero fraction
}

TEST(Fp16, ConversionIsMonotonic) {
  // Every value strictly between two adjacent finite positive fp16 values rounds to one of
  // them, the nearer one.
  for (uint16_t b = 0; b < 0x7BFF; ++b) {
    const double lo = f16_to_double(b), hi = f16_to_double(uint16_t(b + 1));
    ASSERT_EQ(double_to_f16(lo + (hi - lo) * 0.25), b);
    ASSERT_EQ(double_to_f16(lo + (hi - lo) * 0.75), b + 1);
    const uint16_t even = (b & 1) ? uint16_t(b + 1) : b;
    ASSERT_EQ(double_to_f16(lo + (hi - lo) * 0.5), even) << std::hex << b;
  }
}

// ---------------------------------------------------------------- bf16

TEST(Bf16, ExactValues) {
  EXPECT_EQ(double_to_bf16(1.0), 0x3F80);
  EXPECT_EQ(double_to_bf16(-1.0), 0xBF80);
  EXPECT_EQ(double_to_bf16(2.0), 0x4000);
  EXPECT_EQ(double_to_bf16(1.0 + p2(-7)), 0x3F81);
  EXPECT_EQ(double_to_bf16(0.0), 0x0000);
  EXPECT_EQ(double_to_bf16(-0.0), 0x8000);
  EXPECT_EQ(double_to_bf16(kInf), 0x7F80);
  EXPECT_EQ(double_to_bf16(-kInf), 0xFF80);
  // Largest finite: (2 - 2^-7) * 2^127.
  const double max = (2.0 - p2(-7)) * p2(127);
  EXPECT_EQ(double_to_bf16(max), 0x7F7F);
  EXPECT_EQ(bf16_to_double(0x7F7F), max);
  // Halfway between max and 2^128 rounds to even, which is infinity.
  EXPECT_EQ(double_to_bf16((2.0 - p2(-8)) * p2(127)), 0x7F80);
  EXPECT_EQ(double_to_bf16(p2(-126)), 0x0080);   // smallest normal
  EXPECT_EQ(double_to_bf16(p2(-133)), 0x0001);   // smallest subnormal
  EXPECT_EQ(double_to_bf16(p2(-134)), 0x0000);   // tie to even
  EXPECT_EQ(double_to_bf16(3 * p2(-134)), 0x0002);
  EXPECT_EQ(bf16_to_double(0x0001), p2(-133));
  // bf16 is the upper half of fp32 for values that need no rounding.
  EXPECT_EQ(double_to_bf16(3.140625), 0x4049);
  EXPECT_EQ(uint32_t(double_to_bf16(3.140625)) << 16, f32_to_bits(3.140625f));
}

TEST(Bf16, TiesToEven) {
  // The quantum at 1.0 is 2^-7; 1 + 2^-8 is exactly halfway: even is 1.0.
  EXPECT_EQ(double_to_bf16(1.0 + p2(-8)), 0x3F80);
  // 1 + 3*2^-9 = 1 + 0.75 quanta: nearest is 1 + 2^-7.
  EXPECT_EQ(double_to_bf16(1.0 + 3 * p2(-9)), 0x3F81);
  // 1 + 2^-9 = 1 + 0.25 quanta: nearest is 1.0.
  EXPECT_EQ(double_to_bf16(1.0 + p2(-9)), 0x3F80);
  // 1 + 3*2^-8 = 1.5 quanta: tie, even is 2 quanta.
  EXPECT_EQ(double_to_bf16(1.0 + 3 * p2(-8)), 0x3F82);
  EXPECT_EQ(double_to_bf16(1.0 + p2(-8) + p2(-40)), 0x3F81);
  EXPECT_EQ(double_to_bf16(-(1.0 + p2(-8))), 0xBF80);
  // Carry into the next binade.
  EXPECT_EQ(double_to_bf16(2.0 - p2(-8)), 0x4000);
}

TEST(Bf16, NaN) {
  EXPECT_TRUE(bf16_is_nan(double_to_bf16(kNaN)));
  EXPECT_TRUE(std::isnan(bf16_to_double(0x7FC0)));
  EXPECT_TRUE(std::isnan(bf16_to_double(0x7F81)));
}

TEST(Bf16, RoundTripOfEveryBitPattern) {
  int nans = 0;
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const uint16_t b = uint16_t(bits);
    const double v = bf16_to_double(b);
    const uint16_t back = double_to_bf16(v);
    if (bf16_is_nan(b)) {
      ++nans;
      ASSERT_TRUE(std::isnan(v));
      ASSERT_TRUE(bf16_is_nan(back));
      continue;
    }
    ASSERT_EQ(back, b) << "pattern 0x" << std::hex << bits;
    // Every bf16 value is an fp32 value whose low 16 bits are zero.
    ASSERT_EQ(f32_to_bits(float(v)), bits << 16) << std::hex << bits;
  }
  EXPECT_EQ(nans, 2 * 127);
}

// ---------------------------------------------------------------- encode_value / decode_value

TEST(EncodeValue, Int16Saturates) {
  EXPECT_EQ(encode_value(DType::i16, 0), 0u);
  EXPECT_EQ(encode_value(DType::i16, 1234), 1234u);
  EXPECT_EQ(encode_value(DType::i16, -1), 0xFFFFu);  // zero-extended 16-bit pattern
  EXPECT_EQ(encode_value(DType::i16, 32767), 0x7FFFu);
  EXPECT_EQ(encode_value(DType::i16, 32768), 0x7FFFu);
  EXPECT_EQ(encode_value(DType::i16, 1e9), 0x7FFFu);
  EXPECT_EQ(encode_value(DType::i16, kInf), 0x7FFFu);
  EXPECT_EQ(encode_value(DType::i16, -32768), 0x8000u);
  EXPECT_EQ(encode_value(DType::i16, -40000), 0x8000u);
  EXPECT_EQ(encode_value(DType::i16, -kInf), 0x8000u);
  EXPECT_EQ(encode_value(DType::i16, kNaN), 0u);
  // Non-integers round to nearest, ties to even.
  EXPECT_EQ(encode_value(DType::i16, 2.5), 2u);
  EXPECT_EQ(encode_value(DType::i16, 3.5), 4u);
  EXPECT_EQ(encode_value(DType::i16, 2.6), 3u);
  EXPECT_EQ(encode_value(DType::i16, -2.5), 0xFFFEu);
  EXPECT_EQ(decode_value(DType::i16, 0xFFFF), -1.0);
  EXPECT_EQ(decode_value(DType::i16, 0x8000), -32768.0);
  EXPECT_EQ(decode_value(DType::i16, 0x7FFF), 32767.0);
}

TEST(EncodeValue, Int32Saturates) {
  EXPECT_EQ(encode_value(DType::i32, 123456789), 123456789u);
  EXPECT_EQ(encode_value(DType::i32, -1), 0xFFFFFFFFu);
  EXPECT_EQ(encode_value(DType::i32, 2147483647.0), 0x7FFFFFFFu);
  EXPECT_EQ(encode_value(DType::i32, 2147483648.0), 0x7FFFFFFFu);
  EXPECT_EQ(encode_value(DType::i32, 3e9), 0x7FFFFFFFu);
  EXPECT_EQ(encode_value(DType::i32, kInf), 0x7FFFFFFFu);
  EXPECT_EQ(encode_value(DType::i32, -2147483648.0), 0x80000000u);
  EXPECT_EQ(encode_value(DType::i32, -3e9), 0x80000000u);
  EXPECT_EQ(encode_value(DType::i32, kNaN), 0u);
  EXPECT_EQ(encode_value(DType::i32, -7.5), uint32_t(-8));
  EXPECT_EQ(decode_value(DType::i32, 0x80000000u), -2147483648.0);
  EXPECT_EQ(decode_value(DType::i32, 0xFFFFFFFEu), -2.0);
}

TEST(EncodeValue, FloatTypes) {
  EXPECT_EQ(encode_value(DType::f32, 1.0), 0x3F800000u);
  EXPECT_EQ(encode_value(DType::f32, 0.1), f32_to_bits(0.1f));
  EXPECT_EQ(encode_value(DType::f32, 1e300), 0x7F800000u);
  EXPECT_EQ(decode_value(DType::f32, 0x40490FDBu), double(3.14159274101257324f));
  EXPECT_EQ(encode_value(DType::f16, 1.0), 0x3C00u);
  EXPECT_EQ(encode_value(DType::f16, -0.0), 0x8000u);
  EXPECT_EQ(encode_value(DType::bf16, 1.0), 0x3F80u);
  EXPECT_EQ(decode_value(DType::f16, 0x3C00), 1.0);
  EXPECT_EQ(decode_value(DType::bf16, 0xBF80), -1.0);
  EXPECT_EQ(bits_to_f32(f32_to_bits(-2.75f)), -2.75f);
}

TEST(DType, NamesAndSizes) {
  EXPECT_EQ(parse_dtype("f32"), DType::f32);
  EXPECT_EQ(parse_dtype("fp32"), DType::f32);
  EXPECT_EQ(parse_dtype("f16"), DType::f16);
  EXPECT_EQ(parse_dtype("fp16"), DType::f16);
  EXPECT_EQ(parse_dtype("bf16"), DType::bf16);
  EXPECT_EQ(parse_dtype("i16"), DType::i16);
  EXPECT_EQ(parse_dtype("int16"), DType::i16);
  EXPECT_EQ(parse_dtype("i32"), DType::i32);
  EXPECT_EQ(parse_dtype("int32"), DType::i32);
  EXPECT_FALSE(parse_dtype("f64").has_value());
  EXPECT_FALSE(parse_dtype("F32").has_value());
  EXPECT_FALSE(parse_dtype("").has_value());
  EXPECT_FALSE(parse_dtype("bf16 ").has_value());
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::i16, DType::i32}) {
    EXPECT_EQ(parse_dtype(dtype_name(t)), t) << dtype_name(t);
  }
  EXPECT_EQ(dtype_name(DType::bf16), "bf16");
  EXPECT_EQ(dtype_bytes(DType::f32), 4);
  EXPECT_EQ(dtype_bytes(DType::i32), 4);
  EXPECT_EQ(dtype_bytes(DType::f16), 2);
  EXPECT_EQ(dtype_bytes(DType::bf16), 2);
  EXPECT_EQ(dtype_bytes(DType::i16), 2);
  EXPECT_TRUE(dtype_is_float(DType::bf16));
  EXPECT_FALSE(dtype_is_float(DType::i16));
  EXPECT_FALSE(dtype_is_float(DType::i32));
}

// Each range's ends are stored exactly, and one step beyond becomes infinite or saturates.
TEST(DType, RangesAreTheFiniteValues) {
  EXPECT_EQ(dtype_range(DType::f32).hi, 3.4028234663852886e38);
  EXPECT_EQ(dtype_range(DType::f16).lo, -65504);
  EXPECT_EQ(dtype_range(DType::bf16).hi, 3.3895313892515355e38);
  EXPECT_EQ(dtype_range(DType::i16).lo, -32768);
  EXPECT_EQ(dtype_range(DType::i32).hi, 2147483647);
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::i16, DType::i32}) {
    const DTypeRange r = dtype_range(t);
    EXPECT_EQ(decode_value(t, encode_value(t, r.lo)), r.lo) << dtype_name(t);
    EXPECT_EQ(decode_value(t, encode_value(t, r.hi)), r.hi) << dtype_name(t);
    const double beyond = decode_value(t, encode_value(t, 2 * r.hi));
    EXPECT_EQ(beyond, dtype_is_float(t) ? kInf : r.hi) << dtype_name(t);
  }
}

}  // namespace
}  // namespace wafer
