// Observability outputs: Chrome Trace Event JSON, PNG heatmaps and stats digests.
//
// Trace: the events are sorted by (row, column, microthread, start, longest first) so the file
// is the same for any thread count and nested spans (vector ops inside their task) come after
// their parent; metadata events name one process per row and one thread per PE and
// microthread. The file is streamed through a buffer, never built as a JSON tree, because a
// trace may hold a million events, into a temporary file renamed into place (atomic_file.hpp);
// names that are not valid UTF-8 are written with U+FFFD (json_text.hpp). Heatmap: the busy
// fraction of each PE is averaged over square blocks when the grid exceeds the size limit, or
// each PE is enlarged to an integer square when it is small, mapped through the colour bar's
// viridis ramp (black where no PE of a block did anything); the title line, the PE-coordinate
// axes (ticks at round PE numbers, spaced so that labels never touch) and the colour bar are
// drawn with support/raster, which also writes the PNG.
// Stats: one pass computes a Digest (ranges of per-PE fractions, the busiest PEs, link
// utilisation per direction) that both the text summary and the JSON object render.
#include "wafer/sim/observe.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "wafer/support/atomic_file.hpp"
#include "wafer/support/json_text.hpp"
#include "wafer/support/raster.hpp"

namespace wafer::sim {

namespace {

// ---------------------------------------------------------------------------------------------
// Trace

std::string quoted(const std::string& s) { return json_text(nlohmann::json(s)); }

// JSON-quoted names: task names per code (by task id) and opcode names.
class TraceNames {
 public:
  explicit TraceNames(const ir::Program& program) : program_(program) {
    for (const ir::Code& code : program.codes) {
      std::vector<std::string> names;
      for (const ir::Task& t : code.tasks) {
        if (size_t(t.id) >= names.size()) names.resize(size_t(t.id) + 1);
        names[size_t(t.id)] = quoted(t.name);
      }
      tasks_.push_back(std::move(names));
    }
  }

  std::string task(const TraceEvent& ev) const {
    const auto& names = tasks_[ev.code];
    if (ev.task >= 0 && size_t(ev.task) < names.size() && !names[size_t(ev.task)].empty())
      return names[size_t(ev.task)];
    return quoted(fmt::format("task {}", ev.task));
  }

  std::string op(const TraceEvent& ev) const {
    const ir::Code& code = program_.codes[ev.code];
    if (size_t(ev.instr) >= code.instrs.size()) return quoted("vector op");
    return quoted(ir::op_info(code.instrs[size_t(ev.instr)].op).name);
  }

 private:
  const ir::Program& program_;
  std::vector<std::vector<std::string>> tasks_;
};

int trace_tid(const TraceEvent& ev) { return ev.x * 16 + ev.microthread; }

std::vector<TraceEvent> sorted_events(const std::vector<TraceEvent>& events) {
  std::vector<TraceEvent> out = events;
  std::sort(out.begin(), out.end(), [](const TraceEvent& a, const TraceEvent& b) {
    return std::make_tuple(a.y, a.x, a.microthread, a.start, b.end, a.instr) <
           std::make_tuple(b.y, b.x, b.microthread, b.start, a.end, b.instr);
  });
  return out;
}

// Writes text to a FILE through a buffer and remembers the first write error's errno.
class BufferedFile {
 public:
  explicit BufferedFile(std::FILE* f) : f_(f) {}
  fmt::memory_buffer& buf() { return buf_; }
  void flush_if_full() {
    if (buf_.size() >= (1 << 20)) flush();
  }
  void flush() {
    if (buf_.size() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size() && !error_)
      error_ = errno ? errno : EIO;
    buf_.clear();
  }
  int error() const { return error_; }

 private:
  std::FILE* f_;
  fmt::memory_buffer buf_;
  int error_ = 0;
};

void append_metadata(BufferedFile& out, const std::vector<TraceEvent>& events) {
  const TraceEvent* prev = nullptr;
  for (const TraceEvent& ev : events) {
    if (!prev || prev->y != ev.y) {
      fmt::format_to(std::back_inserter(out.buf()),
                     "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{0},\"args\":{{\"name\":"
                     "\"row {0}\"}}}},\n{{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":{0},"
                     "\"args\":{{\"sort_index\":{0}}}}},\n",
                     ev.y);
    }
    if (!prev || prev->y != ev.y || prev->x != ev.x || prev->microthread != ev.microthread) {
      const std::string thread = ev.microthread ? fmt::format("PE ({},{}) mt {}", ev.x, ev.y, ev.microthread)
                                                : fmt::format("PE ({},{})", ev.x, ev.y);
      fmt::format_to(std::back_inserter(out.buf()),
                     "{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{0},\"tid\":{1},\"args\":{{"
                     "\"name\":\"{2}\"}}}},\n{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":"
                     "{0},\"tid\":{1},\"args\":{{\"sort_index\":{1}}}}},\n",
                     ev.y, trace_tid(ev), thread);
    }
    prev = &ev;
    out.flush_if_full();
  }
}

void append_event(BufferedFile& out, const TraceEvent& ev, const TraceNames& names, double ghz) {
  // Microseconds to 6 decimals: a picosecond grid, finer than any clock's cycle.
  const double ts = double(ev.start) / (ghz * 1e3);
  const double dur = double(ev.end - ev.start) / (ghz * 1e3);
  auto it = std::back_inserter(out.buf());
  if (ev.instr < 0) {
    fmt::format_to(it,
                   "{{\"name\":{},\"cat\":\"task\",\"ph\":\"X\",\"ts\":{:.6f},\"dur\":{:.6f},\"pid\":{},"
                   "\"tid\":{},\"args\":{{\"cycles\":{}}}}}",
                   names.task(ev), ts, dur, ev.y, trace_tid(ev), ev.end - ev.start);
  } else {
    fmt::format_to(it,
                   "{{\"name\":{},\"cat\":\"vector\",\"ph\":\"X\",\"ts\":{:.6f},\"dur\":{:.6f},\"pid\":{},"
                   "\"tid\":{},\"args\":{{\"cycles\":{},\"task\":{},\"instruction\":{}}}}}",
                   names.op(ev), ts, dur, ev.y, trace_tid(ev), ev.end - ev.start, names.task(ev),
                   ev.instr);
  }
}

void write_trace(BufferedFile& out, const Simulator& sim, int origin_x, int origin_y) {
  // Metadata lines end with a comma: they exist only when events follow them.
  std::vector<TraceEvent> events = sorted_events(sim.trace_events());
  for (TraceEvent& ev : events) {
    ev.x += origin_x;
    ev.y += origin_y;
  }
  const TraceNames names(sim.program());
  const double ghz = sim.arch().clock_ghz;
  fmt::format_to(std::back_inserter(out.buf()), "{{\"traceEvents\":[\n");
  append_metadata(out, events);
  for (size_t i = 0; i < events.size(); ++i) {
    append_event(out, events[i], names, ghz);
    fmt::format_to(std::back_inserter(out.buf()), "{}\n", i + 1 < events.size() ? "," : "");
    out.flush_if_full();
  }
  fmt::format_to(std::back_inserter(out.buf()),
                 "],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{{\"arch\":{},\"clock_ghz\":{},"
                 "\"dropped_events\":{}}}}}\n",
                 quoted(sim.arch().name), ghz, sim.trace_dropped());
  out.flush();
}

// ---------------------------------------------------------------------------------------------
// Heatmap

constexpr Rgb kBlack = {0, 0, 0};
constexpr int kMargin = 8, kTick = 4, kBarGap = 16;
constexpr int kBarMinHeight = 120;  // a flat map gets a colour bar at least this tall
constexpr const char* kUnit = "busy fraction";
constexpr const char* kWidestLabel = "0.00000";  // no colour bar label is wider

// Pixels of the y axis's labels (the largest row number) and its ticks, left of the map.
int y_axis_width(int grid_height) {
  return text_width(std::to_string(std::max(0, grid_height - 1))) + kTick + 4;
}

// The colour bar right of the map; only its top differs between heatmaps of one geometry.
ColorBar color_bar(const HeatmapGeometry& g, double top) {
  ColorBar bar{top, kUnit};
  bar.height = std::max(g.map_height, kBarMinHeight) - color_bar_ramp_top(bar);
  return bar;
}

int legend_width() {
  ColorBar widest{1, kUnit};
  return std::max(text_width(kUnit), widest.width + 6 + text_width(kWidestLabel));
}

// PE coordinates between ticks: a round number, at least 1, that leaves room for the labels
// and gives at most about ten ticks.
int tick_step(int pes, int label_width, const HeatmapGeometry& g) {
  const double min_step = double(label_width + 10) * g.block / g.scale;
  return std::max({1, int(nice_step(min_step, 1)), int(nice_step(pes, 10))});
}

// The pixel at the middle of PE k along an axis whose map starts at `origin`.
int pe_pixel(int k, int origin, const HeatmapGeometry& g) {
  return origin + int((2 * int64_t(k) + 1) * g.scale / (2 * int64_t(g.block)));
}

void draw_axes(Image& img, const HeatmapGeometry& g, int grid_w, int grid_h) {
  const int bottom = g.map_y + g.map_height;
  draw_box(img, g.map_x - 1, g.map_y - 1, g.map_x + g.map_width, bottom, kBlack);
  const int xs = tick_step(grid_w, text_width(std::to_string(grid_w - 1)), g);
  for (int k = 0; k < grid_w; k += xs) {
    const int x = pe_pixel(k, g.map_x, g);
    const std::string s = std::to_string(k);
    draw_line(img, x, bottom + 1, x, bottom + kTick, kBlack);
    draw_text(img, x - text_width(s) / 2, bottom + kTick + 3, s);
  }
  const int ys = tick_step(grid_h, text_height(), g);
  for (int k = 0; k < grid_h; k += ys) {
    const int y = pe_pixel(k, g.map_y, g);
    const std::string s = std::to_string(k);
    draw_line(img, g.map_x - 1 - kTick, y, g.map_x - 2, y, kBlack);
    draw_text(img, g.map_x - kTick - 4 - text_width(s), y - text_height() / 2 + 1, s);
  }
}

std::string axes_caption(const HeatmapGeometry& g) {
  const std::string caption = "x: PE column, y: PE row; black: never busy";
  return g.block > 1 ? fmt::format("{} (a pixel averages {}x{} PEs)", caption, g.block, g.block) : caption;
}

// Mean busy fraction over one block of PEs; negative when no PE of the block was busy.
double block_activity(const Stats& s, int bx, int by, int block) {
  double sum = 0;
  int n = 0;
  bool any = false;
  for (int y = by * block; y < std::min(s.height, (by + 1) * block); ++y) {
    for (int x = bx * block; x < std::min(s.width, (bx + 1) * block); ++x) {
      const uint64_t busy = s.busy[size_t(y) * size_t(s.width) + size_t(x)];
      any |= busy > 0;
      sum += s.cycles ? double(busy) / double(s.cycles) : 0;
      ++n;
    }
  }
  return any ? sum / n : -1;
}

// The top of the colour scale: the option, else the busiest PE's fraction (1 when all idle).
double scale_top(const Stats& s, const HeatmapOptions& o) {
  if (o.scale_max > 0) return o.scale_max;
  if (s.busy.empty()) return 1;
  const uint64_t busiest = *std::max_element(s.busy.begin(), s.busy.end());
  return busiest && s.cycles ? double(busiest) / double(s.cycles) : 1;
}

void draw_map(Image& img, const Stats& s, const HeatmapGeometry& g, double top) {
  const int cells_w = g.map_width / g.scale, cells_h = g.map_height / g.scale;
  for (int by = 0; by < cells_h; ++by) {
    for (int bx = 0; bx < cells_w; ++bx) {
      const double a = block_activity(s, bx, by, g.block);
      img.fill(g.map_x + bx * g.scale, g.map_y + by * g.scale, g.scale, g.scale,
               a < 0 ? kBlack : color_bar_colour(a, top));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Stats digest

constexpr std::array<const char*, 5> kPortNames = {"N", "E", "S", "W", "ramp"};
constexpr size_t kBusiestPes = 5;

struct Range {
  double min = 0, mean = 0, max = 0;
};

struct PeFigure {
  int x = 0, y = 0;
  double value = 0;
};

struct LinkFigure {
  double mean = 0;
  PeFigure max;  // the busiest PE for this direction
};

struct Digest {
  int pes = 0;
  Range busy, stall, idle;
  std::vector<PeFigure> busiest;
  std::array<LinkFigure, 5> links;
  int busiest_port = 0;  // direction of the busiest link
};

Range range_of(const std::vector<double>& v) {
  if (v.empty()) return {};
  Range r{v[0], 0, v[0]};
  for (double x : v) {
    r.min = std::min(r.min, x);
    r.max = std::max(r.max, x);
    r.mean += x;
  }
  r.mean /= double(v.size());
  return r;
}

std::vector<PeFigure> busiest_pes(const Stats& s, const std::vector<double>& busy) {
  std::vector<size_t> order(busy.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const size_t n = std::min(kBusiestPes, order.size());
  std::partial_sort(order.begin(), order.begin() + ptrdiff_t(n), order.end(),
                    [&](size_t a, size_t b) { return busy[a] > busy[b] || (busy[a] == busy[b] && a < b); });
  std::vector<PeFigure> out;
  for (size_t k = 0; k < n; ++k)
    out.push_back({int(order[k] % size_t(s.width)), int(order[k] / size_t(s.width)), busy[order[k]]});
  return out;
}

void digest_links(const Stats& s, Digest& d) {
  const double cycles = s.cycles ? double(s.cycles) : 1;
  for (size_t p = 0; p < 5; ++p) {
    LinkFigure& l = d.links[p];
    for (size_t i = 0; i < s.link_out.size(); ++i) {
      const double u = double(s.link_out[i][p]) / cycles;
      l.mean += u;
      if (u > l.max.value) l.max = {int(i % size_t(s.width)), int(i / size_t(s.width)), u};
    }
    l.mean /= double(std::max<size_t>(1, s.link_out.size()));
    if (l.max.value > d.links[size_t(d.busiest_port)].max.value) d.busiest_port = int(p);
  }
}

Digest digest(const Stats& s) {
  Digest d;
  d.pes = int(s.busy.size());
  const double cycles = s.cycles ? double(s.cycles) : 1;
  std::vector<double> busy(s.busy.size()), stall(s.busy.size()), idle(s.busy.size());
  for (size_t i = 0; i < s.busy.size(); ++i) {
    busy[i] = double(s.busy[i]) / cycles;
    stall[i] = double(s.stall[i]) / cycles;
    idle[i] = s.cycles ? std::max(0.0, 1 - busy[i] - stall[i]) : 0;
  }
  d.busy = range_of(busy);
  d.stall = range_of(stall);
  d.idle = range_of(idle);
  d.busiest = busiest_pes(s, busy);
  digest_links(s, d);
  return d;
}

std::string range_row(const char* name, const Range& r) {
  return fmt::format("  {:<8}{:>9.3f}{:>9.3f}{:>9.3f}\n", name, r.min, r.mean, r.max);
}

std::string pe_name(const PeFigure& p) { return fmt::format("({},{})", p.x, p.y); }

std::string link_rows(const Digest& d) {
  std::string s = fmt::format("link utilisation (wavelets per cycle per port)\n  {:<8}{:>9}{:>9}  {}\n",
                              "port", "mean", "max", "at PE");
  for (size_t p = 0; p < 5; ++p) {
    const LinkFigure& l = d.links[p];
    s += fmt::format("  {:<8}{:>9.3g}{:>9.3g}  {}\n", kPortNames[p], l.mean, l.max.value,
                     l.max.value > 0 ? pe_name(l.max) : "-");
  }
  const LinkFigure& top = d.links[size_t(d.busiest_port)];
  if (top.max.value > 0)
    s += fmt::format("busiest link: {} port of PE {}, {:.3g} wavelets/cycle\n",
                     kPortNames[size_t(d.busiest_port)], pe_name(top.max), top.max.value);
  return s;
}

nlohmann::ordered_json range_json(const Range& r) {
  return {{"min", r.min}, {"mean", r.mean}, {"max", r.max}};
}

nlohmann::ordered_json pe_json(const PeFigure& p, const char* key) {
  return {{"x", p.x}, {"y", p.y}, {key, p.value}};
}

}  // namespace

Status write_trace_json(const Simulator& sim, const std::string& path, int origin_x, int origin_y) {
  return write_file_atomically(path, "trace", [&](std::FILE* f) {
    BufferedFile out(f);
    write_trace(out, sim, origin_x, origin_y);
    return out.error() ? Status::error(os_error_text(out.error())) : Status::ok();
  });
}

HeatmapGeometry heatmap_geometry(int grid_width, int grid_height, const HeatmapOptions& o) {
  HeatmapGeometry g;
  const int side = std::max({grid_width, grid_height, 1});
  g.block = (side + o.max_side - 1) / o.max_side;
  const int cells_w = (std::max(grid_width, 1) + g.block - 1) / g.block;
  const int cells_h = (std::max(grid_height, 1) + g.block - 1) / g.block;
  if (g.block == 1) g.scale = std::max(1, std::min((o.min_width + cells_w - 1) / cells_w, o.max_side / cells_h));
  g.map_width = cells_w * g.scale;
  g.map_height = cells_h * g.scale;
  g.map_x = kMargin + y_axis_width(grid_height);
  const int right = g.map_x + g.map_width + (o.legend ? kBarGap + legend_width() : 0) + kMargin;
  g.title_scale = o.title.empty() ? 0 : fitting_scale(o.title, right - 2 * kMargin);
  g.map_y = kMargin + (o.title.empty() ? 0 : text_height(g.title_scale) + kMargin);
  const int legend_height = o.legend ? std::max(g.map_height, kBarMinHeight) : 0;
  const int below = kTick + 3 + text_height() + 6 + text_height() + kMargin;  // labels, caption
  g.width = right;
  g.height = g.map_y + std::max(g.map_height + below, legend_height + kMargin);
  return g;
}

Image heatmap_image(const Stats& stats, const HeatmapOptions& options) {
  const HeatmapGeometry g = heatmap_geometry(stats.width, stats.height, options);
  const double top = scale_top(stats, options);
  Image img(g.width, g.height);
  if (g.title_scale) draw_text(img, kMargin, kMargin, options.title, kBlack, g.title_scale);
  draw_map(img, stats, g, top);
  draw_axes(img, g, stats.width, stats.height);
  const std::string caption = axes_caption(g);
  draw_text(img, g.map_x + std::max(0, (g.map_width - text_width(caption)) / 2),
            g.map_y + g.map_height + kTick + 3 + text_height() + 6, caption);
  if (options.legend) draw_color_bar(img, g.map_x + g.map_width + kBarGap, g.map_y, color_bar(g, top));
  return img;
}

Status write_heatmap_png(const Stats& stats, const std::string& path, const HeatmapOptions& options) {
  if (stats.busy.empty() || stats.busy.size() != size_t(stats.width) * size_t(stats.height))
    return make_error("cannot write heatmap '{}': no per-PE counters (stats collection was off)", path);
  return write_png(path, heatmap_image(stats, options));
}

std::string heatmap_title(const std::string& what, const Simulator& sim) {
  const Stats& s = sim.stats();
  return fmt::format("{} on {}: {}x{} PEs, {} cycles", what, sim.arch().name, s.width, s.height, s.cycles);
}

Expected<double> parse_heatmap_scale(const std::string& text) {
  if (text == "fixed") return 1.0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0 && v <= 1))
    return make_error("expected a busy fraction in (0, 1] or 'fixed' (= 1), got '{}'", text);
  return v;
}

std::string stats_summary(const Stats& s, const arch::Arch& arch) {
  std::string out = fmt::format("stats: {} cycles ({:.6g} us at {} GHz, {}), {}x{} PEs\n", s.cycles,
                                arch.seconds(s.cycles) * 1e6, arch.clock_ghz, arch.name, s.width, s.height);
  out += fmt::format("  instructions     {}\n  vector elements  {}\n  wavelets moved   {}\n",
                     s.instructions, s.vector_elements, s.wavelets_moved);
  if (s.busy.empty()) return out + "no per-PE counters (stats collection was off)\n";
  const Digest d = digest(s);
  out += fmt::format("PE time (fraction of cycles)\n  {:<8}{:>9}{:>9}{:>9}\n", "", "min", "mean", "max");
  out += range_row("busy", d.busy) + range_row("stall", d.stall) + range_row("idle", d.idle);
  out += "busiest PEs:";
  for (const PeFigure& p : d.busiest) out += fmt::format(" {} {:.3f}", pe_name(p), p.value);
  return out + "\n" + link_rows(d);
}

std::string stats_json(const Stats& s) {
  nlohmann::ordered_json j = {{"cycles", s.cycles},
                              {"pes", s.busy.size()},
                              {"instructions", s.instructions},
                              {"vector_elements", s.vector_elements},
                              {"wavelets_moved", s.wavelets_moved}};
  if (s.busy.empty()) return json_text(j);
  const Digest d = digest(s);
  j["busy"] = range_json(d.busy);
  j["stall"] = range_json(d.stall);
  j["idle"] = range_json(d.idle);
  j["busiest_pes"] = nlohmann::ordered_json::array();
  for (const PeFigure& p : d.busiest) j["busiest_pes"].push_back(pe_json(p, "busy"));
  nlohmann::ordered_json links = nlohmann::ordered_json::object();
  for (size_t p = 0; p < 5; ++p)
    links[kPortNames[p]] = {{"mean", d.links[p].mean}, {"max", pe_json(d.links[p].max, "utilisation")}};
  j["links"] = links;
  j["busiest_link"] = pe_json(d.links[size_t(d.busiest_port)].max, "utilisation");
  j["busiest_link"]["port"] = kPortNames[size_t(d.busiest_port)];
  return json_text(j);
}

}  // namespace wafer::sim
