// NumPy .npy files (format versions 1.0 to 3.0) for model inputs and outputs: `wafer run`
// reads inputs from them and writes every output as one, so a user compares with PyTorch in
// two lines of Python.
#pragma once

#include <string>

#include "wafer/graph/graph.hpp"
#include "wafer/support/error.hpp"

namespace wafer::graph {

// Reads a C-order array of float16/32/64, int8/32/64, uint8 or bool, little-endian; errors
// name the file and what is wrong (magic, header key, dtype, byte count).
Expected<Tensor> read_npy(const std::string& path);
// Writes a tensor as a version-1.0 file: f32 and bf16 as '<f4' (bf16 is exact in it), f16 as
// '<f2', f64 '<f8', i64 '<i8', i32 '<i4', i8 '|i1', u8 '|u1', bool '|b1'; atomically (the path
// keeps its old file if the write fails).
Status write_npy(const std::string& path, const Tensor& t);

}  // namespace wafer::graph
