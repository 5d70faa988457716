#include <doctest/doctest.h>

#include <string>
#include <tuple>
#include <vector>

#include "refgraph/chain.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/graph.hpp"
#include "refgraph/neighbourhood.hpp"

using namespace refgraph;

namespace {

// (id, depth, start, on_chain) in subgraph order.
using NodeRow = std::tuple<std::uint64_t, std::uint32_t, bool, bool>;
// (anchor id, type, count, size)
using SummaryRow = std::tuple<std::uint64_t, std::string, std::uint64_t, std::uint64_t>;
// (source id, target id)
using EdgeRow = std::pair<std::uint64_t, std::uint64_t>;

std::vector<NodeRow> nodes(const HeapGraph& g, const Subgraph& s) {
  std::vector<NodeRow> out;
  for (const SubgraphNode& n : s.nodes) out.emplace_back(g.id(n.node), n.depth, n.start, n.on_chain);
  return out;
}

std::vector<std::uint64_t> node_ids(const HeapGraph& g, const Subgraph& s) {
  std::vector<std::uint64_t> out;
  for (const SubgraphNode& n : s.nodes) out.push_back(g.id(n.node));
  return out;
}

std::vector<SummaryRow> summaries(const HeapGraph& g, const Subgraph& s) {
  std::vector<SummaryRow> out;
  for (const SummaryNode& m : s.summaries) out.emplace_back(g.id(m.anchor), m.type, m.count, m.size);
  return out;
}

std::vector<EdgeRow> edges(const HeapGraph& g, const std::vector<EdgeIndex>& es) {
  std::vector<EdgeRow> out;
  for (EdgeIndex e : es) out.emplace_back(g.id(g.edge_source(e)), g.id(g.edge_target(e)));
  return out;
}

// X (0x1000) is referred to by 12 lists (0x2000 + 0x10 i, size 100 + i) and 3 dicts (0x3000 + 0x10 i, size 50).
HeapGraph fan_in_graph() {
  HeapGraphBuilder b;
  b.add_node(0x1000, "X", 8);
  for (std::uint64_t i = 0; i < 12; ++i) {
    b.add_node(0x2000 + 0x10 * i, "list", 100 + i);
    b.add_edge(0x2000 + 0x10 * i, 0x1000, index_label(0));
  }
  for (std::uint64_t i = 0; i < 3; ++i) {
    b.add_node(0x3000 + 0x10 * i, "dict", 50);
    b.add_edge(0x3000 + 0x10 * i, 0x1000, b.text_label("['x']"));
  }
  return std::move(b).build();
}

// R (module) -> A -> B -> C -> X, names by id: R 1, A 2, B 3, C 4, X 5.
HeapGraph line_graph() {
  HeapGraphBuilder b;
  b.add_node(1, "module", 1, kGcTracked, RootKind::Module, "app");
  b.add_node(2, "A", 1);
  b.add_node(3, "B", 1);
  b.add_node(4, "C", 1);
  b.add_node(5, "X", 1);
  b.add_edge(1, 2, b.text_label("a"));
  b.add_edge(2, 3, b.text_label("b"));
  b.add_edge(3, 4, b.text_label("c"));
  b.add_edge(4, 5, b.text_label("x"));
  return std::move(b).build();
}

}  // namespace

TEST_CASE("too_many keeps the first neighbours and summarises the rest per type, exactly") {
  HeapGraph g = fan_in_graph();
  NeighbourhoodOptions o;
  o.max_depth = 1;
  o.highlight_chains = false;
  Subgraph s = neighbourhood(g, {g.find(0x1000)}, o);
  CHECK(s.direction == Direction::Back);
  std::vector<NodeRow> want = {{0x1000, 0, true, false}};
  for (std::uint64_t i = 0; i < 10; ++i) want.emplace_back(0x2000 + 0x10 * i, 1, false, false);
  CHECK(nodes(g, s) == want);
  CHECK(summaries(g, s) == std::vector<SummaryRow>{{0x1000, "dict", 3, 150}, {0x1000, "list", 2, 110 + 111}});
  std::vector<EdgeRow> want_edges;
  for (std::uint64_t i = 0; i < 10; ++i) want_edges.emplace_back(0x2000 + 0x10 * i, 0x1000);
  CHECK(edges(g, s.edges) == want_edges);
  CHECK(s.chain_edges.empty());

  o.too_many = 0;  // no cap
  Subgraph all = neighbourhood(g, {g.find(0x1000)}, o);
  CHECK(all.nodes.size() == 16);
  CHECK(all.summaries.empty());
  CHECK(all.edges.size() == 15);
}

TEST_CASE("max_nodes is a hard stop; the summaries say what it cut") {
  HeapGraph g = fan_in_graph();
  NeighbourhoodOptions o;
  o.highlight_chains = false;
  o.too_many = 0;
  o.max_nodes = 3;
  Subgraph s = neighbourhood(g, {g.find(0x1000)}, o);
  CHECK(node_ids(g, s) == std::vector<std::uint64_t>{0x1000, 0x2000, 0x2010});
  std::uint64_t cut_list_bytes = 0;
  for (std::uint64_t i = 2; i < 12; ++i) cut_list_bytes += 100 + i;
  CHECK(summaries(g, s) == std::vector<SummaryRow>{{0x1000, "list", 10, cut_list_bytes}, {0x1000, "dict", 3, 150}});
}

TEST_CASE("a node at max_depth is shown, not expanded; the chain is drawn whole beyond it") {
  HeapGraph g = line_graph();
  NeighbourhoodOptions o;
  o.max_depth = 2;
  o.highlight_chains = false;
  Subgraph s = neighbourhood(g, {g.find(5)}, o);
  CHECK(nodes(g, s) == std::vector<NodeRow>{{5, 0, true, false}, {4, 1, false, false}, {3, 2, false, false}});
  CHECK(edges(g, s.edges) == std::vector<EdgeRow>{{3, 4}, {4, 5}});
  CHECK(s.summaries.empty());  // B was not expanded, so A is not "cut"

  o.highlight_chains = true;
  Subgraph h = neighbourhood(g, {g.find(5)}, o);
  CHECK(nodes(g, h) ==
        std::vector<NodeRow>{
            {5, 0, true, true}, {4, 1, false, true}, {3, 2, false, true}, {2, 3, false, true}, {1, 4, false, true}});
  CHECK(edges(g, h.edges) == std::vector<EdgeRow>{{1, 2}, {2, 3}, {3, 4}, {4, 5}});
  CHECK(edges(g, h.chain_edges) == std::vector<EdgeRow>{{1, 2}, {2, 3}, {3, 4}, {4, 5}});

  o.max_depth = 0;
  o.highlight_chains = false;
  CHECK(node_ids(g, neighbourhood(g, {g.find(5)}, o)) == std::vector<std::uint64_t>{5});
}

TEST_CASE("neighbours already shown do not use up the cap, and are not summarised") {
  // X <- A, X <- B, A <- B.
  HeapGraphBuilder b;
  b.add_node(1, "X", 1);
  b.add_node(2, "A", 1);
  b.add_node(3, "B", 7);
  b.add_edge(2, 1);
  b.add_edge(3, 1);
  b.add_edge(3, 2);
  HeapGraph g = std::move(b).build();
  NeighbourhoodOptions o;
  o.too_many = 1;
  o.highlight_chains = false;
  Subgraph s = neighbourhood(g, {g.find(1)}, o);
  CHECK(nodes(g, s) == std::vector<NodeRow>{{1, 0, true, false}, {2, 1, false, false}, {3, 2, false, false}});
  CHECK(s.summaries.empty());
  CHECK(edges(g, s.edges) == std::vector<EdgeRow>{{2, 1}, {3, 1}, {3, 2}});

  o.max_depth = 1;
  Subgraph t = neighbourhood(g, {g.find(1)}, o);
  CHECK(node_ids(g, t) == std::vector<std::uint64_t>{1, 2});
  CHECK(summaries(g, t) == std::vector<SummaryRow>{{1, "B", 1, 7}});
}

TEST_CASE("an expansion whose first neighbour is already shown still adds a new one under the cap") {
  // X <- A, X <- B, A <- X (a cycle), A <- C. With too_many 1: X keeps A and cuts B; A's first referrer is X,
  // already shown, so the one new node A may add is C.
  HeapGraphBuilder b;
  b.add_node(1, "X", 1);
  b.add_node(2, "A", 1);
  b.add_node(3, "B", 5);
  b.add_node(4, "C", 1);
  b.add_edge(2, 1);
  b.add_edge(3, 1);
  b.add_edge(1, 2);
  b.add_edge(4, 2);
  HeapGraph g = std::move(b).build();
  NeighbourhoodOptions o;
  o.too_many = 1;
  o.highlight_chains = false;
  Subgraph s = neighbourhood(g, {g.find(1)}, o);
  CHECK(nodes(g, s) == std::vector<NodeRow>{{1, 0, true, false}, {2, 1, false, false}, {4, 2, false, false}});
  CHECK(summaries(g, s) == std::vector<SummaryRow>{{1, "B", 1, 5}});
  CHECK(edges(g, s.edges) == std::vector<EdgeRow>{{1, 2}, {2, 1}, {4, 2}});
}

namespace {

// X (1) <- list L (2), dict D (3), tuple T (4); L <- dict E (5).
HeapGraph mixed_graph() {
  HeapGraphBuilder b;
  b.add_node(1, "X", 1);
  b.add_node(2, "list", 1);
  b.add_node(3, "dict", 1);
  b.add_node(4, "tuple", 1);
  b.add_node(5, "dict", 1);
  b.add_edge(2, 1);
  b.add_edge(3, 1);
  b.add_edge(4, 1);
  b.add_edge(5, 2);
  return std::move(b).build();
}

}  // namespace

TEST_CASE("include and exclude types, ignore list and filter predicate; never applied to the start") {
  HeapGraph g = mixed_graph();
  NeighbourhoodOptions o;
  o.highlight_chains = false;
  NodeIndex x = g.find(1);
  CHECK(node_ids(g, neighbourhood(g, {x}, o)) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});

  NeighbourhoodOptions ex = o;
  ex.exclude_types = {"dict"};
  Subgraph s = neighbourhood(g, {x}, ex);
  CHECK(node_ids(g, s) == std::vector<std::uint64_t>{1, 2, 4});
  CHECK(s.summaries.empty());  // excluded on purpose: not "cut"

  NeighbourhoodOptions in = o;
  in.include_types = {"tuple", "nonexistent"};
  CHECK(node_ids(g, neighbourhood(g, {x}, in)) == std::vector<std::uint64_t>{1, 4});
  in.include_types = {"list", "dict"};  // X itself is not included but is shown as the start
  CHECK(node_ids(g, neighbourhood(g, {x}, in)) == std::vector<std::uint64_t>{1, 2, 3, 5});

  NeighbourhoodOptions ig = o;
  ig.ignore = {g.find(2), x};
  CHECK(node_ids(g, neighbourhood(g, {x}, ig)) == std::vector<std::uint64_t>{1, 3, 4});

  NeighbourhoodOptions fi = o;
  int calls = 0;
  fi.filter = [&](NodeIndex n) {
    ++calls;
    return g.id(n) != 3;
  };
  CHECK(node_ids(g, neighbourhood(g, {x}, fi)) == std::vector<std::uint64_t>{1, 2, 4, 5});
  CHECK(calls == 4);  // once a node: 2, 3, 4, 5
}

TEST_CASE("weak edges: drawn when followed, never on the highlighted chain") {
  // R (root) -weak-> X; R -> A -> X; W -weak-> X.
  HeapGraphBuilder b;
  b.add_node(1, "module", 1, kGcTracked, RootKind::Module);
  b.add_node(2, "A", 1);
  b.add_node(3, "weakref", 1);
  b.add_node(4, "X", 1);
  b.add_edge(1, 4, kNoEdgeLabel, kEdgeWeak);
  b.add_edge(1, 2);
  b.add_edge(2, 4);
  b.add_edge(3, 4, kNoEdgeLabel, kEdgeWeak);
  HeapGraph g = std::move(b).build();
  NeighbourhoodOptions o;
  Subgraph s = neighbourhood(g, {g.find(4)}, o);
  CHECK(nodes(g, s) ==
        std::vector<NodeRow>{{4, 0, true, true}, {1, 1, false, true}, {2, 1, false, true}, {3, 1, false, false}});
  CHECK(edges(g, s.edges) == std::vector<EdgeRow>{{1, 4}, {1, 2}, {2, 4}, {3, 4}});
  CHECK(edges(g, s.chain_edges) == std::vector<EdgeRow>{{1, 2}, {2, 4}});

  o.follow_weak = false;
  Subgraph t = neighbourhood(g, {g.find(4)}, o);
  CHECK(nodes(g, t) == std::vector<NodeRow>{{4, 0, true, true}, {2, 1, false, true}, {1, 2, false, true}});
  CHECK(edges(g, t.edges) == std::vector<EdgeRow>{{1, 2}, {2, 4}});
}

TEST_CASE("forward neighbourhood and several start nodes") {
  HeapGraph g = line_graph();
  NeighbourhoodOptions o;
  o.direction = Direction::Forward;
  o.max_depth = 2;
  Subgraph s = neighbourhood(g, {g.find(1), g.find(4), g.find(1)}, o);
  CHECK(s.direction == Direction::Forward);
  CHECK(
      nodes(g, s) ==
      std::vector<NodeRow>{
          {1, 0, true, false}, {4, 0, true, false}, {2, 1, false, false}, {5, 1, false, false}, {3, 2, false, false}});
  CHECK(s.chain_edges.empty());  // highlighting is for back-references only
  CHECK(edges(g, s.edges) == std::vector<EdgeRow>{{1, 2}, {2, 3}, {3, 4}, {4, 5}});
  CHECK_THROWS_AS(neighbourhood(g, {42}), QueryError);
}

TEST_CASE("chain_subgraph: start first, every node and edge on the chain") {
  HeapGraph g = line_graph();
  Chain c = backref_chain(g, {g.find(5)});
  Subgraph s = chain_subgraph(g, c);
  CHECK(nodes(g, s) ==
        std::vector<NodeRow>{
            {5, 0, true, true}, {4, 1, false, true}, {3, 2, false, true}, {2, 3, false, true}, {1, 4, false, true}});
  CHECK(edges(g, s.edges) == std::vector<EdgeRow>{{1, 2}, {2, 3}, {3, 4}, {4, 5}});
  CHECK(s.chain_edges == s.edges);
  CHECK(s.summaries.empty());

  ChainOptions to_c;
  to_c.target.types = {"C"};
  Chain r = ref_chain(g, {g.find(2)}, to_c);
  Subgraph f = chain_subgraph(g, r, Direction::Forward);
  CHECK(nodes(g, f) == std::vector<NodeRow>{{2, 0, true, true}, {3, 1, false, true}, {4, 2, false, true}});

  CHECK(chain_subgraph(g, Chain{}).nodes.empty());
  Chain bad = c;
  bad.edges.pop_back();
  CHECK_THROWS_AS(chain_subgraph(g, bad), QueryError);
  bad = c;
  std::swap(bad.edges[0], bad.edges[1]);
  CHECK_THROWS_AS(chain_subgraph(g, bad), QueryError);
}

TEST_CASE("by default a neighbourhood stops at the objects one drawing shows") {
  const auto n = static_cast<std::uint32_t>(kMaxDrawnObjects) + 500;
  HeapGraphBuilder b;
  b.add_node(0x1, "list", 8 * n);
  for (std::uint32_t i = 0; i < n; ++i) b.add_node(0x1000 + i, "Leaf", 48);
  for (std::uint32_t i = 0; i < n; ++i) b.add_edge(0x1, 0x1000 + i, index_label(i));
  HeapGraph g = std::move(b).build();
  NeighbourhoodOptions o;
  o.direction = Direction::Forward;
  o.too_many = 0;
  Subgraph s = neighbourhood(g, {g.find(0x1)}, o);
  CHECK(s.nodes.size() == kMaxDrawnObjects);
  CHECK(summaries(g, s) ==
        std::vector<SummaryRow>{{0x1, "Leaf", n + 1 - kMaxDrawnObjects, 48 * (n + 1 - kMaxDrawnObjects)}});
}
