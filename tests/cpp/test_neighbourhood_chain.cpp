// NeighbourhoodOptions::chain: a chain found elsewhere (local_graph.cpp searches the live heap's references, then
// captures only the objects drawn) is marked as given instead of searched for in the graph.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "refgraph/chain.hpp"
#include "refgraph/graph.hpp"
#include "refgraph/neighbourhood.hpp"

using namespace refgraph;

namespace {

// R (module, 1) -> A (2) -> X (5), and R -> B (3) -> C (4) -> X: the search finds R A X.
HeapGraph two_ways() {
  HeapGraphBuilder b;
  b.add_node(1, "module", 1, kGcTracked, RootKind::Module, "app");
  b.add_node(2, "A", 1);
  b.add_node(3, "B", 1);
  b.add_node(4, "C", 1);
  b.add_node(5, "X", 1);
  b.add_edge(1, 2, b.text_label("a"));
  b.add_edge(1, 3, b.text_label("b"));
  b.add_edge(2, 5, b.text_label("x"));
  b.add_edge(3, 4, b.text_label("c"));
  b.add_edge(4, 5, b.text_label("x"));
  return std::move(b).build();
}

std::vector<std::uint64_t> on_chain(const HeapGraph& g, const Subgraph& s) {
  std::vector<std::uint64_t> out;
  for (const SubgraphNode& n : s.nodes)
    if (n.on_chain) out.push_back(g.id(n.node));
  return out;
}

EdgeIndex edge(const HeapGraph& g, std::uint64_t from, std::uint64_t to) {
  for (Edge e : g.out_edges(g.find(from)))
    if (g.id(e.target) == to) return e.index;
  FAIL("no such edge");
  return 0;
}

}  // namespace

TEST_CASE("a given chain is marked instead of the one the search would find") {
  HeapGraph g = two_ways();
  NeighbourhoodOptions o;
  o.max_depth = 1;
  Subgraph searched = neighbourhood(g, {g.find(5)}, o);
  CHECK(on_chain(g, searched) == std::vector<std::uint64_t>{5, 2, 1});

  Chain given;
  given.nodes = {g.find(1), g.find(3), g.find(4), g.find(5)};
  given.edges = {edge(g, 1, 3), edge(g, 3, 4), edge(g, 4, 5)};
  o.chain = &given;
  Subgraph s = neighbourhood(g, {g.find(5)}, o);
  // X, its referrers A and C (depth 1), then the given chain's extra nodes B and R, by distance along it
  std::vector<std::uint64_t> ids;
  for (const SubgraphNode& n : s.nodes) ids.push_back(g.id(n.node));
  CHECK(ids == std::vector<std::uint64_t>{5, 2, 4, 3, 1});
  CHECK(on_chain(g, s) == std::vector<std::uint64_t>{5, 4, 3, 1});
  std::vector<EdgeIndex> expected = given.edges;
  std::sort(expected.begin(), expected.end());
  CHECK(s.chain_edges == expected);

  Chain none;  // "no chain to a root": nothing is marked, nothing added
  o.chain = &none;
  Subgraph n = neighbourhood(g, {g.find(5)}, o);
  CHECK(on_chain(g, n).empty());
  CHECK(n.nodes.size() == 3);
  CHECK(n.chain_edges.empty());
}
