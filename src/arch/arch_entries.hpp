// Internal to the arch layer: the format-neutral form of an arch file's entries.
//
// The TOML and JSON readers (support/flat_config) turn a document into a list of entries;
// apply_entries() (arch_entries.cpp) is the one place that resolves the base preset,
// converts values, sets them and validates the result.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/support/flat_config.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer::arch {

// Builds the arch the entries describe; every error is prefixed with `origin`.
Expected<Arch> apply_entries(const ConfigEntries& entries, const std::string& origin);

}  // namespace wafer::arch
