// softmax, LayerNorm, RMSNorm, row sum and mean along the hidden dimension of a tensor spread
// over a rectangle of PEs (norms.hpp, docs/kernels.md, "Row reductions"): the emitter, and the registered
// kernels that run it alone with seeded data and check it against a double reference.
#include "row_allreduce.hpp"
#include "wafer/kernels/norms.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "kernel_util.hpp"
#include "wafer/kernels/vmath.hpp"

namespace wafer::kernels {

using ir::dsd;
using ir::fimm;
using ir::imm;
using ir::Opcode;
using ir::reg;

const char* norm_name(NormKind k) {
  switch (k) {
    case NormKind::softmax: return "softmax";
    case NormKind::layernorm: return "layernorm";
    case NormKind::rmsnorm: return "rmsnorm";
    case NormKind::rowsum: return "rowsum";
    case NormKind::rowmean: return "rowmean";
  }
  return "?";
}

namespace {

bool reduce_only(NormKind k) { return k == NormKind::rowsum || k == NormKind::rowmean; }
bool has_gamma(NormKind k) { return k == NormKind::layernorm || k == NormKind::rmsnorm; }

// What one instance's code uses.
struct Ctx {
  ir::CodeBuilder& b;
  int64_t mb, nb;
  int x, y, f, t, gamma, beta;  // symbols (-1: none)
  int rx, off, j, s1, s2;       // registers
  int da, db, dr;               // DSD registers
};

void mdsd(Ctx& c, int d, int sym, int64_t off, int64_t len) {
  c.b.emit(Opcode::mdsd, {dsd(d), ir::sym_op(sym), imm(int32_t(off)), imm(int32_t(len)), imm(1)});
}

// t[0 .. mb) = the combination (sum or max, of x or of x² when `squares`) over the block's
// columns of src, in fp32, by halving: columns [0, h) combine with [n - h, n) in one op over
// h·mb contiguous elements (the middle column of an odd n is carried over), n -> n - h.
void emit_local_reduce(Ctx& c, int src, DType src_type, ReduceOp op, bool squares) {
  const Opcode comb = op == ReduceOp::add ? Opcode::vadd : Opcode::vmax;
  const Opcode copy = src_type == DType::f32 ? Opcode::vmov : Opcode::vcvt;
  const int64_t mb = c.mb;
  int64_t n = c.nb;
  auto one_column = [&](int64_t to, int64_t from) {
    mdsd(c, c.da, c.t, to * mb, mb);
    mdsd(c, c.db, src, from * mb, mb);
    if (squares) c.b.emit(Opcode::vmul, {dsd(c.da), dsd(c.db), dsd(c.db)});
    else c.b.emit(copy, {dsd(c.da), dsd(c.db)});
  };
  if (n == 1) {
    one_column(0, 0);
    return;
  }
  int64_t h = n / 2, keep = n - h;
  mdsd(c, c.da, c.t, 0, h * mb);
  mdsd(c, c.db, src, 0, h * mb);
  mdsd(c, c.dr, src, keep * mb, h * mb);
  if (squares) {
    c.b.emit(Opcode::vmul, {dsd(c.da), dsd(c.db), dsd(c.db)});
    c.b.emit(Opcode::vfma, {dsd(c.da), dsd(c.dr), dsd(c.dr), dsd(c.da)});
  } else {
    c.b.emit(comb, {dsd(c.da), dsd(c.db), dsd(c.dr)});
  }
  if (keep > h) one_column(h, h);
  n = keep;
  while (n > 1) {
    h = n / 2;
    keep = n - h;
    mdsd(c, c.da, c.t, 0, h * mb);
    mdsd(c, c.db, c.t, keep * mb, h * mb);
    c.b.emit(comb, {dsd(c.da), dsd(c.da), dsd(c.db)});
    n = keep;
  }
}

// One asynchronous op per column of the block (off = column · mb, j = column); the last one
// activates `next` (ops finish in the order they were issued). Ends the current task.
template <class Body>
void emit_column_loop(Ctx& c, int next, Body body) {
  ir::CodeBuilder& b = c.b;
  b.emit(Opcode::movi, {reg(c.j), imm(0)});
  b.emit(Opcode::movi, {reg(c.off), imm(0)});
  const int loop = b.new_label(), last = b.new_label();
  b.emit(Opcode::bge, {reg(c.j), imm(int32_t(c.nb - 1)), b.label(last)});
  b.place(loop);
  body(ir::OnDone::none, -1);
  b.emit(Opcode::add, {reg(c.off), reg(c.off), imm(int32_t(c.mb))});
  b.emit(Opcode::add, {reg(c.j), reg(c.j), imm(1)});
  b.emit(Opcode::blt, {reg(c.j), imm(int32_t(c.nb - 1)), b.label(loop)});
  b.place(last);
  body(ir::OnDone::activate, next);
  b.emit(Opcode::ret, {});
}

void column_dsd(Ctx& c, int d, int sym) {
  c.b.emit(Opcode::mdsd, {dsd(d), ir::sym_op(sym), reg(c.off), imm(int32_t(c.mb)), imm(1)});
}

// F[:, j] = F[:, j] op t[0 .. mb) for every column.
void emit_rows_op(Ctx& c, Opcode op, int next) {
  mdsd(c, c.dr, c.t, 0, c.mb);
  emit_column_loop(c, next, [&](ir::OnDone on, int task) {
    column_dsd(c, c.da, c.f);
    c.b.emit_async(op, {dsd(c.da), dsd(c.da), dsd(c.dr)}, on, task);
  });
}

}  // namespace

int64_t norm_data_bytes(NormKind k, int64_t mb, int64_t nb, DType t, bool separate_y, bool masked) {
  const int64_t n = mb * nb, tb = dtype_bytes(t);
  int64_t bytes = n * tb + std::max<int64_t>(1, (nb + 1) / 2) * mb * 4 + (masked ? nb * 4 : 0);  // x, t, mask
  if (reduce_only(k)) return bytes + (separate_y ? mb * tb : 0);
  bytes += n * 4 + (separate_y ? n * tb : 0);                            // F, y
  if (k == NormKind::softmax) bytes += int64_t(vmath::scratch_vectors(vmath::Func::exp, DType::f32, DType::f32)) * n * 4;
  if (has_gamma(k)) bytes += int64_t(vmath::scratch_vectors(vmath::Func::rsqrt, DType::f32, DType::f32)) * mb * 4 + nb * tb;
  if (k == NormKind::layernorm) bytes += nb * tb;
  return bytes;
}

Expected<NormEmitted> emit_norm(Emit& e, const Site& site, const NormSpec& s) {
  const std::string user = e.name(norm_name(s.kind));
  const DistTensor& x = s.x;
  if (!dtype_is_float(x.dtype))
    return make_error("{}: takes fp32, fp16 or bf16 (got {})", user, dtype_name(x.dtype));
  if (x.rows_over_y != Spread::split || x.cols_over_x != Spread::split || !x.col_major)
    return make_error("{}: {} must have rows split over y, columns over x and column-major blocks", user, x.describe());
  const bool same_rect = x.rect.x == site.rect.x && x.rect.y == site.rect.y && x.rect.w == site.rect.w &&
                         x.rect.h == site.rect.h;
  if (!same_rect) return make_error("{}: {} does not lie on the kernel's rectangle", user, x.describe());
  WAFER_TRY(check_layout(x, e.program.width, e.program.height));
  const ir::Rect rect = site.rect;
  const int64_t mb = x.block_rows(), nb = x.block_cols(), n = mb * nb, D = x.cols;
  const int64_t L = s.length > 0 ? s.length : D;
  if (L > D) return make_error("{}: a row length of {} is more than the {} columns of {}", user, L, D, x.describe());
  if (L < D && reduce_only(s.kind)) return make_error("{}: takes no row length (only softmax and the norms do)", user);
  const bool masked = L < D;
  const DType t = x.dtype;
  const NormKind k = s.kind;
  ir::CodeBuilder& b = e.code;

  NormEmitted out;
  const std::string y_name = s.y == x.name ? x.name : e.name(s.y);
  out.y = x;
  out.y.name = y_name;
  if (reduce_only(k)) {
    out.y.cols = 1;
    out.y.cols_over_x = Spread::replicate;
  }
  out.data_bytes = norm_data_bytes(k, mb, nb, t, y_name != x.name, masked);

  // Symbols.
  const int xs = s.x_symbol >= 0 ? s.x_symbol : b.symbol(x.name, t, uint32_t(n));
  const int ys = y_name == x.name ? xs : b.symbol(y_name, t, uint32_t(out.y.block_elements()));
  const int ts = b.symbol(e.name("rowvec"), DType::f32, uint32_t(std::max<int64_t>(1, (nb + 1) / 2) * mb));
  const int fs = reduce_only(k) ? -1 : b.symbol(e.name("f"), DType::f32, uint32_t(n));
  int gs = -1, bs = -1;
  if (has_gamma(k)) {
    out.gamma = DistTensor{e.name("gamma"), t, 1, D, rect, Spread::replicate, Spread::split, true};
    gs = b.symbol(out.gamma.name, t, uint32_t(nb));
  }
  if (k == NormKind::layernorm) {
    out.beta = DistTensor{e.name("beta"), t, 1, D, rect, Spread::replicate, Spread::split, true};
    bs = b.symbol(out.beta.name, t, uint32_t(nb));
  }

  // Resources.
  auto plan = plan_row_allreduce(e, rect, user);
  if (!plan) return plan.status();
  const int phases = k == NormKind::softmax ? 2 : k == NormKind::layernorm ? 3 : k == NormKind::rmsnorm ? 2 : 0;
  auto tasks = e.pools.tasks.take(phases + 1, user);
  if (!tasks) return tasks.status();
  const int entry = site.entry_task >= 0 ? site.entry_task : (*tasks)[0];
  auto regs = e.pools.regs.take(4, user);
  if (!regs) return regs.status();
  auto dsds = e.pools.dsds.take(3, user);
  if (!dsds) return dsds.status();

  b.task(e.name("entry"), entry, ir::TaskKind::local);
  b.begin_task(entry);
  auto rc = emit_rel_coords(e, rect, user);
  if (!rc) return rc.status();
  Ctx c{b, mb, nb, xs, ys, fs, ts, gs, bs, rc->rx, (*regs)[0], (*regs)[1], (*regs)[2], (*regs)[3],
        (*dsds)[0], (*dsds)[1], (*dsds)[2]};
  auto allreduce = [&](ReduceOp op) { return emit_row_allreduce(e, *plan, c.rx, ts, 0, uint32_t(mb), op); };
  auto vmath_call = [&](vmath::Func f, int sym, uint32_t len, const std::string& scope) {
    vmath::Target vt{b, e.pools, e.name(scope)};
    const vmath::Vec v{sym, 0, len, DType::f32};
    return vmath::emit(vt, f, v, v);
  };
  auto begin_phase = [&](int i) {
    b.task(e.name(fmt::format("step{}", i)), (*tasks)[size_t(i)], ir::TaskKind::local);
    b.begin_task((*tasks)[size_t(i)]);
  };
  auto finish = [&]() {
    if (site.done_task >= 0) b.emit(Opcode::activate, {ir::task_op(site.done_task)});
    b.emit(Opcode::ret, {});
  };
  auto to_f32 = [&]() {  // F = x in fp32
    mdsd(c, c.da, fs, 0, n);
    mdsd(c, c.db, xs, 0, n);
    b.emit(t == DType::f32 ? Opcode::vmov : Opcode::vcvt, {dsd(c.da), dsd(c.db)});
  };
  const float inv_d = float(1.0 / double(L));
  // The padding's mask, a value per block column: softmax adds 0 or -inf, the norms multiply
  // by 1 or 0; F[:, j] = F[:, j] op mask[j] in a loop over the columns.
  int ms = -1;
  if (masked) {
    const DistTensor mask{e.name("mask"), DType::f32, 1, D, rect, Spread::replicate, Spread::split, true};
    ms = b.symbol(mask.name, DType::f32, uint32_t(nb));
    const bool add = k == NormKind::softmax;
    const ElementFn value = [L, add](int64_t, int64_t col) {
      return col < L ? (add ? 0.0 : 1.0) : (add ? -INFINITY : 0.0);
    };
    out.tables.push_back(
        HostCopy{mask.name, rect, {}, [mask, value](int px, int py) { return block_values(mask, px, py, value); }});
  }
  auto mask_padding = [&]() {
    if (!masked) return;
    const int loop = b.new_label();
    b.emit(Opcode::movi, {reg(c.j), imm(0)});
    b.emit(Opcode::movi, {reg(c.off), imm(0)});
    b.place(loop);
    column_dsd(c, c.da, fs);
    b.emit(Opcode::ld, {reg(c.s1), ir::sym_op(ms), reg(c.j)});
    b.emit(k == NormKind::softmax ? Opcode::vadd : Opcode::vmul, {dsd(c.da), dsd(c.da), reg(c.s1)});
    b.emit(Opcode::add, {reg(c.off), reg(c.off), imm(int32_t(c.mb))});
    b.emit(Opcode::add, {reg(c.j), reg(c.j), imm(1)});
    b.emit(Opcode::blt, {reg(c.j), imm(int32_t(c.nb)), b.label(loop)});
  };

  switch (k) {
    case NormKind::rowsum:
    case NormKind::rowmean: {
      emit_local_reduce(c, xs, t, ReduceOp::add, false);
      WAFER_TRY(allreduce(ReduceOp::add));
      mdsd(c, c.da, ts, 0, mb);
      if (k == NormKind::rowmean) b.emit(Opcode::vmul, {dsd(c.da), dsd(c.da), fimm(inv_d)});
      mdsd(c, c.db, ys, 0, mb);
      b.emit(t == DType::f32 ? Opcode::vmov : Opcode::vcvt, {dsd(c.db), dsd(c.da)});
      finish();
      break;
    }
    case NormKind::softmax: {
      to_f32();
      mask_padding();
      emit_local_reduce(c, fs, DType::f32, ReduceOp::max, false);
      WAFER_TRY(allreduce(ReduceOp::max));
      emit_rows_op(c, Opcode::vsub, (*tasks)[1]);  // F -= row max
      begin_phase(1);
      WAFER_TRY(vmath_call(vmath::Func::exp, fs, uint32_t(n), "exp"));
      emit_local_reduce(c, fs, DType::f32, ReduceOp::add, false);
      WAFER_TRY(allreduce(ReduceOp::add));
      mdsd(c, c.dr, ts, 0, mb);
      b.emit(Opcode::vdiv, {dsd(c.dr), fimm(1.0f), dsd(c.dr)});  // 1 / row sum, correctly rounded
      emit_column_loop(c, (*tasks)[2], [&](ir::OnDone on, int task) {
        column_dsd(c, c.da, fs);
        column_dsd(c, c.db, ys);
        b.emit_async(Opcode::vmul, {dsd(c.db), dsd(c.da), dsd(c.dr)}, on, task);
      });
      begin_phase(2);
      finish();
      break;
    }
    case NormKind::layernorm:
    case NormKind::rmsnorm: {
      to_f32();
      mask_padding();
      int phase = 1;
      if (k == NormKind::layernorm) {
        emit_local_reduce(c, fs, DType::f32, ReduceOp::add, false);
        WAFER_TRY(allreduce(ReduceOp::add));
        mdsd(c, c.dr, ts, 0, mb);
        b.emit(Opcode::vmul, {dsd(c.dr), dsd(c.dr), fimm(inv_d)});  // the row mean
        emit_rows_op(c, Opcode::vsub, (*tasks)[size_t(phase)]);     // F -= mean
        begin_phase(phase++);
        mask_padding();
      }
      emit_local_reduce(c, fs, DType::f32, ReduceOp::add, true);
      WAFER_TRY(allreduce(ReduceOp::add));
      mdsd(c, c.dr, ts, 0, mb);
      b.emit(Opcode::vfma, {dsd(c.dr), dsd(c.dr), fimm(inv_d), fimm(float(s.eps))});  // var + eps
      WAFER_TRY(vmath_call(vmath::Func::rsqrt, ts, uint32_t(mb), "rsqrt"));
      emit_rows_op(c, Opcode::vmul, (*tasks)[size_t(phase)]);  // F *= 1/sqrt(var + eps)
      begin_phase(phase++);
      emit_column_loop(c, (*tasks)[size_t(phase)], [&](ir::OnDone on, int task) {
        column_dsd(c, c.da, fs);
        column_dsd(c, c.db, ys);
        b.emit(Opcode::ld, {reg(c.s1), ir::sym_op(gs), reg(c.j)});
        if (k == NormKind::layernorm) {
          b.emit(Opcode::ld, {reg(c.s2), ir::sym_op(bs), reg(c.j)});
          b.emit_async(Opcode::vfma, {dsd(c.db), dsd(c.da), reg(c.s1), reg(c.s2)}, on, task);
        } else {
          b.emit_async(Opcode::vmul, {dsd(c.db), dsd(c.da), reg(c.s1)}, on, task);
        }
      });
      begin_phase(phase);
      finish();
      break;
    }
  }
  out.held.regs = *regs;
  out.held.regs.push_back(rc->rx);
  out.held.regs.push_back(rc->ry);
  out.held.dsds = *dsds;
  out.entry = entry;
  return out;
}

// ---- The registered kernels ----

namespace {

struct NormDims {
  int64_t R, D;
};
NormDims norm_dims(const KernelParams& p) {
  return {p.m ? p.m : 16 * int64_t(p.grid_h), p.n ? p.n : 32 * int64_t(p.grid_w)};
}

// Input ranges: softmax's spread of 16 makes exp span e^-16..1; LayerNorm's inputs have a mean
// of 1 so that the centring matters.
struct Ranges {
  double lo, hi;
};
Ranges input_range(NormKind k) {
  switch (k) {
    case NormKind::softmax: return {-8, 8};
    case NormKind::layernorm: return {-1, 3};
    case NormKind::rmsnorm: return {-2, 2};
    case NormKind::rowsum:
    case NormKind::rowmean: return {-1, 1};
  }
  return {-1, 1};
}

// Accepted normwise relative error (max |out - ref| / max |ref|): the output's own rounding
// (one rounding to the output type, u_t, counted twice for the products of rounded scale
// factors), plus the fp32 work: a reduction tree of ceil(log2 nb) halvings and at most
// 2·sqrt(W) + 2 chain additions in the K-tree (2·log2 D + 4 sqrt W bounds both, u32 each,
// doubled for LayerNorm's two passes), vmath's exp or rsqrt (a few fp32 ulps), and for fp32
// softmax inputs the rounding of x - max (up to the input range, 16, in units of u32), with a
// factor of 2 of margin. For sums (rowsum/rowmean) the result's size against its terms adds
// the usual sqrt(D) random-sign growth (sum_tolerance).
double norm_tolerance(NormKind k, DType t, int64_t D, int w) {
  const double u32 = unit_roundoff(DType::f32), ut = unit_roundoff(t);
  const double tree = 2 * std::log2(double(D)) + 4 * std::sqrt(double(w));
  if (reduce_only(k)) return 2 * ut + sum_tolerance(DType::f32, uint64_t(D));
  double internal = 2 * tree + 16;
  if (k == NormKind::softmax) internal += 32;
  return 2 * ut + 2 * internal * u32;
}

}  // namespace

HostBytes norm_host_bytes(const KernelParams& p) {
  const NormDims d = norm_dims(p);
  const uint64_t rd = uint64_t(d.R) * uint64_t(d.D);
  // The reference and the output read back (R·D doubles each, R·W for the row kernels are
  // smaller), per-row statistics, gamma and beta.
  const uint64_t kept = (2 * rd + 4 * uint64_t(d.R) + 2 * uint64_t(d.D)) * sizeof(double);
  return {kept, kept};
}

KernelParams scale_norm_sizes(const KernelParams& p, double f) {
  const NormDims d = norm_dims(p);
  KernelParams q = p;
  const double s = std::sqrt(f);
  q.m = std::max<int64_t>(1, int64_t(double(d.R / p.grid_h) * s)) * p.grid_h;
  q.n = std::max<int64_t>(1, int64_t(double(d.D / p.grid_w) * s)) * p.grid_w;
  return q;
}

Expected<KernelCase> build_norm_kernel(NormKind k, const arch::Arch& arch, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(arch, p));
  const NormDims d = norm_dims(p);
  const char* name = norm_name(k);
  if (!dtype_is_float(p.dtype)) return make_error("takes fp32, fp16 or bf16 (got {})", dtype_name(p.dtype));
  if (d.R < 1 || d.D < 1) return make_error("--m and --n must be positive (got {} and {})", d.R, d.D);
  if (d.R % p.grid_h != 0)
    return make_error("--m {} (rows) does not divide evenly over the grid's {} PE rows", d.R, p.grid_h);
  if (d.D % p.grid_w != 0)
    return make_error("--n {} (hidden) does not divide evenly over the grid's {} PE columns", d.D, p.grid_w);
  const int64_t mb = d.R / p.grid_h, nb = d.D / p.grid_w;
  const int64_t bytes = norm_data_bytes(k, mb, nb, p.dtype, true);
  if (bytes > arch.sram_bytes - 4096) {
    return make_error("a {}x{} block per PE needs {} bytes of SRAM with its fp32 work space, but the arch "
                      "has {} per PE (leave 4096 for code); use a larger grid or smaller --m/--n",
                      mb, nb, bytes, arch.sram_bytes);
  }
  const ir::Rect rect = p.rect();
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(arch);
  ir::CodeBuilder code(name);
  Emit e{code, kc.program, pools, arch, ""};
  NormSpec spec;
  spec.kind = k;
  spec.x = DistTensor{"x", p.dtype, d.R, d.D, rect};
  auto em = emit_norm(e, Site{rect, -1, -1}, spec);
  if (!em) return em.status();
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});
  kc.rect = rect;
  kc.launch_task = "entry";
  kc.result_symbol = em->y.name;
  kc.result_rect = rect;
  kc.tolerance = norm_tolerance(k, p.dtype, d.D, rect.w);
  if (stage == Stage::program) return kc;

  const DType t = p.dtype;
  const Ranges r = input_range(k);
  const int64_t D = d.D;
  const ElementFn X = [t, r, D, seed = p.seed](int64_t i, int64_t j) {
    return round_to(t, random_value(seed, uint64_t(i * D + j), r.lo, r.hi));
  };
  const ElementFn G = [t, seed = p.seed + 1](int64_t, int64_t j) { return round_to(t, random_value(seed, uint64_t(j), 0.5, 1.5)); };
  const ElementFn B = [t, seed = p.seed + 2](int64_t, int64_t j) { return round_to(t, random_value(seed, uint64_t(j), -0.5, 0.5)); };
  const DistTensor xt = spec.x;
  kc.inputs.push_back(HostCopy{"x", rect, {}, [xt, X](int px, int py) { return block_values(xt, px, py, X); }});
  if (has_gamma(k)) {
    const DistTensor gt = em->gamma;
    kc.inputs.push_back(HostCopy{gt.name, rect, {}, [gt, G](int px, int py) { return block_values(gt, px, py, G); }});
  }
  if (k == NormKind::layernorm) {
    const DistTensor bt = em->beta;
    kc.inputs.push_back(HostCopy{bt.name, rect, {}, [bt, B](int px, int py) { return block_values(bt, px, py, B); }});
  }

  // Per-row statistics in double from the values as the machine holds them.
  std::vector<double> a(size_t(d.R)), c(size_t(d.R));  // softmax: max, sum; norms: shift, scale
  std::vector<double> row(static_cast<size_t>(D));
  for (int64_t i = 0; i < d.R; ++i) {
    for (int64_t j = 0; j < D; ++j) row[size_t(j)] = X(i, j);
    double s1 = 0;
    switch (k) {
      case NormKind::softmax: {
        const double m = *std::max_element(row.begin(), row.end());
        for (double v : row) s1 += std::exp(v - m);
        a[size_t(i)] = m;
        c[size_t(i)] = s1;
        break;
      }
      case NormKind::layernorm: {
        for (double v : row) s1 += v;
        const double mean = s1 / double(D);
        double s2 = 0;
        for (double v : row) s2 += (v - mean) * (v - mean);
        a[size_t(i)] = mean;
        c[size_t(i)] = 1 / std::sqrt(s2 / double(D) + spec.eps);
        break;
      }
      case NormKind::rmsnorm: {
        for (double v : row) s1 += v * v;
        c[size_t(i)] = 1 / std::sqrt(s1 / double(D) + spec.eps);
        break;
      }
      case NormKind::rowsum:
      case NormKind::rowmean: {
        for (double v : row) s1 += v;
        a[size_t(i)] = k == NormKind::rowsum ? s1 : s1 / double(D);
        break;
      }
    }
  }
  const ElementFn Y = [&](int64_t i, int64_t j) {
    const double v = X(i, j);
    switch (k) {
      case NormKind::softmax: return std::exp(v - a[size_t(i)]) / c[size_t(i)];
      case NormKind::layernorm: return (v - a[size_t(i)]) * c[size_t(i)] * G(0, j) + B(0, j);
      case NormKind::rmsnorm: return v * c[size_t(i)] * G(0, j);
      case NormKind::rowsum:
      case NormKind::rowmean: return a[size_t(i)];
    }
    return 0.0;
  };
  const DistTensor yt = em->y;
  kc.reference.reserve(size_t(yt.block_elements() * rect.area()));
  for (int py = 0; py < rect.h; ++py) {
    for (int px = 0; px < rect.w; ++px) {
      const auto v = block_values(yt, px, py, Y);
      kc.reference.insert(kc.reference.end(), v.begin(), v.end());
    }
  }
  return kc;
}

}  // namespace wafer::kernels
