// Data movement (kernels/movement.hpp and the move plans of kernels/move_plan.hpp): the
// streams a plan gives each PE, every kernel exact on several grids, types, presets and an
// origin, pinned cycles, chains of two movements in one code, and the errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../../src/kernels/move_plan.hpp"
#include "wafer/kernels/movement.hpp"
#include "kernel_params.hpp"

namespace wafer::kernels {
namespace {

arch::Arch preset(const std::string& name) { return *arch::load_arch(name); }

KernelResult run(const KernelParams& p, const std::string& arch = "wse2") {
  auto r = run_kernel(preset(arch), p, sim::Options{});
  EXPECT_TRUE(r.has_value()) << p.kernel << " " << p.algo << ": " << (r ? "" : r.message());
  return r ? *r : KernelResult{};
}

KernelParams with_algo(KernelParams p, const std::string& algo) {
  p.algo = algo;
  return p;
}

std::string error_of(const KernelParams& p) {
  auto r = build_kernel(preset("wse2"), p);
  return r ? "no error" : r.message();
}

// ---------------------------------------------------------------- plans

TEST(MovePlan, AGatherAlongARowIsOneStreamPerLinkForwardingFirst) {
  // 4 x 1 PEs, a 2 x 8 tensor split over x (2 x 2 blocks) gathered on PE 0. Westwards, the
  // incoming thread (3) of PEs 2 and 1 forwards what comes from the east in one op and then
  // signals the sending thread (2), which waits for that and sends the PE's block; PE 0
  // receives three blocks, farthest first, and copies its own on thread 1.
  const ir::Rect rect{0, 0, 4, 1};
  const DistTensor x{"x", DType::f32, 2, 8, rect};
  DistTensor y = x;
  y.cols_over_x = Spread::first;
  Pool colors("colors", 24);
  MovePlan plan(rect, "test");
  ASSERT_TRUE(plan.add_pass(true, tensor_holding(x, rect, 0), tensor_holding(y, rect, 1), colors).ok());
  const auto& v = plan.variants();
  using O = std::vector<std::pair<int, int64_t>>;  // op (or the wait row) and length, the sync left out
  auto ops = [&](int px, int t) {
    O out;
    for (const MoveRow& r : plan.rows(px, 0, t)) {
      if (r.variant == kWaitRow || r.variant == kSignalRow) out.push_back({r.variant, 0});
      if (r.variant >= 0) out.push_back({int(v[size_t(r.variant)].op), r.len});
    }
    return out;
  };
  const int send = int(MoveOp::send), recv = int(MoveOp::recv), fwd = int(MoveOp::fwd), copy = int(MoveOp::copy);
  EXPECT_EQ(ops(3, 2), (O{{send, 4}}));
  EXPECT_EQ(ops(3, 3), O{});
  EXPECT_EQ(ops(2, 2), (O{{kWaitRow, 0}, {send, 4}}));
  EXPECT_EQ(ops(2, 3), (O{{fwd, 4}, {kSignalRow, 0}}));
  EXPECT_EQ(ops(1, 2), (O{{kWaitRow, 0}, {send, 4}}));
  EXPECT_EQ(ops(1, 3), (O{{fwd, 8}, {kSignalRow, 0}}));
  EXPECT_EQ(ops(0, 2), O{});
  EXPECT_EQ(ops(0, 3), (O{{recv, 4}, {recv, 4}, {recv, 4}}));
  EXPECT_EQ(ops(0, 1), (O{{copy, 4}}));
  for (int px = 0; px < 4; ++px) EXPECT_EQ(ops(px, 0), O{});  // nothing goes east
  // The receives land at columns 6, 4 and 2 of y (col-major, 2 rows): offsets 12, 8, 4.
  const auto& r0 = plan.rows(0, 0, 3);
  EXPECT_EQ(r0[0].off_a, 12);
  EXPECT_EQ(r0[1].off_a, 8);
  EXPECT_EQ(r0[2].off_a, 4);
  // Links carry 4 + 8 + 12 elements; two alternating colors westwards, none eastwards.
  EXPECT_EQ(plan.wavelets(), 24);
  EXPECT_EQ(plan.colors().size(), 2u);
  EXPECT_EQ(plan.buffer_extent(1), 16);
}

TEST(MovePlan, ReplicatedSourcesAreCopiedLocally) {
  const ir::Rect rect{2, 1, 3, 2};
  DistTensor x{"x", DType::f16, 4, 6, rect};
  x.cols_over_x = Spread::replicate;
  DistTensor y = x;
  y.cols_over_x = Spread::split;
  Pool colors("colors", 24);
  MovePlan plan(rect, "test");
  ASSERT_TRUE(plan.add_pass(true, tensor_holding(x, rect, 0), tensor_holding(y, rect, 1), colors).ok());
  EXPECT_EQ(plan.wavelets(), 0);
  EXPECT_TRUE(plan.colors().empty());
  // PE (2, 1): columns 4..5 of its replicated 2 x 6 block (rows split over 2), at offset
  // 4 x 2 = 8, one contiguous copy of 4 elements.
  const MoveRow& r = plan.rows(2, 1, 1)[0];
  EXPECT_EQ(plan.variants()[size_t(r.variant)].op, MoveOp::copy);
  EXPECT_EQ(r.len, 4);
  EXPECT_EQ(r.off_a, 0);
  EXPECT_EQ(r.off_b, 8);
}

// ---------------------------------------------------------------- every case is exact

const char* const kRelayouts[] = {"rows=replicate",       "cols=replicate",      "rows=first",
                                  "cols=first",           "rows=first-split",    "cols=first-split",
                                  "rows=replicate-split", "cols=replicate-split", "rows=first-replicate",
                                  "cols=replicate-first", "shift=3,0",           "shift=0,-2",
                                  "shift=-4,5"};

TEST(Movement, EveryCaseIsExactAtAnOriginOnBothPresetsAndAllTypes) {
  std::vector<KernelParams> cases;
  for (const char* algo : kRelayouts) cases.push_back(with_algo(params("relayout", 3, 4), algo));
  cases.push_back(params("transpose", 3, 3));
  cases.push_back(params("transpose", 2, 3, 12, 18));
  cases.push_back(params("slice", 3, 4));
  cases.push_back(with_algo(params("slice", 3, 4), "rows=5+8"));
  cases.push_back(with_algo(params("slice", 3, 4), "cols=6+12"));  // aligned: a view
  cases.push_back(params("concat", 3, 4));
  cases.push_back(with_algo(params("concat", 3, 4, 20, 6), "rows"));
  for (KernelParams p : cases) {
    for (const char* arch : {"wse2", "wse3"}) {
      for (DType t : {DType::f32, DType::f16, DType::bf16}) {
        p.dtype = t;
        p.origin_x = 100;
        p.origin_y = 37;
        const KernelResult r = run(p, arch);
        EXPECT_TRUE(r.verified) << p.kernel << " " << p.algo << " " << arch << " " << dtype_name(t);
        EXPECT_EQ(r.max_rel_error, 0.0) << p.kernel << " " << p.algo;
      }
    }
  }
}

TEST(Movement, OriginDoesNotChangeTheCycles) {
  for (KernelParams p : {params("transpose", 4, 4, 32, 32, DType::f16), with_algo(params("relayout", 4, 2), "rows=replicate"),
                         params("concat", 4, 2)}) {
    const uint64_t at0 = run(p).cycles;
    p.origin_x = 100;
    p.origin_y = 37;
    EXPECT_EQ(run(p).cycles, at0) << p.kernel;
  }
}

// ---------------------------------------------------------------- cycles

TEST(Movement, AnAlignedSliceIsAViewThatTakesTwoCycles) {
  // Columns [8, 24) of a 16 x 32 tensor on 4 x 4 PEs (8 columns per PE): the PEs at x = 1, 2
  // already hold them. The entry task is a lone `ret` (1 cycle; no done task when standalone),
  // and the idle cycle that ends the run: 2.
  const KernelResult r = run(with_algo(params("slice", 4, 4, 16, 32), "cols=8+16"));
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.cycles, 2u);
}

TEST(Movement, ALocalCopyOnOnePeTakesTheDerivedCycles) {
  // relayout rows=replicate-split of a 4 x 4 fp32 tensor on one PE: one table row, a copy of
  // 16 elements on thread 1 (the other three threads have only their sync row). wse2: scalar
  // instructions take 1 cycle; a vector op 15 of setup, then 16 fp32 elements through one
  // 64-bit write port, 2 a cycle: 8.
  //   0-18   entry: 13 st (the state), 4 activate, ret                                  18
  //   18-29  move0 (the lowest task id first): ld, ld, beq, blt to its sync row: add, st,
  //          ld, sub, st, bne (others still run), ret                                    11
  //   29-55  move1: ld, ld, beq, blt; ld; 2 x (ld, ld, mul, add); ld, add, ld, blt, movi,
  //          add, st; st; the dispatch: bne, mdsd, mdsd, vmov async (issued at 53), ret   26
  //   55-77  move2 and move3 as move0                                                  2 x 11
  //   77     the copy (issued at 53: 1 + 15 + 8 cycles) is done and activates move1, at its
  //          sync row:
  //   77-94  ld, ld, beq, blt, add, st, ld, sub, st, bne, 3 st (reset the pass), sub,
  //          ld (the last sync), bne, ret                                                17
  //   94     the idle cycle that ends the run: 95.
  const KernelResult r = run(with_algo(params("relayout", 1, 1, 4, 4), "rows=replicate-split"));
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.cycles, 95u);
}

TEST(Movement, SquareTransposeCycles) {
  // 32 x 32 fp16 on 4 x 4 PEs (8 x 8 blocks), wse2: the local transpose (8 strided copies of
  // 8, about 8 x 24), then row 0's three other blocks stream to PE (0,0) over one link (192
  // wavelets, through 2 forwarding PEs), then back out along column 0, each op costing a
  // table row's scalar work (about 25 cycles) and a vector op's setup (15).
  const KernelResult r = run(params("transpose", 4, 4, 32, 32, DType::f16));
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.cycles, 1120u);
}

TEST(Movement, ShortShiftsAreSystolicAndLongOnesCrossTheEdgeOnce) {
  // 16 x 512 fp32 on 8 x 2 PEs: 8 x 64 blocks (512 wavelets). A shift by 1 moves one block
  // per link: 614 cycles. By 3 (less than the width): three one-PE passes through the staging
  // buffers, each as long as the shift by 1 (3 x 608 = 1,824). By 8 (the neighbouring
  // rectangle): one pass whose edge link carries the row's 8 blocks, 4,096 wavelets: 4,735.
  auto shift = [](const char* algo) { return run(with_algo(params("relayout", 8, 2, 16, 512), algo)).cycles; };
  EXPECT_EQ(shift("shift=1,0"), 614u);
  EXPECT_EQ(shift("shift=3,0"), 1824u);
  EXPECT_EQ(shift("shift=8,0"), 4735u);
}

// ---------------------------------------------------------------- chains

// Runs a case built by `build` (a code with two movements) and checks it exactly.
void expect_chain_exact(const KernelCase& kc, const ir::Rect& rect) {
  KernelParams p = params("chain", rect.w, rect.h);
  p.origin_x = rect.x;
  p.origin_y = rect.y;
  auto r = run_case(preset("wse3"), p, kc, sim::Options{});
  ASSERT_TRUE(r.has_value()) << r.message();
  EXPECT_TRUE(r->verified) << r->max_rel_error;
  EXPECT_EQ(r->max_rel_error, 0.0);
}

TEST(Movement, TransposeTwiceGivesTheInputBack) {
  // (Xᵀ)ᵀ on 3 x 2 PEs at (1, 2), fp16: the first transpose's done task is the second's
  // entry, which reads the first one's output symbol.
  const auto a = preset("wse3");
  const ir::Rect rect{1, 2, 3, 2};
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("chain");
  const int second = *pools.tasks.take("test");
  Emit e1{code, kc.program, pools, a, "t1"};
  const DistTensor x{"x", DType::f16, 6, 12, rect};
  auto t1 = emit_transpose(e1, Site{rect, -1, second}, TransposeSpec{x, -1, "y"});
  ASSERT_TRUE(t1.has_value()) << t1.message();
  t1->held.release(pools);
  Emit e2{code, kc.program, pools, a, "t2"};
  auto t2 = emit_transpose(e2, Site{rect, second, -1}, TransposeSpec{t1->y, t1->y_symbol, "y"});
  ASSERT_TRUE(t2.has_value()) << t2.message();
  EXPECT_EQ(t1->y.rows, 12);
  EXPECT_EQ(t2->y.rows, 6);
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});
  const ElementFn X = [](int64_t i, int64_t j) { return round_to(DType::f16, random_value(3, uint64_t(i * 12 + j))); };
  kc.inputs.push_back(HostCopy{"x", rect, {}, [x, X](int px, int py) { return block_values(x, px, py, X); }});
  for (auto* em : {&*t1, &*t2}) kc.inputs.insert(kc.inputs.end(), em->tables.begin(), em->tables.end());
  for (int py = 0; py < rect.h; ++py) {
    for (int px = 0; px < rect.w; ++px) {
      const auto v = block_values(t2->y, px, py, X);
      kc.reference.insert(kc.reference.end(), v.begin(), v.end());
    }
  }
  kc.rect = rect;
  kc.launch_task = "t1.entry";
  kc.result_symbol = t2->y.name;
  kc.result_rect = rect;
  kc.tolerance = 0;
  expect_chain_exact(kc, rect);
}

TEST(Movement, ConcatThenSliceGivesTheSecondTensorBack) {
  // [A | B] along columns, bf16, on 3 x 2 PEs at (4, 1): A 8 x 6 and B 8 x 9 (2 and 3 columns
  // per PE) give an 8 x 15 result with 5 per PE; slicing columns [6, 15) back out starts
  // inside PE 1's block, so it moves data too.
  const auto a = preset("wse2");
  const ir::Rect rect{4, 1, 3, 2};
  KernelCase kc;
  kc.program.width = rect.x + rect.w;
  kc.program.height = rect.y + rect.h;
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("chain");
  const int second = *pools.tasks.take("test");
  Emit e1{code, kc.program, pools, a, "c"};
  ConcatSpec cs;
  cs.a = DistTensor{"a", DType::bf16, 8, 6, rect};
  cs.b = DistTensor{"b", DType::bf16, 8, 9, rect};
  auto c = emit_concat(e1, Site{rect, -1, second}, cs);
  ASSERT_TRUE(c.has_value()) << c.message();
  c->held.release(pools);
  Emit e2{code, kc.program, pools, a, "s"};
  SliceSpec ss;
  ss.x = c->y;
  ss.x_symbol = c->y_symbol;
  ss.offset = 6;
  ss.length = 9;
  auto s = emit_slice(e2, Site{rect, second, -1}, ss);
  ASSERT_TRUE(s.has_value()) << s.message();
  EXPECT_FALSE(s->view);
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{{0, 0, kc.program.width, kc.program.height}, 0, {}});
  const ElementFn A = [](int64_t i, int64_t j) { return round_to(DType::bf16, random_value(4, uint64_t(i * 6 + j))); };
  const ElementFn B = [](int64_t i, int64_t j) { return round_to(DType::bf16, random_value(5, uint64_t(i * 9 + j))); };
  const DistTensor at = cs.a, bt = cs.b;
  kc.inputs.push_back(HostCopy{"a", rect, {}, [at, A](int px, int py) { return block_values(at, px, py, A); }});
  kc.inputs.push_back(HostCopy{"b", rect, {}, [bt, B](int px, int py) { return block_values(bt, px, py, B); }});
  for (auto* em : {&*c, &*s}) kc.inputs.insert(kc.inputs.end(), em->tables.begin(), em->tables.end());
  for (int py = 0; py < rect.h; ++py) {
    for (int px = 0; px < rect.w; ++px) {
      const auto v = block_values(s->y, px, py, B);
      kc.reference.insert(kc.reference.end(), v.begin(), v.end());
    }
  }
  kc.rect = rect;
  kc.launch_task = "c.entry";
  kc.result_symbol = s->y.name;
  kc.result_rect = rect;
  kc.tolerance = 0;
  expect_chain_exact(kc, rect);
}

TEST(Movement, AnAlignedSliceIsAViewOrMovedOntoTheWholeRectangle) {
  // Columns [6, 12) of a 4 x 18 fp32 tensor on 3 x 2 PEs (6 columns each) are PE column 1's
  // blocks: a view there, or with whole_rect 2 columns on each of the 3 PE columns (as the
  // attention layer takes each third of the QKV matrix on a width that 3 divides).
  const auto a = preset("wse3");
  const ir::Rect rect{0, 0, 3, 2};
  const DistTensor x{"x", DType::f32, 4, 18, rect};
  for (const bool whole : {false, true}) {
    KernelCase kc;
    kc.program.width = rect.w;
    kc.program.height = rect.h;
    Pools pools = Pools::for_arch(a);
    ir::CodeBuilder code("chain");
    Emit e{code, kc.program, pools, a, "s"};
    auto m = emit_slice(e, Site{rect, -1, -1}, SliceSpec{x, -1, MoveAxis::cols, 6, 6, "y", whole});
    ASSERT_TRUE(m.has_value()) << m.message();
    EXPECT_EQ(m->view, !whole);
    EXPECT_EQ(m->y.rect.w, whole ? 3 : 1);
    if (!whole) continue;
    kc.program.codes.push_back(code.finish());
    kc.program.placements.push_back(ir::Placement{rect, 0, {}});
    const ElementFn X = [](int64_t i, int64_t j) { return round_to(DType::f32, random_value(8, uint64_t(i * 18 + j))); };
    const ElementFn Y = [X](int64_t i, int64_t j) { return X(i, j + 6); };
    kc.inputs.push_back(HostCopy{"x", rect, {}, [x, X](int px, int py) { return block_values(x, px, py, X); }});
    kc.inputs.insert(kc.inputs.end(), m->tables.begin(), m->tables.end());
    for (int py = 0; py < rect.h; ++py)
      for (int px = 0; px < rect.w; ++px) {
        const auto v = block_values(m->y, px, py, Y);
        kc.reference.insert(kc.reference.end(), v.begin(), v.end());
      }
    kc.rect = rect;
    kc.launch_task = "s.entry";
    kc.result_symbol = m->y.name;
    kc.result_rect = rect;
    kc.tolerance = 0;
    expect_chain_exact(kc, rect);
  }
}

TEST(Movement, AReshardMovesATensorToAnotherSplitWithItsPaddingZero) {
  // A 5 x 7 tensor held padded as 6 x 8 on 2 x 2 PEs at (0, 0) goes to 3 x 4 PEs at (2, 1),
  // padded there as 8 x 9 (2 x 3 per PE), fp32: the run is on the bounding 5 x 5 PEs; y holds
  // X where both hold it and zeros (SRAM as it starts) in its padding.
  const auto a = preset("wse3");
  const DistTensor x{"x", DType::f32, 6, 8, {0, 0, 2, 2}};
  const DistTensor y{"y", DType::f32, 8, 9, {2, 1, 3, 4}};
  const ReshardSpec spec{x, -1, y, 5, 7};
  const ir::Rect hull = reshard_rect(spec);
  EXPECT_EQ(std::vector<int>({hull.x, hull.y, hull.w, hull.h}), std::vector<int>({0, 0, 5, 5}));
  KernelCase kc;
  kc.program.width = hull.w;
  kc.program.height = hull.h;
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("chain");
  Emit e{code, kc.program, pools, a, "r"};
  auto m = emit_reshard(e, Site{hull, -1, -1}, spec);
  ASSERT_TRUE(m.has_value()) << m.message();
  kc.program.codes.push_back(code.finish());
  kc.program.placements.push_back(ir::Placement{hull, 0, {}});
  const ElementFn X = [](int64_t i, int64_t j) {
    return i < 5 && j < 7 ? round_to(DType::f32, random_value(6, uint64_t(i * 7 + j))) : 0.0;
  };
  kc.inputs.push_back(HostCopy{"x", x.rect, {}, [x, X](int px, int py) { return block_values(x, px, py, X); }});
  kc.inputs.insert(kc.inputs.end(), m->tables.begin(), m->tables.end());
  for (int py = 0; py < y.rect.h; ++py)
    for (int px = 0; px < y.rect.w; ++px) {
      const auto v = block_values(m->y, px, py, X);
      kc.reference.insert(kc.reference.end(), v.begin(), v.end());
    }
  kc.rect = hull;
  kc.launch_task = "r.entry";
  kc.result_symbol = m->y.name;
  kc.result_rect = y.rect;
  kc.tolerance = 0;
  expect_chain_exact(kc, hull);
  // Rows past either tensor are refused.
  EXPECT_EQ(emit_reshard(e, Site{hull, -1, -1}, ReshardSpec{x, -1, y, 7, 7}).message(),
            "r.reshard: rows [0, 7) x columns [0, 7) do not lie within both tensor 'x' (6x8 f32, rows split over 2, "
            "columns split over 2) on 2x2 PEs at (0,0) and tensor 'r.y' (8x9 f32, rows split over 4, columns split "
            "over 3) on 3x4 PEs at (2,1)");
}

// ---------------------------------------------------------------- errors

TEST(Movement, ErrorsNameTheTensorTheRectangleAndTheNumber) {
  EXPECT_EQ(error_of(params("transpose", 3, 2, 4, 6)),
            "transpose: the transpose of tensor 'x' (4x6 f32, rows split over 2, columns split over 3) on 3x2 PEs "
            "at (0,0) splits its 4 rows over the 3 PE columns and its 6 columns over the 2 PE rows of 3x2 PEs at "
            "(0,0), which do not divide evenly");
  EXPECT_EQ(error_of(with_algo(params("slice", 4, 2, 8, 32), "cols=3+10")),
            "slice: columns [3, 13) of tensor 'x' (8x32 f32, rows split over 2, columns split over 4) on 4x2 PEs "
            "at (0,0) start inside a block of 8 columns; the 10 moved columns do not divide evenly over 4 PEs (an "
            "offset and length that are multiples of 8 give a view)");
  EXPECT_EQ(error_of(with_algo(params("slice", 4, 2, 8, 32), "rows=4+8")),
            "slice: rows [4, 12) do not lie within the 8 rows of tensor 'x' (8x32 f32, rows split over 2, columns "
            "split over 4) on 4x2 PEs at (0,0)");
  EXPECT_EQ(error_of(with_algo(params("relayout", 4, 2), "shift=-1,0")),
            "relayout: --algo shift=-1,0: the 4x2 PEs at (0,0) and the ones they move to do not fit on the 757x996 fabric of "
            "arch 'wse2'");
  EXPECT_EQ(error_of(with_algo(params("relayout", 4, 2), "rows=sideways")),
            "relayout: --algo rows=sideways: 'sideways' is not a layout (split, replicate, first)");
  EXPECT_EQ(error_of(with_algo(params("concat", 4, 2, 8, 24), "cols")), "no error");
  KernelParams odd = params("concat", 4, 2, 8, 24);
  odd.k = 6;
  EXPECT_EQ(error_of(odd), "concat: tensor 'a' (8x6 f32, rows split over 2, columns split over 4) on 4x2 PEs at "
                           "(0,0): 6 columns do not divide evenly over 4 PE columns");
}

TEST(Movement, EmittersRefuseLayoutsTheyDoNotTake) {
  const auto a = preset("wse3");
  ir::Program prog;
  prog.width = prog.height = 8;
  Pools pools = Pools::for_arch(a);
  ir::CodeBuilder code("c");
  Emit e{code, prog, pools, a, "m"};
  const ir::Rect rect{0, 0, 2, 2};
  DistTensor x{"x", DType::f32, 4, 4, rect};
  RelayoutSpec both;
  both.x = x;
  both.rows_over_y = Spread::replicate;
  both.cols_over_x = Spread::first;
  auto r = emit_relayout(e, Site{rect}, both);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.message(), "m.relayout: tensor 'x' (4x4 f32, rows split over 2, columns split over 2) on 2x2 PEs at "
                         "(0,0) changes how both its rows and its columns are spread; relayout one axis at a time");
  auto t = emit_transpose(e, Site{{0, 0, 4, 4}}, TransposeSpec{x});
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.message(), "m.transpose: runs on 4x4 PEs at (0,0) but tensor 'x' (4x4 f32, rows split over 2, columns "
                         "split over 2) on 2x2 PEs at (0,0) needs 2x2 PEs at (0,0)");
}

}  // namespace
}  // namespace wafer::kernels
