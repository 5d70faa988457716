// `refgraph retained`, `refgraph dominators`: what keeps the most memory alive.
#include <cstdio>
#include <memory>

#include "common.hpp"
#include "progress.hpp"
#include "refgraph/chain.hpp"
#include "refgraph/dominators.hpp"
#include "refgraph/dot.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/neighbourhood.hpp"
#include "refgraph/render.hpp"
#include "refgraph/report.hpp"
#include "refgraph/retainers.hpp"
#include "refgraph/suspects.hpp"

namespace refgraph::cli {

namespace {

std::string chain_of(const HeapGraph& g, const RetainerTree& tree, NodeIndex n) {
  Chain c = tree.chain_to(g, n);
  return c.found() ? chain_text(g, c) : "(unreachable: cyclic garbage no root reaches)";
}

std::string describe_node(const HeapGraph& g, NodeIndex n) { return printable(node_text(g, n)); }

// ---- retained ----

struct RetainedArgs {
  std::string dump;
  std::size_t top = 20;
  std::string type;
  bool json = false;
};

void run_retained(const RetainedArgs& a) {
  HeapGraph g = load(a.dump);
  Timer::instance().start_query();
  StepProgress progress("retained");
  DominatorTree t = dominator_tree(g, progress.callback());
  std::vector<NodeIndex> rows;
  if (a.type.empty()) {
    rows = top_dominators(t, a.top == 0 ? g.num_nodes() : a.top);
  } else {
    rows = nodes_of_type(g, a.dump, a.type);
    std::stable_sort(rows.begin(), rows.end(), [&](NodeIndex x, NodeIndex y) { return t.retained[x] > t.retained[y]; });
    if (a.top != 0 && rows.size() > a.top) rows.resize(a.top);
  }
  TypeRetained by_type;  // only --type shows a type's total
  if (!a.type.empty()) {
    progress.step("retained size per type");
    by_type = retained_by_type(g, t);
  }
  progress.step("chains");
  const RetainerTree tree(g);
  std::vector<std::string> chains;
  for (NodeIndex n : rows) chains.push_back(chain_of(g, tree, n));
  progress.finish();
  Timer::instance().stop_query();

  const std::uint64_t total = t.retained[t.roots()];
  const std::uint64_t garbage = t.retained[t.garbage()];
  StringId type_id = a.type.empty() ? kNoString : g.type(rows.front());
  if (a.json) {
    Json j;
    j["schema"] = "refgraph.retained/1";
    j["file"] = a.dump;
    j["total_size"] = total;
    j["unreachable_size"] = garbage;
    if (!a.type.empty()) {
      j["type"] = std::string(g.strings()[type_id]);
      j["type_retained_size"] = by_type.bytes[type_id];
    }
    Json items = Json::array();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      Json r = node_json(g, rows[i]);
      r["retained_size"] = t.retained[rows[i]];
      r["chain"] = chains[i];
      items.push_back(std::move(r));
    }
    j[a.type.empty() ? "top_dominators" : "instances"] = items;
    print_json(j);
    return;
  }
  std::string out = "heap " + human_size(total) + " in " + std::to_string(g.num_nodes()) + " objects";
  if (garbage) out += ", of which " + human_size(garbage) + " unreachable (cyclic garbage)";
  out += "\n";
  if (!a.type.empty()) {
    out += "all " + printable(g.strings()[type_id]) + " objects retain " + human_size(by_type.bytes[type_id]) +
           "; the biggest:\n";
  } else {
    out += "biggest retainers under the roots:\n";
  }
  Table table({"retained", "shallow", "object", "id", "chain"}, {true, true, false, false, false});
  for (std::size_t i = 0; i < rows.size(); ++i) {
    NodeIndex n = rows[i];
    table.add({human_size(t.retained[n]), human_size(g.size(n)), describe_node(g, n), hex(g.id(n)), chains[i]});
  }
  out += table.str();
  std::fputs(out.c_str(), stdout);
}

// ---- dominators: the dominator subtree of one object ----

struct DominatorsArgs {
  std::string dump;
  std::string id;
  std::string output;
  std::size_t children = 10;
  std::size_t depth = 3;
  bool json = false;
};

Json subtree_json(const HeapGraph& g, const DominatorTree& t, NodeIndex n, std::size_t depth, std::size_t width) {
  Json j = node_json(g, n);
  j["retained_size"] = t.retained[n];
  if (depth == 0) return j;
  std::vector<NodeIndex> kids = dominated_children(t, n);
  Json arr = Json::array();
  for (std::size_t i = 0; i < kids.size() && i < width; ++i)
    arr.push_back(subtree_json(g, t, kids[i], depth - 1, width));
  j["children"] = arr;
  j["more_children"] = kids.size() > width ? kids.size() - width : 0;
  return j;
}

void subtree_text(const HeapGraph& g, const DominatorTree& t, NodeIndex n, std::size_t depth, std::size_t width,
                  const std::string& indent, std::string& out) {
  std::vector<NodeIndex> kids = dominated_children(t, n);
  std::uint64_t shown = 0;
  for (std::size_t i = 0; i < kids.size() && i < width; ++i) {
    NodeIndex c = kids[i];
    shown += t.retained[c];
    out += indent + human_size(t.retained[c]) + "  " + describe_node(g, c) + "  " + hex(g.id(c)) + "\n";
    if (depth > 1) subtree_text(g, t, c, depth - 1, width, indent + "    ", out);
  }
  if (kids.size() > width) {
    std::uint64_t rest = t.retained[n] - (n < g.num_nodes() ? g.size(n) : 0) - shown;
    out += indent + "+" + std::to_string(kids.size() - width) + " more (" + human_size(rest) + ")\n";
  }
}

void run_dominators(const DominatorsArgs& a) {
  if (!a.output.empty()) prewarm(format_from_path(a.output));
  HeapGraph g = load(a.dump);
  Timer::instance().start_query();
  NodeIndex n = node_by_id(g, a.dump, a.id);
  StepProgress progress("dominators");
  DominatorTree t = dominator_tree(g, progress.callback());
  progress.step("accumulation point");
  NodeIndex acc = accumulation_point(t, n);
  if (!a.output.empty()) {
    progress.step("drawing");
    DotOptions d;
    d.title = "what " + describe_node(g, n) + " " + hex(g.id(n)) + " alone keeps alive: " + human_size(t.retained[n]);
    d.extra_info = [&t](NodeIndex x) { return "retains " + human_size(t.retained[x]); };
    render_to_file(to_dot(g, dominator_subgraph(g, t, n, a.depth, a.children), d), a.output);
  }
  progress.finish();
  Timer::instance().stop_query();
  if (a.json) {
    Json j;
    j["schema"] = "refgraph.dominators/1";
    j["file"] = a.dump;
    j["chain"] = chain_of(g, RetainerTree(g), n);
    j["accumulation_point"] = acc == kNoNode ? Json(nullptr) : node_json(g, acc);
    j["tree"] = subtree_json(g, t, n, a.depth, a.children);
    print_json(j);
    return;
  }
  std::string out = human_size(t.retained[n]) + " retained by " + describe_node(g, n) + " " + hex(g.id(n)) + " (" +
                    human_size(g.size(n)) + " itself)\n  held by: " + chain_of(g, RetainerTree(g), n) + "\n";
  if (acc != kNoNode && acc != n) {
    out += "  accumulates in: " + describe_node(g, acc) + " " + hex(g.id(acc)) + " (" + human_size(t.retained[acc]) +
           ", " + std::to_string(dominated_children(t, acc).size()) + " children)\n";
  } else if (acc == n) {
    out += "  accumulates here: " + std::to_string(dominated_children(t, acc).size()) + " children\n";
  }
  subtree_text(g, t, n, a.depth, a.children, "  ", out);
  if (!a.output.empty()) out += "wrote " + printable(a.output) + "\n";
  std::fputs(out.c_str(), stdout);
}

// ---- suspects: which new objects are the leak ----

struct SuspectsArgs {
  std::vector<std::string> dumps;
  std::size_t top = 10;
  bool all = false;
  std::string output;
  bool json = false;
};

void run_suspects(const SuspectsArgs& a) {
  if (a.dumps.size() != 3) throw QueryError("suspects needs three dumps of one process: baseline, later, latest");
  if (!a.output.empty()) prewarm(format_from_path(a.output));
  HeapGraph ga = load(a.dumps[0]), gb = load(a.dumps[1]), gc = load(a.dumps[2]);
  if (ga.metadata().pid != gb.metadata().pid || gb.metadata().pid != gc.metadata().pid) {
    std::fprintf(stderr, "refgraph: warning: the dumps come from different processes (pids %lld, %lld, %lld)\n",
                 static_cast<long long>(ga.metadata().pid), static_cast<long long>(gb.metadata().pid),
                 static_cast<long long>(gc.metadata().pid));
  }
  Timer::instance().start_query();
  StepProgress progress("suspects");
  SuspectOptions o;
  o.top = a.top;
  o.include_stable = a.all;
  o.progress = progress.callback();
  std::vector<SuspectGroup> groups = leak_suspects(ga, gb, gc, o);
  if (!a.output.empty() && !groups.empty() && groups[0].sample_chain.found()) {
    progress.step("drawing");
    DotOptions d;
    d.title = "leak suspect: " + groups[0].signature;
    render_to_file(to_dot(gc, chain_subgraph(gc, groups[0].sample_chain, Direction::Back), d), a.output);
  }
  progress.finish();
  Timer::instance().stop_query();

  if (a.json) {
    Json j;
    j["schema"] = "refgraph.suspects/1";
    j["files"] = a.dumps;
    Json arr = Json::array();
    for (const SuspectGroup& g : groups) {
      Json x;
      x["signature"] = g.signature;
      x["grew"] = g.grew();
      x["objects_b"] = g.count_b;
      x["bytes_b"] = g.bytes_b;
      x["objects_c"] = g.count_c;
      x["bytes_c"] = g.bytes_c;
      x["survivors"] = g.survivors;
      x["retained_c"] = g.retained_c;
      Json types = Json::object();
      for (const auto& [t, n] : g.types) types[t] = n;
      x["types_gained"] = types;
      x["accumulation_point"] = g.accumulation == kNoNode ? Json(nullptr) : node_json(gc, g.accumulation);
      x["sample"] = node_json(gc, g.sample);
      x["sample_chain"] = g.sample_chain.found() ? Json(chain_text(gc, g.sample_chain)) : Json(nullptr);
      arr.push_back(std::move(x));
    }
    j["suspects"] = arr;
    j["output"] = a.output.empty() || groups.empty() ? Json(nullptr) : Json(a.output);
    print_json(j);
    return;
  }
  std::vector<SuspectLines> lines;
  for (const SuspectGroup& g : groups) {
    SuspectLines x;
    x.signature = printable(g.signature);
    x.objects_b = g.count_b;
    x.bytes_b = g.bytes_b;
    x.objects_c = g.count_c;
    x.bytes_c = g.bytes_c;
    x.retained = g.retained_c;
    x.grew = g.grew();
    for (const auto& [type, n] : g.types) x.types.emplace_back(printable(type), n);
    if (g.accumulation != kNoNode)
      x.accumulation = describe_node(gc, g.accumulation) + " " + hex(gc.id(g.accumulation));
    if (g.sample_chain.found()) x.sample_chain = printable(chain_text(gc, g.sample_chain));
    lines.push_back(std::move(x));
  }
  std::string out = suspects_text(lines, printable(a.dumps[0]), printable(a.dumps[2])) + "\n";
  if (!a.output.empty() && !groups.empty()) out += "wrote " + printable(a.output) + "\n";
  std::fputs(out.c_str(), stdout);
}

}  // namespace

void add_retained_commands(CLI::App& app) {
  auto retained = std::make_shared<RetainedArgs>();
  CLI::App* c =
      app.add_subcommand("retained", "What keeps the most memory alive: retained sizes from the dominator tree");
  c->add_option("DUMP", retained->dump, "dump file (.rgd or .jsonl)")->required();
  c->add_option("--top", retained->top, "show the N biggest (0: all)")->capture_default_str();
  c->add_option("--type", retained->type, "the instances of this type, biggest first, and their retained total");
  c->add_flag("--json", retained->json, "machine-readable output (schema refgraph.retained/1)");
  c->callback([retained] { run_retained(*retained); });

  auto dom = std::make_shared<DominatorsArgs>();
  c = app.add_subcommand("dominators", "The dominator subtree of one object: what it alone keeps alive");
  c->add_option("DUMP", dom->dump, "dump file (.rgd or .jsonl)")->required();
  c->add_option("--id", dom->id, "the object's id (decimal or 0x hex)")->required();
  c->add_option("--children", dom->children, "children shown per object, biggest first")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  c->add_option("--depth", dom->depth, "levels shown")->capture_default_str()->check(CLI::Range(1, 20));
  c->add_option("-o,--output", dom->output, "draw the subtree (.png, .svg, .pdf, .dot)");
  c->add_flag("--json", dom->json, "machine-readable output (schema refgraph.dominators/1)");
  c->callback([dom] { run_dominators(*dom); });

  auto sus = std::make_shared<SuspectsArgs>();
  c = app.add_subcommand("suspects", "Which new objects are the leak: three dumps of one process (A, B, C)");
  c->add_option("DUMPS", sus->dumps, "baseline A, after some work B, after more work C")->required()->expected(3);
  c->add_option("--top", sus->top, "show the N biggest suspects (0: all)")->capture_default_str();
  c->add_flag("--all", sus->all, "also list groups that survived from B to C without growing");
  c->add_option("-o,--output", sus->output, "draw the top suspect's chain (.png, .svg, .pdf, .dot)");
  c->add_flag("--json", sus->json, "machine-readable output (schema refgraph.suspects/1)");
  c->callback([sus] { run_suspects(*sus); });
}

}  // namespace refgraph::cli
