// libFuzzer target for the program text format (fuzz/README.md).
//
// Every input goes through parse_program. A failure must carry a `fuzz:LINE:COL: ` prefix.
// A success must print to text that parses again and prints to the same text (the printer's
// output is a fixed point, so print -> parse loses nothing), and verify() against wse3 must
// return, with the same verdict for the reparsed program. Sanitizers catch the rest.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "wafer/arch/arch.hpp"
#include "wafer/ir/text.hpp"
#include "wafer/ir/verify.hpp"

namespace {

[[noreturn]] void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_program_text: %s\n%s\n", what, detail.c_str());
  std::abort();
}

bool has_location_prefix(const std::string& message) {
  const std::string file = "fuzz:";
  if (message.rfind(file, 0) != 0) return false;
  size_t at = file.size();
  for (int field = 0; field < 2; ++field) {
    const size_t digits = at;
    while (at < message.size() && message[at] >= '0' && message[at] <= '9') ++at;
    if (at == digits || at >= message.size() || message[at] != ':') return false;
    ++at;
  }
  return message.compare(at, 1, " ") == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wafer;
  static const arch::Arch wse3 = *arch::preset("wse3");
  const std::string text(reinterpret_cast<const char*>(data), size);
  const Expected<ir::Program> program = ir::parse_program(text, "fuzz");
  if (!program) {
    if (!has_location_prefix(program.message()))
      die("error without file:line:col", program.message());
    return 0;
  }
  const std::string printed = ir::print_program(*program);
  const Expected<ir::Program> again = ir::parse_program(printed, "printed");
  if (!again) die("printed program does not parse", again.message() + "\n" + printed);
  if (ir::print_program(*again) != printed) die("printing is not a fixed point", printed);
  const bool ok = bool(ir::verify(*program, wse3));
  if (ok != bool(ir::verify(*again, wse3))) die("verify differs after a round trip", printed);
  return 0;
}
