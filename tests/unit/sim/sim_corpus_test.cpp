// The corpus of fuzz_program_sim (fuzz/corpus/program_sim), replayed on every test run through
// the fuzzer's own routine (fuzz/program_sim_check.hpp): parse, verify, and for a valid
// program within the bounds three runs of its host script (one thread and superstep 1, two
// threads and supersteps 16 and 0) that must agree on status, cycles, outputs and counters,
// an error of any stage having a message and a failed run naming a PE or a cycle. The corpus
// keeps programs that finish, that fail at run time, and that the parser or verify rejects.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "../../../fuzz/program_sim_check.hpp"

namespace wafer::fuzz {
namespace {

TEST(SimCorpus, SmallArchIsValid) {
  const Status s = arch::validate(small_arch());
  EXPECT_TRUE(s) << s.message();
}

TEST(SimCorpus, EveryFileKeepsTheInvariants) {
  const std::filesystem::path dir =
      std::filesystem::path(WAFER_SOURCE_DIR) / "fuzz/corpus/program_sim";
  std::map<SimOutcome, int> outcomes;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const SimCheck c = check_program_sim(text, entry.path().filename().string());
    EXPECT_EQ(c.violation, "") << entry.path() << ": " << c.message;
    ++outcomes[c.outcome];
  }
  EXPECT_GE(outcomes[SimOutcome::finished], 30);
  EXPECT_GE(outcomes[SimOutcome::run_error], 5);
  EXPECT_GE(outcomes[SimOutcome::parse_error] + outcomes[SimOutcome::verify_error], 5);
}

// The bounds the fuzzer applies: too many PEs or launches is refused before anything runs, and
// max_cycles shrinks with the PEs and the runs.
TEST(SimCorpus, BoundsRefuseLargeProgramsBeforeRunning) {
  EXPECT_EQ(check_program_sim("program 64 17\n", "t").outcome, SimOutcome::too_big);
  std::string launches = "program 1 1\ncode c { task main local 1 { ret } }\nplace c 0 0 1 1\n";
  for (int i = 0; i <= kMaxLaunches; ++i) launches += "host { launch main 0 0 1 1 }\n";
  EXPECT_EQ(check_program_sim(launches, "t").outcome, SimOutcome::too_big);
  ir::Program p;
  p.width = 32;
  p.height = 32;
  EXPECT_EQ(detail::max_cycles(p), kPeCycleBudget / 1024);
  p.width = p.height = 1;
  EXPECT_EQ(detail::max_cycles(p), kMaxCycles);
}

}  // namespace
}  // namespace wafer::fuzz
