// Observability outputs of a simulation: a timeline trace, a fabric heatmap, a stats summary.
//
// write_trace_json turns the Simulator's trace events into Chrome Trace Event JSON (one
// complete event per task or vector-op span; a process per PE row, a thread per PE and
// microthread; times in microseconds of simulated time at the arch clock), which Perfetto and
// chrome://tracing load. write_heatmap_png draws each PE's busy fraction over the program
// rectangle as a PNG: a title line (what ran, heatmap_title), the map with its axes in PE
// coordinates (black for idle, a viridis ramp from 0 to the busiest PE's fraction or to a
// fixed scale), and a colour bar labelled "busy fraction" on the right.
// stats_summary and stats_json digest the per-PE and per-link counters into the same figures:
// totals, busy/stall/idle fractions, the busiest PEs and per-direction link utilisation.
#pragma once

#include <string>

#include "wafer/arch/arch.hpp"
#include "wafer/sim/simulator.hpp"
#include "wafer/support/error.hpp"
#include "wafer/support/raster.hpp"

namespace wafer::sim {

// Writes the trace of `sim` (collected with Options::trace enabled) to `path`, each PE named
// by its coordinates plus the origin (where the program lies on a larger fabric).
Status write_trace_json(const Simulator& sim, const std::string& path, int origin_x = 0, int origin_y = 0);

struct HeatmapOptions {
  int min_width = 512;    // small grids are enlarged by an integer factor to at least this
  int max_side = 1200;    // large grids are averaged over square blocks to fit this
  bool legend = true;     // the colour bar right of the map
  double scale_max = 0;   // busy fraction at the top of the colour scale; 0: the busiest PE's
  std::string title;      // the line above the map; empty: none
};

// Pixel geometry of a heatmap: each map pixel block covers block x block PEs (averaged) and
// is drawn as scale x scale pixels; the map's top-left pixel is (map_x, map_y), below the
// title (drawn at title_scale, 0 without a title) and right of the y axis's labels;
// width/height are the whole image, axes, caption and colour bar included.
struct HeatmapGeometry {
  int block = 1;
  int scale = 1;
  int map_x = 0, map_y = 0;
  int map_width = 0, map_height = 0;
  int title_scale = 0;
  int width = 0, height = 0;
};
HeatmapGeometry heatmap_geometry(int grid_width, int grid_height, const HeatmapOptions& options = {});

// The picture write_heatmap_png writes; `stats` must hold per-PE counters.
Image heatmap_image(const Stats& stats, const HeatmapOptions& options = {});
// Writes the busy fraction (busy / cycles) of every PE in `stats` as a PNG at `path`.
Status write_heatmap_png(const Stats& stats, const std::string& path,
                         const HeatmapOptions& options = {});
// "gemv on wse3: 64x64 PEs, 6220 cycles" for what ran on `sim` (a kernel or a program).
std::string heatmap_title(const std::string& what, const Simulator& sim);
// The value of --heatmap-scale: a busy fraction in (0, 1], or "fixed" for 1.
Expected<double> parse_heatmap_scale(const std::string& text);

// A human summary of the counters; `arch` gives the clock for the time figure.
std::string stats_summary(const Stats& stats, const arch::Arch& arch);
// The same figures as one JSON object (text).
std::string stats_json(const Stats& stats);

}  // namespace wafer::sim
