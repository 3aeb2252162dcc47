// Recoverable errors as values, in the style of LLVM's Error/Expected.
//
// A Status is either ok or carries one lower-case message that names the thing that is wrong
// and where (file:line:col, key, PE coordinate). Expected<T> holds a T or the Status that says
// why there is none. WAFER_CHECK is the always-on invariant check for programming errors: it
// aborts with file and line, and is never used for bad user input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace wafer {

class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.failed_ = true;
    s.message_ = std::move(message);
    return s;
  }
  bool is_ok() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  const std::string& message() const { return message_; }
  // Returns a copy whose message is prefixed with `context: `.
  Status with_context(const std::string& context) const {
    if (!failed_) return *this;
    return error(context + ": " + message_);
  }

 private:
  bool failed_ = false;
  std::string message_;
};

template <typename... Args>
Status make_error(fmt::format_string<Args...> format, Args&&... args) {
  return Status::error(fmt::format(format, std::forward<Args>(args)...));
}

template <typename T>
class Expected {
 public:
  Expected(T value) : storage_(std::move(value)) {}
  Expected(Status status) : storage_(std::move(status)) {
    if (std::get<Status>(storage_).is_ok()) std::abort();
  }
  bool has_value() const { return std::holds_alternative<T>(storage_); }
  explicit operator bool() const { return has_value(); }
  T& operator*() { return std::get<T>(storage_); }
  const T& operator*() const { return std::get<T>(storage_); }
  T* operator->() { return &std::get<T>(storage_); }
  const T* operator->() const { return &std::get<T>(storage_); }
  T& value() { return std::get<T>(storage_); }
  // The value, or `fallback` when this is an error.
  T value_or(T fallback) const { return has_value() ? std::get<T>(storage_) : std::move(fallback); }
  const Status& status() const { return std::get<Status>(storage_); }
  const std::string& message() const { return status().message(); }

 private:
  std::variant<T, Status> storage_;
};

[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "wafer: internal error: check '%s' failed at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace wafer

#define WAFER_CHECK(expr) \
  ((expr) ? (void)0 : ::wafer::check_failed(#expr, __FILE__, __LINE__))

// Returns early from a function returning Status or Expected<T> when `expr` is an error.
#define WAFER_TRY(expr)                          \
  do {                                           \
    ::wafer::Status wafer_try_status_ = (expr);  \
    if (!wafer_try_status_) return wafer_try_status_; \
  } while (0)
