// Tests of the available-memory facility: /proc "Key: N kB" parsing, byte counts with
// suffixes, the byte formatting of messages, and the refusal through WAFER_MEMORY_LIMIT.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "wafer/support/memory.hpp"

namespace wafer {
namespace {

// Sets WAFER_MEMORY_LIMIT for one test and restores it after.
class MemoryLimit {
 public:
  explicit MemoryLimit(const char* value) {
    if (const char* old = std::getenv(kMemoryLimitVariable)) old_ = old;
    setenv(kMemoryLimitVariable, value, 1);
  }
  ~MemoryLimit() {
    if (old_.empty()) unsetenv(kMemoryLimitVariable);
    else setenv(kMemoryLimitVariable, old_.c_str(), 1);
  }

 private:
  std::string old_;
};

TEST(Memory, ProcFieldsInBytes) {
  const std::string meminfo =
      "MemTotal:       24683748 kB\n"
      "MemFree:        23149748 kB\n"
      "MemAvailable:   23565736 kB\n"
      "HugePages_Total:       0\n";
  EXPECT_EQ(proc_kb_field(meminfo, "MemAvailable"), uint64_t(23565736) * 1024);
  EXPECT_EQ(proc_kb_field(meminfo, "MemTotal"), uint64_t(24683748) * 1024);
  EXPECT_EQ(proc_kb_field(meminfo, "HugePages_Total"), 0u);
  EXPECT_FALSE(proc_kb_field(meminfo, "MemAvail").has_value());  // a prefix is not the key
  EXPECT_FALSE(proc_kb_field(meminfo, "SwapFree").has_value());
  EXPECT_FALSE(proc_kb_field("MemAvailable: none\n", "MemAvailable").has_value());
  EXPECT_EQ(proc_kb_field("VmSize:\t  123 kB", "VmSize"), uint64_t(123) * 1024);  // no final newline
}

TEST(Memory, ByteCounts) {
  EXPECT_EQ(*parse_byte_count("1048576"), 1048576u);
  EXPECT_EQ(*parse_byte_count("100M"), 100'000'000u);
  EXPECT_EQ(*parse_byte_count("100m"), 100'000'000u);
  EXPECT_EQ(*parse_byte_count("64KB"), 64'000u);
  EXPECT_EQ(*parse_byte_count("1.5G"), 1'500'000'000u);
  EXPECT_EQ(*parse_byte_count("2T"), 2'000'000'000'000u);
  EXPECT_EQ(*parse_byte_count("512B"), 512u);
  for (const char* bad : {"", "abc", "-5M", "10X", "10MiB", "M", "1e30"}) {
    auto r = parse_byte_count(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.message().find("is not a byte count"), std::string::npos) << r.message();
  }
}

TEST(Memory, FormatBytes) {
  EXPECT_EQ(format_bytes(900), "900 bytes");
  EXPECT_EQ(format_bytes(4100), "4.1 kB");
  EXPECT_EQ(format_bytes(100'000'000), "100.0 MB");
  EXPECT_EQ(format_bytes(31'200'000'000), "31.2 GB");
}

TEST(Memory, OverrideSetsTheAvailableFigure) {
  MemoryLimit limit("250M");
  auto a = available_memory();
  ASSERT_TRUE(a.has_value()) << a.message();
  EXPECT_EQ(a->bytes, 250'000'000u);
  EXPECT_EQ(a->source, "WAFER_MEMORY_LIMIT");
}

TEST(Memory, MalformedOverrideIsAnErrorNamingTheVariable) {
  MemoryLimit limit("lots");
  auto a = available_memory();
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.message(), "WAFER_MEMORY_LIMIT: 'lots' is not a byte count (use e.g. 2000000000, 500M or 1.5G)");
  EXPECT_FALSE(check_memory(1, "anything"));
}

TEST(Memory, WithoutOverrideSomethingIsAvailable) {
  MemoryLimit limit("");  // empty: not set
  auto a = available_memory();
  ASSERT_TRUE(a.has_value()) << a.message();
  EXPECT_GT(a->bytes, 0u);
  EXPECT_NE(a->source, "WAFER_MEMORY_LIMIT");
}

TEST(Memory, CheckRefusesWithNeedAvailableAndAdvice) {
  MemoryLimit limit("100M");
  EXPECT_TRUE(check_memory(100'000'000, "a job"));
  uint64_t seen = 0;
  Status st = check_memory(2'500'000'000, "simulating a job", [&](uint64_t available) {
    seen = available;
    return std::string("a smaller job");
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(seen, 100'000'000u);
  EXPECT_EQ(st.message(),
            "simulating a job needs about 2.5 GB of host memory but 100.0 MB is available "
            "(WAFER_MEMORY_LIMIT); a smaller job would fit");
  Status plain = check_memory(2'500'000'000, "a job", [](uint64_t) { return std::string(); });
  EXPECT_EQ(plain.message(), "a job needs about 2.5 GB of host memory but 100.0 MB is available (WAFER_MEMORY_LIMIT)");
}

}  // namespace
}  // namespace wafer
