// The interpreter that runs a move plan on every PE (move_plan.hpp), and the per-PE tables it
// reads.
//
// A table row is seven i32 fields, each field its own symbol (so one `ld` with the row index
// reads it): variant, len, count, off_a, step_a, off_b, step_b; thread 0's rows come first,
// thread 1's from row `most[0]`. The state symbol holds each thread's row, the repetitions
// done of its current row, and how many threads have not reached the current sync row. A
// thread task reads its row, advances the state (the repetition, or the next row), and issues
// the row's op asynchronously with itself as the op's completion task; the op's shape (which
// colors, which symbols) is a branch on the variant, emitted once per variant the plan uses.
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
  std::array<size_t, 2> most{1, 1};
  for (int py = 0; py < hull.h; ++py) {
    for (int px = 0; px < hull.w; ++px) {
      for (int th = 0; th < 2; ++th) most[size_t(th)] = std::max(most[size_t(th)], plan.rows(px, py, th).size());
    }
  }
  const size_t total = most[0] + most[1];
  ir::CodeBuilder& b = e.code;
  static const char* kFields[] = {"var", "len", "count", "off_a", "step_a", "off_b", "step_b"};
  std::array<int, 7> field{};
  for (size_t f = 0; f < 7; ++f) field[f] = b.symbol(e.name(fmt::format("move_{}", kFields[f])), DType::i32, uint32_t(total));
  const int state = b.symbol(e.name("move_state"), DType::i32, 5);  // row of each thread, repeats done, threads running

  auto tasks = e.pools.tasks.take(site.entry_task >= 0 ? 2 : 3, user);
  if (!tasks) return tasks.status();
  const int entry = site.entry_task >= 0 ? site.entry_task : (*tasks)[2];
  const std::array<int, 2> step{(*tasks)[0], (*tasks)[1]};
  auto regs = e.pools.regs.take(7, user);
  if (!regs) return regs.status();
  auto dsds = e.pools.dsds.take(2, user);
  if (!dsds) return dsds.status();
  const int P = (*regs)[0], V = (*regs)[1], K = (*regs)[2], A = (*regs)[3], B = (*regs)[4], N = (*regs)[5], S = (*regs)[6];
  const int da = (*dsds)[0], db = (*dsds)[1];

  b.task(e.name("entry"), entry, ir::TaskKind::local);
  b.begin_task(entry);
  b.emit(Opcode::st, {ir::sym_op(state), imm(0), imm(0)});
  b.emit(Opcode::st, {ir::sym_op(state), imm(1), imm(int32_t(most[0]))});
  b.emit(Opcode::st, {ir::sym_op(state), imm(2), imm(0)});
  b.emit(Opcode::st, {ir::sym_op(state), imm(3), imm(0)});
  b.emit(Opcode::st, {ir::sym_op(state), imm(4), imm(2)});
  if (prologue) WAFER_TRY(prologue(Held{*regs, *dsds}));
  b.emit(Opcode::activate, {ir::task_op(step[0])});
  b.emit(Opcode::activate, {ir::task_op(step[1])});
  b.emit(Opcode::ret, {});

  auto ld = [&](int r, int f, int idx_reg) { b.emit(Opcode::ld, {reg(r), ir::sym_op(field[size_t(f)]), reg(idx_reg)}); };
  for (int th = 0; th < 2; ++th) {
    b.task(e.name(fmt::format("move{}", th)), step[size_t(th)], ir::TaskKind::local);
    b.begin_task(step[size_t(th)]);
    const int sync = b.new_label(), same = b.new_label();
    b.emit(Opcode::ld, {reg(P), ir::sym_op(state), imm(th)});
    ld(V, 0, P);
    b.emit(Opcode::blt, {reg(V), imm(0), b.label(sync)});
    b.emit(Opcode::ld, {reg(K), ir::sym_op(state), imm(2 + th)});
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
    b.emit(Opcode::st, {ir::sym_op(state), imm(th), reg(P)});
    b.place(same);
    b.emit(Opcode::st, {ir::sym_op(state), imm(2 + th), reg(K)});
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
      b.emit_async(Opcode::vmov, {dsd(db), dsd(da)}, ir::OnDone::activate, step[size_t(th)]);
      b.emit(Opcode::ret, {});
      b.place(next);
    }
    b.emit(Opcode::ret, {});
    // A sync row: the thread waits for the other one; the last of them starts the next pass
    // or, after the last pass (a sync row with len 1), activates the done task.
    const int wait = b.new_label(), last = b.new_label();
    b.place(sync);
    b.emit(Opcode::add, {reg(P), reg(P), imm(1)});
    b.emit(Opcode::st, {ir::sym_op(state), imm(th), reg(P)});
    b.emit(Opcode::ld, {reg(S), ir::sym_op(state), imm(4)});
    b.emit(Opcode::sub, {reg(S), reg(S), imm(1)});
    b.emit(Opcode::st, {ir::sym_op(state), imm(4), reg(S)});
    b.emit(Opcode::bne, {reg(S), imm(0), b.label(wait)});
    b.emit(Opcode::st, {ir::sym_op(state), imm(4), imm(2)});
    b.emit(Opcode::sub, {reg(K), reg(P), imm(1)});
    ld(S, 1, K);
    b.emit(Opcode::bne, {reg(S), imm(0), b.label(last)});
    b.emit(Opcode::activate, {ir::task_op(step[0])});
    b.emit(Opcode::activate, {ir::task_op(step[1])});
    b.emit(Opcode::ret, {});
    b.place(last);
    if (site.done_task >= 0) b.emit(Opcode::activate, {ir::task_op(site.done_task)});
    b.place(wait);
    b.emit(Opcode::ret, {});
  }

  MoveCode out;
  out.entry = entry;
  out.held.regs = *regs;
  out.held.dsds = *dsds;
  out.table_bytes = int64_t(7 * total + 5) * 4;
  auto keep = std::make_shared<const MovePlan>(plan);
  const size_t base1 = most[0];
  for (size_t f = 0; f < 7; ++f) {
    out.tables.push_back(HostCopy{e.name(fmt::format("move_{}", kFields[f])), hull, {}, [keep, f, total, base1](int px, int py) {
      std::vector<double> v(total, f == 0 ? -1.0 : 0.0);
      for (int th = 0; th < 2; ++th) {
        const std::vector<MoveRow>& rows = keep->rows(px, py, th);
        for (size_t i = 0; i < rows.size(); ++i) {
          const MoveRow& r = rows[i];
          const int64_t last_sync = i + 1 == rows.size() ? 1 : 0;
          const int64_t vals[7] = {r.variant, r.variant < 0 ? last_sync : r.len, r.count, r.off_a, r.step_a, r.off_b, r.step_b};
          v[(th == 0 ? 0 : base1) + i] = double(vals[f]);
        }
      }
      return v;
    }});
  }
  return out;
}

}  // namespace wafer::kernels
