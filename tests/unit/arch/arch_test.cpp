// Tests of the arch layer: preset values, the parameter table's coverage of Arch and its
// finite ranges, arch files in TOML and JSON, and one test per class of file error (each
// message names file and key).
#include <cmath>
#include <cstddef>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "wafer/arch/arch.hpp"

#ifndef WAFER_SOURCE_DIR
#define WAFER_SOURCE_DIR "."
#endif

namespace wafer::arch {
namespace {

// Counts the fields of an aggregate: the most initialisers T{...} accepts.
struct AnyField {
  template <typename T>
  operator T() const;
};

template <typename T, typename... Fields>
constexpr size_t count_fields() {
  if constexpr (requires { T{Fields{}..., AnyField{}}; })
    return count_fields<T, Fields..., AnyField>();
  else
    return sizeof...(Fields);
}

Arch must_preset(const std::string& name) {
  Expected<Arch> a = preset(name);
  EXPECT_TRUE(a.has_value()) << (a ? "" : a.message());
  return a ? *a : Arch{};
}

const ParamInfo& param(const std::string& key) {
  const ParamInfo* p = find_param(key);
  EXPECT_NE(p, nullptr) << key;
  return p ? *p : arch_params().front();
}

std::string toml_error(const std::string& text) {
  Expected<Arch> a = parse_arch_toml(text, "my.toml");
  return a ? "no error" : a.message();
}

std::string json_error(const std::string& text) {
  Expected<Arch> a = parse_arch_json(text, "my.json");
  return a ? "no error" : a.message();
}

TEST(ArchPreset, Wse2Values) {
  Arch a = must_preset("wse2");
  EXPECT_EQ(a.name, "wse2");
  EXPECT_EQ(a.fabric_width, 757);
  EXPECT_EQ(a.fabric_height, 996);
  EXPECT_DOUBLE_EQ(a.clock_ghz, 1.1);
  EXPECT_EQ(a.sram_bytes, 49152);
  EXPECT_EQ(a.sram_banks, 8);
  EXPECT_EQ(a.mem_read_ports, 2);
  EXPECT_EQ(a.mem_write_ports, 1);
  EXPECT_EQ(a.mem_port_bits, 64);
  EXPECT_DOUBLE_EQ(a.lanes_f16_fma, 4);
  EXPECT_DOUBLE_EQ(a.lanes_f16_arith, 4);
  EXPECT_DOUBLE_EQ(a.lanes_f32_arith, 2);
  EXPECT_DOUBLE_EQ(a.lanes_f32_fma, 1);
  EXPECT_DOUBLE_EQ(a.lanes_mixed_fma, 2);
  EXPECT_EQ(a.colors, 24);
  EXPECT_EQ(a.switch_positions, 4);
  EXPECT_EQ(a.router_queue_depth, 4);
  EXPECT_EQ(a.core_input_queue_depth, 6);
  EXPECT_EQ(a.core_output_queue_depth, 6);
  EXPECT_EQ(a.hop_latency, 1);
  EXPECT_EQ(a.ramp_latency, 2);
  EXPECT_EQ(a.vector_setup_cycles, 15);
  EXPECT_EQ(a.microthreads, 8);
  EXPECT_EQ(a.task_ids, 64);
  EXPECT_EQ(a.registers, 16);
  EXPECT_EQ(a.dsd_registers, 16);
  EXPECT_DOUBLE_EQ(a.host_io_gbytes_per_s, 150);
  EXPECT_EQ(a.io_channels_per_edge, 60);
  EXPECT_TRUE(validate(a).is_ok());
}

TEST(ArchPreset, Wse3Values) {
  Arch a = must_preset("wse3");
  EXPECT_EQ(a.name, "wse3");
  EXPECT_EQ(a.fabric_width, 762);
  EXPECT_EQ(a.fabric_height, 1172);
  EXPECT_DOUBLE_EQ(a.clock_ghz, 1.1);
  EXPECT_EQ(a.sram_bytes, 49152);
  EXPECT_EQ(a.sram_banks, 8);
  EXPECT_EQ(a.mem_read_ports, 2);
  EXPECT_EQ(a.mem_write_ports, 1);
  EXPECT_EQ(a.mem_port_bits, 64);
  EXPECT_DOUBLE_EQ(a.lanes_f16_fma, 8);
  EXPECT_DOUBLE_EQ(a.lanes_f16_arith, 8);
  EXPECT_DOUBLE_EQ(a.lanes_f32_arith, 4);
  EXPECT_DOUBLE_EQ(a.lanes_f32_fma, 1);
  EXPECT_DOUBLE_EQ(a.lanes_mixed_fma, 4);
  EXPECT_EQ(a.colors, 24);
  EXPECT_EQ(a.switch_positions, 4);
  EXPECT_EQ(a.router_queue_depth, 4);
  EXPECT_EQ(a.core_input_queue_depth, 8);
  EXPECT_EQ(a.core_output_queue_depth, 8);
  EXPECT_EQ(a.hop_latency, 2);
  EXPECT_EQ(a.ramp_latency, 2);
  EXPECT_EQ(a.vector_setup_cycles, 15);
  EXPECT_EQ(a.microthreads, 8);
  EXPECT_EQ(a.task_ids, 64);
  EXPECT_EQ(a.registers, 16);
  EXPECT_EQ(a.dsd_registers, 16);
  EXPECT_DOUBLE_EQ(a.host_io_gbytes_per_s, 150);
  EXPECT_EQ(a.io_channels_per_edge, 62);
  EXPECT_TRUE(validate(a).is_ok());
}

TEST(ArchPreset, NamesAndUnknown) {
  EXPECT_EQ(preset_names(), (std::vector<std::string>{"wse2", "wse3"}));
  Expected<Arch> a = preset("wse4");
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.message(), "unknown arch preset 'wse4' (valid: wse2, wse3)");
  Expected<Arch> b = load_arch("wse2");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->fabric_width, 757);
}

TEST(ArchPreset, DerivedTimes) {
  Arch a = must_preset("wse3");
  EXPECT_DOUBLE_EQ(a.seconds(1'100'000'000), 1.0);
  EXPECT_DOUBLE_EQ(a.seconds(1100), 1e-6);
  EXPECT_NEAR(a.host_bytes_per_cycle(), 136.363636, 1e-5);
  EXPECT_EQ(a.pe_count(), 893064);
  EXPECT_EQ(must_preset("wse2").pe_count(), 753972);
}

TEST(ArchParams, CoverEveryFieldOnce) {
  const auto& params = arch_params();
  EXPECT_EQ(count_fields<Arch>(), params.size() + 1);  // + name
  EXPECT_EQ(params.size(), 27u);
  std::set<std::string> keys;
  for (const ParamInfo& p : params) EXPECT_TRUE(keys.insert(p.key).second) << p.key;

  const Arch base = must_preset("wse3");
  for (const ParamInfo& p : params) {
    EXPECT_EQ(find_param(p.key), &p);
    EXPECT_TRUE(kind_of(p) == ParamKind::integer || kind_of(p) == ParamKind::real) << p.key;
    EXPECT_EQ(p.sources.size(), preset_names().size()) << p.key;
    double sentinel = get_param(base, p) == p.range.lo ? p.range.lo + 1 : p.range.lo;
    if (kind_of(p) == ParamKind::real) sentinel = 0.25;
    Arch a = base;
    ASSERT_TRUE(set_param(a, p, sentinel).is_ok()) << p.key;
    EXPECT_EQ(get_param(a, p), sentinel) << p.key;
    for (const ParamInfo& q : params) {
      if (&q == &p) continue;
      EXPECT_EQ(get_param(a, q), get_param(base, q)) << p.key << " moved " << q.key;
    }
  }
}

TEST(ArchParams, SetParamReachesTheField) {
  Arch a = must_preset("wse2");
  ASSERT_TRUE(set_param(a, param("clock_ghz"), 0.85).is_ok());
  EXPECT_DOUBLE_EQ(a.clock_ghz, 0.85);
  ASSERT_TRUE(set_param(a, param("fabric_height"), 7).is_ok());
  EXPECT_EQ(a.fabric_height, 7);
  EXPECT_EQ(find_param("no_such_key"), nullptr);
}

TEST(ArchParams, SetParamRejects) {
  Arch a = must_preset("wse3");
  EXPECT_EQ(set_param(a, param("lanes_f16_fma"), 0).message(),
            "key 'lanes_f16_fma': value 0 out of range (must be in 0.015625..64)");
  EXPECT_EQ(set_param(a, param("colors"), 33).message(),
            "key 'colors': value 33 out of range (must be in 1..32)");
  EXPECT_EQ(set_param(a, param("colors"), 2.5).message(),
            "key 'colors': value 2.5 is not an integer");
  EXPECT_EQ(set_param(a, param("fabric_width"), 2049).message(),
            "key 'fabric_width': value 2049 out of range (must be in 1..2048)");
  EXPECT_FALSE(set_param(a, param("clock_ghz"), std::nan("")).is_ok());
  EXPECT_TRUE(set_param(a, param("lanes_f32_fma"), 0.5).is_ok());
  EXPECT_EQ(a.colors, 24);
}

// Every range is finite, and the ends of the real ones keep the simulator's conversions sane:
// a vector op's credit ceil(lanes) fits an int, and a host copy's cycles
// ceil(bytes * clock / bandwidth) are at least 1 and, for the largest copy, below 2^57.
TEST(ArchParams, EveryRangeIsFiniteAndKeepsCyclesInRange) {
  for (const ParamInfo& p : arch_params()) {
    EXPECT_TRUE(std::isfinite(p.range.lo) && std::isfinite(p.range.hi)) << p.key;
    EXPECT_LE(p.range.lo, p.range.hi) << p.key;
  }
  EXPECT_EQ(param("lanes_f32_fma").range.lo, 1.0 / 64);
  EXPECT_EQ(param("lanes_f16_fma").range.hi, 64);
  const double largest_copy = 2048.0 * 2048 * (16 << 20);
  const double slowest = param("host_io_gbytes_per_s").range.lo / param("clock_ghz").range.hi;
  const double fastest = param("host_io_gbytes_per_s").range.hi / param("clock_ghz").range.lo;
  EXPECT_LT(std::ceil(largest_copy / slowest), std::ldexp(1.0, 57));
  EXPECT_EQ(std::ceil(2 / fastest), 1);

  Arch a = must_preset("wse3");
  EXPECT_EQ(set_param(a, param("lanes_f16_fma"), 3e9).message(),
            "key 'lanes_f16_fma': value 3000000000 out of range (must be in 0.015625..64)");
  EXPECT_EQ(set_param(a, param("host_io_gbytes_per_s"), 1e-300).message(),
            "key 'host_io_gbytes_per_s': value 1e-300 out of range (must be in 0.1..1000000)");
  EXPECT_EQ(set_param(a, param("clock_ghz"), 1e-3).message(),
            "key 'clock_ghz': value 0.001 out of range (must be in 0.01..100)");
}

TEST(ArchValidate, CrossParameterInvariants) {
  Arch a = must_preset("wse3");
  a.router_queue_depth = 2;
  Status s = validate(a);
  EXPECT_NE(s.message().find("router_queue_depth"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("hop_latency"), std::string::npos) << s.message();

  a = must_preset("wse3");
  a.sram_bytes = 1026;
  EXPECT_EQ(validate(a).message(), "key 'sram_bytes': value 1026 is not a multiple of 4");
  a = must_preset("wse3");
  a.mem_port_bits = 48;
  EXPECT_EQ(validate(a).message(), "key 'mem_port_bits': value 48 must be one of 16, 32, 64, 128");
  a = must_preset("wse3");
  a.task_ids = 16;
  EXPECT_NE(validate(a).message().find("key 'task_ids'"), std::string::npos);
  a = must_preset("wse3");
  a.colors = 0;
  EXPECT_EQ(validate(a).message(), "key 'colors': value 0 out of range (must be in 1..32)");
}

TEST(ArchFile, TomlOverrides) {
  Expected<Arch> a = parse_arch_toml(
      "base = \"wse2\"\n"
      "fabric_width = 100\n"
      "fabric_height = 50\n"
      "clock_ghz = \"0.85 GHz\"\n"
      "sram_bytes = \"32 KiB\"\n"
      "hop_latency = \"2 cycles\"\n"
      "lanes_f32_fma = 0.5\n",
      "dir/my-arch.toml");
  ASSERT_TRUE(a.has_value()) << a.message();
  EXPECT_EQ(a->name, "my-arch");
  EXPECT_EQ(a->fabric_width, 100);
  EXPECT_EQ(a->fabric_height, 50);
  EXPECT_DOUBLE_EQ(a->clock_ghz, 0.85);
  EXPECT_EQ(a->sram_bytes, 32768);
  EXPECT_EQ(a->hop_latency, 2);
  EXPECT_DOUBLE_EQ(a->lanes_f32_fma, 0.5);
  EXPECT_EQ(a->io_channels_per_edge, 60);  // from wse2
  EXPECT_EQ(a->pe_count(), 5000);
}

TEST(ArchFile, JsonOverrides) {
  Expected<Arch> a = parse_arch_json(
      R"({"name": "tiny", "fabric_width": 8, "fabric_height": 4.0,
          "sram_bytes": "1 MiB", "host_io_gbytes_per_s": "300 GB/s"})",
      "my.json");
  ASSERT_TRUE(a.has_value()) << a.message();
  EXPECT_EQ(a->name, "tiny");
  EXPECT_EQ(a->fabric_width, 8);
  EXPECT_EQ(a->fabric_height, 4);
  EXPECT_EQ(a->sram_bytes, 1 << 20);
  EXPECT_DOUBLE_EQ(a->host_io_gbytes_per_s, 300);
  EXPECT_EQ(a->hop_latency, 2);  // default base wse3
}

TEST(ArchFile, Examples) {
  Expected<Arch> small = load_arch(WAFER_SOURCE_DIR "/examples/arch/wse3-small.toml");
  ASSERT_TRUE(small.has_value()) << small.message();
  EXPECT_EQ(small->name, "wse3-small");
  EXPECT_EQ(small->fabric_width, 64);
  EXPECT_EQ(small->fabric_height, 64);
  EXPECT_DOUBLE_EQ(small->lanes_f16_fma, 8);

  Expected<Arch> ports = load_arch(WAFER_SOURCE_DIR "/examples/arch/wse2-32bit-ports.json");
  ASSERT_TRUE(ports.has_value()) << ports.message();
  EXPECT_EQ(ports->name, "wse2-32bit-ports");
  EXPECT_EQ(ports->mem_port_bits, 32);
  EXPECT_EQ(ports->fabric_width, 757);
}

TEST(ArchFileError, UnknownKeySuggestsNearest) {
  EXPECT_EQ(toml_error("clock_gz = 1.0\n"),
            "my.toml: unknown key 'clock_gz' (did you mean 'clock_ghz'?)");
  EXPECT_EQ(json_error(R"({"colours": 24})"),
            "my.json: unknown key 'colours' (did you mean 'colors'?)");
}

TEST(ArchFileError, WrongType) {
  EXPECT_EQ(toml_error("clock_ghz = \"fast\"\n"),
            "my.toml: key 'clock_ghz': expected a number, got string 'fast'");
  std::string m = toml_error("colors = true\n");
  EXPECT_NE(m.find("my.toml: key 'colors': expected a number"), std::string::npos) << m;
  EXPECT_NE(m.find("got boolean"), std::string::npos) << m;
  m = json_error(R"({"colors": [24]})");
  EXPECT_NE(m.find("my.json: key 'colors'"), std::string::npos) << m;
  EXPECT_NE(m.find("got array"), std::string::npos) << m;
  EXPECT_EQ(toml_error("name = 3\n"), "my.toml: key 'name': expected a string, got number");
}

TEST(ArchFileError, NotAnInteger) {
  EXPECT_EQ(toml_error("colors = 2.5\n"), "my.toml: key 'colors': value 2.5 is not an integer");
  EXPECT_EQ(json_error(R"({"sram_bytes": "1.3 KiB"})"),
            "my.json: key 'sram_bytes': value 1331.2 is not an integer");
}

TEST(ArchFileError, OutOfRange) {
  EXPECT_EQ(toml_error("lanes_f16_fma = 0\n"),
            "my.toml: key 'lanes_f16_fma': value 0 out of range (must be in 0.015625..64)");
  EXPECT_EQ(toml_error("lanes_f16_fma = 65\n"),
            "my.toml: key 'lanes_f16_fma': value 65 out of range (must be in 0.015625..64)");
  EXPECT_EQ(json_error(R"({"fabric_width": 4096})"),
            "my.json: key 'fabric_width': value 4096 out of range (must be in 1..2048)");
  std::string m = toml_error("router_queue_depth = 2\n");
  EXPECT_NE(m.find("my.toml: key 'router_queue_depth'"), std::string::npos) << m;
  EXPECT_NE(m.find("hop_latency"), std::string::npos) << m;
}

TEST(ArchFileError, UnitMismatch) {
  EXPECT_EQ(toml_error("clock_ghz = \"1.1 MHz\"\n"),
            "my.toml: key 'clock_ghz': unit 'MHz' does not match 'GHz'");
  EXPECT_EQ(json_error(R"({"sram_bytes": "48 KB"})"),
            "my.json: key 'sram_bytes': unit 'KB' does not match 'bytes' (use B, KiB or MiB)");
}

TEST(ArchFileError, UnknownBase) {
  EXPECT_EQ(toml_error("base = \"wse4\"\n"),
            "my.toml: key 'base': unknown arch preset 'wse4' (valid: wse2, wse3)");
}

TEST(ArchFileError, Malformed) {
  std::string m = toml_error("colors = 24\nfabric_width = = 3\n");
  EXPECT_EQ(m.rfind("my.toml:2:", 0), 0u) << m;
  m = json_error("{\n  \"colors\": ,\n}");
  EXPECT_EQ(m.rfind("my.json:2:", 0), 0u) << m;
  EXPECT_NE(m.find("syntax error"), std::string::npos) << m;
  EXPECT_EQ(json_error("[1, 2]"), "my.json: expected an object at the top level, got array");
}

TEST(ArchFileError, DuplicateKeyNamesBothPlaces) {
  EXPECT_EQ(json_error("{\n  \"colors\": 24,\n  \"hop_latency\": 2,\n  \"colors\": 16\n}"),
            "my.json:4:3: duplicate key 'colors' (first at my.json:2:3)");
  // Keys inside a value are the value's business: here the value has the wrong type.
  std::string nested = json_error(R"({"colors": {"a": 1, "a": 2}})");
  EXPECT_EQ(nested.rfind("my.json: key 'colors': expected a number", 0), 0u) << nested;
  std::string m = toml_error("colors = 24\nhop_latency = 2\ncolors = 16\n");
  EXPECT_EQ(m.rfind("my.toml:3:", 0), 0u) << m;
  EXPECT_NE(m.find("colors"), std::string::npos) << m;
}

TEST(ArchFileError, FileNames) {
  Expected<Arch> a = load_arch("machine.yaml");
  ASSERT_FALSE(a.has_value());
  EXPECT_NE(a.message().find("'machine.yaml'"), std::string::npos) << a.message();
  a = load_arch("/no/such/dir/arch.toml");
  ASSERT_FALSE(a.has_value());
  EXPECT_NE(a.message().find("'/no/such/dir/arch.toml'"), std::string::npos) << a.message();

  std::string path = ::testing::TempDir() + "/bad-arch.json";
  std::ofstream(path) << R"({"hop_latency": 0})";
  a = load_arch(path);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.message(), path + ": key 'hop_latency': value 0 out of range (must be in 1..64)");
}

}  // namespace
}  // namespace wafer::arch
