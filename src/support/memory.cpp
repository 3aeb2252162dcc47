// Available host memory and the refusal of work that needs more (memory.hpp).
//
// Each limit is read independently and the least wins; a limit that cannot be read (no
// /proc, no cgroup files, a limit of "max" or the v1 "unlimited" sentinel near 2^63) is
// skipped. The cgroup is found through /proc/self/cgroup and looked up under /sys/fs/cgroup,
// falling back to the mount's root, which is the process's own cgroup inside a container.
#include "wafer/support/memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace wafer {

namespace {

// v1 reports "no limit" as a page-rounded 2^63 - 1; anything this large is no limit.
constexpr uint64_t kNoLimit = uint64_t(1) << 60;

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<uint64_t> read_number(const std::string& path) {
  auto text = read_file(path);
  if (!text || text->empty() || !std::isdigit(static_cast<unsigned char>((*text)[0]))) return std::nullopt;
  return std::strtoull(text->c_str(), nullptr, 10);
}

// The path of this process's cgroup for a v1 controller, or for v2 when `controller` is "".
std::string cgroup_path(std::string_view controller) {
  std::istringstream lines(read_file("/proc/self/cgroup").value_or(""));
  for (std::string line; std::getline(lines, line);) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string_view controllers = std::string_view(line).substr(a + 1, b - a - 1);
    const bool match = controller.empty() ? controllers.empty()
                                          : controllers.find(controller) != std::string_view::npos;
    if (match) return line.substr(b + 1);
  }
  return "";
}

// Limit minus usage of the first directory that has both files.
std::optional<uint64_t> cgroup_room(const std::vector<std::string>& dirs, const char* limit_file,
                                    const char* usage_file) {
  for (const std::string& dir : dirs) {
    const auto limit = read_number(dir + "/" + limit_file);
    const auto usage = read_number(dir + "/" + usage_file);
    if (!limit || !usage) continue;
    if (*limit >= kNoLimit) return std::nullopt;
    return *limit > *usage ? *limit - *usage : 0;
  }
  return std::nullopt;
}

std::optional<uint64_t> cgroup_v2_room() {
  const std::string root = "/sys/fs/cgroup";
  return cgroup_room({root + cgroup_path(""), root}, "memory.max", "memory.current");
}

std::optional<uint64_t> cgroup_v1_room() {
  const std::string root = "/sys/fs/cgroup/memory";
  return cgroup_room({root + cgroup_path("memory"), root}, "memory.limit_in_bytes",
                     "memory.usage_in_bytes");
}

// Room under a resource limit: the limit less what the process uses of it now.
std::optional<uint64_t> rlimit_room(int resource, std::string_view status_key) {
  rlimit r{};
  if (getrlimit(resource, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return std::nullopt;
  const auto used = proc_kb_field(read_file("/proc/self/status").value_or(""), status_key);
  const uint64_t limit = r.rlim_cur;
  return limit > used.value_or(0) ? limit - used.value_or(0) : 0;
}

}  // namespace

std::optional<uint64_t> proc_kb_field(std::string_view text, std::string_view key) {
  for (size_t at = 0; at < text.size();) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') continue;
    const std::string value(line.substr(key.size() + 1));
    char* rest = nullptr;
    const unsigned long long n = std::strtoull(value.c_str(), &rest, 10);
    if (rest == value.c_str()) return std::nullopt;
    const bool kb = std::string_view(rest).find("kB") != std::string_view::npos;
    return uint64_t(n) * (kb ? 1024 : 1);
  }
  return std::nullopt;
}

Expected<uint64_t> parse_byte_count(std::string_view text) {
  static constexpr std::string_view kUnits = "KMGT";
  const std::string s(text);
  char* rest = nullptr;
  const double value = std::strtod(s.c_str(), &rest);
  std::string_view suffix(rest);
  if (!suffix.empty() && std::toupper(static_cast<unsigned char>(suffix.back())) == 'B') suffix.remove_suffix(1);
  const size_t unit = suffix.size() == 1 ? kUnits.find(char(std::toupper(static_cast<unsigned char>(suffix[0]))))
                                         : std::string_view::npos;
  const double bytes = value * std::pow(1000.0, suffix.empty() ? 0.0 : double(unit + 1));
  const bool number = !s.empty() && std::isdigit(static_cast<unsigned char>(s[0])) && rest != s.c_str();
  if (!number || (!suffix.empty() && unit == std::string_view::npos) || !(bytes < 9e18)) {
    return make_error("'{}' is not a byte count (use e.g. 2000000000, 500M or 1.5G)", text);
  }
  return uint64_t(std::llround(bytes));
}

std::string format_bytes(uint64_t bytes) {
  const double b = double(bytes);
  if (b >= 1e9) return fmt::format("{:.1f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.1f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} kB", b / 1e3);
  return fmt::format("{} bytes", bytes);
}

Expected<AvailableMemory> available_memory() {
  if (const char* env = std::getenv(kMemoryLimitVariable); env && *env) {
    auto bytes = parse_byte_count(env);
    if (!bytes) return bytes.status().with_context(kMemoryLimitVariable);
    return AvailableMemory{*bytes, kMemoryLimitVariable};
  }
  AvailableMemory best{UINT64_MAX, "no limit found"};
  auto consider = [&](std::optional<uint64_t> bytes, const char* source) {
    if (bytes && *bytes < best.bytes) best = AvailableMemory{*bytes, source};
  };
  consider(proc_kb_field(read_file("/proc/meminfo").value_or(""), "MemAvailable"), "MemAvailable");
  consider(cgroup_v2_room(), "cgroup memory.max");
  consider(cgroup_v1_room(), "cgroup memory.limit_in_bytes");
  consider(rlimit_room(RLIMIT_AS, "VmSize"), "RLIMIT_AS");
  consider(rlimit_room(RLIMIT_DATA, "VmData"), "RLIMIT_DATA");
  return best;
}

Status check_memory(uint64_t need, std::string_view what, const MemoryAdvice& advice) {
  auto available = available_memory();
  if (!available) return available.status();
  if (need <= available->bytes) return Status::ok();
  const std::string fits = advice ? advice(available->bytes) : "";
  return make_error("{} needs about {} of host memory but {} is available ({}){}", what,
                    format_bytes(need), format_bytes(available->bytes), available->source,
                    fits.empty() ? "" : "; " + fits + " would fit");
}

}  // namespace wafer
