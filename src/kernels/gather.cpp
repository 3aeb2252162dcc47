// The embedding lookup out[t, :] = table[ids[t], :] over a rectangle of PEs (gather.hpp,
// docs/kernels.md, "Gather (embedding lookup)"): the emitter, and the registered kernel that
// runs it alone with a seeded table and ids and checks it exactly against the rows of the
// table as the machine holds them.
//
// Each PE walks the T ids once with a scalar loop (load the id, fold a negative one, test it
// against its PE row's vocabulary range) and issues one asynchronous copy of Db elements per
// token, from its table block or from a zero row; the last token's copy starts the column sum
// into row 0. The loop's last iteration is peeled so that only that copy activates the next
// step.
#include "wafer/kernels/gather.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "colsum.hpp"
#include "kernel_util.hpp"

namespace wafer::kernels {

using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

namespace {

struct GatherShape {
  int64_t V, T, Vb, Db;
  bool padded;  // H·Vb > V: the last PE row holds padding rows
};

GatherShape gather_shape(const GatherSpec& s, int w, int h) {
  const int64_t vb = (s.vocab + h - 1) / h;
  return {s.vocab, s.tokens, vb, s.hidden / w, vb * h > s.vocab};
}

// What one token's code uses: symbols and registers.
struct TokenLoop {
  int table, ids, zero, out;  // symbols
  int lo, t, id, off, doff;   // registers: the PE row's first vocabulary row, the token, ...
  int d_src, d_dst;           // DSD registers
};

// One token: id = ids[t] (+ V when negative); d_src = its row's slice when the PE row holds
// it, else the zero row; then the copy into out[t, :] (doff = t·Db).
void emit_token(ir::CodeBuilder& b, const GatherShape& g, const TokenLoop& r, ir::OnDone on, int task) {
  const int folded = b.new_label(), zero = b.new_label(), copy = b.new_label();
  const int32_t db = int32_t(g.Db);
  b.emit(Opcode::ld, {reg(r.id), ir::sym_op(r.ids), reg(r.t)});
  b.emit(Opcode::bge, {reg(r.id), imm(0), b.label(folded)});
  b.emit(Opcode::add, {reg(r.id), reg(r.id), imm(int32_t(g.V))});
  b.place(folded);
  b.emit(Opcode::sub, {reg(r.off), reg(r.id), reg(r.lo)});
  b.emit(Opcode::blt, {reg(r.off), imm(0), b.label(zero)});
  b.emit(Opcode::bge, {reg(r.off), imm(int32_t(g.Vb)), b.label(zero)});
  if (g.padded) b.emit(Opcode::bge, {reg(r.id), imm(int32_t(g.V)), b.label(zero)});
  b.emit(Opcode::mul, {reg(r.off), reg(r.off), imm(db)});
  b.emit(Opcode::mdsd, {dsd(r.d_src), ir::sym_op(r.table), reg(r.off), imm(db), imm(1)});
  b.emit(Opcode::jmp, {b.label(copy)});
  b.place(zero);
  b.emit(Opcode::mdsd, {dsd(r.d_src), ir::sym_op(r.zero), imm(0), imm(db), imm(1)});
  b.place(copy);
  b.emit(Opcode::mdsd, {dsd(r.d_dst), ir::sym_op(r.out), reg(r.doff), imm(db), imm(1)});
  b.emit_async(Opcode::vmov, {dsd(r.d_dst), dsd(r.d_src)}, on, task);
}

}  // namespace

int64_t gather_data_bytes(const GatherSpec& s, int w, int h) {
  const GatherShape g = gather_shape(s, w, h);
  return (g.Vb * g.Db + g.Db + g.T * g.Db) * dtype_bytes(s.dtype) + g.T * 4;
}

Expected<GatherEmitted> emit_gather(Emit& e, const Site& site, const GatherSpec& s) {
  const std::string user = e.name("gather");
  const ir::Rect rect = site.rect;
  if (!dtype_is_float(s.dtype)) return make_error("{}: takes an fp32, fp16 or bf16 table (got {})", user, dtype_name(s.dtype));
  constexpr int64_t kMaxVocab = std::numeric_limits<int32_t>::max();
  if (s.vocab < 1 || s.vocab > kMaxVocab)
    return make_error("{}: a vocabulary of {} rows is out of range (1..{}: ids are int32)", user, s.vocab, kMaxVocab);
  if (s.tokens < 1) return make_error("{}: needs at least one token id (got {})", user, s.tokens);
  const GatherShape g = gather_shape(s, rect.w, rect.h);

  GatherEmitted out;
  out.table = DistTensor{e.name("table"), s.dtype, g.Vb * rect.h, s.hidden, rect, Spread::split, Spread::split, false};
  out.ids = DistTensor{e.name("ids"), DType::i32, g.T, 1, rect, Spread::replicate, Spread::replicate, false};
  out.out = DistTensor{e.name(s.out), s.dtype, g.T, s.hidden, rect, Spread::first, Spread::split, false};
  WAFER_TRY(check_layout(out.table, e.program.width, e.program.height));
  WAFER_TRY(check_layout(out.out, e.program.width, e.program.height));
  out.data_bytes = gather_data_bytes(s, rect.w, rect.h);

  ir::CodeBuilder& b = e.code;
  TokenLoop r{};
  r.table = s.table_symbol >= 0 ? s.table_symbol : b.symbol(out.table.name, s.dtype, uint32_t(out.table.block_elements()));
  r.ids = s.ids_symbol >= 0 ? s.ids_symbol : b.symbol(out.ids.name, DType::i32, uint32_t(g.T));
  r.zero = b.symbol(e.name("zero"), s.dtype, uint32_t(g.Db));
  r.out = b.symbol(out.out.name, s.dtype, uint32_t(out.out.block_elements()));

  auto tasks = e.pools.tasks.take(site.entry_task >= 0 ? 1 : 2, user);
  if (!tasks) return tasks.status();
  const int summed = (*tasks)[0];
  const int entry = site.entry_task >= 0 ? site.entry_task : (*tasks)[1];
  auto regs = e.pools.regs.take(5, user);
  if (!regs) return regs.status();
  auto dsds = e.pools.dsds.take(2, user);
  if (!dsds) return dsds.status();
  r.lo = (*regs)[0], r.t = (*regs)[1], r.id = (*regs)[2], r.off = (*regs)[3], r.doff = (*regs)[4];
  r.d_src = (*dsds)[0], r.d_dst = (*dsds)[1];

  b.task(e.name("entry"), entry, ir::TaskKind::local);
  b.begin_task(entry);
  auto rc = emit_rel_coords(e, rect, user);
  if (!rc) return rc.status();
  b.emit(Opcode::mul, {reg(r.lo), reg(rc->ry), imm(int32_t(g.Vb))});
  b.emit(Opcode::movi, {reg(r.t), imm(0)});
  b.emit(Opcode::movi, {reg(r.doff), imm(0)});
  if (g.T > 1) {
    const int loop = b.new_label();
    b.place(loop);
    emit_token(b, g, r, ir::OnDone::none, -1);
    b.emit(Opcode::add, {reg(r.doff), reg(r.doff), imm(int32_t(g.Db))});
    b.emit(Opcode::add, {reg(r.t), reg(r.t), imm(1)});
    b.emit(Opcode::blt, {reg(r.t), imm(int32_t(g.T - 1)), b.label(loop)});
  }
  emit_token(b, g, r, ir::OnDone::activate, summed);
  b.emit(Opcode::ret, {});

  b.task(e.name("sum"), summed, ir::TaskKind::local);
  b.begin_task(summed);
  WAFER_TRY(emit_column_sum(e, rect, r.out, uint32_t(out.out.block_elements()), s.dtype, rc->ry, site.done_task, user));
  b.emit(Opcode::ret, {});

  out.entry = entry;
  out.held.regs = *regs;
  out.held.regs.push_back(rc->rx);
  out.held.regs.push_back(rc->ry);
  out.held.dsds = *dsds;
  return out;
}

Status check_token_ids(const std::vector<int64_t>& ids, int64_t vocab) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < -vocab || ids[i] >= vocab)
      return make_error("token id {} at position {} is outside [-{}, {}) for a vocabulary of {} rows", ids[i], i,
                        vocab, vocab, vocab);
  }
  return Status::ok();
}

std::vector<int64_t> default_token_ids(int64_t vocab, int64_t tokens, uint64_t seed) {
  const int64_t edges[] = {0, vocab - 1, -1, -vocab};
  std::vector<int64_t> ids(static_cast<size_t>(tokens));
  for (int64_t t = 0; t < tokens; ++t) {
    const double u = random_value(seed + 3, uint64_t(t), double(-vocab), double(vocab));
    ids[size_t(t)] = t < 4 ? edges[t] : std::min(vocab - 1, int64_t(std::floor(u)));
  }
  return ids;
}

// ---- The registered kernel ----

namespace {

GatherSpec gather_spec(const KernelParams& p) {
  GatherSpec s;
  s.dtype = p.dtype;
  s.tokens = p.m ? p.m : 16;
  s.hidden = p.n ? p.n : 4 * int64_t(p.grid_w);
  s.vocab = p.k ? p.k : 16 * int64_t(p.grid_h);
  return s;
}

}  // namespace

HostBytes gather_host_bytes(const KernelParams& p) {
  const GatherSpec s = gather_spec(p);
  // The reference and the output read back (T·D doubles each), the ids (as integers and as
  // the doubles the host copies).
  const uint64_t kept = (2 * uint64_t(s.tokens) * uint64_t(s.hidden) + 2 * uint64_t(s.tokens)) * sizeof(double);
  return {kept, kept};
}

KernelParams scale_gather_sizes(const KernelParams& p, double f) {
  const GatherSpec s = gather_spec(p);
  KernelParams q = p;
  q.m = std::max<int64_t>(1, int64_t(double(s.tokens) * f));
  return q;
}

Expected<KernelCase> build_gather_case(const arch::Arch& arch, const KernelParams& p, Stage stage,
                                       const std::vector<int64_t>* given_ids) {
  WAFER_TRY(check_grid(arch, p));
  if (!dtype_is_float(p.dtype)) return make_error("takes fp32, fp16 or bf16 (got {})", dtype_name(p.dtype));
  const GatherSpec spec = gather_spec(p);
  const ir::Rect rect = p.rect();
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(arch);
  ir::CodeBuilder code("gather");
  Emit e{code, kc.program, pools, arch, ""};
  auto em = emit_gather(e, Site{rect, -1, -1}, spec);
  if (!em) return em.status();
  if (em->data_bytes > arch.sram_bytes - 4096) {
    return make_error("a {}x{} table block, {} ids and a {}x{} output block per PE need {} bytes of SRAM, but the "
                      "arch has {} per PE (leave 4096 for code); use more PE rows (they split the vocabulary) or "
                      "columns (they split the hidden size), or fewer tokens",
                      em->table.block_rows(), em->table.block_cols(), spec.tokens, em->out.block_rows(),
                      em->out.block_cols(), em->data_bytes, arch.sram_bytes);
  }
  std::vector<int64_t> ids = given_ids ? *given_ids : default_token_ids(spec.vocab, spec.tokens, p.seed);
  if (int64_t(ids.size()) != spec.tokens)
    return make_error("{} token ids given for {} tokens", ids.size(), spec.tokens);
  WAFER_TRY(check_token_ids(ids, spec.vocab));
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});
  kc.rect = rect;
  kc.launch_task = "entry";
  kc.result_symbol = em->out.name;
  kc.result_rect = em->out.holders();
  kc.tolerance = 0;  // a copy: exact
  if (stage == Stage::program) return kc;

  const DType t = spec.dtype;
  const int64_t V = spec.vocab, D = spec.hidden;
  const ElementFn table = [t, V, D, seed = p.seed](int64_t row, int64_t col) {
    return row < V ? round_to(t, random_value(seed, uint64_t(row * D + col))) : 0.0;
  };
  const DistTensor tt = em->table;
  kc.inputs.push_back(HostCopy{tt.name, rect, {}, [tt, table](int px, int py) { return block_values(tt, px, py, table); }});
  const std::vector<double> id_values(ids.begin(), ids.end());
  kc.inputs.push_back(HostCopy{em->ids.name, rect, {}, [id_values](int, int) { return id_values; }});

  const DistTensor ot = em->out;
  const ElementFn looked_up = [&](int64_t token, int64_t col) { return table(token_row(ids[size_t(token)], V), col); };
  kc.reference.reserve(size_t(ot.block_elements() * rect.w));
  for (int px = 0; px < rect.w; ++px) {
    const auto v = block_values(ot, px, 0, looked_up);
    kc.reference.insert(kc.reference.end(), v.begin(), v.end());
  }
  return kc;
}

Expected<KernelCase> build_gather(const arch::Arch& a, const KernelParams& p, Stage s) {
  return build_gather_case(a, p, s, nullptr);
}

}  // namespace wafer::kernels
