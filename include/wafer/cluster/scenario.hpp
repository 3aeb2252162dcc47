// A fleet and a workload made ready to simulate, and one simulated run per policy.
//
// load_scenario() reads what the workload file names (the job types, the training CSV or the
// generator's arrivals for the seed, the inference trace), prices the decode steps at the
// requests' mean prompt and output (1024 and 256 without requests), and asks the matrix for
// the rates and profiles (build_cluster_model). simulate() submits every arrival to a fresh
// Simulator under one policy, runs it to the end and summarises it. The same scenario and
// policy give the same summary on every run.
#pragma once

#include <cstdint>
#include <vector>

#include "wafer/cluster/report.hpp"
#include "wafer/cluster/simulator.hpp"

namespace wafer::cluster {

struct Scenario {
  WorkloadSpec spec;
  ClusterModel model;
  std::vector<TrainArrival> jobs;
  std::vector<Request> requests;
};

Expected<Scenario> load_scenario(const Fleet& fleet, const WorkloadSpec& spec, uint64_t seed);
Summary simulate(const Scenario& scenario, const Policy& policy, int buckets = 60);

}  // namespace wafer::cluster
