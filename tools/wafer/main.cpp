// Entry point of the `wafer` command: builds the CLI11 app from the subcommands and runs the
// chosen one. Exit code 0 only on success; usage errors exit 2, run errors 1, an interrupt 130.
//
// Every argument must be valid UTF-8, since names and paths reach JSON output. No exception
// leaves main: running out of memory, and any other exception, is one `wafer: error:` line
// and exit 1. SIGINT and SIGTERM (unless the parent ignores them) print `wafer: interrupted`
// (or `terminated`), remove the temporary file of a result being written
// (support/atomic_file.hpp), so that the path keeps its old file or none, and exit at once
// with 128 + the signal number.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "commands.hpp"
#include "wafer/support/atomic_file.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer::cli {

int report_error(const std::string& message) {
  std::fprintf(stderr, "wafer: error: %s\n", message.c_str());
  return 1;
}

int report_error(const Status& status) { return report_error(status.message()); }

namespace {

// Set once before the handlers are installed: clear a progress line on a terminal first.
bool g_stderr_is_tty = false;

void write_stderr(const char* text) { (void)!::write(STDERR_FILENO, text, std::strlen(text)); }

// Async-signal-safe only: write, unlink (in remove_pending_files) and _exit.
void on_stop_signal(int signo) {
  if (g_stderr_is_tty) write_stderr("\r\033[K");
  write_stderr(signo == SIGINT ? "wafer: interrupted\n" : "wafer: terminated\n");
  remove_pending_files();
  ::_exit(128 + signo);
}

// A signal ignored by the parent (a background job of a script, nohup) stays ignored.
void install_stop_handlers() {
  g_stderr_is_tty = ::isatty(STDERR_FILENO) != 0;
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  for (int signo : {SIGINT, SIGTERM}) {
    struct sigaction inherited = {};
    ::sigaction(signo, nullptr, &inherited);
    if (inherited.sa_handler != SIG_IGN) ::sigaction(signo, &action, nullptr);
  }
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "wafer: error: %s\n", message.c_str());
  std::fprintf(stderr, "run 'wafer --help' or 'wafer <verb> --help' for usage\n");
  return 2;
}

Status check_arguments_utf8(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (invalid_utf8_at(argv[i]) != std::string::npos)
      return make_error("argument '{}' is not valid UTF-8 (names and paths must be)", escaped_bytes(argv[i]));
  }
  return Status::ok();
}

int run_command(int argc, char** argv) {
  CLI::App app{"wafer: a cycle-level simulator of a wafer-scale AI processor"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "wafer 0.1.0");
  Runner run;
  add_info(app, run);
  add_sim(app, run);
  add_kernel(app, run);
  add_bench(app, run);
  add_yield(app, run);
  add_estimate(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return usage_error(e.what());
  }
  if (Status utf8 = check_arguments_utf8(argc, argv); !utf8) return usage_error(utf8.message());
  return run ? run() : 2;
}

}  // namespace

}  // namespace wafer::cli

int main(int argc, char** argv) {
  using wafer::cli::report_error;
  wafer::cli::install_stop_handlers();
  try {
    return wafer::cli::run_command(argc, argv);
  } catch (const std::bad_alloc& e) {
    return report_error(fmt::format("out of memory: {}", e.what()));
  } catch (const std::exception& e) {
    return report_error(e.what());
  } catch (...) {
    return report_error("unexpected internal error");
  }
}
