// What the compiler's tests share: the arch, seeded tensors, a plan's kernels.
#pragma once

#include <string>
#include <vector>

#include "../graph/graph_test_util.hpp"
#include "wafer/compiler/compiler.hpp"

namespace wafer::compiler::testing {

inline arch::Arch wse3() { return *arch::preset("wse3"); }

// Seeded values in [-1, 1) of a shape.
inline graph::Tensor random_tensor(graph::Shape shape, uint64_t seed) {
  const int64_t n = graph::element_count(shape);
  return graph::testing::tensor(std::move(shape), kernels::random_values(seed, size_t(n)));
}

inline std::vector<std::string> kernels_of(const Plan& p) {
  std::vector<std::string> k;
  for (const Layer& l : p.layers) k.push_back(l.kernel);
  return k;
}

}  // namespace wafer::compiler::testing
