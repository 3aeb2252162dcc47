// The service's job store over the SQLite C API (store.hpp).
//
// Two tables: `jobs` (one row per accepted job; NULL where an optional field was not given)
// and `meta` (key, value). Statements are prepared per call and bound by index through a
// small RAII wrapper; a write runs in BEGIN IMMEDIATE ... COMMIT and rolls back on any error,
// so a failed write leaves the file as it was. SQLite's default synchronous mode makes a
// committed transaction durable across the process being killed.
#include "wafer/cluster/store.hpp"

#include <utility>

#include <sqlite3.h>

namespace wafer::cluster {

namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, model TEXT NOT NULL, "
    "tokens REAL NOT NULL, deadline_seconds REAL, budget_usd REAL, "
    "created_seconds REAL NOT NULL, created_unix INTEGER NOT NULL, cancelled_seconds REAL);"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value REAL NOT NULL);";

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  void bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), int(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, const std::optional<double>& v) {
    if (v) bind(i, *v);
    else sqlite3_bind_null(stmt_, i);
  }
  int step() { return sqlite3_step(stmt_); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  std::optional<double> maybe_real(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return real(col);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Status sqlite_error(sqlite3* db, const std::string& path, const char* what) {
  return make_error("job store {}: {}: {}", path, what, sqlite3_errmsg(db));
}

}  // namespace

Expected<Store> Store::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Status s = sqlite_error(db, path, "cannot open");
    sqlite3_close(db);
    return s;
  }
  Store store(db, path);
  sqlite3_busy_timeout(db, 5000);
  WAFER_TRY(store.exec(kSchema));
  return store;
}

Store::Store(Store&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Store& Store::operator=(Store&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Store::~Store() { sqlite3_close(db_); }

Status Store::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK) return Status::ok();
  Status s = make_error("job store {}: {}", path_, message ? message : "unknown error");
  sqlite3_free(message);
  return s;
}

namespace {

// Runs `write` (which returns false on failure) inside one transaction.
template <typename Write>
Status in_transaction(sqlite3* db, const std::string& path, Write write) {
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqlite_error(db, path, "cannot begin a transaction");
  if (!write()) {
    Status s = sqlite_error(db, path, "cannot write");
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Status s = sqlite_error(db, path, "cannot commit");
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  return Status::ok();
}

}  // namespace

Status Store::insert_job(const StoredJob& job) {
  return in_transaction(db_, path_, [&] {
    Statement st(db_,
                 "INSERT INTO jobs (id, model, tokens, deadline_seconds, budget_usd, "
                 "created_seconds, created_unix, cancelled_seconds) VALUES (?,?,?,?,?,?,?,?)");
    if (!st.ok()) return false;
    st.bind(1, job.id);
    st.bind(2, job.model);
    st.bind(3, job.tokens);
    st.bind(4, job.deadline_seconds);
    st.bind(5, job.budget_usd);
    st.bind(6, job.created_seconds);
    st.bind(7, job.created_unix);
    st.bind(8, job.cancelled_seconds);
    return st.step() == SQLITE_DONE;
  });
}

Status Store::cancel_job(int64_t id, double at_seconds) {
  return in_transaction(db_, path_, [&] {
    Statement st(db_, "UPDATE jobs SET cancelled_seconds = ? WHERE id = ?");
    if (!st.ok()) return false;
    st.bind(1, at_seconds);
    st.bind(2, id);
    return st.step() == SQLITE_DONE && sqlite3_changes(db_) == 1;
  });
}

Expected<std::vector<StoredJob>> Store::jobs() const {
  Statement st(db_,
               "SELECT id, model, tokens, deadline_seconds, budget_usd, created_seconds, "
               "created_unix, cancelled_seconds FROM jobs ORDER BY id");
  if (!st.ok()) return sqlite_error(db_, path_, "cannot read the jobs");
  std::vector<StoredJob> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW)
    out.push_back({st.integer(0), st.text(1), st.real(2), st.maybe_real(3), st.maybe_real(4),
                   st.real(5), st.integer(6), st.maybe_real(7)});
  if (rc != SQLITE_DONE) return sqlite_error(db_, path_, "cannot read the jobs");
  return out;
}

Expected<std::optional<double>> Store::meta(const std::string& key) const {
  Statement st(db_, "SELECT value FROM meta WHERE key = ?");
  if (!st.ok()) return sqlite_error(db_, path_, "cannot read meta");
  st.bind(1, key);
  const int rc = st.step();
  if (rc == SQLITE_ROW) return std::optional<double>(st.real(0));
  if (rc == SQLITE_DONE) return std::optional<double>();
  return sqlite_error(db_, path_, "cannot read meta");
}

Status Store::set_meta(const std::vector<std::pair<std::string, double>>& values) {
  return in_transaction(db_, path_, [&] {
    for (const auto& [key, value] : values) {
      Statement st(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
      if (!st.ok()) return false;
      st.bind(1, key);
      st.bind(2, value);
      if (st.step() != SQLITE_DONE) return false;
    }
    return true;
  });
}

}  // namespace wafer::cluster
