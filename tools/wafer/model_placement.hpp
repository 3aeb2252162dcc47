// `wafer compile|run MODEL.onnx --placement FILE.png`: a picture of where a compiled model
// sits on the wafer.
//
// Left, a view of the whole fabric with the plan's PEs (plan_extent) marked where they lie
// (from the fabric's origin; at least a few pixels, however small next to the fabric). Right,
// those PEs enlarged to fit, every layer's own rectangle (Layer::rect) filled in a colour
// and labelled: the layer's name and kernel, or, for layers that share one rectangle (all of
// them in streaming mode), "N layers, one at a time". Layers are grouped by identical
// rectangles in plan order, so a pipelined plan, whose layers each have their own rectangle,
// shows one box per layer (one legend row each); its moves (op "move", a value carried from one layer's rectangle
// to the next one's) are dashed outlines over the rectangles they span. Below the grid, a legend lists each rectangle and then its layers
// in the order they run, with their kernels and estimated cycles.
#pragma once

#include <string>

#include "wafer/compiler/compiler.hpp"
#include "wafer/support/raster.hpp"

namespace wafer::cli {

// The PEs a plan uses, from the fabric's origin: its grid, widened to every layer's rectangle
// (a pipelined plan's layers may lie beyond the grid).
ir::Rect plan_extent(const compiler::Plan& plan);

// `title` heads the picture (the model's path).
Image render_placement(const compiler::Plan& plan, const std::string& title);

}  // namespace wafer::cli
