// The generic searches of chain.hpp (shortest_path) and neighbourhood.hpp (NodePicker) on a graph type that is not
// a HeapGraph: a few lines of adjacency lists modelling graph_concept.hpp's interface, as the live local scan's
// records do. Where both can hold the same graph, the answers must be the HeapGraph's.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "refgraph/chain.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/graph.hpp"
#include "refgraph/graph_concept.hpp"
#include "refgraph/neighbourhood.hpp"

using namespace refgraph;

namespace tiny {

struct Arc {
  NodeIndex from, to;
  std::uint8_t flags = 0;
};

// Nodes 0..n-1; an edge is its position in `arcs`. Out-edges in list order, in-edges by source then list order
// (a HeapGraph's order when the list is grouped by source in ascending order).
class Graph {
 public:
  using edge_type = std::uint16_t;  // any small handle will do
  Graph(std::size_t n, std::vector<Arc> arcs) : arcs_(std::move(arcs)), out_(n), in_(n) {
    for (std::size_t e = 0; e < arcs_.size(); ++e) out_[arcs_[e].from].push_back(static_cast<edge_type>(e));
    for (std::size_t s = 0; s < n; ++s)
      for (edge_type e : out_[s]) in_[arcs_[e].to].push_back(e);
  }
  friend std::size_t num_nodes(const Graph& g) { return g.out_.size(); }
  friend std::uint8_t edge_flags(const Graph& g, edge_type e) { return g.arcs_[e].flags; }
  friend NodeIndex edge_target(const Graph& g, edge_type e) { return g.arcs_[e].to; }
  friend NodeIndex edge_source(const Graph& g, edge_type e) { return g.arcs_[e].from; }
  template <class F>
  friend Walk for_each_in(const Graph& g, NodeIndex n, std::uint8_t skip, F&& f) {
    return g.walk(g.in_[n], skip, f, true);
  }
  template <class F>
  friend Walk for_each_out(const Graph& g, NodeIndex n, std::uint8_t skip, F&& f) {
    return g.walk(g.out_[n], skip, f, false);
  }
  mutable int walks = 0;  // neighbour lists read, to see that work is not repeated

 private:
  template <class F>
  Walk walk(const std::vector<edge_type>& es, std::uint8_t skip, F& f, bool in) const {
    ++walks;
    Walk w;
    for (edge_type e : es) {
      if (arcs_[e].flags & skip) {
        w.skipped |= arcs_[e].flags & skip;
      } else if (f(in ? arcs_[e].from : arcs_[e].to, e)) {
        w.stopped = true;
        break;
      }
    }
    return w;
  }
  std::vector<Arc> arcs_;
  std::vector<std::vector<edge_type>> out_, in_;
};

// Only the backward half: enough for backref searches and Back neighbourhoods.
class InOnly {
 public:
  using edge_type = std::uint32_t;
  explicit InOnly(const Graph& g) : g_(g) {}
  friend std::size_t num_nodes(const InOnly& g) { return num_nodes(g.g_); }
  friend std::uint8_t edge_flags(const InOnly& g, edge_type e) { return edge_flags(g.g_, Graph::edge_type(e)); }
  friend NodeIndex edge_target(const InOnly& g, edge_type e) { return edge_target(g.g_, Graph::edge_type(e)); }
  template <class F>
  friend Walk for_each_in(const InOnly& g, NodeIndex n, std::uint8_t skip, F&& f) {
    return for_each_in(g.g_, n, skip, [&](NodeIndex m, Graph::edge_type e) { return f(m, edge_type(e)); });
  }

 private:
  const Graph& g_;
};

}  // namespace tiny

static_assert(InGraph<tiny::Graph> && OutGraph<tiny::Graph>);
static_assert(InGraph<tiny::InOnly> && !OutGraph<tiny::InOnly>);
static_assert(!InGraph<int>);

namespace {

constexpr std::uint8_t W = kEdgeWeak;
constexpr std::uint8_t D = kEdgeDeferred;

// 0 -> 1 -> 2 -> 5, and a shorter way 0 -> 3 -> 5 whose last edge is deferred; 4 -> 5 is weak; 6 -> 1.
tiny::Graph sample() { return tiny::Graph(7, {{0, 1}, {0, 3}, {1, 2}, {2, 5}, {3, 5, D}, {4, 5, W}, {6, 1}}); }

// The same graph as a HeapGraph: node i has id 0x10 * (i + 1), so NodeIndex order is i's order.
HeapGraph as_heap(std::size_t n, const std::vector<tiny::Arc>& arcs, const std::vector<NodeIndex>& roots) {
  HeapGraphBuilder b;
  for (std::size_t i = 0; i < n; ++i) {
    std::string type = "T";  // appended, not "T" + ...: GCC 12 warns falsely (-Wrestrict) on that
    type += std::to_string(i);
    b.add_node(0x10 * (i + 1), type, 16 * (i + 1));
  }
  for (const tiny::Arc& a : arcs) b.add_edge(0x10 * (a.from + 1), 0x10 * (a.to + 1), kNoEdgeLabel, a.flags);
  for (NodeIndex r : roots) b.set_root(0x10 * (r + 1), RootKind::Other);
  return std::move(b).build();
}

auto is_any(std::vector<NodeIndex> targets) {
  return [targets = std::move(targets)](NodeIndex n) {
    for (NodeIndex t : targets)
      if (t == n) return true;
    return false;
  };
}

}  // namespace

TEST_CASE("shortest_path on a hand-built graph: strong edges first, deferred ones only when needed, never weak") {
  tiny::Graph g = sample();
  auto p = shortest_path<Direction::Back>(g, {5}, {}, 0, is_any({0, 4}));
  CHECK(p.nodes == std::vector<NodeIndex>{0, 1, 2, 5});  // not 0 -> 3 -> 5 (deferred), not 4 -> 5 (weak)
  REQUIRE(p.edges.size() == 3);
  for (std::size_t i = 0; i < p.edges.size(); ++i) {
    CHECK(edge_source(g, p.edges[i]) == p.nodes[i]);
    CHECK(edge_target(g, p.edges[i]) == p.nodes[i + 1]);
  }
  CHECK_FALSE(p.used_deferred);

  // Without 1, only the deferred edge leads to the root: the second phase takes it.
  p = shortest_path<Direction::Back>(g, {5}, {1}, 0, is_any({0, 4}));
  CHECK(p.nodes == std::vector<NodeIndex>{0, 3, 5});
  CHECK(p.used_deferred);

  // max_depth counts edges (within 2, only the deferred way is short enough); a start that is a target is a path of
  // one node; nothing found is an empty path.
  CHECK_FALSE(shortest_path<Direction::Back>(g, {5}, {}, 1, is_any({0})).found());
  CHECK(shortest_path<Direction::Back>(g, {5}, {}, 2, is_any({0})).nodes == std::vector<NodeIndex>{0, 3, 5});
  CHECK(shortest_path<Direction::Back>(g, {5}, {}, 3, is_any({0})).nodes == std::vector<NodeIndex>{0, 1, 2, 5});
  CHECK(shortest_path<Direction::Back>(g, {5}, {}, 0, is_any({5})).nodes == std::vector<NodeIndex>{5});
  CHECK_FALSE(shortest_path<Direction::Back>(g, {5}, {}, 0, is_any({4})).found());  // only a weak edge leads there

  // Several starts: the nearest wins; a start listed in `ignore` is still entered.
  CHECK(shortest_path<Direction::Back>(g, {5, 2, 2}, {}, 0, is_any({1})).nodes == std::vector<NodeIndex>{1, 2});
  CHECK(shortest_path<Direction::Back>(g, {2}, {2}, 0, is_any({0})).nodes == std::vector<NodeIndex>{0, 1, 2});

  // Forward, from the root to the object: start first.
  p = shortest_path<Direction::Forward>(g, {0}, {}, 0, is_any({5}));
  CHECK(p.nodes == std::vector<NodeIndex>{0, 1, 2, 5});
  p = shortest_path<Direction::Forward>(g, {6}, {2}, 0, is_any({5}));
  CHECK_FALSE(p.found());  // 6 -> 1 -> 2 is closed, and 6 has no way to 3
}

TEST_CASE("shortest_path: the first phase is not repeated when it passed over no deferred edge") {
  tiny::Graph g(3, {{0, 1}, {1, 2}});
  g.walks = 0;
  CHECK_FALSE(shortest_path<Direction::Back>(g, {2}, {}, 0, is_any({7})).found());
  CHECK(g.walks == 3);  // 2, 1, 0 once each
  tiny::Graph h(3, {{0, 1, D}, {1, 2}});
  h.walks = 0;
  CHECK_FALSE(shortest_path<Direction::Back>(h, {2}, {}, 0, is_any({7})).found());
  CHECK(h.walks == 2 + 3);  // the deferred edge 0 -> 1 was passed over: a second phase
}

TEST_CASE("shortest_path: among equally short paths the first discovered wins, as on a HeapGraph") {
  // Two roots at the same distance (0 and 1), several objects between them; in-edges in source order.
  const std::vector<tiny::Arc> arcs = {{0, 3}, {1, 2}, {1, 3, D}, {2, 4}, {3, 4}, {4, 5}, {4, 5, W}, {6, 5, W}};
  tiny::Graph t(7, arcs);
  HeapGraph h = as_heap(7, arcs, {0, 1, 6});
  for (NodeIndex start = 2; start < 6; ++start) {
    CAPTURE(start);
    Chain c = backref_chain(h, {start});
    auto p = shortest_path<Direction::Back>(t, {start}, {}, 0, is_any({0, 1, 6}));
    CHECK(p.nodes == c.nodes);
    CHECK(p.used_deferred == c.used_deferred);
    std::vector<NodeIndex> via;  // the tiny graph's edges and the HeapGraph's join the same nodes
    for (auto e : p.edges) via.push_back(edge_source(t, e));
    for (std::size_t i = 0; i < c.edges.size(); ++i) CHECK(h.edge_source(c.edges[i]) == via[i]);
  }
  // Roots 0 and 1 are both three edges above 5; the in-edges of 4 are 2 -> 4 then 3 -> 4, so 2 is discovered first
  // and the root behind it wins.
  CHECK(shortest_path<Direction::Back>(t, {5}, {}, 0, is_any({0, 1})).nodes == std::vector<NodeIndex>{1, 2, 4, 5});
}

TEST_CASE("NodePicker on a hand-built graph: breadth-first, capped, filtered, with what was cut") {
  // 0 is referred to by 1..5; 1 by 6 and 7; 6 by 8 (weak).
  tiny::Graph g(9, {{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}, {6, 1}, {7, 1}, {8, 6, W}});
  NeighbourhoodOptions o;
  o.direction = Direction::Back;
  o.max_depth = 2;
  o.too_many = 3;
  o.ignore = {2};
  int asked = 0;
  NodePicker pick(g, o, [&](NodeIndex m) {
    ++asked;
    return m != 3;  // 3 is filtered out
  });
  pick.run({0});
  std::vector<NodeIndex> shown;
  for (const SubgraphNode& sn : pick.nodes()) shown.push_back(sn.node);
  CHECK(shown == std::vector<NodeIndex>{0, 1, 4, 5, 6, 7});  // 2 ignored, 3 filtered; 1's referrers at depth 2
  CHECK(pick.nodes()[0].start);
  CHECK(pick.nodes()[4].depth == 2);
  CHECK(pick.expanded() == std::vector<NodeIndex>{0, 1, 4, 5});  // depth 2 is shown, not expanded
  CHECK(asked == 6);                                             // once a node: 1, 3, 4, 5 around 0; 6, 7 around 1

  // With a cap of 2, 0's third acceptable referrer (5) is what "+N more" stands for.
  o.too_many = 2;
  NodePicker capped(g, o, [](NodeIndex) { return true; });
  capped.run({0});
  std::vector<NodeIndex> cut;
  capped.for_each_cut(0, [&](NodeIndex m) { cut.push_back(m); });
  CHECK(cut == std::vector<NodeIndex>{4, 5});  // 1 and 3 shown, 2 ignored
  CHECK(capped.shown(3));
  CHECK_FALSE(capped.shown(5));

  // max_nodes stops the drawing; weak edges are followed only with follow_weak.
  o.too_many = 0;
  o.max_depth = 5;
  o.ignore.clear();
  NodePicker all(g, o, [](NodeIndex) { return true; });
  all.run({0});
  CHECK(all.nodes().size() == 9);
  o.follow_weak = false;
  NodePicker strong(g, o, [](NodeIndex) { return true; });
  strong.run({0});
  CHECK(strong.nodes().size() == 8);
  o.max_nodes = 4;
  NodePicker few(g, o, [](NodeIndex) { return true; });
  few.run({0});
  CHECK(few.nodes().size() == 4);

  // Forward needs an OutGraph.
  tiny::InOnly back(g);
  o.direction = Direction::Forward;
  CHECK_THROWS_AS(NodePicker(back, o, [](NodeIndex) { return true; }), QueryError);
  o.direction = Direction::Back;
  NodePicker in_only(back, o, [](NodeIndex) { return true; });
  in_only.run({0});
  CHECK(in_only.nodes().size() == 4);
}

TEST_CASE("NodePicker and neighbourhood() agree: the HeapGraph's choice is the generic one") {
  const std::vector<tiny::Arc> arcs = {{1, 0}, {2, 0}, {2, 0, D}, {3, 0}, {4, 0, W}, {5, 1}, {5, 2}, {6, 2}, {7, 3}};
  tiny::Graph t(8, arcs);
  HeapGraph h = as_heap(8, arcs, {5});
  for (std::size_t too_many : {0, 1, 2}) {
    for (std::size_t depth : {0, 1, 2, 3}) {
      CAPTURE(too_many);
      CAPTURE(depth);
      NeighbourhoodOptions o;
      o.max_depth = depth;
      o.too_many = too_many;
      o.highlight_chains = false;
      NodePicker pick(t, o, [](NodeIndex) { return true; });
      pick.run({0});
      Subgraph s = neighbourhood(h, {0}, o);
      REQUIRE(s.nodes.size() == pick.nodes().size());
      for (std::size_t i = 0; i < s.nodes.size(); ++i) {
        CHECK(s.nodes[i].node == pick.nodes()[i].node);
        CHECK(s.nodes[i].depth == pick.nodes()[i].depth);
      }
      std::uint64_t cut = 0;
      for (NodeIndex n : pick.expanded()) pick.for_each_cut(n, [&](NodeIndex) { ++cut; });
      std::uint64_t summarised = 0;
      for (const SummaryNode& sn : s.summaries) summarised += sn.count;
      CHECK(cut == summarised);
    }
  }
}
