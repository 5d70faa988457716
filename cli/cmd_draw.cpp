// `refgraph backrefs` and `refgraph refs`: draw the neighbourhood of some objects (objgraph's show_backrefs and
// show_refs).
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "common.hpp"
#include "refgraph/dot.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/neighbourhood.hpp"
#include "refgraph/render.hpp"

namespace refgraph::cli {

namespace {

struct DrawArgs {
  Direction direction = Direction::Back;
  std::string dump;
  std::vector<std::string> ids;
  std::string type;
  std::size_t limit = 1;
  std::size_t depth = 3;
  std::size_t too_many = 10;
  std::size_t max_objects = kMaxDrawnObjects;  // Graphviz's dot layout takes seconds at a few thousand nodes
  std::vector<std::string> include_types;
  std::vector<std::string> exclude_types;
  std::vector<std::string> ignore_ids;
  bool no_chain = false;
  std::size_t max_label = 40;
  std::string title;
  std::string output;
  std::string format;
  bool json = false;
};

void run_draw(const DrawArgs& a) {
  if (a.json && a.output == "-") throw QueryError("--json and -o - would both write to standard output");
  Format format = a.format.empty() ? format_from_path(a.output) : parse_format(a.format);  // before loading
  prewarm(format);  // Graphviz starts up while the dump loads
  HeapGraph g = load(a.dump);
  Timer::instance().start_query();
  std::vector<NodeIndex> start;
  std::size_t of_type = 0;
  if (!a.type.empty()) {
    std::vector<NodeIndex> all = nodes_of_type(g, a.dump, a.type);
    of_type = all.size();
    if (a.limit != 0 && all.size() > a.limit) all.resize(a.limit);  // the lowest ids: deterministic
    start = std::move(all);
  }
  for (const std::string& id : a.ids) start.push_back(node_by_id(g, a.dump, id));
  std::sort(start.begin(), start.end());
  start.erase(std::unique(start.begin(), start.end()), start.end());

  NeighbourhoodOptions o;
  o.direction = a.direction;
  o.max_depth = a.depth;
  o.too_many = a.too_many;
  o.max_nodes = a.max_objects == 0 ? kMaxDrawnObjects : std::min(a.max_objects, kMaxDrawnObjects);
  o.include_types = a.include_types;
  o.exclude_types = a.exclude_types;
  for (const std::string& id : a.ignore_ids) o.ignore.push_back(node_by_id(g, a.dump, id));
  o.highlight_chains = !a.no_chain && a.direction == Direction::Back;
  Subgraph s = neighbourhood(g, start, o);

  DotOptions d;
  d.max_label_chars = a.max_label;
  d.title = a.title;
  if (d.title.empty()) {
    d.title = std::string(a.direction == Direction::Back ? "back-references of " : "references from ");
    if (start.size() == 1) {
      d.title += std::string(g.type_name(start[0])) + " " + hex(g.id(start[0]));
    } else {
      d.title += std::to_string(start.size()) + " objects";
      if (!a.type.empty()) d.title += " of type " + a.type;
    }
    d.title += " (depth " + std::to_string(a.depth) + ")";
  }
  render_to_file(to_dot(g, s, d), a.output, format);
  Timer::instance().stop_query();

  struct stat st {};
  std::uint64_t bytes = ::stat(a.output.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  std::uint64_t summarised = 0;
  for (const SummaryNode& sum : s.summaries) summarised += sum.count;
  if (a.json) {
    Json j;
    j["schema"] = "refgraph.draw/1";
    j["file"] = a.dump;
    j["direction"] = a.direction == Direction::Back ? "back" : "forward";
    j["output"] = a.output;
    j["format"] = format_name(format);
    j["bytes"] = bytes;
    Json ids = Json::array();
    for (NodeIndex n : start) ids.push_back(g.id(n));
    j["start"] = ids;
    j["nodes"] = s.nodes.size();
    j["edges"] = s.edges.size();
    j["summaries"] = s.summaries.size();
    j["summarised_objects"] = summarised;
    j["chain_edges"] = s.chain_edges.size();
    print_json(j);
    return;
  }
  std::string text = "wrote " + printable(a.output) + " (" + format_name(format) + ", " + human_size(bytes) +
                     "): " + std::to_string(s.nodes.size()) + " objects, " + std::to_string(s.edges.size()) +
                     " references";
  if (!s.summaries.empty()) {
    text += ", " + std::to_string(summarised) + " more in " + std::to_string(s.summaries.size()) + " summary nodes";
  }
  text += "\n";
  if (!a.type.empty() && of_type > start.size()) {
    text += "drew " + std::to_string(start.size()) + " of " + std::to_string(of_type) + " " + printable(a.type) +
            " objects (--limit)\n";
  }
  std::fputs(text.c_str(), a.output == "-" ? stderr : stdout);  // not into the image on standard output
}

void add_draw_command(CLI::App& app, Direction direction) {
  auto a = std::make_shared<DrawArgs>();
  a->direction = direction;
  bool back = direction == Direction::Back;
  CLI::App* c = app.add_subcommand(back ? "backrefs" : "refs",
                                   back ? "Draw what refers to some objects, up to the roots (objgraph's show_backrefs)"
                                        : "Draw what some objects refer to (objgraph's show_refs)");
  c->add_option("DUMP", a->dump, "dump file (.rgd or .jsonl)")->required();
  auto* id = c->add_option("--id", a->ids, "start at the object with this id (decimal or 0x-hex; repeatable)")
                 ->allow_extra_args(false);
  auto* type = c->add_option("--type", a->type, "start at objects of this type (see --limit)");
  c->add_option("--limit", a->limit, "with --type: draw from the first N objects by id (0: all)")
      ->capture_default_str();
  c->add_option("--depth", a->depth, "how many references away from the start to draw")->capture_default_str();
  c->add_option("--too-many", a->too_many, "per object, draw at most N neighbours and summarise the rest (0: all)")
      ->capture_default_str();
  c->add_option("--max-objects", a->max_objects,
                "stop drawing after N objects; summary nodes say what was left out (0, or more than " +
                    std::to_string(kMaxDrawnObjects) + ": " + std::to_string(kMaxDrawnObjects) + ")")
      ->capture_default_str();
  c->add_option("--include-type", a->include_types, "draw only objects of these types (repeatable)")
      ->allow_extra_args(false);
  c->add_option("--exclude-type", a->exclude_types, "never draw objects of these types (repeatable)")
      ->allow_extra_args(false);
  c->add_option("--ignore-id", a->ignore_ids, "never draw the object with this id (repeatable)")
      ->allow_extra_args(false);
  if (back) c->add_flag("--no-chain", a->no_chain, "do not highlight the shortest chain to a root");
  c->add_option("--max-label", a->max_label, "cut labels longer than N characters")->capture_default_str();
  c->add_option("--title", a->title, "title drawn above the graph");
  c->add_option("-o,--output", a->output,
                "output file: .dot, .png, .svg or .pdf (- for standard output, with --format)")
      ->required();
  c->add_option("--format", a->format, "output format when the extension does not say (dot, png, svg, pdf)")
      ->check(CLI::IsMember({"dot", "png", "svg", "pdf"}));
  c->add_flag("--json", a->json, "machine-readable output (schema refgraph.draw/1)");
  c->callback([a, id, type] {
    if (id->count() == 0 && type->count() == 0) {
      throw CLI::RequiredError("--id or --type");
    }
    run_draw(*a);
  });
}

}  // namespace

void add_draw_commands(CLI::App& app) {
  add_draw_command(app, Direction::Back);
  add_draw_command(app, Direction::Forward);
}

}  // namespace refgraph::cli
