// The graph's text form, for `--emit graph` and golden files. One line per item, in this
// order: the header, each graph input, each constant (values past `max_values` elided), each
// node, each graph output:
//
//   graph mlp
//   input %x : f32[2,4]
//   const %w1 : f32[8,4] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, ... (32 values)]
//   %3 = Gemm(%x, %w1, %b1) {transB=1} : f32[2,8]  # /fc1/Gemm
//   output %y : f32[2,3]
//
// Graph inputs, constants and graph outputs are printed by name (%x; names with characters
// other than letters, digits, '_' and '.', or only digits, are quoted: %"onnx::Gemm_5"), the
// other node results by value id (%3), so the ONNX intermediate names do not clutter the text;
// the node's ONNX name is the comment. An omitted optional input is `_`. Attributes are
// sorted by key; numbers are printed in their shortest exact form.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "ops.hpp"

namespace wafer::graph {

namespace {

bool plain_name(const std::string& name) {
  bool has_letter = false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
    has_letter |= !std::isdigit(static_cast<unsigned char>(c));
  }
  return !name.empty() && has_letter;
}

class Printer {
 public:
  Printer(const Graph& g, int max_values) : g_(g), max_values_(max_values), named_(g.values.size(), 0) {
    for (int id : g.inputs) named_[id] = 1;
    for (int id : g.outputs) named_[id] = 1;
    for (size_t id = 0; id < g.values.size(); ++id)
      if (g.values[id].constant) named_[id] = 1;
  }

  std::string run() {
    out_ += fmt::format("graph {}\n", g_.name.empty() ? "_" : g_.name);
    for (int id : g_.inputs) out_ += fmt::format("input {} : {}\n", ref(id), type_of(id));
    for (size_t id = 0; id < g_.values.size(); ++id)
      if (g_.values[id].constant)
        out_ += fmt::format("const {} : {} = {}\n", ref(int(id)), type_of(int(id)), values(*g_.values[id].constant));
    for (const Node& node : g_.nodes) print_node(node);
    for (int id : g_.outputs) out_ += fmt::format("output {} : {}\n", ref(id), type_of(id));
    return out_;
  }

 private:
  std::string ref(int id) const {
    if (id < 0) return "_";
    if (id >= int(g_.values.size())) return fmt::format("%<bad id {}>", id);
    if (!named_[id]) return fmt::format("%{}", id);
    const std::string& name = g_.values[id].name;
    return plain_name(name) ? "%" + name : fmt::format("%\"{}\"", name);
  }

  std::string type_of(int id) const {
    if (id < 0 || id >= int(g_.values.size())) return "?";
    return fmt::format("{}{}", elem_name(g_.values[id].type), shape_text(g_.values[id].shape));
  }

  std::string values(const Tensor& t) const {
    if (t.shape.empty() && t.size() == 1) return fmt::format("{}", t.values[0]);
    size_t shown = std::min(t.values.size(), size_t(std::max(max_values_, 0)));
    std::vector<std::string> items;
    for (size_t i = 0; i < shown; ++i) items.push_back(fmt::format("{}", t.values[i]));
    if (shown < t.values.size()) items.push_back(fmt::format("... ({} values)", t.values.size()));
    return fmt::format("[{}]", fmt::join(items, ", "));
  }

  std::string attr(const Attr& a) const {
    switch (a.index()) {
      case 0: return fmt::format("{}", std::get<int64_t>(a));
      case 1: return fmt::format("{}", std::get<double>(a));
      case 2: return fmt::format("\"{}\"", std::get<std::string>(a));
      case 3: return fmt::format("[{}]", fmt::join(std::get<std::vector<int64_t>>(a), ","));
      case 4: return fmt::format("[{}]", fmt::join(std::get<std::vector<double>>(a), ","));
      default: {
        const Tensor& t = std::get<Tensor>(a);
        return fmt::format("{}{} {}", elem_name(t.type), shape_text(t.shape), values(t));
      }
    }
  }

  void print_node(const Node& node) {
    std::vector<std::string> outs, ins, attrs, types;
    for (int id : node.outputs) {
      outs.push_back(ref(id));
      types.push_back(type_of(id));
    }
    for (int id : node.inputs) ins.push_back(ref(id));
    for (const auto& [key, value] : node.attrs) attrs.push_back(key + "=" + attr(value));
    out_ += fmt::format("{} = {}({})", fmt::join(outs, ", "), node.op, fmt::join(ins, ", "));
    if (!attrs.empty()) out_ += fmt::format(" {{{}}}", fmt::join(attrs, ", "));
    out_ += fmt::format(" : {}", fmt::join(types, ", "));
    if (!node.name.empty()) out_ += "  # " + node.name;
    out_ += "\n";
  }

  const Graph& g_;
  int max_values_;
  std::vector<char> named_;
  std::string out_;
};

}  // namespace

std::string print(const Graph& g, int max_values) { return Printer(g, max_values).run(); }

}  // namespace wafer::graph
