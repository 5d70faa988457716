// refgraph: the command-line tool. Wiring only: each command group lives in its own cmd_*.cpp.
//
// Exit status: 0 success, 1 bad input (a refgraph::Error: unreadable dump, unknown type or id, failed render),
// 2 usage error (CLI11 could not parse the command line). Every failure is one line on stderr.
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "common.hpp"
#include "refgraph/errors.hpp"

namespace {

std::string one_line(std::string message) {
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return refgraph::cli::printable(message);
}

int fail(const std::string& kind, const std::string& message, int status) {
  std::fflush(stdout);
  std::fprintf(stderr, "refgraph: %s: %s\n", kind.c_str(), one_line(message).c_str());
  return status;
}

int run(int argc, char** argv) {
  using namespace refgraph::cli;
  CLI::App app("refgraph: find what keeps Python objects alive, from heap dumps", "refgraph");
  app.set_version_flag("--version", "refgraph " REFGRAPH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the command
  app.add_flag("--timing", globals().timing, "print load and query times on stderr")->group("");  // hidden
  app.footer("Exit status: 0 success, 1 bad input, 2 usage error. Docs: docs/cli.md");

  add_stats_commands(app);
  add_chain_command(app);
  add_draw_commands(app);
  add_io_commands(app);
  add_attach_command(app);
  add_retained_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string where = app.get_subcommands().empty() ? "refgraph" : "refgraph " + app.get_subcommands()[0]->get_name();
    return fail("usage error", std::string(e.what()) + " (see '" + where + " --help')", 2);
  }
  Timer::instance().report();
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) return fail("error", "writing to standard output failed", 1);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const refgraph::Error& e) {
    return fail("error", e.what(), 1);
  } catch (const std::bad_alloc&) {
    return fail("error", "out of memory", 1);
  } catch (const std::exception& e) {
    return fail("error", e.what(), 1);
  } catch (...) {
    return fail("error", "unknown failure", 1);
  }
}
