// Plain-text tables (table.hpp).
#include "table.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace wafer::cli {

void print_table(const TableRows& rows) {
  if (rows.empty()) return;
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  for (const auto& row : rows) {
    std::string line = "  ";
    for (size_t c = 0; c < row.size(); ++c)
      line += c + 1 == row.size() ? row[c] : fmt::format("{:<{}}  ", row[c], width[c]);
    fmt::print("{}\n", line);
  }
}

}  // namespace wafer::cli
