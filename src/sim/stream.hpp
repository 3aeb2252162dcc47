// The streaming step of a vector op: one fp32 element per cycle with an operand on the fabric.
//
// This is the inner loop of every collective and of the dense workload, so it lives in a
// header that the core's per-cycle step inlines. It decides exactly as the general path of
// progress_vector (vector.cpp) does for such an op: a fabric source with nothing queued
// means "waiting for input", one whose head is not yet ready (or is a control wavelet) or a
// full fabric destination means "stalled", and otherwise one element is read, computed with
// one fp32 rounding and written. The caller has checked that the op's port accesses fit.
#pragma once

#include <cmath>
#include <cstring>

#include "machine.hpp"

namespace wafer::sim {

inline float fast_f32(ir::Opcode op, const float* v) {
  using ir::Opcode;
  switch (op) {
    case Opcode::vmov:
    case Opcode::vcvt: return v[0];
    case Opcode::vadd: return v[0] + v[1];
    case Opcode::vsub: return v[0] - v[1];
    case Opcode::vmul: return v[0] * v[1];
    case Opcode::vfma: return std::fmaf(v[0], v[1], v[2]);
    case Opcode::vmax: return std::fmax(v[0], v[1]);
    case Opcode::vneg: return -v[0];
    case Opcode::vabs: return std::fabs(v[0]);
    default: return 0;
  }
}

// Records the op's span and reports it finished (vector.cpp).
void finish_op(Machine& m, uint32_t pe, VecOp& op, uint32_t t, ThreadCtx& ctx, bool& finished);

[[gnu::always_inline]] inline VecProgress stream_f32(Machine& m, uint32_t pe, VecOp& op, uint32_t t, ThreadCtx& ctx,
                              bool& finished) {
  const Links links = m.links;
  uint32_t raw[3] = {0, 0, 0};
  for (unsigned f = op.fabric_srcs; f; f &= f - 1) {
    const int i = __builtin_ctz(f);
    const uint32_t c = op.src_base[i];
    const uint32_t h = links.ch[c].head.load(std::memory_order_relaxed);
    if (h == links.ch[c].tail.load(std::memory_order_acquire)) return VecProgress::waiting_input;
    const Wavelet w = links.ring(c)[links.slot(h)];
    if (!w.data_ready(t)) return VecProgress::stalled;
    raw[i] = w.data;
  }
  if (!op.dst_memory && !links.can_push(op.dst_base, t)) return VecProgress::stalled;
  const uint32_t e = op.done;
  uint64_t hint = 0;
  for (unsigned s = op.memory_srcs; s; s &= s - 1) {
    const int i = __builtin_ctz(s);
    const uint8_t* p = m.sram.at(pe, op.src_base[i] + e * uint32_t(op.src_step[i]));
    std::memcpy(&raw[i], p, 4);
    hint = (hint << 32) | m.sram.line_of(p);
  }
  m.sram_hint[pe] = hint;
  for (unsigned s = op.scalar_srcs; s; s &= s - 1) raw[__builtin_ctz(s)] = op.scalar[__builtin_ctz(s)];
  for (unsigned f = op.fabric_srcs; f; f &= f - 1) links.pop(op.src_base[__builtin_ctz(f)], t);
  float v[3];
  for (int i = 0; i < 3; ++i) v[i] = bits_to_f32(raw[i]);
  const uint32_t out = f32_to_bits(fast_f32(op.op, v));
  if (op.dst_memory) {
    std::memcpy(m.sram.at(pe, op.dst_base + e * uint32_t(op.dst_step)), &out, 4);
  } else {
    links.push(op.dst_base, Wavelet{out, t + uint32_t(m.arch.ramp_latency)});
  }
  ++ctx.vector_elements;
  if (++op.done == op.length) finish_op(m, pe, op, t, ctx, finished);
  return VecProgress::busy;
}

}  // namespace wafer::sim
