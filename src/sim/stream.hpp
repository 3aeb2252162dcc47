// The streaming step of a vector op: one fp32 element per cycle with an operand on the fabric.
//
// This is the inner loop of every collective and of the dense workload, so it lives in a
// header that the core's per-cycle step inlines, compiled once per opcode (with_f32_op) so
// that the arithmetic and the operand count are known and the operands stay in registers.
// It decides exactly as the general path of progress_vector (vector.cpp) does for such an
// op: a fabric source with nothing queued means "waiting for input", one whose head is not
// yet ready (or is a control wavelet) or a full fabric destination means "stalled", and
// otherwise one element is read, computed with one fp32 rounding and written. The caller
// has checked that the op's port accesses fit.
#pragma once

#include <cmath>
#include <cstring>
#include <type_traits>

#include "machine.hpp"

namespace wafer::sim {

// The case labels of every scalar opcode, for switches over ir::Opcode that handle the vector
// ones: every opcode is listed, so that -Wswitch (an error in this project) catches a new one.
#define WAFER_SCALAR_OPCODE_CASES                                                               \
  case ir::Opcode::nop: case ir::Opcode::movi: case ir::Opcode::mov: case ir::Opcode::add:     \
  case ir::Opcode::sub: case ir::Opcode::mul: case ir::Opcode::div: case ir::Opcode::rem:      \
  case ir::Opcode::and_: case ir::Opcode::or_: case ir::Opcode::xor_: case ir::Opcode::shl:    \
  case ir::Opcode::shr: case ir::Opcode::fadd: case ir::Opcode::fsub: case ir::Opcode::fmul:   \
  case ir::Opcode::fdiv: case ir::Opcode::fmax: case ir::Opcode::itof: case ir::Opcode::ftoi:  \
  case ir::Opcode::ld: case ir::Opcode::st: case ir::Opcode::beq: case ir::Opcode::bne:        \
  case ir::Opcode::blt: case ir::Opcode::bge: case ir::Opcode::jmp: case ir::Opcode::activate: \
  case ir::Opcode::block: case ir::Opcode::unblock: case ir::Opcode::ret:                      \
  case ir::Opcode::send: case ir::Opcode::sendc: case ir::Opcode::mdsd: case ir::Opcode::fdsd: \
  case ir::Opcode::count_

// The case labels of every vector opcode, for a switch that dispatches them all alike
// (core.cpp's execute hands them to issue_vector).
#define WAFER_VECTOR_OPCODE_CASES                                                              \
  case ir::Opcode::vmov: case ir::Opcode::vadd: case ir::Opcode::vsub: case ir::Opcode::vmul: \
  case ir::Opcode::vfma: case ir::Opcode::vmax: case ir::Opcode::vneg: case ir::Opcode::vabs: \
  case ir::Opcode::vcvt: case ir::Opcode::vmin: case ir::Opcode::vdiv:                        \
  case ir::Opcode::vclamp: case ir::Opcode::vscale: case ir::Opcode::vlogb:                   \
  case ir::Opcode::vsel

template <ir::Opcode OP>
using OpTag = std::integral_constant<ir::Opcode, OP>;

// Calls f(OpTag<op>{}) for the vector opcodes; f() for the scalar ones.
template <typename F>
[[gnu::always_inline]] inline decltype(auto) with_f32_op(ir::Opcode op, F&& f) {
  using ir::Opcode;
  switch (op) {
    case Opcode::vmov: return f(OpTag<Opcode::vmov>{});
    case Opcode::vcvt: return f(OpTag<Opcode::vcvt>{});
    case Opcode::vadd: return f(OpTag<Opcode::vadd>{});
    case Opcode::vsub: return f(OpTag<Opcode::vsub>{});
    case Opcode::vmul: return f(OpTag<Opcode::vmul>{});
    case Opcode::vfma: return f(OpTag<Opcode::vfma>{});
    case Opcode::vmax: return f(OpTag<Opcode::vmax>{});
    case Opcode::vneg: return f(OpTag<Opcode::vneg>{});
    case Opcode::vabs: return f(OpTag<Opcode::vabs>{});
    case Opcode::vmin: return f(OpTag<Opcode::vmin>{});
    case Opcode::vdiv: return f(OpTag<Opcode::vdiv>{});
    case Opcode::vclamp: return f(OpTag<Opcode::vclamp>{});
    case Opcode::vscale: return f(OpTag<Opcode::vscale>{});
    case Opcode::vlogb: return f(OpTag<Opcode::vlogb>{});
    case Opcode::vsel: return f(OpTag<Opcode::vsel>{});
    WAFER_SCALAR_OPCODE_CASES:
      return f();
  }
  return f();
}

template <ir::Opcode OP>
constexpr int f32_arity() {
  using ir::Opcode;
  if constexpr (OP == Opcode::vfma || OP == Opcode::vclamp || OP == Opcode::vsel) return 3;
  else if constexpr (OP == Opcode::vadd || OP == Opcode::vsub || OP == Opcode::vmul ||
                     OP == Opcode::vmax || OP == Opcode::vmin || OP == Opcode::vdiv ||
                     OP == Opcode::vscale) return 2;
  else return 1;
}

// The power of two `vscale` multiplies by: its source rounded to the nearest integer (ties
// to even) and saturated to int32, NaN as 0, as `vcvt` to i32 does.
inline int scale_exponent(double n) {
  if (std::isnan(n)) return 0;
  return int(std::fmin(std::fmax(std::nearbyint(n), double(INT32_MIN)), double(INT32_MAX)));
}

// min(max(a, lo), hi) that keeps a NaN `a` (fmin/fmax alone would drop it).
template <typename T>
inline T clamp_keep_nan(T a, T lo, T hi) {
  return std::isnan(a) ? a : std::fmin(std::fmax(a, lo), hi);
}

template <ir::Opcode OP>
[[gnu::always_inline]] inline float f32_result(const float* v) {
  using ir::Opcode;
  if constexpr (OP == Opcode::vadd) return v[0] + v[1];
  else if constexpr (OP == Opcode::vsub) return v[0] - v[1];
  else if constexpr (OP == Opcode::vmul) return v[0] * v[1];
  else if constexpr (OP == Opcode::vfma) return std::fmaf(v[0], v[1], v[2]);
  else if constexpr (OP == Opcode::vmax) return std::fmax(v[0], v[1]);
  else if constexpr (OP == Opcode::vneg) return -v[0];
  else if constexpr (OP == Opcode::vabs) return std::fabs(v[0]);
  else if constexpr (OP == Opcode::vmin) return std::fmin(v[0], v[1]);
  else if constexpr (OP == Opcode::vdiv) return v[0] / v[1];
  else if constexpr (OP == Opcode::vclamp) return clamp_keep_nan(v[0], v[1], v[2]);
  else if constexpr (OP == Opcode::vscale) return std::ldexp(v[0], scale_exponent(v[1]));
  else if constexpr (OP == Opcode::vlogb) return std::logb(v[0]);
  else if constexpr (OP == Opcode::vsel) return v[0] < 0 ? v[1] : v[2];
  else return v[0];  // vmov, vcvt
}

// The fp32 result of a vector opcode on its sources.
inline float fast_f32(ir::Opcode op, const float* v) {
  return with_f32_op(op, [&](auto... tag) -> float {
    if constexpr (sizeof...(tag) == 0) return 0;
    else return f32_result<decltype(tag)::value...>(v);
  });
}

// Records the op's span and reports it finished (vector.cpp).
void finish_op(Machine& m, uint32_t pe, VecOp& op, uint32_t t, ThreadCtx& ctx, bool& finished);

template <ir::Opcode OP, typename L>
[[gnu::always_inline]] inline VecProgress stream_f32_op(Machine& m, const L& links, uint32_t pe,
                                                       VecOp& op, uint32_t t, ThreadCtx& ctx,
                                                       bool& finished) {
  constexpr int n = f32_arity<OP>();
  uint32_t raw[n] = {};
  for (int i = 0; i < n; ++i) {
    if (!(op.fabric_srcs & (1u << i))) continue;
    const QueueHead head = links.data_head(op.src_base[i], t, raw[i]);
    if (head == QueueHead::empty) return VecProgress::waiting_input;
    if (head == QueueHead::not_ready) return VecProgress::stalled;
  }
  if (!op.dst_memory && !links.can_push(op.dst_base, t)) return VecProgress::stalled;
  const uint32_t e = op.done;
  for (int i = 0; i < n; ++i) {
    if (op.memory_srcs & (1u << i)) {
      const uint8_t* p = m.sram.at(pe, op.src_base[i] + e * uint32_t(op.src_step[i]));
      std::memcpy(&raw[i], p, 4);
    } else if (op.fabric_srcs & (1u << i)) {
      links.pop(op.src_base[i], t);
    } else {
      raw[i] = op.scalar[i];
    }
  }
  float v[n];
  for (int i = 0; i < n; ++i) v[i] = bits_to_f32(raw[i]);
  const uint32_t out = f32_to_bits(f32_result<OP>(v));
  if (op.dst_memory) {
    uint8_t* p = m.sram.at(pe, op.dst_base + e * uint32_t(op.dst_step));
    std::memcpy(p, &out, 4);
  } else {
    links.push(op.dst_base, Wavelet{out, t + uint32_t(m.arch.ramp_latency)});
  }
  ++ctx.vector_elements;
  if (++op.done == op.length) finish_op(m, pe, op, t, ctx, finished);
  return VecProgress::busy;
}

// `links` is the caller's copy of m.links (see LinksT). Only fp32 vector ops stream
// (issue_vector), so the non-vector branch is never taken.
template <typename L>
[[gnu::always_inline]] inline VecProgress stream_f32(Machine& m, const L& links, uint32_t pe,
                                                    VecOp& op, uint32_t t, ThreadCtx& ctx,
                                                    bool& finished) {
  return with_f32_op(op.op, [&](auto... tag) __attribute__((always_inline)) {
    if constexpr (sizeof...(tag) == 0) return VecProgress::stalled;
    else return stream_f32_op<decltype(tag)::value..., L>(m, links, pe, op, t, ctx, finished);
  });
}

}  // namespace wafer::sim
