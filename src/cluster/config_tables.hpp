// Helpers the cluster's TOML readers share (fleet, jobs and workload files).
//
// apply_table() sets every entry of one table on a spec struct through its parameter table
// (type checks, unknown keys with the valid ones) and range-checks the numbers where they
// are written, remembering each key's place; require_keys() and key_place() use those places
// for errors found after all keys are set; beside() reads a file path relative to the file
// that names it, leaving zoo names as they are.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <map>
#include <string>

#include <fmt/format.h>

#include "wafer/support/error.hpp"
#include "wafer/support/flat_config.hpp"
#include "wafer/support/param_table.hpp"

namespace wafer::cluster {

// Where each key of one table was written.
using Places = std::map<std::string, std::string>;

template <typename T>
Status apply_table(T& spec, const ParamTable<T>& table, const ConfigEntries& entries,
                   Places& places) {
  for (const ConfigEntry& e : entries) {
    WAFER_TRY(apply_entry(spec, table, e, fmt::format("key '{}'", e.key)));
    const Param<T>* p = param_named(table, e.key);
    const ParamKind kind = kind_of(*p);
    if (kind == ParamKind::integer || kind == ParamKind::real)
      WAFER_TRY(check_number(p->key, kind, p->range, get_number(spec, *p)).with_context(e.where));
    places[e.key] = e.where;
  }
  return Status::ok();
}

inline Status require_keys(const ConfigTable& t, const Places& places,
                           std::initializer_list<const char*> keys) {
  for (const char* key : keys)
    if (!places.count(key)) return make_error("{}: [[{}]] needs key '{}'", t.where, t.array, key);
  return Status::ok();
}

// A path relative to `dir` (the directory of the file naming it). With `config_only`, only
// .toml/.json paths are files; anything else is a zoo name and stays as it is.
inline std::string beside(const std::string& dir, const std::string& name_or_path,
                          bool config_only = true) {
  std::filesystem::path p(name_or_path);
  if ((config_only && !is_flat_config_path(name_or_path)) || p.is_absolute()) return name_or_path;
  return (std::filesystem::path(dir) / p).lexically_normal().string();
}

inline std::string key_place(const Places& places, const ConfigTable& t, const std::string& key) {
  auto it = places.find(key);
  return fmt::format("{}: key '{}'", it == places.end() ? t.where : it->second, key);
}

}  // namespace wafer::cluster
