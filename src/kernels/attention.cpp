// Scaled dot-product attention (multi-head and grouped-query, causal or over every key) and
// rotary position embedding (RoPE), as kernels whose work needs no fabric traffic.
//
// Attention (attention.hpp, composable: any rectangle, entry and done tasks, resources from
// the caller's pools): heads are split over the rectangle's columns (H/W heads per PE) and
// query rows over its rows (S/H rows per PE); each PE holds the Q rows of its heads and the
// whole K and V of their key-value heads (under grouped-query attention the g = H/kv heads
// of a group share one K and V, and a PE column holds whole groups, so K and V are S x kv·d
// split over the columns like Q's heads and head h reads key-value head h / g). Every block is column-major, as a GEMM or a relayout leaves it: head h's
// columns are contiguous runs of S (K, V) or S/H (Q, O) elements. For each query row i: the
// scores s = K·(q_i / sqrt(d)) over all S keys as d vector FMAs of length S (q_i's elements
// loaded with stride S/H; fp32 accumulation: the mixed lanes for 16-bit inputs); the keys
// after i masked to -inf (causal; without the mask every query is treated as the last, i =
// S - 1); m = max(s) and l = sum(exp(s - m)) by scalar loops; exp by vmath's
// routine; o_i = (sum_{j <= i} p_j V[j, :]) / l as i + 1 vector FMAs of length d over V's
// row (stride S) into an fp32 row, converted into O's row (stride S/H). The vector ops are
// synchronous: each row's ops depend on the previous ones, so no microthread could hide
// their setup.
//
// RoPE: X (S tokens x heads·d) with tokens split over the rectangle's rows and whole heads
// over its columns, blocks column-major, so each half of a head's columns is contiguous;
// with the cos/sin tables of the PE's positions (cos(p·θ_k), θ_k = 10000^(-2k/d), as the
// model's buffers hold them) each head takes five vector ops over S/H · d/2 elements:
// y1 = x1·cos - x2·sin, y2 = x2·cos + x1·sin (the rotate-half convention of Llama).
#include <cmath>
#include <cstdio>

#include "kernel_util.hpp"
#include "wafer/kernels/attention.hpp"
#include "wafer/kernels/vmath.hpp"

namespace wafer::kernels {

using ir::CodeBuilder;
using ir::dsd;
using ir::fimm;
using ir::imm;
using ir::Opcode;
using ir::reg;

namespace {

struct AttnShape {
  int64_t S, heads, d, kv_heads;
  int64_t hp, sq;  // heads and query rows per PE
  DType t;
  bool causal = true;
};

// --algo: comma-separated "kv=N" (N key-value heads, grouped-query attention; default one per
// head) and "full" (every query sees every key; default causal).
Status parse_attention_algo(const std::string& algo, AttnShape& s) {
  s.kv_heads = s.heads;
  size_t from = 0;
  while (from < algo.size()) {
    const size_t comma = std::min(algo.find(',', from), algo.size());
    const std::string part = algo.substr(from, comma - from);
    from = comma + 1;
    long long n = 0;
    char extra = 0;
    if (part == "full") {
      s.causal = false;
      continue;
    }
    if (std::sscanf(part.c_str(), "kv=%lld%c", &n, &extra) != 1 || n < 1)
      return make_error("--algo '{}': expected kv=N (N key-value heads) or full (no causal mask), comma-separated",
                        algo);
    if (s.heads % n != 0) return make_error("{} heads do not divide into {} key-value heads", s.heads, n);
    s.kv_heads = n;
  }
  return Status::ok();
}

Expected<AttnShape> attn_shape(const arch::Arch& arch, const KernelParams& p) {
  WAFER_TRY(check_grid(arch, p));
  AttnShape s{p.m ? p.m : 8 * int64_t(p.grid_h), p.n ? p.n : int64_t(p.grid_w), p.k ? p.k : 16, 0, 0, 0, p.dtype};
  WAFER_TRY(parse_attention_algo(p.algo, s));
  if (!dtype_is_float(s.t)) return make_error("takes fp32, fp16 or bf16");
  if (s.heads % p.grid_w != 0)
    return make_error("{} heads do not divide evenly over {} columns of PEs", s.heads, p.grid_w);
  if (s.S % p.grid_h != 0)
    return make_error("{} query rows do not divide evenly over {} rows of PEs", s.S, p.grid_h);
  s.hp = s.heads / p.grid_w;
  s.sq = s.S / p.grid_h;
  const int64_t b = dtype_bytes(s.t);
  const int64_t kv_per_pe = std::max<int64_t>(1, s.hp * s.kv_heads / s.heads);
  const int64_t bytes = (s.hp * 2 * s.sq * s.d + kv_per_pe * 2 * s.S * s.d) * b + (3 * s.S + s.d) * 4;
  if (bytes > arch.sram_bytes - 4096) {
    return make_error("{} heads of {} queries with {} keys of dimension {} need {} bytes per PE, more than the {} "
                      "bytes of SRAM less 4096 for code; use more PEs or a shorter sequence",
                      s.hp, s.sq, s.S, s.d, bytes, arch.sram_bytes);
  }
  return s;
}

struct AttnRegs {
  int head, row, gi, t, q, m, l, j, off, tmp;
  int d_s, d_k, d_o, d_v;
};

// off = where the key-value head of `head` starts in K and V: (head / g)·S·d.
void emit_kv_offset(CodeBuilder& b, const AttnShape& s, const AttnRegs& r) {
  const int64_t group = s.heads / s.kv_heads;
  if (group > 1) b.emit(Opcode::div, {reg(r.off), reg(r.head), imm(int32_t(group))});
  b.emit(Opcode::mul, {reg(r.off), reg(group > 1 ? r.off : r.head), imm(int32_t(s.S * s.d))});
}

// Scores for query row `row` of head `head`: s = K_head · (q / sqrt(d)), masked after gi.
// Q's block is column-major: q_t of the row at q + t·sq, q = head·d·sq + row.
void emit_scores(CodeBuilder& b, const AttnShape& s, const AttnRegs& r, int Q, int K, int sc) {
  const int32_t S = int32_t(s.S), d = int32_t(s.d);
  b.emit(Opcode::mdsd, {dsd(r.d_s), ir::sym_op(sc), imm(0), imm(S), imm(1)});
  b.emit(Opcode::vmov, {dsd(r.d_s), fimm(0.0f)});
  // K column t of the head at head·S·d + t·S.
  const int loop = b.new_label();
  b.emit(Opcode::mul, {reg(r.q), reg(r.head), imm(int32_t(s.d * s.sq))});
  b.emit(Opcode::add, {reg(r.q), reg(r.q), reg(r.row)});
  emit_kv_offset(b, s, r);
  b.emit(Opcode::mov, {reg(r.j), reg(r.q)});
  b.emit(Opcode::movi, {reg(r.t), imm(0)});
  b.place(loop);
  b.emit(Opcode::mdsd, {dsd(r.d_k), ir::sym_op(K), reg(r.off), imm(S), imm(1)});
  b.emit(Opcode::ld, {reg(r.tmp), ir::sym_op(Q), reg(r.j)});
  b.emit(Opcode::fmul, {reg(r.tmp), reg(r.tmp), fimm(float(1.0 / std::sqrt(double(s.d))))});
  b.emit(Opcode::vfma, {dsd(r.d_s), dsd(r.d_k), reg(r.tmp), dsd(r.d_s)});
  b.emit(Opcode::add, {reg(r.off), reg(r.off), imm(S)});
  b.emit(Opcode::add, {reg(r.j), reg(r.j), imm(int32_t(s.sq))});
  b.emit(Opcode::add, {reg(r.t), reg(r.t), imm(1)});
  b.emit(Opcode::blt, {reg(r.t), imm(d), b.label(loop)});
  const int unmasked = b.new_label();
  b.emit(Opcode::sub, {reg(r.tmp), imm(S - 1), reg(r.gi)});  // keys after gi
  b.emit(Opcode::beq, {reg(r.tmp), imm(0), b.label(unmasked)});
  b.emit(Opcode::add, {reg(r.j), reg(r.gi), imm(1)});
  b.emit(Opcode::mdsd, {dsd(r.d_k), ir::sym_op(sc), reg(r.j), reg(r.tmp), imm(1)});
  b.emit(Opcode::vmov, {dsd(r.d_k), fimm(-INFINITY)});
  b.place(unmasked);
}

// A scalar loop over s[0..S): m = max (combine fmax) or l = sum (fadd).
void emit_scalar_fold(CodeBuilder& b, const AttnShape& s, const AttnRegs& r, int sc, int acc, Opcode combine, float init) {
  const int loop = b.new_label();
  b.emit(Opcode::mov, {reg(acc), fimm(init)});
  b.emit(Opcode::movi, {reg(r.j), imm(0)});
  b.place(loop);
  b.emit(Opcode::ld, {reg(r.tmp), ir::sym_op(sc), reg(r.j)});
  b.emit(combine, {reg(acc), reg(acc), reg(r.tmp)});
  b.emit(Opcode::add, {reg(r.j), reg(r.j), imm(1)});
  b.emit(Opcode::blt, {reg(r.j), imm(int32_t(s.S)), b.label(loop)});
}

// o = (sum_{j <= gi} p_j V[j, :]) / l, into O's row. V's block is column-major (row j of the
// head: d elements from head·S·d + j, stride S), and O's row is d elements from q, stride sq.
void emit_output_row(CodeBuilder& b, const AttnShape& s, const AttnRegs& r, int V, int O, int sc, int orow) {
  const int32_t d = int32_t(s.d);
  b.emit(Opcode::mdsd, {dsd(r.d_o), ir::sym_op(orow), imm(0), imm(d), imm(1)});
  b.emit(Opcode::vmov, {dsd(r.d_o), fimm(0.0f)});
  const int loop = b.new_label();
  emit_kv_offset(b, s, r);
  b.emit(Opcode::movi, {reg(r.j), imm(0)});
  b.place(loop);
  b.emit(Opcode::mdsd, {dsd(r.d_v), ir::sym_op(V), reg(r.off), imm(d), imm(int32_t(s.S))});
  b.emit(Opcode::ld, {reg(r.tmp), ir::sym_op(sc), reg(r.j)});
  b.emit(Opcode::vfma, {dsd(r.d_o), dsd(r.d_v), reg(r.tmp), dsd(r.d_o)});
  b.emit(Opcode::add, {reg(r.off), reg(r.off), imm(1)});
  b.emit(Opcode::add, {reg(r.j), reg(r.j), imm(1)});
  b.emit(Opcode::bge, {reg(r.gi), reg(r.j), b.label(loop)});
  b.emit(Opcode::fdiv, {reg(r.tmp), fimm(1.0f), reg(r.l)});
  b.emit(Opcode::vmul, {dsd(r.d_o), dsd(r.d_o), reg(r.tmp)});
  b.emit(Opcode::mdsd, {dsd(r.d_v), ir::sym_op(O), reg(r.q), imm(d), imm(int32_t(s.sq))});
  b.emit(Opcode::vcvt, {dsd(r.d_v), dsd(r.d_o)});
}

Expected<AttnRegs> take_attn_regs(Pools& pools, const std::string& user, Held& held) {
  auto g = pools.regs.take(10, user);
  if (!g) return g.status();
  auto d = pools.dsds.take(4, user);
  if (!d) return d.status();
  held = Held{*g, *d};
  const std::vector<int>& x = *g;
  return AttnRegs{x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], (*d)[0], (*d)[1], (*d)[2], (*d)[3]};
}

bool on_rect(const DistTensor& t, const ir::Rect& r) {
  return t.rect.x == r.x && t.rect.y == r.y && t.rect.w == r.w && t.rect.h == r.h;
}

// A standalone case on `rect` (the program spans the fabric up to it); close_case() places
// the one code there, launches its entry task and reads `result` back from the rectangle.
KernelCase case_on(const ir::Rect& rect) {
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  kc.rect = rect;
  kc.result_rect = rect;
  return kc;
}

void close_case(KernelCase& kc, CodeBuilder& code, const std::string& result) {
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{kc.rect, 0, {}});
  kc.launch_task = "entry";
  kc.result_symbol = result;
}

int64_t kv_heads_of(const AttentionSpec& s) { return s.kv_heads ? s.kv_heads : s.heads; }

// The operands' layouts (attention.hpp); errors name the tensor and the number that is wrong.
Status check_attention(const AttentionSpec& s, const ir::Rect& rect) {
  const DistTensor& q = s.q;
  if (!dtype_is_float(q.dtype)) return make_error("takes fp32, fp16 or bf16 (got {})", dtype_name(q.dtype));
  if (s.heads < 1 || q.cols % s.heads != 0)
    return make_error("{} columns of {} do not split into {} heads", q.cols, q.describe(), s.heads);
  if (s.heads % rect.w != 0) return make_error("{} heads do not divide evenly over {} columns of PEs", s.heads, rect.w);
  if (q.rows % rect.h != 0)
    return make_error("{} query rows do not divide evenly over {} rows of PEs", q.rows, rect.h);
  const int64_t kv = kv_heads_of(s);
  if (kv < 1 || s.heads % kv != 0) return make_error("{} heads do not divide into {} key-value heads", s.heads, kv);
  const int64_t group = s.heads / kv, per_pe = s.heads / rect.w;
  if (per_pe % group != 0)
    return make_error("a group of {} heads sharing a key-value head spans PE columns: {} heads per column of PEs "
                      "must hold whole groups", group, per_pe);
  if (q.rows_over_y != Spread::split || q.cols_over_x != Spread::split || !q.col_major || !on_rect(q, rect))
    return make_error("{} must lie on the kernel's rectangle with rows split over y, columns over x and "
                      "column-major blocks", q.describe());
  const int64_t kv_cols = q.cols / group;
  for (const DistTensor* kv : {&s.k, &s.v}) {
    if (kv->rows != q.rows || kv->cols != kv_cols || kv->dtype != q.dtype || kv->rows_over_y != Spread::replicate ||
        kv->cols_over_x != Spread::split || !kv->col_major || !on_rect(*kv, rect))
      return make_error("{} must be {}x{} {} on the kernel's rectangle with rows replicated over y, columns split "
                        "over x and column-major blocks", kv->describe(), q.rows, kv_cols, dtype_name(q.dtype));
  }
  return Status::ok();
}

}  // namespace

Expected<AttentionEmitted> emit_attention(Emit& e, const Site& site, const AttentionSpec& spec) {
  const std::string user = e.name("attention");
  WAFER_TRY(check_attention(spec, site.rect).with_context(user));
  const ir::Rect rect = site.rect;
  const DistTensor& q = spec.q;
  const int64_t d = q.cols / spec.heads;
  const AttnShape s{q.rows, spec.heads, d, kv_heads_of(spec), spec.heads / rect.w, q.rows / rect.h,
                    q.dtype, spec.causal};
  AttentionEmitted out;
  auto r = take_attn_regs(e.pools, user, out.held);
  if (!r) return r.status();
  auto entry = site.entry_task >= 0 ? Expected<int>(site.entry_task) : e.pools.tasks.take(user);
  if (!entry) return entry.status();
  CodeBuilder& b = e.code;
  const uint32_t q_elems = uint32_t(s.hp * s.sq * s.d), kv_elems = uint32_t(spec.k.block_elements());
  const int Q = spec.q_symbol >= 0 ? spec.q_symbol : b.symbol(q.name, s.t, q_elems);
  const int K = spec.k_symbol >= 0 ? spec.k_symbol : b.symbol(spec.k.name, s.t, kv_elems);
  const int V = spec.v_symbol >= 0 ? spec.v_symbol : b.symbol(spec.v.name, s.t, kv_elems);
  out.y = q;
  out.y.name = e.name(spec.y);
  const int O = b.symbol(out.y.name, s.t, q_elems);
  out.y_symbol = O;
  const int sc = b.symbol(e.name("scores"), DType::f32, uint32_t(s.S));
  const int orow = b.symbol(e.name("orow"), DType::f32, uint32_t(s.d));
  b.task(e.name("entry"), *entry, ir::TaskKind::local);
  b.begin_task(*entry);
  const int heads = b.new_label(), rows = b.new_label();
  b.emit(Opcode::movi, {reg(r->head), imm(0)});
  b.place(heads);
  b.emit(Opcode::movi, {reg(r->row), imm(0)});
  b.place(rows);
  // gi = (y - rect.y)·sq + row: the query's position in the sequence, the last key it sees
  // (without the causal mask, every query sees all S).
  if (s.causal) {
    b.emit(Opcode::sub, {reg(r->gi), ir::special(ir::Special::y), imm(rect.y)});
    b.emit(Opcode::mul, {reg(r->gi), reg(r->gi), imm(int32_t(s.sq))});
    b.emit(Opcode::add, {reg(r->gi), reg(r->gi), reg(r->row)});
  } else {
    b.emit(Opcode::movi, {reg(r->gi), imm(int32_t(s.S - 1))});
  }
  emit_scores(b, s, *r, Q, K, sc);
  emit_scalar_fold(b, s, *r, sc, r->m, Opcode::fmax, -INFINITY);
  b.emit(Opcode::fmul, {reg(r->m), reg(r->m), fimm(-1.0f)});
  b.emit(Opcode::mdsd, {dsd(r->d_s), ir::sym_op(sc), imm(0), imm(int32_t(s.S)), imm(1)});
  b.emit(Opcode::vadd, {dsd(r->d_s), dsd(r->d_s), reg(r->m)});
  vmath::Target target{b, e.pools, e.name("attention.exp")};
  const vmath::Vec scores{sc, 0, uint32_t(s.S), DType::f32};
  WAFER_TRY(vmath::emit(target, vmath::Func::exp, scores, scores));
  emit_scalar_fold(b, s, *r, sc, r->l, Opcode::fadd, 0.0f);
  emit_output_row(b, s, *r, V, O, sc, orow);
  b.emit(Opcode::add, {reg(r->row), reg(r->row), imm(1)});
  b.emit(Opcode::blt, {reg(r->row), imm(int32_t(s.sq)), b.label(rows)});
  b.emit(Opcode::add, {reg(r->head), reg(r->head), imm(1)});
  b.emit(Opcode::blt, {reg(r->head), imm(int32_t(s.hp)), b.label(heads)});
  if (site.done_task >= 0) b.emit(Opcode::activate, {ir::task_op(site.done_task)});
  b.emit(Opcode::ret, {});
  out.entry = *entry;
  return out;
}

namespace {

double attn_tolerance(DType t, int64_t S) {
  return sum_tolerance(t, uint64_t(S)) + 64 * unit_roundoff(DType::f32);
}

}  // namespace

// Peak and kept: Q, K, V of every head and the reference output, as doubles.
HostBytes attention_host_bytes(const KernelParams& p) {
  const uint64_t S = uint64_t(p.m ? p.m : 8 * p.grid_h), H = uint64_t(p.n ? p.n : p.grid_w), d = uint64_t(p.k ? p.k : 16);
  const uint64_t bytes = 5 * H * S * d * sizeof(double);
  return {bytes, bytes};
}

KernelParams scale_attention_sizes(const KernelParams& p, double f) {
  KernelParams q = p;
  const int64_t S = p.m ? p.m : 8 * p.grid_h;
  q.m = std::max<int64_t>(1, int64_t(double(S / p.grid_h) * f)) * p.grid_h;
  return q;
}

Expected<KernelCase> build_attention(const arch::Arch& arch, const KernelParams& p, Stage stage) {
  auto shape = attn_shape(arch, p);
  if (!shape) return shape.status();
  const AttnShape s = *shape;
  const ir::Rect rect = p.rect();
  KernelCase kc = case_on(rect);
  Pools pools = Pools::for_arch(arch);
  CodeBuilder code("attention");
  Emit e{code, kc.program, pools, arch, ""};
  AttentionSpec spec;
  spec.q = DistTensor{"Q", s.t, s.S, s.heads * s.d, rect};
  spec.k = DistTensor{"K", s.t, s.S, s.kv_heads * s.d, rect};
  spec.k.rows_over_y = Spread::replicate;
  spec.v = spec.k;
  spec.v.name = "V";
  spec.heads = s.heads;
  spec.kv_heads = s.kv_heads;
  spec.causal = s.causal;
  auto em = emit_attention(e, Site{rect, -1, -1}, spec);
  if (!em) return em.status();
  close_case(kc, code, em->y.name);
  kc.tolerance = attn_tolerance(s.t, s.S);
  // Causal: query i attends to i + 1 keys, 2 FMAs (QK and PV) of d each; else to all S.
  kc.flops = 2.0 * 2.0 * double(s.heads) * double(s.d) * double(s.S) * (s.causal ? double(s.S + 1) / 2 : double(s.S));
  if (stage == Stage::program) return kc;

  const DType t = s.t;
  const uint64_t seed = p.seed;
  const int64_t group = s.heads / s.kv_heads, d = s.d, S = s.S;
  // Q[h][i][c] (S x heads·d), K[g][j][c] and V[g][j][c] (S x kv·d), as functions of the
  // (row, column) of those matrices (column h·d + c, g·d + c); head h reads group h / group.
  auto at = [=](uint64_t sd, int64_t row, int64_t col) {
    return round_to(t, random_value(sd, uint64_t(((col / d) * S + row) * d + col % d)));
  };
  const ElementFn Q = [=](int64_t i, int64_t col) { return at(seed, i, col); };
  const ElementFn K = [=](int64_t j, int64_t col) { return at(seed + 1, j, col); };
  const ElementFn V = [=](int64_t j, int64_t col) { return at(seed + 2, j, col); };
  for (const auto& [tensor, fn] : {std::pair{spec.q, Q}, {spec.k, K}, {spec.v, V}})
    kc.inputs.push_back(HostCopy{tensor.name, rect, {}, [tensor, fn](int px, int py) { return block_values(tensor, px, py, fn); }});
  // The reference O (S x heads·d), then in read-back order: PEs row-major, each block's.
  const double scale = 1.0 / std::sqrt(double(d));
  std::vector<double> o(size_t(S * s.heads * d));
  for (int64_t h = 0; h < s.heads; ++h) {
    for (int64_t i = 0; i < S; ++i) {
      const int64_t last = s.causal ? i : S - 1;
      std::vector<double> w(size_t(last + 1));
      double m = -INFINITY, l = 0;
      for (int64_t j = 0; j <= last; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c) dot += Q(i, h * d + c) * K(j, h / group * d + c);
        w[size_t(j)] = dot * scale;
        m = std::max(m, w[size_t(j)]);
      }
      for (double& x : w) l += (x = std::exp(x - m));
      for (int64_t c = 0; c < d; ++c) {
        double acc = 0;
        for (int64_t j = 0; j <= last; ++j) acc += w[size_t(j)] * V(j, h / group * d + c);
        o[size_t(i * s.heads * d + h * d + c)] = acc / l;
      }
    }
  }
  const int64_t cols = s.heads * d;
  for (int py = 0; py < rect.h; ++py)
    for (int px = 0; px < rect.w; ++px)
      for (double x : block_values(em->y, px, py, [&](int64_t i, int64_t c) { return o[size_t(i * cols + c)]; }))
        kc.reference.push_back(x);
  return kc;
}

}  // namespace wafer::kernels

namespace wafer::kernels {

namespace {

struct RopeShape {
  int64_t S, heads, d, hp, sq;
  DType t;
};

Expected<RopeShape> rope_shape(const arch::Arch& arch, const KernelParams& p) {
  WAFER_TRY(check_grid(arch, p));
  RopeShape s{p.m ? p.m : 8 * int64_t(p.grid_h), p.n ? p.n : int64_t(p.grid_w), p.k ? p.k : 16, 0, 0, p.dtype};
  if (!dtype_is_float(s.t)) return make_error("takes fp32, fp16 or bf16");
  if (s.d % 2 != 0) return make_error("head dimension {} is odd; RoPE rotates pairs", s.d);
  if (s.heads % p.grid_w != 0)
    return make_error("{} heads do not divide evenly over {} columns of PEs", s.heads, p.grid_w);
  if (s.S % p.grid_h != 0) return make_error("{} tokens do not divide evenly over {} rows of PEs", s.S, p.grid_h);
  s.hp = s.heads / p.grid_w;
  s.sq = s.S / p.grid_h;
  const int64_t bytes = (3 * s.hp * s.sq * s.d + s.sq * s.d) * dtype_bytes(s.t);
  if (bytes > arch.sram_bytes - 4096)
    return make_error("{} tokens of {} heads of dimension {} need {} bytes per PE, more than the {} bytes of SRAM less "
                      "4096 for code; use more PEs", s.sq, s.hp, s.d, bytes, arch.sram_bytes);
  return s;
}

}  // namespace

Expected<RopeEmitted> emit_rope(Emit& e, const Site& site, const RopeSpec& spec) {
  const std::string user = e.name("rope");
  const DistTensor& x = spec.x;
  const ir::Rect& rect = site.rect;
  if (!dtype_is_float(x.dtype)) return make_error("{}: takes fp32, fp16 or bf16 (got {})", user, dtype_name(x.dtype));
  if (spec.heads < 1 || x.cols % spec.heads != 0 || (x.cols / spec.heads) % 2 != 0)
    return make_error("{}: {} columns of {} do not split into {} heads of an even dimension", user, x.cols,
                      x.describe(), spec.heads);
  if (spec.heads % rect.w != 0)
    return make_error("{}: {} heads do not divide evenly over {} columns of PEs", user, spec.heads, rect.w);
  if (x.rows_over_y != Spread::split || x.cols_over_x != Spread::split || !x.col_major || !on_rect(x, rect) ||
      x.rows % rect.h != 0)
    return make_error("{}: {} must lie on the kernel's rectangle with rows and columns split evenly and "
                      "column-major blocks", user, x.describe());
  const RopeShape s{x.rows, spec.heads, x.cols / spec.heads, spec.heads / rect.w, x.rows / rect.h, x.dtype};
  RopeEmitted out;
  auto d = e.pools.dsds.take(6, user);
  if (!d) return d.status();
  out.held.dsds = *d;
  auto entry = site.entry_task >= 0 ? Expected<int>(site.entry_task) : e.pools.tasks.take(user);
  if (!entry) return entry.status();
  const int x1 = (*d)[0], x2 = (*d)[1], y1 = (*d)[2], y2 = (*d)[3], cs = (*d)[4], sn = (*d)[5];
  CodeBuilder& b = e.code;
  const int32_t half = int32_t(s.sq * s.d / 2), head = int32_t(s.sq * s.d);
  out.y = x;
  out.y.name = e.name(spec.y);
  out.cos = DistTensor{e.name("cos"), s.t, s.S, s.d / 2, rect};
  out.cos.cols_over_x = Spread::replicate;
  out.sin = out.cos;
  out.sin.name = e.name("sin");
  const int X = spec.x_symbol >= 0 ? spec.x_symbol : b.symbol(x.name, s.t, uint32_t(s.hp * head));
  const int Y = b.symbol(out.y.name, s.t, uint32_t(s.hp * head));
  out.y_symbol = Y;
  const int C = b.symbol(out.cos.name, s.t, uint32_t(half));
  const int Sn = b.symbol(out.sin.name, s.t, uint32_t(half));
  const int T = b.symbol(e.name("tmp"), s.t, uint32_t(half));
  b.task(e.name("entry"), *entry, ir::TaskKind::local);
  b.begin_task(*entry);
  b.emit(Opcode::mdsd, {dsd(cs), ir::sym_op(C), imm(0), imm(half), imm(1)});
  b.emit(Opcode::mdsd, {dsd(sn), ir::sym_op(Sn), imm(0), imm(half), imm(1)});
  for (int64_t h = 0; h < s.hp; ++h) {
    const int32_t at = int32_t(h) * head;
    auto sym = [&](int dd, int symbol, int32_t off) {
      b.emit(Opcode::mdsd, {dsd(dd), ir::sym_op(symbol), imm(off), imm(half), imm(1)});
    };
    sym(x1, X, at);
    sym(x2, X, at + half);
    sym(y1, Y, at);
    sym(y2, Y, at + half);
    // y1 = x1·cos - x2·sin (y2 points at tmp for x2·sin), then y2 = x2·cos + x1·sin.
    b.emit(Opcode::vmul, {dsd(y1), dsd(x1), dsd(cs)});
    b.emit(Opcode::mdsd, {dsd(y2), ir::sym_op(T), imm(0), imm(half), imm(1)});
    b.emit(Opcode::vmul, {dsd(y2), dsd(x2), dsd(sn)});
    b.emit(Opcode::vsub, {dsd(y1), dsd(y1), dsd(y2)});
    sym(y2, Y, at + half);
    b.emit(Opcode::vmul, {dsd(y2), dsd(x2), dsd(cs)});
    b.emit(Opcode::vfma, {dsd(y2), dsd(x1), dsd(sn), dsd(y2)});
  }
  if (site.done_task >= 0) b.emit(Opcode::activate, {ir::task_op(site.done_task)});
  b.emit(Opcode::ret, {});
  out.entry = *entry;
  return out;
}

namespace {

}  // namespace

HostBytes rope_host_bytes(const KernelParams& p) {
  const uint64_t S = uint64_t(p.m ? p.m : 8 * p.grid_h), H = uint64_t(p.n ? p.n : p.grid_w), d = uint64_t(p.k ? p.k : 16);
  return {3 * S * H * d * sizeof(double), 3 * S * H * d * sizeof(double)};
}

Expected<KernelCase> build_rope(const arch::Arch& arch, const KernelParams& p, Stage stage) {
  auto shape = rope_shape(arch, p);
  if (!shape) return shape.status();
  const RopeShape s = *shape;
  const ir::Rect rect = p.rect();
  KernelCase kc = case_on(rect);
  Pools pools = Pools::for_arch(arch);
  CodeBuilder code("rope");
  Emit e{code, kc.program, pools, arch, ""};
  auto em = emit_rope(e, Site{rect, -1, -1}, RopeSpec{DistTensor{"X", s.t, s.S, s.heads * s.d, rect}, -1, s.heads, "Y"});
  if (!em) return em.status();
  close_case(kc, code, em->y.name);
  // Four roundings in the type: two products, then a difference or an FMA.
  kc.tolerance = 4 * unit_roundoff(s.t) + 1e-12;
  if (stage == Stage::program) return kc;
  const DType t = s.t;
  const uint64_t seed = p.seed;
  // X[token][head][c]; the tables of position p: cos(p·θ_k), θ_k = 10000^(-2k/d).
  auto x = [=](int64_t tok, int64_t h, int64_t c) { return round_to(t, random_value(seed, uint64_t((tok * s.heads + h) * s.d + c))); };
  auto angle = [=](int64_t tok, int64_t k) { return double(tok) * std::pow(10000.0, -2.0 * double(k) / double(s.d)); };
  // Blocks: per head, column-major over the PE's tokens (c-th column = sq contiguous tokens).
  auto block = [=](int px, int py, auto value) {
    std::vector<double> out;
    for (int64_t hh = 0; hh < s.hp; ++hh)
      for (int64_t c = 0; c < s.d; ++c)
        for (int64_t r = 0; r < s.sq; ++r) out.push_back(value(py * s.sq + r, px * s.hp + hh, c));
    return out;
  };
  auto table = [=](int py, bool sine) {
    std::vector<double> out;
    for (int64_t k = 0; k < s.d / 2; ++k)
      for (int64_t r = 0; r < s.sq; ++r) {
        const double a = angle(py * s.sq + r, k);
        out.push_back(round_to(t, sine ? std::sin(a) : std::cos(a)));
      }
    return out;
  };
  kc.inputs.push_back(HostCopy{"X", rect, {}, [=](int px, int py) { return block(px, py, x); }});
  kc.inputs.push_back(HostCopy{"cos", rect, {}, [=](int, int py) { return table(py, false); }});
  kc.inputs.push_back(HostCopy{"sin", rect, {}, [=](int, int py) { return table(py, true); }});
  for (int py = 0; py < rect.h; ++py) {
    for (int px = 0; px < rect.w; ++px) {
      const std::vector<double> c = table(py, false), sn = table(py, true);
      const auto ref = block(px, py, [&](int64_t tok, int64_t h, int64_t col) {
        const int64_t k = col % (s.d / 2), r = tok - py * s.sq;
        const double cv = c[size_t(k * s.sq + r)], sv = sn[size_t(k * s.sq + r)];
        const double x1 = x(tok, h, k), x2 = x(tok, h, k + s.d / 2);
        return col < s.d / 2 ? x1 * cv - x2 * sv : x2 * cv + x1 * sv;
      });
      kc.reference.insert(kc.reference.end(), ref.begin(), ref.end());
    }
  }
  return kc;
}

}  // namespace wafer::kernels
