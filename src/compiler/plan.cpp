// Placement for weight streaming: each step of lower.cpp becomes a layer program on the grid,
// and the grid is the one given or the smallest that every layer fits on.
//
// A layer's program is emitted by its kernel (kernels/gemm_emit.hpp, eltwise.hpp, norms.hpp)
// on the grid's rectangle, with the arch's whole pools (a layer runs alone, so it has every
// color, task id and register), and checked by ir::verify: routes, tasks, registers and the
// SRAM of its symbols against the PE's. The kernels' own errors say when a size does not
// divide over the grid. Activations use one layout (compiler.hpp), so a layer's input is the
// producer's output: the plan checks that the two layouts agree, which is the promise that
// activations stay where they are between layers.
//
// With no grid given, candidates run by PE count (then squarer first), W and H up to the
// fabric's sides and 64, and the first grid where every layer emits and verifies is the
// plan's; the error for none gives the error on one PE (usually SRAM) and on the largest
// grid tried (usually a size that does not divide over it).
//
// The cost model gives each layer an estimate to print beside the simulated cycles, from the
// kernels' loops and the arch's rates: GEMM, the K·nb vector FMAs of mb elements each PE
// issues (lanes or the write port, a quarter of the vector setup, one panel broadcast's
// latency per round);
// element-wise, vmath's measured cycles per element (docs/vmath.md, "Cost") over the block
// plus one setup per op; the row reductions, ~6 cycles per element, the function, a K-tree
// across the row. It is a first-order model: docs/compiler.md compares it with the simulator.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <tuple>

#include <fmt/format.h>

#include "lower.hpp"
#include "wafer/compiler/compiler.hpp"
#include "wafer/ir/builder.hpp"
#include "wafer/ir/verify.hpp"
#include "wafer/kernels/attention.hpp"
#include "wafer/kernels/gather.hpp"
#include "wafer/kernels/gemm_emit.hpp"
#include "wafer/kernels/movement.hpp"

namespace wafer::compiler {

using graph::Graph;
using graph::Value;
using kernels::DistTensor;
using kernels::Emit;
using kernels::Site;

uint64_t streamed_cycles(const std::vector<uint64_t>& compute, const std::vector<uint64_t>& weight_io,
                         const std::vector<uint64_t>& relayout_io) {
  if (compute.empty()) return 0;
  uint64_t total = weight_io[0];
  for (size_t i = 0; i < compute.size(); ++i)
    total += relayout_io[i] + std::max(compute[i], i + 1 < compute.size() ? weight_io[i + 1] : 0);
  return total;
}

uint64_t batch_cycles(Mode m, const std::vector<uint64_t>& compute, const std::vector<uint64_t>& weight_io,
                      const std::vector<uint64_t>& relayout_io) {
  if (m != Mode::pipelined) return streamed_cycles(compute, weight_io, relayout_io);
  uint64_t total = 0;
  for (size_t i = 0; i < compute.size(); ++i) total += compute[i] + relayout_io[i];
  return total;
}

uint64_t interval_cycles(Mode m, const std::vector<uint64_t>& compute, const std::vector<uint64_t>& weight_io,
                         const std::vector<uint64_t>& relayout_io) {
  if (m != Mode::pipelined) return streamed_cycles(compute, weight_io, relayout_io);
  uint64_t slowest = 0;
  for (size_t i = 0; i < compute.size(); ++i) slowest = std::max(slowest, compute[i] + relayout_io[i]);
  return slowest;
}

const char* mode_name(Mode m) {
  return m == Mode::streaming ? "streaming" : m == Mode::pipelined ? "pipelined" : "auto";
}

std::string describe(const Binding& b) { return b.layout.describe() + (b.image ? " (an image, channels-last)" : ""); }

bool same_layout(const Binding& x, const Binding& y) {
  const DistTensor &a = x.layout, &b = y.layout;
  return x.image == y.image && a.dtype == b.dtype && a.rows == b.rows && a.cols == b.cols && a.rect.x == b.rect.x &&
         a.rect.y == b.rect.y && a.rect.w == b.rect.w && a.rect.h == b.rect.h && a.rows_over_y == b.rows_over_y &&
         a.cols_over_x == b.cols_over_x && a.col_major == b.col_major;
}

LayerCopies block_copies(const std::vector<Binding>& bindings, std::vector<kernels::HostCopy> tables) {
  return [bindings, tables = std::move(tables)](const std::vector<kernels::ElementFn>& f) {
    std::vector<kernels::HostCopy> copies;
    for (size_t i = 0; i < bindings.size(); ++i) {
      const DistTensor t = bindings[i].layout;
      const kernels::ElementFn fn = f[i];
      copies.push_back({t.name, t.rect, {}, [t, fn](int px, int py) { return kernels::block_values(t, px, py, fn); }});
    }
    copies.insert(copies.end(), tables.begin(), tables.end());
    return copies;
  };
}

uint64_t host_io_cycles(const arch::Arch& a, double bytes) { return uint64_t(std::ceil(bytes / a.host_bytes_per_cycle())); }

double write_port_elements(const arch::Arch& a, DType t) {
  return a.mem_write_ports * a.mem_port_bits / 8.0 / dtype_bytes(t);
}

namespace {

int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

}  // namespace

int64_t padded_columns(int64_t cols, const ir::Rect& r) { return round_up(cols, std::lcm(r.w, r.h)); }

namespace {

// Cycles per element of an element-wise op computing in fp32 (vmath's table, docs/vmath.md)
// and the vector ops it issues; 16-bit types add 0.77 cycles for the two conversions, and
// one-op kernels run at the port rate (2 fp32 or 4 16-bit elements a cycle).
struct EltwiseCost {
  double per_element;
  int ops;
};

EltwiseCost eltwise_cost(kernels::EltwiseOp op, DType t) {
  using kernels::EltwiseOp;
  const bool narrow = dtype_bytes(t) == 2;
  switch (op) {
    case EltwiseOp::add: case EltwiseOp::sub: case EltwiseOp::mul: case EltwiseOp::max: case EltwiseOp::min:
    case EltwiseOp::relu: case EltwiseOp::neg:
      return {narrow ? 0.26 : 0.51, 1};
    case EltwiseOp::div: case EltwiseOp::reciprocal: return {narrow ? 4.01 : 8.01, 1};
    case EltwiseOp::exp: return {10.60, 12};
    case EltwiseOp::sqrt: return {23.77, 26};
    case EltwiseOp::rsqrt: return {18.73, 22};
    case EltwiseOp::tanh: return {34.76, 30};
    case EltwiseOp::erf: return {48.55, 48};
    case EltwiseOp::sigmoid: return {22.66, 20};
    case EltwiseOp::gelu: return {52.71, 54};
    case EltwiseOp::gelu_tanh: return {25.72, 25};
    case EltwiseOp::silu: return {23.68, 22};
    case EltwiseOp::log: return {30.28, 27};
    case EltwiseOp::count_: break;
  }
  return {0, 0};
}

// The attention layer on one PE: per query row (sq per PE, hp heads) the d score FMAs of S
// keys (fp32 accumulation), two scalar passes over the S scores, exp (vmath's cycles per
// element and a setup per op), and on average S/2 strided FMAs of d elements (one a cycle)
// for P·V (all S without the causal mask), each op with its setup; before it, three slices
// (GPT-2) or two RoPEs (Llama: 5 ops per head over a block) moving about a block each, and
// the two relayouts that gather K and V to the first PE row and multicast them down the
// columns.
uint64_t estimate_attention(const arch::Arch& a, const Step& s, int64_t sq, int64_t cols, int w, int h, DType t) {
  const double setup = a.vector_setup_cycles, S = double(sq) * h, hp = double(s.heads / w), d = double(cols) / hp;
  const double lanes = std::max(1.0, kernels::fma_lanes(a, t, DType::f32));
  const EltwiseCost exp = eltwise_cost(kernels::EltwiseOp::exp, t);
  // The score ops' two setups, the passes' ~7.8 cycles an element and the strided P·V ops'
  // 1.375 cycles an element are fitted on the kernel alone (`wafer kernel attention --grid 4x1
  // --m S --n 4 --k d`, S and d of 16 and 32: within 4%).
  const double row = d * (std::ceil(S / lanes) + 2 * setup) + 2 * 7.8 * S + S * exp.per_element +
                     exp.ops * setup + (s.causal ? S / 2 : S) * (1.375 * d + setup) + 4 * setup;
  const double block = double(sq * cols);
  const double prologue = s.k < 0 ? 3 * block : (s.rope_cos >= 0 ? 2 * 5 * (block / 2 + hp * setup) : 0);
  // K and V (kv_cols per PE) replicated down the PE columns: the h - 1 blocks below row 0
  // gathered to it one after another, a vector op per block column (a setup and ~25 cycles of
  // the table's work, docs/kernels.md "Data movement") and its elements, then the S-row
  // multicast (on one PE row, a local copy).
  const double kv_cols = double(cols) * double(s.kv_heads) / double(s.heads);
  const double gather = double(h - 1) * kv_cols * (setup + 25 + double(sq));
  const double moves = prologue + 2 * (gather + S * kv_cols + double(w + h) * a.hop_latency);
  return uint64_t(double(sq) * hp * row + moves);
}

uint64_t estimate_layer(const arch::Arch& a, const Step& s, int64_t mb, int64_t nb, int64_t K, int w, int h,
                        DType t) {
  const double setup = a.vector_setup_cycles;
  if (s.kind == StepKind::gemm) {
    // K steps of the block product (in columns or rows, whichever the kernel's cost model
    // takes) and the panel broadcasts' latency and setups each round.
    const int rounds = std::lcm(w, h);
    const double fmas = double(K) * kernels::block_product_cost(a, mb, nb, t, t, true).cycles_per_k;
    const double broadcast = double(rounds) * (double(w + h) * a.hop_latency + 2 * setup);
    return uint64_t(fmas + broadcast);
  }
  const double elems = double(mb * nb);
  if (s.kind == StepKind::attention) return estimate_attention(a, s, mb, nb, w, h, t);
  if (s.kind == StepKind::eltwise) {
    EltwiseCost c = eltwise_cost(s.op, t);
    if (c.ops > 1 && dtype_bytes(t) == 2) c.per_element += 0.77;  // the two conversions
    return uint64_t(elems * c.per_element + double(c.ops) * setup);
  }
  // About 6 cycles per element for the passes (conversion, reductions, apply), the function
  // per element (softmax's exp) or per row (the norms' rsqrt), a setup per block column, and
  // the K-tree across the PE row there and back.
  const bool softmax = s.norm == kernels::NormKind::softmax;
  const double function = softmax ? elems * eltwise_cost(kernels::EltwiseOp::exp, t).per_element
                                  : double(mb) * eltwise_cost(kernels::EltwiseOp::rsqrt, t).per_element;
  const double tree = 2 * std::ceil(std::log2(std::max(2, w))) * (a.hop_latency + double(mb) + setup);
  return uint64_t(6 * elems + function + double(nb) * setup + tree);
}

// Gives `layer` what its parts emitted, one part per band of its PE rows (a batch of
// sequences in attention; one part is the whole layer). An activation the parts read or
// write, each its band's rows, is bound over the whole rectangle: band b's rows are rows
// b·R..(b+1)·R of the value. Every band's weights are bound (each band holds its own copy)
// and every band's host copies made, each part's activations seen from its first row.
void join_bands(Layer& layer, std::vector<Layer>& parts) {
  Layer& first = parts[0];
  layer.kernel = first.kernel;
  layer.estimated_cycles = first.estimated_cycles;
  layer.flops = first.flops;
  layer.relayout_io_cycles = first.relayout_io_cycles;
  layer.inputs = first.inputs;
  layer.output = first.output;
  layer.copies = first.copies;
  const int bands = int(parts.size());
  if (bands == 1) return;
  layer.kernel += fmt::format(", {} sequences on a band of PE rows each", bands);
  auto widen = [&](Binding& b) {
    b.layout.rows *= bands;
    b.layout.rect = layer.rect;
  };
  widen(layer.output);
  // Where part b's input j comes from: the joined input and the rows before its band's.
  struct Source {
    size_t input;
    int64_t rows_before;
  };
  std::vector<std::vector<Source>> sources(parts.size());
  for (int b = 0; b < bands; ++b)
    for (size_t j = 0; j < parts[size_t(b)].inputs.size(); ++j) {
      const Binding& in = parts[size_t(b)].inputs[j];
      if (!in.weight) {
        sources[size_t(b)].push_back({j, b * in.layout.rows});
        if (b == 0) widen(layer.inputs[j]);
        continue;
      }
      if (b > 0) layer.inputs.push_back(in);
      sources[size_t(b)].push_back({b == 0 ? j : layer.inputs.size() - 1, 0});
    }
  std::vector<LayerCopies> copies;
  for (const Layer& p : parts) copies.push_back(p.copies);
  layer.copies = [copies, sources](const std::vector<kernels::ElementFn>& f) {
    std::vector<kernels::HostCopy> all;
    for (size_t b = 0; b < copies.size(); ++b) {
      std::vector<kernels::ElementFn> own;
      for (const Source& src : sources[b])
        own.push_back([fn = f[src.input], shift = src.rows_before](int64_t row, int64_t col) { return fn(row + shift, col); });
      std::vector<kernels::HostCopy> band = copies[b](own);
      all.insert(all.end(), std::make_move_iterator(band.begin()), std::make_move_iterator(band.end()));
    }
    return all;
  };
}

class Placer {
 public:
  Placer(const Graph& g, const Lowered& l, const arch::Arch& a, DType t) : g_(g), l_(l), arch_(a), t_(t) {}

  // Layer i on PEs (0, 0)..(w-1, h-1), its inputs that reorder an image, or that a gather
  // left on its first PE row, read through the host; the error names the layer.
  Expected<Layer> layer(size_t i, int w, int h) const {
    auto layer = emit(l_.steps[i], int(i), {0, 0, w, h});
    if (!layer) return layer.status().with_context(label(l_.steps[i]));
    for (Binding& in : layer->inputs) {
      auto r = l_.relaid.find(in.value);
      if ((r != l_.relaid.end() && !g_.is_input(r->second)) || gathered(in.value)) {
        in.via_host = true;
        layer->relayout_io_cycles += 2 * readout_cycles(g_, arch_, t_, in.value);  // out and back in
      }
    }
    return layer;
  }

  // Streaming: every layer on W x H; the first layer's error otherwise.
  Expected<std::vector<Layer>> place(int w, int h) const {
    std::vector<Layer> layers;
    std::map<int, Binding> produced;  // value id -> where a layer left it
    for (size_t i = 0; i < l_.steps.size(); ++i) {
      auto layer = this->layer(i, w, h);
      if (!layer) return layer.status();
      for (const Binding& in : layer->inputs) {
        auto p = produced.find(in.value);
        if (in.weight || in.via_host || p == produced.end()) continue;
        if (!same_layout(p->second, in))
          return make_error("{}: reads {} but its producer left {}", label(l_.steps[i]), describe(in),
                            describe(p->second));
      }
      produced[layer->output.value] = layer->output;
      layers.push_back(std::move(*layer));
    }
    return layers;
  }

  LayerContext context() const { return {g_, arch_, t_}; }
  size_t steps() const { return l_.steps.size(); }
  // Whether step i reduces each row across the PE columns (a norm), so that another width
  // would sum in another order.
  bool reduces_across_columns(size_t i) const { return l_.steps[i].kind == StepKind::norm; }

 private:
  const Graph& g_;
  const Lowered& l_;
  const arch::Arch& arch_;
  DType t_;

  std::string label(const Step& s) const {
    const graph::Node& n = g_.nodes[size_t(s.node)];
    return fmt::format("layer '{}' ({})", n.name, n.op);
  }
  const Value& value(int id) const { return g_.values[size_t(id)]; }

  bool image(int id) const { return l_.images.count(id) > 0; }
  bool gathered(int id) const {
    return std::any_of(l_.steps.begin(), l_.steps.end(),
                       [id](const Step& s) { return s.kind == StepKind::gather && s.out == id; });
  }

  // The activation layout: the value's rows split over the PE rows, its columns over the PE
  // columns. Sizes the grid does not divide are padded at the end (docs/compiler.md,
  // "Padding"): the rows to a multiple of the height (a batch of one on several PE rows), the
  // columns to a multiple of lcm(W, H), which SUMMA's K panels need too. The host writes the
  // padding as zeros and never reads it back. Rows never mix; padded columns meet real ones
  // in a GEMM, whose weights are zero there, and in the row reductions, which are told the
  // real length and mask the padding (kernels/norms.hpp); attention, which would mix them,
  // and division, which would make them infinite, refuse them. An image's channels are
  // padded so, its pixels never (they lie in a band per image, which the window kernels
  // check).
  DistTensor activation(int id, const std::string& symbol, const ir::Rect& rect) const {
    const int64_t rows = rows_of(value(id), image(id)), cols = padded_columns(cols_of(value(id), image(id)), rect);
    return DistTensor{symbol, t_, image(id) ? rows : round_up(rows, rect.h), cols, rect};
  }
  // An error when `t` pads value `id`'s columns, which `what` needs whole.
  Status unpadded_columns(int id, const DistTensor& t, const char* what) const {
    if (t.cols == cols_of(value(id), image(id))) return Status::ok();
    return make_error("{} needs all {} columns of a row, and on {} PE columns they are padded to {}", what,
                      cols_of(value(id), image(id)), t.rect.w, t.cols);
  }
  // An activation a layer reads or writes in the activation layout, in its value's view.
  Binding bind(int id, const DistTensor& t) const { return Binding{id, t, false, image(id)}; }

  Expected<Layer> emit(const Step& s, int index, const ir::Rect& rect) const {
    const graph::Node& n = g_.nodes[size_t(s.node)];
    Layer layer;
    layer.name = n.name;
    layer.op = n.op;
    layer.rect = rect;
    layer.program.width = rect.w;
    layer.program.height = rect.h;
    // Attention over a batch of sequences: one emission per sequence, on its band of PE rows.
    const int bands = s.kind == StepKind::attention ? int(s.batch) : 1;
    if (rect.h % bands != 0)
      return make_error("the batch of {} sequences takes a band of PE rows each, and the height {} is not a multiple of {}",
                        bands, rect.h, bands);
    const bool image_layer = s.kind == StepKind::window || s.kind == StepKind::batchnorm;
    std::vector<Layer> parts;
    for (int b = 0; b < bands; ++b) {
      Layer part;
      part.rect = ir::Rect{rect.x, rect.y + b * (rect.h / bands), rect.w, rect.h / bands};
      kernels::Pools pools = kernels::Pools::for_arch(arch_);
      ir::CodeBuilder code(bands == 1 ? fmt::format("layer{}", index) : fmt::format("layer{}_seq{}", index, b));
      Emit e{code, layer.program, pools, arch_, "k"};
      Status st = s.kind == StepKind::gemm        ? emit_gemm(e, s, part)
                  : s.kind == StepKind::eltwise    ? emit_eltwise(e, s, part)
                  : s.kind == StepKind::attention ? emit_attention_layer(e, s, part)
                  : image_layer                    ? emit_image_layer(e, LayerContext{g_, arch_, t_}, s, part)
                  : s.kind == StepKind::gather    ? emit_gather_layer(e, s, part)
                                                   : emit_norm(e, s, part);
      WAFER_TRY(st);
      layer.launch = e.name("entry");
      layer.program.codes.push_back(code.finish());
      layer.program.placements.push_back(ir::Placement{part.rect, b, {}});
      layer.colors = pools.colors.in_use();
      layer.tasks = pools.tasks.in_use();
      parts.push_back(std::move(part));
    }
    join_bands(layer, parts);
    WAFER_TRY(ir::verify(layer.program, arch_));
    layer.sram_bytes_per_pe = ir::layout_code(layer.program.codes[0]).bytes;
    for (const Binding& b : layer.inputs)
      if (b.weight && b.value >= 0) layer.weight_bytes += graph::element_count(value(b.value).shape) * dtype_bytes(t_);
    layer.weight_io_cycles = host_io_cycles(arch_, double(layer.weight_bytes));
    if (image_layer || s.kind == StepKind::gather) return layer;  // its estimate and flops come with it
    const DistTensor& y = layer.output.layout;
    const int64_t K = s.kind == StepKind::gemm ? cols_of(value(s.a), image(s.a)) : 0;
    layer.estimated_cycles = estimate_layer(arch_, s, y.block_rows(), y.block_cols(), K, rect.w, rect.h / bands, t_);
    if (s.kind == StepKind::gemm)
      layer.flops = 2.0 * double(rows_of(value(s.out))) * double(cols_of(value(s.out))) * double(cols_of(value(s.a)));
    if (s.kind == StepKind::attention) {  // causal: query i takes i + 1 keys, else all S; QKᵀ and PV
      const double S = double(y.rows / bands);
      layer.flops = double(bands) * 2.0 * 2.0 * double(y.cols) * S * (s.causal ? (S + 1) / 2 : S);
    }
    return layer;
  }

  // The attention layer (lower_attention.cpp), one program of kernels chained by their entry
  // and done tasks: Q, K and V sliced from the QKV matrix's columns (GPT-2) or read as three
  // activations (Llama); RoPE on Q and K when the model rotates them; K and V replicated down
  // the columns of PEs (a gather and a multicast); the attention kernel.
  Status emit_attention_layer(Emit& e, const Step& s, Layer& layer) const {
    const ir::Rect& r = layer.rect;  // one sequence's band
    const bool split = s.k < 0, rope = s.rope_cos >= 0;
    const int64_t D = cols_of(value(s.out));
    auto sequence = [&](int id, const std::string& symbol) {  // never padded
      return DistTensor{symbol, t_, rows_of(value(id)) / s.batch, cols_of(value(id)), r};
    };
    const int kernels = (split ? 3 : 0) + (rope ? 2 : 0) + 3;
    auto links = e.pools.tasks.take(kernels - 1, e.name("attention"));
    if (!links) return links.status();
    int step = 0;
    auto site = [&] {
      const Site at{r, step == 0 ? -1 : (*links)[size_t(step - 1)], step < kernels - 1 ? (*links)[size_t(step)] : -1};
      ++step;
      return at;
    };
    auto scoped = [&](const std::string& part) {
      return Emit{e.code, e.program, e.pools, e.arch, step == 0 ? e.scope : e.name(part)};
    };
    std::vector<kernels::HostCopy> tables;
    auto keep = [&](const kernels::MoveEmitted& m) {
      tables.insert(tables.end(), m.tables.begin(), m.tables.end());
      m.held.release(e.pools);
    };
    struct Operand {
      DistTensor t;
      int symbol;
    };
    Operand q, k, v;
    if (split) {
      const DistTensor qkv = sequence(s.a, "qkv");
      layer.inputs = {Binding{s.a, qkv, false}};
      const int qkv_symbol = e.code.symbol(qkv.name, t_, uint32_t(qkv.block_elements()));
      Operand* parts[] = {&q, &k, &v};
      const char* names[] = {"q", "k", "v"};
      for (int i = 0; i < 3; ++i) {
        Emit pe = scoped(names[i]);
        // On a width that 3 divides each third lies on a third of the PE columns; the kernel
        // needs it on all of them.
        auto m = kernels::emit_slice(pe, site(), kernels::SliceSpec{qkv, qkv_symbol, kernels::MoveAxis::cols, i * D, D,
                                                                    names[i], true});
        if (!m) return m.status();
        keep(*m);
        *parts[i] = Operand{m->y, m->y_symbol};
      }
    } else {
      auto declare = [&](int id, const char* name) {
        const DistTensor t = sequence(id, name);
        layer.inputs.push_back(Binding{id, t, false});
        return Operand{t, e.code.symbol(t.name, t_, uint32_t(t.block_elements()))};
      };
      q = declare(s.a, "q");
      k = declare(s.k, "k");
      v = declare(s.v, "v");
    }
    if (rope) {
      for (Operand* x : {&q, &k}) {
        Emit pe = scoped(x == &q ? "q_rope" : "k_rope");
        auto m = kernels::emit_rope(pe, site(), kernels::RopeSpec{x->t, x->symbol, x == &q ? s.heads : s.kv_heads, "rotated"});
        if (!m) return m.status();
        m->held.release(e.pools);
        layer.inputs.push_back(Binding{s.rope_cos, m->cos, true});
        layer.inputs.push_back(Binding{s.rope_sin, m->sin, true});
        *x = Operand{m->y, m->y_symbol};
      }
    }
    for (Operand* x : {&k, &v}) {
      Emit pe = scoped(x == &k ? "k_all" : "v_all");
      kernels::RelayoutSpec spec{x->t, x->symbol, kernels::Spread::replicate, kernels::Spread::split};
      spec.y = "all";
      auto m = kernels::emit_relayout(pe, site(), spec);
      if (!m) return m.status();
      keep(*m);
      *x = Operand{m->y, m->y_symbol};
    }
    Emit pe = scoped("attn");
    kernels::AttentionSpec spec{q.t, k.t, v.t, q.symbol, k.symbol, v.symbol, s.heads, s.kv_heads, s.causal};
    auto em = kernels::emit_attention(pe, site(), spec);
    if (!em) return em.status();
    em->held.release(e.pools);
    const char* mask = s.causal ? "" : ", no mask";
    layer.kernel = split ? fmt::format("attention {}x{} heads{} (3 slices, 2 relayouts)", s.heads, D / s.heads, mask)
                         : fmt::format("attention {}x{} heads, {} kv{} ({}2 relayouts)", s.heads, D / s.heads,
                                       s.kv_heads, mask, rope ? "2 ropes, " : "");
    layer.output = Binding{s.out, em->y, false};
    layer.copies = block_copies(layer.inputs, tables);
    return Status::ok();
  }

  // The gather kernel (kernels/gather.hpp): the table's rows split over the PE rows, its
  // columns over the PE columns, the ids on every PE. Estimate: about 11 scalar instructions
  // a token, then the column sum's H steps (two vector setups and a hop each) and its T x Db
  // elements.
  Status emit_gather_layer(Emit& e, const Step& s, Layer& layer) const {
    const Value &table = value(s.b), &ids = value(s.a);
    const int64_t T = graph::element_count(ids.shape), D = table.shape[1];
    const kernels::GatherSpec spec{t_, table.shape[0], D, T};
    auto em = kernels::emit_gather(e, Site{layer.rect, -1, -1}, spec);
    if (!em) return em.status();
    layer.kernel = "gather (embedding lookup)";
    layer.inputs = {Binding{s.a, em->ids, false}, Binding{s.b, em->table, true}};
    layer.output = Binding{s.out, em->out, false};
    layer.copies = [inputs = layer.inputs, cols = cols_of(ids)](const std::vector<kernels::ElementFn>& f) {
      // Token t is element t of the ids in their row-major order.
      const kernels::ElementFn id = [f0 = f[0], cols](int64_t t, int64_t) { return f0(t / cols, t % cols); };
      return block_copies(inputs)({id, f[1]});
    };
    const double db = double(D) / layer.rect.w;
    layer.estimated_cycles = uint64_t(11.0 * double(T) + double(layer.rect.h) * (2 * arch_.vector_setup_cycles +
                                                                                  arch_.hop_latency) +
                                      double(T) * db);
    return Status::ok();
  }

  Status emit_gemm(Emit& e, const Step& s, Layer& layer) const {
    const ir::Rect& r = layer.rect;
    const DistTensor a = activation(s.a, e.name("A"), r), c = activation(s.out, e.name("C"), r);
    const int64_t K = a.cols, N = c.cols;  // padded: the weights are zero there
    const kernels::GemmShape shape{r.w, r.h, a.rows, N, K, t_, t_, -1, s.b_transposed};
    auto em = kernels::emit_summa_gemm(e, Site{r, -1, -1}, shape);
    if (!em) return em.status();
    layer.kernel = fmt::format("{} summa{}", s.b_transposed ? "gemm-bt" : "gemm", s.bias >= 0 ? " + bias" : "");
    layer.inputs = {bind(s.a, a),
                    Binding{s.b, DistTensor{e.name("B"), t_, K, N, r}, true}};
    if (s.bias >= 0) layer.inputs.push_back(Binding{s.bias, DistTensor{e.name("bias"), t_, 1, N, r}, true});
    layer.output = bind(s.out, c);
    layer.copies = [inputs = em->inputs](const std::vector<kernels::ElementFn>& f) {
      return inputs(f[0], f[1], f.size() > 2 ? f[2] : kernels::ElementFn([](int64_t, int64_t) { return 0.0; }));
    };
    return Status::ok();
  }

  Status emit_eltwise(Emit& e, const Step& s, Layer& layer) const {
    kernels::EltwiseSpec spec;
    spec.op = s.op;
    spec.a = activation(s.a, "a", layer.rect);
    spec.y = "y";
    layer.inputs = {bind(s.a, spec.a)};
    const bool binary = kernels::eltwise_is_binary(s.op);
    if (s.op == kernels::EltwiseOp::reciprocal || (s.op == kernels::EltwiseOp::div && s.form != kernels::Broadcast::scalar))
      WAFER_TRY(unpadded_columns(s.a, spec.a, "a division (its padding would be infinite)"));
    if (binary) {
      spec.b = kernels::broadcast_operand(spec.a, s.form, "b", t_);
      const bool constant = value(s.b).constant.has_value();
      // A whole-image constant is seen channels-last as its activation is.
      layer.inputs.push_back(Binding{s.b, spec.b, constant, constant ? image(s.a) && s.form == kernels::Broadcast::full
                                                                      : image(s.b)});
    }
    auto em = kernels::emit_eltwise(e, Site{layer.rect, -1, -1}, spec);
    if (!em) return em.status();
    layer.kernel = binary ? fmt::format("{} bcast={}", kernels::eltwise_name(s.op), kernels::broadcast_name(s.form))
                          : kernels::eltwise_name(s.op);
    layer.output = bind(s.out, em->y);
    layer.copies = block_copies(layer.inputs);
    return Status::ok();
  }

  Status emit_norm(Emit& e, const Step& s, Layer& layer) const {
    kernels::NormSpec spec;
    spec.kind = s.norm;
    spec.x = activation(s.a, "x", layer.rect);
    spec.y = "y";
    spec.eps = s.eps;
    spec.length = cols_of(value(s.a), image(s.a));  // the padding past it is masked
    auto em = kernels::emit_norm(e, Site{layer.rect, -1, -1}, spec);
    if (!em) return em.status();
    layer.kernel = kernels::norm_name(s.norm);
    layer.inputs = {bind(s.a, spec.x)};
    if (!em->gamma.name.empty()) layer.inputs.push_back(Binding{s.gamma, em->gamma, true});
    if (!em->beta.name.empty()) layer.inputs.push_back(Binding{s.beta, em->beta, true});  // -1: zeros
    layer.output = bind(s.out, em->y);
    layer.copies = block_copies(layer.inputs, em->tables);
    return Status::ok();
  }
};

// Grids by PE count, squarer first.
std::vector<std::pair<int, int>> candidate_grids(const arch::Arch& a) {
  std::vector<std::pair<int, int>> grids;
  for (int h = 1; h <= std::min(64, a.fabric_height); ++h)
    for (int w = 1; w <= std::min(64, a.fabric_width); ++w) grids.emplace_back(w, h);
  std::stable_sort(grids.begin(), grids.end(), [](const auto& x, const auto& y) {
    const int64_t ax = int64_t(x.first) * x.second, ay = int64_t(y.first) * y.second;
    if (ax != ay) return ax < ay;
    return std::abs(x.first - x.second) < std::abs(y.first - y.second);
  });
  return grids;
}

struct GridChoice {
  int w = 0, h = 0;
  std::vector<Layer> layers;
};

// The first candidate grid every layer fits on; the error gives the reasons on one PE and on
// the largest grid tried.
Expected<GridChoice> smallest_grid(const Placer& placer, const arch::Arch& arch) {
  Status first = Status::ok(), last = Status::ok();
  for (const auto& [w, h] : candidate_grids(arch)) {
    auto layers = placer.place(w, h);
    if (layers) return GridChoice{w, h, std::move(*layers)};
    last = layers.status();
    if (w * h == 1) first = last;
  }
  const auto [w, h] = candidate_grids(arch).back();
  return make_error("no grid up to {}x{} PEs holds every layer: on one PE, {}; on {}x{} PEs, {}", w, h, first.message(),
                    w, h, last.message());
}

// The estimated cycles of a batch and between batches.
struct Timing {
  uint64_t batch = 0, interval = 0;
};

Timing timing_of(Mode m, const std::vector<Layer>& layers) {
  std::vector<uint64_t> compute, io, relayout;
  for (const Layer& l : layers) {
    compute.push_back(l.estimated_cycles);
    io.push_back(l.weight_io_cycles);
    relayout.push_back(l.relayout_io_cycles);
  }
  return {batch_cycles(m, compute, io, relayout), interval_cycles(m, compute, io, relayout)};
}

// The streaming placement on the grid given (with the grid that would fit in the error) or
// on the smallest that fits.
Expected<GridChoice> place_streaming(const Placer& placer, const arch::Arch& arch, const CompileOptions& o) {
  if (o.grid_w == 0) return smallest_grid(placer, arch);
  if (o.grid_w > arch.fabric_width || o.grid_h > arch.fabric_height)
    return make_error("a {}x{} grid does not fit the {} fabric of {}x{} PEs", o.grid_w, o.grid_h, arch.name,
                      arch.fabric_width, arch.fabric_height);
  auto layers = placer.place(o.grid_w, o.grid_h);
  if (layers) return GridChoice{o.grid_w, o.grid_h, std::move(*layers)};
  auto found = smallest_grid(placer, arch);
  const std::string hint = found ? fmt::format("; {}x{} PEs hold every layer (the smallest grid; omit the grid to "
                                               "take it)", found->w, found->h)
                                 : "; " + found.message();
  return make_error("on {}x{} PEs: {}{}", o.grid_w, o.grid_h, layers.message(), hint);
}

uint64_t stage_cycles(const Layer& l) { return l.estimated_cycles + l.relayout_io_cycles; }

// The pipelined layers with rectangles sized by their share of the work. From every layer on
// the base size, the layer of the slowest stage gets twice the PEs, twice its width or its
// height, whichever it is estimated faster on (a norm only its height: its rows' sums then
// keep their order, so the outputs stay streaming's), as long as that stage gets faster, the
// layers still fit the fabric and the estimated interval does not grow; each layer up to
// 4 x 4 times the base, at most kGrowths times. A move as the slowest stage ends it (a larger
// rectangle would only add reshards). Each layer is emitted once per size it is tried on: a
// growth re-places every layer, most of them on the size they had.
GridChoice balance(const Placer& placer, GridChoice base) {
  constexpr int kGrowths = 16, kMostTimes = 4;
  std::map<std::tuple<size_t, int, int>, Layer> made;
  const EmitLayer emit = [&](size_t i, int w, int h) -> Expected<Layer> {
    const auto key = std::make_tuple(i, w, h);
    if (auto it = made.find(key); it != made.end()) return it->second;
    auto l = placer.layer(i, w, h);
    if (l) made.emplace(key, *l);
    return l;
  };
  std::vector<GridSize> sizes(placer.steps(), GridSize{base.w, base.h});
  std::vector<Layer> layers = base.layers;
  uint64_t interval = timing_of(Mode::pipelined, layers).interval;
  for (int round = 0; round < kGrowths; ++round) {
    const Layer* slowest = nullptr;
    size_t step = 0, slowest_step = 0;
    for (const Layer& l : layers) {
      if (!slowest || stage_cycles(l) > stage_cycles(*slowest)) {
        slowest = &l;
        slowest_step = step;
      }
      if (l.op != "move") ++step;
    }
    if (!slowest || slowest->op == "move") break;
    const auto [w, h] = sizes[slowest_step];
    std::optional<GridSize> grown;
    uint64_t fastest = stage_cycles(*slowest);
    for (const GridSize& g : {GridSize{2 * w, h}, GridSize{w, 2 * h}}) {
      if (g.first > kMostTimes * base.w || g.second > kMostTimes * base.h) continue;
      if (g.first != w && placer.reduces_across_columns(slowest_step)) continue;
      auto l = emit(slowest_step, g.first, g.second);
      if (l && stage_cycles(*l) < fastest) {
        fastest = stage_cycles(*l);
        grown = g;
      }
    }
    if (!grown) break;
    std::vector<GridSize> next = sizes;
    next[slowest_step] = *grown;
    auto placed = compiler::place_pipelined(placer.context(), next, emit);
    if (!placed) break;
    const uint64_t t = timing_of(Mode::pipelined, *placed).interval;
    if (t > interval) break;
    sizes = std::move(next);
    layers = std::move(*placed);
    interval = t;
  }
  base.layers = std::move(layers);
  return base;
}

// The pipelined placement from the grid given, or from the first of the next candidate grids
// from the streaming one on on which every layer fits (the moves need room beside the layers,
// so it may take a larger one; a bounded number, each try emitting every layer); then the
// rectangles sized by the layers' work (balance).
Expected<GridChoice> place_pipelined(const Placer& placer, const arch::Arch& arch, const CompileOptions& o, int w,
                                     int h) {
  constexpr int kTries = 32;
  auto uniform = [&](int gw, int gh) {
    return compiler::place_pipelined(placer.context(), std::vector<GridSize>(placer.steps(), {gw, gh}),
                                     [&](size_t i, int lw, int lh) { return placer.layer(i, lw, lh); });
  };
  if (o.grid_w > 0) {
    auto layers = uniform(w, h);
    if (!layers) return layers.status().with_context(fmt::format("pipelined on {}x{} PEs a layer", w, h));
    return balance(placer, GridChoice{w, h, std::move(*layers)});
  }
  const std::vector<std::pair<int, int>> grids = candidate_grids(arch);
  const auto from = std::find(grids.begin(), grids.end(), std::pair<int, int>{w, h});
  const auto to = grids.end() - from > kTries ? from + kTries : grids.end();
  Status first = Status::ok();
  for (auto g = from; g != to; ++g) {
    auto layers = uniform(g->first, g->second);
    if (layers) return balance(placer, GridChoice{g->first, g->second, std::move(*layers)});
    if (g == from) first = layers.status();
  }
  return first.with_context(
      fmt::format("pipelined on {}x{} PEs a layer (and on the next {} grids)", w, h, kTries - 1));
}

// --mode pipelined, or auto: the pipelined placement when it fits and (auto) is estimated at
// no more cycles between batches than the streaming plan already in `plan`; why, in
// plan.mode_reason.
Status choose_pipelined(const Placer& placer, const arch::Arch& arch, const CompileOptions& o, Plan& plan) {
  auto pipelined = place_pipelined(placer, arch, o, plan.grid_w, plan.grid_h);
  if (!pipelined && o.mode == Mode::pipelined)
    return make_error("{}; --mode streaming runs it on {}x{} PEs", pipelined.message(), plan.grid_w, plan.grid_h);
  if (!pipelined) {
    plan.mode_reason = "pipelined does not fit: " + pipelined.message();
    return Status::ok();
  }
  const uint64_t piped = timing_of(Mode::pipelined, pipelined->layers).interval;
  const uint64_t streamed = timing_of(Mode::streaming, plan.layers).interval;
  const std::string fits = fmt::format("every layer fits the fabric on a rectangle of its own, from {}x{} PEs up by its "
                                       "share of the work, with its weights resident; an estimated {} cycles between "
                                       "batches against streaming's {}", pipelined->w, pipelined->h, piped, streamed);
  if (o.mode == Mode::automatic && piped > streamed) {
    plan.mode_reason = "streaming is faster: " + fits;
    return Status::ok();
  }
  plan.mode_reason = fits;
  plan.mode = Mode::pipelined;
  plan.grid_w = pipelined->w;
  plan.grid_h = pipelined->h;
  plan.layers = std::move(pipelined->layers);
  return Status::ok();
}

// When the model fits no grid in o.dtype's 4-byte elements: where it fits in fp16's 2 bytes
// (on the grid given, else the smallest), as the end of the error; "" when a grid fits in
// o.dtype (the error names it) or none in fp16 either.
std::string narrower_dtype_hint(const Placer& placer, const Graph& g, const Lowered& lowered, const arch::Arch& arch,
                                const CompileOptions& o) {
  if (dtype_bytes(o.dtype) <= 2 || (o.grid_w != 0 && smallest_grid(placer, arch))) return "";
  const Placer half(g, lowered, arch, DType::f16);
  auto fit = place_streaming(half, arch, o);
  if (!fit && o.grid_w != 0) fit = smallest_grid(half, arch);
  if (!fit) return "";
  return fmt::format("; at fp16 (--dtype fp16), {}x{} PEs hold every layer", fit->w, fit->h);
}

}  // namespace

Expected<Plan> compile(const Graph& g, const arch::Arch& arch, const CompileOptions& o) {
  if (!dtype_is_float(o.dtype)) return make_error("the compiler computes in fp32, fp16 or bf16, not {}", dtype_name(o.dtype));
  auto lowered = lower(g);
  if (!lowered) return lowered.status();
  if (lowered->steps.empty()) return make_error("graph '{}' has no node to run on the wafer", g.name);
  const Placer placer(g, *lowered, arch, o.dtype);
  Plan plan;
  plan.arch = arch;
  plan.dtype = o.dtype;
  plan.alias = lowered->alias;
  plan.relaid = lowered->relaid;
  plan.views = lowered->views;
  auto streaming = place_streaming(placer, arch, o);
  if (!streaming) return make_error("{}{}", streaming.message(), narrower_dtype_hint(placer, g, *lowered, arch, o));
  plan.mode = Mode::streaming;
  plan.grid_w = streaming->w;
  plan.grid_h = streaming->h;
  plan.layers = std::move(streaming->layers);
  if (o.mode != Mode::streaming) WAFER_TRY(choose_pipelined(placer, arch, o, plan));
  const Timing t = timing_of(plan.mode, plan.layers);
  plan.estimated_cycles = t.batch;
  plan.estimated_interval = t.interval;
  for (const Layer& l : plan.layers) plan.max_sram_bytes_per_pe = std::max(plan.max_sram_bytes_per_pe, l.sram_bytes_per_pe);
  return plan;
}

}  // namespace wafer::compiler
