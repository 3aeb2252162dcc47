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

// Rounds v to the format and returns its bit pattern.
uint16_t round_to_format(double v, FloatFormat f) {
  const int bias = (1 << (f.exponent_bits - 1)) - 1;
  const uint16_t sign = std::signbit(v) ? uint16_t(1u << 15) : uint16_t(0);
  const uint16_t exp_all_ones = uint16_t(((1u << f.exponent_bits) - 1) << f.mantissa_bits);
  if (std::isnan(v)) return uint16_t(sign | exp_all_ones | (1u << (f.mantissa_bits - 1)));
  double a = std::fabs(v);
  if (std::isinf(a)) return uint16_t(sign | exp_all_ones);
  if (a == 0.0) return sign;
  const int min_exp = 1 - bias;  // exponent of the smallest normal
  int e = std::ilogb(a);
  if (e < min_exp) e = min_exp;
  // Quantum of the binade (or of the subnormal range); a / quantum is exact.
  double scaled = std::nearbyint(std::ldexp(a, f.mantissa_bits - e));
  if (scaled >= std::ldexp(1.0, f.mantissa_bits + 1)) {  // rounded up into the next binade
    scaled /= 2;
    e += 1;
  }
  const int max_exp = bias;
  if (e > max_exp) return uint16_t(sign | exp_all_ones);
  uint32_t significand = uint32_t(scaled);
  uint32_t biased = 0;
  if (significand >= (1u << f.mantissa_bits)) {
    biased = uint32_t(e + bias);
    significand -= (1u << f.mantissa_bits);
  }
  return uint16_t(sign | (biased << f.mantissa_bits) | significand);
}

double from_format(uint16_t bits, FloatFormat f) {
  const int bias = (1 << (f.exponent_bits - 1)) - 1;
  const bool neg = bits >> 15;
  const uint32_t exp = (bits >> f.mantissa_bits) & ((1u << f.exponent_bits) - 1);
  const uint32_t frac = bits & ((1u << f.mantissa_bits) - 1);
  double v;
  if (exp == (1u << f.exponent_bits) - 1) {
    v = frac ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else if (exp == 0) {
    v = std::ldexp(double(frac), 1 - bias - f.mantissa_bits);
  } else {
    v = std::ldexp(double(frac | (1u << f.mantissa_bits)), int(exp) - bias - f.mantissa_bits);
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
