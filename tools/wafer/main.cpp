// Entry point of the `wafer` command: builds the CLI11 app from the subcommands and runs the
// chosen one. Exit code 0 only on success; usage errors exit 2, run errors 1.
#include <cstdio>

#include "commands.hpp"

namespace wafer::cli {

int report_error(const std::string& message) {
  std::fprintf(stderr, "wafer: error: %s\n", message.c_str());
  return 1;
}

int report_error(const Status& status) { return report_error(status.message()); }

}  // namespace wafer::cli

int main(int argc, char** argv) {
  CLI::App app{"wafer: a cycle-level simulator of a wafer-scale AI processor"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "wafer 0.1.0");
  wafer::cli::Runner run;
  wafer::cli::add_info(app, run);
  wafer::cli::add_sim(app, run);
  wafer::cli::add_kernel(app, run);
  wafer::cli::add_bench(app, run);
  wafer::cli::add_yield(app, run);
  wafer::cli::add_estimate(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "wafer: error: %s\n", e.what());
    std::fprintf(stderr, "run 'wafer --help' or 'wafer <verb> --help' for usage\n");
    return 2;
  }
  return run ? run() : 2;
}
