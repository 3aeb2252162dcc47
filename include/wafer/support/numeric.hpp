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

uint16_t double_to_f16(double v);
uint16_t double_to_bf16(double v);
double f16_to_double(uint16_t bits);
double bf16_to_double(uint16_t bits);
inline float bits_to_f32(uint32_t bits) { return std::bit_cast<float>(bits); }
inline uint32_t f32_to_bits(float v) { return std::bit_cast<uint32_t>(v); }

// Rounds an exact double to the nearest value of `t` (integers saturate, floats round to
// nearest even) and returns its raw bit pattern, zero-extended to 32 bits.
uint32_t encode_value(DType t, double v);
// Reads a raw bit pattern of type `t` as a double (exact for every type).
double decode_value(DType t, uint32_t bits);

}  // namespace wafer
