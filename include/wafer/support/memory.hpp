// Host memory available to this process, and the check that refuses work needing more.
//
// available_memory() is the least of: the kernel's MemAvailable (/proc/meminfo); the room
// under the process's cgroup limit when one is set (v2: memory.max - memory.current, v1:
// memory.limit_in_bytes - memory.usage_in_bytes); and the room under RLIMIT_AS and
// RLIMIT_DATA when set (the limit less the process's VmSize or VmData). The environment
// variable WAFER_MEMORY_LIMIT replaces that figure (bytes, or a number with a K, M, G or T
// suffix in powers of 1000), so that tests and cautious users get a deterministic budget.
// check_memory() compares a caller's estimate with it before anything large is allocated: a
// run that does not fit ends with a message saying how much it needs, how much there is, and
// what would fit, instead of std::bad_alloc or the kernel's OOM killer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "wafer/support/error.hpp"

namespace wafer {

// The environment variable that overrides the available figure.
inline constexpr const char* kMemoryLimitVariable = "WAFER_MEMORY_LIMIT";

struct AvailableMemory {
  uint64_t bytes = 0;
  std::string source;  // what limits it: "MemAvailable", "cgroup limit", "RLIMIT_AS", ...
};

// Bytes this process may still allocate; an error only for a malformed WAFER_MEMORY_LIMIT.
Expected<AvailableMemory> available_memory();

// The value of a "Key:   N kB" line of /proc/meminfo or /proc/self/status, in bytes.
std::optional<uint64_t> proc_kb_field(std::string_view text, std::string_view key);
// "1048576", "100M", "2.5G", "64KB" (K, M, G, T: powers of 1000; case-insensitive).
Expected<uint64_t> parse_byte_count(std::string_view text);
// "31.2 GB", "512.0 MB", "4.1 kB", "900 bytes" (powers of 1000).
std::string format_bytes(uint64_t bytes);

// What would fit in `available` bytes as a phrase ("a grid of at most 300x400"), or "".
using MemoryAdvice = std::function<std::string(uint64_t available)>;

// Ok when `need` bytes fit in available_memory(); otherwise "<what> needs about N of host
// memory but M is available (source); <advice> would fit".
Status check_memory(uint64_t need, std::string_view what, const MemoryAdvice& advice = nullptr);

}  // namespace wafer
