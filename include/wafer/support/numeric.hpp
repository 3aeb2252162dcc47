// Element types of the machine and their exact IEEE conversions.
//
// fp16 (binary16) and bf16 values are held as raw 16-bit patterns. Conversion from double
// rounds to nearest, ties to even, with subnormals, overflow to infinity and NaN handled as
// IEEE 754 prescribes: the value is scaled to an integer grid of the target format's quantum
// (exact, a power of two) and rounded there with nearbyint, so one rounding happens.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wafer {

enum class DType : uint8_t { f32, f16, bf16, i16, i32 };

constexpr int dtype_bytes(DType t) { return t == DType::f32 || t == DType::i32 ? 4 : 2; }
constexpr bool dtype_is_float(DType t) {
  return t == DType::f32 || t == DType::f16 || t == DType::bf16;
}
std::string_view dtype_name(DType t);
std::optional<DType> parse_dtype(std::string_view name);

// The finite values of a type, [lowest, max]: what encode_value stores without overflowing to
// infinity (floats) or saturating (integers).
struct DTypeRange {
  double lo, hi;
};
DTypeRange dtype_range(DType t);

inline float bits_to_f32(uint32_t bits) { return std::bit_cast<float>(bits); }
inline uint32_t f32_to_bits(float v) { return std::bit_cast<uint32_t>(v); }

// The 16-bit float formats' conversions, inline because the simulator converts every element
// of an fp16 or bf16 vector op: the common case (a normal value of the format) works on the
// double's bits here; zeros, subnormals, infinities and NaNs go to the out-of-line parts.
namespace numeric_detail {

constexpr uint64_t kDoubleInf = 0x7ff0000000000000ull;
// Values below the format's smallest normal, infinities and NaNs.
uint16_t round_special(double v, int mantissa_bits, int exponent_bits);
// Patterns with an exponent field of all zeros or all ones.
double from_special(uint16_t bits, int mantissa_bits, int exponent_bits);

// Rounds v to the format of M fraction and E exponent bits (to nearest, ties to even) and
// returns its pattern. A value in the normal range rounds its 52-bit fraction to M bits in
// integer arithmetic, where a carry out of the fraction steps the exponent.
template <int M, int E>
inline uint16_t round_to_format(double v) {
  constexpr int bias = (1 << (E - 1)) - 1, shift = 52 - M;
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  const uint64_t mag = bits & ~(uint64_t(1) << 63);
  if (mag >= kDoubleInf || int(mag >> 52) - 1023 < 1 - bias) return round_special(v, M, E);
  const uint16_t sign = uint16_t((bits >> 63) << 15);
  const uint64_t rounded = (mag + (uint64_t(1) << (shift - 1)) - 1 + ((mag >> shift) & 1)) >> shift;
  const int64_t biased = int64_t(rounded >> M) - 1023 + bias;
  if (biased >= (int64_t(1) << E) - 1) return uint16_t(sign | (((1u << E) - 1) << M));  // overflow: infinity
  return uint16_t(sign | (uint64_t(biased) << M) | (rounded & ((uint64_t(1) << M) - 1)));
}

template <int M, int E>
inline double from_format(uint16_t bits) {
  constexpr int bias = (1 << (E - 1)) - 1;
  const uint32_t exp = (bits >> M) & ((1u << E) - 1);
  if (exp == 0 || exp == (1u << E) - 1) return from_special(bits, M, E);
  const uint64_t sign = uint64_t(bits >> 15) << 63;
  return std::bit_cast<double>(sign | (uint64_t(int(exp) - bias + 1023) << 52) | (uint64_t(bits & ((1u << M) - 1)) << (52 - M)));
}

uint32_t encode_int(DType t, double v);  // i16, i32: to nearest, saturating, NaN as 0

}  // namespace numeric_detail

inline uint16_t double_to_f16(double v) { return numeric_detail::round_to_format<10, 5>(v); }
inline uint16_t double_to_bf16(double v) { return numeric_detail::round_to_format<7, 8>(v); }
inline double f16_to_double(uint16_t bits) { return numeric_detail::from_format<10, 5>(bits); }
inline double bf16_to_double(uint16_t bits) { return numeric_detail::from_format<7, 8>(bits); }

// Rounds an exact double to the nearest value of `t` (integers saturate, floats round to
// nearest even) and returns its raw bit pattern, zero-extended to 32 bits.
inline uint32_t encode_value(DType t, double v) {
  switch (t) {
    case DType::f32: return f32_to_bits(float(v));
    case DType::f16: return double_to_f16(v);
    case DType::bf16: return double_to_bf16(v);
    default: return numeric_detail::encode_int(t, v);
  }
}

// Reads a raw bit pattern of type `t` as a double (exact for every type).
inline double decode_value(DType t, uint32_t bits) {
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
