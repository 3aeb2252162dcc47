// Exact conversions between doubles and the machine's element types; see numeric.hpp.
#include "wafer/support/numeric.hpp"

#include <cmath>
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

namespace numeric_detail {

// A value below the smallest normal is a multiple of the subnormal quantum after an exact
// scaling by a power of two, rounded by nearbyint (a double subnormal is far below the quantum
// and gives 0).
uint16_t round_special(double v, int m, int exponent_bits) {
  const int bias = (1 << (exponent_bits - 1)) - 1;
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  const uint16_t sign = uint16_t((bits >> 63) << 15);
  const uint16_t exp_all_ones = uint16_t(((1u << exponent_bits) - 1) << m);
  const uint64_t mag = bits & ~(uint64_t(1) << 63);
  if (mag > kDoubleInf) return uint16_t(sign | exp_all_ones | (1u << (m - 1)));
  if (mag == kDoubleInf) return uint16_t(sign | exp_all_ones);
  const int min_exp = 1 - bias;  // exponent of the smallest normal
  const double scaled = std::nearbyint(std::fabs(v) * std::ldexp(1.0, m - min_exp));
  return uint16_t(sign | uint16_t(scaled));  // 2^m is the smallest normal's pattern
}

double from_special(uint16_t bits, int m, int exponent_bits) {
  const int bias = (1 << (exponent_bits - 1)) - 1;
  const uint32_t exp = (bits >> m) & ((1u << exponent_bits) - 1);
  const uint64_t frac = bits & ((1u << m) - 1);
  double v;
  if (exp == 0) v = double(frac) * std::ldexp(1.0, 1 - bias - m);
  else v = frac ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  return (bits >> 15) ? -v : v;
}

namespace {

template <typename Int>
Int saturate(double v) {
  if (std::isnan(v)) return 0;
  double r = std::nearbyint(v);
  if (r <= double(std::numeric_limits<Int>::min())) return std::numeric_limits<Int>::min();
  if (r >= double(std::numeric_limits<Int>::max())) return std::numeric_limits<Int>::max();
  return Int(r);
}

}  // namespace

uint32_t encode_int(DType t, double v) {
  return t == DType::i16 ? uint32_t(uint16_t(saturate<int16_t>(v))) : uint32_t(saturate<int32_t>(v));
}

}  // namespace numeric_detail

}  // namespace wafer
