// Every file of the fuzzer's corpus (fuzz/corpus/program_text) parses to a Program that
// round-trips through the printer, or fails with a `file:line:col: ` message: inputs the fuzzer
// once found interesting stay covered by the ordinary test run.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "program_equal.hpp"
#include "wafer/ir/text.hpp"

namespace wafer::ir {
namespace {

TEST(Corpus, EveryFileParsesOrFailsWithALocation) {
  const std::filesystem::path dir =
      std::filesystem::path(WAFER_SOURCE_DIR) / "fuzz/corpus/program_text";
  const std::regex located(R"(^[^\n]*:[0-9]+:[0-9]+: [^\n]+$)");
  int files = 0, parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    ++files;
    Expected<Program> p = load_program_file(path);
    if (!p) {
      EXPECT_EQ(p.message().rfind(path + ":", 0), 0u) << p.message();
      EXPECT_TRUE(std::regex_match(p.message(), located)) << p.message();
      continue;
    }
    ++parsed;
    SCOPED_TRACE(path);
    testing::expect_round_trip(*p);
  }
  EXPECT_GE(files, 12);
  EXPECT_GE(parsed, 6);
}

}  // namespace
}  // namespace wafer::ir
