// What kernels need to compose: resource pools the caller owns, distributed tensors, and the
// context a kernel emits into.
//
// A composed program runs one code on every PE; each kernel adds its tasks, symbols and
// instructions to that code and its routes to the program, all for its own rectangle (any
// rectangle of the fabric: coordinates inside a kernel are relative to it). Colors, task ids,
// registers and DSD registers come from Pools that the caller owns, so several kernels can
// share PEs: a kernel takes what it needs while it emits and gives back what is free again
// when its code ends (registers, DSD registers) or keeps it (colors with routes, task ids).
// A kernel starts when its entry task is activated (by a host launch or by the previous
// kernel) and signals completion by activating its continuation task on every PE of its
// rectangle; it never ends the code.
//
// A DistTensor says which PE holds which block of a 2-D tensor (rows x cols; higher ranks are
// flattened by the caller): each axis of the rectangle splits one dimension into equal blocks,
// replicates it on every PE, or holds it only on the PEs at coordinate 0.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/builder.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/support/error.hpp"

namespace wafer::kernels {

// A pool of small integer resources (colors, task ids, registers, DSD registers) with ids
// 0..size-1. take() hands out the lowest free id; errors name the pool and who asked.
class Pool {
 public:
  Pool(std::string what, int size);
  Expected<int> take(const std::string& user);
  // Takes `n` ids at once (all or none).
  Expected<std::vector<int>> take(int n, const std::string& user);
  // Takes one given id, e.g. a color an existing route uses.
  Status reserve(int id, const std::string& user);
  void release(int id);
  void release(const std::vector<int>& ids);
  int size() const { return int(owner_.size()); }
  int in_use() const;
  const std::string& owner(int id) const { return owner_[size_t(id)]; }

 private:
  std::string what_;
  std::vector<std::string> owner_;  // "" when free
};

struct Pools {
  Pool colors, tasks, regs, dsds;
  // Everything the arch has: its colors, task ids, registers and DSD registers.
  static Pools for_arch(const arch::Arch& a);
};

// The registers and DSD registers a kernel holds while it runs. A kernel that runs after it
// on the same PEs may have them: the caller releases them before emitting that kernel (task
// ids and colors stay taken: they are in the code and the routes). Kernels on disjoint
// rectangles are better given codes of their own (one Program placement each), with a
// Pools each.
struct Held {
  std::vector<int> regs, dsds;
  void release(Pools& pools) const {
    pools.regs.release(regs);
    pools.dsds.release(dsds);
  }
};

// How one axis of the rectangle holds one dimension of a tensor.
enum class Spread : uint8_t {
  split,      // equal consecutive blocks, block i on the PEs at coordinate i
  replicate,  // the whole dimension on every PE of the axis
  first,      // the whole dimension only on the PEs at coordinate 0
};

struct DistTensor {
  std::string name;  // the SRAM symbol that holds each PE's block
  DType dtype = DType::f32;
  int64_t rows = 1, cols = 1;
  ir::Rect rect;                      // absolute PEs of the fabric
  Spread rows_over_y = Spread::split;  // how the rectangle's rows (y) hold the tensor's rows
  Spread cols_over_x = Spread::split;  // how the rectangle's columns (x) hold its columns
  bool col_major = true;               // storage order of each block

  int64_t block_rows() const;
  int64_t block_cols() const;
  int64_t block_elements() const { return block_rows() * block_cols(); }
  int64_t block_bytes() const { return block_elements() * dtype_bytes(dtype); }
  // Whether PE (px, py) of the rectangle (relative) holds a block.
  bool holds(int px, int py) const;
  // Global (row, col) of element e of PE (px, py)'s block.
  int64_t row_of(int py, int64_t e) const;
  int64_t col_of(int px, int64_t e) const;
  // Rectangle of the PEs that hold blocks (absolute).
  ir::Rect holders() const;
  std::string describe() const;  // "tensor 'A' (64x64 fp16, rows split over 4, ...) on 4x4 PEs at (100,37)"
};

// Checks that each split dimension divides evenly over its axis and that the rectangle lies
// within a W x H program; errors name the tensor, the rectangle and the number that is wrong.
Status check_layout(const DistTensor& t, int program_w, int program_h);

// The context a kernel emits into: the one code, the program for its routes, the pools.
struct Emit {
  ir::CodeBuilder& code;
  ir::Program& program;
  Pools& pools;
  const arch::Arch& arch;
  // Scopes symbol and task names ("gemm0.A"); two kernels in one code need different scopes.
  std::string scope;
  std::string name(const std::string& local) const { return scope.empty() ? local : scope + "." + local; }
};

// Where a kernel runs and how it is chained.
struct Site {
  ir::Rect rect;          // absolute PEs the kernel runs on
  int entry_task = -1;    // activated to start the kernel (taken from the pool when -1)
  int done_task = -1;     // activated on every PE of rect when the kernel is done (-1: none)
};

// Emits `rx = x - rect.x; ry = y - rect.y` into two registers taken from the pool.
struct RelCoords {
  int rx, ry;
};
Expected<RelCoords> emit_rel_coords(Emit& e, const ir::Rect& rect, const std::string& user);

// Host side: values of PE (px, py)'s block (relative coordinates), in the block's storage
// order, from a function of the global (row, col).
using ElementFn = std::function<double(int64_t row, int64_t col)>;
std::vector<double> block_values(const DistTensor& t, int px, int py, const ElementFn& value);

}  // namespace wafer::kernels
