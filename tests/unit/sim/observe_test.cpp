// Tests of the observability outputs on a tiny stream-fma run (3x2 PEs, 8 elements each):
// the Chrome trace parses and holds one task span per PE plus one vector op per PE (vmov in
// column 0, which sends x, vfma elsewhere), with filters and the event cap applied; the
// heatmap PNG has the signature and the IHDR size heatmap_geometry promises, its title takes a
// line above the map, and a fixed scale maps busy fractions to the expected colours; the
// summary and the JSON digest name the busiest PE and link.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "wafer/kernels/kernels.hpp"
#include "wafer/sim/observe.hpp"

namespace wafer::sim {
namespace {

using nlohmann::json;

std::unique_ptr<Simulator> run_tiny(const TraceOptions& trace) {
  auto arch = arch::preset("wse3");
  EXPECT_TRUE(arch.has_value());
  kernels::KernelParams p;
  p.kernel = "stream-fma";
  p.grid_w = 3;
  p.grid_h = 2;
  p.n = 8;
  Options o;
  o.threads = 1;
  o.trace = trace;
  o.trace.enabled = true;
  std::unique_ptr<Simulator> sim;
  auto r = kernels::run_kernel(*arch, p, o, &sim);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
  EXPECT_TRUE(r && r->verified);
  return sim;
}

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/wafer_observe_" + name; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

json trace_of(const Simulator& sim, const std::string& name) {
  const std::string path = temp_path(name);
  Status st = write_trace_json(sim, path);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return json::parse(read_file(path));
}

std::vector<json> events_with_phase(const json& trace, const std::string& ph) {
  std::vector<json> out;
  for (const json& e : trace["traceEvents"])
    if (e["ph"] == ph) out.push_back(e);
  return out;
}

int count_named(const std::vector<json>& events, const std::string& name) {
  int n = 0;
  for (const json& e : events) n += e["name"] == name;
  return n;
}

TEST(TraceJson, OneSpanPerTaskAndVectorOp) {
  auto sim = run_tiny({});
  ASSERT_TRUE(sim);
  const json trace = trace_of(*sim, "full.json");
  const auto spans = events_with_phase(trace, "X");
  ASSERT_EQ(spans.size(), 12u);
  EXPECT_EQ(count_named(spans, "main"), 6);
  EXPECT_EQ(count_named(spans, "vmov"), 2);
  EXPECT_EQ(count_named(spans, "vfma"), 4);
  for (const json& e : spans) {
    const int tid = e["tid"], pid = e["pid"];
    EXPECT_TRUE(pid == 0 || pid == 1);
    EXPECT_EQ(tid % 16, 0) << "main-thread spans only";
    if (e["name"] == "vmov") {
      EXPECT_EQ(tid, 0) << "x is sent by column 0";
    }
    if (e["name"] != "main") {
      EXPECT_EQ(e["cat"], "vector");
      EXPECT_EQ(e["args"]["task"], "main");
      EXPECT_GE(e["args"]["instruction"].get<int>(), 0);
    }
    const double cycles = e["args"]["cycles"];
    EXPECT_NEAR(e["dur"].get<double>(), cycles / 1.1 / 1000, 1e-6);
  }
  EXPECT_EQ(trace["displayTimeUnit"], "ns");
  EXPECT_EQ(trace["otherData"]["arch"], "wse3");
  EXPECT_DOUBLE_EQ(trace["otherData"]["clock_ghz"].get<double>(), 1.1);
  EXPECT_EQ(trace["otherData"]["dropped_events"], 0);
}

TEST(TraceJson, MetadataNamesRowsAndPes) {
  auto sim = run_tiny({});
  ASSERT_TRUE(sim);
  const auto meta = events_with_phase(trace_of(*sim, "meta.json"), "M");
  int rows = 0, pes = 0;
  bool found = false;
  for (const json& e : meta) {
    rows += e["name"] == "process_name";
    pes += e["name"] == "thread_name";
    if (e["name"] == "thread_name" && e["pid"] == 1 && e["tid"] == 32) {
      EXPECT_EQ(e["args"]["name"], "PE (2,1)");
      found = true;
    }
    if (e["name"] == "process_name" && e["pid"] == 1) {
      EXPECT_EQ(e["args"]["name"], "row 1");
    }
  }
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(pes, 6);
  EXPECT_TRUE(found);
}

TEST(TraceJson, RegionFilterAndEventCap) {
  TraceOptions region;
  region.region = {1, 0, 2, 1};  // PEs (1,0) and (2,0)
  auto sim = run_tiny(region);
  ASSERT_TRUE(sim);
  const auto spans = events_with_phase(trace_of(*sim, "region.json"), "X");
  ASSERT_EQ(spans.size(), 4u);
  for (const json& e : spans) {
    EXPECT_EQ(e["pid"], 0);
    EXPECT_TRUE(e["tid"] == 16 || e["tid"] == 32);
  }
  TraceOptions capped;
  capped.max_events = 5;
  sim = run_tiny(capped);
  ASSERT_TRUE(sim);
  const json trace = trace_of(*sim, "capped.json");
  EXPECT_EQ(events_with_phase(trace, "X").size(), 5u);
  EXPECT_EQ(trace["otherData"]["dropped_events"], 7);
}

TEST(TraceJson, MissingDirectoryIsAnError) {
  auto sim = run_tiny({});
  ASSERT_TRUE(sim);
  Status st = write_trace_json(*sim, "/nonexistent-dir/t.json");
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("'/nonexistent-dir/t.json'"), std::string::npos) << st.message();
}

uint32_t big_endian(const std::string& s, size_t at) {
  return uint32_t(uint8_t(s[at])) << 24 | uint32_t(uint8_t(s[at + 1])) << 16 |
         uint32_t(uint8_t(s[at + 2])) << 8 | uint32_t(uint8_t(s[at + 3]));
}

TEST(Heatmap, GeometryEnlargesSmallAndAveragesLargeGrids) {
  const HeatmapGeometry small = heatmap_geometry(3, 2);
  EXPECT_EQ(small.block, 1);
  EXPECT_EQ(small.scale, 171);  // ceil(512 / 3)
  EXPECT_EQ(small.map_width, 513);
  EXPECT_EQ(small.map_height, 342);
  EXPECT_EQ(small.map_x, 21) << "margin 8, the label '1' (5 px), tick and gaps";
  EXPECT_EQ(small.map_y, 8) << "no title";
  EXPECT_EQ(small.width, 21 + 513 + 16 + 77 + 8) << "the colour bar as wide as 'busy fraction'";
  EXPECT_EQ(small.height, 8 + 342 + 37) << "tick labels and the axes' caption below";
  const HeatmapGeometry wse3 = heatmap_geometry(762, 1172);
  EXPECT_EQ(wse3.block, 1);
  EXPECT_EQ(wse3.scale, 1);
  EXPECT_EQ(wse3.map_height, 1172);
  EXPECT_EQ(wse3.map_x, 8 + 23 + 8) << "labels up to '1171'";
  const HeatmapGeometry huge = heatmap_geometry(2000, 3000);
  EXPECT_EQ(huge.block, 3);
  EXPECT_EQ(huge.map_width, 667);
  EXPECT_EQ(huge.map_height, 1000);
  const HeatmapGeometry row = heatmap_geometry(64, 1, {512, 1200, true, 0, ""});
  EXPECT_EQ(row.scale, 8);
  EXPECT_EQ(row.height, 8 + 120 + 8) << "a flat map gets a colour bar 120 px tall";
  const HeatmapGeometry bare = heatmap_geometry(64, 1, {512, 1200, false, 0, ""});
  EXPECT_EQ(bare.width, 8 + 13 + 512 + 8) << "no colour bar";
}

TEST(Heatmap, TitleTakesALineAboveTheMap) {
  HeatmapOptions o;
  o.title = "stream-fma on wse3: 3x2 PEs, 40 cycles";
  const HeatmapGeometry g = heatmap_geometry(3, 2, o);
  EXPECT_EQ(g.title_scale, 2) << "the title fits at twice the font size";
  EXPECT_EQ(g.map_y, 8 + 16 + 8);
  EXPECT_EQ(g.height, heatmap_geometry(3, 2).height + 24);
  o.title = std::string(60, 'x');
  EXPECT_EQ(heatmap_geometry(3, 2, o).title_scale, 1) << "too wide at twice the size";
}

// A 3x1 grid whose PEs were busy for 50, 100 and 0 of 200 cycles.
Stats three_pes() {
  Stats s;
  s.width = 3;
  s.height = 1;
  s.cycles = 200;
  s.busy = {50, 100, 0};
  s.stall = {0, 0, 0};
  s.link_out.assign(3, {});
  return s;
}

Rgb centre_of_pe(const Image& img, const HeatmapGeometry& g, int x) {
  return img.at(g.map_x + x * g.scale + g.scale / 2, g.map_y + g.scale / 2);
}

TEST(Heatmap, FixedScaleMapsBusyFractionsToTheirColours) {
  const Stats s = three_pes();
  HeatmapOptions o;
  o.scale_max = 1;  // --heatmap-scale fixed
  o.title = "t";
  const Image fixed = heatmap_image(s, o);
  const HeatmapGeometry g = heatmap_geometry(3, 1, o);
  ASSERT_EQ(fixed.width(), g.width);
  ASSERT_EQ(fixed.height(), g.height);
  EXPECT_EQ(centre_of_pe(fixed, g, 0), (Rgb{59, 82, 139})) << "0.25: viridis at 1/4";
  EXPECT_EQ(centre_of_pe(fixed, g, 1), (Rgb{33, 144, 140})) << "0.5: viridis at 1/2";
  EXPECT_EQ(centre_of_pe(fixed, g, 2), (Rgb{0, 0, 0})) << "idle";
  EXPECT_EQ(fixed.at(g.map_x, g.map_y - 1), (Rgb{0, 0, 0})) << "the map's frame";
  EXPECT_EQ(fixed.at(g.map_x, g.map_y - 3), (Rgb{255, 255, 255})) << "white between title and map";

  const Image own = heatmap_image(s, {});  // scaled to the busiest PE (0.5)
  const HeatmapGeometry h = heatmap_geometry(3, 1);
  EXPECT_EQ(centre_of_pe(own, h, 0), (Rgb{33, 144, 140}));
  EXPECT_EQ(centre_of_pe(own, h, 1), (Rgb{253, 231, 37}));
}

TEST(Heatmap, ScaleFlagValues) {
  EXPECT_EQ(*parse_heatmap_scale("fixed"), 1.0);
  EXPECT_EQ(*parse_heatmap_scale("0.25"), 0.25);
  for (const char* bad : {"0", "1.5", "-0.5", "abc", "", "nan", "0.5x"}) {
    auto r = parse_heatmap_scale(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.message().find("expected a busy fraction in (0, 1] or 'fixed'"), std::string::npos) << r.message();
  }
}

TEST(Heatmap, PngHasSignatureAndComputedSize) {
  auto sim = run_tiny({});
  ASSERT_TRUE(sim);
  const std::string path = temp_path("heat.png");
  HeatmapOptions o;
  o.title = heatmap_title("stream-fma", *sim);
  EXPECT_EQ(o.title, fmt::format("stream-fma on wse3: 3x2 PEs, {} cycles", sim->stats().cycles));
  Status st = write_heatmap_png(sim->stats(), path, o);
  ASSERT_TRUE(st.is_ok()) << st.message();
  const std::string png = read_file(path);
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  const HeatmapGeometry g = heatmap_geometry(3, 2, o);
  EXPECT_EQ(big_endian(png, 16), uint32_t(g.width));
  EXPECT_EQ(big_endian(png, 20), uint32_t(g.height));
  EXPECT_EQ(big_endian(png, 20), 411u);
}

TEST(Heatmap, MissingDirectoryNamesThePath) {
  auto sim = run_tiny({});
  ASSERT_TRUE(sim);
  Status st = write_heatmap_png(sim->stats(), "/nonexistent-dir/h.png");
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("'/nonexistent-dir/h.png'"), std::string::npos) << st.message();
  EXPECT_EQ(write_heatmap_png(Stats{}, temp_path("empty.png")).is_ok(), false);
}

TEST(StatsSummary, NamesTheBusiestPeAndLink) {
  auto sim = run_tiny({});
  ASSERT_TRUE(sim);
  const Stats& s = sim->stats();
  ASSERT_EQ(s.busy.size(), 6u);
  // Column 0 also sends x, so it is at least as busy as the rest; ties go to the lowest index.
  const uint32_t top = *std::max_element(s.busy.begin(), s.busy.end());
  EXPECT_EQ(s.busy[0], top);
  const std::string text = stats_summary(s, sim->arch());
  EXPECT_NE(text.find(fmt::format("stats: {} cycles", s.cycles)), std::string::npos) << text;
  EXPECT_NE(text.find(fmt::format("busiest PEs: (0,0) {:.3f}", double(top) / double(s.cycles))),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("busiest link: E port of PE (0,0)"), std::string::npos) << text;
  EXPECT_NE(text.find(fmt::format("wavelets moved   {}", s.wavelets_moved)), std::string::npos) << text;

  const json j = json::parse(stats_json(s));
  EXPECT_EQ(j["cycles"], s.cycles);
  EXPECT_EQ(j["pes"], 6);
  EXPECT_EQ(j["busiest_pes"].size(), 5u);
  EXPECT_EQ(j["busiest_pes"][0]["x"], 0);
  EXPECT_EQ(j["busiest_pes"][0]["y"], 0);
  EXPECT_DOUBLE_EQ(j["busiest_pes"][0]["busy"].get<double>(), double(top) / double(s.cycles));
  EXPECT_EQ(j["busiest_link"]["port"], "E");
  EXPECT_EQ(j["links"]["N"]["mean"], 0.0) << "x flows east only";
  EXPECT_DOUBLE_EQ(j["links"]["E"]["max"]["utilisation"].get<double>(),
                   double(s.link_out[0][1]) / double(s.cycles));
}

}  // namespace
}  // namespace wafer::sim
