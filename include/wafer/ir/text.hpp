// The program text format (docs/program-format.md): a person writes a Program by hand and
// `wafer sim FILE` runs it. parse_program never crashes on any input; errors name the file,
// line and column. print_program writes text that parse_program reads back to an equal
// Program (round trip).
#pragma once

#include <string>

#include "wafer/ir/program.hpp"
#include "wafer/support/error.hpp"

namespace wafer::ir {

Expected<Program> parse_program(const std::string& text, const std::string& filename);
Expected<Program> load_program_file(const std::string& path);
std::string print_program(const Program& program);

}  // namespace wafer::ir
