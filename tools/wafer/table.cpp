// The table renderer and JSON printer (table.hpp). Text and markdown format each cell with its
// column's CellFormat; CSV writes numbers as JSON writes them (full precision, no separators),
// null as an empty cell, and quotes a text cell that holds a comma, a quote or a line break;
// markdown escapes a "|" inside a cell.
#include "table.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "wafer/support/json_text.hpp"
#include "wafer/support/param_table.hpp"

namespace wafer::cli {

namespace {

std::string csv_cell(const Json& v) {
  if (v.is_null()) return "";
  if (!v.is_string()) return json_text(v);
  const std::string s = v.get<std::string>();
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string joined(const std::vector<std::string>& cells, const char* open, const char* sep,
                   const char* close) {
  std::string line = open;
  for (size_t i = 0; i < cells.size(); ++i) line += (i ? sep : "") + cells[i];
  return line + close;
}

TableRows human_rows(const Table& t) {
  TableRows rows(1);
  for (const Column& c : t.columns) rows[0].push_back(c.title);
  for (const Json& row : t.rows) {
    std::vector<std::string>& cells = rows.emplace_back();
    for (const Column& c : t.columns) cells.push_back(c.format(row.contains(c.key) ? row[c.key] : Json()));
  }
  return rows;
}

// A markdown cell: a '|' inside it is escaped, so that "fp32|fp16" stays one cell.
std::string markdown_cell(const std::string& cell) {
  std::string out;
  for (char c : cell) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string markdown_text(const TableRows& rows) {
  std::string text;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<std::string> cells;
    for (const std::string& cell : rows[r]) cells.push_back(markdown_cell(cell));
    text += joined(cells, "| ", " | ", " |\n");
    if (r == 0) text += joined(std::vector<std::string>(rows[r].size(), "---"), "|", "|", "|\n");
  }
  return text;
}

std::string csv_text(const Table& t) {
  std::vector<std::string> cells;
  for (const Column& c : t.columns) cells.push_back(c.key);
  std::string text = joined(cells, "", ",", "\n");
  for (const Json& row : t.rows) {
    cells.clear();
    for (const Column& c : t.columns) cells.push_back(csv_cell(row.contains(c.key) ? row[c.key] : Json()));
    text += joined(cells, "", ",", "\n");
  }
  return text;
}

}  // namespace

std::string plain_cell(const Json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_number_float()) return json_text(v);
  const double d = v.get<double>();
  if (std::abs(d) >= 1e5) return fmt::format("{:.2e}", d);
  return std::abs(d) >= 100 ? fmt::format("{:.1f}", d) : fmt::format("{:.3f}", d);
}

Expected<TableFormat> parse_table_format(const std::string& text) {
  if (text == "md" || text == "markdown") return TableFormat::markdown;
  if (text == "csv") return TableFormat::csv;
  if (text == "json") return TableFormat::json;
  if (text == "text") return TableFormat::text;
  return make_error("expected one of md, markdown, csv, json or text, got '{}'", text);
}

CLI::Validator table_format_validator() {
  return CLI::Validator(
      [](std::string& text) {
        auto f = parse_table_format(text);
        return f ? std::string() : f.message();
      },
      "md|markdown|csv|json|text");
}

void add_format_flags(CLI::App& cmd, std::string& format, bool& json, const std::string& fallback) {
  cmd.add_option("--format", format, fmt::format("output format: md (markdown), csv, json or text (default: {})", fallback))
      ->check(table_format_validator());
  cmd.add_flag("--json", json, "print one JSON object (same as --format json)");
}

TableFormat chosen_format(const std::string& format, bool json, TableFormat fallback) {
  if (json) return TableFormat::json;
  auto f = parse_table_format(format);
  return f ? *f : fallback;
}

Json table_json(const Table& t) {
  Json rows = Json::array();
  for (const Json& row : t.rows) {
    Json one = Json::object();
    for (const Column& c : t.columns) one[c.key] = row.contains(c.key) ? row[c.key] : Json();
    rows.push_back(std::move(one));
  }
  return rows;
}

std::string table_text(const Table& t, TableFormat format) {
  switch (format) {
    case TableFormat::text: return table_text(human_rows(t));
    case TableFormat::markdown: return markdown_text(human_rows(t));
    case TableFormat::csv: return csv_text(t);
    case TableFormat::json: break;
  }
  return json_text(table_json(t), 2) + "\n";
}

std::string table_text(const TableRows& rows) {
  if (rows.empty()) return "";
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string text;
  for (const auto& row : rows) {
    text += "  ";
    for (size_t c = 0; c < row.size(); ++c)
      text += c + 1 == row.size() ? row[c] : fmt::format("{:<{}}  ", row[c], width[c]);
    text += "\n";
  }
  return text;
}

void print_table(const Table& t, TableFormat format) { fmt::print("{}", table_text(t, format)); }

void print_table(const TableRows& rows) { fmt::print("{}", table_text(rows)); }

Table param_docs_table(const std::vector<ParamDoc>& docs) {
  Table t{{{"key", "key"},
           {"unit", "unit"},
           {"range", "range"},
           {"meaning", "meaning"},
           {"source", "source"}},
          {}};
  for (const ParamDoc& d : docs) {
    auto cell = [](const std::string& s) { return s.empty() ? Json() : Json(s); };
    t.rows.push_back({{"key", d.key},
                      {"unit", cell(d.unit)},
                      {"range", cell(d.range)},
                      {"meaning", d.meaning},
                      {"source", cell(d.source)}});
  }
  return t;
}

void print_json(const Json& value) { fmt::print("{}\n", json_text(value, 2)); }

}  // namespace wafer::cli
