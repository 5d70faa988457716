// `refgraph export` and `refgraph import`: between the binary .rgd format and JSON Lines.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "common.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"

namespace refgraph::cli {

namespace {

struct ExportArgs {
  std::string dump;
  bool jsonl = false;
  std::string output;
};

void run_export(const ExportArgs& a) {
  if (!a.jsonl) throw QueryError("export needs --jsonl (the only export format so far)");
  HeapGraph g = load(a.dump);
  Timer::instance().start_query();
  write_jsonl(g, a.output.empty() ? "-" : a.output);
  Timer::instance().stop_query();
}

struct ImportArgs {
  std::string input;
  std::string output;
  bool json = false;
};

void run_import(const ImportArgs& a) {
  if (a.json && a.output == "-") throw QueryError("import: --json and -o - would both write to standard output");
  auto t0 = std::chrono::steady_clock::now();
  HeapGraph g;
  if (a.input == "-") {
    g = read_jsonl(std::cin, "<stdin>");
  } else {
    g = read_jsonl(a.input);
  }
  Timer::instance().add_load(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  Timer::instance().start_query();
  write_dump(g, a.output);
  Timer::instance().stop_query();
  if (a.json) {
    Json j;
    j["schema"] = "refgraph.import/1";
    j["input"] = a.input;
    j["output"] = a.output;
    j["num_nodes"] = g.num_nodes();
    j["num_edges"] = g.num_edges();
    print_json(j);
  } else {
    // With the dump on standard output, the summary goes to stderr.
    std::fprintf(a.output == "-" ? stderr : stdout, "wrote %s: %zu objects, %zu references\n",
                 printable(a.output).c_str(), g.num_nodes(), g.num_edges());
  }
}

}  // namespace

void add_io_commands(CLI::App& app) {
  auto e = std::make_shared<ExportArgs>();
  CLI::App* c = app.add_subcommand("export", "Write a dump as JSON Lines");
  c->add_option("DUMP", e->dump, "dump file (.rgd or .jsonl)")->required();
  c->add_flag("--jsonl", e->jsonl, "JSON Lines, one object a line (see docs/dump-format.md)")->required();
  c->add_option("-o,--output", e->output, "output file (default: standard output)");
  c->callback([e] { run_export(*e); });

  auto i = std::make_shared<ImportArgs>();
  c = app.add_subcommand("import", "Convert a JSON Lines dump to the binary .rgd format");
  c->add_option("FILE", i->input, "JSON Lines file, or - for standard input")->required();
  c->add_option("-o,--output", i->output, "the .rgd file to write, or - for standard output")->required();
  c->add_flag("--json", i->json, "machine-readable output (schema refgraph.import/1)");
  c->callback([i] { run_import(*i); });
}

}  // namespace refgraph::cli
