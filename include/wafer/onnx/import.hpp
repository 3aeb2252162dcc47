// ONNX import (../shared/COMPILER.md, layer `onnx`): a model file as torch.onnx.export writes
// it, read through Debian's libonnx and libprotobuf into the graph IR (wafer/graph/graph.hpp).
// Protobuf and the ONNX headers stay inside src/onnx/import.cpp; nothing above this header
// sees them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "wafer/graph/graph.hpp"
#include "wafer/support/error.hpp"

namespace wafer::onnx_import {

// The opsets of the default domain the importer accepts (the op table follows their
// semantics); an older model imports when every op it uses is defined as in kMinOpset.
constexpr int kMinOpset = 13;
constexpr int kMaxOpset = 17;

struct ImportOptions {
  bool fold_constants = true;
  // Fixed sizes for symbolic dimensions ("batch" -> 1), by dim_param name or by
  // "input:axis" ("x:0"); a symbolic dimension without one is an error.
  std::map<std::string, int64_t> dims;
  // Graph inputs given as constant values (folded into the graph): shape, axes or index
  // tensors that a model takes as inputs, which Wafer's static shapes need known.
  std::map<std::string, graph::Tensor> constants;
};

struct ImportReport {
  int opset = 0;
  std::string producer;      // "pytorch 1.13.1"
  int onnx_nodes = 0;        // nodes in the file
  int constant_nodes = 0;    // Constant nodes among them (they become constant values)
  int folded = 0;            // nodes constant folding removed
  std::map<std::string, int> file_ops;  // the file's op histogram (Constant included)
};

// Reads, checks (onnx::checker), infers shapes (onnx::shape_inference), then builds the graph:
// initializers and Constant nodes become constants, every op maps to the graph op of the same
// name. Before building anything it lists, all at once, every op the graph IR does not support
// and every dimension that is not a fixed number, with node and input names. Then the graph's
// own shape rules run (graph::infer_shapes) and its outputs must have the shapes the file
// declares, so a shape rule that disagrees with ONNX's is caught at import. `report` is filled
// as far as the import got, also when it fails.
Expected<graph::Graph> import_model(const std::string& path, const ImportOptions& options = {},
                                    ImportReport* report = nullptr);

// The names of the model's graph inputs that are not initializers, in order (what
// ImportOptions::constants and `wafer run --input` name), without checking the model.
Expected<std::vector<std::string>> model_inputs(const std::string& path);

// A serialized onnx TensorProto (.pb, as libonnx-testdata stores test inputs and outputs).
Expected<graph::Tensor> read_tensor_pb(const std::string& path);

}  // namespace wafer::onnx_import
