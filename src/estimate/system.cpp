// The system zoo (GPUs, CS-2/CS-3 from the arch presets, an LPU-style chip), system files,
// and the arithmetic that turns an arch into a wafer system.
//
// Device facts (peak, memory, bandwidth, links, power) are the published ones of
// ../shared/facts/wse.md. The efficiencies are properties of a hardware + software pair:
// the A100 entry is Megatron-LM as of 2021 (unfused softmax, no sequence parallelism, no
// communication overlap), the Hopper/Blackwell entries Megatron-Core as of 2024 (flash
// attention, sequence parallelism, overlapped TP and DP communication); their values come
// from the fit against ../shared/validation/gpu_training_calibration.csv that
// docs/estimator.md documents. Prices are documented assumptions, overridable.
#include "wafer/estimate/system.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/ranges.h>

#include "wafer/support/suggest.hpp"

namespace wafer::estimate {

namespace {

constexpr const char* kGpuFacts =
    "NVIDIA datasheets via ../shared/facts/wse.md; efficiencies fitted to "
    "../shared/validation/gpu_training_calibration.csv (docs/estimator.md)";

// Of the HBM datasheet bandwidth, what inference's streaming reads of weights and KV cache
// achieve: an assumption (no measurement in ../shared/facts or ../shared/validation), below
// the datasheet because DRAM refresh, page misses and kernel tails cost bandwidth that a
// datasheet peak does not count. docs/estimator.md says so; a system file changes it.
constexpr double kDecodeMemoryEfficiency = 0.8;

// Megatron-LM 2021 on A100 (Narayanan et al. SC21): unfused softmax, no SP, no overlap.
System a100() {
  System s;
  s.name = "a100";
  s.source = kGpuFacts;
  s.peak_tflops_bf16 = 312;
  s.memory_gb = 80;
  s.memory_tb_per_s = 2.039;
  s.power_kw = 0.4;
  s.dollars_per_hour = 1.8;
  s.scale_up_size = 8;
  s.scale_up_gb_per_s = 300;
  s.scale_out_gb_per_s = 25;  // 200 Gb/s HDR InfiniBand per GPU (Selene)
  s.link_latency_us = 5;
  s.max_count = 100000;
  s.gemm_efficiency = 0.78;
  s.gemm_half_width = 96;
  s.attention_efficiency = 0;
  s.comm_efficiency = 0.8;
  s.layer_overhead_us = 100;
  s.memory_efficiency = kDecodeMemoryEfficiency;
  return s;
}

// Megatron-Core 2024 on Hopper: flash attention, SP, TP/DP communication overlap.
System h100() {
  System s = a100();
  s.name = "h100";
  s.peak_tflops_bf16 = 989;
  s.peak_tflops_fp8 = 1979;
  s.memory_gb = 80;
  s.memory_tb_per_s = 3.35;
  s.power_kw = 0.7;
  s.dollars_per_hour = 2.5;
  s.scale_up_gb_per_s = 450;
  s.scale_out_gb_per_s = 50;  // 400 Gb/s NDR per GPU
  s.gemm_efficiency = 0.64;
  s.gemm_half_width = 0;
  s.attention_efficiency = 0.3;
  s.layer_overhead_us = 300;
  s.tp_overlap = 0.5;
  s.dp_overlap = 0.9;
  s.sequence_parallel = true;
  return s;
}

System h200() {
  System s = h100();
  s.name = "h200";
  s.memory_gb = 141;
  s.memory_tb_per_s = 4.8;
  s.dollars_per_hour = 3.5;
  return s;
}

// Blackwell: no published training measurement in the calibration file; Hopper's
// efficiencies are assumed.
System b200() {
  System s = h100();
  s.name = "b200";
  s.peak_tflops_bf16 = 2250;
  s.peak_tflops_fp8 = 4500;
  s.memory_gb = 180;
  s.memory_tb_per_s = 8;
  s.power_kw = 1.0;
  s.dollars_per_hour = 5.5;
  s.scale_up_gb_per_s = 900;
  return s;
}

System cerebras(const char* name, const char* preset_name, double power_kw, double dollars,
                int64_t max_count) {
  Expected<arch::Arch> arch = arch::preset(preset_name);
  System s = wafer_system(*arch, name,
                          "arch preset " + std::string(preset_name) +
                              "; power, cluster size and MemoryX from ../shared/facts/wse.md");
  s.power_kw = power_kw;
  s.dollars_per_hour = dollars;
  s.max_count = max_count;
  return s;
}

// Groq-style LPU: weights in on-chip SRAM, chips pipelined over direct chip-to-chip links.
System lpu() {
  System s;
  s.name = "lpu";
  s.kind = DeviceKind::lpu;
  s.source = "Groq LPU facts via ../shared/facts/wse.md; link and power are assumptions";
  s.peak_tflops_bf16 = 188;
  s.memory_gb = 0.23;
  s.memory_tb_per_s = 80;
  s.power_kw = 0.3;
  s.dollars_per_hour = 0.8;
  s.scale_up_size = 1;
  s.scale_out_gb_per_s = 60;
  s.link_latency_us = 1;
  s.max_count = 100000;
  s.gemm_efficiency = 0.8;
  s.comm_efficiency = 0.9;
  s.memory_usable = 1.0;
  return s;
}

// Bounds that keep every estimate finite: a rate or size within [kMinRate, kMaxRate] in its
// unit (TFLOP/s, GB, TB/s, GB/s, kW), an additive cost or a price within [0, kMaxRate], a
// fraction that divides a rate at least kMinFraction. Estimates divide work (up to ~1e25
// FLOPs or bytes per step) by rates and multiply times by power, price and device count, so
// 1e-300 or 1e308 (both valid TOML numbers, as are inf and nan) would overflow to inf or
// turn 0 x inf into nan; these bounds leave hundreds of orders of magnitude to spare. The
// ranges of system_params() are the widest these allow (0 where a value may be 0 or is
// unused by a kind); validate() also checks the finer rules.
constexpr double kMinRate = 1e-6;
constexpr double kMaxRate = 1e9;
constexpr double kMinFraction = 1e-3;
constexpr double kMaxCount = 1e9;  // devices in a domain or a cluster

Status set_arch(System& s, const std::string& text) {
  Expected<System> rebuilt = with_arch(s, text);
  if (!rebuilt) return rebuilt.status();
  s = *rebuilt;
  return Status::ok();
}

}  // namespace

const ParamTable<System>& system_params() {
  using S = System;
  const Range kRate = {kMinRate, kMaxRate}, kOptional = {0, kMaxRate};
  const Range kDivides = {kMinFraction, 1}, kFraction = {0, 1};
  const Choice<S> arch_choice = {&set_arch, [](const S& s) { return s.arch; }, {}};
  static const ParamTable<S> table = {
      {"name", &S::name, "", "name in reports (default: the file name)"},
      {"kind", choice(&S::kind, {DeviceKind::gpu, DeviceKind::wafer, DeviceKind::lpu}), "",
       "device kind: which estimate model prices it"},
      {"source", &S::source, "", "where the values come from"},
      {"peak_tflops_bf16", &S::peak_tflops_bf16, "TFLOP/s",
       "dense bf16 peak of one device; fp16 is the same rate", kRate},
      {"peak_tflops_fp8", &S::peak_tflops_fp8, "TFLOP/s",
       "dense fp8 peak; 0: no fp8 (otherwise at least 1e-6)", kOptional},
      {"memory_gb", &S::memory_gb, "GB", "memory of one device: HBM, or on-chip SRAM", kRate},
      {"memory_tb_per_s", &S::memory_tb_per_s, "TB/s", "bandwidth of that memory", kRate},
      {"power_kw", &S::power_kw, "kW", "power of one device (wafer: the whole system)", kRate},
      {"dollars_per_hour", &S::dollars_per_hour, "$/h", "price of one device-hour", kOptional},
      {"scale_up_size", &S::scale_up_size, "devices", "devices per NVLink domain (node)",
       {1, kMaxCount}},
      {"scale_up_gb_per_s", &S::scale_up_gb_per_s, "GB/s",
       "NVLink bandwidth per device and direction; 0 only with one device per domain",
       kOptional},
      {"scale_out_gb_per_s", &S::scale_out_gb_per_s, "GB/s",
       "scale-out link (NIC, chip-to-chip) per device and direction", kRate},
      {"link_latency_us", &S::link_latency_us, "us", "per message on the scale-out network",
       kOptional},
      {"max_count", &S::max_count, "devices", "largest cluster of this system", {1, kMaxCount}},
      {"gemm_efficiency", &S::gemm_efficiency, "fraction",
       "of peak, for matmuls wide enough to fill the device (at least 0.001; wafers price "
       "matmuls from their arch)",
       kFraction},
      {"gemm_half_width", &S::gemm_half_width, "elements",
       "per-device matmul width at which efficiency halves; 0: no width effect", kOptional},
      {"attention_efficiency", &S::attention_efficiency, "fraction",
       "fused (flash) attention, of peak; 0: unfused softmax (otherwise at least 0.001)",
       kFraction},
      {"comm_efficiency", &S::comm_efficiency, "fraction",
       "of link bandwidth, achieved by collectives", kDivides},
      {"layer_overhead_us", &S::layer_overhead_us, "us",
       "fixed time per layer and pass (launches, syncs)", kOptional},
      {"tp_overlap", &S::tp_overlap, "fraction", "of tensor-parallel communication hidden",
       kFraction},
      {"dp_overlap", &S::dp_overlap, "fraction", "of data-parallel communication hidden",
       kFraction},
      {"sequence_parallel", &S::sequence_parallel, "",
       "norms and dropout sharded across tensor-parallel ranks"},
      {"memory_usable", &S::memory_usable, "fraction", "of memory_gb the framework can use",
       kDivides},
      {"memory_efficiency", &S::memory_efficiency, "fraction",
       "of memory_tb_per_s, achieved by inference's streaming reads of weights and KV cache",
       kDivides},
      {"arch", arch_choice, "",
       "a wafer system's arch (preset or arch file): rebuilds peak, memory and I/O from it"},
      {"io_gb_per_s", &S::io_gb_per_s, "GB/s",
       "a wafer system's I/O (weights in, gradients out); 0 for other kinds", kOptional},
      {"external_memory_tb", &S::external_memory_tb, "TB",
       "a wafer system's MemoryX capacity; 0 for other kinds", kOptional},
  };
  return table;
}

namespace {

// The order keys apply in, whatever their order in the file (the readers give TOML and JSON
// keys sorted by name, not in document order): `base` (the starting system), then `kind`,
// then `arch` (which rebuilds a wafer system's rates from the arch, so it needs kind =
// "wafer" already and must come before the values that override it), then the rest.
int apply_rank(const std::string& key) {
  if (key == "base") return 0;
  if (key == "kind") return 1;
  if (key == "arch") return 2;
  return 3;
}

Expected<System> apply_entries(const ConfigEntries& entries, const std::string& origin) {
  auto base = std::find_if(entries.begin(), entries.end(),
                           [](const ConfigEntry& e) { return e.key == "base"; });
  if (base == entries.end())
    return make_error("{}: missing key 'base' (a system to start from: {})", origin,
                      fmt::join(system_names(), ", "));
  if (base->type != ConfigEntry::Type::string)
    return wrong_type(*base, "a system name").with_context(base->where + ": key 'base'");
  Expected<System> s = zoo_system(base->text);
  if (!s) return s.status().with_context(base->where + ": key 'base'");
  s->name = std::filesystem::path(origin).stem().string();
  std::vector<const ConfigEntry*> ordered;
  for (const ConfigEntry& e : entries)
    if (e.key != "base") ordered.push_back(&e);
  std::stable_sort(ordered.begin(), ordered.end(), [](const ConfigEntry* a, const ConfigEntry* b) {
    return apply_rank(a->key) < apply_rank(b->key);
  });
  for (const ConfigEntry* e : ordered)
    WAFER_TRY(apply_entry(*s, system_params(), *e, fmt::format("key '{}'", e->key), {"base"}));
  WAFER_TRY(validate(*s).with_context(origin));
  return s;
}

// A rate or size of the device: within [kMinRate, kMaxRate].
Status check_positive(const char* field, double value) {
  if (!(value >= kMinRate && value <= kMaxRate))
    return make_error("{} must be between {:g} and {:g}, got {}", field, kMinRate, kMaxRate,
                      value);
  return Status::ok();
}

// A value where 0 means none (fp8 peak) or costs nothing (latency, overhead, price):
// 0, or a rate within [kMinRate, kMaxRate] when `rate`, else within [0, kMaxRate].
Status check_optional(const char* field, double value, bool rate) {
  if (value == 0) return Status::ok();
  const double low = rate ? kMinRate : 0;
  if (!(value >= low && value <= kMaxRate))
    return make_error("{} must be 0 or between {:g} and {:g}, got {}", field, low, kMaxRate,
                      value);
  return Status::ok();
}

// A fraction in [0, 1]; one that divides (efficiencies, usable memory: zero_ok false) at
// least kMinFraction, one where 0 means off (flash attention) 0 or at least kMinFraction.
Status check_fraction(const char* field, double value, bool zero_ok, bool divides = true) {
  const bool in_range = value >= 0 && value <= 1;
  const bool too_small = divides && value < kMinFraction && !(zero_ok && value == 0);
  if (!in_range || too_small) {
    if (!divides) return make_error("{} must be a fraction in [0, 1], got {}", field, value);
    return make_error("{} must be {}a fraction in [{:g}, 1], got {}", field,
                      zero_ok ? "0 or " : "", kMinFraction, value);
  }
  return Status::ok();
}

}  // namespace

double peak_flops(const System& s, Precision p) {
  double tflops = p == Precision::fp8 && s.peak_tflops_fp8 > 0 ? s.peak_tflops_fp8
                                                                : s.peak_tflops_bf16;
  return tflops * 1e12;
}

Status check_precision(const System& s, Precision p) {
  if (p != Precision::fp8 || s.peak_tflops_fp8 > 0) return Status::ok();
  return make_error("{} has no fp8 peak: it supports bf16 and fp16 (set peak_tflops_fp8 in a "
                    "system file to give it one)", s.name);
}

double memory_bytes(const System& s) { return s.memory_gb * 1e9 * s.memory_usable; }

double precision_bytes(Precision p) { return p == Precision::fp8 ? 1 : 2; }

System wafer_system(const arch::Arch& a, const std::string& name, const std::string& source) {
  System s;
  s.name = name;
  s.kind = DeviceKind::wafer;
  s.source = source;
  s.arch = a.name;
  s.wafer = a;
  const double pes = double(a.pe_count());
  const double hz = a.clock_ghz * 1e9;
  s.peak_tflops_bf16 = pes * a.lanes_f16_fma * 2 * hz / 1e12;
  s.memory_gb = pes * a.sram_bytes / 1e9;
  s.memory_tb_per_s = pes * a.mem_read_ports * a.mem_port_bits / 8 * hz / 1e12;
  s.io_gb_per_s = a.host_io_gbytes_per_s;
  s.scale_out_gb_per_s = a.host_io_gbytes_per_s;
  s.link_latency_us = 5;
  s.external_memory_tb = 12;
  s.comm_efficiency = 0.9;
  s.memory_usable = 0.9;
  s.max_count = 2048;
  return s;
}

namespace {

// The vendor's figures for a wafer, as ../shared/facts/wse.md records them.
struct Advertised {
  const char* arch;
  double ai_peak_pflops;   // the "AI" (sparse) peak
  double marketed_cores;
  const char* dense;       // the dense fp16 figure the facts give
};
constexpr Advertised kAdvertised[] = {
    {"wse2", 62.5, 850000, "~7.5 PF (Andromeda: 16 CS-2 = 120 PF dense)"},
    {"wse3", 125, 900000, "~15-16 PF (derived there: 900k cores x 8 lanes x 2 x 1.1 GHz)"},
};

std::vector<std::string> wafer_notes(const System& s) {
  const arch::Arch& a = s.wafer;
  const WaferRate rate = wafer_rate(s);
  std::vector<std::string> notes = {fmt::format(
      "peak {:.0f} TFLOP/s is dense fp16 built from arch {}: {} program-visible PEs x {} fp16 "
      "FMA lanes x 2 x {} GHz; matmuls sustain {:.0f} TFLOP/s ({})",
      s.peak_tflops_bf16, a.name, a.pe_count(), a.lanes_f16_fma, a.clock_ghz, rate.flops() / 1e12,
      rate.measured.empty()
          ? std::string("min(lanes, SRAM read bytes / 4, write bytes / 2) FMAs per cycle")
          : fmt::format("first principles x {:.3g}, the simulated GEMM's efficiency in {}",
                        rate.efficiency, kGemmEfficiencyFile))};
  for (const Advertised& v : kAdvertised) {
    if (a.name != v.arch) continue;
    const double marketed = v.marketed_cores * a.lanes_f16_fma * 2 * a.clock_ghz * 1e9 / 1e15;
    notes.push_back(fmt::format(
        "the vendor's {:g} PF is the 'AI' (sparse) peak of ../shared/facts/wse.md, {:.1f}x the "
        "dense fp16 peak here; which sparsity and which precision it counts are not in our "
        "facts (its ratio, ~8x, would fit 8:1 weight sparsity at fp16 or a mix of sparsity and "
        "a narrower format: not published), so the estimator uses the dense peak; the facts' "
        "dense figure is {}, and {:g} marketed cores x {} lanes x 2 x {} GHz = {:.2f} PF (the "
        "marketed cores, not the {} PEs a program sees)",
        v.ai_peak_pflops, v.ai_peak_pflops * 1e3 / s.peak_tflops_bf16, v.dense, v.marketed_cores,
        a.lanes_f16_fma, a.clock_ghz, marketed, a.pe_count()));
  }
  return notes;
}

}  // namespace

std::vector<std::string> system_notes(const System& s) {
  if (s.kind == DeviceKind::wafer) return wafer_notes(s);
  if (s.kind == DeviceKind::gpu)
    return {fmt::format("inference reads weights and KV cache at memory_efficiency {} of the "
                        "{:g} TB/s datasheet bandwidth: an assumption, not a measurement in our "
                        "facts",
                        s.memory_efficiency, s.memory_tb_per_s)};
  return {};
}

const std::vector<System>& system_zoo() {
  static const std::vector<System> zoo = {
      a100(), h100(), h200(), b200(),
      cerebras("cs2", "wse2", 15, 70, 192),
      cerebras("cs3", "wse3", 23, 95, 2048),
      lpu(),
  };
  return zoo;
}

std::vector<std::string> system_names() {
  std::vector<std::string> names;
  for (const System& s : system_zoo()) names.push_back(s.name);
  return names;
}

std::optional<std::string> zoo_system_name(const std::string& name) {
  // Other names for zoo systems, in normalised form.
  static const std::vector<NameAlias> kAliases = {
      {"wse2", "cs2"},     {"wse3", "cs3"},     {"a10080gb", "a100"},
      {"h100sxm", "h100"}, {"h200sxm", "h200"}, {"groq", "lpu"},
      {"groqlpu", "lpu"},
  };
  return canonical_name(name, system_names(), kAliases);
}

Expected<System> zoo_system(const std::string& name) {
  if (std::optional<std::string> zoo_name = zoo_system_name(name))
    for (const System& s : system_zoo())
      if (s.name == *zoo_name) return s;
  const std::vector<std::string> names = system_names();
  return make_error("unknown system '{}'{} (valid: {}, or a .toml/.json system file)", name,
                    suggestion(name, {names.begin(), names.end()}), fmt::join(names, ", "));
}

Expected<System> parse_system_toml(const std::string& text, const std::string& origin) {
  auto entries = parse_flat_toml(text, origin);
  if (!entries) return entries.status();
  return apply_entries(*entries, origin);
}

Expected<System> parse_system_json(const std::string& text, const std::string& origin) {
  auto entries = parse_flat_json(text, origin);
  if (!entries) return entries.status();
  return apply_entries(*entries, origin);
}

Expected<System> load_system(const std::string& name_or_path) {
  if (zoo_system_name(name_or_path)) return zoo_system(name_or_path);
  if (!is_flat_config_path(name_or_path)) return zoo_system(name_or_path);
  auto entries = read_flat_config(name_or_path, "system file");
  if (!entries) return entries.status();
  return apply_entries(*entries, name_or_path);
}

Expected<System> with_arch(const System& s, const std::string& arch_name_or_path) {
  if (s.kind != DeviceKind::wafer)
    return make_error("an arch applies to wafer systems only; '{}' is a {}", s.name,
                      to_string(s.kind));
  Expected<arch::Arch> a = arch::load_arch(arch_name_or_path);
  if (!a) return a.status();
  System rebuilt = wafer_system(*a, s.name, s.source + "; arch " + arch_name_or_path);
  rebuilt.power_kw = s.power_kw;
  rebuilt.dollars_per_hour = s.dollars_per_hour;
  rebuilt.max_count = s.max_count;
  rebuilt.external_memory_tb = s.external_memory_tb;
  rebuilt.link_latency_us = s.link_latency_us;
  return rebuilt;
}

Status validate(const System& s) {
  WAFER_TRY(check_positive("peak_tflops_bf16", s.peak_tflops_bf16));
  WAFER_TRY(check_optional("peak_tflops_fp8", s.peak_tflops_fp8, true));
  WAFER_TRY(check_positive("memory_gb", s.memory_gb));
  WAFER_TRY(check_positive("memory_tb_per_s", s.memory_tb_per_s));
  WAFER_TRY(check_positive("power_kw", s.power_kw));
  WAFER_TRY(check_optional("dollars_per_hour", s.dollars_per_hour, false));
  WAFER_TRY(check_positive("scale_out_gb_per_s", s.scale_out_gb_per_s));
  if (s.max_count < 1) return make_error("max_count must be at least 1, got {}", s.max_count);
  if (s.scale_up_size < 1)
    return make_error("scale_up_size must be at least 1, got {}", s.scale_up_size);
  // One device per node needs no NVLink (0); a larger domain needs its bandwidth.
  if (s.scale_up_size > 1)
    WAFER_TRY(check_positive("scale_up_gb_per_s", s.scale_up_gb_per_s));
  else
    WAFER_TRY(check_optional("scale_up_gb_per_s", s.scale_up_gb_per_s, true));
  WAFER_TRY(check_optional("link_latency_us", s.link_latency_us, false));
  WAFER_TRY(check_optional("gemm_half_width", s.gemm_half_width, false));
  WAFER_TRY(check_optional("layer_overhead_us", s.layer_overhead_us, false));
  if (s.kind != DeviceKind::wafer) {
    WAFER_TRY(check_fraction("gemm_efficiency", s.gemm_efficiency, false));
  } else {
    // The wafer model prices matmuls from the arch (PEs, lanes, ports, clock): a system made
    // a wafer by `kind` alone has none.
    if (s.wafer.pe_count() <= 0 || !arch::validate(s.wafer))
      return make_error("a wafer system needs an arch: set key 'arch' (a preset: {}; or an "
                        "arch file)",
                        fmt::join(arch::preset_names(), ", "));
    WAFER_TRY(check_positive("io_gb_per_s", s.io_gb_per_s));
    WAFER_TRY(check_positive("external_memory_tb", s.external_memory_tb));
  }
  WAFER_TRY(check_fraction("comm_efficiency", s.comm_efficiency, false));
  WAFER_TRY(check_fraction("attention_efficiency", s.attention_efficiency, true));
  WAFER_TRY(check_fraction("tp_overlap", s.tp_overlap, true, false));
  WAFER_TRY(check_fraction("dp_overlap", s.dp_overlap, true, false));
  WAFER_TRY(check_fraction("memory_usable", s.memory_usable, false));
  WAFER_TRY(check_fraction("memory_efficiency", s.memory_efficiency, false));
  return check_ranges(s, system_params());
}

const char* to_string(DeviceKind k) {
  switch (k) {
    case DeviceKind::gpu: return "gpu";
    case DeviceKind::wafer: return "wafer";
    case DeviceKind::lpu: return "lpu";
  }
  return "?";
}

const char* to_string(Precision p) {
  switch (p) {
    case Precision::bf16: return "bf16";
    case Precision::fp16: return "fp16";
    case Precision::fp8: return "fp8";
  }
  return "?";
}

Expected<Precision> parse_precision(const std::string& text) {
  for (Precision p : {Precision::bf16, Precision::fp16, Precision::fp8})
    if (text == to_string(p)) return p;
  return make_error("unknown precision '{}' (valid: bf16, fp16, fp8)", text);
}

}  // namespace wafer::estimate
