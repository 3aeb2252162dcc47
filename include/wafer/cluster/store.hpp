// The service's durable state: the training jobs it accepted, in a SQLite file.
//
// `wafer cluster serve --db FILE` keeps every accepted job (its request, when it was accepted,
// when it was cancelled) in the table `jobs`, and the service clock's base in `meta` (a few
// named numbers). Each write is one SQLite transaction that commits before the service
// answers, so a job the client saw accepted survives a kill -9: on start the service reads the
// jobs back and replays them into its simulator (service.hpp). Predictions are
// not stored: they are a function of the stored jobs, recomputed on load.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wafer/support/error.hpp"

struct sqlite3;

namespace wafer::cluster {

struct StoredJob {
  int64_t id = 0;
  std::string model;  // the zoo's name
  double tokens = 0;
  std::optional<double> deadline_seconds;  // absolute, on the service clock
  std::optional<double> budget_usd;
  double created_seconds = 0;  // service clock
  int64_t created_unix = 0;    // wall clock
  std::optional<double> cancelled_seconds;
};

class Store {
 public:
  // Opens (creating when absent) the database at `path`; ":memory:" for tests.
  static Expected<Store> open(const std::string& path);
  Store(Store&& other) noexcept;
  Store& operator=(Store&& other) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  Status insert_job(const StoredJob& job);
  Status cancel_job(int64_t id, double at_seconds);
  // In id order.
  Expected<std::vector<StoredJob>> jobs() const;
  Expected<std::optional<double>> meta(const std::string& key) const;
  // Sets every (key, value) in one transaction.
  Status set_meta(const std::vector<std::pair<std::string, double>>& values);

 private:
  Store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status exec(const std::string& sql);
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace wafer::cluster
