// Physical wafer geometry, defect generation and the defect map text format; see defects.hpp.
//
// Generation splits the physical array into cluster blocks; each block draws a density
// multiplier g (1 for Poisson, Gamma(alpha)/alpha for the negative binomial model, mean 1),
// then a Poisson number of defects with mean g x density x core area x PEs in the block,
// placed uniformly in the block with a kind drawn from the kind shares. Poisson draws use
// Knuth's product method in chunks of mean 30 and gamma draws Marsaglia-Tsang, so only the
// generator below and the C math functions decide the result.
#include "wafer/fabric/defects.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <numbers>
#include <optional>
#include <sstream>
#include <tuple>

#include "wafer/support/atomic_file.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer::fabric {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

constexpr const char* kHeader = "wafer-defects";

const char* kind_word(DefectKind k) {
  switch (k) {
    case DefectKind::core:
      return "core";
    case DefectKind::router:
      return "router";
    default:
      return "link";
  }
}

DefectKind draw_kind(Rng& rng, const DefectModel& m) {
  double total = m.kind_share[0] + m.kind_share[1] + m.kind_share[2] + m.kind_share[3];
  double u = rng.uniform() * total;
  for (int k = 0; k < 3; ++k) {
    if (u < m.kind_share[k]) return DefectKind(k);
    u -= m.kind_share[k];
  }
  return DefectKind::link_south;
}

// Places the defects of block [x0, x1) x [y0, y1).
void fill_block(Rng& rng, const DefectModel& m, double pe_mean, int x0, int x1, int y0, int y1,
                std::vector<Defect>& out) {
  int64_t pes = int64_t(x1 - x0) * (y1 - y0);
  if (pes == 0) return;
  double g = m.kind == DefectModelKind::negbin ? rng.gamma(m.alpha) / m.alpha : 1.0;
  uint64_t n = rng.poisson(g * pe_mean * double(pes));
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t at = rng.below(uint64_t(pes));
    DefectKind kind = draw_kind(rng, m);
    out.push_back({kind, x0 + int(at % uint64_t(x1 - x0)), y0 + int(at / uint64_t(x1 - x0))});
  }
}

Status parse_error(const std::string& origin, int line, const std::string& what) {
  return make_error("{}:{}: {}", origin, line, what);
}

Expected<int> parse_int(const std::string& word, const std::string& what) {
  int v = 0;
  const char* end = word.data() + word.size();
  auto [ptr, ec] = std::from_chars(word.data(), end, v);
  if (ec != std::errc() || ptr != end) return make_error("{} '{}' is not an integer", what, word);
  return v;
}

std::vector<std::string> words_of(const std::string& line) {
  std::string text = line.substr(0, line.find('#'));
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

Expected<DefectMap> parse_header(const std::vector<std::string>& w) {
  if (w.size() != 4 || w[0] != kHeader || w[1] != "v1")
    return make_error("expected the header 'wafer-defects v1 WIDTH HEIGHT'");
  auto width = parse_int(w[2], "width");
  if (!width) return width.status();
  auto height = parse_int(w[3], "height");
  if (!height) return height.status();
  if (*width < 1 || *height < 1 || *width > kMaxWaferSide || *height > kMaxWaferSide)
    return make_error("wafer size {}x{} is not between 1 and {} per side", *width, *height,
                      kMaxWaferSide);
  return DefectMap{*width, *height, {}};
}

Expected<DefectKind> parse_kind(const std::vector<std::string>& w) {
  if (w[0] == "core" || w[0] == "router") {
    if (w.size() != 3) return make_error("expected '{} X Y'", w[0]);
    return w[0] == "core" ? DefectKind::core : DefectKind::router;
  }
  if (w[0] != "link")
    return make_error("unknown defect kind '{}' (expected core, router or link)", w[0]);
  if (w.size() != 4 || (w[3] != "E" && w[3] != "S")) return make_error("expected 'link X Y E|S'");
  return w[3] == "E" ? DefectKind::link_east : DefectKind::link_south;
}

Expected<Defect> parse_defect(const std::vector<std::string>& w, const DefectMap& map) {
  auto kind = parse_kind(w);
  if (!kind) return kind.status();
  auto x = parse_int(w[1], "x");
  if (!x) return x.status();
  auto y = parse_int(w[2], "y");
  if (!y) return y.status();
  if (*x < 0 || *x >= map.width || *y < 0 || *y >= map.height)
    return make_error("({}, {}) is outside the {}x{} wafer", *x, *y, map.width, map.height);
  return Defect{*kind, *x, *y};
}

}  // namespace

int WaferGeometry::segment_end(int j) const {
  return std::min(segment_begin(j + 1), physical_width());
}

WaferGeometry default_geometry(const arch::Arch& a) {
  WaferGeometry g;
  g.logical_width = a.fabric_width;
  g.logical_height = a.fabric_height;
  return g;
}

Status check_range(const std::string& what, double value, double lo, double hi,
                   const std::string& unit) {
  if (value >= lo && value <= hi) return Status::ok();
  const std::string u = unit.empty() ? "" : " " + unit;
  return make_error("{} {}{} is out of range (must be {}..{}{})", what, value, u, lo, hi, u);
}

// Each count is bounded before the physical sizes are computed from it, so they cannot overflow.
Status validate(const WaferGeometry& g) {
  struct Bound {
    const char* name;
    int value, lo;
  };
  for (const Bound& b : {Bound{"logical_width", g.logical_width, 1},
                         Bound{"logical_height", g.logical_height, 1},
                         Bound{"segment_logical", g.segment_logical, 1},
                         Bound{"segment_spares", g.segment_spares, 0},
                         Bound{"spare_rows", g.spare_rows, 0}})
    WAFER_TRY(check_range(b.name, b.value, b.lo, kMaxWaferSide).with_context("wafer geometry"));
  if (g.physical_width() > kMaxWaferSide || g.physical_height() > kMaxWaferSide)
    return make_error("wafer geometry: physical {}x{} exceeds {} per side", g.physical_width(),
                      g.physical_height(), kMaxWaferSide);
  return check_range("core area", g.core_area_mm2, kMinCoreArea, kMaxCoreArea, "mm²")
      .with_context("wafer geometry");
}

Status validate(const DefectModel& m, const WaferGeometry& g) {
  double d = m.density_per_mm2;
  if (!std::isfinite(d) || d < 0)
    return make_error("defect density {} /mm² must be finite and >= 0", d);
  if (d * g.core_area_mm2 > 1)
    return make_error(
        "defect density {} /mm² gives {:.3g} defects per {} mm² core; at most 1 per core is "
        "meaningful",
        d, d * g.core_area_mm2, g.core_area_mm2);
  if (!std::isfinite(m.alpha) || m.alpha <= 0 || m.alpha > 1e6)
    return make_error("clustering alpha {} must be > 0 and at most 1e6", m.alpha);
  if (m.cluster_columns < 1 || m.cluster_rows < 1)
    return make_error("cluster blocks {}x{} must be at least 1x1", m.cluster_columns,
                      m.cluster_rows);
  double total = 0;
  for (double s : m.kind_share) {
    if (!std::isfinite(s) || s < 0) return make_error("defect kind shares must be finite and >= 0");
    total += s;
  }
  if (total <= 0) return make_error("defect kind shares must not all be 0");
  return Status::ok();
}

Expected<DefectModelKind> parse_model_kind(const std::string& name) {
  if (name == "poisson") return DefectModelKind::poisson;
  if (name == "negbin") return DefectModelKind::negbin;
  return make_error("unknown defect model '{}' (expected poisson or negbin)", name);
}

Rng::Rng(uint64_t seed) {
  for (uint64_t& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return double(next() >> 11) * 0x1.0p-53; }

uint64_t Rng::below(uint64_t n) {
  return uint64_t((static_cast<unsigned __int128>(next()) * n) >> 64);
}

uint64_t Rng::poisson(double mean) {
  constexpr double kChunk = 30;
  uint64_t n = 0;
  for (; mean > 0; mean -= kChunk) {
    double limit = std::exp(-std::min(mean, kChunk));
    for (double p = uniform(); p > limit; p *= uniform()) ++n;
  }
  return n;
}

double Rng::normal() {
  double u1 = 1.0 - uniform();
  double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double Rng::gamma(double shape) {
  if (shape < 1) return gamma(shape + 1) * std::pow(1.0 - uniform(), 1.0 / shape);
  double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = normal(), v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = 1.0 - uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

uint64_t wafer_seed(uint64_t seed, uint64_t index) {
  uint64_t state = seed ^ (index * 0xD1B54A32D192ED03ull);
  return splitmix64(state);
}

DefectMap generate_defects(const WaferGeometry& g, const DefectModel& m, uint64_t seed) {
  DefectMap map{g.physical_width(), g.physical_height(), {}};
  Rng rng(seed);
  double pe_mean = m.density_per_mm2 * g.core_area_mm2;
  int bx = std::min(m.cluster_columns, map.width), by = std::min(m.cluster_rows, map.height);
  for (int j = 0; j < by; ++j)
    for (int i = 0; i < bx; ++i)
      fill_block(rng, m, pe_mean, map.width * i / bx, map.width * (i + 1) / bx, map.height * j / by,
                 map.height * (j + 1) / by, map.defects);
  return map;
}

std::vector<uint8_t> dead_pes(const DefectMap& map) {
  std::vector<uint8_t> dead(size_t(map.width) * map.height, 0);
  for (const Defect& d : map.defects) dead[size_t(d.y) * map.width + d.x] = 1;
  return dead;
}

DefectMap distinct_parts(const DefectMap& map) {
  DefectMap out{map.width, map.height, {}};
  std::vector<uint8_t> broken(size_t(map.width) * map.height, 0);  // a bit per kind
  for (const Defect& d : map.defects) {
    uint8_t& parts = broken[size_t(d.y) * map.width + d.x];
    const uint8_t bit = uint8_t(1u << int(d.kind));
    if (parts & bit) continue;
    parts |= bit;
    out.defects.push_back(d);
  }
  return out;
}

std::string format_defect_map(const DefectMap& map) {
  std::string out = fmt::format("{} v1 {} {}\n", kHeader, map.width, map.height);
  for (const Defect& d : distinct_parts(map).defects) {
    out += fmt::format("{} {} {}", kind_word(d.kind), d.x, d.y);
    if (d.kind == DefectKind::link_east) out += " E";
    if (d.kind == DefectKind::link_south) out += " S";
    out += '\n';
  }
  return out;
}

Expected<DefectMap> parse_defect_map(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::optional<DefectMap> map;
  std::map<std::tuple<DefectKind, int, int>, int> first_line;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    auto words = words_of(line);
    if (words.empty()) continue;
    if (!map) {
      auto header = parse_header(words);
      if (!header) return parse_error(origin, line_no, header.message());
      map = *header;
      continue;
    }
    auto defect = parse_defect(words, *map);
    if (!defect) return parse_error(origin, line_no, defect.message());
    auto [at, fresh] = first_line.try_emplace({defect->kind, defect->x, defect->y}, line_no);
    if (!fresh)
      return parse_error(origin, line_no,
                         fmt::format("duplicate defect '{}' (first on line {})",
                                     fmt::join(words, " "), at->second));
    map->defects.push_back(*defect);
  }
  if (!map)
    return make_error("{}: empty defect map (expected the header 'wafer-defects v1 WIDTH HEIGHT')",
                      origin);
  return *map;
}

Status save_defect_map(const DefectMap& map, const std::string& path) {
  return write_file_atomically(path, "defect map", format_defect_map(map));
}

Expected<DefectMap> load_defect_map(const std::string& path, const WaferGeometry& g) {
  auto text = read_text_file(path, "defect map");
  if (!text) return text.status();
  auto map = parse_defect_map(*text, path);
  if (!map) return map;
  if (map->width != g.physical_width() || map->height != g.physical_height())
    return make_error("{}: the map is for a {}x{} wafer but this physical fabric is {}x{}", path,
                      map->width, map->height, g.physical_width(), g.physical_height());
  return map;
}

}  // namespace wafer::fabric
