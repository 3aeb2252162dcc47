// Running a plan on the simulator, layer after layer (compiler.hpp).
//
// Each layer gets a simulator for its program. Its weights are written first, through the
// simulator's host copies, and the I/O cycles those copies cost are the layer's weight I/O;
// then its activation inputs: on the machine they are already in SRAM where the previous
// layer wrote them (plan.cpp checked that the layouts agree), so the host only carries the
// bytes from one simulated program to the next and the cycles of that copy are not counted.
// The layer is launched on its rectangle and run to quiescence; its output is read back into
// a host tensor (element e of PE (px, py) is (row_of(py, e), col_of(px, e)) of the 2-D view).
// An observer, when given, sees each layer's simulator after its run (a failed one too).
// An input the kernel takes in a layout of its own (Binding::via_host: the window kernels'
// bands, a reordered image) is written after the weights, and its copy's I/O cycles and the
// read-out of its bytes are the layer's relayout I/O. A pipelined layer's program lies at its
// origin on the fabric, and runs under that part of a repaired wafer's link map and of the
// trace region. Totals: the
// layers' fabric cycles, and batch_cycles() and interval_cycles() of those, the weight I/O
// and the relayouts in the plan's mode.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "lower.hpp"
#include "wafer/compiler/compiler.hpp"

namespace wafer::compiler {

namespace {

int resolve(const Plan& plan, int id) {
  auto it = plan.alias.find(id);
  return it == plan.alias.end() ? id : it->second;
}

// Element (row, col) of the value's matrix (lower.hpp's rows_of: channels-last for an image);
// 0 in the rows and columns that pad it to the grid.
kernels::ElementFn element_fn(const graph::Tensor* t, const graph::Value* v, bool image) {
  if (!t) return [](int64_t, int64_t) { return 0.0; };
  return [t, v, image, rows = rows_of(*v, image), cols = cols_of(*v, image)](int64_t r, int64_t c) {
    return r < rows && c < cols ? t->values[element_index(*v, image, r, c)] : 0.0;
  };
}

graph::Tensor read_tensor(const Binding& out, const graph::Value& v, const std::vector<double>& blocks) {
  const kernels::DistTensor& y = out.layout;
  graph::Tensor t{v.type, v.shape, std::vector<double>(size_t(graph::element_count(v.shape)), 0.0)};
  const int64_t per_pe = y.block_elements(), rows = rows_of(v, out.image), cols = cols_of(v, out.image);
  const ir::Rect holders = y.holders();  // the PEs with blocks: all, or the first row or column
  for (int py = 0; py < holders.h; ++py)
    for (int px = 0; px < holders.w; ++px) {
      const size_t base = size_t((int64_t(py) * holders.w + px) * per_pe);
      for (int64_t e = 0; e < per_pe; ++e) {
        const int64_t row = y.row_of(py, e), col = y.col_of(px, e);
        if (row < rows && col < cols)  // the rest pads it
          t.values[element_index(v, out.image, row, col)] = blocks[base + size_t(e)];
      }
    }
  return t;
}

double normwise_error(const graph::Tensor& got, const graph::Tensor& want) {
  if (got.values.size() != want.values.size()) return INFINITY;
  return kernels::max_rel_error(got.values, want.values);
}

// The part of the fabric's link map (Options::link_extra_hops, from PE (0, 0)) under a
// layer's program, which lies at the layer's origin.
Expected<std::shared_ptr<const fabric::LinkExtraHops>> hops_under(const Layer& l, const sim::Options& o) {
  const auto& all = o.link_extra_hops;
  if (!all || (l.origin_x == 0 && l.origin_y == 0)) return all;
  const int w = l.program.width, h = l.program.height;
  if (all->width < l.origin_x + w || all->height < l.origin_y + h)
    return make_error("the link map of the repaired wafer covers {}x{} PEs; the layer reaches ({},{})", all->width,
                      all->height, l.origin_x + w - 1, l.origin_y + h - 1);
  auto part = std::make_shared<fabric::LinkExtraHops>();
  part->width = w;
  part->height = h;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const size_t from = size_t(l.origin_y + y) * size_t(all->width) + size_t(l.origin_x + x);
      part->east.push_back(all->east[from]);
      part->south.push_back(all->south[from]);
    }
  return std::shared_ptr<const fabric::LinkExtraHops>(std::move(part));
}

}  // namespace

Expected<ModelRun> run(const graph::Graph& g, const Plan& plan, const std::map<std::string, graph::Tensor>& inputs,
                       const std::map<std::string, graph::Tensor>& reference, const sim::Options& options,
                       const LayerObserver& observe) {
  std::map<int, graph::Tensor> held;  // value id -> its values, for activations
  for (int id : g.inputs) {
    const graph::Value& v = g.values[size_t(id)];
    auto it = inputs.find(v.name);
    if (it == inputs.end()) return make_error("no values for the model's input '{}'", v.name);
    if (it->second.shape != v.shape)
      return make_error("input '{}' is {}, the model declares {}", v.name, graph::shape_text(it->second.shape),
                        graph::shape_text(v.shape));
    held[id] = it->second;
  }
  ModelRun out;
  std::vector<uint64_t> cycles, io, relayout;
  for (const Layer& layer : plan.layers) {
    const std::string where = fmt::format("layer '{}' ({})", layer.name, layer.op);
    std::vector<kernels::ElementFn> fns;
    for (const Binding& b : layer.inputs) {
      const graph::Value* v = b.value >= 0 ? &g.values[size_t(b.value)] : nullptr;
      const graph::Tensor* t = nullptr;
      if (v && v->constant) {
        t = &*v->constant;
      } else if (v) {
        if (auto r = plan.relaid.find(b.value); r != plan.relaid.end() && held.count(r->second))
          held[b.value] = graph::Tensor{v->type, v->shape, held[r->second].values};  // the host's reorder
        auto it = held.find(b.value);
        if (it == held.end()) return make_error("{}: '{}' has not been computed", where, v->name);
        t = &it->second;
      }
      fns.push_back(element_fn(t, v, b.image));
    }
    sim::Options layer_options = options;
    auto hops = hops_under(layer, options);
    if (!hops) return hops.status().with_context(where);
    layer_options.link_extra_hops = *hops;
    layer_options.trace.region.x -= layer.origin_x;  // the region is on the fabric
    layer_options.trace.region.y -= layer.origin_y;
    auto sim = sim::Simulator::create(plan.arch, layer.program, layer_options);
    if (!sim) return sim.status().with_context(where);
    sim::Simulator& s = **sim;
    std::vector<kernels::HostCopy> copies = layer.copies(fns);
    // The weights first, then the inputs relaid out through the host, each through the
    // host I/O and counted; the activations already in place are carried uncounted.
    auto written = [&](bool Binding::*as) {
      return [&layer, as](const kernels::HostCopy& c) {
        return std::any_of(layer.inputs.begin(), layer.inputs.end(),
                           [&](const Binding& b) { return b.*as && b.layout.name == c.symbol; });
      };
    };
    const auto is_weight = written(&Binding::weight), is_relayout = written(&Binding::via_host);
    LayerRun lr;
    for (const kernels::HostCopy& c : copies)
      if (is_weight(c)) WAFER_TRY(kernels::write_host_copy(s, c).with_context(where));
    lr.weight_io_cycles = s.io_cycles();
    for (const kernels::HostCopy& c : copies)
      if (is_relayout(c)) WAFER_TRY(kernels::write_host_copy(s, c).with_context(where));
    lr.relayout_io_cycles = s.io_cycles() - lr.weight_io_cycles;
    for (const Binding& b : layer.inputs)
      if (b.via_host) lr.relayout_io_cycles += readout_cycles(g, plan.arch, plan.dtype, b.value);
    for (const kernels::HostCopy& c : copies)
      if (!is_weight(c) && !is_relayout(c)) WAFER_TRY(kernels::write_host_copy(s, c).with_context(where));
    const ir::Rect local{layer.rect.x - layer.origin_x, layer.rect.y - layer.origin_y, layer.rect.w, layer.rect.h};
    WAFER_TRY(s.launch(layer.launch, local).with_context(where));
    auto r = s.run();
    if (observe) WAFER_TRY(observe(out.layers.size(), s).with_context(where));
    if (!r) return r.status().with_context(where);
    lr.cycles = r->cycles;
    const std::vector<uint64_t>& compute = s.stats().compute;
    lr.compute_cycles = compute.empty() ? 0 : std::min(r->cycles, *std::max_element(compute.begin(), compute.end()));
    lr.sim_wall_seconds = r->wall_seconds;
    auto blocks = s.read_symbol(layer.output.layout.name, layer.output.layout.holders());
    if (!blocks) return blocks.status().with_context(where);
    const graph::Value& yv = g.values[size_t(layer.output.value)];
    graph::Tensor result = read_tensor(layer.output, yv, *blocks);
    if (auto ref = reference.find(yv.name); ref != reference.end()) lr.max_rel_error = normwise_error(result, ref->second);
    held[layer.output.value] = std::move(result);
    out.total.cycles += r->cycles;
    out.total.active_pe_cycles += r->active_pe_cycles;
    out.total.wall_seconds += r->wall_seconds;
    out.total.threads = r->threads;
    cycles.push_back(lr.cycles);
    io.push_back(lr.weight_io_cycles);
    relayout.push_back(lr.relayout_io_cycles);
    out.layers.push_back(lr);
  }
  out.cycles = batch_cycles(plan.mode, cycles, io, relayout);
  out.interval = interval_cycles(plan.mode, cycles, io, relayout);
  for (int id : g.outputs) {
    const graph::Value& v = g.values[size_t(id)];
    const int from = resolve(plan, id);
    const graph::Value& src = g.values[size_t(from)];
    const graph::Tensor* t = src.constant ? &*src.constant : nullptr;
    if (auto it = held.find(from); it != held.end()) t = &it->second;
    if (!t) return make_error("output '{}' was not computed", v.name);
    graph::Tensor o = *t;
    o.shape = v.shape;
    o.type = v.type;
    out.outputs[v.name] = std::move(o);
  }
  return out;
}

}  // namespace wafer::compiler
