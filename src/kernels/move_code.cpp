// The interpreter that runs a move plan on every PE (move_plan.hpp), and the per-PE tables it
// reads.
//
// A table row is seven i32 fields, each field its own symbol (so one `ld` with the row index
// reads it): variant, len, count, off_a, step_a, off_b, step_b; the threads' rows follow one
// another (thread t's from row base[t]). The state symbol holds each thread's row, the
// repetitions done of its current row, how many threads have not reached the current sync
// row, and the flags of the wait and signal rows. A thread task reads its row, advances the state (the
// repetition, or the next row), and issues the row's op asynchronously with itself as the
// op's completion task; the op's shape (which colors, which symbols) is a branch on the
// variant, emitted once per variant the plan uses.
// All state lives in SRAM, so the registers are only scratch while a thread task runs.
#include <memory>

#include <fmt/format.h>

#include "move_plan.hpp"

namespace wafer::kernels {

using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

Expected<MoveCode> emit_move_code(Emit& e, const Site& site, const MovePlan& plan, const std::vector<int>& buffers,
                                  DType t, const std::function<Status(const Held&)>& prologue) {
  const std::string user = e.name("move");
  const ir::Rect hull = plan.hull();
  constexpr int T = kMoveThreads;
  std::array<size_t, T> most{}, base{};
  for (int py = 0; py < hull.h; ++py) {
    for (int px = 0; px < hull.w; ++px) {
      for (int th = 0; th < T; ++th) most[size_t(th)] = std::max(most[size_t(th)], plan.rows(px, py, th).size());
    }
  }
  size_t total = 0;
  for (int th = 0; th < T; ++th) {
    base[size_t(th)] = total;
    total += most[size_t(th)];
  }
  ir::CodeBuilder& b = e.code;
  static const char* kFields[] = {"var", "len", "count", "off_a", "step_a", "off_b", "step_b"};
  std::array<int, 7> field{};
  for (size_t f = 0; f < 7; ++f) field[f] = b.symbol(e.name(fmt::format("move_{}", kFields[f])), DType::i32, uint32_t(total));
  // The state: each thread's row (0..3) and repetitions done (4..7), the threads not yet at
  // the current sync row (8), whether each incoming thread has passed its signal row (9, 10)
  // and whether the sending thread before it waits for that (11, 12).
  enum : int32_t { kRow = 0, kRep = 4, kRunning = 8, kSignalled = 9, kWaiting = 11, kStateSize = 13 };
  const int state = b.symbol(e.name("move_state"), DType::i32, kStateSize);

  auto tasks = e.pools.tasks.take(site.entry_task >= 0 ? T : T + 1, user);
  if (!tasks) return tasks.status();
  const int entry = site.entry_task >= 0 ? site.entry_task : (*tasks)[size_t(T)];
  auto regs = e.pools.regs.take(7, user);
  if (!regs) return regs.status();
  auto dsds = e.pools.dsds.take(2, user);
  if (!dsds) return dsds.status();
  const int P = (*regs)[0], V = (*regs)[1], K = (*regs)[2], A = (*regs)[3], B = (*regs)[4], N = (*regs)[5], S = (*regs)[6];
  const int da = (*dsds)[0], db = (*dsds)[1];
  auto st = [&](int32_t idx, ir::Operand v) { b.emit(Opcode::st, {ir::sym_op(state), imm(idx), v}); };
  auto activate_all = [&]() {
    for (int th = 0; th < T; ++th) b.emit(Opcode::activate, {ir::task_op((*tasks)[size_t(th)])});
  };

  b.task(e.name("entry"), entry, ir::TaskKind::local);
  b.begin_task(entry);
  for (int th = 0; th < T; ++th) {
    st(kRow + th, imm(int32_t(base[size_t(th)])));
    st(kRep + th, imm(0));
  }
  st(kRunning, imm(T));
  for (int32_t i = kSignalled; i < kStateSize; ++i) st(i, imm(0));
  if (prologue) WAFER_TRY(prologue(Held{*regs, *dsds}));
  activate_all();
  b.emit(Opcode::ret, {});

  auto ld = [&](int r, int f, int idx_reg) { b.emit(Opcode::ld, {reg(r), ir::sym_op(field[size_t(f)]), reg(idx_reg)}); };
  for (int th = 0; th < T; ++th) {
    const int self = (*tasks)[size_t(th)], pair = th / 2;
    const bool sender = th % 2 == 0;
    b.task(e.name(fmt::format("move{}", th)), self, ir::TaskKind::local);
    b.begin_task(self);
    const int top = b.new_label(), sync = b.new_label(), wait = b.new_label(), same = b.new_label();
    b.place(top);
    b.emit(Opcode::ld, {reg(P), ir::sym_op(state), imm(kRow + th)});
    ld(V, 0, P);
    b.emit(Opcode::beq, {reg(V), imm(sender ? kWaitRow : kSignalRow), b.label(wait)});
    b.emit(Opcode::blt, {reg(V), imm(0), b.label(sync)});
    b.emit(Opcode::ld, {reg(K), ir::sym_op(state), imm(kRep + th)});
    for (auto [dst, off, stp] : {std::array<int, 3>{A, 3, 4}, std::array<int, 3>{B, 5, 6}}) {
      ld(dst, off, P);
      ld(S, stp, P);
      b.emit(Opcode::mul, {reg(S), reg(S), reg(K)});
      b.emit(Opcode::add, {reg(dst), reg(dst), reg(S)});
    }
    ld(N, 1, P);
    b.emit(Opcode::add, {reg(K), reg(K), imm(1)});
    ld(S, 2, P);
    b.emit(Opcode::blt, {reg(K), reg(S), b.label(same)});
    b.emit(Opcode::movi, {reg(K), imm(0)});
    b.emit(Opcode::add, {reg(P), reg(P), imm(1)});
    st(kRow + th, reg(P));
    b.place(same);
    st(kRep + th, reg(K));
    const auto& vs = plan.variants();
    for (size_t i = 0; i < vs.size(); ++i) {
      const MoveVariant& v = vs[i];
      if (v.thread != th) continue;
      const int next = b.new_label();
      b.emit(Opcode::bne, {reg(V), imm(int32_t(i)), b.label(next)});
      auto mem = [&](int d, int buf, int off) {
        b.emit(Opcode::mdsd, {dsd(d), ir::sym_op(buffers[size_t(buf)]), reg(off), reg(N), imm(1)});
      };
      auto fab = [&](int d, int c) { b.emit(Opcode::fdsd, {dsd(d), ir::color_op(c), reg(N), ir::dtype_op(t)}); };
      switch (v.op) {
        case MoveOp::send: mem(da, v.buf_a, A); fab(db, v.out_color); break;
        case MoveOp::recv: fab(da, v.in_color); mem(db, v.buf_a, A); break;
        case MoveOp::fwd: fab(da, v.in_color); fab(db, v.out_color); break;
        case MoveOp::copy: mem(da, v.buf_b, B); mem(db, v.buf_a, A); break;
      }
      b.emit_async(Opcode::vmov, {dsd(db), dsd(da)}, ir::OnDone::activate, self);
      b.emit(Opcode::ret, {});
      b.place(next);
    }
    b.emit(Opcode::ret, {});
    const int done = b.new_label();
    const int go = b.new_label();
    b.place(wait);
    if (sender) {  // a wait row: go on once the incoming thread has signalled, else be woken by it
      b.emit(Opcode::ld, {reg(S), ir::sym_op(state), imm(kSignalled + pair)});
      b.emit(Opcode::bne, {reg(S), imm(0), b.label(go)});
      st(kWaiting + pair, imm(1));
      b.emit(Opcode::ret, {});
    } else {       // a signal row: the last forward is done; wake the sending thread if it waits
      st(kSignalled + pair, imm(1));
      b.emit(Opcode::ld, {reg(S), ir::sym_op(state), imm(kWaiting + pair)});
      b.emit(Opcode::beq, {reg(S), imm(0), b.label(go)});
      st(kWaiting + pair, imm(0));
      b.emit(Opcode::activate, {ir::task_op((*tasks)[size_t(th - 1)])});
    }
    b.place(go);
    b.emit(Opcode::add, {reg(P), reg(P), imm(1)});
    st(kRow + th, reg(P));
    b.emit(Opcode::jmp, {b.label(top)});
    // A sync row: the last thread to reach it starts the next pass or, after the last pass
    // (a sync row with len 1), activates the done task.
    const int count = b.new_label(), last = b.new_label();
    b.place(sync);
    b.emit(Opcode::add, {reg(P), reg(P), imm(1)});
    st(kRow + th, reg(P));
    b.place(count);
    b.emit(Opcode::ld, {reg(S), ir::sym_op(state), imm(kRunning)});
    b.emit(Opcode::sub, {reg(S), reg(S), imm(1)});
    st(kRunning, reg(S));
    b.emit(Opcode::bne, {reg(S), imm(0), b.label(done)});
    st(kRunning, imm(T));
    st(kSignalled, imm(0));
    st(kSignalled + 1, imm(0));
    b.emit(Opcode::sub, {reg(K), reg(P), imm(1)});
    ld(S, 1, K);
    b.emit(Opcode::bne, {reg(S), imm(0), b.label(last)});
    activate_all();
    b.emit(Opcode::ret, {});
    b.place(last);
    if (site.done_task >= 0) b.emit(Opcode::activate, {ir::task_op(site.done_task)});
    b.place(done);
    b.emit(Opcode::ret, {});
  }

  MoveCode out;
  out.entry = entry;
  out.held.regs = *regs;
  out.held.dsds = *dsds;
  out.table_bytes = int64_t(7 * total + kStateSize) * 4;
  auto keep = std::make_shared<const MovePlan>(plan);
  for (size_t f = 0; f < 7; ++f) {
    out.tables.push_back(HostCopy{e.name(fmt::format("move_{}", kFields[f])), hull, {}, [keep, f, total, base](int px, int py) {
      std::vector<double> v(total, f == 0 ? double(kSyncRow) : 0.0);
      for (int th = 0; th < T; ++th) {
        const std::vector<MoveRow>& rows = keep->rows(px, py, th);
        for (size_t i = 0; i < rows.size(); ++i) {
          const MoveRow& r = rows[i];
          const int64_t last_sync = i + 1 == rows.size() ? 1 : 0;
          const int64_t vals[7] = {r.variant, r.variant == kSyncRow ? last_sync : r.len, r.count, r.off_a, r.step_a, r.off_b, r.step_b};
          v[base[size_t(th)] + i] = double(vals[f]);
        }
      }
      return v;
    }});
  }
  return out;
}

}  // namespace wafer::kernels
