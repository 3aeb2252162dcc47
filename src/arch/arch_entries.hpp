// Internal to the arch layer: the format-neutral form of an arch file's entries.
//
// The TOML and JSON readers (arch_file.cpp) only turn their document into a list of
// (key, FileValue) entries; apply_entries() (arch_entries.cpp) is the one place that
// resolves the base preset, converts values, sets them and validates the result.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer::arch {

// One value of a document: a number, a string, or something else named by type_name.
struct FileValue {
  enum class Type { number, string, other } type = Type::other;
  double number = 0;
  std::string text;
  std::string type_name;
};
using FileEntries = std::vector<std::pair<std::string, FileValue>>;

// Builds the arch the entries describe; every error is prefixed with `origin`.
Expected<Arch> apply_entries(const FileEntries& entries, const std::string& origin);

}  // namespace wafer::arch
