// `refgraph chain`: who keeps this object alive, one reference per line.
#include <cstdio>
#include <memory>

#include "common.hpp"
#include "refgraph/chain.hpp"
#include "refgraph/dot.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/neighbourhood.hpp"
#include "refgraph/render.hpp"

namespace refgraph::cli {

namespace {

struct ChainArgs {
  std::string dump;
  std::string id;
  std::string type;
  std::vector<std::string> to_types;
  std::vector<std::string> to_labels;
  std::size_t max_depth = 0;
  bool forward = false;
  std::string output;
  bool json = false;
};

void run_chain(const ChainArgs& a) {
  if (!a.output.empty()) prewarm(format_from_path(a.output));  // a bad extension fails before the load
  HeapGraph g = load(a.dump);
  Timer::instance().start_query();
  std::vector<NodeIndex> from =
      a.id.empty() ? nodes_of_type(g, a.dump, a.type) : std::vector<NodeIndex>{node_by_id(g, a.dump, a.id)};
  if (a.forward && a.to_types.empty() && a.to_labels.empty()) {
    throw QueryError("chain --forward needs --to-type or --to-label: what to look for");
  }
  ChainOptions o;
  o.target.types = a.to_types;
  o.target.labels = a.to_labels;
  o.target.any_root = a.to_types.empty() && a.to_labels.empty();
  o.max_depth = a.max_depth;
  Chain c = a.forward ? ref_chain(g, from, o) : backref_chain(g, from, o);
  // Hops in the order printed: root (or found object) first for backrefs, start first for --forward.
  RootKind root = c.found() && !a.forward ? chain_root_kind(g, c) : RootKind::None;
  std::string what = a.id.empty() ? "an object of type '" + printable(a.type) + "'"
                                  : printable(g.type_name(from[0])) + " " + hex(g.id(from[0]));
  std::string target = o.target.any_root ? "a root" : "a target";

  if (c.found() && a.id.empty()) {
    NodeIndex start = a.forward ? c.nodes.front() : c.nodes.back();
    what = printable(a.type) + " " + hex(g.id(start));
    if (from.size() > 1) what += " (the nearest of " + std::to_string(from.size()) + ")";
  }
  if (c.found() && !a.output.empty()) {
    DotOptions d;
    d.title = (a.forward ? "reference chain from " : "back-reference chain of ") + what;
    render_to_file(to_dot(g, chain_subgraph(g, c, a.forward ? Direction::Forward : Direction::Back), d), a.output);
  }
  Timer::instance().stop_query();

  if (a.json) {
    Json j;
    j["schema"] = "refgraph.chain/1";
    j["file"] = a.dump;
    j["direction"] = a.forward ? "forward" : "back";
    j["found"] = c.found();
    j["root_kind"] = root != RootKind::None ? Json(root_kind_name(root)) : Json(nullptr);
    j["used_deferred"] = c.used_deferred;
    Json hops = Json::array();
    for (std::size_t i = 0; i < c.nodes.size(); ++i) {
      Json h = node_json(g, c.nodes[i]);
      h["edge"] = i == 0 ? Json(nullptr) : Json(g.edge_label_text(c.edges[i - 1]));
      hops.push_back(std::move(h));
    }
    j["hops"] = hops;
    j["output"] = c.found() && !a.output.empty() ? Json(a.output) : Json(nullptr);
    print_json(j);
    return;
  }
  if (!c.found()) {
    std::printf("no reference chain from %s to %s%s\n", what.c_str(), target.c_str(),
                a.max_depth ? (" within " + std::to_string(a.max_depth) + " references").c_str() : "");
    return;
  }
  std::string text;
  if (a.forward) {
    text = "reference chain from " + what + " to " + printable(g.type_name(c.nodes.back())) + " (" +
           std::to_string(c.edges.size()) + " references):\n";
  } else if (root != RootKind::None && c.edges.empty()) {
    text = what + " is itself a root (" + root_kind_name(root) + "):\n";
  } else if (root != RootKind::None) {
    std::string holder = printable(g.type_name(c.nodes.front()));
    if (!g.label_text(c.nodes.front()).empty()) holder += " " + printable(g.label_text(c.nodes.front()));
    text = holder + " (" + root_kind_name(root) + " root) keeps " + what + " alive through " +
           std::to_string(c.edges.size()) + " references:\n";
  } else {
    text = printable(g.type_name(c.nodes.front())) + " reaches " + what + " through " + std::to_string(c.edges.size()) +
           " references:\n";
  }
  Table t({"#", "via", "type", "label", "size", "id", "root"}, {true, false, false, false, true, false, false});
  for (std::size_t i = 0; i < c.nodes.size(); ++i) {
    NodeIndex n = c.nodes[i];
    t.add({std::to_string(i), i == 0 ? "" : printable(g.edge_label_text(c.edges[i - 1])), printable(g.type_name(n)),
           printable(g.label_text(n)), human_size(g.size(n)), hex(g.id(n)),
           g.is_root(n) ? root_kind_name(g.root_kind(n)) : ""});
  }
  text += t.str();
  if (c.used_deferred) text += "(the chain needed a deferred reference such as __globals__: no other path exists)\n";
  if (!a.output.empty()) text += "wrote " + printable(a.output) + "\n";
  std::fputs(text.c_str(), stdout);
}

}  // namespace

void add_chain_command(CLI::App& app) {
  auto a = std::make_shared<ChainArgs>();
  CLI::App* c = app.add_subcommand("chain", "Shortest reference chain from a root to an object (who keeps it alive)");
  c->add_option("DUMP", a->dump, "dump file (.rgd or .jsonl)")->required();
  auto* id = c->add_option("--id", a->id, "start at the object with this id (decimal or 0x-hex)");
  auto* type = c->add_option("--type", a->type, "start at the object of this type nearest to a root");
  id->excludes(type);
  type->excludes(id);
  c->add_option("--to-type", a->to_types, "stop at an object of this type instead of a root (repeatable)")
      ->allow_extra_args(false);
  c->add_option("--to-label", a->to_labels, "stop at an object with this label, e.g. a module name (repeatable)")
      ->allow_extra_args(false);
  c->add_option("--max-depth", a->max_depth, "give up after N references (0: no limit)")->capture_default_str();
  c->add_flag("--forward", a->forward, "follow references forward from the object to --to-type/--to-label");
  c->add_option("-o,--output", a->output, "also draw the chain to FILE (.dot, .png, .svg or .pdf)");
  c->add_flag("--json", a->json, "machine-readable output (schema refgraph.chain/1)");
  c->callback([a, id, type] {
    if (id->count() == 0 && type->count() == 0) throw CLI::RequiredError("--id or --type");
    run_chain(*a);
  });
}

}  // namespace refgraph::cli
