// Convolution and pooling as vector ops over strided windows of a padded input band.
//
// Output channels are split over the rectangle's x axis (cb per PE) and output rows over its
// y axis (ob per PE). Each PE holds the input rows its band needs, (ob - 1)·s + k of them
// (its own and the halo), each W + 2p wide with the padding written in, for every input
// channel (conv; the band is replicated over x) or for its own cb channels (pooling): the
// host (or a producer) writes the halo, no fabric exchange is needed, and every PE runs the
// same code on its own data, with no communication at all.
//
// One output channel's rows come from k·k taps per input channel, each one vector op over
// all ob output rows at once. The band of each channel is held as s x s phase planes (plane
// (a, b) holds the padded band's rows a, a + s, ... and columns b, b + s, ...: a host-side
// space-to-depth), so tap (ky, kx) = (qy·s + a, qx·s + b) reads plane (a, b) from row qy,
// column qx with stride 1 whatever the conv's stride: output element o = r·Wq + j reads
// plane element o + qy·Wq + qx. The op runs over the rows flattened with the plane's pitch
// Wq, the Wq - OW elements between rows are garbage in a strided accumulator, and a last pass
// of one vmov per output row compacts it (when ob = 1 or Wq = OW the op writes the output
// directly). Stride 1 keeps the SRAM ports moving a whole 64-bit word per access. conv:
// acc = bias, then vfma acc, in, w[co, ci, ky, kx], acc for every tap (the weight a scalar
// loaded per op); max: acc = -inf, vmax per tap; avg: acc = 0, vadd per tap and one multiply
// by 1/k² (padding counts: count_include_pad). All are asynchronous: the microthreads take
// them oldest first, so the setup of the next op hides under the current one. Every op of a
// channel (its init and its taps) has the same start, length and strides, so none overtakes
// an older one on the same accumulator and they complete in issue order: the last op's
// completion starts the compaction (or signals done).
#include <cmath>

#include <fmt/format.h>

#include "wafer/kernels/conv.hpp"

namespace wafer::kernels {

using ir::CodeBuilder;
using ir::dsd;
using ir::fimm;
using ir::imm;
using ir::Opcode;
using ir::reg;

Expected<Window> parse_window(const std::string& spec, Window def) {
  Window w = def;
  size_t i = 0;
  while (i < spec.size()) {
    const char key = spec[i++];
    size_t j = i;
    while (j < spec.size() && std::isdigit(static_cast<unsigned char>(spec[j]))) ++j;
    if (j == i || j - i > 3 || (key != 'k' && key != 's' && key != 'p'))
      return make_error("window spec '{}': expected k<size>s<stride>p<padding>, e.g. k3s1p1", spec);
    const int v = std::stoi(spec.substr(i, j - i));
    (key == 'k' ? w.k : key == 's' ? w.s : w.p) = v;
    i = j;
  }
  if (w.k < 1 || w.k > 7) return make_error("window spec '{}': size k = {} is out of range (must be 1..7)", spec, w.k);
  if (w.s < 1 || w.s > w.k + 1)
    return make_error("window spec '{}': stride s = {} is out of range (must be 1..{})", spec, w.s, w.k + 1);
  if (w.p >= w.k) return make_error("window spec '{}': padding p = {} must be below the size {}", spec, w.p, w.k);
  return w;
}

std::string window_name(const Window& w) { return fmt::format("k{}s{}p{}", w.k, w.s, w.p); }

int64_t WindowShape::sram_bytes() const {
  const int64_t tb = dtype_bytes(t), ab = dtype_bytes(acc);
  int64_t bytes = in_elements() * tb + out_elements() * ab;
  if (op == TapOp::conv) bytes += (cb * cin * win.k * win.k + cb) * tb;
  if (separate_acc()) bytes += cb * ob * pitch * ab;
  return bytes;
}

Expected<WindowShape> window_shape(const arch::Arch& arch, WindowShape s) {
  if (!dtype_is_float(s.t) || !dtype_is_float(s.acc))
    return make_error("takes fp32, fp16 or bf16 (got {} with {} accumulation)", dtype_name(s.t), dtype_name(s.acc));
  const Window& w = s.win;
  if (s.op != TapOp::conv && 2 * w.p > w.k)
    return make_error("padding p = {} must be at most half the window k = {}", w.p, w.k);
  if (s.H + 2 * w.p < w.k || s.W + 2 * w.p < w.k)
    return make_error("the {}x{} window is larger than the {}x{} image with padding {}", w.k, w.k, s.H, s.W, w.p);
  s.OH = (s.H + 2 * w.p - w.k) / w.s + 1;
  s.OW = (s.W + 2 * w.p - w.k) / w.s + 1;
  s.Wp = s.W + 2 * w.p;
  s.cb = (s.cout + s.w - 1) / s.w;
  s.ob = (s.OH + s.h - 1) / s.h;
  s.Rq = s.ob + (w.k + w.s - 1) / w.s - 1;
  s.Wq = (s.Wp + w.s - 1) / w.s;
  s.pitch = s.ob > 1 ? s.Wq : s.OW;
  const int64_t bytes = s.sram_bytes();
  if (bytes > arch.sram_bytes - 4096) {
    return make_error("on {}x{} PEs a PE's input band ({} channels x {}x{} planes of {} rows x {}), weights and "
                      "output ({} channels x {} rows x {}) need {} bytes, more than the {} bytes of SRAM less 4096 "
                      "for code; use more PEs (columns split the {} output channels, rows the {} output rows)",
                      s.w, s.h, s.cin_pe(), s.win.s, s.win.s, s.Rq, s.Wq, s.cb, s.ob, s.OW, bytes, arch.sram_bytes,
                      s.cout, s.OH);
  }
  if (s.in_elements() >= (int64_t(1) << 24) || s.cb * s.cin * w.k * w.k >= (int64_t(1) << 24))
    return make_error("a PE's input band of {} elements is too large", s.in_elements());
  return s;
}

double padded_value(const WindowShape& s, const ImageFn& x, int64_t c, int64_t row, int64_t col) {
  const int64_t channels = s.op == TapOp::conv ? s.cin : s.cout;
  if (c >= channels) return 0;
  if (row >= 0 && row < s.H && col >= 0 && col < s.W) return x(c, row, col);
  const int64_t p = s.win.p;
  if (s.op == TapOp::max && row >= -p && row < s.H + p && col >= -p && col < s.W + p) return -INFINITY;
  return 0;
}

namespace {

struct Syms {
  int in, w, bias, acc, out;
};

struct Regs {
  int co, ci, tmp, widx, wbase, ioff, cbase, ooff, val, left;
  int d_in, d_out;
};

Expected<Regs> take_regs(Pools& pools, const std::string& user) {
  auto g = pools.regs.take(10, user);
  if (!g) return g.status();
  auto d = pools.dsds.take(2, user);
  if (!d) return d.status();
  const std::vector<int>& x = *g;
  return Regs{x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], (*d)[0], (*d)[1]};
}

// The first value of the accumulator rows that r.d_out covers: the bias, -inf or 0.
void emit_init(CodeBuilder& b, const WindowShape& s, const Syms& y, const Regs& r) {
  if (s.op == TapOp::conv) {
    b.emit(Opcode::ld, {reg(r.val), ir::sym_op(y.bias), reg(r.co)});
    b.emit_async(Opcode::vmov, {dsd(r.d_out), reg(r.val)}, ir::OnDone::none, -1);
  } else {
    b.emit_async(Opcode::vmov, {dsd(r.d_out), fimm(s.op == TapOp::max ? -INFINITY : 0.0f)}, ir::OnDone::none, -1);
  }
}

// One tap: acc op= in (the weight in r.val for conv).
void emit_tap(CodeBuilder& b, const WindowShape& s, const Regs& r, ir::OnDone on_done, int task) {
  if (s.op == TapOp::conv)
    b.emit_async(Opcode::vfma, {dsd(r.d_out), dsd(r.d_in), reg(r.val), dsd(r.d_out)}, on_done, task);
  else
    b.emit_async(s.op == TapOp::max ? Opcode::vmax : Opcode::vadd, {dsd(r.d_out), dsd(r.d_out), dsd(r.d_in)}, on_done, task);
}

// The k x k taps of one input channel, unrolled: tap (ky, kx) reads phase plane
// (ky mod s, kx mod s) from row ky / s, column kx / s. The last op of all (r.left == 0 at
// the channel's last tap) activates `done` and ends the task.
void emit_channel_taps(CodeBuilder& b, const WindowShape& s, const Syms& y, const Regs& r, int done) {
  const int32_t len = int32_t(s.op_length()), k = s.win.k, st = s.win.s;
  const int last = b.new_label(), go_on = b.new_label();
  b.emit(Opcode::sub, {reg(r.left), reg(r.left), imm(1)});
  for (int ky = 0; ky < k; ++ky) {
    for (int kx = 0; kx < k; ++kx) {
      const int64_t plane = (ky % st) * st + kx % st;
      const int64_t off = plane * s.Rq * s.Wq + (ky / st) * s.Wq + kx / st;
      b.emit(Opcode::add, {reg(r.tmp), reg(r.ioff), imm(int32_t(off))});
      b.emit(Opcode::mdsd, {dsd(r.d_in), ir::sym_op(y.in), reg(r.tmp), imm(len), imm(1)});
      if (s.op == TapOp::conv) {
        b.emit(Opcode::ld, {reg(r.val), ir::sym_op(y.w), reg(r.widx)});
        b.emit(Opcode::add, {reg(r.widx), reg(r.widx), imm(1)});
      }
      if (ky == k - 1 && kx == k - 1) b.emit(Opcode::beq, {reg(r.left), imm(0), b.label(last)});
      emit_tap(b, s, r, ir::OnDone::none, -1);
    }
  }
  b.emit(Opcode::jmp, {b.label(go_on)});
  b.place(last);
  emit_tap(b, s, r, done >= 0 ? ir::OnDone::activate : ir::OnDone::none, done);
  b.emit(Opcode::ret, {});
  b.place(go_on);
}

// The taps of every (output channel, input channel), in that order.
void emit_taps(CodeBuilder& b, const WindowShape& s, const Syms& y, const Regs& r, int done) {
  const int64_t k = s.win.k, cins = s.op == TapOp::conv ? s.cin : 1;
  const int co_loop = b.new_label(), ci_loop = b.new_label();
  b.emit(Opcode::movi, {reg(r.left), imm(int32_t(s.cb * cins))});
  b.emit(Opcode::movi, {reg(r.co), imm(0)});
  b.emit(Opcode::movi, {reg(r.wbase), imm(0)});
  b.emit(Opcode::movi, {reg(r.cbase), imm(0)});
  b.emit(Opcode::movi, {reg(r.ooff), imm(0)});
  b.place(co_loop);
  b.emit(Opcode::mdsd, {dsd(r.d_out), ir::sym_op(y.acc), reg(r.ooff), imm(int32_t(s.op_length())), imm(1)});
  emit_init(b, s, y, r);
  b.emit(Opcode::mov, {reg(r.widx), reg(r.wbase)});
  b.emit(Opcode::mov, {reg(r.ioff), reg(r.cbase)});
  b.emit(Opcode::movi, {reg(r.ci), imm(0)});
  b.place(ci_loop);
  emit_channel_taps(b, s, y, r, done);
  b.emit(Opcode::add, {reg(r.ioff), reg(r.ioff), imm(int32_t(s.plane_block()))});
  b.emit(Opcode::add, {reg(r.ci), reg(r.ci), imm(1)});
  b.emit(Opcode::blt, {reg(r.ci), imm(int32_t(cins)), b.label(ci_loop)});
  b.emit(Opcode::add, {reg(r.ooff), reg(r.ooff), imm(int32_t(s.ob * s.pitch))});
  if (s.op == TapOp::conv) b.emit(Opcode::add, {reg(r.wbase), reg(r.wbase), imm(int32_t(s.cin * k * k))});
  else b.emit(Opcode::add, {reg(r.cbase), reg(r.cbase), imm(int32_t(s.plane_block()))});  // channel co's own band
  b.emit(Opcode::add, {reg(r.co), reg(r.co), imm(1)});
  b.emit(Opcode::blt, {reg(r.co), imm(int32_t(s.cb)), b.label(co_loop)});
  b.emit(Opcode::ret, {});
}

// out[piece] = acc[piece] (compaction) or acc[piece] / k² (avg), one output row a piece; the
// last piece activates `done`.
void emit_finish(CodeBuilder& b, const WindowShape& s, const Syms& y, const Regs& r, int done) {
  const int32_t ow = int32_t(s.OW), pieces = int32_t(s.cb * s.ob);
  const int loop = b.new_label(), last = b.new_label();
  const float inv = 1.0f / float(s.win.k * s.win.k);
  auto op = [&](ir::OnDone on, int task) {
    if (s.op == TapOp::avg) b.emit_async(Opcode::vmul, {dsd(r.d_out), dsd(r.d_in), fimm(inv)}, on, task);
    else b.emit_async(Opcode::vmov, {dsd(r.d_out), dsd(r.d_in)}, on, task);
  };
  b.emit(Opcode::movi, {reg(r.co), imm(0)});
  b.emit(Opcode::movi, {reg(r.ioff), imm(0)});
  b.emit(Opcode::movi, {reg(r.ooff), imm(0)});
  b.place(loop);
  b.emit(Opcode::mdsd, {dsd(r.d_in), ir::sym_op(y.acc), reg(r.ioff), imm(ow), imm(1)});
  b.emit(Opcode::mdsd, {dsd(r.d_out), ir::sym_op(y.out), reg(r.ooff), imm(ow), imm(1)});
  b.emit(Opcode::add, {reg(r.co), reg(r.co), imm(1)});
  b.emit(Opcode::beq, {reg(r.co), imm(pieces), b.label(last)});
  op(ir::OnDone::none, -1);
  b.emit(Opcode::add, {reg(r.ioff), reg(r.ioff), imm(int32_t(s.pitch))});
  b.emit(Opcode::add, {reg(r.ooff), reg(r.ooff), imm(ow)});
  b.emit(Opcode::jmp, {b.label(loop)});
  b.place(last);
  op(done >= 0 ? ir::OnDone::activate : ir::OnDone::none, done);
  b.emit(Opcode::ret, {});
}

// PE (px, py)'s input band: channels (all for conv, its cb for pooling), each as s x s
// phase planes of the padded band that starts at row py·ob·s - p, column -p.
std::vector<double> band_block(const WindowShape& s, const ImageFn& x, int px, int py) {
  std::vector<double> v(size_t(s.in_elements()));
  const int64_t c0 = s.op == TapOp::conv ? 0 : px * s.cb, r0 = py * s.ob * s.win.s - s.win.p, st = s.win.s;
  size_t i = 0;
  for (int64_t c = 0; c < s.cin_pe(); ++c)
    for (int64_t a = 0; a < st; ++a)
      for (int64_t bc = 0; bc < st; ++bc)
        for (int64_t r = 0; r < s.Rq; ++r)
          for (int64_t col = 0; col < s.Wq; ++col)
            v[i++] = padded_value(s, x, c0 + c, r0 + r * st + a, col * st + bc - s.win.p);
  return v;
}

std::vector<double> weight_block(const WindowShape& s, const WeightFn& w, int px) {
  const int64_t k = s.win.k;
  std::vector<double> v;
  v.reserve(size_t(s.cb * s.cin * k * k));
  for (int64_t c = 0; c < s.cb; ++c) {
    const int64_t co = px * s.cb + c;
    for (int64_t ci = 0; ci < s.cin; ++ci)
      for (int64_t ky = 0; ky < k; ++ky)
        for (int64_t kx = 0; kx < k; ++kx) v.push_back(co < s.cout ? w(co, ci, ky, kx) : 0.0);
  }
  return v;
}

std::vector<double> bias_block(const WindowShape& s, const ChannelFn& bias, int px) {
  std::vector<double> v(size_t(s.cb));
  for (int64_t c = 0; c < s.cb; ++c) v[size_t(c)] = px * s.cb + c < s.cout ? bias(px * s.cb + c) : 0.0;
  return v;
}

}  // namespace

Expected<WindowEmitted> emit_window(Emit& e, const Site& site, const WindowShape& s) {
  static const char* kNames[] = {"conv2d", "maxpool", "avgpool"};
  const std::string user = e.name(kNames[int(s.op)]);
  if (site.rect.w != s.w || site.rect.h != s.h)
    return make_error("{}: the shape is for {}x{} PEs but the site is {}x{} at ({},{})", user, s.w, s.h,
                      site.rect.w, site.rect.h, site.rect.x, site.rect.y);
  auto r = take_regs(e.pools, user);
  if (!r) return r.status();
  const bool finish = s.separate_acc() || s.op == TapOp::avg;
  auto ids = e.pools.tasks.take(site.entry_task >= 0 ? 1 : 2, user);
  if (!ids) return ids.status();
  const int entry = site.entry_task >= 0 ? site.entry_task : (*ids)[1], finish_task = (*ids)[0];
  CodeBuilder& b = e.code;
  Syms y{};
  y.in = b.symbol(e.name("in"), s.t, uint32_t(s.in_elements()));
  y.out = b.symbol(e.name("out"), s.acc, uint32_t(s.out_elements()));
  y.acc = s.separate_acc() ? b.symbol(e.name("acc"), s.acc, uint32_t(s.cb * s.ob * s.pitch)) : y.out;
  if (s.op == TapOp::conv) {
    y.w = b.symbol(e.name("w"), s.t, uint32_t(s.cb * s.cin * s.win.k * s.win.k));
    y.bias = b.symbol(e.name("bias"), s.t, uint32_t(s.cb));
  }
  b.task(e.name("entry"), entry, ir::TaskKind::local);
  b.begin_task(entry);
  emit_taps(b, s, y, *r, finish ? finish_task : site.done_task);
  if (finish) {
    b.task(e.name("finish"), finish_task, ir::TaskKind::local);
    b.begin_task(finish_task);
    emit_finish(b, s, y, *r, site.done_task);
  }

  WindowEmitted out;
  out.entry = entry;
  out.out = e.name("out");
  out.out_symbol = y.out;
  const ir::Rect rect = site.rect;
  const std::string in_name = e.name("in"), w_name = e.name("w"), bias_name = e.name("bias");
  out.in = in_name;
  out.weights = w_name;
  out.bias = bias_name;
  out.inputs = [=](const ImageFn& x, const WeightFn& w, const ChannelFn& bias) {
    std::vector<HostCopy> copies{{in_name, rect, {}, [=](int px, int py) { return band_block(s, x, px, py); }}};
    if (s.op == TapOp::conv) {
      copies.push_back({w_name, rect, {}, [=](int px, int) { return weight_block(s, w, px); }});
      copies.push_back({bias_name, rect, {}, [=](int px, int) { return bias_block(s, bias, px); }});
    }
    return copies;
  };
  return out;
}

std::vector<double> channel_row_block(int64_t C, int64_t H, int64_t W, int64_t cb, int64_t ob, int px, int py,
                                      const ImageFn& f) {
  std::vector<double> v(size_t(cb * ob * W));
  size_t i = 0;
  for (int64_t c = px * cb; c < (px + 1) * cb; ++c)
    for (int64_t r = py * ob; r < (py + 1) * ob; ++r)
      for (int64_t col = 0; col < W; ++col) v[i++] = c < C && r < H ? f(c, r, col) : 0.0;
  return v;
}

}  // namespace wafer::kernels
