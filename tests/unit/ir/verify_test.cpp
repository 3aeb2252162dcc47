// ir::verify: a valid program passes, and each class of error is reported with the code,
// task and line, or the PE and color, that it concerns. Programs that cover the whole WSE-3
// fabric are checked quickly, and a rectangle reaching past INT_MAX does not overflow.
#include "wafer/ir/verify.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <filesystem>

#include "wafer/ir/builder.hpp"
#include "wafer/ir/text.hpp"

namespace wafer::ir {
namespace {

// Line numbers matter: the expected messages below name them.
constexpr const char* kBase = R"(program 4 2
arch wse3
code work {
  sym a f32 8
  sym b i32 4
  task main local 1 {
    mdsd d0, a, 0, 8, 1
    fdsd d1, 2, 8, f32
    vadd d0, d0, d1 async then activate done
    movi r1, 3
  top:
    sub r1, r1, 1
    bne r1, 0, top
    ret
  }
  task done local 2 { ret }
  task rx data 3 color 2 { st b, 0, wavelet ; ret }
}
code idle { sym a f32 8 ; task main local 1 { ret } }
place work 0 0 2 2
place idle 2 0 2 2
route 2 0 0 1 2 rx W tx E
route 2 1 0 1 2 rx W tx R
route 4 0 0 4 2 rx R tx R
host {
  h2d a 0 0 4 2 iota 0 1
  stream 2 W 0 0 1 2 f32 values 1 2
  launch main 0 0 4 2
  d2h b 0 0 2 2
}
)";

const arch::Arch& wse3() {
  static const arch::Arch a = *arch::preset("wse3");
  return a;
}

Program base() {
  Expected<Program> p = parse_program(kBase, "base.wafer");
  EXPECT_TRUE(p.has_value()) << p.message();
  return p ? std::move(*p) : Program{};
}

std::string verify_error(const Program& p, const arch::Arch& a = wse3()) {
  const Status st = verify(p, a);
  EXPECT_FALSE(st.is_ok());
  return st.message();
}

Code& work(Program& p) { return p.codes[0]; }

TEST(Verify, AcceptsTheBaseProgram) {
  const Status st = verify(base(), wse3());
  EXPECT_TRUE(st.is_ok()) << st.message();
}

TEST(Verify, ProgramMustFitTheFabric) {
  Program p = base();
  p.width = 800;
  EXPECT_EQ(verify_error(p),
            "the program is 800 x 2 PEs but the fabric of arch 'wse3' is 762 x 1172");
}

TEST(Verify, CodeNamesAreUnique) {
  Program p = base();
  p.codes[1].name = "work";
  EXPECT_EQ(verify_error(p), "two codes are named 'work'");
}

// The simulator keeps a PE's code index in 16 bits: one more code than that is refused
// (65,537 codes used to make d2h return another code's values).
TEST(Verify, AtMost32767Codes) {
  Program p = base();
  while (p.codes.size() <= kMaxCodes) {
    p.codes.push_back(p.codes[0]);
    p.codes.back().name = fmt::format("copy{}", p.codes.size());
  }
  EXPECT_EQ(verify_error(p),
            "the program has 32768 codes; at most 32767 are supported (PEs that run the same "
            "instructions can share one code and branch on the specials x and y)");
  p.codes.pop_back();
  EXPECT_TRUE(verify(p, wse3()).is_ok());
}

TEST(Verify, SymbolsNeedUniqueNamesAndElements) {
  Program p = base();
  work(p).symbols[1].name = "a";
  EXPECT_EQ(verify_error(p), "code 'work', symbol 'a': the name is used twice");
  p = base();
  work(p).symbols[1].count = 0;
  EXPECT_EQ(verify_error(p), "code 'work', symbol 'b': has no elements");
}

TEST(Verify, TaskIdsInRangeAndUnique) {
  Program p = base();
  work(p).tasks[0].id = 64;
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main': task id 64 is out of range (the arch has 64 task ids)");
  p = base();
  work(p).tasks[1].id = 1;
  EXPECT_EQ(verify_error(p), "code 'work', task 'done': task id 1 is also used by task 'main'");
}

TEST(Verify, DataTasksNeedAColorInRange) {
  Program p = base();
  work(p).tasks[2].color = -1;
  EXPECT_EQ(verify_error(p), "code 'work', task 'rx': a data task needs a color");
  work(p).tasks[2].color = 30;
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'rx': color 30 is out of range (the arch has 24 colors)");
}

TEST(Verify, TaskEntryMustBeAnInstruction) {
  Program p = base();
  Task t;
  t.name = "empty";
  t.id = 9;
  t.entry = uint32_t(work(p).instrs.size());
  work(p).tasks.push_back(t);
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'empty': entry 10 is past the code's 10 "
            "instructions (the task has no code)");
}

TEST(Verify, RegistersAndDsdRegistersInRange) {
  Program p = base();
  work(p).instrs[3].args[0].value = 16;
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', line 10: operand 1 of 'movi': register "
            "16 is out of range (the arch has 16 registers)");
  p = base();
  work(p).instrs[1].args[0].value = 16;
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', line 8: operand 1 of 'fdsd': dsd "
            "register 16 is out of range (the arch has 16 dsd registers)");
}

TEST(Verify, LabelsColorsSymbolsAndTasksInRange) {
  Program p = base();
  work(p).instrs[5].args[2].value = 99;
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', line 13: operand 3 of 'bne': label "
            "target 99 is out of range (the code has 10 instructions)");
  p = base();
  work(p).instrs[1].args[1].value = 24;
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', line 8: operand 2 of 'fdsd': color 24 "
            "is out of range (the arch has 24 colors)");
  p = base();
  work(p).instrs[0].args[1].value = 2;
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', line 7: operand 2 of 'mdsd': symbol "
            "index 2 is out of range (the code has 2 symbols)");
  p = base();
  work(p).instrs[7].op = Opcode::activate;
  work(p).instrs[7].args[0] = task_op(7);
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'done', line 16: operand 1 of 'activate': task "
            "id 7 names no task of the code");
}

TEST(Verify, OperandKindsFollowTheSignature) {
  Program p = base();
  work(p).instrs[2].args[0] = reg(0);
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', line 9: operand 1 of 'vadd' must be a "
            "dsd register, found a register");
  p = base();
  work(p).instrs[0].args[4] = fimm(1.0f);
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', line 7: operand 5 of 'mdsd' must be an "
            "integer immediate, found a float immediate");
  p = base();
  work(p).instrs[6].args[0] = reg(1);
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', line 14: 'ret' takes 0 operands but operand 1 is set");
  p = base();
  work(p).instrs[3].args[1] = fimm(2.5f);
  EXPECT_TRUE(verify(p, wse3()).is_ok()) << "movi takes a float immediate";
}

TEST(Verify, AsyncRules) {
  Program p = base();
  work(p).instrs[3].async = true;
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', line 10: 'movi' cannot be async (only "
            "vector ops can)");
  p = base();
  arch::Arch no_threads = wse3();
  no_threads.microthreads = 0;
  EXPECT_EQ(verify_error(p, no_threads),
            "code 'work', task 'main', line 9: async 'vadd' needs a "
            "microthread but the arch has none");
  work(p).instrs[2].async = false;
  EXPECT_EQ(verify_error(p), "code 'work', task 'main', line 9: 'then' on 'vadd' needs 'async'");
  p = base();
  work(p).instrs[2].done_task = 9;
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', line 9: completion task id 9 names no "
            "task of the code");
}

TEST(Verify, NamesTheInstructionIndexWithoutALine) {
  Program p = base();
  work(p).instrs[3].loc = {};
  work(p).instrs[3].args[0].value = -1;
  EXPECT_EQ(verify_error(p),
            "code 'work', task 'main', instruction 3: operand 1 of 'movi': "
            "register -1 is out of range (the arch has 16 registers)");
}

TEST(Verify, PlacementsNameAnExistingCodeInsideTheProgram) {
  Program p = base();
  p.placements[0].code = 5;
  EXPECT_EQ(verify_error(p),
            "placement at line 20: code 5 does not exist (the program has 2 codes)");
  p = base();
  p.placements[1].rect.x = 3;
  EXPECT_EQ(verify_error(p),
            "placement at line 21: rect (3,0) 2x2 covers PE (4,1), outside the "
            "4 x 2 program");
  p.placements[1].rect.w = 0;
  EXPECT_EQ(verify_error(p), "placement at line 21: rect (3,0) 0x2 is empty");
}

TEST(Verify, CodeMustFitInSram) {
  Program p = base();
  work(p).symbols[0].count = 12300;  // 40 bytes of code + 49200 + 16
  EXPECT_EQ(verify_error(p),
            "code 'work' needs 49256 bytes of SRAM on PE (0,0)..(1,1) but the "
            "arch has 49152");
  work(p).symbols[0].count = 12270;
  EXPECT_TRUE(verify(p, wse3()).is_ok());
}

TEST(Verify, PlacementsMustNotOverlap) {
  Program p = base();
  p.placements[1].rect.x = 1;
  p.placements[1].rect.y = 1;
  p.placements[1].rect.w = 1;
  p.placements[1].rect.h = 1;
  EXPECT_EQ(verify_error(p), "two placements on PE (1,1): line 20 and line 21");
  for (Placement& pl : p.placements) pl.loc = {};
  EXPECT_EQ(verify_error(p), "two placements on PE (1,1): placement 0 and placement 1");
}

TEST(Verify, RouteColorsAndPositions) {
  Program p = base();
  p.routes[0].color = 24;
  EXPECT_EQ(verify_error(p),
            "route for color 24 at line 22: color 24 is out of range (the arch "
            "has 24 colors)");
  p = base();
  p.routes[2].positions.resize(5, p.routes[2].positions[0]);
  EXPECT_EQ(verify_error(p),
            "route for color 4 at line 24: 5 switch positions but the arch allows 4");
  p = base();
  p.routes[2].positions.push_back({port_bit(Dir::west), 0});
  EXPECT_EQ(verify_error(p),
            "route for color 4 at line 24: position 1 sends to no port (tx is empty)");
  p.routes[2].positions[1] = {0, port_bit(Dir::ramp)};
  EXPECT_EQ(verify_error(p),
            "route for color 4 at line 24: position 1 receives from no port (rx is empty)");
}

TEST(Verify, RoutesMustNotSendOffTheEdge) {
  Program p = base();
  p.routes[0].positions[0].tx |= port_bit(Dir::north);
  EXPECT_EQ(verify_error(p),
            "route for color 2 at line 22: position 0: PE (0,0) sends N off the "
            "edge of the 4 x 2 program");
  p = base();
  p.routes[2].positions[0].tx = port_bit(Dir::east);
  EXPECT_EQ(verify_error(p),
            "route for color 4 at line 24: position 0: PE (3,0) sends E off the "
            "edge of the 4 x 2 program");
}

TEST(Verify, TwoRoutesOfOneColorMustNotShareAPe) {
  Program p = base();
  p.routes[1].rect = {0, 1, 2, 1};
  EXPECT_EQ(verify_error(p), "two routes for color 2 on PE (0,1): line 22 and line 23");
  p = base();
  p.routes[2].rect = {0, 0, 1, 2};
  EXPECT_TRUE(verify(p, wse3()).is_ok()) << "other colors may share PEs";
}

TEST(Verify, HostRectsLieInsideTheProgram) {
  Program p = base();
  p.host[0].rect.w = 5;
  EXPECT_EQ(verify_error(p),
            "host h2d of 'a' at line 26: rect (0,0) 5x2 covers PE (4,1), outside "
            "the 4 x 2 program");
}

TEST(Verify, HostNamesExistOnEveryAddressedPe) {
  Program p = base();
  p.host[3].rect.w = 4;
  EXPECT_EQ(verify_error(p),
            "host d2h of 'b' at line 29: PE (2,0) runs code 'idle', which has no "
            "symbol 'b'");
  p = base();
  p.host[2].name = "go";
  EXPECT_EQ(verify_error(p),
            "host launch of 'go' at line 28: PE (0,0) runs code 'work', which has "
            "no task 'go'");
  p = base();
  p.placements[1].rect = {2, 0, 2, 1};
  p.placements.push_back({Rect{3, 1, 1, 1}, 1, {}});
  EXPECT_EQ(verify_error(p), "host h2d of 'a' at line 26: PE (2,1) has no code placed on it");
}

TEST(Verify, HostDataSizes) {
  Program p = base();
  p.host[0].data = HostData{HostData::Kind::values, {1, 2, 3}, 0, 0, 0};
  EXPECT_EQ(verify_error(p),
            "host h2d of 'a' at line 26: 3 values, but symbol 'a' has 8 elements "
            "per PE (give 8, or 64 for the 8 PEs)");
  p.host[0].data.values.assign(8, 1.0);
  EXPECT_TRUE(verify(p, wse3()).is_ok());
  p.host[0].data.values.assign(64, 1.0);
  EXPECT_TRUE(verify(p, wse3()).is_ok());
  p.host[0].data = HostData{HostData::Kind::random, {}, 1, 1, 7};
  EXPECT_EQ(verify_error(p),
            "host h2d of 'a' at line 26: random values need lo < hi, found 1 and 1");
}

// x + w is computed in 64-bit: a rectangle reaching past INT_MAX still contains its PEs.
TEST(Rect, ContainsDoesNotOverflow) {
  const Rect huge{1, 1, INT_MAX, INT_MAX};
  EXPECT_TRUE(huge.contains(1, 1));
  EXPECT_TRUE(huge.contains(INT_MAX, INT_MAX));
  EXPECT_FALSE(huge.contains(0, 5));
  EXPECT_FALSE(huge.contains(5, 0));
  EXPECT_EQ(huge.area(), int64_t(INT_MAX) * INT_MAX);
}

// Random values outside the symbol's type would become infinite (floats) or saturate (ints).
TEST(Verify, RandomRangeFitsTheSymbolType) {
  Program p = base();
  p.host[0].data = HostData{HostData::Kind::random, {}, -1e40, 1e40, 7};
  EXPECT_EQ(verify_error(p),
            "host h2d of 'a' at line 26: random range [-1e+40, 1e+40) exceeds the f32 values of "
            "symbol 'a' (-3.4028234663852886e+38..3.4028234663852886e+38)");
  p.host[0].data.a = -3.4028234663852886e+38;
  p.host[0].data.b = 3.4028234663852886e+38;
  EXPECT_TRUE(verify(p, wse3()).is_ok());
  p.host[0].name = "b";
  p.host[0].rect = Rect{0, 0, 2, 2};
  p.host[0].data.a = -3e9;
  p.host[0].data.b = 0;
  EXPECT_EQ(verify_error(p),
            "host h2d of 'b' at line 26: random range [-3000000000, 0) exceeds the i32 values of "
            "symbol 'b' (-2147483648..2147483647)");
  p.codes[0].symbols[1].type = DType::f16;
  p.host[0].data = HostData{HostData::Kind::random, {}, 0, 65536, 7};
  EXPECT_EQ(verify_error(p),
            "host h2d of 'b' at line 26: random range [0, 65536) exceeds the f16 values of "
            "symbol 'b' (-65504..65504)");
}

TEST(Verify, StreamsEnterOnTheirEdge) {
  Program p = base();
  p.host[1].rect.x = 1;
  EXPECT_EQ(verify_error(p),
            "host stream on color 2 at line 27: a stream from W must address one "
            "column on that edge of the program, found (1,0) 1x2");
  p = base();
  p.host[1].data = HostData{HostData::Kind::fill, {}, 1, 0, 0};
  EXPECT_EQ(verify_error(p).substr(0, 74),
            "host stream on color 2 at line 27: a stream needs an explicit value list (");
  p = base();
  p.host[1].color = 99;
  EXPECT_EQ(verify_error(p),
            "host stream on color 99 at line 27: color 99 is out of range (the "
            "arch has 24 colors)");
}

// A full-fabric program: one route per row and per column on two colors, one placement per
// row and an h2d over the whole fabric. Verify must be fast and find the one bad spot.
Program full_fabric() {
  const arch::Arch& a = wse3();
  Program p;
  p.width = a.fabric_width;
  p.height = a.fabric_height;
  CodeBuilder b("row");
  b.symbol("v", DType::f32, 64);
  b.task("main", 1, TaskKind::local);
  b.begin_task(1);
  b.emit(Opcode::ret, {});
  p.codes.push_back(b.finish());
  const PortMask we = port_bit(Dir::west) | port_bit(Dir::ramp);
  for (int y = 0; y < p.height; ++y) {
    p.routes.push_back(Route{{0, y, p.width, 1}, 0, {{we, port_bit(Dir::ramp)}}, {}});
    p.placements.push_back(Placement{{0, y, p.width, 1}, 0, {}});
  }
  for (int x = 0; x < p.width; ++x) {
    p.routes.push_back(
        Route{{x, 0, 1, p.height}, 1, {{port_bit(Dir::ramp), port_bit(Dir::ramp)}}, {}});
  }
  HostOp h2d;
  h2d.name = "v";
  h2d.rect = {0, 0, p.width, p.height};
  h2d.data.kind = HostData::Kind::fill;
  p.host.push_back(h2d);
  return p;
}

TEST(Verify, FullFabricProgramsAreCheckedQuickly) {
  Program p = full_fabric();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(verify(p, wse3()).is_ok());
  p.routes.push_back(Route{{700, 1000, 5, 5}, 1, {{port_bit(Dir::ramp), port_bit(Dir::ramp)}}, {}});
  EXPECT_EQ(verify_error(p), "two routes for color 1 on PE (700,1000): route 1872 and route 1934");
  p.routes.pop_back();
  p.placements.erase(p.placements.begin() + 600);
  EXPECT_EQ(verify_error(p), "host h2d of 'v' at index 0: PE (0,600) has no code placed on it");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0);
}

TEST(Verify, ExampleProgramsVerify) {
  const std::filesystem::path dir = std::filesystem::path(WAFER_SOURCE_DIR) / "examples/programs";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".wafer" || entry.path().stem() == "bad_syntax") continue;
    Expected<Program> p = load_program_file(entry.path().string());
    ASSERT_TRUE(p.has_value()) << p.message();
    const Status st = verify(*p, wse3());
    EXPECT_TRUE(st.is_ok()) << entry.path() << ": " << st.message();
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

}  // namespace
}  // namespace wafer::ir
