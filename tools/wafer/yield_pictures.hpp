// The two pictures of `wafer yield`: yield against defect density for a sweep, and one
// wafer's defects and repair.
//
// The plot draws one line with markers per series on a 0..1 yield axis; the density axis is
// logarithmic when the positive densities span more than a factor of 10, else linear. The
// wafer map has one square of `scale` pixels per physical PE (or per block of PEs on an array
// too large to draw one pixel each), coloured by what the repair made of it (kPeLegend in the
// .cpp), with a legend of counts on the right. A block shows the worst state of its PEs, and
// a dead PE is marked at least 5 pixels wide, so that every defect stays visible when the
// whole wafer is seen at once.
#pragma once

#include <string>
#include <vector>

#include "wafer/fabric/defects.hpp"
#include "wafer/fabric/repair.hpp"
#include "wafer/support/raster.hpp"

namespace wafer::cli {

struct PlotSeries {
  std::string name;
  std::vector<double> y;  // one value in [0, 1] per density
};

struct YieldPlot {
  std::string title;
  std::vector<double> densities;  // per mm², in sweep order
  std::vector<PlotSeries> series;
};

Image render_yield_plot(const YieldPlot& plot);

// `repair` is null when the wafer could not be repaired; only its defects are drawn then.
Image render_wafer_map(const fabric::WaferGeometry& g, const fabric::DefectMap& map,
                       const fabric::RepairResult* repair, const std::string& title);

}  // namespace wafer::cli
