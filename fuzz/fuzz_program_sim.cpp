// libFuzzer target that runs program texts on the simulator (fuzz/README.md).
//
// Every input goes through check_program_sim (program_sim_check.hpp, shared with the corpus
// test): parse, verify against the program's arch, and, for a valid program within the
// bounds (PEs, host operations, values, max_cycles), three runs of its host script that must
// agree (one thread and superstep 1; two threads and supersteps 16 and 0). A broken
// invariant aborts with the input; sanitizers catch the rest.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "program_sim_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const wafer::fuzz::SimCheck c = wafer::fuzz::check_program_sim(text, "fuzz");
  if (c.violation.empty()) return 0;
  std::fprintf(stderr, "fuzz_program_sim: %s\nmessage: %s\ninput:\n%s\n", c.violation.c_str(),
               c.message.c_str(), text.c_str());
  std::abort();
}
