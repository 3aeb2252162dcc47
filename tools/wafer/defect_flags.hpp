// `--defects MAP | --defect-density D` for verbs that run programs (`kernel`, `run`): the program
// runs on a repaired defective wafer instead of a perfect one.
//
// The defect map is loaded (fabric::load_defect_map) or drawn from the density with the
// run's seed (fabric::generate_defects on the arch's default geometry), repaired with the
// chosen scheme (an unrepairable map is an error saying where spares ran out), and turned
// into the extra physical hops of every logical link of the program's rectangle, which the
// engine charges as link latency. Outputs must not change; cycles may.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "wafer/arch/arch.hpp"
#include "wafer/fabric/defects.hpp"
#include "wafer/fabric/repair.hpp"
#include "wafer/support/error.hpp"

namespace wafer::cli {

// "poisson" or "negbin".
const char* model_kind_name(fabric::DefectModelKind kind);

struct DefectFlags {
  std::string map_file;
  std::optional<double> density;
  std::string model = model_kind_name(fabric::DefectModel{}.kind);
  std::optional<double> alpha;  // unset: the library's default
  std::string scheme = fabric::scheme_name(fabric::RepairOptions{}.scheme);
  bool requested() const { return !map_file.empty() || density.has_value(); }
};

struct RepairedWafer {
  int64_t defects = 0;
  fabric::RepairResult repair;
  std::shared_ptr<const fabric::LinkExtraHops> hops;  // for the program's rectangle
  int64_t longer_links = 0;                            // inside the rectangle
  int extra_hops_max = 0;
};

void add_defect_flags(CLI::App& cmd, DefectFlags& flags);
// Warns (stderr) about --alpha where it has no effect: without --defect-density, or with the
// poisson model.
void check_defect_flags(const DefectFlags& flags);
Expected<RepairedWafer> repaired_wafer(const DefectFlags& flags, const arch::Arch& arch,
                                       uint64_t seed, int width, int height);
std::string describe_defects(const DefectFlags& flags, const RepairedWafer& w);

// A run on the repaired wafer beside the same run on a perfect one.
struct RepairCost {
  uint64_t cycles_perfect = 0, cycles = 0;
  bool outputs_identical = false;
};
// "perfect wafer: 6094 cycles; this wafer +12 (+0.20%), outputs identical".
std::string describe_repair_cost(const RepairCost& c);
// The `defects` object of --json: the wafer's figures and, with `cost`, the comparison.
nlohmann::ordered_json defects_json(const RepairedWafer& w, const RepairCost* cost);

}  // namespace wafer::cli
