// Test helpers: field-by-field comparison of two Programs, ignoring source locations (text
// printed and parsed again sits on other lines), and the print -> parse round-trip check.
// program_diff returns "" when equal, else the first difference, so a failing EXPECT says
// where the programs part.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <string>

#include "wafer/ir/program.hpp"
#include "wafer/ir/text.hpp"

namespace wafer::ir::testing {

inline bool same_double(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b) || (a != a && b != b);
}

inline std::string diff_rect(const Rect& a, const Rect& b) {
  if (a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h) return "";
  return fmt::format("rect ({},{}) {}x{} vs ({},{}) {}x{}", a.x, a.y, a.w, a.h, b.x, b.y, b.w, b.h);
}

inline std::string diff_instr(const Instr& a, const Instr& b) {
  if (a.op != b.op) return fmt::format("opcode {} vs {}", int(a.op), int(b.op));
  for (size_t i = 0; i < a.args.size(); ++i) {
    const Operand &x = a.args[i], &y = b.args[i];
    if (x.kind != y.kind || x.value != y.value || x.imm_is_float != y.imm_is_float) {
      return fmt::format("operand {}: kind {} value {} float {} vs kind {} value {} float {}", i,
                         int(x.kind), x.value, x.imm_is_float, int(y.kind), y.value,
                         y.imm_is_float);
    }
  }
  if (a.async != b.async || a.on_done != b.on_done || a.done_task != b.done_task) {
    return "async or completion differs";
  }
  return "";
}

inline std::string diff_code(const Code& a, const Code& b) {
  if (a.name != b.name) return fmt::format("name '{}' vs '{}'", a.name, b.name);
  if (a.symbols.size() != b.symbols.size()) return "symbol count differs";
  for (size_t i = 0; i < a.symbols.size(); ++i) {
    const Symbol &x = a.symbols[i], &y = b.symbols[i];
    if (x.name != y.name || x.type != y.type || x.count != y.count)
      return fmt::format("symbol {}", i);
  }
  if (a.tasks.size() != b.tasks.size()) return "task count differs";
  for (size_t i = 0; i < a.tasks.size(); ++i) {
    const Task &x = a.tasks[i], &y = b.tasks[i];
    if (x.name != y.name || x.id != y.id || x.kind != y.kind || x.color != y.color ||
        x.blocked != y.blocked || x.entry != y.entry) {
      return fmt::format("task {} ('{}' vs '{}')", i, x.name, y.name);
    }
  }
  if (a.instrs.size() != b.instrs.size()) {
    return fmt::format("{} vs {} instructions", a.instrs.size(), b.instrs.size());
  }
  for (size_t i = 0; i < a.instrs.size(); ++i) {
    if (std::string d = diff_instr(a.instrs[i], b.instrs[i]); !d.empty()) {
      return fmt::format("instruction {}: {}", i, d);
    }
  }
  return "";
}

inline std::string diff_data(const HostData& a, const HostData& b) {
  if (a.kind != b.kind || a.values.size() != b.values.size() || !same_double(a.a, b.a) ||
      !same_double(a.b, b.b) || a.seed != b.seed) {
    return "host data differs";
  }
  for (size_t i = 0; i < a.values.size(); ++i) {
    if (!same_double(a.values[i], b.values[i])) return fmt::format("host value {}", i);
  }
  return "";
}

inline std::string diff_host(const HostOp& a, const HostOp& b) {
  if (a.kind != b.kind || a.name != b.name || a.color != b.color || a.edge != b.edge ||
      a.stream_type != b.stream_type) {
    return "host op fields differ";
  }
  if (std::string d = diff_rect(a.rect, b.rect); !d.empty()) return d;
  return diff_data(a.data, b.data);
}

inline std::string diff_route(const Route& a, const Route& b) {
  if (a.color != b.color || a.positions.size() != b.positions.size()) return "route differs";
  for (size_t i = 0; i < a.positions.size(); ++i) {
    if (a.positions[i].rx != b.positions[i].rx || a.positions[i].tx != b.positions[i].tx) {
      return fmt::format("route position {}", i);
    }
  }
  return diff_rect(a.rect, b.rect);
}

// "" when a and b are equal apart from source locations.
inline std::string program_diff(const Program& a, const Program& b) {
  if (a.width != b.width || a.height != b.height) return "size differs";
  if (a.arch != b.arch) return fmt::format("arch '{}' vs '{}'", a.arch, b.arch);
  auto each = [](const auto& xs, const auto& ys, const char* what, auto diff) -> std::string {
    if (xs.size() != ys.size()) return fmt::format("{} {} vs {}", what, xs.size(), ys.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      if (std::string d = diff(xs[i], ys[i]); !d.empty())
        return fmt::format("{} {}: {}", what, i, d);
    }
    return "";
  };
  auto placement = [](const Placement& x, const Placement& y) {
    return x.code != y.code ? std::string("code differs") : diff_rect(x.rect, y.rect);
  };
  for (std::string d : {each(a.codes, b.codes, "code", diff_code),
                        each(a.placements, b.placements, "placement", placement),
                        each(a.routes, b.routes, "route", diff_route),
                        each(a.host, b.host, "host op", diff_host)}) {
    if (!d.empty()) return d;
  }
  return "";
}

// Prints p, parses the text, and expects an equal Program that prints to the same text.
inline void expect_round_trip(const Program& p) {
  const std::string printed = print_program(p);
  Expected<Program> again = parse_program(printed, "printed.wafer");
  ASSERT_TRUE(again.has_value()) << again.message() << "\n" << printed;
  EXPECT_EQ(program_diff(p, *again), "") << printed;
  EXPECT_EQ(print_program(*again), printed);
}

}  // namespace wafer::ir::testing
