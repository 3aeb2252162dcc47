// The embedding lookup (kernels/gather.hpp): exact on every type, repeated ids and ids at the
// edges of [-V, V), padded vocabularies, any origin on wse2 and wse3; the pinned cycles; what
// an out-of-range id does on the wafer; the continuation on every PE; the errors.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "wafer/kernels/gather.hpp"
#include "kernel_params.hpp"
#include "wafer/sim/simulator.hpp"

namespace wafer::kernels {
namespace {

arch::Arch preset(const std::string& name) { return *arch::load_arch(name); }

KernelParams gather(int w, int h, int64_t tokens, int64_t hidden, int64_t vocab, DType t) {
  KernelParams p = params("gather", w, h, tokens, hidden, t);
  p.k = vocab;
  return p;
}

KernelResult run_with(const arch::Arch& a, const KernelParams& p, const std::vector<int64_t>* ids = nullptr) {
  auto kc = build_gather_case(a, p, Stage::all, ids);
  EXPECT_TRUE(kc.has_value()) << (kc ? "" : kc.message());
  if (!kc) return {};
  auto r = run_case(a, p, *kc, sim::Options{});
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.message());
  return r ? *r : KernelResult{};
}

void expect_exact(const KernelResult& r, const std::string& what) {
  EXPECT_TRUE(r.verified) << what;
  EXPECT_EQ(r.max_rel_error, 0.0) << what;
  EXPECT_FALSE(r.output.empty()) << what;
}

TEST(Gather, ExactOnEveryTypeAndShape) {
  struct Shape {
    int w, h;
    int64_t T, D, V;
    DType t;
  };
  const Shape shapes[] = {
      {4, 4, 16, 16, 64, DType::f32},   // the defaults
      {3, 5, 20, 9, 37, DType::f16},    // V = 37 over 5 rows: Vb = 8, 3 padding rows on the last
      {2, 3, 7, 6, 10, DType::bf16},    // Vb = 4, 2 padding rows
      {1, 1, 5, 3, 4, DType::f16},      // one PE: no column sum
      {5, 1, 9, 10, 6, DType::f32},     // one PE row
      {1, 6, 3, 2, 6, DType::f32},      // one vocabulary row per PE row
      {2, 2, 1, 4, 8, DType::f16},      // one token: the peeled copy alone, no loop
  };
  for (const char* arch : {"wse2", "wse3"}) {
    for (const Shape& s : shapes) {
      const KernelParams p = gather(s.w, s.h, s.T, s.D, s.V, s.t);
      expect_exact(run_with(preset(arch), p),
                   fmt::format("{} {}x{} T={} D={} V={} {}", arch, s.w, s.h, s.T, s.D, s.V, dtype_name(s.t)));
    }
  }
}

TEST(Gather, DefaultIdsStartAtTheEdgesAndRepeat) {
  const std::vector<int64_t> ids = default_token_ids(64, 16, 1);
  ASSERT_EQ(ids.size(), 16u);
  EXPECT_EQ((std::vector<int64_t>(ids.begin(), ids.begin() + 4)), (std::vector<int64_t>{0, 63, -1, -64}));
  EXPECT_EQ(token_row(ids[2], 64), 63);  // -1 is the last row, as ids[1]
  EXPECT_EQ(token_row(ids[3], 64), 0);   // -V is the first, as ids[0]
  for (int64_t id : ids) {
    EXPECT_GE(id, -64);
    EXPECT_LT(id, 64);
  }
  EXPECT_TRUE(check_token_ids(ids, 64).ok());
}

TEST(Gather, RepeatedIdsAndIdsAtTheRangeEdgesAreExact) {
  // V = 37 on 3 PE rows: Vb = 13, rows 13..25 on the middle row, 26..36 and two padding rows
  // on the last. Ids at each PE row's first and last row, at 0, V - 1, -1, -V, -V + 1, and
  // the same row many times in a row and apart.
  const int64_t V = 37;
  const std::vector<int64_t> ids{0,  36, -1, -37, -36, 12, 13, 25, 26, 25, 25, 25, 7,
                                 -30, 7,  36, 0,   -1,  13, 12, 26, -11, 36, 0};
  for (const char* arch : {"wse2", "wse3"}) {
    for (DType t : {DType::f32, DType::f16, DType::bf16}) {
      KernelParams p = gather(4, 3, int64_t(ids.size()), 8, V, t);
      p.origin_x = 100;
      p.origin_y = 37;
      expect_exact(run_with(preset(arch), p, &ids), fmt::format("{} {}", arch, dtype_name(t)));
    }
  }
}

TEST(Gather, RunsAtAnOriginWithTheSameCycles) {
  for (const char* arch : {"wse2", "wse3"}) {
    KernelParams p = gather(4, 3, 12, 8, 30, DType::f16);
    const KernelResult at0 = run_with(preset(arch), p);
    p.origin_x = 100;
    p.origin_y = 37;
    const KernelResult moved = run_with(preset(arch), p);
    expect_exact(moved, arch);
    EXPECT_EQ(moved.cycles, at0.cycles) << arch;
  }
}

TEST(Gather, PinnedCyclesOnOnePe) {
  // T = 2 tokens (ids 0 and V - 1 = 3), D = 4, V = 4, fp32 on one wse2 PE (every scalar
  // instruction 1 cycle; a copy takes its issue cycle, 15 of setup, then 4 elements at 2 fp32
  // lanes, 18 cycles):
  //   cycles 0-4    2 subs (relative coordinates), mul lo, movi t, movi doff
  //   cycles 5-17   token 0, a hit: ld, bge (taken: id >= 0), sub, blt, bge, mul, mdsd table,
  //                 jmp, mdsd out, vmov (async), then add doff, add t, blt (falls through)
  //   cycles 18-27  token 1, peeled, a hit: the same 10 instructions; ret in cycle 28
  //   cycles 27-44  token 1's copy; its completion activates the sum task, which the core
  //                 picks in the same cycle: `ret` (one PE row: nothing to add) in cycle 44
  //   cycle 45      the idle cycle that ends the run: 46 cycles.
  const KernelResult r = run_with(preset("wse2"), gather(1, 1, 2, 4, 4, DType::f32));
  expect_exact(r, "1x1");
  EXPECT_EQ(r.cycles, 46u);
}

TEST(Gather, PinnedCyclesOnAColumnOfTwo) {
  // The same on 1 x 2 PEs with V = 8 (rows 0..3 on PE row 0, 4..7 on row 1), ids 0 and 7:
  // - row 0: token 0 hits (13 instructions), token 1 misses at `bge loc, Vb` (ld, bge, sub,
  //   blt, bge, mdsd zero, mdsd out, vmov): its copy issues in cycle 25 and completes in 42;
  // - row 1: token 0 misses at `blt loc, 0` (7 instructions + 3 of the loop), token 1 hits:
  //   its copy issues in 24 and completes in 41.
  // The column sum of the 2 x 4 = 8 fp32 elements (colsum.cpp): row 1, the last row, runs
  // mdsd, beq, and, beq, bne, fdsd and issues its send in cycle 47; after 15 cycles of setup
  // its 8 wavelets leave in cycles 63..70 and reach row 0's core ramp + hop + ramp = 5 cycles
  // later, where row 0's vadd (issued in 45) adds them, the last in cycle 75. With the idle
  // cycle: 77.
  const KernelResult r = run_with(preset("wse2"), gather(1, 2, 2, 4, 8, DType::f32));
  expect_exact(r, "1x2");
  EXPECT_EQ(r.cycles, 77u);
}

TEST(Gather, AnIdOutsideTheVocabularyGivesAZeroRowOnTheWafer) {
  // The host refuses such ids; one that a producer leaves on the wafer matches no PE row, so
  // every row copies zeros for it (no fault). Here the ids are written past the host check:
  // 11 and -12 (row 0) are looked up, the others give zero rows.
  const arch::Arch a = preset("wse3");
  const KernelParams p = gather(2, 3, 6, 4, 12, DType::f16);
  const std::vector<int64_t> valid{0, 1, 2, 3, 4, 5};
  auto kc = build_gather_case(a, p, Stage::all, &valid);
  ASSERT_TRUE(kc.has_value()) << kc.message();
  const std::vector<double> wild{11, 12, -13, 1000000, -2147483647, -12};
  for (HostCopy& c : kc->inputs) {
    if (c.symbol == "ids") c.block = [&wild](int, int) { return wild; };
  }
  const ElementFn table = [](int64_t row, int64_t col) {  // the builder's table (seed 1)
    return round_to(DType::f16, random_value(1, uint64_t(row * 4 + col)));
  };
  const DistTensor out{"out", DType::f16, 6, 4, p.rect(), Spread::first, Spread::split, false};
  kc->reference.clear();
  for (int px = 0; px < 2; ++px) {
    const auto v = block_values(out, px, 0, [&](int64_t t, int64_t c) {
      const int64_t id = int64_t(wild[size_t(t)]);
      return id >= -12 && id < 12 ? table(token_row(id, 12), c) : 0.0;
    });
    kc->reference.insert(kc->reference.end(), v.begin(), v.end());
  }
  auto r = run_case(a, p, *kc, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_EQ(r->output, kc->reference);
  EXPECT_NE(r->output[0], 0.0);
}

TEST(Gather, ActivatesItsContinuationOnEveryPe) {
  // Composed: the gather's done task stores 1 into `flag` on each PE of a 3 x 4 rectangle at
  // (2, 1); the output still verifies, and every PE ran the continuation.
  const arch::Arch a = preset("wse2");
  const ir::Rect rect{2, 1, 3, 4};
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("composed");
  const int done = *pools.tasks.take("test");
  Emit e{code, kc.program, pools, a, "emb"};
  GatherSpec s;
  s.dtype = DType::bf16;
  s.vocab = 22;
  s.hidden = 6;
  s.tokens = 5;
  auto g = emit_gather(e, Site{rect, -1, done}, s);
  ASSERT_TRUE(g.has_value()) << g.message();
  EXPECT_EQ(g->table.describe(), "tensor 'emb.table' (24x6 bf16, rows split over 4, columns split over 3) on 3x4 PEs at (2,1)");
  EXPECT_EQ(g->out.describe(), "tensor 'emb.out' (5x6 bf16, rows on the first over 4, columns split over 3) on 3x4 PEs at (2,1)");
  EXPECT_EQ(g->held.regs.size(), 7u);
  EXPECT_EQ(g->held.dsds.size(), 2u);
  const int flag = code.symbol("flag", DType::i32, 1);
  code.task("done", done, ir::TaskKind::local);
  code.begin_task(done);
  code.emit(ir::Opcode::st, {ir::sym_op(flag), ir::imm(0), ir::imm(1)});
  code.emit(ir::Opcode::ret, {});
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});

  auto sim = sim::Simulator::create(a, kc.program, sim::Options{});
  ASSERT_TRUE(sim.has_value()) << sim.message();
  const std::vector<int64_t> ids{21, -22, 5, 6, 5};
  const ElementFn table = [](int64_t row, int64_t col) {
    return row < 22 ? round_to(DType::bf16, random_value(9, uint64_t(row * 6 + col))) : 0.0;
  };
  for (int py = 0; py < rect.h; ++py) {
    for (int px = 0; px < rect.w; ++px) {
      const ir::Rect pe{rect.x + px, rect.y + py, 1, 1};
      ASSERT_TRUE((*sim)->write_symbol("emb.table", pe, block_values(g->table, px, py, table)).ok());
      ASSERT_TRUE((*sim)->write_symbol("emb.ids", pe, std::vector<double>(ids.begin(), ids.end())).ok());
    }
  }
  ASSERT_TRUE((*sim)->launch("emb.entry", rect).ok());
  ASSERT_TRUE((*sim)->run().has_value());
  auto flags = (*sim)->read_symbol("flag", rect);
  ASSERT_TRUE(flags.has_value());
  EXPECT_EQ(*flags, std::vector<double>(12, 1.0));
  auto out = (*sim)->read_symbol("emb.out", g->out.holders());
  ASSERT_TRUE(out.has_value());
  std::vector<double> ref;
  for (int px = 0; px < rect.w; ++px) {
    const auto v = block_values(g->out, px, 0, [&](int64_t t, int64_t c) { return table(token_row(ids[size_t(t)], 22), c); });
    ref.insert(ref.end(), v.begin(), v.end());
  }
  EXPECT_EQ(*out, ref);
}

TEST(Gather, Errors) {
  const arch::Arch a = preset("wse2");
  const std::vector<int64_t> bad{0, 5, 64, 1};
  auto id = build_gather_case(a, gather(4, 4, 4, 16, 64, DType::f32), Stage::all, &bad);
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.message(), "token id 64 at position 2 is outside [-64, 64) for a vocabulary of 64 rows");
  EXPECT_EQ(check_token_ids({3, -5}, 4).message(), "token id -5 at position 1 is outside [-4, 4) for a vocabulary of 4 rows");

  auto cols = build_kernel(a, gather(3, 2, 4, 10, 8, DType::f16));
  ASSERT_FALSE(cols.has_value());
  EXPECT_EQ(cols.message(), "gather: tensor 'table' (8x10 f16, rows split over 2, columns split over 3) on 3x2 PEs "
                            "at (0,0): 10 columns do not divide evenly over 3 PE columns");
  auto type = build_kernel(a, gather(2, 2, 4, 4, 8, DType::i32));
  ASSERT_FALSE(type.has_value());
  EXPECT_EQ(type.message(), "gather: takes fp32, fp16 or bf16 (got i32)");
  auto big = build_kernel(a, gather(2, 2, 16, 8, 20000, DType::f32));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.message(), "gather: a 10000x4 table block, 16 ids and a 16x4 output block per PE need 160336 bytes of "
                           "SRAM, but the arch has 49152 per PE (leave 4096 for code); use more PE rows (they split "
                           "the vocabulary) or columns (they split the hidden size), or fewer tokens");

  // The emitter's own checks, for a caller that composes it.
  KernelCase kc;
  kc.program.width = kc.program.height = 2;
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("c");
  Emit e{code, kc.program, pools, a, "g0"};
  GatherSpec s;
  s.vocab = 0;
  s.hidden = 2;
  s.tokens = 1;
  EXPECT_EQ(emit_gather(e, Site{{0, 0, 2, 2}}, s).message(),
            "g0.gather: a vocabulary of 0 rows is out of range (1..2147483647: ids are int32)");
  s.vocab = 4;
  s.tokens = 0;
  EXPECT_EQ(emit_gather(e, Site{{0, 0, 2, 2}}, s).message(), "g0.gather: needs at least one token id (got 0)");
}

}  // namespace
}  // namespace wafer::kernels
