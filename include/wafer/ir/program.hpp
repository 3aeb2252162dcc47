// The program IR: what runs on which PEs, with which routes, and what the host does.
//
// A Program covers a width x height rectangle of PEs placed at the fabric's origin. It holds
// Codes (per-PE code: symbols in SRAM, tasks, instructions), Placements (which code runs on
// which rectangle), Routes (static per-color router configuration on a rectangle, with up to
// `switch_positions` positions advanced by control wavelets) and a host script (copies in and
// out by symbol, streams into colors, launches). Kernels build it with ir::CodeBuilder; people
// write it as text (docs/program-format.md, ir/text.hpp). Both go through ir::verify().
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wafer/support/numeric.hpp"

namespace wafer::ir {

// Router ports. A PortMask has bit (1 << Dir) set for each port.
enum class Dir : uint8_t { north = 0, east = 1, south = 2, west = 3, ramp = 4 };
using PortMask = uint8_t;
constexpr PortMask port_bit(Dir d) { return PortMask(1u << unsigned(d)); }
std::string_view dir_name(Dir d);
std::optional<Dir> parse_dir(std::string_view name);  // "N","E","S","W","R" or full names
std::string port_mask_name(PortMask m);                // e.g. "{W,R}"

struct SourceLoc {
  uint32_t line = 0;  // 1-based; 0 when built in C++
  uint32_t col = 0;
};

struct Rect {
  int x = 0, y = 0, w = 1, h = 1;
  // In 64-bit, so that a rectangle reaching past INT_MAX contains what it covers.
  bool contains(int px, int py) const {
    return px >= x && px < int64_t(x) + w && py >= y && py < int64_t(y) + h;
  }
  int64_t area() const { return int64_t(w) * h; }
};

// The smallest rectangle that holds both.
inline Rect bounding(const Rect& a, const Rect& b) {
  const int x0 = a.x < b.x ? a.x : b.x, y0 = a.y < b.y ? a.y : b.y;
  const int x1 = a.x + a.w > b.x + b.w ? a.x + a.w : b.x + b.w;
  const int y1 = a.y + a.h > b.y + b.h ? a.y + a.h : b.y + b.h;
  return {x0, y0, x1 - x0, y1 - y0};
}

struct RoutePosition {
  PortMask rx = 0;  // ports a wavelet may arrive from
  PortMask tx = 0;  // ports every arriving wavelet is copied to (multicast)
};

struct Route {
  Rect rect;
  int color = 0;
  std::vector<RoutePosition> positions;  // position 0 first; control wavelets advance
  SourceLoc loc;
};

struct Symbol {
  std::string name;
  DType type = DType::f32;
  uint32_t count = 1;  // elements
};

enum class TaskKind : uint8_t { local, data, control };

struct Task {
  std::string name;
  int id = 0;                  // hardware task id, < arch.task_ids; unique within a code
  TaskKind kind = TaskKind::local;
  int color = -1;              // data tasks: the color whose wavelets trigger it
  bool blocked = false;        // initial state
  uint32_t entry = 0;          // index of the first instruction
};

enum class Opcode : uint8_t {
  nop,
  movi, mov,
  add, sub, mul, div, rem, and_, or_, xor_, shl, shr,
  fadd, fsub, fmul, fdiv, fmax, itof, ftoi,
  ld, st,
  beq, bne, blt, bge, jmp,
  activate, block, unblock, ret,
  send, sendc,
  mdsd, fdsd,
  vmov, vadd, vsub, vmul, vfma, vmax, vneg, vabs, vcvt,
  vmin, vdiv, vclamp, vscale, vlogb, vsel,
  count_
};

// Special read-only scalar sources.
enum class Special : uint8_t { x, y, width, height, wavelet };

struct Operand {
  enum class Kind : uint8_t { none, reg, special, imm, dsd, label, task, color, sym, dtype };
  Kind kind = Kind::none;
  int32_t value = 0;  // register / special / dsd index, raw 32-bit immediate, instruction
                      // index of a label, task id, color, symbol index, or DType
  bool imm_is_float = false;  // how an immediate was written (for printing)
};

enum class OnDone : uint8_t { none, activate, unblock };

struct Instr {
  Opcode op = Opcode::nop;
  std::array<Operand, 5> args{};
  bool async = false;         // vector ops: run on a microthread
  OnDone on_done = OnDone::none;
  int done_task = -1;         // task id to activate/unblock when an async op completes
  SourceLoc loc;
};

// Operand signature letters: r register (written), s scalar source (register, special or
// immediate), d DSD register, v vector source (DSD or scalar source), l label, t task id,
// c color, y symbol, T dtype, i immediate integer.
struct OpInfo {
  const char* name;
  const char* signature;
  bool is_vector;
};
const OpInfo& op_info(Opcode op);
std::optional<Opcode> parse_opcode(std::string_view name);

struct Code {
  std::string name;
  std::vector<Symbol> symbols;
  std::vector<Task> tasks;
  std::vector<Instr> instrs;
  int find_symbol(std::string_view name) const;  // -1 when absent
  const Task* find_task(std::string_view name) const;
  const Task* task_by_id(int id) const;
};

struct Placement {
  Rect rect;
  int code = 0;
  SourceLoc loc;
};

// Values for a host copy: explicit list, a constant, an arithmetic sequence, or seeded
// uniform random values in [lo, hi).
struct HostData {
  enum class Kind : uint8_t { values, fill, iota, random };
  Kind kind = Kind::values;
  std::vector<double> values;
  double a = 0, b = 0;  // fill: a; iota: start a, step b; random: lo a, hi b
  uint64_t seed = 0;
};

// Expands a HostData into n values (an explicit list is returned as given). Random values
// come from a SplitMix64 stream of the seed, so they are the same on every platform.
std::vector<double> expand_host_data(const HostData& data, size_t n);

struct HostOp {
  enum class Kind : uint8_t { h2d, d2h, launch, stream_in };
  Kind kind = Kind::h2d;
  std::string name;      // symbol (h2d, d2h) or task (launch)
  Rect rect;             // PEs addressed
  HostData data;         // h2d, stream_in
  int color = 0;         // stream_in
  Dir edge = Dir::west;  // stream_in: the off-fabric side the wavelets enter from
  DType stream_type = DType::f32;
  SourceLoc loc;
};

struct Program {
  int width = 1, height = 1;
  std::string arch;  // optional arch name or file requested by a text program
  std::vector<Code> codes;
  std::vector<Placement> placements;
  std::vector<Route> routes;
  std::vector<HostOp> host;
};

// The most codes a program may have: a PE's code index is 16-bit in the simulator and in
// trace events.
constexpr size_t kMaxCodes = 32767;

// Bytes of SRAM a code's instructions occupy (each instruction is one 32-bit word).
constexpr int kBytesPerInstr = 4;

// Byte offset of each symbol of a code in PE SRAM (4-byte aligned, after the code itself),
// and the total bytes used.
struct Layout {
  std::vector<uint32_t> offset;
  uint32_t bytes = 0;
};
Layout layout_code(const Code& code);

}  // namespace wafer::ir
