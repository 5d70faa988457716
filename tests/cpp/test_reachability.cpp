#include <doctest/doctest.h>

#include <vector>

#include "refgraph/graph.hpp"
#include "refgraph/reachability.hpp"

using namespace refgraph;

namespace {

std::vector<std::uint64_t> ids(const HeapGraph& g, const std::vector<NodeIndex>& ns) {
  std::vector<std::uint64_t> out;
  for (NodeIndex n : ns) out.push_back(g.id(n));
  return out;
}

// R (module root) -> A -> B -> A (a reachable cycle); A -deferred-> G; R -weak-> F;
// C <-> D (a cycle no root reaches); E alone; H refers only to itself; T (thread frame root) alone;
// U untracked, held by D.
HeapGraph reach_graph() {
  HeapGraphBuilder b;
  b.add_node(0x1, "module", 1, kGcTracked, RootKind::Module, "app");
  b.add_node(0xA, "A", 1);
  b.add_node(0xB, "B", 1);
  b.add_node(0xC, "C", 1);
  b.add_node(0xD, "D", 1);
  b.add_node(0xE, "E", 1);
  b.add_node(0xF, "F", 1);
  b.add_node(0x10, "G", 1);
  b.add_node(0x11, "H", 1);
  b.add_node(0x12, "frame", 1, kGcTracked, RootKind::ThreadFrame);
  b.add_node(0x13, "str", 1, 0);
  b.add_edge(0x1, 0xA);
  b.add_edge(0xA, 0xB);
  b.add_edge(0xB, 0xA);
  b.add_edge(0xA, 0x10, b.text_label("__globals__"), kEdgeDeferred);
  b.add_edge(0x1, 0xF, kNoEdgeLabel, kEdgeWeak);
  b.add_edge(0xC, 0xD);
  b.add_edge(0xD, 0xC);
  b.add_edge(0xD, 0x13);
  b.add_edge(0x11, 0x11);
  return std::move(b).build();
}

}  // namespace

TEST_CASE("leaking objects: no strong referrer and not a root") {
  HeapGraph g = reach_graph();
  CHECK(ids(g, leaking_objects(g)) == std::vector<std::uint64_t>{0xE, 0xF});
}

TEST_CASE("unreachable objects: cycles and strays no root reaches along strong edges") {
  HeapGraph g = reach_graph();
  CHECK(ids(g, unreachable_objects(g)) == std::vector<std::uint64_t>{0xC, 0xD, 0xE, 0xF, 0x11, 0x13});
  std::vector<bool> r = reachable_from_roots(g);
  REQUIRE(r.size() == g.num_nodes());
  CHECK(r[g.find(0x1)]);
  CHECK(r[g.find(0xA)]);
  CHECK(r[g.find(0xB)]);
  CHECK(r[g.find(0x10)]);  // through a deferred edge: deferred still retains
  CHECK(r[g.find(0x12)]);
  CHECK_FALSE(r[g.find(0xF)]);  // only weakly referenced
  CHECK_FALSE(r[g.find(0xC)]);
}

TEST_CASE("a graph with no roots is all unreachable; an empty graph has nothing") {
  HeapGraphBuilder b;
  b.add_node(1, "a", 1);
  b.add_node(2, "b", 1);
  b.add_edge(1, 2);
  HeapGraph g = std::move(b).build();
  CHECK(ids(g, unreachable_objects(g)) == std::vector<std::uint64_t>{1, 2});
  CHECK(ids(g, leaking_objects(g)) == std::vector<std::uint64_t>{1});
  HeapGraph empty = HeapGraphBuilder().build();
  CHECK(leaking_objects(empty).empty());
  CHECK(unreachable_objects(empty).empty());
  CHECK(reachable_from_roots(empty).empty());
}
