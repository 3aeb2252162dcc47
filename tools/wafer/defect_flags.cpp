// Defective-wafer flags: map or density -> repair -> per-link extra hops; see defect_flags.hpp.
#include "defect_flags.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "commands.hpp"
#include "run_flags.hpp"
#include "wafer/fabric/defects.hpp"

namespace wafer::cli {

const char* model_kind_name(fabric::DefectModelKind kind) {
  return kind == fabric::DefectModelKind::poisson ? "poisson" : "negbin";
}

void add_defect_flags(CLI::App& cmd, DefectFlags& f) {
  auto* map = cmd.add_option("--defects", f.map_file, "run on a wafer with this defect map (docs/yield.md)");
  cmd.add_option("--defect-density", f.density, "run on a wafer with defects drawn at D per mm² (seeded by --seed)")
      ->excludes(map);
  cmd.add_option("--defect-model", f.model, "poisson or negbin")
      ->check(choice_validator({"poisson", "negbin"}))
      ->capture_default_str();
  cmd.add_option("--alpha", f.alpha,
                 fmt::format("negative binomial clustering parameter (default {})", fabric::DefectModel{}.alpha));
  cmd.add_option("--scheme", f.scheme, "repair scheme: row-shift or shift-2d")
      ->check(choice_validator({"row-shift", "shift-2d"}))
      ->capture_default_str();
}

void check_defect_flags(const DefectFlags& f) {
  if (f.alpha && (!f.density || f.model != "negbin"))
    warn("--alpha has no effect without --defect-density and --defect-model negbin");
}

namespace {

Expected<fabric::DefectMap> defect_map(const DefectFlags& f, const fabric::WaferGeometry& g,
                                       uint64_t seed) {
  if (!f.map_file.empty()) return fabric::load_defect_map(f.map_file, g);
  auto kind = fabric::parse_model_kind(f.model);
  if (!kind) return kind.status().with_context("--defect-model");
  fabric::DefectModel m;
  m.kind = *kind;
  m.density_per_mm2 = *f.density;
  m.alpha = f.alpha.value_or(m.alpha);
  WAFER_TRY(fabric::validate(m, g));
  return fabric::generate_defects(g, m, seed);
}

}  // namespace

Expected<RepairedWafer> repaired_wafer(const DefectFlags& f, const arch::Arch& arch, uint64_t seed,
                                       int width, int height) {
  const fabric::WaferGeometry g = fabric::default_geometry(arch);
  auto map = defect_map(f, g, seed);
  if (!map) return map.status();
  auto scheme = fabric::parse_scheme(f.scheme);
  if (!scheme) return scheme.status().with_context("--scheme");
  fabric::RepairOptions opts;
  opts.scheme = *scheme;
  auto repaired = fabric::repair(g, *map, opts);
  if (!repaired) return repaired.status().with_context("the defective wafer cannot be repaired");
  RepairedWafer w;
  w.defects = int64_t(map->defects.size());
  w.repair = std::move(*repaired);
  auto hops = std::make_shared<fabric::LinkExtraHops>(
      fabric::link_extra_hops(g, w.repair.map, width, height));
  for (const auto* v : {&hops->east, &hops->south}) {
    for (uint16_t h : *v) {
      w.longer_links += h > 0;
      w.extra_hops_max = std::max(w.extra_hops_max, int(h));
    }
  }
  w.hops = std::move(hops);
  return w;
}

std::string describe_defects(const DefectFlags& f, const RepairedWafer& w) {
  const std::string source = f.map_file.empty()
                                 ? fmt::format("{} model, {} /mm²", f.model, f.density.value_or(0))
                                 : fmt::format("map {}", f.map_file);
  return fmt::format("{} defects ({}), {} dead PEs, repaired by {}; {} links of the grid longer, "
                     "by up to {} hops",
                     w.defects, source, w.repair.dead_pes, fabric::scheme_name(w.repair.scheme),
                     w.longer_links, w.extra_hops_max);
}

std::string describe_repair_cost(const RepairCost& c) {
  const int64_t diff = int64_t(c.cycles) - int64_t(c.cycles_perfect);
  return fmt::format("perfect wafer: {} cycles; this wafer {:+} ({:+.2f}%), outputs {}", c.cycles_perfect, diff,
                     100.0 * double(diff) / double(std::max<uint64_t>(1, c.cycles_perfect)),
                     c.outputs_identical ? "identical" : "DIFFERENT");
}

nlohmann::ordered_json defects_json(const RepairedWafer& w, const RepairCost* cost) {
  nlohmann::ordered_json j = {{"defects", w.defects},
                              {"dead_pes", w.repair.dead_pes},
                              {"scheme", fabric::scheme_name(w.repair.scheme)},
                              {"longer_links", w.longer_links},
                              {"extra_hops_max", w.extra_hops_max}};
  if (cost) {
    j["cycles_perfect"] = cost->cycles_perfect;
    j["cycle_difference"] = int64_t(cost->cycles) - int64_t(cost->cycles_perfect);
    j["outputs_identical"] = cost->outputs_identical;
  }
  return j;
}

}  // namespace wafer::cli
