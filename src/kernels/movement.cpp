// The data-movement emitters (movement.hpp): each states what its input and its output hold
// on every PE (Holdings) and lets a MovePlan find the pieces, streams and routes; the plan's
// interpreter is emitted once per kernel. The transpose adds its local block transpose as the
// interpreter's prologue. Views (aligned slices, replicate -> first, unchanged layouts) emit
// only an entry that activates the done task.
#include "wafer/kernels/movement.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "move_plan.hpp"

namespace wafer::kernels {

using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

namespace {

bool same_rect(const ir::Rect& a, const ir::Rect& b) { return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h; }

std::string rect_text(const ir::Rect& r) { return fmt::format("{}x{} PEs at ({},{})", r.w, r.h, r.x, r.y); }

Status check_site(const std::string& user, const Site& site, const ir::Rect& want, const std::string& why) {
  if (same_rect(site.rect, want)) return Status::ok();
  return make_error("{}: runs on {} but {} needs {}", user, rect_text(site.rect), why, rect_text(want));
}

Status check_input(const std::string& user, const DistTensor& t, const Emit& e) {
  if (!t.col_major) return make_error("{}: {} must have column-major blocks", user, t.describe());
  return check_layout(t, e.program.width, e.program.height);
}

int symbol_of(Emit& e, const DistTensor& t, int given) {
  return given >= 0 ? given : e.code.symbol(t.name, t.dtype, uint32_t(t.block_elements()));
}

// An entry task that only activates the done task: the result is a view of the input.
Expected<MoveEmitted> emit_view(Emit& e, const Site& site, const std::string& user, const DistTensor& x, int x_symbol,
                                DistTensor y) {
  const int xs = symbol_of(e, x, x_symbol);
  int entry = site.entry_task;
  if (entry < 0) {
    auto t = e.pools.tasks.take(user);
    if (!t) return t.status();
    entry = *t;
  }
  e.code.task(e.name("entry"), entry, ir::TaskKind::local);
  e.code.begin_task(entry);
  if (site.done_task >= 0) e.code.emit(Opcode::activate, {ir::task_op(site.done_task)});
  e.code.emit(Opcode::ret, {});
  MoveEmitted out;
  out.entry = entry;
  out.y = std::move(y);
  out.y_symbol = xs;
  out.view = true;
  return out;
}

// Emits the plan's code with `buffers` (the code's symbols by plan buffer), declaring the
// staging buffers (those given as -1) with the plan's extent, and fills in the result.
Expected<MoveEmitted> emit_plan(Emit& e, const Site& site, MovePlan& plan, std::vector<int> buffers,
                                const std::vector<std::string>& staging_names, DType t, DistTensor y, int y_symbol,
                                const std::function<Status(const Held&)>& prologue = {}) {
  MoveEmitted out;
  size_t staged = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (buffers[i] >= 0) continue;
    const int64_t n = std::max<int64_t>(1, plan.buffer_extent(int(i)));
    buffers[i] = e.code.symbol(e.name(staging_names[staged++]), t, uint32_t(n));
    out.data_bytes += n * dtype_bytes(t);
  }
  plan.add_routes(e.program);
  auto code = emit_move_code(e, site, plan, buffers, t, prologue);
  if (!code) return code.status();
  out.entry = code->entry;
  out.held = code->held;
  out.tables = std::move(code->tables);
  out.data_bytes += code->table_bytes;
  out.wavelets = plan.wavelets();
  out.y = std::move(y);
  out.y_symbol = y_symbol;
  return out;
}

int declare(Emit& e, const DistTensor& t) {
  return e.code.symbol(t.name, t.dtype, uint32_t(t.block_elements()));
}

Holding both(Holding a, Holding b) {
  return [a, b](int px, int py) {
    std::vector<HeldBlock> v = a(px, py), w = b(px, py);
    v.insert(v.end(), w.begin(), w.end());
    return v;
  };
}

const char* axis_word(MoveAxis a) { return a == MoveAxis::cols ? "columns" : "rows"; }

}  // namespace

Expected<MoveEmitted> emit_transpose(Emit& e, const Site& site, const TransposeSpec& s) {
  const std::string user = e.name("transpose");
  const DistTensor& x = s.x;
  WAFER_TRY(check_input(user, x, e));
  if (x.rows_over_y != Spread::split || x.cols_over_x != Spread::split)
    return make_error("{}: {} must have rows split over y and columns over x", user, x.describe());
  WAFER_TRY(check_site(user, site, x.rect, x.describe()));
  const ir::Rect rect = x.rect;
  const int W = rect.w, H = rect.h;
  if (x.rows % W != 0 || x.cols % H != 0) {
    return make_error("{}: the transpose of {} splits its {} rows over the {} PE columns and its {} columns over the "
                      "{} PE rows of {}, which do not divide evenly",
                      user, x.describe(), x.rows, W, x.cols, H, rect_text(rect));
  }
  const DistTensor y{e.name(s.y), x.dtype, x.cols, x.rows, rect, Spread::split, Spread::split, true};
  const int64_t mb = x.block_rows(), nb = x.block_cols(), rw = x.rows / W;
  // In Y's index space (C x R): buffers 0 x, 1 the transposed block, 2 the staging, 3 y.
  const Holding t_hold = [=](int px, int py) {
    return std::vector<HeldBlock>{{px * nb, (px + 1) * nb, py * mb, (py + 1) * mb, 1, 0}};
  };
  // The staging: the Y columns that both the PE row's blocks and the PE column's Y blocks
  // span, all C rows, as one block per source column of PEs (contiguous pieces at both ends
  // when the grid is square).
  const Holding stage = [=](int px, int py) {
    const int64_t c0 = std::max(py * mb, px * rw), c1 = std::min((py + 1) * mb, (px + 1) * rw);
    std::vector<HeldBlock> v;
    for (int q = 0; c1 > c0 && q < W; ++q) v.push_back({q * nb, (q + 1) * nb, c0, c1, 2, q * nb * (c1 - c0)});
    return v;
  };
  MovePlan plan(rect, user);
  WAFER_TRY(plan.add_pass(true, t_hold, stage, e.pools.colors));
  WAFER_TRY(plan.add_pass(false, stage, tensor_holding(y, rect, 3), e.pools.colors));
  const int xs = symbol_of(e, x, s.x_symbol);
  const int ts = e.code.symbol(e.name("xt"), x.dtype, uint32_t(mb * nb));
  const int ys = e.code.symbol(y.name, x.dtype, uint32_t(y.block_elements()));
  // The local transpose: xt (nb x mb, column-major) = the block transposed, in min(mb, nb)
  // strided copies (a column of x is a row of xt, or a row of x a column of xt).
  auto local = [&, xs, ts](const Held& h) {
    ir::CodeBuilder& b = e.code;
    const int i = h.regs[0], j = h.regs[1], da = h.dsds[0], db = h.dsds[1];
    const bool by_column = nb <= mb;
    const int64_t ops = by_column ? nb : mb, len = by_column ? mb : nb;
    b.emit(Opcode::movi, {reg(i), imm(0)});
    b.emit(Opcode::movi, {reg(j), imm(0)});
    const int loop = b.new_label();
    b.place(loop);
    if (by_column) {  // x column j (contiguous) -> xt row j (stride nb)
      b.emit(Opcode::mdsd, {dsd(da), ir::sym_op(xs), reg(i), imm(int32_t(mb)), imm(1)});
      b.emit(Opcode::mdsd, {dsd(db), ir::sym_op(ts), reg(j), imm(int32_t(mb)), imm(int32_t(nb))});
    } else {          // x row j (stride mb) -> xt column j (contiguous)
      b.emit(Opcode::mdsd, {dsd(da), ir::sym_op(xs), reg(j), imm(int32_t(nb)), imm(int32_t(mb))});
      b.emit(Opcode::mdsd, {dsd(db), ir::sym_op(ts), reg(i), imm(int32_t(nb)), imm(1)});
    }
    b.emit(Opcode::vmov, {dsd(db), dsd(da)});
    b.emit(Opcode::add, {reg(i), reg(i), imm(int32_t(len))});
    b.emit(Opcode::add, {reg(j), reg(j), imm(1)});
    b.emit(Opcode::blt, {reg(j), imm(int32_t(ops)), b.label(loop)});
    return Status::ok();
  };
  auto out = emit_plan(e, site, plan, {xs, ts, -1, ys}, {"stage"}, x.dtype, y, ys, local);
  if (!out) return out.status();
  out->data_bytes += (mb * nb + y.block_elements()) * dtype_bytes(x.dtype);
  return out;
}

ir::Rect relayout_rect(const RelayoutSpec& s) {
  const ir::Rect& r = s.x.rect;
  return ir::bounding(r, {r.x + s.dx, r.y + s.dy, r.w, r.h});
}

Expected<MoveEmitted> emit_relayout(Emit& e, const Site& site, const RelayoutSpec& s) {
  const std::string user = e.name("relayout");
  const DistTensor& x = s.x;
  WAFER_TRY(check_input(user, x, e));
  DistTensor y = x;
  y.name = e.name(s.y);
  y.rows_over_y = s.rows_over_y;
  y.cols_over_x = s.cols_over_x;
  const bool rows_change = y.rows_over_y != x.rows_over_y, cols_change = y.cols_over_x != x.cols_over_x;
  if (s.dx != 0 || s.dy != 0) {
    if (rows_change || cols_change)
      return make_error("{}: {} either moves by ({},{}) or changes its layout, not both", user, x.describe(), s.dx, s.dy);
    const ir::Rect hull = relayout_rect(s);
    WAFER_TRY(check_site(user, site, hull, fmt::format("moving {} by ({},{})", x.describe(), s.dx, s.dy)));
    y.rect.x += s.dx;
    y.rect.y += s.dy;
    if (hull.x < 0 || hull.y < 0 || int64_t(hull.x) + hull.w > e.program.width ||
        int64_t(hull.y) + hull.h > e.program.height) {
      return make_error("{}: moving {} by ({},{}) leaves the {}x{} program", user, x.describe(), s.dx, s.dy,
                        e.program.width, e.program.height);
    }
    // Steps: one pass per axis when the move is at least the rectangle's extent (every block
    // crosses its edge: the edge's links are the bound), else |d| one-PE passes, a systolic
    // shift through two staging buffers (1, 2) in turn; the last step writes y (3).
    std::vector<std::pair<bool, int>> steps;
    for (auto [along_x, d, extent] : {std::tuple{true, s.dx, x.rect.w}, std::tuple{false, s.dy, x.rect.h}}) {
      if (std::abs(d) >= extent) steps.push_back({along_x, d});
      for (int i = 0; d != 0 && i < std::abs(d) && std::abs(d) < extent; ++i) steps.push_back({along_x, d > 0 ? 1 : -1});
    }
    MovePlan plan(hull, user);
    DistTensor cur = x;
    int cur_buf = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
      DistTensor next = cur;
      (steps[i].first ? next.rect.x : next.rect.y) += steps[i].second;
      const int next_buf = i + 1 == steps.size() ? 3 : 1 + int(i % 2);
      WAFER_TRY(plan.add_pass(steps[i].first, tensor_holding(cur, hull, cur_buf), tensor_holding(next, hull, next_buf),
                              e.pools.colors));
      cur = next;
      cur_buf = next_buf;
    }
    const int xs = symbol_of(e, x, s.x_symbol), ys = declare(e, y);
    auto out = emit_plan(e, site, plan, {xs, -1, -1, ys}, {"stage0", "stage1"}, x.dtype, y, ys);
    if (out) out->data_bytes += y.block_bytes();
    return out;
  }
  WAFER_TRY(check_site(user, site, x.rect, x.describe()));
  if (rows_change && cols_change)
    return make_error("{}: {} changes how both its rows and its columns are spread; relayout one axis at a time",
                      user, x.describe());
  if (!rows_change && !cols_change) return emit_view(e, site, user, x, s.x_symbol, x);
  const bool along_x = cols_change;
  const Spread from = along_x ? x.cols_over_x : x.rows_over_y, to = along_x ? y.cols_over_x : y.rows_over_y;
  if (from == Spread::replicate && to == Spread::first) {
    DistTensor v = x;
    (along_x ? v.cols_over_x : v.rows_over_y) = Spread::first;
    return emit_view(e, site, user, x, s.x_symbol, v);
  }
  WAFER_TRY(check_layout(y, e.program.width, e.program.height));
  MovePlan plan(x.rect, user);
  const int ys = declare(e, y);
  if (to == Spread::replicate) {  // to coordinate 0 (a gather, or a copy), then a multicast
    DistTensor first = y;
    (along_x ? first.cols_over_x : first.rows_over_y) = Spread::first;
    WAFER_TRY(plan.add_pass(along_x, tensor_holding(x, x.rect, 0), tensor_holding(first, x.rect, 1), e.pools.colors));
    WAFER_TRY(plan.add_broadcast(along_x, tensor_holding(first, x.rect, 1), e.pools.colors));
  } else {
    WAFER_TRY(plan.add_pass(along_x, tensor_holding(x, x.rect, 0), tensor_holding(y, x.rect, 1), e.pools.colors));
  }
  auto out = emit_plan(e, site, plan, {symbol_of(e, x, s.x_symbol), ys}, {}, x.dtype, y, ys);
  if (out) out->data_bytes += y.block_bytes();
  return out;
}

ir::Rect reshard_rect(const ReshardSpec& s) { return ir::bounding(s.x.rect, s.y.rect); }

namespace {

// `h`'s blocks within rows [0, rows) x columns [0, cols): a block cut short in its rows
// becomes one block per column, each at its column's place in the block.
Holding clipped(const Holding& h, int64_t rows, int64_t cols) {
  return [=](int px, int py) {
    std::vector<HeldBlock> out;
    for (const HeldBlock& b : h(px, py)) {
      const int64_t r1 = std::min(b.r1, rows), c1 = std::min(b.c1, cols);
      if (r1 <= b.r0 || c1 <= b.c0) continue;
      if (r1 == b.r1) {
        out.push_back({b.r0, r1, b.c0, c1, b.buf, b.base});
        continue;
      }
      for (int64_t c = b.c0; c < c1; ++c) out.push_back({b.r0, r1, c, c + 1, b.buf, b.base + (c - b.c0) * b.rows()});
    }
    return out;
  };
}

}  // namespace

Expected<MoveEmitted> emit_reshard(Emit& e, const Site& site, const ReshardSpec& s) {
  const std::string user = e.name("reshard");
  WAFER_TRY(check_input(user, s.x, e));
  DistTensor y = s.y;
  y.name = e.name(s.y.name);
  WAFER_TRY(check_input(user, y, e));
  for (const DistTensor* t : {&s.x, static_cast<const DistTensor*>(&y)})
    if (t->rows_over_y != Spread::split || t->cols_over_x != Spread::split)
      return make_error("{}: {} must have rows split over y and columns over x", user, t->describe());
  if (s.rows < 1 || s.cols < 1 || s.rows > std::min(s.x.rows, y.rows) || s.cols > std::min(s.x.cols, y.cols))
    return make_error("{}: rows [0, {}) x columns [0, {}) do not lie within both {} and {}", user, s.rows, s.cols,
                      s.x.describe(), y.describe());
  const ir::Rect hull = reshard_rect(s);
  WAFER_TRY(check_site(user, site, hull, fmt::format("resharding {} into {}", s.x.describe(), y.describe())));
  // Buffers: 0 x, 1 the staging (X's row block of PE row py, Y's column block of PE column px),
  // 2 y.
  const DistTensor &x = s.x;
  const Holding stage = [=](int px, int py) -> std::vector<HeldBlock> {
    const int ay = py + hull.y - x.rect.y, ax = px + hull.x - y.rect.x;
    if (ay < 0 || ay >= x.rect.h || ax < 0 || ax >= y.rect.w) return {};
    const int64_t r0 = ay * x.block_rows(), r1 = std::min(r0 + x.block_rows(), s.rows);
    const int64_t c0 = ax * y.block_cols(), c1 = std::min(c0 + y.block_cols(), s.cols);
    if (r1 <= r0 || c1 <= c0) return {};
    return {HeldBlock{r0, r1, c0, c1, 1, 0}};
  };
  MovePlan plan(hull, user);
  WAFER_TRY(plan.add_pass(true, tensor_holding(x, hull, 0), stage, e.pools.colors));
  WAFER_TRY(plan.add_pass(false, stage, clipped(tensor_holding(y, hull, 2), s.rows, s.cols), e.pools.colors));
  const int xs = symbol_of(e, x, s.x_symbol), ys = declare(e, y);
  auto out = emit_plan(e, site, plan, {xs, -1, ys}, {"stage"}, x.dtype, y, ys);
  if (out) out->data_bytes += y.block_bytes();
  return out;
}

Expected<MoveEmitted> emit_slice(Emit& e, const Site& site, const SliceSpec& s) {
  const std::string user = e.name("slice");
  const DistTensor& x = s.x;
  WAFER_TRY(check_input(user, x, e));
  WAFER_TRY(check_site(user, site, x.rect, x.describe()));
  const bool cols = s.axis == MoveAxis::cols;
  const int64_t extent = cols ? x.cols : x.rows, block = cols ? x.block_cols() : x.block_rows();
  const char* word = axis_word(s.axis);
  if (s.offset < 0 || s.length < 1 || s.offset + s.length > extent) {
    return make_error("{}: {} [{}, {}) do not lie within the {} {} of {}", user, word, s.offset, s.offset + s.length,
                      extent, word, x.describe());
  }
  if ((cols ? x.cols_over_x : x.rows_over_y) != Spread::split)
    return make_error("{}: slices {} of {}, which must be split over the PEs", user, word, x.describe());
  const int pes = cols ? x.rect.w : x.rect.h;
  if (s.offset % block == 0 && s.length % block == 0 && !s.whole_rect) {  // the PEs that hold the range already
    DistTensor v = x;
    (cols ? v.cols : v.rows) = s.length;
    (cols ? v.rect.x : v.rect.y) += int(s.offset / block);
    (cols ? v.rect.w : v.rect.h) = int(s.length / block);
    return emit_view(e, site, user, x, s.x_symbol, v);
  }
  if (s.length % pes != 0) {
    return make_error("{}: {} [{}, {}) of {} start inside a block of {} {}; the {} moved {} do not divide evenly over "
                      "{} PEs (an offset and length that are multiples of {} give a view)",
                      user, word, s.offset, s.offset + s.length, x.describe(), block, word, s.length, word, pes, block);
  }
  DistTensor y = x;
  y.name = e.name(s.y);
  (cols ? y.cols : y.rows) = s.length;
  MovePlan plan(x.rect, user);
  const Holding from = tensor_holding(x, x.rect, 0, cols ? 0 : -s.offset, cols ? -s.offset : 0);
  WAFER_TRY(plan.add_pass(cols, from, tensor_holding(y, x.rect, 1), e.pools.colors));
  const int xs = symbol_of(e, x, s.x_symbol);
  const int ys = declare(e, y);
  auto out = emit_plan(e, site, plan, {xs, ys}, {}, x.dtype, y, ys);
  if (out) out->data_bytes += y.block_bytes();
  return out;
}

Expected<MoveEmitted> emit_concat(Emit& e, const Site& site, const ConcatSpec& s) {
  const std::string user = e.name("concat");
  WAFER_TRY(check_input(user, s.a, e));
  WAFER_TRY(check_input(user, s.b, e));
  const bool cols = s.axis == MoveAxis::cols;
  const char* word = axis_word(s.axis);
  const DistTensor &a = s.a, &b = s.b;
  if (!same_rect(a.rect, b.rect) || a.dtype != b.dtype)
    return make_error("{}: {} and {} must lie on the same rectangle with the same type", user, a.describe(), b.describe());
  if ((cols ? a.rows != b.rows : a.cols != b.cols) || a.rows_over_y != b.rows_over_y || a.cols_over_x != b.cols_over_x)
    return make_error("{}: {} and {} must have the same {} and layout to be joined along their {}", user, a.describe(),
                      b.describe(), cols ? "rows" : "columns", word);
  if ((cols ? a.cols_over_x : a.rows_over_y) != Spread::split)
    return make_error("{}: joins {} of {}, which must be split over the PEs", user, word, a.describe());
  WAFER_TRY(check_site(user, site, a.rect, a.describe()));
  DistTensor y = a;
  y.name = e.name(s.y);
  (cols ? y.cols : y.rows) = cols ? a.cols + b.cols : a.rows + b.rows;
  const int pes = cols ? a.rect.w : a.rect.h;
  if ((cols ? y.cols : y.rows) % pes != 0) {
    return make_error("{}: joining {} and {} gives {} {}, which do not divide evenly over {} PEs", user, a.describe(),
                      b.describe(), cols ? y.cols : y.rows, word, pes);
  }
  const int64_t shift = cols ? a.cols : a.rows;
  MovePlan plan(a.rect, user);
  const Holding from = both(tensor_holding(a, a.rect, 0), tensor_holding(b, a.rect, 1, cols ? 0 : shift, cols ? shift : 0));
  WAFER_TRY(plan.add_pass(cols, from, tensor_holding(y, a.rect, 2), e.pools.colors));
  const int as = symbol_of(e, a, s.a_symbol), bs = symbol_of(e, b, s.b_symbol);
  const int ys = declare(e, y);
  auto out = emit_plan(e, site, plan, {as, bs, ys}, {}, a.dtype, y, ys);
  if (out) out->data_bytes += y.block_bytes();
  return out;
}

}  // namespace wafer::kernels
