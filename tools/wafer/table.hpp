// The one table renderer and the one JSON printer of the `wafer` command.
//
// A Table is a list of columns (a snake_case key for CSV and JSON, a title and a cell format
// for people) and rows of JSON values keyed by the columns' keys, so that every verb prints
// the same table as aligned text, markdown, CSV (header of keys, numbers in full, no units)
// or a JSON array. --format takes md|markdown|csv|json on every verb (parse_table_format),
// and --json is --format json. TableRows is the plain form for key/value listings: aligned
// columns, two spaces between them, two spaces of indent. print_json prints every verb's
// JSON object the same way, through json_text. table_text gives the same text as a string,
// and param_docs_table makes any parameter table's description rows (the arch's, the
// estimator's, a kernel's) a Table.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "wafer/support/error.hpp"

namespace wafer {
struct ParamDoc;
}  // namespace wafer

namespace wafer::cli {

using Json = nlohmann::ordered_json;
using TableRows = std::vector<std::vector<std::string>>;

enum class TableFormat { text, markdown, csv, json };

// How a value reads in text and markdown: "-" for null; by default, numbers of 1e5 and more as
// 2.77e+07, others to 3 decimals (1 from 100); integers and strings as they are.
using CellFormat = std::string (*)(const Json& value);
std::string plain_cell(const Json& value);

struct Column {
  std::string key;    // snake_case: CSV header and JSON key
  std::string title;  // text and markdown header
  CellFormat format = plain_cell;
};

struct Table {
  std::vector<Column> columns;
  std::vector<Json> rows;  // objects with the columns' keys
};

// "md", "markdown", "csv", "json" (and "text" where a verb prints aligned text by default).
Expected<TableFormat> parse_table_format(const std::string& text);
CLI::Validator table_format_validator();
// --format and --json on `cmd`; `fallback` says in the help what a verb prints without them.
void add_format_flags(CLI::App& cmd, std::string& format, bool& json, const std::string& fallback);
// The format the flags ask for (--json wins; no --format: `fallback`); the validator has
// checked `format`.
TableFormat chosen_format(const std::string& format, bool json, TableFormat fallback);

// The table as print_table prints it, for a --help footer or a file.
std::string table_text(const Table& table, TableFormat format);
std::string table_text(const TableRows& rows);
void print_table(const Table& table, TableFormat format);
void print_table(const TableRows& rows);
// The description rows of a parameter table (support/param_table.hpp's describe()): key,
// unit, range, meaning, source; an empty cell is null ("-" in text).
Table param_docs_table(const std::vector<ParamDoc>& docs);
// The rows as a JSON array (for a verb's JSON object).
Json table_json(const Table& table);
// Every verb's JSON output: pretty-printed with an indent of 2, then a newline.
void print_json(const Json& value);

}  // namespace wafer::cli
