// Move plans: pieces of holdings matched along lines, their streams, colors, routes and table
// rows (see move_plan.hpp; the interpreter that runs the rows is move_code.cpp).
//
// Planning a line: every destination block takes each element from the nearest source PE of
// the line that has it (itself first, then distance 1 on both sides, ...), which turns a
// replicated source into local copies and a split one into the fewest moves. The pieces that
// go towards +x are then followed PE by PE: the stream into PE k is the stream out of k-1;
// PE k's stream out is the incoming pieces that are not addressed to it, in arrival order,
// followed by its own outgoing pieces (by destination, nearest first). PE k's incoming thread
// gets a receive or a forward per incoming piece (adjacent forwards merged into one op) and a
// signal row after the last forward; its sending thread a wait row (when there are forwards)
// and a send per own piece. The -x threads are the mirror image. A piece is one stream of
// elements, column by column of the piece; each end describes where those elements lie in its
// own memory, one run when they are contiguous there and one run per piece column otherwise,
// so a sender and its receiver may use different numbers of ops for the same piece.
#include "move_plan.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace wafer::kernels {

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
  std::vector<std::vector<const Piece*>> by_source(static_cast<size_t>(n));
  for (const Piece& p : pieces) by_source[size_t(p.from)].push_back(&p);
  for (int dir : {1, -1}) {
    // Thread `sender` sends the PE's own pieces, thread `in` takes the incoming stream. A link
    // carries what the PE forwards first, then its own pieces, so the sender waits (a wait
    // row) for the incoming thread's signal row after its last forward.
    const int sender = dir > 0 ? 0 : 2, in = sender + 1, kind = (along_x ? 0 : 2) + (dir > 0 ? 0 : 1);
    const ir::Dir out_dir = along_x ? (dir > 0 ? ir::Dir::east : ir::Dir::west) : (dir > 0 ? ir::Dir::south : ir::Dir::north);
    const ir::Dir in_dir = along_x ? (dir > 0 ? ir::Dir::west : ir::Dir::east) : (dir > 0 ? ir::Dir::north : ir::Dir::south);
    std::vector<const Piece*> stream;  // into the current PE
    for (int i = 0; i < n; ++i) {
      const int pos = dir > 0 ? i : n - 1 - i;
      std::vector<const Piece*> own;
      for (const Piece* p : by_source[size_t(pos)]) {
        if ((p->to - pos) * dir > 0) own.push_back(p);
      }
      std::stable_sort(own.begin(), own.end(), [&](const Piece* a, const Piece* b) { return (a->to - b->to) * dir < 0; });
      std::vector<const Piece*> next;
      int in_color = -1, out_color = -1;
      if (!stream.empty()) {
        auto c = color(kind, std::min(pos, pos - dir) % 2, colors);
        if (!c) return c.status();
        in_color = *c;
      }
      for (const Piece* p : stream) {
        if (p->to != pos) next.push_back(p);
      }
      const bool forwards = !next.empty();
      next.insert(next.end(), own.begin(), own.end());
      if (!next.empty()) {
        auto c = color(kind, std::min(pos, pos + dir) % 2, colors);
        if (!c) return c.status();
        out_color = *c;
        const int to = pos + dir;
        route(along_x ? pos : line, along_x ? line : pos, out_color, kRamp, ir::port_bit(out_dir));
        route(along_x ? to : line, along_x ? line : to, out_color, ir::port_bit(in_dir), kRamp);
        for (const Piece* p : next) wavelets_ += p->size();
      }
      if (forwards && !own.empty()) rows_at(pos, sender).push_back(MoveRow{kWaitRow});
      for (const Piece* p : own) {
        const Span s = span(p->src, p->area);
        note(p->src.buf, s);
        add_row(pos, sender, MoveVariant{MoveOp::send, -1, out_color, p->src.buf, -1, sender}, s, none);
      }
      size_t left = 0;  // forwards still to come
      for (const Piece* p : stream) left += p->to != pos;
      for (const Piece* p : stream) {
        if (p->to == pos) {
          const Span s = span(p->dst, p->area);
          note(p->dst.buf, s);
          add_row(pos, in, MoveVariant{MoveOp::recv, in_color, -1, p->dst.buf, -1, in}, s, none);
          continue;
        }
        add_row(pos, in, MoveVariant{MoveOp::fwd, in_color, out_color, -1, -1, in}, Span{p->size(), 1, 0, 0}, none);
        if (--left == 0 && !own.empty()) rows_at(pos, in).push_back(MoveRow{kSignalRow});
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
    add_row(p.from, 1, MoveVariant{MoveOp::copy, -1, -1, p.dst.buf, p.src.buf, 1}, d, s);
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
          r.variant = variant(MoveVariant{op, pos == 0 ? -1 : *c, pos == 0 ? *c : -1, b.buf, -1, pos == 0 ? 0 : 1});
          rows_[size_t(py) * size_t(hull_.w) + size_t(px)][pos == 0 ? 0 : 1].push_back(r);
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

}  // namespace wafer::kernels
