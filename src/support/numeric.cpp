// Exact conversions between doubles and the machine's element types; see numeric.hpp.
#include "wafer/support/numeric.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace wafer {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::i16: return "i16";
    case DType::i32: return "i32";
  }
  return "?";
}

namespace {

template <typename T>
DTypeRange limits_of() {
  return {double(std::numeric_limits<T>::lowest()), double(std::numeric_limits<T>::max())};
}

}  // namespace

DTypeRange dtype_range(DType t) {
  switch (t) {
    case DType::f32: return limits_of<float>();
    case DType::f16: return {-65504, 65504};
    case DType::bf16: return {-0x1.fep127, 0x1.fep127};
    case DType::i16: return limits_of<int16_t>();
    case DType::i32: return limits_of<int32_t>();
  }
  return {0, 0};
}

std::optional<DType> parse_dtype(std::string_view name) {
  if (name == "f32" || name == "fp32") return DType::f32;
  if (name == "f16" || name == "fp16") return DType::f16;
  if (name == "bf16") return DType::bf16;
  if (name == "i16" || name == "int16") return DType::i16;
  if (name == "i32" || name == "int32") return DType::i32;
  return std::nullopt;
}

namespace {

struct FloatFormat {
  int mantissa_bits;  // explicit fraction bits
  int exponent_bits;
};

constexpr FloatFormat kF16{10, 5};
constexpr FloatFormat kBf16{7, 8};

// Rounds v to the format (to nearest, ties to even) and returns its bit pattern. Works on
// the double's bits: a value in the format's normal range rounds its 52-bit fraction to the
// format's width in integer arithmetic, where a carry out of the fraction steps the exponent;
// a smaller one is a multiple of the subnormal quantum after an exact scaling by a power of
// two, rounded by nearbyint (a double subnormal is far below the quantum and gives 0).
uint16_t round_to_format(double v, FloatFormat f) {
  const int bias = (1 << (f.exponent_bits - 1)) - 1, m = f.mantissa_bits;
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const uint16_t sign = (bits >> 63) ? uint16_t(1u << 15) : uint16_t(0);
  const uint16_t exp_all_ones = uint16_t(((1u << f.exponent_bits) - 1) << m);
  const uint64_t mag = bits & ~(uint64_t(1) << 63);
  constexpr uint64_t kDoubleInf = 0x7ff0000000000000ull;
  if (mag > kDoubleInf) return uint16_t(sign | exp_all_ones | (1u << (m - 1)));
  if (mag == kDoubleInf) return uint16_t(sign | exp_all_ones);
  const int min_exp = 1 - bias;  // exponent of the smallest normal
  if (int(mag >> 52) - 1023 < min_exp) {
    const double scaled = std::nearbyint(std::fabs(v) * std::ldexp(1.0, m - min_exp));
    return uint16_t(sign | uint16_t(scaled));  // 2^m is the smallest normal's pattern
  }
  const int shift = 52 - m;
  const uint64_t rounded = (mag + (uint64_t(1) << (shift - 1)) - 1 + ((mag >> shift) & 1)) >> shift;
  const int64_t biased = int64_t(rounded >> m) - 1023 + bias;
  if (biased >= (int64_t(1) << f.exponent_bits) - 1) return uint16_t(sign | exp_all_ones);
  return uint16_t(sign | (uint64_t(biased) << m) | (rounded & ((uint64_t(1) << m) - 1)));
}

double from_format(uint16_t bits, FloatFormat f) {
  const int bias = (1 << (f.exponent_bits - 1)) - 1, m = f.mantissa_bits;
  const bool neg = bits >> 15;
  const uint32_t exp = (bits >> m) & ((1u << f.exponent_bits) - 1);
  const uint64_t frac = bits & ((1u << m) - 1);
  double v;
  if (exp == (1u << f.exponent_bits) - 1) {
    v = frac ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else if (exp == 0) {
    v = double(frac) * std::ldexp(1.0, 1 - bias - m);
  } else {
    const uint64_t out = (uint64_t(int(exp) - bias + 1023) << 52) | (frac << (52 - m));
    std::memcpy(&v, &out, sizeof v);
  }
  return neg ? -v : v;
}

template <typename Int>
Int saturate(double v) {
  if (std::isnan(v)) return 0;
  double r = std::nearbyint(v);
  if (r <= double(std::numeric_limits<Int>::min())) return std::numeric_limits<Int>::min();
  if (r >= double(std::numeric_limits<Int>::max())) return std::numeric_limits<Int>::max();
  return Int(r);
}

}  // namespace

uint16_t double_to_f16(double v) { return round_to_format(v, kF16); }
uint16_t double_to_bf16(double v) { return round_to_format(v, kBf16); }
double f16_to_double(uint16_t bits) { return from_format(bits, kF16); }
double bf16_to_double(uint16_t bits) { return from_format(bits, kBf16); }

uint32_t encode_value(DType t, double v) {
  switch (t) {
    case DType::f32: return f32_to_bits(float(v));
    case DType::f16: return double_to_f16(v);
    case DType::bf16: return double_to_bf16(v);
    case DType::i16: return uint16_t(saturate<int16_t>(v));
    case DType::i32: return uint32_t(saturate<int32_t>(v));
  }
  return 0;
}

double decode_value(DType t, uint32_t bits) {
  switch (t) {
    case DType::f32: return bits_to_f32(bits);
    case DType::f16: return f16_to_double(uint16_t(bits));
    case DType::bf16: return bf16_to_double(uint16_t(bits));
    case DType::i16: return double(int16_t(uint16_t(bits)));
    case DType::i32: return double(int32_t(bits));
  }
  return 0;
}

}  // namespace wafer
