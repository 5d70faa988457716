#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "refgraph/dot.hpp"
#include "refgraph/graph.hpp"
#include "refgraph/neighbourhood.hpp"

using namespace refgraph;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// module app.cache -__dict__-> dict -['USERS']-> list -[0]-> Leaked; a weakref -> Leaked (weak).
HeapGraph small_graph() {
  HeapGraphBuilder b;
  b.add_node(0x1000, "module", 72, kGcTracked, RootKind::Module, "app.cache");
  b.add_node(0x2000, "dict", 232);
  b.add_node(0x3000, "list", 1536);
  b.add_node(0x4000, "LeakedItem", 48);
  b.add_node(0x5000, "weakref", 80);
  b.add_node(0x6000, "function", 136, kGcTracked, RootKind::None, "handler");
  b.add_edge(0x1000, 0x2000, b.text_label("__dict__"));
  b.add_edge(0x2000, 0x3000, b.text_label("['USERS']"));
  b.add_edge(0x3000, 0x4000, index_label(0));
  b.add_edge(0x5000, 0x4000, b.text_label("referent"), kEdgeWeak);
  b.add_edge(0x6000, 0x2000, b.text_label("__globals__"), kEdgeDeferred);
  return std::move(b).build();
}

}  // namespace

TEST_CASE("dot_escape escapes quotes, backslashes, newlines and control characters") {
  CHECK(dot_escape("plain") == "plain");
  CHECK(dot_escape("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(dot_escape("a\\b") == "a\\\\b");
  CHECK(dot_escape("line1\nline2") == "line1\\nline2");
  CHECK(dot_escape(std::string("nul\0x", 5)) == "nul\\\\x00x");
  CHECK(dot_escape("tab\there") == "tab\\\\x09here");
  CHECK(dot_escape("del\x7f") == "del\\\\x7F");
  CHECK(dot_escape("a & b") == "a &amp; b");
}

TEST_CASE("dot_escape keeps valid UTF-8 and replaces invalid bytes") {
  CHECK(dot_escape("caf\xC3\xA9") == "caf\xC3\xA9");                            // é
  CHECK(dot_escape("\xF0\x9F\x90\x8D") == "\xF0\x9F\x90\x8D");                  // a 4-byte emoji
  CHECK(dot_escape("bad\xFFz") == "bad\xEF\xBF\xBDz");                          // stray byte
  CHECK(dot_escape("\xC3") == "\xEF\xBF\xBD");                                  // truncated sequence
  CHECK(dot_escape("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  CHECK(dot_escape("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
}

TEST_CASE("to_dot draws the objects asked about, roots, edge labels, weak edges and summaries") {
  HeapGraph g = small_graph();
  Subgraph s;
  s.direction = Direction::Back;
  NodeIndex mod = g.find(0x1000), dict = g.find(0x2000), list = g.find(0x3000), item = g.find(0x4000),
            weak = g.find(0x5000), fn = g.find(0x6000);
  s.nodes = {{item, 0, true, true},  {list, 1, false, true}, {weak, 1, false, false},
             {dict, 2, false, true}, {mod, 3, false, true},  {fn, 3, false, false}};
  EdgeIndex mod_dict = (*g.out_edges(mod).begin()).index;
  EdgeIndex dict_list = (*g.out_edges(dict).begin()).index;
  EdgeIndex list_item = (*g.out_edges(list).begin()).index;
  EdgeIndex weak_item = (*g.out_edges(weak).begin()).index;
  EdgeIndex fn_dict = (*g.out_edges(fn).begin()).index;
  s.edges = {mod_dict, dict_list, list_item, weak_item, fn_dict};
  std::sort(s.edges.begin(), s.edges.end());
  s.chain_edges = {mod_dict, dict_list, list_item};
  s.summaries.push_back({list, "tuple", 12, 12 * 64});

  DotOptions o;
  o.title = "backrefs of \"LeakedItem\"";
  std::string dot = to_dot(g, s, o);

  CHECK(dot.rfind("digraph refgraph {\n", 0) == 0);
  CHECK(dot.substr(dot.size() - 2) == "}\n");
  CHECK(contains(dot, "label=\"backrefs of \\\"LeakedItem\\\"\""));
  // The start node: highlighted, stable id "o" + hex address.
  CHECK(contains(dot,
                 "  o4000 [label=\"LeakedItem\\n48 B\", fillcolor=\"#ffeb3b\", style=\"filled,bold\", "
                 "penwidth=3, color=red];\n"));
  // A module root: own shape and colour, and a note saying why it is a root.
  CHECK(contains(dot,
                 "  o1000 [label=\"module\\napp.cache\\n72 B\\n[module root]\", shape=tab, "
                 "fillcolor=\"#b9f6ca\", color=red];\n"));
  // Sizes in human units; depth colour gradient (depth 1 of 3).
  CHECK(contains(dot, "  o3000 [label=\"list\\n1.5 KiB\", fillcolor=\"0.580 0.317 1.000\", color=red];\n"));
  CHECK(contains(dot, "  o6000 [label=\"function\\nhandler\\n136 B\", fillcolor=\"0.580 0.050 1.000\"];\n"));
  // Edges: labels, the chain in bold red, weak dashed, deferred dotted grey.
  CHECK(contains(dot, "  o1000 -> o2000 [label=\"__dict__\", style=bold, color=red, penwidth=2];\n"));
  CHECK(contains(dot, "  o2000 -> o3000 [label=\"['USERS']\", style=bold, color=red, penwidth=2];\n"));
  CHECK(contains(dot, "  o3000 -> o4000 [label=\"[0]\", style=bold, color=red, penwidth=2];\n"));
  CHECK(contains(dot, "  o5000 -> o4000 [label=\"referent\", style=dashed];\n"));
  CHECK(contains(dot, "  o6000 -> o2000 [label=\"__globals__\", style=dotted, color=grey50];\n"));
  // The summary node: its own shape, count, type and total size, pointing at its anchor (back direction).
  CHECK(contains(dot,
                 "  s3000_0 [label=\"+12 more tuple\\n768 B\", shape=note, style=\"filled,dashed\", "
                 "fillcolor=\"#eeeeee\"];\n"));
  CHECK(contains(dot, "  s3000_0 -> o3000 [style=dashed, color=grey50];\n"));
  // Deterministic.
  CHECK(to_dot(g, s, o) == dot);
}

TEST_CASE("to_dot options: no sizes, no edge labels, cut labels, extra info, forward summaries") {
  HeapGraphBuilder b;
  b.add_node(0xa, "thread_state", 10, kGcTracked, RootKind::ThreadFrame, "worker.py:12 in run");
  b.add_node(0xb, "VeryLongTypeNameIndeed", 20, kGcTracked, RootKind::External, "x\"y\nz");
  b.add_edge(0xa, 0xb, b.text_label("f_locals['item']"));
  HeapGraph g = std::move(b).build();
  Subgraph s;
  s.direction = Direction::Forward;
  s.nodes = {{0, 0, true, false}, {1, 1, false, false}};
  s.edges = {0};
  s.summaries.push_back({0, "dict", 3, 300});
  DotOptions o;
  o.show_sizes = false;
  o.show_edge_labels = false;
  o.max_label_chars = 10;
  o.extra_info = [](NodeIndex n) { return n == 1 ? std::string("refcnt=7") : std::string(); };
  std::string dot = to_dot(g, s, o);
  CHECK(contains(dot,
                 "  oa [label=\"thread_...\\nworker....\\n[thread frame]\", shape=component, "
                 "fillcolor=\"#ffeb3b\", style=\"filled,bold\", penwidth=3];\n"));
  CHECK(contains(dot,
                 "  ob [label=\"VeryLon...\\nx\\\"y\\nz\\n[held from C]\\nrefcnt=7\", shape=doubleoctagon, "
                 "fillcolor=\"#f8bbd0\"];\n"));
  CHECK(contains(dot, "  oa -> ob;\n"));
  CHECK(contains(dot, "  sa_0 [label=\"+3 more dict\", shape=note"));
  CHECK(contains(dot, "  oa -> sa_0 [style=dashed, color=grey50];\n"));
  CHECK_FALSE(contains(dot, "labelloc"));
}

TEST_CASE("to_dot: node attributes come after the drawing's own, quoted; a name that is no identifier is refused") {
  HeapGraph g = small_graph();
  Subgraph s = neighbourhood(g, {3});
  DotOptions o;
  o.node_attrs = [](NodeIndex n) {
    std::vector<std::pair<std::string, std::string>> a;
    if (n == 2) a = {{"URL", "http://x/?a=1&b=\"2\""}, {"fillcolor", "0.6,0.6,0.8"}, {"style", "filled"}};
    return a;
  };
  const std::string dot = to_dot(g, s, o);
  CHECK(contains(dot, ", URL=\"http://x/?a=1&b=\\\"2\\\"\", fillcolor=\"0.6,0.6,0.8\", style=\"filled\"];\n"));
  const std::size_t list_at = dot.find("  o3000 ["), attrs_at = dot.find("URL=");
  REQUIRE(list_at != std::string::npos);
  CHECK(attrs_at > list_at);
  CHECK(attrs_at < dot.find('\n', list_at));  // in the list node's own statement
  CHECK(dot.find("URL=", attrs_at + 1) == std::string::npos);
  o.node_attrs = [](NodeIndex) { return std::vector<std::pair<std::string, std::string>>{{"a]; b [c", "x"}}; };
  CHECK_THROWS_AS(to_dot(g, s, o), std::invalid_argument);
}

TEST_CASE("to_dot: only edges one step from the start rank the layout") {
  HeapGraphBuilder b;
  b.add_node(0x1, "LeakedItem", 48);
  b.add_node(0x2, "list", 88);
  b.add_node(0x3, "dict", 232);
  b.add_edge(0x2, 0x1, index_label(0));             // depth 1 -> 0: ranks
  b.add_edge(0x3, 0x2, b.text_label("['items']"));  // depth 1 -> 1: same row, no constraint
  b.add_edge(0x1, 0x2, b.text_label("owner"));      // depth 0 -> 1: points back at the start side
  HeapGraph g = std::move(b).build();
  Subgraph s;
  s.direction = Direction::Back;
  s.nodes = {{0, 0, true, false}, {1, 1, false, false}, {2, 1, false, false}};
  s.edges = {0, 1, 2};
  std::string dot = to_dot(g, s);
  CHECK(contains(dot, "  o2 -> o1 [label=\"[0]\"];\n"));
  CHECK(contains(dot, "  o3 -> o2 [xlabel=\"['items']\", constraint=false];\n"));
  CHECK(contains(dot, "  o1 -> o2 [xlabel=\"owner\", constraint=false];\n"));

  s.direction = Direction::Forward;  // now 0 -> 1 is the step away from the start
  dot = to_dot(g, s);
  CHECK(contains(dot, "  o1 -> o2 [label=\"owner\"];\n"));
  CHECK(contains(dot, "  o2 -> o1 [xlabel=\"[0]\", constraint=false];\n"));
}

namespace {

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

// Object statements ("  o<hex> [label=...") in DOT text: summary and note nodes have other names.
std::size_t object_nodes(const std::string& dot) {
  std::size_t n = 0;
  for (std::size_t at = dot.find("\n  o"); at != std::string::npos; at = dot.find("\n  o", at + 1)) {
    std::size_t eol = dot.find('\n', at + 1);
    std::string line = dot.substr(at + 1, eol - at - 1);
    if (line.find(" -> ") == std::string::npos) ++n;
  }
  return n;
}

// Edge statements between two objects ("  o<hex> -> o<hex>").
std::size_t object_edges(const std::string& dot) {
  std::size_t n = 0;
  for (std::size_t at = dot.find("\n  o"); at != std::string::npos; at = dot.find("\n  o", at + 1)) {
    std::size_t eol = dot.find('\n', at + 1);
    std::string line = dot.substr(at + 1, eol - at - 1);
    if (line.find(" -> o") != std::string::npos) ++n;
  }
  return n;
}

Subgraph whole(const HeapGraph& g, Direction direction = Direction::Forward) {
  Subgraph s;
  s.direction = direction;
  for (NodeIndex n = 0; n < g.num_nodes(); ++n) s.nodes.push_back({n, n == 0 ? 0u : 1u, n == 0, false});
  for (EdgeIndex e = 0; e < g.num_edges(); ++e) s.edges.push_back(e);
  return s;
}

}  // namespace

TEST_CASE("to_dot draws the references between two objects as one edge with a count (a list [x] * 800000)") {
  constexpr std::uint32_t kRefs = 800000;
  HeapGraphBuilder b;
  b.add_node(0xa, "list", 6400056);
  b.add_node(0xb, "int", 28);
  for (std::uint32_t i = 0; i < kRefs; ++i) b.add_edge(0xa, 0xb, index_label(i));
  HeapGraph g = std::move(b).build();
  std::string dot = to_dot(g, whole(g));
  CHECK(object_edges(dot) == 1);
  CHECK(contains(dot, "  oa -> ob [label=\"[0..799999] x800000\"];\n"));
  CHECK(dot.size() < 2000);

  DotOptions no_labels;
  no_labels.show_edge_labels = false;
  CHECK(contains(to_dot(g, whole(g), no_labels), "  oa -> ob [label=\"x800000\"];\n"));
}

TEST_CASE("a merged edge's label lists the references' labels compactly, then the count") {
  HeapGraphBuilder b;
  b.add_node(0xa, "dict", 1000);
  b.add_node(0xb, "Leaf", 48);
  b.add_node(0xc, "list", 120);
  b.add_node(0xd, "tuple", 64);
  for (const char* key : {"['alpha']", "['beta']", "['gamma']", "['delta']", "['epsilon']", "['zeta']", "['eta']",
                          "['theta']", "['iota']", "['kappa']"})
    b.add_edge(0xa, 0xb, b.text_label(key));
  for (std::uint32_t i : {0u, 1u, 2u, 5u, 7u, 8u}) b.add_edge(0xc, 0xb, index_label(i));
  b.add_edge(0xd, 0xb);  // unlabelled references: only a count
  b.add_edge(0xd, 0xb);
  b.add_edge(0xd, 0xc, index_label(3));  // one reference: drawn as before
  HeapGraph g = std::move(b).build();
  std::string dot = to_dot(g, whole(g));
  CHECK(object_edges(dot) == 4);
  // As many as fit in twice max_label_chars (40), then "..." saying more labels exist, then the count.
  CHECK(contains(dot,
                 "  oa -> ob [label=\"['alpha'], ['beta'], ['gamma'], ['delta'], ['epsilon'], ['zeta'], ['eta'], "
                 "... x10\"];\n"));
  // Runs of consecutive indices become ranges. (Between two objects one step from the start: an xlabel.)
  CHECK(contains(dot, "  oc -> ob [xlabel=\"[0..2], [5], [7..8] x6\", constraint=false];\n"));
  CHECK(contains(dot, "  od -> ob [xlabel=\"x2\", constraint=false];\n"));
  CHECK(contains(dot, "  od -> oc [xlabel=\"[3]\", constraint=false];\n"));

  DotOptions wide;
  wide.max_label_chars = 0;  // no cut: still a bounded label
  std::string all = to_dot(g, whole(g), wide);
  CHECK(contains(all,
                 "  oa -> ob [label=\"['alpha'], ['beta'], ['gamma'], ['delta'], ['epsilon'], ['zeta'], ['eta'], "
                 "['theta'], ['iota'], ['kappa'] x10\"]"));

  DotOptions narrow;
  narrow.max_label_chars = 5;  // each label cut to 5, ten characters in all
  CHECK(contains(to_dot(g, whole(g), narrow), "  oa -> ob [label=\"['..., ... x10\"];\n"));
}

TEST_CASE("no label is longer than 500 characters, whatever max_label_chars says") {
  HeapGraphBuilder b;
  b.add_node(0xa, "T", 10, kGcTracked, RootKind::None, std::string(1000000, 'x'));
  b.add_node(0xb, std::string(100000, 'U'), 10);
  b.add_edge(0xa, 0xb, b.text_label(std::string(1000000, 'y')));
  b.add_edge(0xa, 0xb, b.text_label(std::string(1000000, 'z')));
  HeapGraph g = std::move(b).build();
  for (std::size_t max_label_chars : {std::size_t{0}, std::size_t{1} << 40}) {
    DotOptions o;
    o.max_label_chars = max_label_chars;
    std::string dot = to_dot(g, whole(g), o);
    CHECK(contains(dot, "label=\"T\\n" + std::string(497, 'x') + "...\\n10 B\""));
    CHECK(contains(dot, "label=\"" + std::string(497, 'U') + "...\\n10 B\""));
    CHECK(contains(dot, "  oa -> ob [label=\"" + std::string(497, 'y') + "..., ... x2\"];\n"));
    CHECK(dot.size() < 3000);
  }
}

TEST_CASE("parallel references of different kinds stay apart; a merged edge on the chain is drawn as the chain") {
  HeapGraphBuilder b;
  b.add_node(0xa, "Holder", 100);
  b.add_node(0xb, "Leaf", 48);
  b.add_edge(0xa, 0xb, b.text_label("first"));
  b.add_edge(0xa, 0xb, b.text_label("second"));
  b.add_edge(0xa, 0xb, b.text_label("ref"), kEdgeWeak);
  b.add_edge(0xa, 0xb, b.text_label("other_ref"), kEdgeWeak);
  b.add_edge(0xa, 0xb, b.text_label("__class__"), kEdgeDeferred);
  HeapGraph g = std::move(b).build();
  Subgraph s = whole(g, Direction::Back);
  s.nodes = {{1, 0, true, true}, {0, 1, false, true}};
  s.chain_edges = {1};  // "second"
  std::string dot = to_dot(g, s);
  CHECK(object_edges(dot) == 3);
  CHECK(contains(dot, "  oa -> ob [label=\"first, second x2\", style=bold, color=red, penwidth=2];\n"));
  CHECK(contains(dot, "  oa -> ob [label=\"ref, other_ref x2\", style=dashed];\n"));
  CHECK(contains(dot, "  oa -> ob [label=\"__class__\", style=dotted, color=grey50];\n"));
}

namespace {

// A hub with `n` children (ids 0x1000 + i), each referred to once; the Subgraph shows them all.
HeapGraph star(std::uint32_t n) {
  HeapGraphBuilder b;
  b.add_node(0x1, "Hub", 100);
  for (std::uint32_t i = 0; i < n; ++i) b.add_node(0x1000 + i, "Leaf", 48);
  for (std::uint32_t i = 0; i < n; ++i) b.add_edge(0x1, 0x1000 + i, index_label(i));
  return std::move(b).build();
}

}  // namespace

TEST_CASE("to_dot caps the objects drawn: start nodes, then the chain, then the nearest; a note counts the rest") {
  HeapGraph g = star(50);
  Subgraph s = whole(g);
  s.nodes.back().on_chain = true;  // discovered last, drawn anyway
  s.summaries.push_back({0, "dict", 7, 700});
  DotOptions o;
  o.max_objects = 10;
  std::string dot = to_dot(g, s, o);
  CHECK(object_nodes(dot) == 10);
  CHECK(contains(dot, "  o1 [label=\"Hub"));
  CHECK(contains(dot, "  o1031 [label=\"Leaf"));  // the chain's node
  CHECK(contains(dot, "  o1007 [label=\"Leaf"));
  CHECK_FALSE(contains(dot, "  o1008 [label"));
  CHECK(object_edges(dot) == 9);
  CHECK(contains(dot, "  s1_0 [label=\"+7 more dict"));
  CHECK(contains(dot,
                 "  graph [charset=\"UTF-8\", fontname=\"Helvetica\", fontsize=12, size=\"340,340\", labelloc=t, "
                 "label=\"+41 more objects, +41 more references not drawn (a drawing shows at most 10 objects "
                 "and 3000 references)\"];\n"));

  o.max_summaries = 0;  // the summary's objects join the note
  o.title = "refs of Hub";
  CHECK(contains(to_dot(g, s, o), "label=\"refs of Hub\\n+48 more objects, +41 more references not drawn ("));

  o.max_objects = 51;  // everything fits: no note
  o.max_summaries = 1;
  CHECK_FALSE(contains(to_dot(g, s, o), "not drawn"));
}

TEST_CASE("to_dot caps the edges drawn: the chain first, then the edges that rank the layout") {
  // A clique of 30 objects at depth 1 around a start: 30 ranking edges, 870 others.
  HeapGraphBuilder b;
  b.add_node(0x1, "Start", 10);
  for (std::uint32_t i = 0; i < 30; ++i) b.add_node(0x100 + i, "Node", 10);
  for (std::uint32_t i = 0; i < 30; ++i) b.add_edge(0x1, 0x100 + i, index_label(i));
  for (std::uint32_t i = 0; i < 30; ++i)
    for (std::uint32_t j = 0; j < 30; ++j)
      if (i != j) b.add_edge(0x100 + i, 0x100 + j, b.text_label("peer"));
  HeapGraph g = std::move(b).build();
  Subgraph s = whole(g);
  EdgeIndex chain_edge = kNoNode;
  for (Edge e : g.out_edges(g.find(0x11d)))
    if (e.target == g.find(0x100)) chain_edge = e.index;
  REQUIRE(chain_edge != kNoNode);
  s.chain_edges = {chain_edge};
  DotOptions o;
  o.max_edges = 40;
  std::string dot = to_dot(g, s, o);
  CHECK(object_edges(dot) == 40);
  CHECK(contains(dot, "  o11d -> o100 [xlabel=\"peer\", style=bold, color=red, penwidth=2, constraint=false];\n"));
  for (std::uint32_t i = 0; i < 30; ++i) {
    char ranking[32];
    std::snprintf(ranking, sizeof ranking, "  o1 -> o%x [label=", 0x100 + i);
    CHECK(contains(dot, ranking));
  }
  CHECK(contains(dot, "label=\"+860 more references not drawn ("));

  // The clique's 870 edges between objects of one row: at most 500 (max_cross_edges) besides the chain's.
  std::string all = to_dot(g, s);
  CHECK(object_edges(all) == 30 + 1 + 500);
  CHECK(contains(all, "label=\"+369 more references not drawn ("));
}

TEST_CASE("to_dot's hard caps hold whatever the options ask for") {
  HeapGraph g = star(static_cast<std::uint32_t>(kMaxDrawnObjects) + 5);
  DotOptions o;
  o.max_objects = o.max_edges = o.max_summaries = o.max_edge_rows = o.max_cross_edges = static_cast<std::size_t>(-1);
  std::string dot = to_dot(g, whole(g), o);
  CHECK(object_nodes(dot) == kMaxDrawnObjects);
  CHECK(object_edges(dot) == kMaxDrawnObjects - 1);
  CHECK(contains(dot, "label=\"+6 more objects, +6 more references not drawn ("));
}

TEST_CASE("to_dot caps the rows that long edges cross: a long list whose items all refer back to its head") {
  // head -> n1 -> n2 -> ... -> n999 (one row each), and every item refers back to the head: item i's edge crosses
  // i rows. Graphviz 2.42 crashed on 300 of these.
  constexpr std::uint32_t kLength = 1000;
  HeapGraphBuilder b;
  for (std::uint32_t i = 0; i < kLength; ++i) b.add_node(0x1000 + i, "Node", 56);
  for (std::uint32_t i = 0; i + 1 < kLength; ++i) b.add_edge(0x1000 + i, 0x1000 + i + 1, b.text_label("next"));
  for (std::uint32_t i = 1; i < kLength; ++i) b.add_edge(0x1000 + i, 0x1000, b.text_label("head"));
  HeapGraph g = std::move(b).build();
  Subgraph s;
  s.direction = Direction::Forward;
  for (NodeIndex n = 0; n < g.num_nodes(); ++n)
    s.nodes.push_back({n, static_cast<std::uint32_t>(g.id(n) - 0x1000), n == 0, false});
  for (EdgeIndex e = 0; e < g.num_edges(); ++e) s.edges.push_back(e);

  std::string dot = to_dot(g, s);
  // Every "next" (one row), "head" from item 1 (one row), then items 2..k while 2 + 3 + ... + k <= 5000: k = 99.
  CHECK(count_of(dot, "[label=\"next\"]") == kLength - 1);
  CHECK(count_of(dot, "\"head\"") == 99);
  CHECK(contains(dot, "  o1063 -> o1000 [xlabel=\"head\", constraint=false];\n"));  // item 99
  CHECK_FALSE(contains(dot, "  o1064 -> o1000"));                                   // item 100
  CHECK(contains(dot, "label=\"+900 more references not drawn ("));

  DotOptions o;
  o.max_edge_rows = 20;  // 2 + 3 + 4 + 5 = 14, + 6 = 20
  std::string few = to_dot(g, s, o);
  CHECK(count_of(few, "\"head\"") == 6);
  CHECK(contains(few, "label=\"+993 more references not drawn ("));
}
