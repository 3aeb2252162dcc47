// The pipelined placement: every layer on a rectangle of its own, of the size plan.cpp's
// balance gives it, weights resident, activations moved between the rectangles
// (docs/compiler.md, "Modes").
//
// Rectangles go in snake order on shelves over the fabric: left to right along the first
// shelf (as tall as its tallest rectangle), right to left along the next, so layer i + 1
// always touches layer i. Each layer is the program streaming would run on its size, emitted
// on PEs (0, 0)..(w-1, h-1), placed with its origin at its rectangle. An input produced on
// another rectangle is moved to the layer's before it runs (kernels/movement.hpp): a
// translation of the producer's blocks when both rectangles have one shape, else a reshard
// to the reader's split (and padding); a program of its own on their bounding rectangle,
// which the plan lists as a layer ("move") so that it is simulated, timed and checked like
// one. A value read by several layers is moved once to each rectangle that needs it (from
// where it was made), and a layer whose input already lies on its rectangle reads it in
// place.
//
// One resource map covers the fabric: per PE, the SRAM bytes of every program placed there,
// and the colors and task ids of their codes. A program is added only if every PE it covers
// keeps its SRAM within the arch's and no color or task id is taken twice; a move takes its
// colors and task ids from those the programs already on its rectangle leave free. Errors
// name the PE, the programs and the number.
#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "lower.hpp"
#include "wafer/ir/verify.hpp"
#include "wafer/kernels/movement.hpp"

namespace wafer::compiler {

using kernels::DistTensor;

namespace {

// What the programs placed so far take on each PE of the fabric's first width x height PEs
// (those the layers' rectangles, and so the moves between them, cover).
class FabricUse {
 public:
  FabricUse(const arch::Arch& a, int width, int height)
      : arch_(a), width_(width), pes_(size_t(width) * size_t(height)) {}

  // The colors and task ids some program uses on a PE of r (fabric coordinates).
  std::pair<uint64_t, uint64_t> used_on(const ir::Rect& r) const {
    uint64_t colors = 0, tasks = 0;
    for (int y = r.y; y < r.y + r.h; ++y)
      for (int x = r.x; x < r.x + r.w; ++x) {
        colors |= at(x, y).colors;
        tasks |= at(x, y).tasks;
      }
    return {colors, tasks};
  }

  // Adds l's codes and routes, or says where it does not fit beside what is there.
  Status add(const Layer& l) {
    WAFER_TRY(check_routes(l));
    const int owner = int(names_.size());
    names_.push_back(l.name);
    for (const ir::Placement& p : l.program.placements) {
      const ir::Code& code = l.program.codes[size_t(p.code)];
      const int64_t bytes = ir::layout_code(code).bytes;
      uint64_t tasks = 0;
      for (const ir::Task& t : code.tasks) tasks |= uint64_t(1) << t.id;
      WAFER_TRY(each_pe(l, p.rect, [&](PeUse& u, int x, int y) -> Status {
        const std::string& other = u.owner < 0 ? "" : names_[size_t(u.owner)];
        if (u.sram + bytes > arch_.sram_bytes)
          return make_error("PE ({},{}) would hold {} bytes of '{}' beside {} bytes of '{}', more than its {} bytes "
                            "of SRAM", x, y, bytes, l.name, u.sram, other, arch_.sram_bytes);
        if (u.tasks & tasks) return make_error("PE ({},{}): '{}' and '{}' take the same task id", x, y, l.name, other);
        u.sram += bytes;
        u.tasks |= tasks;
        if (u.owner < 0) u.owner = owner;
        return Status::ok();
      }));
    }
    for (const ir::Route& r : l.program.routes)
      WAFER_TRY(each_pe(l, r.rect, [&](PeUse& u, int, int) {
        u.colors |= uint64_t(1) << r.color;
        return Status::ok();
      }));
    return Status::ok();
  }

 private:
  struct PeUse {
    int64_t sram = 0;
    uint64_t colors = 0, tasks = 0;
    int owner = -1;  // the first program placed here (names_)
  };
  const arch::Arch& arch_;
  int width_;
  std::vector<PeUse> pes_;
  std::vector<std::string> names_;

  const PeUse& at(int x, int y) const { return pes_[size_t(y) * size_t(width_) + size_t(x)]; }

  // A color l routes on a PE where an earlier program routes it too.
  Status check_routes(const Layer& l) {
    for (const ir::Route& r : l.program.routes)
      WAFER_TRY(each_pe(l, r.rect, [&](PeUse& u, int x, int y) -> Status {
        if (u.colors >> r.color & 1)
          return make_error("PE ({},{}): '{}' routes color {}, which a program already there routes (the first: "
                            "'{}')", x, y, l.name, r.color, names_[size_t(u.owner)]);
        return Status::ok();
      }));
    return Status::ok();
  }

  // f on every PE of r (the program's coordinates) on the fabric.
  template <class F>
  Status each_pe(const Layer& l, const ir::Rect& r, F f) {
    for (int y = r.y; y < r.y + r.h; ++y)
      for (int x = r.x; x < r.x + r.w; ++x) {
        const int fx = l.origin_x + x, fy = l.origin_y + y;
        WAFER_TRY(f(pes_[size_t(fy) * size_t(width_) + size_t(fx)], fx, fy));
      }
    return Status::ok();
  }
};

// The layers' rectangles in snake order on shelves: left to right along the first shelf
// (as tall as its tallest rectangle), then right to left along the next from where the first
// ended, and so on, so that layer i + 1 touches layer i.
Expected<std::vector<ir::Rect>> shelves(const arch::Arch& a, const std::vector<GridSize>& sizes) {
  std::vector<ir::Rect> rects;
  int y = 0, shelf_h = 0, cursor = 0;
  bool rightward = true;
  for (const auto& [w, h] : sizes) {
    const bool fits = rightward ? cursor + w <= a.fabric_width : cursor - w >= 0;
    if (!fits && !rects.empty()) {
      y += shelf_h;
      shelf_h = 0;
      rightward = !rightward;
      cursor = rightward ? 0 : rects.back().x + rects.back().w;
    }
    if (y + h > a.fabric_height || w > a.fabric_width || (!rightward && cursor - w < 0))
      return make_error("{} layers on rectangles of their own (from {}x{} PEs) need more than the fabric's {}x{} PEs "
                        "(streaming runs them one at a time)", sizes.size(), sizes[0].first, sizes[0].second,
                        a.fabric_width, a.fabric_height);
    rects.push_back({rightward ? cursor : cursor - w, y, w, h});
    cursor += rightward ? w : -w;
    shelf_h = std::max(shelf_h, h);
  }
  return rects;
}

ir::Rect shifted(const ir::Rect& r, int dx, int dy) { return {r.x + dx, r.y + dy, r.w, r.h}; }

// A binding of a layer with its rectangle on the fabric.
Binding on_fabric(Binding b, const Layer& l) {
  b.layout.rect = shifted(b.layout.rect, l.origin_x, l.origin_y);
  return b;
}

// The estimated cycles of a move. A translation: a pass along each axis it crosses, the PEs
// of a line sending their blocks one after another over one link, one element a cycle, each
// after about 5 vector setups (its rows of the move's table), and the stream crossing the
// distance at 3 hop latencies a PE; both constants fitted on the GPT-2 block's and the CNN's
// moves (within 1%, docs/compiler.md). A reshard: along x, a PE row of x sends all its
// columns across, a table row (a vector op's setup and ~25 cycles of the interpreter's work,
// as the gather's) per block it meets; along y, a local copy when the rows are split alike,
// else each of y's column blocks goes as runs of contiguous rows, one table row each, a run
// per column of y's block for each PE row of the taller rectangle, of which the busiest PE of
// a column (forwarding first) handles about 1 - 1/(2·the shorter height) (fitted on the
// reshards of the MLP, GPT-2 and Llama blocks, docs/compiler.md).
uint64_t move_estimate(const arch::Arch& a, const DistTensor& x, const DistTensor& y, int64_t rows, int64_t cols) {
  const int dx = std::abs(y.rect.x - x.rect.x), dy = std::abs(y.rect.y - x.rect.y);
  const int64_t setup = 5 * int64_t(a.vector_setup_cycles), hops = (dx + dy) * 3 * int64_t(a.hop_latency);
  if (x.rect.w == y.rect.w && x.rect.h == y.rect.h) {
    const int64_t senders = (dx > 0 ? x.rect.w : 0) + (dy > 0 ? x.rect.h : 0);
    return uint64_t(senders * (x.block_elements() + setup) + hops);
  }
  const double op = a.vector_setup_cycles + 25;
  const double along_x = double(x.block_rows() * cols) + double(x.rect.w + y.rect.w) * op;
  const bool rows_alike = x.block_rows() == y.block_rows() && x.rect.y == y.rect.y;
  const int taller = std::max(x.rect.h, y.rect.h), shorter = std::min(x.rect.h, y.rect.h);
  const double runs = double(y.block_cols() * taller) * (1 - 1.0 / (2 * shorter));
  const double along_y = rows_alike ? double(y.block_elements()) + op : double(rows * y.block_cols()) + runs * op;
  return uint64_t(along_x + along_y) + uint64_t(hops);
}

// A layer's input moved from where it was made (`from`) to where its reader wants it
// (`want`, on the fabric): a translation when both rectangles have one shape (and so one
// layout), a reshard otherwise.
Expected<Layer> emit_move(const LayerContext& c, const Binding& from, const Binding& want, const FabricUse& use,
                          size_t index) {
  const ir::Rect src = from.layout.rect, to = want.layout.rect, box = ir::bounding(src, to);
  Layer m;
  m.name = fmt::format("move {}", c.g.values[size_t(from.value)].name);
  m.op = "move";
  m.rect = box;
  m.origin_x = box.x;
  m.origin_y = box.y;
  m.program.width = box.w;
  m.program.height = box.h;
  kernels::Pools pools = kernels::Pools::for_arch(c.arch);
  const auto [colors, tasks] = use.used_on(box);
  for (int i = 0; i < pools.colors.size(); ++i)
    if (colors >> i & 1) WAFER_TRY(pools.colors.reserve(i, "the layers on its rectangle"));
  for (int i = 0; i < pools.tasks.size(); ++i)
    if (tasks >> i & 1) WAFER_TRY(pools.tasks.reserve(i, "the layers on its rectangle"));
  ir::CodeBuilder code(fmt::format("move{}", index));
  kernels::Emit e{code, m.program, pools, c.arch, "m"};
  DistTensor x = from.layout, y = want.layout;
  x.name = "x";
  y.name = "y";
  x.rect = shifted(src, -box.x, -box.y);
  y.rect = shifted(to, -box.x, -box.y);
  const graph::Value& v = c.g.values[size_t(from.value)];
  const int64_t rows = rows_of(v, from.image), cols = cols_of(v, from.image);
  const bool translation = src.w == to.w && src.h == to.h;
  Expected<kernels::MoveEmitted> em = make_error("");
  if (translation) {
    kernels::RelayoutSpec spec{x, -1, x.rows_over_y, x.cols_over_x, to.x - src.x, to.y - src.y, "y"};
    em = kernels::emit_relayout(e, kernels::Site{kernels::relayout_rect(spec), -1, -1}, spec);
  } else {
    kernels::ReshardSpec spec{x, -1, y, rows, cols};
    em = kernels::emit_reshard(e, kernels::Site{kernels::reshard_rect(spec), -1, -1}, spec);
  }
  if (!em) return em.status();
  m.launch = e.name("entry");
  m.program.codes.push_back(code.finish());
  m.program.placements.push_back(ir::Placement{{0, 0, box.w, box.h}, 0, {}});
  WAFER_TRY(ir::verify(m.program, c.arch));
  m.kernel = translation ? fmt::format("move by ({},{})", to.x - src.x, to.y - src.y)
                         : fmt::format("reshard {}x{} to {}x{} at ({},{})", src.w, src.h, to.w, to.h, to.x - src.x,
                                       to.y - src.y);
  m.inputs = {Binding{from.value, x, false, from.image}};
  m.output = Binding{from.value, em->y, false, from.image};
  m.sram_bytes_per_pe = ir::layout_code(m.program.codes[0]).bytes;
  m.colors = pools.colors.in_use() - std::popcount(colors);
  m.tasks = pools.tasks.in_use() - std::popcount(tasks);
  m.copies = block_copies(m.inputs, em->tables);
  m.estimated_cycles = move_estimate(c.arch, x, y, rows, cols);
  return m;
}

}  // namespace

Expected<std::vector<Layer>> place_pipelined(const LayerContext& c, const std::vector<GridSize>& sizes,
                                             const EmitLayer& emit) {
  if (c.arch.colors > 64 || c.arch.task_ids > 64)
    return make_error("the resource map holds 64 colors and task ids per PE; {} has {} and {}", c.arch.name,
                      c.arch.colors, c.arch.task_ids);
  auto rects = shelves(c.arch, sizes);
  if (!rects) return rects.status();
  int width = 0, height = 0;
  for (const ir::Rect& r : *rects) {
    width = std::max(width, r.x + r.w);
    height = std::max(height, r.y + r.h);
  }
  FabricUse use(c.arch, width, height);
  std::vector<Layer> layers;
  std::map<int, std::vector<Binding>> copies;  // value -> its blocks on the fabric, first where it was made
  for (size_t i = 0; i < sizes.size(); ++i) {
    auto layer = emit(i, sizes[i].first, sizes[i].second);
    if (!layer) return layer.status();
    const std::string where = fmt::format("layer '{}' ({})", layer->name, layer->op);
    layer->rect = (*rects)[i];
    layer->origin_x = layer->rect.x;
    layer->origin_y = layer->rect.y;
    WAFER_TRY(use.add(*layer).with_context(where));
    for (const Binding& in : layer->inputs) {
      auto made = copies.find(in.value);
      if (in.weight || in.via_host || made == copies.end()) continue;
      const Binding want = on_fabric(in, *layer);
      if (std::any_of(made->second.begin(), made->second.end(), [&](const Binding& b) { return same_layout(b, want); }))
        continue;
      auto move = emit_move(c, made->second.front(), want, use, layers.size());
      if (!move) return move.status().with_context(where);
      const Binding moved = on_fabric(move->output, *move);
      if (!same_layout(moved, want))
        return make_error("{}: reads {} but its producer left {}", where, describe(want), describe(made->second.front()));
      WAFER_TRY(use.add(*move).with_context(move->name));
      made->second.push_back(moved);
      layers.push_back(std::move(*move));
    }
    copies[layer->output.value].push_back(on_fabric(layer->output, *layer));
    layers.push_back(std::move(*layer));
  }
  return layers;
}

}  // namespace wafer::compiler
