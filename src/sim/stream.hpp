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

[[gnu::always_inline]] inline VecProgress stream_f32(Machine& m, uint32_t pe, VecOp& op,
                                                    uint32_t t, ThreadCtx& ctx, bool& finished) {
  const Links links = m.links;
  uint32_t raw[3] = {0, 0, 0};
  for (unsigned f = op.fabric_srcs; f; f &= f - 1) {
    const int i = __builtin_ctz(f);
    const Links::Head head = links.data_head(op.src_base[i], t, raw[i]);
    if (head == Links::Head::empty) return VecProgress::waiting_input;
    if (head == Links::Head::not_ready) return VecProgress::stalled;
  }
  if (!op.dst_memory && !links.can_push(op.dst_base, t)) return VecProgress::stalled;
  const uint32_t e = op.done;
  uint64_t hint = 0;  // the last two distinct SRAM lines touched (Machine::sram_hint)
  for (unsigned s = op.memory_srcs; s; s &= s - 1) {
    const int i = __builtin_ctz(s);
    const uint8_t* p = m.sram.at(pe, op.src_base[i] + e * uint32_t(op.src_step[i]));
    std::memcpy(&raw[i], p, 4);
    hint = (hint << 32) | m.sram.line_of(p);
  }
  for (unsigned s = op.scalar_srcs; s; s &= s - 1) raw[__builtin_ctz(s)] = op.scalar[__builtin_ctz(s)];
  for (unsigned f = op.fabric_srcs; f; f &= f - 1) links.pop(op.src_base[__builtin_ctz(f)], t);
  float v[3];
  for (int i = 0; i < 3; ++i) v[i] = bits_to_f32(raw[i]);
  const uint32_t out = f32_to_bits(fast_f32(op.op, v));
  if (op.dst_memory) {
    uint8_t* p = m.sram.at(pe, op.dst_base + e * uint32_t(op.dst_step));
    std::memcpy(p, &out, 4);
    if (m.sram.line_of(p) != uint32_t(hint)) hint = (hint << 32) | m.sram.line_of(p);
  } else {
    links.push(op.dst_base, Wavelet{out, t + uint32_t(m.arch.ramp_latency)});
  }
  m.sram_hint[pe] = hint;
  ++ctx.vector_elements;
  if (++op.done == op.length) finish_op(m, pe, op, t, ctx, finished);
  return VecProgress::busy;
}

}  // namespace wafer::sim
