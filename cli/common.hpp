// cli/common.hpp: what every `refgraph` command shares: loading dumps (with a progress line), parsing ids and
// type names, human sizes, aligned tables, JSON output, and the --timing clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "refgraph/graph.hpp"
#include "refgraph/units.hpp"

namespace refgraph::cli {

using refgraph::human_size;

using Json = nlohmann::ordered_json;  // keys stay in the order written: the schema reads top to bottom

// Global switches, set by main before a command runs.
struct Globals {
  bool timing = false;  // hidden --timing: load and query times on stderr (for benchmarks/bench_core.py)
};
Globals& globals();

// Load time and query time, printed on stderr at exit when --timing is on.
class Timer {
 public:
  static Timer& instance();
  void add_load(double seconds) { load_ += seconds; }
  void start_query() {
    query_start_ = std::chrono::steady_clock::now();
    query_started_ = true;
  }
  void stop_query();
  void report() const;

 private:
  double load_ = 0.0, query_ = 0.0;
  std::chrono::steady_clock::time_point query_start_{};
  bool query_started_ = false;
};

// Loads a .rgd or .jsonl dump; a progress line on stderr while loading a large one when stderr is a terminal.
HeapGraph load(const std::string& path);

// "4096", "0x1000" -> 4096; throws QueryError naming the text otherwise.
std::uint64_t parse_id(const std::string& text);
std::string hex(std::uint64_t id);

// The node with this id; QueryError naming the dump otherwise.
NodeIndex node_by_id(const HeapGraph& g, const std::string& dump, const std::string& id_text);
// Every node of this type in NodeIndex order; QueryError naming the type and suggesting similar names if none.
std::vector<NodeIndex> nodes_of_type(const HeapGraph& g, const std::string& dump, const std::string& type);
// Up to five type names of `g` that look like `wanted` (case, typos, substrings), best first.
std::vector<std::string> similar_types(const HeapGraph& g, const std::string& wanted);

std::string with_sign(std::int64_t n);      // "+12", "-3", "0"
std::string iso_time(double unix_seconds);  // "2026-11-21T19:20:46Z", "" for 0

// Text for one terminal line: control characters escaped, invalid UTF-8 bytes shown as \xNN.
std::string printable(std::string_view text);

// Columns padded to the widest cell; `right[i]` right-aligns column i (numbers).
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> right);
  void add(std::vector<std::string> row);
  std::string str(const std::string& indent = "  ") const;

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_;
};

// Writes JSON to stdout (invalid UTF-8 replaced, never thrown on), with a final newline.
void print_json(const Json& j);

// A node as JSON: {"id", "type", "label", "size", "root"}.
Json node_json(const HeapGraph& g, NodeIndex n);
// "after.rgd (pid 1234, tag 'after')" style description of a dump for section headers.
std::string describe_dump(const HeapGraph& g, const std::string& path);

// Command registration, one function per group.
void add_stats_commands(CLI::App& app);     // info, summary, growth
void add_chain_command(CLI::App& app);      // chain
void add_draw_commands(CLI::App& app);      // backrefs, refs
void add_io_commands(CLI::App& app);        // export, import
void add_attach_command(CLI::App& app);     // attach
void add_retained_commands(CLI::App& app);  // retained, dominators, suspects

}  // namespace refgraph::cli
