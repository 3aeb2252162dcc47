// The Simulator facade: creation (verify, compile routes, build the machine) and host I/O.
//
// Host copies address symbols by name on a rectangle of PEs; every PE of the rectangle must
// run a code that declares the symbol. A copy costs ceil(bytes / host_bytes_per_cycle) cycles
// of the arch's edge I/O bandwidth, counted in io_cycles apart from fabric cycles. Creation
// first compares the program's memory estimate (footprint.cpp) with the available memory and
// refuses, naming both, rather than let the allocation fail.
#include "wafer/sim/simulator.hpp"

#include <cmath>

#include <fmt/format.h>

#include "machine.hpp"
#include "wafer/ir/verify.hpp"
#include "wafer/support/memory.hpp"

namespace wafer::sim {

class Simulator::Impl {
 public:
  explicit Impl(std::unique_ptr<Machine> m) : m(std::move(m)) {}
  std::unique_ptr<Machine> m;

  Status check_rect(const ir::Rect& r, const char* what) const {
    if (r.w < 1 || r.h < 1 || r.x < 0 || r.y < 0 || r.x + r.w > int(m->width) || r.y + r.h > int(m->height)) {
      return make_error("{}: rectangle ({},{}) size {}x{} is outside the {}x{} program", what, r.x,
                        r.y, r.w, r.h, m->width, m->height);
    }
    return Status::ok();
  }

  // Symbol index and layout offset of `name` on one PE, or an error naming the PE.
  Expected<std::pair<int, uint32_t>> symbol_on(uint32_t pe, const std::string& name) const {
    const int code = m->cores[pe].code;
    if (code < 0) return make_error("{} runs no code, so it has no symbol '{}'", m->where(pe), name);
    const ir::Code& c = m->program.codes[size_t(code)];
    const int s = c.find_symbol(name);
    if (s < 0) return make_error("{} runs code '{}' which has no symbol '{}'", m->where(pe), c.name, name);
    return std::make_pair(s, m->codes[size_t(code)].layout.offset[size_t(s)]);
  }

  void charge_io(uint64_t bytes) {
    m->io_cycles += uint64_t(std::ceil(double(bytes) / m->arch.host_bytes_per_cycle()));
  }

  template <typename F>
  Status for_each_pe(const ir::Rect& r, F&& f) {
    for (int y = r.y; y < r.y + r.h; ++y) {
      for (int x = r.x; x < r.x + r.w; ++x) WAFER_TRY(f(uint32_t(y) * m->width + uint32_t(x)));
    }
    return Status::ok();
  }
};

namespace {

// Refuses a program whose machine would not fit, before the fabric map or the machine exist;
// the advice scales the PE count, as most of the estimate is per PE.
Status check_simulator_memory(const arch::Arch& arch, const ir::Program& program, const Options& options) {
  const uint64_t need = estimate_memory(arch, program, options);
  const uint64_t pes = uint64_t(program.width) * uint64_t(program.height);
  return check_memory(need, fmt::format("simulating a {}x{} program", program.width, program.height),
                      [&](uint64_t available) {
                        const uint64_t fit = uint64_t(double(pes) * double(available) / double(need));
                        return fit ? fmt::format("a program of at most about {} PEs", fit) : "";
                      });
}

}  // namespace

Simulator::Simulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Simulator::~Simulator() = default;

Expected<std::unique_ptr<Simulator>> Simulator::create(const arch::Arch& arch,
                                                       const ir::Program& program,
                                                       const Options& options) {
  WAFER_TRY(ir::verify(program, arch));
  WAFER_TRY(check_simulator_memory(arch, program, options));
  if (const auto& h = options.link_extra_hops; h && (h->width < program.width || h->height < program.height))
    return make_error("the link map of the repaired wafer covers {}x{} PEs, less than the {}x{} program", h->width,
                      h->height, program.width, program.height);
  auto map = fabric::build_fabric_map(program, arch);
  if (!map) return map.status();
  auto machine = std::make_unique<Machine>(arch, program, std::move(*map), options);
  if (!machine->sram.ok()) {
    return make_error("cannot reserve {} bytes of address space for the SRAM of {} PEs",
                      uint64_t(arch.sram_bytes) * machine->pes, machine->pes);
  }
  return std::unique_ptr<Simulator>(new Simulator(std::make_unique<Impl>(std::move(machine))));
}

const arch::Arch& Simulator::arch() const { return impl_->m->arch; }
const ir::Program& Simulator::program() const { return impl_->m->program; }
uint64_t Simulator::now() const { return impl_->m->clock(); }
uint64_t Simulator::io_cycles() const { return impl_->m->io_cycles; }
const Stats& Simulator::stats() const { return impl_->m->stats; }
const std::vector<TraceEvent>& Simulator::trace_events() const { return impl_->m->trace; }
uint64_t Simulator::trace_dropped() const { return impl_->m->trace_dropped; }

Status Simulator::write_symbol(const std::string& symbol, const ir::Rect& rect,
                               const std::vector<double>& values) {
  Impl& im = *impl_;
  Machine& m = *im.m;
  WAFER_TRY(im.check_rect(rect, fmt::format("h2d '{}'", symbol).c_str()));
  size_t at = 0;
  uint64_t bytes = 0;
  Status st = im.for_each_pe(rect, [&](uint32_t pe) -> Status {
    auto sym = im.symbol_on(pe, symbol);
    if (!sym) return sym.status();
    const ir::Symbol& s = m.program.codes[size_t(m.cores[pe].code)].symbols[size_t(sym->first)];
    const bool broadcast = values.size() == s.count;
    if (!broadcast && values.size() != size_t(s.count) * size_t(rect.area())) {
      return make_error("h2d '{}': got {} values, expected {} ({} per PE) or {} for {} PEs",
                        symbol, values.size(), s.count, s.count,
                        size_t(s.count) * size_t(rect.area()), rect.area());
    }
    const int b = dtype_bytes(s.type);
    for (uint32_t i = 0; i < s.count; ++i) {
      const double v = broadcast ? values[i] : values[at++];
      m.sram.write(pe, sym->second + i * uint32_t(b), b, encode_value(s.type, v));
    }
    bytes += uint64_t(s.count) * uint64_t(b);
    return Status::ok();
  });
  if (st) im.charge_io(bytes);
  return st;
}

Expected<std::vector<double>> Simulator::read_symbol(const std::string& symbol, const ir::Rect& rect) {
  Impl& im = *impl_;
  Machine& m = *im.m;
  WAFER_TRY(im.check_rect(rect, fmt::format("d2h '{}'", symbol).c_str()));
  std::vector<double> out;
  const uint32_t first_pe = uint32_t(rect.y) * m.width + uint32_t(rect.x);
  if (auto first = im.symbol_on(first_pe, symbol)) {  // sized once: no copies while growing
    const ir::Code& c = m.program.codes[size_t(m.cores[first_pe].code)];
    out.reserve(size_t(c.symbols[size_t(first->first)].count) * size_t(rect.area()));
  }
  uint64_t bytes = 0;
  Status st = im.for_each_pe(rect, [&](uint32_t pe) -> Status {
    auto sym = im.symbol_on(pe, symbol);
    if (!sym) return sym.status();
    const ir::Symbol& s = m.program.codes[size_t(m.cores[pe].code)].symbols[size_t(sym->first)];
    const int b = dtype_bytes(s.type);
    for (uint32_t i = 0; i < s.count; ++i) {
      out.push_back(decode_value(s.type, m.sram.read(pe, sym->second + i * uint32_t(b), b)));
    }
    bytes += uint64_t(s.count) * uint64_t(b);
    return Status::ok();
  });
  if (!st) return st;
  im.charge_io(bytes);
  return out;
}

Status Simulator::launch(const std::string& task, const ir::Rect& rect) {
  Impl& im = *impl_;
  Machine& m = *im.m;
  WAFER_TRY(im.check_rect(rect, fmt::format("launch '{}'", task).c_str()));
  std::vector<std::pair<uint32_t, int>> targets;  // (PE, task id), all checked before any runs
  WAFER_TRY(im.for_each_pe(rect, [&](uint32_t pe) -> Status {
    const int code = m.cores[pe].code;
    if (code < 0) return make_error("launch '{}': {} runs no code", task, m.where(pe));
    const ir::Code& c = m.program.codes[size_t(code)];
    const ir::Task* t = c.find_task(task);
    if (!t) return make_error("launch '{}': {} runs code '{}' which has no such task", task, m.where(pe), c.name);
    if (t->kind == ir::TaskKind::data) {
      return make_error("launch '{}': it is a data task; launch a local or control task", task);
    }
    targets.emplace_back(pe, t->id);
    return Status::ok();
  }));
  for (auto [pe, id] : targets) {
    m.cores[pe].activated |= 1ull << id;
    auto& word = m.active_set(m.now)[pe >> 6];
    word.store(word.load() | (1ull << (pe & 63)));
  }
  return Status::ok();
}

Status Simulator::stream_in(int color, ir::Dir edge, const ir::Rect& rect,
                            const std::vector<double>& values, DType type) {
  Impl& im = *impl_;
  Machine& m = *im.m;
  WAFER_TRY(im.check_rect(rect, "stream"));
  if (edge == ir::Dir::ramp) return make_error("stream: the edge must be N, E, S or W");
  std::vector<uint32_t> bits;
  for (double v : values) bits.push_back(encode_value(type, v));
  return im.for_each_pe(rect, [&](uint32_t pe) -> Status {
    const int x = m.pe_x(pe), y = m.pe_y(pe);
    const bool on_edge = (edge == ir::Dir::west && x == 0) || (edge == ir::Dir::north && y == 0) ||
                         (edge == ir::Dir::east && x == int(m.width) - 1) ||
                         (edge == ir::Dir::south && y == int(m.height) - 1);
    if (!on_edge) return make_error("stream on color {}: {} is not on the {} edge", color, m.where(pe), ir::dir_name(edge));
    const fabric::ColorSlot* s = m.map.find_slot(pe, color);
    if (!s || s->rx_channel[int(edge)] == fabric::kNoChannel) {
      return make_error("stream on color {}: the route of {} does not receive color {} from {}",
                        color, m.where(pe), color, ir::dir_name(edge));
    }
    m.streams.push_back(Machine::Stream{s->rx_channel[int(edge)], pe, bits, 0});
    im.charge_io(uint64_t(bits.size()) * 4);
    return Status::ok();
  });
}

Expected<RunResult> Simulator::run() { return run_machine(*impl_->m); }

Expected<std::vector<Simulator::HostOutput>> Simulator::run_host_script(RunResult* total) {
  std::vector<HostOutput> outputs;
  RunResult sum;
  bool pending = false;
  auto run_pending = [&]() -> Status {
    if (!pending) return Status::ok();
    pending = false;
    auto r = run();
    if (!r) return r.status();
    sum.cycles += r->cycles;
    sum.active_pe_cycles += r->active_pe_cycles;
    sum.wall_seconds += r->wall_seconds;
    sum.threads = r->threads;
    return Status::ok();
  };
  for (const ir::HostOp& op : impl_->m->program.host) {
    const std::string at = op.loc.line ? fmt::format("host line {}", op.loc.line) : "host";
    Status st;
    switch (op.kind) {
      case ir::HostOp::Kind::h2d: {
        const ir::Code* code = nullptr;
        const int pe_code = impl_->m->cores[uint32_t(op.rect.y) * impl_->m->width + uint32_t(op.rect.x)].code;
        if (pe_code >= 0) code = &impl_->m->program.codes[size_t(pe_code)];
        const int s = code ? code->find_symbol(op.name) : -1;
        const size_t per_pe = s >= 0 ? code->symbols[size_t(s)].count : 0;
        st = write_symbol(op.name, op.rect, ir::expand_host_data(op.data, per_pe * size_t(op.rect.area())));
        break;
      }
      case ir::HostOp::Kind::stream_in: {
        const size_t n = op.data.kind == ir::HostData::Kind::values ? op.data.values.size() : 0;
        st = stream_in(op.color, op.edge, op.rect, ir::expand_host_data(op.data, n), op.stream_type);
        pending = true;
        break;
      }
      case ir::HostOp::Kind::launch:
        st = launch(op.name, op.rect);
        pending = true;
        if (st) st = run_pending();
        break;
      case ir::HostOp::Kind::d2h: {
        st = run_pending();
        if (!st) break;
        auto v = read_symbol(op.name, op.rect);
        if (!v) {
          st = v.status();
          break;
        }
        const uint32_t count = uint32_t(v->size() / size_t(op.rect.area()));
        outputs.push_back(HostOutput{op.name, op.rect, count, std::move(*v)});
        break;
      }
    }
    if (!st) return st.with_context(at);
  }
  WAFER_TRY(run_pending());
  if (total) *total = sum;
  return outputs;
}

}  // namespace wafer::sim
