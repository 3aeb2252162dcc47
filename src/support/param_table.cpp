// The non-template parts of the parameter tables (param_table.hpp): the messages, the range
// check and the description rows. Every message of a table is made here, so the arch, the
// estimator and the kernels word their errors alike.
#include "wafer/support/param_table.hpp"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace wafer {

namespace {

std::string type_of(const ConfigEntry& s) {
  switch (s.type) {
    case ConfigEntry::Type::number: return "number";
    case ConfigEntry::Type::boolean: return "boolean";
    case ConfigEntry::Type::string: return "string";
    case ConfigEntry::Type::other: break;
  }
  return s.type_name;
}

const char* kind_name(ParamKind kind) {
  switch (kind) {
    case ParamKind::integer: return "integer";
    case ParamKind::real: return "real";
    case ParamKind::boolean: return "boolean";
    case ParamKind::text: return "text";
    case ParamKind::choice: return "choice";
  }
  return "?";
}

std::string range_text(ParamKind kind, Range range, const std::vector<std::string>& names) {
  switch (kind) {
    case ParamKind::integer:
    case ParamKind::real: return number_text(range.lo) + ".." + number_text(range.hi);
    case ParamKind::boolean: return "true|false";
    case ParamKind::choice: return fmt::format("{}", fmt::join(names, "|"));
    case ParamKind::text: break;
  }
  return "";
}

}  // namespace

Status wrong_type(const ConfigEntry& entry, const char* want) {
  return make_error("must be {}, got {}", want, type_of(entry));
}

Expected<int64_t> whole_number(const ConfigEntry& entry, int64_t lo, int64_t hi) {
  if (entry.type != ConfigEntry::Type::number) return wrong_type(entry, "a whole number");
  if (std::floor(entry.number) != entry.number || std::fabs(entry.number) > 1e15)
    return make_error("must be a whole number, got {}", entry.number);
  if (entry.number < double(lo) || entry.number > double(hi))
    return make_error("must be a whole number from {} to {}, got {}", lo, hi, entry.number);
  return int64_t(entry.number);
}

Status check_number(const char* key, ParamKind kind, Range range, double value) {
  if (kind != ParamKind::integer && kind != ParamKind::real)
    return make_error("key '{}': is not a number (it takes {})", key, kind_name(kind));
  if (!std::isfinite(value) || value < range.lo || value > range.hi)
    return make_error("key '{}': value {} out of range (must be in {}..{})", key, value, range.lo,
                      range.hi);
  if (kind == ParamKind::integer && value != std::floor(value))
    return make_error("key '{}': value {} is not an integer", key, value);
  return Status::ok();
}

Status not_a_choice(const std::vector<std::string>& names, const std::string& text) {
  return make_error("must be one of {}, got '{}'", fmt::join(names, ", "), text);
}

Status unknown_key(const ConfigEntry& entry, const std::vector<std::string>& valid) {
  return make_error("{}: unknown key '{}' (valid: {})", entry.where, entry.key,
                    fmt::join(valid, ", "));
}

std::string number_text(double value) { return fmt::format("{}", value); }

ParamDoc make_doc(const char* key, ParamKind kind, const char* unit, Range range,
                  const std::vector<std::string>& names, const char* meaning,
                  const std::vector<std::string>& sources) {
  return {key,     kind_name(kind),
          unit,    range_text(kind, range, names),
          meaning, fmt::format("{}", fmt::join(sources, "; "))};
}

}  // namespace wafer
