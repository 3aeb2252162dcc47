// Entry point of the `wafer` command: builds the CLI11 app from the subcommands and runs the
// chosen one. Exit code 0 only on success; usage errors exit 2, run errors 1, an interrupt 130.
//
// Usage errors never show CLI11's own text: an unknown verb or flag is named with the nearest
// one (support/suggest.hpp), a value that does not convert names the flag, the value and what
// was expected. Whatever a verb printed must reach stdout: a write error there (a full disk, a
// closed pipe: SIGPIPE is ignored so that it is EPIPE) is an error with exit 1.
//
// Every argument must be valid UTF-8, since names and paths reach JSON output. No exception
// leaves main: running out of memory, and any other exception, is one `wafer: error:` line
// and exit 1. SIGINT and SIGTERM (unless the parent ignores them) print `wafer: interrupted`
// (or `terminated`), remove the temporary file of a result being written
// (support/atomic_file.hpp), so that the path keeps its old file or none, and exit at once
// with 128 + the signal number.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <regex>
#include <string_view>
#include <system_error>
#include <vector>

#include "commands.hpp"
#include "wafer/support/atomic_file.hpp"
#include "wafer/support/suggest.hpp"
#include "wafer/support/text_file.hpp"

namespace wafer::cli {

int report_error(const std::string& message) {
  std::fprintf(stderr, "wafer: error: %s\n", message.c_str());
  return 1;
}

int report_error(const Status& status) { return report_error(status.message()); }

int report_usage_error(const std::string& message) {
  std::fprintf(stderr, "wafer: error: %s\n", message.c_str());
  std::fprintf(stderr, "run 'wafer --help' or 'wafer <verb> --help' for usage\n");
  return 2;
}

int report_usage_error(const Status& status) { return report_usage_error(status.message()); }

void warn(const std::string& message) { std::fprintf(stderr, "wafer: warning: %s\n", message.c_str()); }

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
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe is EPIPE, reported like any write error
}

std::vector<CLI::App*> verbs_of(CLI::App& app) {
  return app.get_subcommands([](CLI::App*) { return true; });
}

std::string verb_names(CLI::App& app) {
  std::string names;
  for (CLI::App* v : verbs_of(app)) names += (names.empty() ? "" : ", ") + v->get_name();
  return names;
}

// "wafer estimate" for the estimate app.
std::string command_path(const CLI::App& app) {
  const CLI::App* parent = app.get_parent();
  return parent ? command_path(*parent) + " " + app.get_name() : "wafer";
}

// The verbs named on the command line, before CLI11 sees them: `wafer frob` is an unknown
// verb with a suggestion, not "a subcommand is required".
Status check_verbs(CLI::App& app, int argc, char** argv) {
  CLI::App* current = &app;
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    std::vector<CLI::App*> verbs = verbs_of(*current);
    if (verbs.empty()) break;
    auto it = std::find_if(verbs.begin(), verbs.end(), [&](CLI::App* v) { return v->get_name() == argv[i]; });
    if (it == verbs.end()) {
      std::vector<std::string_view> names;
      for (CLI::App* v : verbs) names.push_back(v->get_name());
      return make_error("unknown verb '{}' for '{}'{}; verbs: {}", argv[i], command_path(*current),
                        suggestion(argv[i], names), verb_names(*current));
    }
    current = *it;
  }
  return Status::ok();
}

// Extra words are allowed while parsing so that they can be named here, with the nearest flag.
void allow_extras(CLI::App& app) {
  for (CLI::App* v : verbs_of(app)) {
    v->allow_extras();
    allow_extras(*v);
  }
}

CLI::App& deepest_parsed(CLI::App& app) {
  const auto& parsed = app.get_subcommands();
  return parsed.empty() ? app : deepest_parsed(*parsed.back());
}

Status check_extras(CLI::App& app) {
  CLI::App& verb = deepest_parsed(app);
  const std::vector<std::string> extras = verb.remaining();
  if (extras.empty()) return Status::ok();
  const std::string& word = extras.front();
  if (word.empty() || word[0] != '-')
    return make_error("unexpected argument '{}' for '{}'", word, command_path(verb));
  std::vector<std::string> flags;
  for (const CLI::Option* o : verb.get_options())
    for (const std::string& name : o->get_lnames()) flags.push_back("--" + name);
  std::vector<std::string_view> names(flags.begin(), flags.end());
  const std::string flag = word.substr(0, word.find('='));
  return make_error("unknown flag '{}' for '{}'{}", flag, command_path(verb), suggestion(flag, names));
}

// What an option's CLI11 type name means to a user.
std::string expected_value(const CLI::Option* o) {
  const std::string type = o ? o->get_type_name() : "";
  if (type == "INT") return "an integer";
  if (type == "UINT") return "a non-negative integer";
  if (type == "FLOAT") return "a number";
  return "a value of the flag's type";
}

// CLI11's messages, rephrased: the flag, the value and what was expected; no parser jargon.
std::string rephrase(CLI::App& app, const CLI::ParseError& e) {
  const std::string what = e.what();
  std::smatch m;
  if (e.get_name() == "ConversionError" &&
      std::regex_match(what, m, std::regex("Could not convert: (\\S+) = (.*)"))) {
    const CLI::Option* o = deepest_parsed(app).get_option_no_throw(m[1].str());
    return fmt::format("{}: expected {}, got '{}'", m[1].str(), expected_value(o), m[2].str());
  }
  if (e.get_name() == "ArgumentMismatch" && std::regex_search(what, m, std::regex("(--[A-Za-z0-9-]+)")))
    return fmt::format("{}: a value is required", m[1].str());
  if (e.get_name() == "RequiredError" && what.rfind("A subcommand", 0) == 0) {
    CLI::App& verb = deepest_parsed(app);
    return fmt::format("'{}' needs a verb: {}", command_path(verb), verb_names(verb));
  }
  if (e.get_name() == "ExtrasError") return "unexpected arguments: " + what.substr(what.find(':') + 2);
  return what.empty() ? what : lower_first(what);
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
  add_ulp(app, run);
  add_estimate(app, run);
  add_cluster(app, run);
  add_compile(app, run);
  add_run(app, run);
  allow_extras(app);
  if (Status verbs = check_verbs(app, argc, argv); !verbs) return report_usage_error(verbs);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    if (Status extras = check_extras(app); !extras) return report_usage_error(extras);  // the cause
    return report_usage_error(rephrase(app, e));
  }
  if (Status extras = check_extras(app); !extras) return report_usage_error(extras);
  if (Status utf8 = check_arguments_utf8(argc, argv); !utf8) return report_usage_error(utf8);
  return run ? run() : 2;
}

// Output that did not reach stdout is an error even when the verb succeeded.
int flush_stdout(int code) {
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return code;
  report_error(fmt::format("cannot write to stdout: {}", os_error_text(errno)));
  return code == 0 ? 1 : code;
}

}  // namespace

}  // namespace wafer::cli

int main(int argc, char** argv) {
  using wafer::cli::report_error;
  wafer::cli::install_stop_handlers();
  try {
    return wafer::cli::flush_stdout(wafer::cli::run_command(argc, argv));
  } catch (const std::system_error& e) {  // fmt::print's write error
    if (!std::ferror(stdout)) return report_error(e.what());
    return report_error(fmt::format("cannot write to stdout: {}", wafer::os_error_text(e.code().value())));
  } catch (const std::bad_alloc& e) {
    return report_error(fmt::format("out of memory: {}", e.what()));
  } catch (const std::exception& e) {
    return report_error(e.what());
  } catch (...) {
    return report_error("unexpected internal error");
  }
}
