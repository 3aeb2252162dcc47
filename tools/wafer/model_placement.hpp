// `wafer compile|run MODEL.onnx --placement FILE.png`: a picture of where a compiled model
// sits on the wafer.
//
// Left, a view of the whole fabric with the plan's grid marked where it lies (at the fabric's
// origin; at least a few pixels, however small the grid is next to the fabric). Right, the
// grid itself enlarged to fit, every layer's own rectangle (Layer::rect) filled in a colour
// and labelled: the layer's name and kernel, or, for layers that share one rectangle (all of
// them in streaming mode), "N layers, one at a time". Layers are grouped by identical
// rectangles in plan order, so a pipelined plan, whose layers each have their own rectangle,
// shows one box per layer. Below the grid, a legend lists each rectangle and then its layers
// in the order they run, with their kernels and estimated cycles.
#pragma once

#include <string>

#include "wafer/compiler/compiler.hpp"
#include "wafer/support/raster.hpp"

namespace wafer::cli {

// `title` heads the picture (the model's path).
Image render_placement(const compiler::Plan& plan, const std::string& title);

}  // namespace wafer::cli
