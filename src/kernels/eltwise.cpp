// Element-wise kernels over a tensor spread over PEs (eltwise.hpp, docs/kernels.md,
// "Element-wise kernels"): the emitter, and the registered kernels that run one op alone on
// seeded data and check it against a double reference.
//
// Per PE, with A's block of mb x nb column-major (n = mb·nb contiguous elements):
// - unary one-op functions (ReLU, reciprocal, neg) and binary ops with a full-size B are one
//   vector op over the n elements (vmath::emit, or vneg);
// - a scalar B is loaded once (`ld`, widened to fp32 exactly) and used as the op's scalar
//   source over the n elements;
// - a row vector B (1 x D, B[j] for the block's column j) and a column vector (R x 1, the
//   block's mb rows) are one asynchronous op per block column of mb contiguous elements: Y[:, j]
//   = A[:, j] op B[j] (a register loaded per column) or A[:, j] op B[0 .. mb); or, when the
//   block has few rows (mb·max(7, nb) < nb·max(7, mb/rate): a decode step's single token), one
//   op per block row of nb elements mb apart: Y[i, :] = A[i, :] op B[0 .. nb) or op B[i]. The
//   setups overlap on the microthreads, the ops finish in issue order and the last one
//   activates the done task;
// - the transcendental functions run vmath's fp32 routine over the block (its conversions
//   and scratch included) or, with a chunk c < n, loop over the block c elements at a time:
//   convert (or copy) A's chunk into an fp32 staging vector, run the routine in place there,
//   write the chunk of Y: the same operations on the same values, so the same results, with
//   scratch for c elements instead of n.
#include "wafer/kernels/eltwise.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "kernel_util.hpp"
#include "wafer/kernels/vmath.hpp"

namespace wafer::kernels {

using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

namespace {

struct OpInfo {
  const char* name;
  const char* summary;
  std::optional<vmath::Func> func;  // none: neg
};

constexpr OpInfo kOps[] = {
    {"add", "Y = A + B, B broadcast (--algo bcast=full|row|col|scalar)", vmath::Func::add},
    {"sub", "Y = A - B, B broadcast (--algo bcast=...)", vmath::Func::sub},
    {"mul", "Y = A · B, B broadcast (--algo bcast=...)", vmath::Func::mul},
    {"div", "Y = A / B, B broadcast (--algo bcast=...)", vmath::Func::div},
    {"max", "Y = max(A, B), B broadcast (--algo bcast=...)", vmath::Func::max},
    {"min", "Y = min(A, B), B broadcast (--algo bcast=...)", vmath::Func::min},
    {"exp", "Y = e^A, element-wise", vmath::Func::exp},
    {"reciprocal", "Y = 1/A, element-wise", vmath::Func::reciprocal},
    {"sqrt", "Y = sqrt(A), element-wise", vmath::Func::sqrt},
    {"rsqrt", "Y = 1/sqrt(A), element-wise", vmath::Func::rsqrt},
    {"tanh", "Y = tanh(A), element-wise", vmath::Func::tanh},
    {"erf", "Y = erf(A), element-wise", vmath::Func::erf},
    {"sigmoid", "Y = 1/(1 + e^-A), element-wise", vmath::Func::sigmoid},
    {"gelu", "Y = GELU(A), erf form, element-wise", vmath::Func::gelu_erf},
    {"gelu-tanh", "Y = GELU(A), tanh form, element-wise", vmath::Func::gelu_tanh},
    {"silu", "Y = A · sigmoid(A), element-wise", vmath::Func::silu},
    {"relu", "Y = max(A, 0), element-wise", vmath::Func::relu},
    {"neg", "Y = -A, element-wise", std::nullopt},
    {"log", "Y = ln(A), element-wise", vmath::Func::log},
};
static_assert(sizeof(kOps) / sizeof(kOps[0]) == size_t(EltwiseOp::count_));

const OpInfo& info(EltwiseOp op) { return kOps[size_t(op)]; }

// Whether the op runs vmath's fp32 routine (scratch vectors, conversions) rather than one op.
bool is_routine(EltwiseOp op) {
  const auto f = info(op).func;
  return f && vmath::scratch_vectors(*f, DType::f32, DType::f32) > 0;
}

bool same_rect(const ir::Rect& a, const ir::Rect& b) { return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h; }

// Checks that `t` is a float tensor in the layout `want` says, on the kernel's rectangle.
Status check_operand(const std::string& user, const DistTensor& t, const DistTensor& want, const ir::Rect& rect,
                     const ir::Program& program) {
  if (!dtype_is_float(t.dtype)) return make_error("{}: {} must be fp32, fp16 or bf16", user, t.describe());
  if (!same_rect(t.rect, rect)) return make_error("{}: {} does not lie on the kernel's rectangle", user, t.describe());
  if (t.rows_over_y != want.rows_over_y || t.cols_over_x != want.cols_over_x ||
      (t.block_rows() > 1 && t.block_cols() > 1 && !t.col_major)) {
    return make_error("{}: {} must have rows {} over y, columns {} over x{}", user, t.describe(),
                      want.rows_over_y == Spread::split ? "split" : "replicated",
                      want.cols_over_x == Spread::split ? "split" : "replicated",
                      want.rows_over_y == Spread::split && want.cols_over_x == Spread::split
                          ? " and column-major blocks" : "");
  }
  return check_layout(t, program.width, program.height);
}

// What one instance's code uses.
struct Ctx {
  ir::CodeBuilder& b;
  int64_t mb, nb;
  int a, bs, y;     // symbols
  int off, j, s;    // registers
  int da, db, dy;   // DSD registers
};

void mdsd(Ctx& c, int d, int sym, ir::Operand off, int64_t len, int stride = 1) {
  c.b.emit(Opcode::mdsd, {dsd(d), ir::sym_op(sym), off, imm(int32_t(len)), imm(stride)});
}

void finish(Ctx& c, const Site& site) {
  if (site.done_task >= 0) c.b.emit(Opcode::activate, {ir::task_op(site.done_task)});
  c.b.emit(Opcode::ret, {});
}

Opcode binary_opcode(EltwiseOp op) {
  switch (op) {
    case EltwiseOp::sub: return Opcode::vsub;
    case EltwiseOp::mul: return Opcode::vmul;
    case EltwiseOp::div: return Opcode::vdiv;
    case EltwiseOp::max: return Opcode::vmax;
    case EltwiseOp::min: return Opcode::vmin;
    default: return Opcode::vadd;
  }
}

// The block as `count` lines of `len` elements, line l from element l·step, its elements
// `stride` apart: the mb-element columns (step mb, stride 1) or the nb-element rows (step 1,
// stride mb) of a column-major block.
struct Lines {
  int64_t count, len, step, stride;
};

// Whether one op per block row beats one per block column. A column op moves mb elements at
// the write port's rate (2 fp32 or 4 16-bit elements a cycle), a row op nb strided elements
// at one a cycle (stride 1 when mb = 1); each op costs about 7 cycles of loop and issue.
bool by_rows(int64_t mb, int64_t nb, DType t) {
  const double rate = dtype_bytes(t) == 4 ? 2 : 4;
  const double columns = double(nb) * std::max(7.0, double(mb) / rate);
  const double rows = double(mb) * std::max(7.0, mb == 1 ? double(nb) / rate : double(nb));
  return rows < columns;
}

// Y = A op B for a row or column vector B, one asynchronous op per line of the block (the
// columns, or the rows when fewer and cheaper), the last one activating the done task (ops
// finish in issue order). Along a line B is either one element, loaded into a register per
// line (B[j] of a row vector over the columns, B[i] of a column vector over the rows), or
// B's whole block (db, bound once). Ends the entry task.
void emit_line_ops(Ctx& c, const Site& site, Opcode op, Broadcast form, DType t) {
  ir::CodeBuilder& b = c.b;
  const bool rows = by_rows(c.mb, c.nb, t);
  const Lines l = rows ? Lines{c.mb, c.nb, 1, c.mb} : Lines{c.nb, c.mb, c.mb, 1};
  const bool scalar_per_line = (form == Broadcast::row) != rows;
  if (!scalar_per_line) mdsd(c, c.db, c.bs, imm(0), l.len);
  b.emit(Opcode::movi, {reg(c.j), imm(0)});
  b.emit(Opcode::movi, {reg(c.off), imm(0)});
  auto line = [&](ir::OnDone on, int task) {
    mdsd(c, c.da, c.a, reg(c.off), l.len, int(l.stride));
    mdsd(c, c.dy, c.y, reg(c.off), l.len, int(l.stride));
    if (scalar_per_line) {
      b.emit(Opcode::ld, {reg(c.s), ir::sym_op(c.bs), reg(c.j)});
      b.emit_async(op, {dsd(c.dy), dsd(c.da), reg(c.s)}, on, task);
    } else {
      b.emit_async(op, {dsd(c.dy), dsd(c.da), dsd(c.db)}, on, task);
    }
  };
  const int loop = b.new_label(), last = b.new_label();
  b.emit(Opcode::bge, {reg(c.j), imm(int32_t(l.count - 1)), b.label(last)});
  b.place(loop);
  line(ir::OnDone::none, -1);
  b.emit(Opcode::add, {reg(c.off), reg(c.off), imm(int32_t(l.step))});
  b.emit(Opcode::add, {reg(c.j), reg(c.j), imm(1)});
  b.emit(Opcode::blt, {reg(c.j), imm(int32_t(l.count - 1)), b.label(loop)});
  b.place(last);
  if (site.done_task >= 0) line(ir::OnDone::activate, site.done_task);
  else line(ir::OnDone::none, -1);
  b.emit(Opcode::ret, {});
}

// Y = A op B[0] over the whole block, B[0] loaded once.
void emit_scalar_op(Ctx& c, const Site& site, Opcode op) {
  const int64_t n = c.mb * c.nb;
  mdsd(c, c.dy, c.y, imm(0), n);
  mdsd(c, c.da, c.a, imm(0), n);
  c.b.emit(Opcode::ld, {reg(c.s), ir::sym_op(c.bs), imm(0)});
  c.b.emit(op, {dsd(c.dy), dsd(c.da), reg(c.s)});
  finish(c, site);
}

// vmath's routine over the block c elements at a time through the fp32 staging vector
// `stage` (in place there): the chunk of A converted in, the chunk of Y converted out.
Status emit_chunked_routine(Ctx& c, Emit& e, vmath::Func f, int64_t chunk, DType at, DType yt) {
  ir::CodeBuilder& b = c.b;
  const int64_t n = c.mb * c.nb;
  const int stage = b.symbol(e.name("stage"), DType::f32, uint32_t(chunk));
  b.emit(Opcode::movi, {reg(c.off), imm(0)});
  const int loop = b.new_label();
  b.place(loop);
  mdsd(c, c.da, c.a, reg(c.off), chunk);
  mdsd(c, c.db, stage, imm(0), chunk);
  b.emit(at == DType::f32 ? Opcode::vmov : Opcode::vcvt, {dsd(c.db), dsd(c.da)});
  vmath::Target vt{b, e.pools, e.name("vmath")};
  const vmath::Vec v{stage, 0, uint32_t(chunk), DType::f32};
  WAFER_TRY(vmath::emit(vt, f, v, v));
  mdsd(c, c.dy, c.y, reg(c.off), chunk);
  b.emit(yt == DType::f32 ? Opcode::vmov : Opcode::vcvt, {dsd(c.dy), dsd(c.db)});
  b.emit(Opcode::add, {reg(c.off), reg(c.off), imm(int32_t(chunk))});
  b.emit(Opcode::blt, {reg(c.off), imm(int32_t(n)), b.label(loop)});
  return Status::ok();
}

}  // namespace

const char* eltwise_name(EltwiseOp op) { return info(op).name; }

std::optional<EltwiseOp> parse_eltwise(std::string_view name) {
  for (size_t i = 0; i < size_t(EltwiseOp::count_); ++i) {
    if (name == kOps[i].name) return EltwiseOp(i);
  }
  return std::nullopt;
}

bool eltwise_is_binary(EltwiseOp op) {
  const auto f = info(op).func;
  return f && vmath::func_info(*f).arity == 2;
}

const char* broadcast_name(Broadcast b) {
  switch (b) {
    case Broadcast::full: return "full";
    case Broadcast::row: return "row";
    case Broadcast::col: return "col";
    case Broadcast::scalar: return "scalar";
  }
  return "?";
}

DistTensor broadcast_operand(const DistTensor& a, Broadcast form, const std::string& name, DType t) {
  DistTensor b = a;
  b.name = name;
  b.dtype = t;
  if (form == Broadcast::row || form == Broadcast::scalar) {
    b.rows = 1;
    b.rows_over_y = Spread::replicate;
  }
  if (form == Broadcast::col || form == Broadcast::scalar) {
    b.cols = 1;
    b.cols_over_x = Spread::replicate;
  }
  return b;
}

Expected<Broadcast> broadcast_form(const std::string& user, const DistTensor& a, const DistTensor& b) {
  const bool rows_ok = b.rows == a.rows || b.rows == 1, cols_ok = b.cols == a.cols || b.cols == 1;
  if (!rows_ok || !cols_ok) {
    return make_error("{}: tensor '{}' ({}x{}) does not broadcast to tensor '{}' ({}x{}): its {} must be {} or 1",
                      user, b.name, b.rows, b.cols, a.name, a.rows, a.cols, rows_ok ? "columns" : "rows",
                      rows_ok ? a.cols : a.rows);
  }
  // A dimension of 1 in both is taken as B's layout says: replicated means broadcast.
  const bool by_rows = b.rows == 1 && (a.rows != 1 || b.rows_over_y == Spread::replicate);
  const bool by_cols = b.cols == 1 && (a.cols != 1 || b.cols_over_x == Spread::replicate);
  return by_rows ? (by_cols ? Broadcast::scalar : Broadcast::row) : (by_cols ? Broadcast::col : Broadcast::full);
}

int64_t eltwise_scratch_bytes(EltwiseOp op, DType t, bool chunked) {
  if (!is_routine(op)) return 0;
  const vmath::Func f = *info(op).func;
  return 4 * (chunked ? vmath::scratch_vectors(f, DType::f32, DType::f32) + 1 : vmath::scratch_vectors(f, t, t));
}

Expected<EltwiseEmitted> emit_eltwise(Emit& e, const Site& site, const EltwiseSpec& s) {
  const std::string user = e.name(eltwise_name(s.op));
  const DistTensor& a = s.a;
  const ir::Rect rect = site.rect;
  WAFER_TRY(check_operand(user, a, broadcast_operand(a, Broadcast::full, a.name, a.dtype), rect, e.program));
  const bool binary = eltwise_is_binary(s.op);
  EltwiseEmitted out;
  if (binary) {
    auto form = broadcast_form(user, a, s.b);
    if (!form) return form.status();
    out.form = *form;
    WAFER_TRY(check_operand(user, s.b, broadcast_operand(a, out.form, s.b.name, s.b.dtype), rect, e.program));
  }
  const int64_t mb = a.block_rows(), nb = a.block_cols(), n = mb * nb;
  const int64_t chunk = s.chunk > 0 && s.chunk < n && is_routine(s.op) ? s.chunk : n;
  if (n % chunk != 0)
    return make_error("{}: a chunk of {} elements does not divide {}'s block of {}x{}", user, chunk, a.name, mb, nb);
  ir::CodeBuilder& b = e.code;

  const std::string y_name = s.y == a.name ? a.name : e.name(s.y);
  out.y = a;
  out.y.name = y_name;
  out.a_symbol = s.a_symbol >= 0 ? s.a_symbol : b.symbol(a.name, a.dtype, uint32_t(n));
  out.y_symbol = y_name == a.name ? out.a_symbol : b.symbol(y_name, a.dtype, uint32_t(n));
  if (binary) out.b_symbol = s.b_symbol >= 0 ? s.b_symbol : b.symbol(s.b.name, s.b.dtype, uint32_t(s.b.block_elements()));
  const int64_t tb = dtype_bytes(a.dtype);
  out.data_bytes = n * tb * (y_name == a.name ? 1 : 2) + (binary ? s.b.block_bytes() : 0) +
                   eltwise_scratch_bytes(s.op, a.dtype, chunk < n) * chunk;

  int entry = site.entry_task;
  if (entry < 0) {
    auto task = e.pools.tasks.take(user);
    if (!task) return task.status();
    entry = *task;
  }
  auto regs = e.pools.regs.take(3, user);
  if (!regs) return regs.status();
  auto dsds = e.pools.dsds.take(3, user);
  if (!dsds) return dsds.status();
  Ctx c{b, mb, nb, out.a_symbol, out.b_symbol, out.y_symbol, (*regs)[0], (*regs)[1], (*regs)[2],
        (*dsds)[0], (*dsds)[1], (*dsds)[2]};

  b.task(e.name("entry"), entry, ir::TaskKind::local);
  b.begin_task(entry);
  const auto f = info(s.op).func;
  if (binary && (out.form == Broadcast::row || out.form == Broadcast::col)) {
    emit_line_ops(c, site, binary_opcode(s.op), out.form, a.dtype);
  } else if (binary && out.form == Broadcast::scalar) {
    emit_scalar_op(c, site, binary_opcode(s.op));
  } else if (!f) {
    mdsd(c, c.dy, c.y, imm(0), n);
    mdsd(c, c.da, c.a, imm(0), n);
    b.emit(Opcode::vneg, {dsd(c.dy), dsd(c.da)});
    finish(c, site);
  } else if (chunk < n) {
    WAFER_TRY(emit_chunked_routine(c, e, *f, chunk, a.dtype, a.dtype));
    finish(c, site);
  } else {
    vmath::Target vt{b, e.pools, e.name("vmath")};
    const vmath::Vec av{out.a_symbol, 0, uint32_t(n), a.dtype}, yv{out.y_symbol, 0, uint32_t(n), a.dtype};
    const vmath::Vec bv{out.b_symbol, 0, uint32_t(n), binary ? s.b.dtype : a.dtype};
    WAFER_TRY(vmath::emit(vt, *f, yv, av, binary ? &bv : nullptr));
    finish(c, site);
  }
  out.held.regs = *regs;
  out.held.dsds = *dsds;
  out.entry = entry;
  return out;
}

// ---- The registered kernels ----

namespace {

struct EltwiseDims {
  int64_t R, D;
};
EltwiseDims eltwise_dims(const KernelParams& p) {
  return {p.m ? p.m : 4 * int64_t(p.grid_h), p.n ? p.n : 8 * int64_t(p.grid_w)};
}

// "bcast=full|row|col|scalar" in --algo (empty: full).
Expected<Broadcast> parse_bcast(const std::string& algo) {
  if (algo.empty()) return Broadcast::full;
  for (Broadcast f : {Broadcast::full, Broadcast::row, Broadcast::col, Broadcast::scalar}) {
    if (algo == std::string("bcast=") + broadcast_name(f)) return f;
  }
  return make_error("--algo '{}': expected bcast=full, bcast=row, bcast=col or bcast=scalar", algo);
}

// Inputs that exercise each function where it matters and keep the check meaningful: exp's
// e^-8..e^8, GELU's and SiLU's negative tails, positive arguments for the roots and the
// logarithm, divisors away from 0.
struct Range {
  double lo, hi;
};
Range input_range(EltwiseOp op) {
  switch (op) {
    case EltwiseOp::exp:
    case EltwiseOp::sigmoid:
    case EltwiseOp::silu: return {-8, 8};
    case EltwiseOp::gelu:
    case EltwiseOp::gelu_tanh: return {-6, 6};
    case EltwiseOp::tanh: return {-4, 4};
    case EltwiseOp::erf: return {-3, 3};
    case EltwiseOp::reciprocal: return {0.25, 4};
    case EltwiseOp::sqrt:
    case EltwiseOp::rsqrt:
    case EltwiseOp::log: return {1.0 / 64, 64};
    default: return {-1, 1};
  }
}

// The maximum error in ULPs of the output type of docs/kernels.md's table ("Transcendental
// functions: accuracy in ULPs"): exhaustive for fp16 and bf16, 10^7 samples for fp32.
int table_ulps(EltwiseOp op, DType t) {
  if (t == DType::bf16) return 0;
  const bool f32 = t == DType::f32;
  switch (op) {
    case EltwiseOp::exp:
    case EltwiseOp::log: return 1;
    case EltwiseOp::rsqrt: return f32 ? 1 : 0;
    case EltwiseOp::tanh: return f32 ? 2 : 0;
    case EltwiseOp::erf:
    case EltwiseOp::sigmoid: return f32 ? 2 : 1;
    case EltwiseOp::gelu: return f32 ? 6 : 1;
    case EltwiseOp::gelu_tanh: return f32 ? 205 : 1;
    case EltwiseOp::silu: return f32 ? 3 : 1;
    default: return 0;
  }
}

// Normwise tolerance: the double reference is not rounded, so the correctly rounded result is
// within u_t of it and each ULP of the table adds at most 2·u_t (relative to the element, so
// to max|ref| too); the sampled fp32 maxima are doubled for margin.
double eltwise_tolerance(EltwiseOp op, DType t) {
  const int ulps = table_ulps(op, t) * (t == DType::f32 ? 2 : 1);
  return unit_roundoff(t) * (1 + 2 * ulps);
}

double exact_value(EltwiseOp op, double a, double b) {
  const auto f = info(op).func;
  return f ? double(vmath::reference(*f, a, b)) : -a;
}

// The largest divisor of n that is at most `most` (0 when most < 1).
int64_t largest_divisor(int64_t n, int64_t most) {
  for (int64_t c = std::min(n, most); c >= 1; --c) {
    if (n % c == 0) return c;
  }
  return 0;
}

HostBytes eltwise_host_bytes(const KernelParams& p) {
  const EltwiseDims d = eltwise_dims(p);
  const uint64_t kept = 2 * uint64_t(d.R) * uint64_t(d.D) * sizeof(double);  // reference, output
  return {kept, kept};
}

KernelParams scale_eltwise_sizes(const KernelParams& p, double f) {
  const EltwiseDims d = eltwise_dims(p);
  KernelParams q = p;
  const double s = std::sqrt(f);
  q.m = std::max<int64_t>(1, int64_t(double(d.R / p.grid_h) * s)) * p.grid_h;
  q.n = std::max<int64_t>(1, int64_t(double(d.D / p.grid_w) * s)) * p.grid_w;
  return q;
}

}  // namespace

KernelInfo eltwise_kernel_info(EltwiseOp op) {
  return KernelInfo{info(op).name, info(op).summary, "--m --n",
                    [op](const arch::Arch& a, const KernelParams& p, Stage s) { return build_eltwise_kernel(op, a, p, s); },
                    eltwise_host_bytes, scale_eltwise_sizes, true};
}

Expected<KernelCase> build_eltwise_kernel(EltwiseOp op, const arch::Arch& arch, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(arch, p));
  const EltwiseDims d = eltwise_dims(p);
  const DType t = p.dtype;
  if (!dtype_is_float(t)) return make_error("takes fp32, fp16 or bf16 (got {})", dtype_name(t));
  if (d.R < 1 || d.D < 1) return make_error("--m and --n must be positive (got {} and {})", d.R, d.D);
  if (d.R % p.grid_h != 0) return make_error("--m {} (rows) does not divide evenly over the grid's {} PE rows", d.R, p.grid_h);
  if (d.D % p.grid_w != 0)
    return make_error("--n {} (columns) does not divide evenly over the grid's {} PE columns", d.D, p.grid_w);
  const bool binary = eltwise_is_binary(op);
  Broadcast form = Broadcast::full;
  if (binary) {
    auto f = parse_bcast(p.algo);
    if (!f) return f.status();
    form = *f;
  } else if (!p.algo.empty()) {
    return make_error("--algo '{}': {} has no algorithms", p.algo, eltwise_name(op));
  }
  const ir::Rect rect = p.rect();
  const DistTensor at{"a", t, d.R, d.D, rect};
  const DistTensor bt = broadcast_operand(at, form, "b", t);
  const int64_t n = at.block_elements();
  const int64_t fixed = 2 * at.block_bytes() + (binary ? bt.block_bytes() : 0), room = arch.sram_bytes - 4096 - fixed;
  int64_t chunk = 0;
  if (eltwise_scratch_bytes(op, t, false) * n > room) {
    chunk = largest_divisor(n, room / std::max<int64_t>(1, eltwise_scratch_bytes(op, t, true)));
    if (chunk < 1)
      return make_error("a {}x{} block per PE takes {} bytes of SRAM for A and Y, but the arch has {} per PE (leave "
                        "4096 for code and some for fp32 scratch); use a larger grid or smaller --m/--n",
                        at.block_rows(), at.block_cols(), fixed, arch.sram_bytes);
  }

  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(arch);
  ir::CodeBuilder code(eltwise_name(op));
  Emit e{code, kc.program, pools, arch, ""};
  EltwiseSpec spec;
  spec.op = op;
  spec.a = at;
  spec.b = bt;
  spec.chunk = chunk;
  auto em = emit_eltwise(e, Site{rect, -1, -1}, spec);
  if (!em) return em.status();
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});
  kc.rect = rect;
  kc.launch_task = "entry";
  kc.result_symbol = em->y.name;
  kc.result_rect = rect;
  kc.tolerance = eltwise_tolerance(op, t);
  if (stage == Stage::program) return kc;

  const Range r = input_range(op);
  const int64_t D = d.D;
  const ElementFn A = [t, r, D, seed = p.seed](int64_t i, int64_t j) {
    return round_to(t, random_value(seed, uint64_t(i * D + j), r.lo, r.hi));
  };
  // B's values in [0.5, 2) for div, [-1, 1) otherwise; indexed by B's own (row, col).
  const int64_t bcols = bt.cols;
  const Range br = op == EltwiseOp::div ? Range{0.5, 2} : Range{-1, 1};
  const ElementFn B = [t, br, bcols, seed = p.seed + 1](int64_t i, int64_t j) {
    return round_to(t, random_value(seed, uint64_t(i * bcols + j), br.lo, br.hi));
  };
  kc.inputs.push_back(HostCopy{"a", rect, {}, [at, A](int px, int py) { return block_values(at, px, py, A); }});
  if (binary)
    kc.inputs.push_back(HostCopy{"b", rect, {}, [bt, B](int px, int py) { return block_values(bt, px, py, B); }});
  const bool by_rows = bt.rows == 1 && at.rows != 1, by_cols = bt.cols == 1 && at.cols != 1;
  const ElementFn Y = [&](int64_t i, int64_t j) {
    return exact_value(op, A(i, j), binary ? B(by_rows ? 0 : i, by_cols ? 0 : j) : 0.0);
  };
  kc.reference.reserve(size_t(n * rect.area()));
  for (int py = 0; py < rect.h; ++py) {
    for (int px = 0; px < rect.w; ++px) {
      const auto v = block_values(em->y, px, py, Y);
      kc.reference.insert(kc.reference.end(), v.begin(), v.end());
    }
  }
  return kc;
}

}  // namespace wafer::kernels
