// Typed field tables: how a flat config file (or a set of flags) sets the fields of a struct.
//
// A FieldTable<T> lists, per key, the member of T it sets (whole number, real number,
// boolean, string) or a setter function for choices. apply_entry() finds the key, checks the
// value's type and converts it, and names the key and its place in the file on any error.
// The model files and the system files of the estimator both read their keys through it.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "wafer/support/flat_config.hpp"

namespace wafer {

// "must be a string, got number": the value's type against the type a key wants.
Status wrong_type(const ConfigEntry& entry, const char* want);
// A whole number within +-1e15, or an error saying what the value was.
Expected<int64_t> whole_number(const ConfigEntry& entry);

template <typename T>
struct Field {
  using Setter = Status (*)(T&, const std::string&);
  const char* key;
  std::variant<int64_t T::*, double T::*, bool T::*, std::string T::*, Setter> target;
};

template <typename T>
using FieldTable = std::vector<Field<T>>;

template <typename T>
std::vector<std::string> field_keys(const FieldTable<T>& table) {
  std::vector<std::string> keys;
  for (const Field<T>& f : table) keys.push_back(f.key);
  return keys;
}

template <typename T>
Status set_field(T& obj, const Field<T>& field, const ConfigEntry& s) {
  using Type = ConfigEntry::Type;
  if (auto* whole = std::get_if<int64_t T::*>(&field.target)) {
    Expected<int64_t> v = whole_number(s);
    if (!v) return v.status();
    obj.*(*whole) = *v;
  } else if (auto* real = std::get_if<double T::*>(&field.target)) {
    if (s.type != Type::number) return wrong_type(s, "a number");
    obj.*(*real) = s.number;
  } else if (auto* flag = std::get_if<bool T::*>(&field.target)) {
    if (s.type != Type::boolean) return wrong_type(s, "true or false");
    obj.*(*flag) = s.flag;
  } else if (auto* text = std::get_if<std::string T::*>(&field.target)) {
    if (s.type != Type::string) return wrong_type(s, "a string");
    obj.*(*text) = s.text;
  } else {
    if (s.type != Type::string) return wrong_type(s, "a string");
    return std::get<typename Field<T>::Setter>(field.target)(obj, s.text);
  }
  return Status::ok();
}

// Sets the field named by entry.key; `key_name` is how the error names it ("key 'hidden'",
// "--hidden") and `extra_keys` are keys the caller handles itself (listed as valid).
template <typename T>
Status apply_entry(T& obj, const FieldTable<T>& table, const ConfigEntry& s,
                   const std::string& key_name, const std::vector<std::string>& extra_keys = {}) {
  for (const Field<T>& f : table)
    if (s.key == f.key) return set_field(obj, f, s).with_context(s.where + ": " + key_name);
  std::vector<std::string> valid = extra_keys;
  for (const std::string& k : field_keys(table)) valid.push_back(k);
  return make_error("{}: unknown key '{}' (valid: {})", s.where, s.key, fmt::join(valid, ", "));
}

// A setter for an enum field spelled by to_string(E): Field{"mlp", &set_choice<...>}.
template <typename T, typename E, E T::*member, E... values>
Status set_choice(T& obj, const std::string& text) {
  for (E v : {values...}) {
    if (text == to_string(v)) {
      obj.*member = v;
      return Status::ok();
    }
  }
  return make_error("must be one of {}, got '{}'", fmt::join({to_string(values)...}, ", "), text);
}

}  // namespace wafer
