// Plain-text tables for the human output of the subcommands: left-aligned columns, two
// spaces between them, two spaces of indent.
#pragma once

#include <string>
#include <vector>

namespace wafer::cli {

using TableRows = std::vector<std::vector<std::string>>;

void print_table(const TableRows& rows);

}  // namespace wafer::cli
