// Graph-to-graph rewrites the compiler runs before lowering (docs/graph.md, "Fusion
// passes"): each fusion pass finds one exported chain of ONNX ops (GELU's Div/Erf/Add/Mul/Mul,
// LayerNorm's ReduceMean/Sub/Pow/.../Add, MatMul followed by a bias Add...) and replaces it
// with one fused op from the op table (wafer.Gelu, LayerNormalization, wafer.MatMulAdd...),
// which a backend lowers to a single kernel. A chain only matches when its intermediate
// values have no reader outside it and are not graph outputs, and its constants have the
// exact values the pattern needs; the fused node is named "<first node>..<last node>" after
// the chain's ends, so messages still point into the ONNX model.
#pragma once

#include <string>
#include <vector>

#include "wafer/graph/graph.hpp"

namespace wafer::graph {

struct PassInfo {
  const char* name;     // "fuse-gelu"
  const char* summary;  // one line for listings
  Expected<int> (*run)(Graph&);  // rewrites the graph in place; returns how many chains it replaced
};

// Every pass in pipeline order.
const std::vector<PassInfo>& passes();

struct PassCount {
  std::string pass;
  int rewrites = 0;
};

struct PassReport {
  std::vector<PassCount> passes;  // one per pass, in the order they ran
  int total() const;
};

// Runs every pass in order on a verified graph, verifying the graph after each (an error
// names the pass). When `print_after` names a pass, the graph's text form (print) right after
// it is appended to *printed; an unknown name is an error listing the passes, before any runs.
// OK for "" or a pass's name; otherwise an error with the nearest name and the list.
Status check_pass_name(const std::string& name);
Expected<PassReport> run_passes(Graph& g, const std::string& print_after = "", std::string* printed = nullptr);

}  // namespace wafer::graph
