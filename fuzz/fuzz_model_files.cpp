// libFuzzer target for the graph compiler's file readers (fuzz/README.md).
//
// The first input byte picks the reader (byte % 3): 0 a NumPy .npy file (graph::read_npy),
// 1 a serialized ONNX TensorProto (onnx_import::read_tensor_pb), 2 an ONNX model
// (onnx_import::import_model: protobuf parse, checker, shape inference, the op and dynamic-
// axis lists, the graph's shape rules and constant folding). The rest is the file, written to
// a scratch file since the readers take paths.
//
// A failure must carry a non-empty message that names the file. A tensor that reads must hold
// exactly as many values as its shape has elements. A model that imports must verify, print,
// and evaluate on seeded inputs when it has at most 2^16 elements in each input and output
// (the interpreter's work is bounded so an input runs in milliseconds); its outputs must have
// the shapes the graph records.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "wafer/graph/npy.hpp"
#include "wafer/onnx/import.hpp"

namespace {

using namespace wafer;

constexpr int64_t kMaxFuzzElements = 1 << 16;

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_model_files: %s\n", what);
    std::abort();
  }
}

std::string scratch_path() {
  static const std::string path = "fuzz_model_" + std::to_string(::getpid()) + ".bin";
  return path;
}

void check_failure(const Status& s, const std::string& path) {
  require(!s.message().empty(), "an error without a message");
  require(s.message().find(path) != std::string::npos || s.message().find("node '") != std::string::npos,
          "an error that names neither the file nor a node");
}

void check_tensor(const Expected<graph::Tensor>& t, const std::string& path) {
  if (!t) return check_failure(t.status(), path);
  require(t->size() == graph::element_count(t->shape), "a tensor whose values do not fill its shape");
}

bool small(const graph::Graph& g, const std::vector<int>& ids) {
  for (int id : ids)
    if (graph::element_count(g.values[size_t(id)].shape) > kMaxFuzzElements) return false;
  return true;
}

void check_model(const std::string& path) {
  auto g = onnx_import::import_model(path);
  if (!g) return check_failure(g.status(), path);
  require(graph::verify(*g).is_ok(), "an imported graph that does not verify");
  require(!graph::print(*g).empty(), "an empty print");
  if (!small(*g, g->inputs) || !small(*g, g->outputs)) return;
  std::map<std::string, graph::Tensor> inputs;
  for (int id : g->inputs) {
    const graph::Value& v = g->values[size_t(id)];
    graph::Tensor t{v.type, v.shape, std::vector<double>(size_t(graph::element_count(v.shape)), 0.5)};
    inputs[v.name] = std::move(t);
  }
  auto out = graph::evaluate(*g, inputs);
  if (!out) return require(!out.message().empty(), "an evaluation error without a message");
  for (int id : g->outputs) {
    const graph::Value& v = g->values[size_t(id)];
    require(out->count(v.name) && out->at(v.name).shape == v.shape, "an output of another shape");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string path = scratch_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  switch (data[0] % 3) {
    case 0: check_tensor(graph::read_npy(path), path); break;
    case 1: check_tensor(onnx_import::read_tensor_pb(path), path); break;
    default: check_model(path); break;
  }
  std::remove(path.c_str());
  return 0;
}
