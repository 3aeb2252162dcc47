// Resource pools, distributed tensors and relative coordinates for composable kernels
// (compose.hpp). A pool records who holds each id so that an exhausted pool's error can say
// who has taken them; a tensor's block arithmetic is the one place that maps a PE and a block
// element to the tensor's (row, col), used by the kernels' host data and by their references.
#include "wafer/kernels/compose.hpp"

#include <fmt/format.h>

namespace wafer::kernels {

Pool::Pool(std::string what, int size) : what_(std::move(what)), owner_(size_t(std::max(0, size))) {}

int Pool::in_use() const {
  int n = 0;
  for (const std::string& o : owner_) n += !o.empty();
  return n;
}

Expected<int> Pool::take(const std::string& user) {
  for (size_t i = 0; i < owner_.size(); ++i) {
    if (owner_[i].empty()) {
      owner_[i] = user;
      return int(i);
    }
  }
  std::string holders;
  for (const std::string& o : owner_) {
    if (holders.find(o) == std::string::npos) holders += (holders.empty() ? "" : ", ") + o;
  }
  return make_error("{}: no free {} left (all {} taken by {})", user, what_, owner_.size(), holders);
}

Expected<std::vector<int>> Pool::take(int n, const std::string& user) {
  std::vector<int> ids;
  for (int i = 0; i < n; ++i) {
    auto id = take(user);
    if (!id) {
      release(ids);
      return make_error("{}: needs {} {} but only {} of {} are free", user, n, what_, i, size());
    }
    ids.push_back(*id);
  }
  return ids;
}

Status Pool::reserve(int id, const std::string& user) {
  if (id < 0 || id >= size()) return make_error("{}: {} {} does not exist (0..{})", user, what_, id, size() - 1);
  if (!owner_[size_t(id)].empty())
    return make_error("{}: {} {} is already taken by {}", user, what_, id, owner_[size_t(id)]);
  owner_[size_t(id)] = user;
  return Status::ok();
}

void Pool::release(int id) {
  if (id >= 0 && id < size()) owner_[size_t(id)].clear();
}

void Pool::release(const std::vector<int>& ids) {
  for (int id : ids) release(id);
}

Pools Pools::for_arch(const arch::Arch& a) {
  return {Pool("colors", a.colors), Pool("task ids", a.task_ids), Pool("registers", a.registers),
          Pool("DSD registers", a.dsd_registers)};
}

namespace {

int64_t block_extent(int64_t n, Spread s, int pes) { return s == Spread::split ? n / pes : n; }

const char* spread_name(Spread s) {
  switch (s) {
    case Spread::split: return "split";
    case Spread::replicate: return "replicated";
    case Spread::first: return "on the first";
  }
  return "?";
}

}  // namespace

int64_t DistTensor::block_rows() const { return block_extent(rows, rows_over_y, rect.h); }
int64_t DistTensor::block_cols() const { return block_extent(cols, cols_over_x, rect.w); }

bool DistTensor::holds(int px, int py) const {
  return (cols_over_x != Spread::first || px == 0) && (rows_over_y != Spread::first || py == 0);
}

int64_t DistTensor::row_of(int py, int64_t e) const {
  const int64_t r = col_major ? e % block_rows() : e / block_cols();
  return rows_over_y == Spread::split ? py * block_rows() + r : r;
}

int64_t DistTensor::col_of(int px, int64_t e) const {
  const int64_t c = col_major ? e / block_rows() : e % block_cols();
  return cols_over_x == Spread::split ? px * block_cols() + c : c;
}

ir::Rect DistTensor::holders() const {
  return {rect.x, rect.y, cols_over_x == Spread::first ? 1 : rect.w,
          rows_over_y == Spread::first ? 1 : rect.h};
}

std::string DistTensor::describe() const {
  return fmt::format("tensor '{}' ({}x{} {}, rows {} over {}, columns {} over {}) on {}x{} PEs at ({},{})",
                     name, rows, cols, dtype_name(dtype), spread_name(rows_over_y), rect.h,
                     spread_name(cols_over_x), rect.w, rect.w, rect.h, rect.x, rect.y);
}

Status check_layout(const DistTensor& t, int program_w, int program_h) {
  if (t.rows < 1 || t.cols < 1)
    return make_error("{}: {}x{} has an empty dimension", t.describe(), t.rows, t.cols);
  if (t.rect.w < 1 || t.rect.h < 1 || t.rect.x < 0 || t.rect.y < 0 ||
      int64_t(t.rect.x) + t.rect.w > program_w || int64_t(t.rect.y) + t.rect.h > program_h) {
    return make_error("{}: the rectangle does not lie within the {}x{} program", t.describe(),
                      program_w, program_h);
  }
  if (t.rows_over_y == Spread::split && t.rows % t.rect.h != 0)
    return make_error("{}: {} rows do not divide evenly over {} PE rows", t.describe(), t.rows, t.rect.h);
  if (t.cols_over_x == Spread::split && t.cols % t.rect.w != 0)
    return make_error("{}: {} columns do not divide evenly over {} PE columns", t.describe(), t.cols, t.rect.w);
  return Status::ok();
}

Expected<RelCoords> emit_rel_coords(Emit& e, const ir::Rect& rect, const std::string& user) {
  auto regs = e.pools.regs.take(2, user);
  if (!regs) return regs.status();
  const RelCoords rc{(*regs)[0], (*regs)[1]};
  e.code.emit(ir::Opcode::sub, {ir::reg(rc.rx), ir::special(ir::Special::x), ir::imm(rect.x)});
  e.code.emit(ir::Opcode::sub, {ir::reg(rc.ry), ir::special(ir::Special::y), ir::imm(rect.y)});
  return rc;
}

std::vector<double> block_values(const DistTensor& t, int px, int py, const ElementFn& value) {
  std::vector<double> v(size_t(t.block_elements()));
  for (int64_t e = 0; e < t.block_elements(); ++e) v[size_t(e)] = value(t.row_of(py, e), t.col_of(px, e));
  return v;
}

}  // namespace wafer::kernels
