// The reference interpreter against ONNX's own node tests (Debian's libonnx-testdata: one
// directory per case under /usr/include/onnx/backend/test/data/node, a model.onnx of one
// node and test_data_set_0/{input,output}_N.pb). Every case whose op the graph IR supports
// and whose opset the importer takes (13-17, or older where its op is defined as in 13: most
// Conv and pooling cases are opset 10-12) must import and match the expected outputs (normwise
// relative error 1e-5, exact for integer and bool outputs), except the cases listed in
// kKnownFailures with the reason. The pass table (op, cases, passed, max error) is the golden
// file docs/onnx_conformance.md: the test fails when the run's table differs from it, and
// UPDATE_GOLDEN=1 (as for the integration tests' golden files) rewrites it, to be reviewed,
// never edited by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "wafer/onnx/import.hpp"

namespace wafer::onnx_import {
namespace {

namespace fs = std::filesystem;

const char* kNodeTests = "/usr/include/onnx/backend/test/data/node";

// Cases that do not pass, each with why.
const std::string kWindowWhy =
    "the expected window is float32 arithmetic (cos of a float32 angle), 7e-5 normwise from the "
    "double-precision result, beyond the 1e-5 bound";
const std::map<std::string, std::string> kKnownFailures = {
    {"test_blackmanwindow_expanded", kWindowWhy},   {"test_blackmanwindow_symmetric_expanded", kWindowWhy},
    {"test_hammingwindow_expanded", kWindowWhy},    {"test_hammingwindow_symmetric_expanded", kWindowWhy},
    {"test_hannwindow_expanded", kWindowWhy},       {"test_hannwindow_symmetric_expanded", kWindowWhy},
    {"test_maxpool_with_argmax_2d_precomputed_pads", "MaxPool's second output (the argmax indices) is not supported"},
    {"test_maxpool_with_argmax_2d_precomputed_strides", "MaxPool's second output (the argmax indices) is not supported"},
};

struct CaseResult {
  std::string op;
  std::string skipped;  // why the case is not counted (not a supported op, opset, type, training)
  bool passed = false;
  double error = 0;
  std::string message;
};

std::vector<fs::path> data_files(const fs::path& set, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    const fs::path p = set / fmt::format("{}_{}.pb", prefix, i);
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

double tensor_error(const graph::Tensor& got, const graph::Tensor& want) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < want.values.size(); ++i) {
    const double a = got.values[i], b = want.values[i];
    if (std::isnan(a) && std::isnan(b)) continue;
    if (std::isinf(a) && a == b) continue;
    diff = std::max(diff, std::isnan(a) || std::isnan(b) ? INFINITY : std::abs(a - b));
    if (std::isfinite(b)) ref = std::max(ref, std::abs(b));
  }
  return ref > 0 ? diff / ref : diff;
}

// Why an import error means the case is out of scope, or "" when it is a failure.
std::string skip_reason(const std::string& message) {
  if (message.find("does not support") != std::string::npos) return "an op the graph IR does not have";
  if (message.find("opset") != std::string::npos) return "an opset outside 13-17";
  if (message.find("element type") != std::string::npos) return "an element type the graph IR does not have";
  if (message.find("the data holds") != std::string::npos)
    return "inputs or outputs that are not tensors (sequences, optionals)";
  if (message.find("training") != std::string::npos || message.find("gives 1 outputs, got 3") != std::string::npos)
    return "training mode (Wafer runs inference)";
  return "";
}

// Imports the case: integer inputs (shapes, axes, indices, splits) bound as constants, since
// Wafer compiles static shapes; when a shape still depends on an input, every input is bound.
Expected<graph::Graph> import_case(const fs::path& dir, const std::vector<std::string>& names,
                                   const std::vector<graph::Tensor>& inputs, ImportReport& report) {
  ImportOptions o;
  for (size_t i = 0; i < names.size() && i < inputs.size(); ++i)
    if (!graph::elem_is_float(inputs[i].type)) o.constants[names[i]] = inputs[i];
  auto g = import_model((dir / "model.onnx").string(), o, &report);
  if (g || g.message().find("dynamic shape") == std::string::npos) return g;
  for (size_t i = 0; i < names.size() && i < inputs.size(); ++i) o.constants[names[i]] = inputs[i];
  return import_model((dir / "model.onnx").string(), o, &report);
}

// The op a case tests: its one node's, or "(expanded functions)" for the cases that spell a
// function out in several nodes.
std::string case_op(const ImportReport& r) {
  std::string op;
  int nodes = 0;
  for (const auto& [name, count] : r.file_ops)
    if (name != "Constant") {
      op = name;
      nodes += count;
    }
  return nodes == 1 ? op : "(expanded functions)";
}

CaseResult run_case(const fs::path& dir) {
  CaseResult r;
  const fs::path set = dir / "test_data_set_0";
  const std::vector<fs::path> input_files = data_files(set, "input"), outputs = data_files(set, "output");
  auto names = model_inputs((dir / "model.onnx").string());
  std::vector<graph::Tensor> inputs;
  for (const fs::path& f : input_files) {
    auto t = read_tensor_pb(f.string());
    if (!t) {
      r.skipped = skip_reason(t.message());
      r.message = t.message();
      return r;
    }
    inputs.push_back(std::move(*t));
  }
  ImportReport report;
  auto g = names ? import_case(dir, *names, inputs, report) : Expected<graph::Graph>(names.status());
  r.op = case_op(report);
  if (!g) {
    r.skipped = skip_reason(g.message());
    r.message = g.message();
    return r;
  }
  std::map<std::string, graph::Tensor> in;
  for (size_t i = 0; i < names->size() && i < inputs.size(); ++i)
    if (g->find_value((*names)[i]) >= 0 && !g->values[size_t(g->find_value((*names)[i]))].constant)
      in[(*names)[i]] = inputs[i];
  auto out = graph::evaluate(*g, in);
  if (!out) {
    r.skipped = skip_reason(out.message());
    r.message = out.message();
    return r;
  }
  r.passed = true;
  for (size_t i = 0; i < outputs.size() && i < g->outputs.size(); ++i) {
    auto want = read_tensor_pb(outputs[i].string());
    const graph::Tensor& got = out->at(g->values[size_t(g->outputs[i])].name);
    if (!want) {
      r.skipped = skip_reason(want.message());
      r.message = want.message();
      return r;
    }
    if (got.shape != want->shape) {
      r.passed = false;
      r.message = fmt::format("output {} has shape {}, expected {}", i, graph::shape_text(got.shape),
                              graph::shape_text(want->shape));
      return r;
    }
    const double e = tensor_error(got, *want);
    r.error = std::max(r.error, e);
    const double tolerance = graph::elem_is_float(want->type) ? 1e-5 : 0;
    if (e > tolerance) {
      r.passed = false;
      r.message = fmt::format("output {}: normwise relative error {:.3g}", i, e);
    }
  }
  return r;
}

struct OpRow {
  int cases = 0, passed = 0;
  double max_error = 0;
};

std::string pass_table(const std::map<std::string, OpRow>& rows, const std::map<std::string, int>& skipped) {
  std::string t =
      "# ONNX node-test conformance of the reference interpreter\n\n"
      "Generated by the unit test `OnnxConformance.SupportedOpsPassTheirNodeTests`\n"
      "(tests/unit/onnx/conformance_test.cpp; `UPDATE_GOLDEN=1 build/tests/wafer_unit_tests\n"
      "--gtest_filter=OnnxConformance.*` rewrites this file). Every case of Debian's libonnx-testdata\n"
      "whose op the graph IR supports and whose opset the importer takes (13-17, or older where the\n"
      "op is defined as in opset 13) is imported and run by the reference\n"
      "interpreter (double precision); `max error` is the largest normwise relative error of a\n"
      "passing case against the expected outputs (accepted: 1e-5 for floats, 0 for integers).\n\n"
      "| op | cases | passed | max error |\n|---|---|---|---|\n";
  int cases = 0, passed = 0;
  for (const auto& [op, r] : rows) {
    t += fmt::format("| {} | {} | {} | {:.2g} |\n", op, r.cases, r.passed, r.max_error);
    cases += r.cases;
    passed += r.passed;
  }
  t += fmt::format("| **all** | **{}** | **{}** | |\n\nNot counted, of the {} cases in the package:\n\n", cases,
                   passed, cases + [&] {
                     int n = 0;
                     for (const auto& [why, count] : skipped) n += count;
                     return n;
                   }());
  for (const auto& [why, count] : skipped) t += fmt::format("- {} cases use {}\n", count, why);
  return t;
}

TEST(OnnxConformance, SupportedOpsPassTheirNodeTests) {
  if (!fs::exists(kNodeTests)) GTEST_SKIP() << "libonnx-testdata is not installed (scripts/setup.sh installs it)";
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(kNodeTests))
    if (fs::exists(entry.path() / "model.onnx")) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  std::map<std::string, OpRow> rows;
  std::map<std::string, int> skipped;
  for (const fs::path& dir : dirs) {
    const CaseResult r = run_case(dir);
    if (!r.skipped.empty()) {
      ++skipped[r.skipped];
      continue;
    }
    const std::string name = dir.filename().string();
    OpRow& row = rows[r.op];
    ++row.cases;
    row.passed += r.passed;
    row.max_error = std::max(row.max_error, r.passed ? r.error : 0.0);
    const auto known = kKnownFailures.find(name);
    if (known == kKnownFailures.end())
      EXPECT_TRUE(r.passed) << name << " (" << r.op << "): " << r.message;
    else
      EXPECT_FALSE(r.passed) << name << " passes now: remove it from kKnownFailures (" << known->second << ")";
  }
  const std::string table = pass_table(rows, skipped);
  const std::string golden = std::string(WAFER_SOURCE_DIR) + "/docs/onnx_conformance.md";
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update && std::string(update) == "1") std::ofstream(golden) << table;
  std::ifstream committed(golden);
  std::stringstream text;
  text << committed.rdbuf();
  EXPECT_EQ(text.str(), table) << "docs/onnx_conformance.md differs from this run (UPDATE_GOLDEN=1 regenerates it)";
}

}  // namespace
}  // namespace wafer::onnx_import
