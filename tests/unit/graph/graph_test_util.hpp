// Small builders for the graph library's tests: tensors from literals, graphs built by hand,
// and one op run through shape inference and the reference interpreter.
#pragma once

#include <gtest/gtest.h>

#include "wafer/graph/graph.hpp"

namespace wafer::graph::testing {

inline Tensor tensor(Shape shape, std::vector<double> values, ElemType type = ElemType::f32) {
  return Tensor{type, std::move(shape), std::move(values)};
}

inline Tensor ints(std::vector<double> values) {
  int64_t n = int64_t(values.size());
  return tensor({n}, std::move(values), ElemType::i64);
}

struct Builder {
  Graph g;

  int input(const std::string& name, Shape shape, ElemType type = ElemType::f32) {
    int id = g.add_value({name, type, std::move(shape), std::nullopt});
    g.inputs.push_back(id);
    return id;
  }
  int constant(const std::string& name, Tensor t) {
    return g.add_value({name, t.type, t.shape, std::move(t)});
  }
  // Adds a node whose outputs are named `<name>_out<i>`; returns the first output's id.
  int node(const std::string& op, std::vector<int> inputs, std::map<std::string, Attr> attrs = {},
           const std::string& name = "n", int outputs = 1) {
    Node n{name, op, std::move(inputs), {}, std::move(attrs)};
    for (int i = 0; i < outputs; ++i)
      n.outputs.push_back(g.add_value({name + "_out" + std::to_string(i), ElemType::f32, {}, std::nullopt}));
    g.nodes.push_back(std::move(n));
    return g.nodes.back().outputs[0];
  }
};

// Runs `op` on constant inputs (std::nullopt: an omitted optional input named "" ) through
// infer_shapes and evaluate; the outputs in order. Input i is named "in<i>".
inline Expected<std::vector<Tensor>> run_op(const std::string& op, std::vector<std::optional<Tensor>> inputs,
                                           std::map<std::string, Attr> attrs = {}, int outputs = 1) {
  Builder b;
  std::vector<int> ids;
  for (size_t i = 0; i < inputs.size(); ++i)
    ids.push_back(inputs[i] ? b.constant("in" + std::to_string(i), *inputs[i]) : -1);
  b.node(op, ids, std::move(attrs), "n", outputs);
  b.g.outputs = b.g.nodes.back().outputs;
  WAFER_TRY(infer_shapes(b.g));
  WAFER_TRY(verify(b.g));
  auto result = evaluate(b.g, {});
  if (!result) return result.status();
  std::vector<Tensor> out;
  for (int id : b.g.outputs) {
    Tensor t = result->at(b.g.values[id].name);
    EXPECT_EQ(t.shape, b.g.values[id].shape) << "inferred and evaluated shapes of " << op;
    out.push_back(std::move(t));
  }
  return out;
}

// The one output of `op`, failing the test on an error.
inline Tensor run1(const std::string& op, std::vector<std::optional<Tensor>> inputs,
                   std::map<std::string, Attr> attrs = {}) {
  auto out = run_op(op, std::move(inputs), std::move(attrs));
  EXPECT_TRUE(out.has_value()) << (out ? "" : out.message());
  return out ? out->at(0) : Tensor{};
}

// The error message of running `op`, or "" when it succeeds.
inline std::string run_error(const std::string& op, std::vector<std::optional<Tensor>> inputs,
                             std::map<std::string, Attr> attrs = {}, int outputs = 1) {
  auto out = run_op(op, std::move(inputs), std::move(attrs), outputs);
  return out ? "" : out.message();
}

}  // namespace wafer::graph::testing
