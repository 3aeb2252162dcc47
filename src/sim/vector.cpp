// Vector (DSD) ops: issue, per-cycle progress, and exact element arithmetic.
//
// Issue snapshots the operand descriptors (so the program may reuse DSD registers while an
// async op runs), checks lengths and fabric routes, and charges vector_setup_cycles. Each
// later cycle the op processes k elements: at most its lanes for the op and type (a credit
// accumulator realises fractional rates such as 0.5), at most what the memory ports left this
// cycle allow (a stride-1 operand moves port_bits/element_bits elements per access, any other
// stride one), and at most one element when an operand is on the fabric (one wavelet per
// cycle, which must be waiting, or room to send). Arithmetic happens in the destination's
// type with one rounding: fp32-only ops use float directly; everything else computes the
// exact result in double where possible (products of <=24-bit significands are exact, sums
// keep their error through TwoSum and are rounded to odd), then rounds once to the target.
#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "stream.hpp"

namespace wafer::sim {

using ir::Opcode;

namespace {

// Rounds s toward its exact value s + err to odd, so a later rounding to <= 51 bits is exact.
double round_to_odd(double s, double err) {
  if (err == 0 || std::isnan(s) || std::isinf(s)) return s;
  uint64_t bits;
  std::memcpy(&bits, &s, 8);
  if (bits & 1) return s;
  return std::nextafter(s, err > 0 ? INFINITY : -INFINITY);
}

double two_sum_odd(double a, double b) {
  double s = a + b;
  double bb = s - a;
  double err = (a - (s - bb)) + (b - bb);
  return round_to_odd(s, err);
}

// Round-to-odd quotient: exact for the <= 24-bit significands of every vector type, so the
// rounding to the destination afterwards is the only one.
double divide_odd(double a, double b) {
  const double q = a / b;
  if (!std::isfinite(q) || q == 0) return q;
  const double rem = std::fma(-q, b, a);  // exact remainder of the double quotient
  return round_to_odd(q, b > 0 ? rem : -rem);
}

double float_result(Opcode op, const double* v) {
  switch (op) {
    case Opcode::vmov:
    case Opcode::vcvt: return v[0];
    case Opcode::vadd: return two_sum_odd(v[0], v[1]);
    case Opcode::vsub: return two_sum_odd(v[0], -v[1]);
    case Opcode::vmul: {
      double p = v[0] * v[1];
      return round_to_odd(p, std::fma(v[0], v[1], -p));
    }
    case Opcode::vfma: {
      double p = v[0] * v[1];  // exact for significands of <= 26 bits
      return two_sum_odd(p, v[2]);
    }
    case Opcode::vmax: return std::fmax(v[0], v[1]);
    case Opcode::vneg: return -v[0];
    case Opcode::vabs: return std::fabs(v[0]);
    case Opcode::vmin: return std::fmin(v[0], v[1]);
    case Opcode::vdiv: return divide_odd(v[0], v[1]);
    case Opcode::vclamp: return clamp_keep_nan(v[0], v[1], v[2]);
    case Opcode::vscale: return std::ldexp(v[0], std::clamp(scale_exponent(v[1]), -4000, 4000));
    case Opcode::vlogb: return std::logb(v[0]);
    case Opcode::vsel: return v[0] < 0 ? v[1] : v[2];
    WAFER_SCALAR_OPCODE_CASES: return 0;
  }
  return 0;
}

// An integer op: each source converts to the destination's type as vcvt does (to nearest,
// saturating, NaN as 0), then the op computes exactly in 64 bits (the operands are at most
// 32-bit, so nothing overflows) and wraps to the destination's width. vdiv, vscale and vlogb
// have float destinations only (issue_vector checks).
uint32_t int_result(Opcode op, DType type, const double* v) {
  auto wrap = [&](int64_t r) {
    return type == DType::i16 ? uint32_t(uint16_t(int16_t(r))) : uint32_t(int32_t(r));
  };
  auto as_int = [&](double d) -> int64_t {
    const uint32_t bits = encode_value(type, d);
    return type == DType::i16 ? int64_t(int16_t(uint16_t(bits))) : int64_t(int32_t(bits));
  };
  switch (op) {
    case Opcode::vmov:
    case Opcode::vcvt: return encode_value(type, v[0]);
    case Opcode::vadd: return wrap(as_int(v[0]) + as_int(v[1]));
    case Opcode::vsub: return wrap(as_int(v[0]) - as_int(v[1]));
    case Opcode::vmul: return wrap(as_int(v[0]) * as_int(v[1]));
    case Opcode::vfma: return wrap(as_int(v[0]) * as_int(v[1]) + as_int(v[2]));
    case Opcode::vmax: return wrap(std::max(as_int(v[0]), as_int(v[1])));
    case Opcode::vneg: return wrap(-as_int(v[0]));
    case Opcode::vabs: return wrap(std::llabs(as_int(v[0])));
    case Opcode::vmin: return wrap(std::min(as_int(v[0]), as_int(v[1])));
    case Opcode::vclamp: return wrap(std::min(std::max(as_int(v[0]), as_int(v[1])), as_int(v[2])));
    case Opcode::vsel: return wrap(as_int(v[0]) < 0 ? as_int(v[1]) : as_int(v[2]));
    case Opcode::vdiv:
    case Opcode::vscale:
    case Opcode::vlogb:
    WAFER_SCALAR_OPCODE_CASES: return 0;
  }
  return 0;
}

// A scalar operand is read in the destination's domain: fp32 bits for float types, int32 else.
double scalar_value(uint32_t bits, DType dst) {
  return dtype_is_float(dst) ? double(bits_to_f32(bits)) : double(int32_t(bits));
}

// The iterative divider: one element every kDivCycles32 cycles for a 4-byte destination
// (a radix-8 digit recurrence over fp32's 24-bit significand) and every kDivCycles16 for a
// 2-byte one (fp16's 11 bits, bf16's 8). An assumption (docs/machine-model.md); powers of two
// so that the fractional rate accumulates exactly.
constexpr float kDivCycles32 = 8, kDivCycles16 = 4;

float lanes_for(const arch::Arch& a, Opcode op, const VecOp& v) {
  const bool wide = dtype_bytes(v.dst.type) == 4;
  if (op == Opcode::vdiv) return 1.0f / (wide ? kDivCycles32 : kDivCycles16);
  if (op == Opcode::vfma) {
    const bool narrow_inputs = v.src[0].kind != Dsd::none && dtype_bytes(v.src[0].type) == 2;
    if (wide && narrow_inputs) return float(a.lanes_mixed_fma);
    return float(wide ? a.lanes_f32_fma : a.lanes_f16_fma);
  }
  return float(wide ? a.lanes_f32_arith : a.lanes_f16_arith);
}

// log2 of the elements one port access moves for a memory operand: a stride-1 operand fills
// the port, any other stride moves one element, stride 0 reads its one element once.
uint8_t access_shift(const arch::Arch& a, const Dsd& d) {
  if (d.kind != Dsd::memory) return 0;
  if (d.stride == 0) return 20;
  if (d.stride != 1) return 0;
  int per = std::max(1, a.mem_port_bits / (8 * dtype_bytes(d.type)));
  uint8_t shift = 0;
  while ((2 << shift) <= per) ++shift;
  return shift;
}

int accesses(int k, uint8_t shift) { return (k + (1 << shift) - 1) >> shift; }

Status resolve_fabric(Machine& m, uint32_t pe, Dsd& d, bool is_dst) {
  const int color = int(d.base);
  const fabric::ColorSlot* s = m.map.find_slot(pe, color);
  const int port = int(ir::Dir::ramp);
  const uint32_t c = !s ? fabric::kNoChannel : is_dst ? s->rx_channel[port] : s->tx_channel[port];
  if (c == fabric::kNoChannel) {
    return make_error("fabric {} on color {} but the route of PE ({},{}) has no R in {}",
                      is_dst ? "output" : "input", color, m.pe_x(pe), m.pe_y(pe),
                      is_dst ? "rx" : "tx");
  }
  d.base = c;
  return Status::ok();
}

}  // namespace

Status issue_vector(Machine& m, uint32_t pe, const ir::Instr& in, VecOp& op, uint32_t t) {
  auto where = [&] { return m.where_instr(pe, m.cores[pe].pc); };
  const Dsd* regs = m.pe_dsds(pe);
  op = VecOp{};
  op.op = in.op;
  op.dst = regs[in.args[0].value];
  if (op.dst.kind == Dsd::none) return make_error("{}: destination DSD d{} was never set", where(), in.args[0].value);
  op.length = op.dst.length;
  const int nsrc = int(std::strlen(ir::op_info(in.op).signature)) - 1;
  op.nsrc = uint8_t(nsrc);
  const bool float_only = in.op == Opcode::vdiv || in.op == Opcode::vscale || in.op == Opcode::vlogb;
  if (float_only && !dtype_is_float(op.dst.type)) {
    return make_error("{}: '{}' needs a float destination, d{} is {}", where(), ir::op_info(in.op).name,
                      in.args[0].value, dtype_name(op.dst.type));
  }
  op.fast_f32 = op.dst.type == DType::f32;
  for (int i = 0; i < nsrc; ++i) {
    const ir::Operand& a = in.args[size_t(i + 1)];
    if (a.kind == ir::Operand::Kind::dsd) {
      op.src[i] = regs[a.value];
      if (op.src[i].kind == Dsd::none) return make_error("{}: source DSD d{} was never set", where(), a.value);
      if (op.src[i].length != op.length) {
        return make_error("{}: source DSD d{} has length {} but the destination has {}", where(),
                          a.value, op.src[i].length, op.length);
      }
      if (op.src[i].type != DType::f32) op.fast_f32 = false;
      if (op.src[i].kind == Dsd::fabric) {
        Status st = resolve_fabric(m, pe, op.src[i], false);
        if (!st) return st.with_context(where());
      }
    } else {
      op.src[i].kind = Dsd::none;
      op.scalar[i] = m.scalar_source(pe, a);
    }
  }
  if (op.dst.kind == Dsd::fabric) {
    Status st = resolve_fabric(m, pe, op.dst, true);
    if (!st) return st.with_context(where());
  }
  for (int i = 0; i < nsrc; ++i) {
    for (int j = 0; j < i; ++j) {
      if (op.src[i].kind == Dsd::fabric && op.src[j].kind == Dsd::fabric && op.src[i].base == op.src[j].base)
        return make_error("{}: two fabric sources read the same color", where());
    }
  }
  for (int i = 0; i < nsrc; ++i) {
    if (op.src[i].kind == Dsd::memory) {
      op.src_step[i] = op.src[i].stride * dtype_bytes(op.src[i].type);
      op.src_shift[i] = access_shift(m.arch, op.src[i]);
      ++op.reads_one;
      op.memory_srcs |= uint8_t(1u << i);
    }
    if (op.src[i].kind == Dsd::fabric) op.fabric_srcs |= uint8_t(1u << i);
    if (op.src[i].kind == Dsd::none) op.scalar_srcs |= uint8_t(1u << i);
    op.any_fabric |= op.src[i].kind == Dsd::fabric;
    op.src_base[i] = op.src[i].base;
  }
  if (op.dst.kind == Dsd::memory) {
    op.dst_step = op.dst.stride * dtype_bytes(op.dst.type);
    op.dst_shift = access_shift(m.arch, op.dst);
    op.writes_one = 1;
  }
  op.dst_memory = op.dst.kind == Dsd::memory;
  op.dst_base = op.dst.base;
  op.any_fabric |= op.dst.kind == Dsd::fabric;
  op.transfer = in.op == ir::Opcode::vmov && op.any_fabric;
  op.instr = m.cores[pe].pc;
  op.lanes = lanes_for(m.arch, in.op, op);
  op.credit_cap = std::ceil(std::max(op.lanes, 1.0f));
  op.streaming = op.fast_f32 && op.any_fabric && op.lanes >= 1.0f;
  op.stream_alone = op.streaming && op.reads_one <= m.arch.mem_read_ports &&
                    op.writes_one <= m.arch.mem_write_ports;
  op.setup_left = uint16_t(m.arch.vector_setup_cycles);
  op.start = m.epoch + t;
  return Status::ok();
}

namespace {

void port_accesses(const VecOp& op, int k, int& reads, int& writes) {
  reads = 0;
  for (int i = 0; i < op.nsrc; ++i) {
    if (op.src[i].kind == Dsd::memory) reads += accesses(k, op.src_shift[i]);
  }
  writes = op.dst.kind == Dsd::memory ? accesses(k, op.dst_shift) : 0;
}

// One element fits when its port accesses fit what is left this cycle, or, for an element
// that needs more accesses than a whole cycle has (three memory sources on two read ports),
// when the ports are all free: the op then holds them for the extra cycles (port_wait).
bool one_element_fits(const Machine& m, const VecOp& op, int reads_left, int writes_left) {
  if (op.reads_one <= reads_left && op.writes_one <= writes_left) return true;
  return reads_left == m.arch.mem_read_ports && writes_left == m.arch.mem_write_ports &&
         (op.reads_one > reads_left || op.writes_one > writes_left);
}

// Largest k <= cap the memory ports and fabric operands allow this cycle; -1 when a fabric
// input has nothing queued at all (the PE may sleep until a wavelet arrives).
int elements_this_cycle(Machine& m, const VecOp& op, int cap, uint32_t t, int reads_left,
                        int writes_left) {
  if (op.any_fabric) {
    for (int i = 0; i < op.nsrc; ++i) {
      if (op.src[i].kind != Dsd::fabric) continue;
      uint32_t data;
      const QueueHead head = m.links.data_head(op.src[i].base, t, data);
      if (head == QueueHead::empty) return -1;
      if (head == QueueHead::not_ready) return 0;
    }
    if (op.dst.kind == Dsd::fabric && !m.can_push(op.dst.base, t)) return 0;
    return one_element_fits(m, op, reads_left, writes_left) ? 1 : 0;
  }
  // k elements need at least one element's port accesses, so an op that finds the ports
  // used up (every op but the oldest, mostly) is done here without trying each k.
  if (!one_element_fits(m, op, reads_left, writes_left)) return 0;
  for (int k = cap; k > 1; --k) {
    int reads, writes;
    port_accesses(op, k, reads, writes);
    if (reads <= reads_left && writes <= writes_left) return k;
  }
  return 1;
}

uint32_t read_source(Machine& m, uint32_t pe, const Dsd& d, int32_t step, uint32_t e, uint32_t t) {
  if (d.kind == Dsd::memory) return m.sram.read(pe, d.base + uint32_t(int64_t(e) * step), dtype_bytes(d.type));
  Wavelet w;
  m.peek(d.base, t, w);
  m.pop(d.base, t);
  return w.data;
}

void write_dest(Machine& m, uint32_t pe, const Dsd& d, int32_t step, uint32_t e, uint32_t bits,
                uint32_t t) {
  if (d.kind == Dsd::memory) {
    m.sram.write(pe, d.base + uint32_t(int64_t(e) * step), dtype_bytes(d.type), bits);
    return;
  }
  m.push(d.base, Wavelet{bits, t + uint32_t(m.arch.ramp_latency)});
}

void compute_element(Machine& m, uint32_t pe, VecOp& op, uint32_t e, uint32_t t) {
  uint32_t raw[3];
  for (int i = 0; i < op.nsrc; ++i) {
    raw[i] = op.src[i].kind == Dsd::none ? op.scalar[i] : read_source(m, pe, op.src[i], op.src_step[i], e, t);
  }
  uint32_t out;
  if (op.fast_f32) {
    float v[3];
    for (int i = 0; i < op.nsrc; ++i) v[i] = bits_to_f32(raw[i]);
    out = f32_to_bits(fast_f32(op.op, v));
  } else {
    double v[3];
    for (int i = 0; i < op.nsrc; ++i) {
      v[i] = op.src[i].kind == Dsd::none ? scalar_value(raw[i], op.dst.type)
                                         : decode_value(op.src[i].type, raw[i]);
    }
    out = dtype_is_float(op.dst.type) ? encode_value(op.dst.type, float_result(op.op, v))
                                      : int_result(op.op, op.dst.type, v);
  }
  write_dest(m, pe, op.dst, op.dst_step, e, out, t);
}

}  // namespace

void finish_op(Machine& m, uint32_t pe, VecOp& op, uint32_t t, ThreadCtx& ctx, bool& finished) {
  finished = true;
  record_span(m, ctx, pe, op.start, m.epoch + t + 1, op.task, int(op.instr),
              &op == &m.cores[pe].main ? 0 : int(&op - m.cores[pe].micro.get()) + 1);
}

VecProgress progress_vector(Machine& m, uint32_t pe, VecOp& op, uint32_t t, int& reads_left,
                            int& writes_left, ThreadCtx& ctx, bool& finished) {
  finished = false;
  if (op.setup_left > 0) {
    --op.setup_left;
    return VecProgress::busy;
  }
  if (op.streaming && op.reads_one <= reads_left && op.writes_one <= writes_left) {
    const VecProgress p = stream_f32(m, m.links, pe, op, t, ctx, finished);
    if (p == VecProgress::busy) {
      reads_left -= op.reads_one;
      writes_left -= op.writes_one;
    }
    return p;
  }
  if (op.port_wait > 0) {  // an element needing more port accesses than one cycle has
    --op.port_wait;
    reads_left = writes_left = 0;
    return VecProgress::busy;
  }
  const float credit = std::min(op.credit + op.lanes, op.credit_cap);
  const int cap = std::min(int(credit), int(op.length - op.done));
  if (cap == 0) {  // a fractional rate: this cycle accumulates
    op.credit = credit;
    return VecProgress::busy;
  }
  const int k = elements_this_cycle(m, op, cap, t, reads_left, writes_left);
  if (k < 0) return VecProgress::waiting_input;
  if (k == 0) return VecProgress::stalled;
  op.credit = credit;
  int reads = op.reads_one, writes = op.writes_one;
  if (k > 1) port_accesses(op, k, reads, writes);
  if (reads > m.arch.mem_read_ports || writes > m.arch.mem_write_ports) {
    const int cycles = std::max((reads + m.arch.mem_read_ports - 1) / m.arch.mem_read_ports,
                                (writes + m.arch.mem_write_ports - 1) / m.arch.mem_write_ports);
    op.port_wait = uint16_t(cycles - 1);
  }
  reads_left = std::max(0, reads_left - reads);
  writes_left = std::max(0, writes_left - writes);
  for (int i = 0; i < k; ++i) compute_element(m, pe, op, op.done + uint32_t(i), t);
  op.done += uint32_t(k);
  op.credit -= float(k);
  ctx.vector_elements += uint64_t(k);
  if (op.done == op.length) finish_op(m, pe, op, t, ctx, finished);
  return VecProgress::busy;
}

}  // namespace wafer::sim
