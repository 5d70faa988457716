#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "refgraph/errors.hpp"
#include "refgraph/graph.hpp"

using namespace refgraph;

namespace {

HeapGraph small_graph() {
  HeapGraphBuilder b;
  // Added out of id order on purpose: the graph sorts nodes by id.
  b.add_node(0x3000, "list", 88);
  b.add_node(0x1000, "module", 72, kGcTracked, RootKind::Module, "app.cache");
  b.add_node(0x2000, "dict", 232);
  b.add_node(0x4000, "str", 55, 0);
  b.add_edge(0x1000, 0x2000, b.text_label("__dict__"));
  b.add_edge(0x2000, 0x3000, b.text_label("['USERS']"));
  b.add_edge(0x3000, 0x4000, index_label(0));
  b.add_edge(0x3000, 0x4000, index_label(1), kEdgeWeak);
  b.add_edge(0x2000, 0x4000, b.text_label("['name']"), kEdgeDeferred);
  b.metadata().pid = 42;
  return std::move(b).build();
}

}  // namespace

TEST_CASE("nodes are sorted by id and found by binary search") {
  HeapGraph g = small_graph();
  REQUIRE(g.num_nodes() == 4);
  CHECK(g.id(0) == 0x1000);
  CHECK(g.id(3) == 0x4000);
  CHECK(g.find(0x3000) == 2);
  CHECK(g.find(0x3001) == kNoNode);
  CHECK(g.type_name(g.find(0x1000)) == "module");
  CHECK(g.root_kind(g.find(0x1000)) == RootKind::Module);
  CHECK(g.label_text(g.find(0x1000)) == "app.cache");
  CHECK_FALSE(g.is_root(g.find(0x2000)));
  CHECK_FALSE(g.gc_tracked(g.find(0x4000)));
  CHECK(g.size(g.find(0x2000)) == 232);
  CHECK(g.metadata().pid == 42);
}

TEST_CASE("out-edges keep the producer's order; in-edges are by source") {
  HeapGraph g = small_graph();
  REQUIRE(g.num_edges() == 5);
  NodeIndex dict = g.find(0x2000), list = g.find(0x3000), str = g.find(0x4000);
  std::vector<std::string> labels;
  for (Edge e : g.out_edges(dict)) labels.push_back(g.edge_label_text(e.index));
  CHECK(labels == std::vector<std::string>{"['USERS']", "['name']"});
  CHECK(g.out_degree(list) == 2);
  CHECK(g.in_degree(str) == 3);
  std::vector<NodeIndex> sources;
  std::vector<std::string> in_labels;
  for (Edge e : g.in_edges(str)) {
    CHECK(e.target == str);
    CHECK(g.edge_target(e.index) == str);
    CHECK(g.edge_source(e.index) == e.source);
    sources.push_back(e.source);
    in_labels.push_back(g.edge_label_text(e.index));
  }
  CHECK(sources == std::vector<NodeIndex>{dict, list, list});
  CHECK(in_labels == std::vector<std::string>{"['name']", "[0]", "[1]"});
  for (Edge e : g.in_edges(str)) {
    if (g.edge_label_text(e.index) == "[1]") CHECK(g.edge_weak(e.index));
    if (g.edge_label_text(e.index) == "['name']") CHECK(g.edge_deferred(e.index));
  }
}

TEST_CASE("the in-edge index is built on first use, once, whichever threads ask") {
  HeapGraphBuilder b;
  constexpr std::uint64_t kNodes = 5000;
  for (std::uint64_t i = 1; i <= kNodes; ++i) b.add_node(i * 16, "object", 16);
  for (std::uint64_t i = 1; i <= kNodes; ++i) {
    b.add_edge(i * 16, ((i * 7) % kNodes + 1) * 16);
    b.add_edge(i * 16, ((i * 13) % kNodes + 1) * 16, index_label(static_cast<std::uint32_t>(i)));
  }
  HeapGraph g = std::move(b).build();
  CHECK_FALSE(g.has_in_index());
  const std::size_t before = g.memory_bytes();
  // What the in-edges must be: the out-edges turned around, by source then edge index.
  std::vector<std::vector<std::pair<NodeIndex, EdgeIndex>>> expected(g.num_nodes());
  for (NodeIndex n = 0; n < g.num_nodes(); ++n)
    for (Edge e : g.out_edges(n)) expected[e.target].push_back({n, e.index});
  CHECK_FALSE(g.has_in_index());  // out-edges do not build it

  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bool all = true;
      for (NodeIndex n = 0; n < g.num_nodes(); ++n) {
        std::vector<std::pair<NodeIndex, EdgeIndex>> got;
        for (Edge e : g.in_edges(n)) got.push_back({e.source, e.index});
        all = all && got == expected[n] && g.in_degree(n) == expected[n].size();
      }
      ok[t] = all;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == std::vector<int>{1, 1, 1, 1});
  CHECK(g.has_in_index());
  CHECK(g.memory_bytes() >= before + 2 * g.num_edges() * sizeof(EdgeIndex));
}

TEST_CASE("builder rejects an edge to a missing node unless told to drop it") {
  HeapGraphBuilder b;
  b.add_node(1, "a", 1);
  b.add_edge(1, 2);
  CHECK_THROWS_AS(std::move(b).build(), DumpFormatError);

  HeapGraphBuilder c;
  c.add_node(1, "a", 1);
  c.add_edge(1, 2);
  c.add_edge(1, 1);
  HeapGraph g = std::move(c).build(true);
  CHECK(g.num_edges() == 1);
}

TEST_CASE("duplicate ids keep the first node; set_root marks roots") {
  HeapGraphBuilder b;
  b.add_node(7, "first", 1);
  b.add_node(7, "second", 2);
  b.set_root(7, RootKind::External);
  HeapGraph g = std::move(b).build();
  REQUIRE(g.num_nodes() == 1);
  CHECK(g.type_name(0) == "first");
  CHECK(g.root_kind(0) == RootKind::External);
}

TEST_CASE("root kind names round-trip") {
  for (auto k : {RootKind::None, RootKind::Module, RootKind::ThreadFrame, RootKind::External, RootKind::Other})
    CHECK(parse_root_kind(root_kind_name(k)) == k);
  CHECK_THROWS_AS(parse_root_kind("bogus"), QueryError);
}

TEST_CASE("memory stays under 120 bytes a node at three edges a node") {
  HeapGraphBuilder b;
  const std::uint64_t n = 20000;
  for (std::uint64_t i = 0; i < n; ++i) b.add_node(0x1000 + 16 * i, i % 3 ? "dict" : "list", 64);
  for (std::uint64_t i = 0; i < n; ++i)
    for (std::uint64_t k = 1; k <= 3; ++k) b.add_edge(0x1000 + 16 * i, 0x1000 + 16 * ((i * 7 + k) % n), index_label(k));
  HeapGraph g = std::move(b).build();
  CHECK(g.num_edges() == 3 * n);
  CHECK(double(g.memory_bytes()) / double(n) < 120.0);
}
