// Pad's three modes on a 2 x 3 matrix, worked by hand, and its errors.
#include <gtest/gtest.h>

#include "graph_test_util.hpp"

namespace wafer::graph {
namespace {

using testing::ints;
using testing::run1;
using testing::run_error;
using testing::tensor;
using V = std::vector<double>;

// x = [[1, 2, 3], [4, 5, 6]], pads: one row before, one column after (begins 1, 0; ends 0, 1).
TEST(GraphPad, ConstantReflectAndEdge) {
  const Tensor x = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor pads = ints({1, 0, 0, 1});
  Tensor c = run1("Pad", {x, pads, tensor({}, {9})});
  EXPECT_EQ(c.shape, (Shape{3, 4}));
  EXPECT_EQ(c.values, (V{9, 9, 9, 9, 1, 2, 3, 9, 4, 5, 6, 9}));
  // reflect: row -1 reads row 1, column 3 reads column 1.
  EXPECT_EQ(run1("Pad", {x, pads}, {{"mode", std::string("reflect")}}).values,
            (V{4, 5, 6, 5, 1, 2, 3, 2, 4, 5, 6, 5}));
  // edge: row -1 reads row 0, column 3 reads column 2.
  EXPECT_EQ(run1("Pad", {x, pads}, {{"mode", std::string("edge")}}).values, (V{1, 2, 3, 3, 1, 2, 3, 3, 4, 5, 6, 6}));
  // Negative pads crop: drop the first column.
  Tensor cropped = run1("Pad", {x, ints({0, -1, 0, 0})});
  EXPECT_EQ(cropped.shape, (Shape{2, 2}));
  EXPECT_EQ(cropped.values, (V{2, 3, 5, 6}));
}

TEST(GraphPad, NamesBadPadsAndModes) {
  const Tensor x = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  const std::string wrong = run_error("Pad", {x, ints({1, 1})});
  EXPECT_NE(wrong.find("(pads) has 2 values, data of rank 2 needs 4"), std::string::npos) << wrong;
  const std::string mode = run_error("Pad", {x, ints({0, 0, 0, 0})}, {{"mode", std::string("wrap")}});
  EXPECT_NE(mode.find("mode 'wrap' is not one of constant, reflect, edge"), std::string::npos) << mode;
}

}  // namespace
}  // namespace wafer::graph
