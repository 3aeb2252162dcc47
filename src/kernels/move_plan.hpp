// The engine under the data-movement kernels (movement.hpp): passes that move rectangles of a
// tensor along the lines of a rectangle of PEs, planned on the host, run by one small
// interpreter on every PE.
//
// A Holding says which rectangles of a tensor's global (row, col) space each PE keeps, where
// (a symbol, an element offset) and how (column-major, leading dimension = the rectangle's
// rows). A pass along x (or y) moves every element that the destination holding wants from
// the nearest PE of the same row (column) whose source holding has it. Along a line, the
// elements that cross the link k -> k+1 form one ordered stream: PE k first forwards, in
// arrival order, what came in from k-1 and goes past it, then sends its own pieces that go
// further (by destination); it keeps (receives into memory) the pieces addressed to it. Every
// link therefore carries one point-to-point stream in each direction, on one of two colors
// that alternate along the line, and a PE's order of work is fixed by the plan, so no wavelet
// ever needs a header. Forwards first keeps the line a pipeline: a link is busy from the
// first wavelet of the farthest source to the last of its own PE, so a pass takes about the
// most elements any link carries (plus the hops), where sending own pieces first would make
// each PE's forwards wait for its neighbour's. Pieces that stay on their PE are local copies.
// A broadcast pass multicasts a PE's block from coordinate 0 along each line in the routers.
//
// Each PE runs four sequential threads per pass: per direction one takes the incoming stream
// (receives, forwards) and one sends the PE's own pieces once the last forward is done (a
// wait row in the sender, a signal row after that forward), so that a PE receives while it
// sends. A thread issues one asynchronous vector op per table row (a send from memory, a
// receive into memory, a fabric-to-fabric forward, or a local copy; a row may repeat its op
// `count` times with its offsets stepping, for pieces that are one column run per block
// column) and the op's completion runs the thread's next row. All threads end a pass at a
// sync row; when all have, the next pass starts, after the last the done task is activated.
// The tables are per-PE data (i32 symbols) that the caller copies in with the code, as
// Cannon's roles.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "wafer/kernels/compose.hpp"
#include "wafer/kernels/kernels.hpp"

namespace wafer::kernels {

// Rows [r0, r1) x columns [c0, c1) of a tensor's global index space, held column-major from
// element `base` of plan buffer `buf` (leading dimension r1 - r0).
struct HeldBlock {
  int64_t r0 = 0, r1 = 0, c0 = 0, c1 = 0;
  int buf = -1;
  int64_t base = 0;
  int64_t rows() const { return r1 - r0; }
  int64_t cols() const { return c1 - c0; }
  bool empty() const { return buf < 0 || r1 <= r0 || c1 <= c0; }
};
// The blocks a PE (relative to the plan's rectangle) holds.
using Holding = std::function<std::vector<HeldBlock>(int px, int py)>;

// What a DistTensor (col-major) holds on the PEs of `hull` (absolute), in buffer `buf`, its
// global indices moved by (row_shift, col_shift).
Holding tensor_holding(const DistTensor& t, const ir::Rect& hull, int buf, int64_t row_shift = 0,
                       int64_t col_shift = 0);

enum class MoveOp : uint8_t { send, recv, fwd, copy };

// One op shape a thread issues: the colors and buffers are in the code, the offsets and
// lengths in the tables.
struct MoveVariant {
  MoveOp op = MoveOp::send;
  int in_color = -1, out_color = -1;
  int buf_a = -1, buf_b = -1;  // send: source; recv: destination; copy: destination, source
  int thread = 0;
  auto key() const { return std::make_tuple(op, in_color, out_color, buf_a, buf_b, thread); }
  bool operator<(const MoveVariant& o) const { return key() < o.key(); }
};

// Threads per PE: the own pieces towards +x/+y, the incoming stream from -x/-y, the own pieces
// towards -x/-y, the incoming stream from +x/+y.
constexpr int kMoveThreads = 4;
constexpr int kSyncRow = -1, kWaitRow = -2, kSignalRow = -3;

// One table row: variant kSyncRow ends a pass (len 1 on the last one); kWaitRow (in a sending
// thread) waits for the kSignalRow of the incoming thread after it (its PE's last forward in
// that direction is done). Otherwise the op runs `count` times, the k-th on len elements at
// off_a + k·step_a (and off_b + k·step_b).
struct MoveRow {
  int variant = -1;
  int64_t len = 0, count = 1, off_a = 0, step_a = 0, off_b = 0, step_b = 0;
};

class MovePlan {
 public:
  MovePlan(const ir::Rect& hull, std::string user);
  const ir::Rect& hull() const { return hull_; }
  // A pass along x (rows of PEs) or y that moves what `to` holds from `from`.
  Status add_pass(bool along_x, const Holding& from, const Holding& to, Pool& colors);
  // A pass that multicasts each line's block of `what` held at coordinate 0 to the same
  // buffer and offsets on every other PE of the line.
  Status add_broadcast(bool along_x, const Holding& what, Pool& colors);

  const std::vector<MoveVariant>& variants() const { return variants_; }
  // Rows of PE (px, py)'s thread t (< kMoveThreads), ending with the sync rows of every pass.
  const std::vector<MoveRow>& rows(int px, int py, int t) const;
  int passes() const { return passes_; }
  // Elements each buffer must have (the largest offset + length over all PEs).
  int64_t buffer_extent(int buf) const;
  std::vector<int> colors() const;
  // Adds the routes of every pass to the program, merged into rectangles.
  void add_routes(ir::Program& p) const;
  int64_t wavelets() const { return wavelets_; }  // sent over links, all passes, all PEs

 private:
  struct Piece;
  int variant(const MoveVariant& v);
  void route(int px, int py, int color, ir::PortMask rx, ir::PortMask tx);
  Status line_pass(bool along_x, int line, int n, const std::vector<Piece>& pieces, Pool& colors);
  Expected<int> color(int kind, int parity, Pool& colors);
  void end_pass();

  ir::Rect hull_;
  std::string user_;
  std::vector<MoveVariant> variants_;
  std::map<MoveVariant, int> variant_index_;
  std::vector<std::array<std::vector<MoveRow>, kMoveThreads>> rows_;  // per PE, row-major over the hull
  std::map<std::tuple<int, int, int>, std::pair<ir::PortMask, ir::PortMask>> routes_;  // (color, py, px)
  std::array<int, 10> colors_{};  // per direction (+x, -x, +y, -y) two, a broadcast per axis
  std::map<int, int64_t> extent_;
  int passes_ = 0;
  int64_t wavelets_ = 0;
  bool conflict_ = false;
};

// The code that runs a plan: symbols (the tables and a small state, named by e.name), an
// entry task (`prologue` is emitted into it before the threads start, and may use the
// registers and DSD registers it is given), two thread tasks.
// `buffers` are the code's symbols for the plan's buffers.
struct MoveCode {
  int entry = -1;
  Held held;
  std::vector<HostCopy> tables;  // the per-PE rows, to copy in before the launch
  int64_t table_bytes = 0;       // SRAM per PE of the tables and the state
};
Expected<MoveCode> emit_move_code(Emit& e, const Site& site, const MovePlan& plan, const std::vector<int>& buffers,
                                  DType t, const std::function<Status(const Held&)>& prologue = {});

}  // namespace wafer::kernels
