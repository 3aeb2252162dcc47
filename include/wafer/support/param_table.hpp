// Self-describing parameter tables: one row per field of a struct, saying how to set it, read
// it and explain it.
//
// A ParamTable<T> is a list of Param<T>: the key, the member it sets (whole number, real,
// boolean, string) or a Choice (one of a few names, or text a setter checks), the unit, the
// meaning, the valid range of a number (inclusive, finite) and where the value comes from.
// The same table sets fields from a config file entry (apply_entry: checks the value's type
// and names file:line and key on any error, as the estimator's model and system files need),
// sets them from a plain number (set_number: checks range and integrality, as the arch files
// need), reads them back (get_number, get_text) and describes itself (describe: rows for
// `wafer info`, a --help text, the docs). The arch, the estimator and the kernels each declare
// one table; everything here that is not a template lives in src/support/param_table.cpp.
//
// Declaring a table (a function-local static, built once):
//
//   struct KernelParams { int grid_w; int64_t m; DType dtype; uint64_t seed; std::string algo; };
//
//   const ParamTable<KernelParams>& kernel_params() {
//     using K = KernelParams;
//     static const ParamTable<K> table = {
//         {"grid_w", &K::grid_w, "PEs", "columns of the kernel's grid", {1, 2048}},
//         {"m", &K::m, "elements", "rows of the matrix (0: the kernel's default)", {0, 1e6}},
//         {"dtype", choice(&K::dtype, {{DType::f32, "fp32"}, {DType::f16, "fp16"}}), "",
//          "element type"},
//         {"seed", &K::seed, "", "seed of the random inputs", {0, 1e15}},
//         {"algo", &K::algo, "", "algorithm; empty: the kernel's default"},
//     };
//     return table;
//   }
//
// An enum with a to_string() takes choice(&Model::mlp, {MlpKind::gelu, MlpKind::swiglu}).
// describe(kernel_params()) gives the rows; tools/wafer/table.hpp's param_docs_table() turns
// them into a Table that table_text() renders as aligned text (a --help footer) or markdown.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "wafer/support/error.hpp"
#include "wafer/support/flat_config.hpp"

namespace wafer {

// The valid values of a number, both ends included; finite.
struct Range {
  double lo = 0;
  double hi = 0;
};

enum class ParamKind { integer, real, boolean, text, choice };

// A field set from text: one of `names` (empty: any text `set` accepts), read back by `get`.
template <typename T>
struct Choice {
  std::function<Status(T&, const std::string&)> set;
  std::function<std::string(const T&)> get;
  std::vector<std::string> names;
};

// The alternatives' order is the order of ParamKind: three integers, real, boolean, text.
template <typename T>
using ParamTarget = std::variant<int T::*, int64_t T::*, uint64_t T::*, double T::*, bool T::*,
                                 std::string T::*, Choice<T>>;

template <typename T>
struct Param {
  const char* key;
  ParamTarget<T> target;
  const char* unit = "";
  const char* meaning = "";
  Range range = {};                  // numbers only
  std::vector<std::string> sources;  // where the value comes from: one note, or one per preset
};

template <typename T>
using ParamTable = std::vector<Param<T>>;

// A parameter as the docs and `wafer info` show it; `range` is "1..2048", "gelu|swiglu",
// "true|false", or empty for any text.
struct ParamDoc {
  std::string key;
  std::string kind;  // integer, real, boolean, text or choice
  std::string unit;
  std::string range;
  std::string meaning;
  std::string source;  // the sources, joined by "; "
};

// The non-template parts (src/support/param_table.cpp).

// "must be a string, got number": the value's type against the type a key wants.
Status wrong_type(const ConfigEntry& entry, const char* want);
// A whole number within +-1e15 and within lo..hi, or an error saying what the value was.
Expected<int64_t> whole_number(const ConfigEntry& entry, int64_t lo = -1'000'000'000'000'000,
                               int64_t hi = 1'000'000'000'000'000);
// The range check of set_number: "key 'x': value V out of range (must be in LO..HI)", or
// "is not an integer", or "is not a number" for a boolean, text or choice.
Status check_number(const char* key, ParamKind kind, Range range, double value);
// "must be one of gelu, swiglu, got 'relu'".
Status not_a_choice(const std::vector<std::string>& names, const std::string& text);
Status unknown_key(const ConfigEntry& entry, const std::vector<std::string>& valid);
std::string number_text(double value);  // shortest exact form: 1.1, 49152, 1e-06
ParamDoc make_doc(const char* key, ParamKind kind, const char* unit, Range range,
                  const std::vector<std::string>& names, const char* meaning,
                  const std::vector<std::string>& sources);

template <typename T>
ParamKind kind_of(const Param<T>& p) {
  constexpr ParamKind kKinds[] = {ParamKind::integer, ParamKind::integer, ParamKind::integer,
                                  ParamKind::real,    ParamKind::boolean, ParamKind::text,
                                  ParamKind::choice};
  return kKinds[p.target.index()];
}

template <typename T>
const Param<T>* param_named(const ParamTable<T>& table, std::string_view key) {
  for (const Param<T>& p : table)
    if (key == p.key) return &p;
  return nullptr;
}

template <typename T>
std::vector<std::string> param_keys(const ParamTable<T>& table) {
  std::vector<std::string> keys;
  for (const Param<T>& p : table) keys.push_back(p.key);
  return keys;
}

// A number, a boolean (0 or 1); NaN for text and choices.
template <typename T>
double get_number(const T& obj, const Param<T>& p) {
  return std::visit(
      [&](const auto& target) -> double {
        using Target = std::decay_t<decltype(target)>;
        if constexpr (std::is_same_v<Target, std::string T::*> ||
                      std::is_same_v<Target, Choice<T>>)
          return std::numeric_limits<double>::quiet_NaN();
        else
          return double(obj.*target);
      },
      p.target);
}

// The value as a file would spell it: 762, 1.1, true, gelu.
template <typename T>
std::string get_text(const T& obj, const Param<T>& p) {
  if (auto* choice = std::get_if<Choice<T>>(&p.target)) return choice->get(obj);
  if (auto* text = std::get_if<std::string T::*>(&p.target)) return obj.**text;
  if (auto* flag = std::get_if<bool T::*>(&p.target)) return obj.**flag ? "true" : "false";
  if (auto* big = std::get_if<uint64_t T::*>(&p.target)) return std::to_string(obj.**big);
  return number_text(get_number(obj, p));
}

// Sets a number after the range and integrality checks of check_number.
template <typename T>
Status set_number(T& obj, const Param<T>& p, double value) {
  WAFER_TRY(check_number(p.key, kind_of(p), p.range, value));
  std::visit(
      [&](const auto& target) {
        using Target = std::decay_t<decltype(target)>;
        if constexpr (!std::is_same_v<Target, std::string T::*> &&
                      !std::is_same_v<Target, Choice<T>> && !std::is_same_v<Target, bool T::*>)
          obj.*target = std::remove_reference_t<decltype(obj.*target)>(value);
      },
      p.target);
  return Status::ok();
}

// Every number of `obj` within its range (what set_number would accept).
template <typename T>
Status check_ranges(const T& obj, const ParamTable<T>& table) {
  for (const Param<T>& p : table) {
    const ParamKind kind = kind_of(p);
    if (kind == ParamKind::integer || kind == ParamKind::real)
      WAFER_TRY(check_number(p.key, kind, p.range, get_number(obj, p)));
  }
  return Status::ok();
}

// Sets one field from a file entry, checking only the value's type (and that a whole number
// fits the field); the struct's validate() checks the values.
template <typename T>
Status set_entry(T& obj, const Param<T>& p, const ConfigEntry& e) {
  using Type = ConfigEntry::Type;
  return std::visit(
      [&](const auto& target) -> Status {
        using Target = std::decay_t<decltype(target)>;
        if constexpr (std::is_same_v<Target, Choice<T>>) {
          if (e.type != Type::string) return wrong_type(e, "a string");
          return target.set(obj, e.text);
        } else if constexpr (std::is_same_v<Target, std::string T::*>) {
          if (e.type != Type::string) return wrong_type(e, "a string");
          obj.*target = e.text;
        } else if constexpr (std::is_same_v<Target, bool T::*>) {
          if (e.type != Type::boolean) return wrong_type(e, "true or false");
          obj.*target = e.flag;
        } else if constexpr (std::is_same_v<Target, double T::*>) {
          if (e.type != Type::number) return wrong_type(e, "a number");
          obj.*target = e.number;
        } else {
          using Int = std::remove_reference_t<decltype(obj.*target)>;
          constexpr int64_t kLimit = 1'000'000'000'000'000;  // whole_number's bound
          constexpr int64_t kMax =
              int64_t(std::min<uint64_t>(std::numeric_limits<Int>::max(), kLimit));
          constexpr int64_t kMin = std::max<int64_t>(std::numeric_limits<Int>::min(), -kLimit);
          Expected<int64_t> v = whole_number(e, kMin, kMax);
          if (!v) return v.status();
          obj.*target = Int(*v);
        }
        return Status::ok();
      },
      p.target);
}

// Sets the field named by entry.key; `key_name` is how the error names it ("key 'hidden'",
// "--hidden") and `extra_keys` are keys the caller handles itself (listed as valid).
template <typename T>
Status apply_entry(T& obj, const ParamTable<T>& table, const ConfigEntry& e,
                   const std::string& key_name, const std::vector<std::string>& extra_keys = {}) {
  if (const Param<T>* p = param_named(table, e.key))
    return set_entry(obj, *p, e).with_context(e.where + ": " + key_name);
  std::vector<std::string> valid = extra_keys;
  for (const std::string& k : param_keys(table)) valid.push_back(k);
  return unknown_key(e, valid);
}

template <typename T>
std::vector<ParamDoc> describe(const ParamTable<T>& table) {
  std::vector<ParamDoc> docs;
  for (const Param<T>& p : table) {
    const auto* choice = std::get_if<Choice<T>>(&p.target);
    docs.push_back(make_doc(p.key, kind_of(p), p.unit, p.range,
                            choice ? choice->names : std::vector<std::string>{}, p.meaning,
                            p.sources));
  }
  return docs;
}

// A choice of an enum member among named values: choice(&K::dtype, {{DType::f32, "fp32"}}).
template <typename T, typename E>
Choice<T> choice(E T::*member, std::vector<std::pair<E, std::string>> named) {
  std::vector<std::string> names;
  for (const auto& [value, name] : named) names.push_back(name);
  auto set = [member, named, names](T& obj, const std::string& text) -> Status {
    for (const auto& [value, name] : named) {
      if (text != name) continue;
      obj.*member = value;
      return Status::ok();
    }
    return not_a_choice(names, text);
  };
  auto get = [member, named](const T& obj) -> std::string {
    for (const auto& [value, name] : named)
      if (obj.*member == value) return name;
    return "?";
  };
  return {set, get, names};
}

// The same for an enum spelled by to_string(E).
template <typename T, typename E>
Choice<T> choice(E T::*member, std::initializer_list<E> values) {
  std::vector<std::pair<E, std::string>> named;
  for (E v : values) named.emplace_back(v, std::string(to_string(v)));
  return choice(member, std::move(named));
}

}  // namespace wafer
