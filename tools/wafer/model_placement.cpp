// The placement picture of a compiled model; see model_placement.hpp.
#include "model_placement.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace wafer::cli {

namespace {

constexpr int kWidth = 960, kMargin = 12;
constexpr int kFabricMaxW = 150, kFabricMaxH = 220, kMarkMin = 4;  // the fabric view
constexpr int kGridX = 200, kGridMaxH = 420;                         // the grid view
constexpr Rgb kInk = {0, 0, 0}, kFabric = {225, 225, 225}, kGridFill = {245, 245, 245}, kMark = {214, 39, 40};
constexpr Rgb kPeLines = {210, 210, 210};

struct Group {
  ir::Rect rect;
  std::vector<size_t> layers;  // indices into Plan::layers, in running order
  bool moves = false;          // every layer a move between other layers' rectangles
};

// A layer that carries a value from one layer's rectangle to another's (a pipelined plan's):
// its rectangle spans both, so it is drawn as a dashed outline over them, not a box.
bool is_move(const compiler::Layer& l) { return l.op == "move"; }

// Layers by identical rectangle, in the order of each rectangle's first layer.
std::vector<Group> group_layers(const compiler::Plan& plan) {
  std::vector<Group> groups;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const ir::Rect& r = plan.layers[i].rect;
    auto same = [&](const Group& g) { return g.rect.x == r.x && g.rect.y == r.y && g.rect.w == r.w && g.rect.h == r.h; };
    auto it = std::find_if(groups.begin(), groups.end(), same);
    if (it == groups.end()) it = groups.insert(groups.end(), Group{r, {}, true});
    it->layers.push_back(i);
    it->moves = it->moves && is_move(plan.layers[i]);
  }
  return groups;
}

Rgb group_colour(size_t i) {
  static constexpr Rgb kPalette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {148, 103, 189},
                                     {140, 86, 75},  {227, 119, 194}, {188, 189, 34}, {23, 190, 207}};
  return kPalette[i % std::size(kPalette)];
}

Rgb lighter(Rgb c) {
  Rgb out;
  for (size_t k = 0; k < 3; ++k) out[k] = uint8_t(c[k] + (255 - c[k]) * 3 / 5);
  return out;
}

std::string rect_text(const ir::Rect& r) { return fmt::format("{}x{} at ({},{})", r.w, r.h, r.x, r.y); }

// The fabric view at (x, y): at most 28 + kFabricMaxH + 30 pixels high, captions included.
void draw_fabric_view(Image& img, int x, int y, const compiler::Plan& plan, const ir::Rect& used) {
  const arch::Arch& a = plan.arch;
  const double px = std::min(double(kFabricMaxW) / a.fabric_width, double(kFabricMaxH) / a.fabric_height);
  const int w = std::max(1, int(std::lround(a.fabric_width * px)));
  const int h = std::max(1, int(std::lround(a.fabric_height * px)));
  draw_text(img, x, y, fmt::format("{} fabric", a.name));
  draw_text(img, x, y + 12, fmt::format("{}x{} PEs", a.fabric_width, a.fabric_height));
  const int top = y + 28;
  img.fill(x, top, w, h, kFabric);
  draw_box(img, x, top, x + w - 1, top + h - 1, kInk);
  const int gw = std::max(kMarkMin, int(std::lround(used.w * px)));
  const int gh = std::max(kMarkMin, int(std::lround(used.h * px)));
  img.fill(x, top, std::min(gw, w), std::min(gh, h), kMark);
  draw_text(img, x, top + h + 6, fmt::format("{}x{} PEs", used.w, used.h), kMark);
  draw_text(img, x, top + h + 18, "at (0,0)", kMark);
}

// Light lines between PEs, where a PE is at least 6 pixels wide.
void draw_pe_lines(Image& img, int x, int y, int w, int h, const ir::Rect& used, double px) {
  if (px < 6) return;
  for (int k = 1; k < used.w; ++k) {
    const int lx = x + int(std::lround(k * px));
    draw_line(img, lx, y, lx, y + h - 1, kPeLines);
  }
  for (int k = 1; k < used.h; ++k) {
    const int ly = y + int(std::lround(k * px));
    draw_line(img, x, ly, x + w - 1, ly, kPeLines);
  }
}

// The pixels of a rectangle of PEs on the grid view at (x, y): corners (x0, y0) and (x1, y1).
struct Box {
  int x0, y0, x1, y1;
};
Box box_of(const ir::Rect& r, int x, int y, double px) {
  return {x + int(std::lround(r.x * px)), y + int(std::lround(r.y * px)),
          x + int(std::lround((int64_t(r.x) + r.w) * px)) - 1, y + int(std::lround((int64_t(r.y) + r.h) * px)) - 1};
}

// The group's outline and label (its fill is drawn first, under the lines between PEs).
// A dashed outline `inset` pixels inside the box: dashes of 6 pixels, gaps of 4.
void draw_dashed_box(Image& img, const Box& b, int inset, Rgb colour) {
  const int x0 = b.x0 + inset, y0 = b.y0 + inset, x1 = b.x1 - inset, y1 = b.y1 - inset;
  for (int x = x0; x <= x1; ++x) {
    if ((x - x0) % 10 >= 6) continue;
    img.fill(x, y0, 1, 2, colour);
    img.fill(x, y1 - 1, 1, 2, colour);
  }
  for (int y = y0; y <= y1; ++y) {
    if ((y - y0) % 10 >= 6) continue;
    img.fill(x0, y, 2, 1, colour);
    img.fill(x1 - 1, y, 2, 1, colour);
  }
}

void draw_group(Image& img, const Box& b, const Group& g, Rgb colour, const compiler::Plan& plan) {
  const auto [x0, y0, x1, y1] = b;
  if (g.moves) {
    draw_dashed_box(img, b, 4, colour);
    return;
  }
  draw_box(img, x0, y0, x1, y1, colour);
  draw_box(img, x0 + 1, y0 + 1, x1 - 1, y1 - 1, colour);
  const compiler::Layer& first = plan.layers[g.layers.front()];
  const std::string line1 = g.layers.size() == 1 ? first.name : fmt::format("{} layers, one at a time", g.layers.size());
  const std::string line2 = g.layers.size() == 1 ? first.kernel : rect_text(g.rect);
  draw_text(img, x0 + 5, y0 + 5, line1);
  draw_text(img, x0 + 5, y0 + 17, line2);
}

std::string layer_text(const compiler::Plan& plan, size_t i) {
  const compiler::Layer& l = plan.layers[i];
  return fmt::format("{}. {}: {}, {} est. cycles", i + 1, l.name, l.kernel, l.estimated_cycles);
}

// One row per rectangle of one layer; a rectangle several layers share heads their rows.
std::vector<LegendEntry> legend_entries(const compiler::Plan& plan, const std::vector<Group>& groups) {
  std::vector<LegendEntry> entries;
  for (size_t k = 0; k < groups.size(); ++k) {
    const Group& g = groups[k];
    if (g.layers.size() == 1) {
      entries.push_back({group_colour(k), fmt::format("PEs {}: {}", rect_text(g.rect), layer_text(plan, g.layers[0]))});
      continue;
    }
    entries.push_back({group_colour(k), fmt::format("PEs {}: {} layers, one at a time", rect_text(g.rect), g.layers.size())});
    for (size_t i : g.layers) entries.push_back({lighter(group_colour(k)), "  " + layer_text(plan, i)});
  }
  return entries;
}

}  // namespace

ir::Rect plan_extent(const compiler::Plan& plan) {
  ir::Rect r{0, 0, plan.grid_w, plan.grid_h};
  for (const compiler::Layer& l : plan.layers) {
    r.w = std::max(r.w, l.rect.x + l.rect.w);
    r.h = std::max(r.h, l.rect.y + l.rect.h);
  }
  return r;
}

Image render_placement(const compiler::Plan& plan, const std::string& title) {
  const std::vector<Group> groups = group_layers(plan);
  const std::vector<LegendEntry> legend = legend_entries(plan, groups);
  const ir::Rect used = plan_extent(plan);
  const int grid_max_w = kWidth - kMargin - kGridX;
  const double px = std::min(double(grid_max_w) / used.w, double(kGridMaxH) / used.h);
  const int map_w = std::max(1, int(std::lround(used.w * px)));
  const int map_h = std::max(1, int(std::lround(used.h * px)));
  const std::string heading =
      fmt::format("{}: {} layers on {}x{} PEs of {}", title, plan.layers.size(), used.w, used.h, plan.arch.name);
  const int title_scale = fitting_scale(heading, kWidth - 2 * kMargin);
  const int top = kMargin + text_height(title_scale) + 14;
  const int legend_top = top + map_h + 28;
  const int fabric_height = 28 + kFabricMaxH + 30;
  const int height = std::max(top + fabric_height, legend_top + int(legend.size()) * legend_row_height()) + kMargin;
  Image img(kWidth, height);
  draw_text(img, kMargin, kMargin, heading, kInk, title_scale);
  draw_fabric_view(img, kMargin, top, plan, used);
  img.fill(kGridX, top, map_w, map_h, kGridFill);
  for (size_t k = 0; k < groups.size(); ++k) {
    const Box b = box_of(groups[k].rect, kGridX, top, px);
    if (!groups[k].moves) img.fill(b.x0, b.y0, b.x1 - b.x0 + 1, b.y1 - b.y0 + 1, lighter(group_colour(k)));
  }
  draw_pe_lines(img, kGridX, top, map_w, map_h, used, px);
  for (bool moves : {false, true})
    for (size_t k = 0; k < groups.size(); ++k)
      if (groups[k].moves == moves)
        draw_group(img, box_of(groups[k].rect, kGridX, top, px), groups[k], group_colour(k), plan);
  draw_box(img, kGridX - 1, top - 1, kGridX + map_w, top + map_h, kInk);
  draw_text(img, kGridX, top + map_h + 8,
            fmt::format("{}x{} PEs (x: PE column, y: PE row); boxes: the PEs each layer runs on{}", used.w, used.h,
                        std::any_of(groups.begin(), groups.end(), [](const Group& g) { return g.moves; })
                            ? "; dashed: moves between them"
                            : ""));
  draw_legend(img, kGridX, legend_top, legend);
  return img;
}

}  // namespace wafer::cli
