// The picture of `wafer estimate compare --plot FILE.png`: one horizontal bar per system,
// its length the time to train on a log scale (the systems differ by orders of magnitude),
// its colour the limiter, labelled with the system, the count, the time and the limiter; a
// system with no estimate (it does not fit, say) gets a row of its own that says so.
#pragma once

#include <string>
#include <vector>

#include "wafer/estimate/train.hpp"
#include "wafer/support/error.hpp"

namespace wafer::cli {

Status write_compare_plot(const std::string& path, const std::string& model,
                          const std::string& tokens,
                          const std::vector<estimate::TrainEstimate>& estimates,
                          const std::vector<std::string>& no_estimate = {});

}  // namespace wafer::cli
