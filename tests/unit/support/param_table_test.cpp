// Tests of the parameter tables (support/param_table.hpp) on a struct like a kernel's
// parameters: setting from numbers and from file entries (each message exactly), reading
// back, the range checks and the description rows.
#include <cmath>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "wafer/support/numeric.hpp"
#include "wafer/support/param_table.hpp"

namespace wafer {
namespace {

enum class Order { row, column };
const char* to_string(Order o) { return o == Order::row ? "row" : "column"; }

struct Knobs {
  int grid_w = 4;
  int64_t m = 0;
  double rate = 1;
  bool fast = false;
  uint64_t seed = 1;
  std::string algo;
  DType dtype = DType::f32;
  Order order = Order::row;
};

const ParamTable<Knobs>& knobs() {
  using K = Knobs;
  static const ParamTable<K> table = {
      {"grid_w", &K::grid_w, "PEs", "columns of the grid", {1, 2048}, {"a note"}},
      {"m", &K::m, "elements", "rows (0: the default)", {0, 1e6}},
      {"rate", &K::rate, "GB/s", "a rate", {0.5, 64}},
      {"fast", &K::fast, "", "take the fast path"},
      {"seed", &K::seed, "", "seed of the inputs", {0, 1e15}},
      {"algo", &K::algo, "", "algorithm; empty: the default"},
      {"dtype",
       choice(&K::dtype, {{DType::f32, "fp32"}, {DType::f16, "fp16"}, {DType::bf16, "bf16"}}),
       "", "element type"},
      {"order", choice(&K::order, {Order::row, Order::column}), "", "traversal order"},
  };
  return table;
}

const Param<Knobs>& knob(const std::string& key) {
  const Param<Knobs>* p = param_named(knobs(), key);
  EXPECT_NE(p, nullptr) << key;
  return p ? *p : knobs().front();
}

ConfigEntry number_entry(const std::string& key, double value) {
  ConfigEntry e;
  e.key = key;
  e.type = ConfigEntry::Type::number;
  e.number = value;
  e.where = "k.toml:2:9";
  return e;
}

ConfigEntry text_entry(const std::string& key, const std::string& text) {
  ConfigEntry e = number_entry(key, 0);
  e.type = ConfigEntry::Type::string;
  e.text = text;
  return e;
}

std::string apply_error(const ConfigEntry& e) {
  Knobs k;
  Status s = apply_entry(k, knobs(), e, "key '" + e.key + "'", {"base"});
  return s ? "ok" : s.message();
}

TEST(ParamTable, SetNumberChecksRangeAndIntegrality) {
  Knobs k;
  EXPECT_EQ(set_number(k, knob("grid_w"), 0).message(),
            "key 'grid_w': value 0 out of range (must be in 1..2048)");
  EXPECT_EQ(set_number(k, knob("grid_w"), 2.5).message(),
            "key 'grid_w': value 2.5 is not an integer");
  EXPECT_EQ(set_number(k, knob("rate"), 0.25).message(),
            "key 'rate': value 0.25 out of range (must be in 0.5..64)");
  EXPECT_FALSE(set_number(k, knob("rate"), std::nan("")));
  EXPECT_EQ(set_number(k, knob("fast"), 1).message(),
            "key 'fast': is not a number (it takes boolean)");
  EXPECT_EQ(set_number(k, knob("dtype"), 1).message(),
            "key 'dtype': is not a number (it takes choice)");
  EXPECT_EQ(k.grid_w, 4);
  ASSERT_TRUE(set_number(k, knob("grid_w"), 2048));
  ASSERT_TRUE(set_number(k, knob("m"), 1e6));
  ASSERT_TRUE(set_number(k, knob("rate"), 1.5));
  ASSERT_TRUE(set_number(k, knob("seed"), 1e15));
  EXPECT_EQ(k.grid_w, 2048);
  EXPECT_EQ(k.m, 1'000'000);
  EXPECT_EQ(k.rate, 1.5);
  EXPECT_EQ(k.seed, 1'000'000'000'000'000u);
}

TEST(ParamTable, ApplyEntrySetsEachKindOfField) {
  Knobs k;
  ASSERT_TRUE(apply_entry(k, knobs(), number_entry("grid_w", 16), "key 'grid_w'"));
  ASSERT_TRUE(apply_entry(k, knobs(), number_entry("rate", 2.5), "key 'rate'"));
  ASSERT_TRUE(apply_entry(k, knobs(), text_entry("algo", "summa"), "key 'algo'"));
  ASSERT_TRUE(apply_entry(k, knobs(), text_entry("dtype", "bf16"), "key 'dtype'"));
  ASSERT_TRUE(apply_entry(k, knobs(), text_entry("order", "column"), "key 'order'"));
  ConfigEntry fast = number_entry("fast", 0);
  fast.type = ConfigEntry::Type::boolean;
  fast.flag = true;
  ASSERT_TRUE(apply_entry(k, knobs(), fast, "key 'fast'"));
  EXPECT_EQ(k.grid_w, 16);
  EXPECT_EQ(k.rate, 2.5);
  EXPECT_EQ(k.algo, "summa");
  EXPECT_EQ(k.dtype, DType::bf16);
  EXPECT_EQ(k.order, Order::column);
  EXPECT_TRUE(k.fast);
}

TEST(ParamTable, ApplyEntryErrorsNameThePlaceAndTheKey) {
  EXPECT_EQ(apply_error(number_entry("fast", 1)),
            "k.toml:2:9: key 'fast': must be true or false, got number");
  EXPECT_EQ(apply_error(number_entry("algo", 1)),
            "k.toml:2:9: key 'algo': must be a string, got number");
  EXPECT_EQ(apply_error(text_entry("rate", "fast")),
            "k.toml:2:9: key 'rate': must be a number, got string");
  EXPECT_EQ(apply_error(number_entry("m", 1.5)),
            "k.toml:2:9: key 'm': must be a whole number, got 1.5");
  EXPECT_EQ(apply_error(number_entry("grid_w", 3e9)),
            "k.toml:2:9: key 'grid_w': must be a whole number from -2147483648 to 2147483647, "
            "got 3000000000");
  EXPECT_EQ(apply_error(number_entry("seed", -1)),
            "k.toml:2:9: key 'seed': must be a whole number from 0 to 1000000000000000, got -1");
  EXPECT_EQ(apply_error(text_entry("dtype", "fp64")),
            "k.toml:2:9: key 'dtype': must be one of fp32, fp16, bf16, got 'fp64'");
  EXPECT_EQ(apply_error(number_entry("gird_w", 4)),
            "k.toml:2:9: unknown key 'gird_w' (valid: base, grid_w, m, rate, fast, seed, algo, "
            "dtype, order)");
}

TEST(ParamTable, ReadsBackAsNumbersAndText) {
  Knobs k;
  k.rate = 1.1;
  k.fast = true;
  k.seed = 18'000'000'000'000'000'000u;
  k.dtype = DType::f16;
  EXPECT_EQ(get_number(k, knob("grid_w")), 4);
  EXPECT_EQ(get_number(k, knob("fast")), 1);
  EXPECT_TRUE(std::isnan(get_number(k, knob("algo"))));
  EXPECT_EQ(get_text(k, knob("grid_w")), "4");
  EXPECT_EQ(get_text(k, knob("rate")), "1.1");
  EXPECT_EQ(get_text(k, knob("fast")), "true");
  EXPECT_EQ(get_text(k, knob("seed")), "18000000000000000000");
  EXPECT_EQ(get_text(k, knob("dtype")), "fp16");
  EXPECT_EQ(get_text(k, knob("order")), "row");
  EXPECT_EQ(kind_of(knob("seed")), ParamKind::integer);
  EXPECT_EQ(kind_of(knob("order")), ParamKind::choice);
}

TEST(ParamTable, CheckRangesNamesTheFirstValueOutside) {
  Knobs k;
  EXPECT_TRUE(check_ranges(k, knobs()));
  k.m = -3;
  EXPECT_EQ(check_ranges(k, knobs()).message(),
            "key 'm': value -3 out of range (must be in 0..1000000)");
}

TEST(ParamTable, DescribesEveryRow) {
  const std::vector<ParamDoc> docs = describe(knobs());
  ASSERT_EQ(docs.size(), knobs().size());
  EXPECT_EQ(docs[0].key, "grid_w");
  EXPECT_EQ(docs[0].kind, "integer");
  EXPECT_EQ(docs[0].unit, "PEs");
  EXPECT_EQ(docs[0].range, "1..2048");
  EXPECT_EQ(docs[0].meaning, "columns of the grid");
  EXPECT_EQ(docs[0].source, "a note");
  EXPECT_EQ(docs[2].range, "0.5..64");
  EXPECT_EQ(docs[3].range, "true|false");
  EXPECT_EQ(docs[4].range, "0..1000000000000000");
  EXPECT_EQ(docs[5].kind, "text");
  EXPECT_EQ(docs[5].range, "");
  EXPECT_EQ(docs[6].range, "fp32|fp16|bf16");
  EXPECT_EQ(docs[7].range, "row|column");
  EXPECT_EQ(param_keys(knobs()).back(), "order");
  EXPECT_EQ(param_named(knobs(), "nope"), nullptr);
}

}  // namespace
}  // namespace wafer
