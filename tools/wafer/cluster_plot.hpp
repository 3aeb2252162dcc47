// The picture of `wafer cluster simulate --plot FILE.png`: the policies side by side on each
// metric (one group of bars per metric, one bar per policy, each bar's height its value over
// the largest of the group, labelled with the value), then each family's utilisation over
// time (one line per policy).
#pragma once

#include <string>
#include <vector>

#include "wafer/cluster/report.hpp"
#include "wafer/support/error.hpp"

namespace wafer::cli {

Status write_simulate_plot(const std::string& path, const std::string& workload,
                           const std::vector<cluster::Summary>& runs);

}  // namespace wafer::cli
