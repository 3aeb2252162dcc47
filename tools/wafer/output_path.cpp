// Output paths checked before the run (output_path.hpp), with stat and access only.
#include "output_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "commands.hpp"
#include "wafer/support/atomic_file.hpp"

namespace wafer::cli {

namespace {

bool ends_with_ignoring_case(const std::string& s, const std::string& end) {
  if (s.size() < end.size()) return false;
  for (size_t i = 0; i < end.size(); ++i)
    if (std::tolower(uint8_t(s[s.size() - end.size() + i])) != std::tolower(uint8_t(end[i]))) return false;
  return true;
}

Status check_writable(const std::string& path) {
  struct stat st = {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return make_error("it is a directory");
    if (!S_ISREG(st.st_mode))  // written in place
      return ::access(path.c_str(), W_OK) == 0 ? Status::ok() : make_error("{}", os_error_text(errno));
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (::stat(dir.c_str(), &st) != 0) return make_error("directory '{}': {}", dir, os_error_text(errno));
  if (!S_ISDIR(st.st_mode)) return make_error("'{}' is not a directory", dir);
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return make_error("directory '{}' is not writable: {}", dir, os_error_text(errno));
  return Status::ok();
}

}  // namespace

Status check_output_path(const std::string& flag, const std::string& path, const char* extension) {
  if (path.empty()) return Status::ok();
  WAFER_TRY(check_writable(path).with_context(fmt::format("{} '{}': cannot write there", flag, path)));
  if (extension && !ends_with_ignoring_case(path, extension))
    warn(fmt::format("{} '{}' does not end in {}; the file is written as {} all the same", flag, path,
                     extension, extension + 1));
  return Status::ok();
}

}  // namespace wafer::cli
