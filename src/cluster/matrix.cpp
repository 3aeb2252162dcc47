// The job-by-system matrix; the formulas are in matrix.hpp and docs/cluster.md.
//
// Each cell is one or more calls of the estimator and nothing else: a training cell is one
// estimate_training() at the count; an inference cell is estimate_inference() at the job's
// batch (its TTFT, TPOT and limiter) and at every batch of rate_batches() (the rate search).
// An estimator error (the model does not fit the count's memory, a precision the system has
// no peak for, an inference chip asked to train) makes the cell "does not fit" with the
// error's text as the reason.
#include "wafer/cluster/matrix.hpp"

#include <algorithm>

#include "wafer/estimate/infer.hpp"
#include "wafer/estimate/train.hpp"

namespace wafer::cluster {

namespace {

std::optional<double> known(double per_device, int64_t count) {
  if (per_device <= 0) return std::nullopt;
  return per_device * double(count);
}

void fill_training(Cell& c, const Job& job, const Pool& pool) {
  estimate::TrainOptions o;
  o.count = c.count;
  o.tokens = job.tokens;
  o.precision = job.precision;
  Expected<estimate::TrainEstimate> e = estimate::estimate_training(job.model, pool.system, o);
  if (!e) {
    c.why = e.message();
    return;
  }
  c.fits = true;
  c.why = e->mode;
  c.limiter = to_string(e->limiter);
  c.tokens_per_second = e->tokens_per_second;
  c.time_to_train_seconds = e->time_to_train_seconds;
}

estimate::InferOptions infer_options(const Job& job, int64_t count, int64_t batch) {
  estimate::InferOptions o;
  o.count = count;
  o.batch = batch;
  o.prompt = job.prompt;
  o.output = job.output;
  o.precision = job.precision;
  return o;
}

double request_rate(const estimate::InferEstimate& e) {
  return double(e.batch) /
         (e.ttft_seconds + double(e.output - 1) * e.time_per_output_token_seconds);
}

bool meets_slo(const estimate::InferEstimate& e, const Job& job) {
  return e.ttft_seconds <= job.slo_ttft_seconds &&
         e.time_per_output_token_seconds <= job.slo_tpot_seconds;
}

void fill_inference(Cell& c, const Job& job, const Pool& pool) {
  Expected<estimate::InferEstimate> at_batch =
      estimate::estimate_inference(job.model, pool.system, infer_options(job, c.count, job.batch));
  if (!at_batch) {
    c.why = at_batch.message();
    return;
  }
  c.fits = true;
  c.why = "fits";
  c.limiter = to_string(at_batch->limiter);
  c.ttft_seconds = at_batch->ttft_seconds;
  c.tpot_seconds = at_batch->time_per_output_token_seconds;
  c.max_rate_per_second = 0;
  for (int64_t b : rate_batches(job.batch)) {
    Expected<estimate::InferEstimate> e =
        b == job.batch ? at_batch
                       : estimate::estimate_inference(job.model, pool.system,
                                                      infer_options(job, c.count, b));
    if (!e || !meets_slo(*e, job) || request_rate(*e) <= *c.max_rate_per_second) continue;
    c.max_rate_per_second = request_rate(*e);
    c.rate_batch = b;
  }
}

}  // namespace

std::vector<int64_t> matrix_counts(const Pool& pool) {
  if (pool.count > pool.group) return {pool.group, pool.count};
  return {pool.group};
}

std::vector<int64_t> rate_batches(int64_t batch) {
  std::vector<int64_t> out;
  for (int64_t b = 1; b < batch; b *= 2) out.push_back(b);
  out.push_back(batch);
  return out;
}

Cell matrix_cell(const Job& job, const Pool& pool, int64_t count) {
  Cell c;
  c.job = job.name;
  c.pool = pool.name;
  c.system = pool.system.name;
  c.kind = job.kind;
  c.family = pool.system.kind;
  c.count = count;
  c.dollars_per_hour = known(pool.system.dollars_per_hour, count);
  c.kilowatts = known(pool.system.power_kw, count);
  if (job.kind == JobKind::train)
    fill_training(c, job, pool);
  else
    fill_inference(c, job, pool);
  return c;
}

std::vector<Cell> build_matrix(const Fleet& fleet, const std::vector<Job>& jobs) {
  std::vector<Cell> cells;
  for (const Job& job : jobs)
    for (const Pool& pool : fleet.pools)
      for (int64_t count : matrix_counts(pool)) cells.push_back(matrix_cell(job, pool, count));
  return cells;
}

}  // namespace wafer::cluster
