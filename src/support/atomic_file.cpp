// Writing result files through a temporary file and a rename (atomic_file.hpp).
//
// The pending table has kSlots fixed buffers, each with an atomic state: free, being filled
// (claimed, path not yet complete) or pending (a temporary file may exist at that path). A slot
// is marked pending before the file is created and freed only after the file is renamed or
// removed, so a signal handler that unlinks every pending path never misses a temporary file;
// at worst it unlinks a path that is already gone.
#include "wafer/support/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace wafer {

namespace {

constexpr size_t kSlots = 16;
constexpr size_t kSlotBytes = 4096 + 32;  // PATH_MAX and the ".tmp.<pid>" suffix
enum SlotState : int { kFree, kFilling, kPending };

struct Slot {
  std::atomic<int> state{kFree};
  char path[kSlotBytes] = {};
};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler reads the states");

std::array<Slot, kSlots> g_pending;

// Holds one pending temporary path for the lifetime of a write, then frees its slot.
class PendingPath {
 public:
  explicit PendingPath(const std::string& temp) {
    if (temp.size() >= kSlotBytes) {
      error_ = ENAMETOOLONG;
      return;
    }
    for (Slot& s : g_pending) {
      int expected = kFree;
      if (!s.state.compare_exchange_strong(expected, kFilling)) continue;
      std::memcpy(s.path, temp.c_str(), temp.size() + 1);
      s.state.store(kPending);
      slot_ = &s;
      return;
    }
    error_ = EMFILE;
  }
  ~PendingPath() {
    if (slot_) slot_->state.store(kFree);
  }
  PendingPath(const PendingPath&) = delete;
  PendingPath& operator=(const PendingPath&) = delete;
  int error() const { return error_; }

 private:
  Slot* slot_ = nullptr;
  int error_ = 0;
};

// The open temporary file: closed, and removed unless committed, when it goes out of scope.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (f_) std::fclose(f_);
    if (created_ && !committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  bool open() {
    f_ = std::fopen(path_.c_str(), "wb");
    created_ = f_ != nullptr;
    return created_;
  }
  std::FILE* file() const { return f_; }
  // Flushes the data to the disk and closes the file; false with errno set on failure.
  bool sync_and_close() {
    const bool synced = std::fflush(f_) == 0 && ::fsync(fileno(f_)) == 0;
    const int sync_error = errno;
    const bool closed = std::fclose(f_) == 0;
    f_ = nullptr;
    if (!synced) errno = sync_error;
    return synced && closed;
  }
  bool rename_to(const std::string& target) {
    committed_ = std::rename(path_.c_str(), target.c_str()) == 0;
    return committed_;
  }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
  bool created_ = false, committed_ = false;
};

Status write_failed(const std::string& path, const std::string& what, const std::string& reason) {
  if (what.empty()) return make_error("cannot write '{}': {}", path, reason);
  return make_error("cannot write {} '{}': {}", what, path, reason);
}

// A path that exists and is not a regular file (a device, a pipe) is written in place.
bool replaceable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode);
}

Status write_in_place(const std::string& path, const std::string& what, const FileWriter& write) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return write_failed(path, what, os_error_text(errno));
  Status written = write(f);
  const bool flushed = std::fflush(f) == 0 && !std::ferror(f);
  const int flush_error = errno;
  const bool closed = std::fclose(f) == 0;
  if (!written) return write_failed(path, what, written.message());
  if (!flushed) return write_failed(path, what, os_error_text(flush_error));
  if (!closed) return write_failed(path, what, os_error_text(errno));
  return Status::ok();
}

}  // namespace

std::string os_error_text(int error) {
  std::string s = std::strerror(error);
  if (!s.empty()) s[0] = char(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

Status write_file_atomically(const std::string& path, const std::string& what, const FileWriter& write) {
  if (!replaceable(path)) return write_in_place(path, what, write);
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  PendingPath pending(temp);
  if (pending.error()) return write_failed(path, what, os_error_text(pending.error()));
  TempFile file(temp);
  if (!file.open()) return write_failed(path, what, os_error_text(errno));
  Status written = write(file.file());
  if (!written) return write_failed(path, what, written.message());
  if (std::ferror(file.file())) return write_failed(path, what, "write error");
  if (!file.sync_and_close() || !file.rename_to(path)) return write_failed(path, what, os_error_text(errno));
  return Status::ok();
}

Status write_file_atomically(const std::string& path, const std::string& what, std::string_view contents) {
  return write_file_atomically(path, what, [contents](std::FILE* f) {
    if (std::fwrite(contents.data(), 1, contents.size(), f) == contents.size()) return Status::ok();
    return Status::error(os_error_text(errno));
  });
}

void remove_pending_files() noexcept {
  for (Slot& s : g_pending) {
    if (s.state.load() == kPending) ::unlink(s.path);
  }
}

}  // namespace wafer
