// Move plans: pieces of holdings matched along lines, their streams, colors, routes and tables,
// and the interpreter every PE runs (see move_plan.hpp).
//
// Planning a line: every destination block takes each element from the nearest source PE of
// the line that has it (itself first, then distance 1 on both sides, ...), which turns a
// replicated source into local copies and a split one into the fewest moves. The pieces that
// go towards +x are then followed PE by PE: the stream into PE k is the stream out of k-1;
// PE k's stream out is its own outgoing pieces (by destination, nearest first) followed by the
// incoming ones that are not addressed to it. The rows of PE k's +x thread are exactly that:
// a send per own piece, then a receive or a forward per incoming piece (adjacent forwards
// merged into one op). The -x thread is the mirror image. A piece is one stream of elements,
// column by column of the piece; each end describes where those elements lie in its own
// memory, one run when they are contiguous there and one run per piece column otherwise, so
// a sender and its receiver may use different numbers of ops for the same piece.
#include "move_plan.hpp"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

namespace wafer::kernels {

using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

namespace {

struct Area {
  int64_t r0, r1, c0, c1;
  bool empty() const { return r1 <= r0 || c1 <= c0; }
};

Area area_of(const HeldBlock& b) { return {b.r0, b.r1, b.c0, b.c1}; }

Area intersect(const Area& a, const Area& b) {
  return {std::max(a.r0, b.r0), std::min(a.r1, b.r1), std::max(a.c0, b.c0), std::min(a.c1, b.c1)};
}

// a without b, as at most four rectangles.
std::vector<Area> subtract(const Area& a, const Area& b) {
  const Area i = intersect(a, b);
  if (i.empty()) return {a};
  std::vector<Area> out;
  if (a.c0 < i.c0) out.push_back({a.r0, a.r1, a.c0, i.c0});
  if (i.c1 < a.c1) out.push_back({a.r0, a.r1, i.c1, a.c1});
  if (a.r0 < i.r0) out.push_back({a.r0, i.r0, i.c0, i.c1});
  if (i.r1 < a.r1) out.push_back({i.r1, a.r1, i.c0, i.c1});
  return out;
}

// Where the elements of `a` (column by column) lie in block b's memory.
struct Span {
  int64_t len, count, off, step;
};
Span span(const HeldBlock& b, const Area& a) {
  const int64_t h = a.r1 - a.r0, w = a.c1 - a.c0, ld = b.rows();
  const int64_t off = b.base + (a.c0 - b.c0) * ld + (a.r0 - b.r0);
  if (h == ld || w == 1) return {h * w, 1, off, 0};
  return {h, w, off, ld};
}

const ir::PortMask kRamp = ir::port_bit(ir::Dir::ramp);

}  // namespace

Holding tensor_holding(const DistTensor& t, const ir::Rect& hull, int buf, int64_t row_shift, int64_t col_shift) {
  return [=](int px, int py) -> std::vector<HeldBlock> {
    const int ax = px + hull.x - t.rect.x, ay = py + hull.y - t.rect.y;
    if (ax < 0 || ay < 0 || ax >= t.rect.w || ay >= t.rect.h || !t.holds(ax, ay)) return {};
    const int64_t mb = t.block_rows(), nb = t.block_cols();
    const int64_t r0 = (t.rows_over_y == Spread::split ? ay * mb : 0) + row_shift;
    const int64_t c0 = (t.cols_over_x == Spread::split ? ax * nb : 0) + col_shift;
    return {HeldBlock{r0, r0 + mb, c0, c0 + nb, buf, 0}};
  };
}

struct MovePlan::Piece {
  int from, to;
  HeldBlock src, dst;
  Area area;
  int64_t size() const { return (area.r1 - area.r0) * (area.c1 - area.c0); }
};

MovePlan::MovePlan(const ir::Rect& hull, std::string user)
    : hull_(hull), user_(std::move(user)), rows_(size_t(hull.area())) {
  colors_.fill(-1);
}

const std::vector<MoveRow>& MovePlan::rows(int px, int py, int t) const {
  return rows_[size_t(py) * size_t(hull_.w) + size_t(px)][size_t(t)];
}

int MovePlan::variant(const MoveVariant& v) {
  auto [it, added] = variant_index_.emplace(v, int(variants_.size()));
  if (added) variants_.push_back(v);
  return it->second;
}

void MovePlan::route(int px, int py, int color, ir::PortMask rx, ir::PortMask tx) {
  auto [it, added] = routes_.emplace(std::make_tuple(color, py, px), std::make_pair(rx, tx));
  if (!added && it->second != std::make_pair(rx, tx)) conflict_ = true;
}

Expected<int> MovePlan::color(int kind, int parity, Pool& colors) {
  int& c = colors_[size_t(2 * kind + parity)];
  if (c < 0) {
    auto taken = colors.take(user_);
    if (!taken) return taken.status();
    c = *taken;
  }
  return c;
}

std::vector<int> MovePlan::colors() const {
  std::vector<int> out;
  for (int c : colors_) {
    if (c >= 0) out.push_back(c);
  }
  return out;
}

int64_t MovePlan::buffer_extent(int buf) const {
  auto it = extent_.find(buf);
  return it == extent_.end() ? 0 : it->second;
}

void MovePlan::end_pass() {
  for (auto& pe : rows_) {
    for (auto& thread : pe) thread.push_back(MoveRow{});
  }
  ++passes_;
}

Status MovePlan::line_pass(bool along_x, int line, int n, const std::vector<Piece>& pieces, Pool& colors) {
  auto rows_at = [&](int pos, int t) -> std::vector<MoveRow>& {
    const int px = along_x ? pos : line, py = along_x ? line : pos;
    return rows_[size_t(py) * size_t(hull_.w) + size_t(px)][size_t(t)];
  };
  auto note = [&](int buf, const Span& s) {
    int64_t& x = extent_[buf];
    x = std::max(x, s.off + (s.count - 1) * s.step + s.len);
  };
  auto add_row = [&](int pos, int t, const MoveVariant& v, const Span& a, const Span& b) {
    std::vector<MoveRow>& rows = rows_at(pos, t);
    const int vi = variant(v);
    if (v.op == MoveOp::fwd && !rows.empty() && rows.back().variant == vi) {
      rows.back().len += a.len;
      return;
    }
    rows.push_back(MoveRow{vi, a.len, a.count, a.off, a.step, b.off, b.step});
  };
  const Span none{0, 1, 0, 0};
  for (int dir : {1, -1}) {
    const int t = dir > 0 ? 0 : 1, kind = (along_x ? 0 : 2) + t;
    const ir::Dir out_dir = along_x ? (dir > 0 ? ir::Dir::east : ir::Dir::west) : (dir > 0 ? ir::Dir::south : ir::Dir::north);
    const ir::Dir in_dir = along_x ? (dir > 0 ? ir::Dir::west : ir::Dir::east) : (dir > 0 ? ir::Dir::north : ir::Dir::south);
    std::vector<const Piece*> stream;  // into the current PE
    for (int i = 0; i < n; ++i) {
      const int pos = dir > 0 ? i : n - 1 - i;
      std::vector<const Piece*> own;
      for (const Piece& p : pieces) {
        if (p.from == pos && (p.to - pos) * dir > 0) own.push_back(&p);
      }
      std::stable_sort(own.begin(), own.end(), [&](const Piece* a, const Piece* b) { return (a->to - b->to) * dir < 0; });
      std::vector<const Piece*> next = own;
      int in_color = -1, out_color = -1;
      if (!stream.empty()) {
        auto c = color(kind, std::min(pos, pos - dir) % 2, colors);
        if (!c) return c.status();
        in_color = *c;
      }
      for (const Piece* p : stream) {
        if (p->to != pos) next.push_back(p);
      }
      if (!next.empty()) {
        auto c = color(kind, std::min(pos, pos + dir) % 2, colors);
        if (!c) return c.status();
        out_color = *c;
        const int to = pos + dir;
        route(along_x ? pos : line, along_x ? line : pos, out_color, kRamp, ir::port_bit(out_dir));
        route(along_x ? to : line, along_x ? line : to, out_color, ir::port_bit(in_dir), kRamp);
        for (const Piece* p : next) wavelets_ += p->size();
      }
      for (const Piece* p : own) {
        const Span s = span(p->src, p->area);
        note(p->src.buf, s);
        add_row(pos, t, MoveVariant{MoveOp::send, -1, out_color, p->src.buf, -1, t}, s, none);
      }
      for (const Piece* p : stream) {
        if (p->to == pos) {
          const Span s = span(p->dst, p->area);
          note(p->dst.buf, s);
          add_row(pos, t, MoveVariant{MoveOp::recv, in_color, -1, p->dst.buf, -1, t}, s, none);
        } else {
          add_row(pos, t, MoveVariant{MoveOp::fwd, in_color, out_color, -1, -1, t}, Span{p->size(), 1, 0, 0}, none);
        }
      }
      stream = std::move(next);
    }
  }
  for (const Piece& p : pieces) {
    if (p.from != p.to) continue;
    Span d = span(p.dst, p.area), s = span(p.src, p.area);
    if (d.count != s.count) {  // one side is contiguous, the other not: one run per column for both
      const int64_t h = p.area.r1 - p.area.r0, w = p.area.c1 - p.area.c0;
      d = Span{h, w, d.off, p.dst.rows()};
      s = Span{h, w, s.off, p.src.rows()};
    }
    note(p.dst.buf, d);
    note(p.src.buf, s);
    add_row(p.from, 0, MoveVariant{MoveOp::copy, -1, -1, p.dst.buf, p.src.buf, 0}, d, s);
  }
  if (conflict_) return make_error("{}: two moves need different routes for one color on one PE (a planning bug)", user_);
  return Status::ok();
}

Status MovePlan::add_pass(bool along_x, const Holding& from, const Holding& to, Pool& colors) {
  const int lines = along_x ? hull_.h : hull_.w, n = along_x ? hull_.w : hull_.h;
  for (int line = 0; line < lines; ++line) {
    auto at = [&](const Holding& h, int pos) { return along_x ? h(pos, line) : h(line, pos); };
    std::vector<std::vector<HeldBlock>> src(static_cast<size_t>(n));
    for (int q = 0; q < n; ++q) src[size_t(q)] = at(from, q);
    std::vector<Piece> pieces;
    for (int p = 0; p < n; ++p) {
      for (const HeldBlock& d : at(to, p)) {
        if (d.empty()) continue;
        std::vector<Area> left{area_of(d)};
        for (int dist = 0; dist < n && !left.empty(); ++dist) {
          const int candidates[2] = {p - dist, p + dist};
          for (int k = 0; k < (dist == 0 ? 1 : 2); ++k) {
            const int q = candidates[k];
            if (q < 0 || q >= n) continue;
            for (const HeldBlock& s : src[size_t(q)]) {
              if (s.empty()) continue;
              std::vector<Area> rest;
              for (const Area& a : left) {
                const Area i = intersect(a, area_of(s));
                if (!i.empty()) pieces.push_back(Piece{q, p, s, d, i});
                for (const Area& r : subtract(a, area_of(s))) rest.push_back(r);
              }
              left = std::move(rest);
            }
          }
        }
        if (!left.empty()) {
          const int px = along_x ? p : line, py = along_x ? line : p;
          return make_error("{}: PE ({},{}) needs rows [{}, {}) x columns [{}, {}) that no PE of its {} holds", user_,
                            hull_.x + px, hull_.y + py, left[0].r0, left[0].r1, left[0].c0, left[0].c1,
                            along_x ? "row" : "column");
        }
      }
    }
    WAFER_TRY(line_pass(along_x, line, n, pieces, colors));
  }
  end_pass();
  return Status::ok();
}

Status MovePlan::add_broadcast(bool along_x, const Holding& what, Pool& colors) {
  const int lines = along_x ? hull_.h : hull_.w, n = along_x ? hull_.w : hull_.h;
  if (n >= 2) {
    auto c = color(4, along_x ? 0 : 1, colors);  // slots 8 and 9
    if (!c) return c.status();
    const ir::PortMask away = ir::port_bit(along_x ? ir::Dir::east : ir::Dir::south);
    const ir::PortMask toward = ir::port_bit(along_x ? ir::Dir::west : ir::Dir::north);
    for (int line = 0; line < lines; ++line) {
      for (const HeldBlock& b : along_x ? what(0, line) : what(line, 0)) {
        if (b.empty()) continue;
        const Span s{b.rows() * b.cols(), 1, b.base, 0};
        const MoveRow row{0, s.len, 1, s.off, 0, 0, 0};
        for (int pos = 0; pos < n; ++pos) {
          const int px = along_x ? pos : line, py = along_x ? line : pos;
          const MoveOp op = pos == 0 ? MoveOp::send : MoveOp::recv;
          MoveRow r = row;
          r.variant = variant(MoveVariant{op, pos == 0 ? -1 : *c, pos == 0 ? *c : -1, b.buf, -1, 0});
          rows_[size_t(py) * size_t(hull_.w) + size_t(px)][0].push_back(r);
          route(px, py, *c, pos == 0 ? kRamp : toward,
                pos == 0 ? away : pos == n - 1 ? kRamp : ir::PortMask(kRamp | away));
        }
        extent_[b.buf] = std::max(extent_[b.buf], s.off + s.len);
        wavelets_ += s.len * (n - 1);
      }
    }
    if (conflict_) return make_error("{}: two moves need different routes for one color on one PE (a planning bug)", user_);
  }
  end_pass();
  return Status::ok();
}

void MovePlan::add_routes(ir::Program& p) const {
  // Runs along x of equal routes, then equal runs stacked along y.
  struct Run {
    int color, x, w;
    ir::PortMask rx, tx;
    auto key() const { return std::make_tuple(color, x, w, rx, tx); }
  };
  std::map<std::tuple<int, int, int, ir::PortMask, ir::PortMask>, std::vector<int>> stacked;  // -> ys
  for (auto it = routes_.begin(); it != routes_.end();) {
    const auto [color, py, px] = it->first;
    Run run{color, px, 1, it->second.first, it->second.second};
    auto next = std::next(it);
    while (next != routes_.end() && std::get<0>(next->first) == color && std::get<1>(next->first) == py &&
           std::get<2>(next->first) == run.x + run.w && next->second == it->second) {
      ++run.w;
      ++next;
    }
    stacked[run.key()].push_back(py);
    it = next;
  }
  for (const auto& [key, ys] : stacked) {
    const auto [color, x, w, rx, tx] = key;
    for (size_t i = 0; i < ys.size();) {
      size_t j = i + 1;
      while (j < ys.size() && ys[j] == ys[j - 1] + 1) ++j;
      ir::add_route(p, ir::Rect{hull_.x + x, hull_.y + ys[i], w, int(j - i)}, color, rx, tx);
      i = j;
    }
  }
}

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
