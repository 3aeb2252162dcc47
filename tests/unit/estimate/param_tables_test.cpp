// The estimator's parameter tables: every key of a model or system file is described (unit
// where it has one, meaning, a finite range for numbers), and the ranges agree with
// validate(): every zoo entry lies within them and a value just outside is refused.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "wafer/estimate/model.hpp"
#include "wafer/estimate/system.hpp"

namespace wafer::estimate {
namespace {

template <typename T>
void expect_described(const ParamTable<T>& table) {
  for (const Param<T>& p : table) {
    EXPECT_NE(std::string(p.meaning), "") << p.key;
    const ParamKind kind = kind_of(p);
    if (kind != ParamKind::integer && kind != ParamKind::real) continue;
    EXPECT_TRUE(std::isfinite(p.range.lo) && std::isfinite(p.range.hi)) << p.key;
    EXPECT_LT(p.range.lo, p.range.hi) << p.key;
  }
}

// Each number of `base` set just below and just above its range: validate() refuses both.
template <typename T>
void expect_range_enforced(const T& base, const ParamTable<T>& table) {
  for (const Param<T>& p : table) {
    const ParamKind kind = kind_of(p);
    if (kind != ParamKind::integer && kind != ParamKind::real) continue;
    const double step = kind == ParamKind::integer ? 1 : p.range.hi * 1e-6;
    for (double outside : {p.range.lo - step, p.range.hi + step}) {
      T t = base;
      ConfigEntry e;
      e.key = p.key;
      e.type = ConfigEntry::Type::number;
      e.number = outside;
      ASSERT_TRUE(set_entry(t, p, e)) << p.key << " " << outside;
      EXPECT_FALSE(validate(t)) << p.key << " = " << outside << " passed";
    }
  }
}

TEST(EstimateParamTables, EveryKeyIsDescribed) {
  expect_described(model_params());
  expect_described(system_params());
  EXPECT_EQ(param_named(model_params(), "hidden")->range.hi, 1e6);
  EXPECT_EQ(describe(system_params())[1].range, "gpu|wafer|lpu");
  EXPECT_EQ(describe(model_params())[8].range, "gelu|swiglu");
}

TEST(EstimateParamTables, ZooEntriesLieWithinTheRanges) {
  for (const Model& m : model_zoo()) EXPECT_TRUE(check_ranges(m, model_params())) << m.name;
  for (const System& s : system_zoo())
    EXPECT_TRUE(check_ranges(s, system_params()))
        << s.name << ": " << check_ranges(s, system_params()).message();
}

TEST(EstimateParamTables, ValidateRefusesValuesOutsideTheRanges) {
  expect_range_enforced(*zoo_model("gpt3-13b"), model_params());
  expect_range_enforced(*zoo_system("h100"), system_params());
  expect_range_enforced(*zoo_system("cs3"), system_params());
}

TEST(EstimateParamTables, ChoicesReadBackAsTheyAreSpelled) {
  const System cs3 = *zoo_system("cs3");
  EXPECT_EQ(get_text(cs3, *param_named(system_params(), "kind")), "wafer");
  EXPECT_EQ(get_text(cs3, *param_named(system_params(), "arch")), "wse3");
  const Model llama = *zoo_model("llama3-8b");
  EXPECT_EQ(get_text(llama, *param_named(model_params(), "mlp")), "swiglu");
  EXPECT_EQ(get_text(llama, *param_named(model_params(), "hidden")), "4096");
}

}  // namespace
}  // namespace wafer::estimate
