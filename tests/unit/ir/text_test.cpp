// The program text format: every construct parses to the expected IR, printing and parsing
// again gives an equal Program, and malformed input gives `file:line:col: message`.
#include "wafer/ir/text.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "program_equal.hpp"

namespace wafer::ir {
namespace {

using testing::expect_round_trip;

// The example of the format reference, with a comment on line 1.
constexpr const char* kExample = R"(# comment to end of line
program 4 1            # width height
arch wse3

code chain {
  sym x f32 16
  sym acc f32 16
  task main local 1 {
    mdsd d0, acc, 0, 16, 1
    fdsd d1, 3, 16, f32
    vadd d0, d0, d1
    movi r1, 0
  loop:
    add r1, r1, 1
    blt r1, 10, loop
    vfma d0, d0, r2, d0 async then activate done
    ret
  }
  task done local 2 { ret }
  task rx data 3 color 5 blocked { mov r3, wavelet ; ret }
}

place chain 0 0 4 1
route 3 0 0 4 1 rx W tx E,R | rx N tx S
host {
  h2d x 0 0 4 1 random 42 -1 1
  h2d acc 0 0 4 1 fill 0
  stream 5 W 0 0 1 1 f32 values 1 2 3
  launch main 0 0 4 1
  d2h acc 0 0 1 1
}
)";

Program parse_ok(const std::string& text) {
  Expected<Program> p = parse_program(text, "t.wafer");
  EXPECT_TRUE(p.has_value()) << p.message();
  return p ? std::move(*p) : Program{};
}

std::string parse_error(const std::string& text) {
  Expected<Program> p = parse_program(text, "t.wafer");
  EXPECT_FALSE(p.has_value()) << "parsed:\n" << text;
  return p ? std::string() : p.message();
}

void expect_operand(const Operand& o, Operand::Kind kind, int32_t value) {
  EXPECT_EQ(o.kind, kind);
  EXPECT_EQ(o.value, value);
}

TEST(Text, ParsesProgramHeaderAndSymbols) {
  const Program p = parse_ok(kExample);
  EXPECT_EQ(p.width, 4);
  EXPECT_EQ(p.height, 1);
  EXPECT_EQ(p.arch, "wse3");
  ASSERT_EQ(p.codes.size(), 1u);
  const Code& c = p.codes[0];
  EXPECT_EQ(c.name, "chain");
  ASSERT_EQ(c.symbols.size(), 2u);
  EXPECT_EQ(c.symbols[1].name, "acc");
  EXPECT_EQ(c.symbols[1].type, DType::f32);
  EXPECT_EQ(c.symbols[1].count, 16u);
}

TEST(Text, ParsesTasksWithEntriesColorsAndBlocked) {
  const Code c = parse_ok(kExample).codes[0];
  ASSERT_EQ(c.tasks.size(), 3u);
  EXPECT_EQ(c.tasks[0].name, "main");
  EXPECT_EQ(c.tasks[0].kind, TaskKind::local);
  EXPECT_EQ(c.tasks[0].id, 1);
  EXPECT_EQ(c.tasks[0].entry, 0u);
  EXPECT_EQ(c.tasks[1].entry, 8u);
  EXPECT_EQ(c.tasks[2].kind, TaskKind::data);
  EXPECT_EQ(c.tasks[2].id, 3);
  EXPECT_EQ(c.tasks[2].color, 5);
  EXPECT_TRUE(c.tasks[2].blocked);
  EXPECT_FALSE(c.tasks[0].blocked);
  EXPECT_EQ(c.tasks[0].color, -1);
  EXPECT_EQ(c.instrs.size(), 11u);
}

TEST(Text, ParsesInstructionOperands) {
  const Code c = parse_ok(kExample).codes[0];
  using K = Operand::Kind;
  const Instr& mdsd = c.instrs[0];
  EXPECT_EQ(mdsd.op, Opcode::mdsd);
  expect_operand(mdsd.args[0], K::dsd, 0);
  expect_operand(mdsd.args[1], K::sym, 1);
  expect_operand(mdsd.args[2], K::imm, 0);
  expect_operand(mdsd.args[3], K::imm, 16);
  expect_operand(mdsd.args[4], K::imm, 1);
  EXPECT_EQ(mdsd.loc.line, 9u);
  EXPECT_EQ(mdsd.loc.col, 5u);
  const Instr& fdsd = c.instrs[1];
  expect_operand(fdsd.args[1], K::color, 3);
  expect_operand(fdsd.args[3], K::dtype, int32_t(DType::f32));
  const Instr& blt = c.instrs[5];
  EXPECT_EQ(blt.op, Opcode::blt);
  expect_operand(blt.args[0], K::reg, 1);
  expect_operand(blt.args[1], K::imm, 10);
  expect_operand(blt.args[2], K::label, 4);
  const Instr& mov = c.instrs[9];
  expect_operand(mov.args[1], K::special, int32_t(Special::wavelet));
  EXPECT_EQ(mov.loc.line, 20u);
}

TEST(Text, ParsesAsyncCompletion) {
  const Code c = parse_ok(kExample).codes[0];
  const Instr& vfma = c.instrs[6];
  EXPECT_EQ(vfma.op, Opcode::vfma);
  EXPECT_TRUE(vfma.async);
  EXPECT_EQ(vfma.on_done, OnDone::activate);
  EXPECT_EQ(vfma.done_task, 2);
  expect_operand(vfma.args[2], Operand::Kind::reg, 2);
  EXPECT_FALSE(c.instrs[2].async);
  EXPECT_EQ(c.instrs[2].done_task, -1);
}

TEST(Text, ParsesPlacementRouteAndHost) {
  const Program p = parse_ok(kExample);
  ASSERT_EQ(p.placements.size(), 1u);
  EXPECT_EQ(p.placements[0].code, 0);
  EXPECT_EQ(p.placements[0].rect.w, 4);
  EXPECT_EQ(p.placements[0].loc.line, 23u);
  ASSERT_EQ(p.routes.size(), 1u);
  const Route& r = p.routes[0];
  EXPECT_EQ(r.color, 3);
  ASSERT_EQ(r.positions.size(), 2u);
  EXPECT_EQ(r.positions[0].rx, port_bit(Dir::west));
  EXPECT_EQ(r.positions[0].tx, port_bit(Dir::east) | port_bit(Dir::ramp));
  EXPECT_EQ(r.positions[1].rx, port_bit(Dir::north));
  EXPECT_EQ(r.positions[1].tx, port_bit(Dir::south));
  ASSERT_EQ(p.host.size(), 5u);
  EXPECT_EQ(p.host[0].kind, HostOp::Kind::h2d);
  EXPECT_EQ(p.host[0].data.kind, HostData::Kind::random);
  EXPECT_EQ(p.host[0].data.seed, 42u);
  EXPECT_EQ(p.host[0].data.a, -1.0);
  EXPECT_EQ(p.host[1].data.kind, HostData::Kind::fill);
  const HostOp& s = p.host[2];
  EXPECT_EQ(s.kind, HostOp::Kind::stream_in);
  EXPECT_EQ(s.color, 5);
  EXPECT_EQ(s.edge, Dir::west);
  EXPECT_EQ(s.data.values, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(p.host[3].kind, HostOp::Kind::launch);
  EXPECT_EQ(p.host[3].name, "main");
  EXPECT_EQ(p.host[4].kind, HostOp::Kind::d2h);
  EXPECT_EQ(p.host[4].loc.line, 30u);
}

TEST(Text, ParsesImmediateForms) {
  const Program p = parse_ok(R"(program 1 1
code c {
  task t local 0 {
    movi r0, 1.5
    movi r1, -2e-3
    movi r2, 0xffffffff
    movi r3, -2147483648
    fadd r4, r0, -inf
    add r5, x, 7
  }
}
)");
  const auto& in = p.codes[0].instrs;
  EXPECT_EQ(in[0].args[1].value, int32_t(f32_to_bits(1.5f)));
  EXPECT_TRUE(in[0].args[1].imm_is_float);
  EXPECT_EQ(in[1].args[1].value, int32_t(f32_to_bits(-2e-3f)));
  EXPECT_EQ(in[2].args[1].value, -1);
  EXPECT_FALSE(in[2].args[1].imm_is_float);
  EXPECT_EQ(in[3].args[1].value, INT32_MIN);
  EXPECT_EQ(uint32_t(in[4].args[2].value), 0xff800000u);
  expect_operand(in[5].args[1], Operand::Kind::special, int32_t(Special::x));
}

TEST(Text, ResolvesForwardTaskReferencesAndSameLineLabels) {
  const Program p = parse_ok(R"(program 1 1
code c {
  task first local 4 { activate later ; top: jmp top }
  task later local 9 { unblock first ; ret }
}
)");
  const Code& c = p.codes[0];
  expect_operand(c.instrs[0].args[0], Operand::Kind::task, 9);
  expect_operand(c.instrs[1].args[0], Operand::Kind::label, 1);
  expect_operand(c.instrs[2].args[0], Operand::Kind::task, 4);
}

TEST(Text, SymbolNamesAndSpecialsAreTakenByPosition) {
  const Program p = parse_ok(R"(program 1 1
code c {
  sym x i32 2
  task t local 0 { st x, 1, x ; ret }
}
)");
  const Instr& st = p.codes[0].instrs[0];
  expect_operand(st.args[0], Operand::Kind::sym, 0);
  expect_operand(st.args[2], Operand::Kind::special, int32_t(Special::x));
}

TEST(Text, ParsesFlatTasksWithAt) {
  const Program p = parse_ok(R"(program 1 1
code c {
  task b local 2 at second
  task a local 1 at first
first:
  movi r0, 1
second: ret
}
)");
  const Code& c = p.codes[0];
  EXPECT_EQ(c.tasks[0].entry, 1u);
  EXPECT_EQ(c.tasks[1].entry, 0u);
  expect_round_trip(p);
}

TEST(Text, ParsesQuotedNamesWithEscapes) {
  const Program p = parse_ok(R"(program 1 1
arch "arch/small.toml"
code "two words" {
  sym "a\"b" i16 1
  task "t\x41\n" local 0 { ld r0, "a\"b", 0 ; ret }
}
place "two words" 0 0 1 1
)");
  EXPECT_EQ(p.arch, "arch/small.toml");
  EXPECT_EQ(p.codes[0].name, "two words");
  EXPECT_EQ(p.codes[0].symbols[0].name, "a\"b");
  EXPECT_EQ(p.codes[0].tasks[0].name, "tA\n");
  expect_round_trip(p);
}

TEST(Text, ParsesEveryHostDataForm) {
  const Program p = parse_ok(R"(program 2 1
host {
  h2d s 0 0 2 1 values 1 -2.5 0x10 inf
  h2d s 0 0 2 1 iota 0.5 -0.25
  h2d t 1 0 1 1 random 18446744073709551615 -1e9 1e9
  stream 7 E 1 0 1 1 bf16 values 0.1
}
)");
  EXPECT_EQ(p.host[0].data.values, (std::vector<double>{1, -2.5, 16, INFINITY}));
  EXPECT_EQ(p.host[1].data.kind, HostData::Kind::iota);
  EXPECT_EQ(p.host[1].data.b, -0.25);
  EXPECT_EQ(p.host[2].data.seed, UINT64_MAX);
  EXPECT_EQ(p.host[2].data.b, 1e9);
  EXPECT_EQ(p.host[3].edge, Dir::east);
  EXPECT_EQ(p.host[3].stream_type, DType::bf16);
  expect_round_trip(p);
}

TEST(Text, PrintsCanonicalText) {
  const Program p = parse_ok(
      "program 2 1; code c { sym v f16 4; task t data 1 color 2 { x: fmax r1, r1, 2.0 ;"
      " bge r1, -3, x ; ret } }; place c 0 0 2 1; route 2 1 0 1 1 rx W tx R;"
      " host { h2d v 0 0 2 1 values 0.5 1e+20 }");
  EXPECT_EQ(print_program(p), R"(program 2 1

code c {
  sym v f16 4
  task t data 1 color 2 {
  L0:
    fmax r1, r1, 2.0
    bge r1, -3, L0
    ret
  }
}

place c 0 0 2 1

route 2 1 0 1 1 rx W tx R

host {
  h2d v 0 0 2 1 values 0.5 1e+20
}
)");
}

TEST(Text, RoundTripsTheExample) { expect_round_trip(parse_ok(kExample)); }

TEST(Text, RoundTripsFloatImmediatesExactly) {
  const Program p = parse_ok(
      "program 1 1\ncode c { task t local 0 { movi r0, 0.1; movi r1, 3.4028235e38;"
      " movi r2, 1e-45; movi r3, -0.0; movi r4, 100000.0; fadd r5, r4, inf } }\n");
  EXPECT_EQ(p.codes[0].instrs[3].args[1].value, INT32_MIN);
  expect_round_trip(p);
}

TEST(Text, EmptyTasksKeepTheirEntries) {
  const Program p = parse_ok(
      "program 1 1\ncode c { task a local 0 { }\n task b local 1 { ret }\n task z local 2 { } }");
  EXPECT_EQ(p.codes[0].tasks[0].entry, 0u);
  EXPECT_EQ(p.codes[0].tasks[1].entry, 0u);
  EXPECT_EQ(p.codes[0].tasks[2].entry, 1u);
  expect_round_trip(p);
}

struct Malformed {
  const char* text;
  const char* error;  // the whole message, or its start when it ends in "..."
};

class MalformedText : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedText, ReportsFileLineColumnAndCause) {
  const std::string message = parse_error(GetParam().text);
  std::string expected = GetParam().error;
  if (expected.ends_with("...")) {
    expected.resize(expected.size() - 3);
    EXPECT_EQ(message.substr(0, expected.size()), expected);
  } else {
    EXPECT_EQ(message, expected);
  }
}

constexpr const char* kTask = "program 1 1\ncode c {\n  task m local 1 {\n    ";

std::string in_task(const char* line) { return std::string(kTask) + line + "\n  }\n}\n"; }

const std::string kUnknownInstr = in_task("vaddd d0, d0, d1");
const std::string kUndefinedLabel = in_task("jmp nowhere");
const std::string kUnknownTask = in_task("activate mm");
const std::string kUnknownSymbol = in_task("ld r1, acc, 0");
const std::string kFewOperands = in_task("vadd d0, d1");
const std::string kManyOperands = in_task("mov r1, r2, r3");
const std::string kWrongKind = in_task("vadd r1, d0, d1");
const std::string kHugeImm = in_task("movi r1, 4294967296");
const std::string kFloatStride = in_task("mdsd d0, s, 0, 4, 1.5");
const std::string kSymInTask = in_task("sym s f32 4");
const std::string kBadThen = in_task("vmov d0, d1 async then start m");
const std::string kMalformedNumber = in_task("add r1, r1, 12abc");

INSTANTIATE_TEST_SUITE_P(
    Text, MalformedText,
    ::testing::Values(
        Malformed{"",
                  "t.wafer:1:1: expected 'program WIDTH HEIGHT' as the first statement, "
                  "found end of file"},
        Malformed{"program 0 1",
                  "t.wafer:1:9: a program width must be between 1 and 1048576, "
                  "found '0'"},
        Malformed{"program 1 1 extra", "t.wafer:1:13: expected end of line, found 'extra'"},
        Malformed{kUnknownInstr.c_str(),
                  "t.wafer:4:5: unknown instruction 'vaddd' (did you mean 'vadd'?)"},
        Malformed{kUndefinedLabel.c_str(), "t.wafer:4:9: undefined label 'nowhere'"},
        Malformed{kUnknownTask.c_str(),
                  "t.wafer:4:14: unknown task 'mm' in code 'c' (did you mean 'm'?)"},
        Malformed{kUnknownSymbol.c_str(), "t.wafer:4:12: unknown symbol 'acc' in code 'c'"},
        Malformed{kFewOperands.c_str(), "t.wafer:4:16: 'vadd' takes 3 operands, found 2"},
        Malformed{kManyOperands.c_str(), "t.wafer:4:15: too many operands for 'mov' (it takes 2)"},
        Malformed{kWrongKind.c_str(),
                  "t.wafer:4:10: expected a dsd register (dN) as operand 1 of 'vadd', found 'r1'"},
        Malformed{kHugeImm.c_str(), "t.wafer:4:14: immediate '4294967296' does not fit in 32 bits"},
        Malformed{kFloatStride.c_str(),
                  "t.wafer:4:23: expected an integer immediate as operand 5 "
                  "of 'mdsd', found '1.5'"},
        Malformed{kSymInTask.c_str(),
                  "t.wafer:4:5: 'sym' cannot appear inside task 'm' (close "
                  "it with '}' first)"},
        Malformed{kBadThen.c_str(),
                  "t.wafer:4:28: expected 'activate' or 'unblock' after "
                  "'then', found 'start'"},
        Malformed{kMalformedNumber.c_str(), "t.wafer:4:17: malformed or out-of-range f32 '12abc'"},
        Malformed{"program 1 1\narch \"wse3\n", "t.wafer:2:6: unterminated string"},
        Malformed{"program 1 1\narch \"a\\qb\"", "t.wafer:2:9: bad escape in string..."},
        Malformed{"program 1 1\ncode \"c\xff\" { }",
                  "t.wafer:2:6: string is not valid UTF-8 (byte 2 of its value is 0xff)"},
        Malformed{"program 1 1\ncode c { sym \"s\\xc3\" f32 1 }",
                  "t.wafer:2:14: string is not valid UTF-8 (byte 2 of its value is 0xc3)"},
        Malformed{"program 1 1\ncode c\xff { }", "t.wafer:2:7: unexpected character '\\xff'"},
        Malformed{"program 1 1\nplace c 0 0 1 1 @", "t.wafer:2:7: unknown code 'c'"},
        Malformed{"program 1 1\ncode c { }\nplace c 0 0 1 1 @",
                  "t.wafer:3:17: unexpected character '@'"},
        Malformed{"program 1 1\ncod c { }",
                  "t.wafer:2:1: unknown statement 'cod' (did you mean "
                  "'code'?)"},
        Malformed{"program 1 1\narch a\narch b",
                  "t.wafer:3:1: duplicate 'arch' statement (the "
                  "first is at line 2)"},
        Malformed{"program 1 1\ncode c {\n  sym s f32 4\n  sym s f16 2\n}",
                  "t.wafer:4:7: duplicate symbol 's' (first declared at line 3)"},
        Malformed{"program 1 1\ncode c {\n  task a local 1 { ret }\n  task a local 2 { ret }\n}",
                  "t.wafer:4:8: duplicate task 'a' (first declared at line 3)"},
        Malformed{"program 1 1\ncode c {\n  task a local 1 { l: ret\n l: ret }\n}",
                  "t.wafer:4:2: duplicate label 'l' (first declared at line 3)"},
        Malformed{"program 1 1\ncode c { sym s f32 16777217 }",
                  "t.wafer:2:20: an element count must be between 1 and 16777216, found "
                  "'16777217'"},
        Malformed{"program 1 1\ncode c {\n  task a local 1 {\n",
                  "t.wafer:4:1: expected '}' to "
                  "close task 'a' opened at line 3, found end of file"},
        Malformed{"program 2 1\nroute 1 0 0 2 1 rx W tx",
                  "t.wafer:2:24: expected a port (N, E, "
                  "S, W or R), found end of file"},
        Malformed{"program 2 1\nroute 1 0 0 2 1 rx W,W tx E",
                  "t.wafer:2:22: port 'W' is listed "
                  "twice"},
        Malformed{"program 2 1\nroute 1 0 0 2 1 rx W tx E |",
                  "t.wafer:2:28: expected 'rx', "
                  "found end of file"},
        Malformed{"program 2 1\nhost { h2x s 0 0 1 1 fill 0 }",
                  "t.wafer:2:8: unknown host "
                  "operation 'h2x' (did you mean 'h2d'?)"},
        Malformed{"program 2 1\nhost { h2d s 0 0 1 1 values }",
                  "t.wafer:2:29: expected a "
                  "value, found '}'"},
        Malformed{"program 2 1\nhost { stream 1 R 0 0 1 1 f32 values 1 }",
                  "t.wafer:2:17: expected an edge side (N, E, S or W), found 'R'"},
        Malformed{"program 2 1\nhost { h2d s 0 0 0 1 fill 1 }",
                  "t.wafer:2:18: a width must be between 1 and 1048576, found '0'"},
        Malformed{"program 1 1\ncode c { task t local 1 color 2 color 3 { } }",
                  "t.wafer:2:33: 'color' is given twice"},
        Malformed{"program 1 1\ncode c { task t remote 1 { } }",
                  "t.wafer:2:17: expected a task kind (local, data or control), found 'remote'"}));

TEST(Text, AcceptsUtf8InQuotedNames) {
  const Program p = parse_ok("program 1 1\ncode \"\xc3\xa9t\xc3\xa9\" { sym \"\\xe2\\x82\\xac\" f32 1 }\n");
  EXPECT_EQ(p.codes[0].name, "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(p.codes[0].symbols[0].name, "\xe2\x82\xac");
  expect_round_trip(p);
}

TEST(Text, ReportsControlBytesEscaped) {
  EXPECT_EQ(parse_error(std::string("program 1 1\n\0", 13)),
            "t.wafer:2:1: unexpected character '\\x00'");
  EXPECT_EQ(parse_error("program 1 1\ncode \"a\\nb\" { task t local 1 { activate u } }"),
            "t.wafer:2:41: unknown task 'u' in code 'a?b'");
}

TEST(Text, LoadReportsMissingFile) {
  Expected<Program> p = load_program_file("/nonexistent/dir/p.wafer");
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.message(),
            "cannot read program file '/nonexistent/dir/p.wafer': no such file or directory");
}

TEST(Text, LoadNamesTheFileInErrors) {
  const std::string path = ::testing::TempDir() + "text_test_bad.wafer";
  std::ofstream(path) << "program 1 1\n\n  bogus 1\n";
  Expected<Program> p = load_program_file(path);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.message(), path + ":3:3: unknown statement 'bogus'");
}

TEST(Text, BadSyntaxExampleFailsOnItsMarkedLine) {
  const std::string path = std::string(WAFER_SOURCE_DIR) + "/examples/programs/bad_syntax.wafer";
  Expected<Program> p = load_program_file(path);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.message(), path + ":13:5: unknown instruction 'vmul3' (did you mean 'vmul'?)");
}

}  // namespace
}  // namespace wafer::ir
