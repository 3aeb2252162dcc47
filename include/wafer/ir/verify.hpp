// Static checks of a Program against an Arch, before anything runs.
//
// Every error names where it is: the code, task and instruction (with source line and
// column when the program came from text), the PE coordinate, the color. Checks: operand
// kinds match each opcode's signature; labels, registers, DSD registers, task ids and
// colors are in range; symbols and code fit in SRAM; placements and routes lie inside the
// program and do not overlap on one PE (two routes for one color on one PE is an error);
// route positions fit the arch; the program fits on the fabric.
#pragma once

#include "wafer/arch/arch.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/support/error.hpp"

namespace wafer::ir {

Status verify(const Program& program, const arch::Arch& arch);

}  // namespace wafer::ir
