#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "refgraph/dominators.hpp"
#include "refgraph/graph.hpp"

using namespace refgraph;

namespace {

// Node ids are 1..n; sizes are given per id.
struct Spec {
  std::vector<std::uint64_t> sizes;  // sizes[i] for id i + 1
  std::vector<std::uint64_t> roots;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> edges;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> weak_edges;
  std::vector<const char*> types;  // optional, per id
};

HeapGraph build(const Spec& s) {
  HeapGraphBuilder b;
  for (std::size_t i = 0; i < s.sizes.size(); ++i) {
    const char* type = s.types.empty() ? "T" : s.types[i];
    b.add_node(i + 1, type, s.sizes[i]);
  }
  for (std::uint64_t r : s.roots) b.set_root(r, RootKind::Module);
  for (auto [a, c] : s.edges) b.add_edge(a, c);
  for (auto [a, c] : s.weak_edges) b.add_edge(a, c, kNoEdgeLabel, kEdgeWeak);
  return std::move(b).build();
}

std::uint64_t idom_id(const HeapGraph& g, const DominatorTree& t, std::uint64_t id) {
  NodeIndex d = t.idom[g.find(id)];
  if (d == t.roots()) return 0;
  if (d == t.garbage()) return ~std::uint64_t{0};
  return g.id(d);
}

std::uint64_t retained(const HeapGraph& g, const DominatorTree& t, std::uint64_t id) { return t.retained[g.find(id)]; }

constexpr std::uint64_t kRoots = 0;
constexpr std::uint64_t kGarbage = ~std::uint64_t{0};

}  // namespace

TEST_CASE("dominators: a diamond is dominated by its top, not by either side") {
  // 1 (root) -> 2, 3; 2 -> 4; 3 -> 4; 4 -> 5
  HeapGraph g = build({{10, 20, 30, 40, 50}, {1}, {{1, 2}, {1, 3}, {2, 4}, {3, 4}, {4, 5}}, {}, {}});
  DominatorTree t = dominator_tree(g);
  CHECK(idom_id(g, t, 1) == kRoots);
  CHECK(idom_id(g, t, 2) == 1);
  CHECK(idom_id(g, t, 3) == 1);
  CHECK(idom_id(g, t, 4) == 1);
  CHECK(idom_id(g, t, 5) == 4);
  CHECK(retained(g, t, 4) == 90);
  CHECK(retained(g, t, 2) == 20);
  CHECK(retained(g, t, 1) == 150);
  CHECK(t.retained[t.roots()] == 150);
  CHECK(t.dominates(g.find(1), g.find(5)));
  CHECK_FALSE(t.dominates(g.find(2), g.find(5)));
}

TEST_CASE("dominators: a cycle entered once is dominated by its entry") {
  // 1 (root) -> 2 -> 3 -> 4 -> 2
  HeapGraph g = build({{1, 2, 3, 4}, {1}, {{1, 2}, {2, 3}, {3, 4}, {4, 2}}, {}, {}});
  DominatorTree t = dominator_tree(g);
  CHECK(idom_id(g, t, 2) == 1);
  CHECK(idom_id(g, t, 3) == 2);
  CHECK(idom_id(g, t, 4) == 3);
  CHECK(retained(g, t, 2) == 9);
}

TEST_CASE("dominators: a weak reference never dominates") {
  // 1 (root) -> 2 -> 3; 1 -weak-> 3: 2 still dominates 3. 4 is held only weakly: garbage.
  HeapGraph g = build({{1, 2, 3, 4}, {1}, {{1, 2}, {2, 3}}, {{1, 3}, {1, 4}}, {}});
  DominatorTree t = dominator_tree(g);
  CHECK(idom_id(g, t, 3) == 2);
  CHECK(idom_id(g, t, 4) == kGarbage);
  CHECK(retained(g, t, 1) == 6);
  CHECK(t.retained[t.garbage()] == 4);
}

TEST_CASE("dominators: garbage hangs under its own node and does not co-own live objects") {
  // Live: 1 (root) -> 2. Garbage cycle 3 <-> 4, which also points at the live 2; 5 (unreferred) -> 3.
  HeapGraph g = build({{1, 2, 3, 4, 5}, {1}, {{1, 2}, {3, 4}, {4, 3}, {4, 2}, {5, 3}}, {}, {}});
  DominatorTree t = dominator_tree(g);
  CHECK(idom_id(g, t, 2) == 1);  // not the virtual root: garbage's reference to 2 does not count
  CHECK(idom_id(g, t, 5) == kGarbage);
  CHECK(idom_id(g, t, 3) == 5);
  CHECK(idom_id(g, t, 4) == 3);
  CHECK(t.idom[t.garbage()] == t.roots());
  CHECK(t.retained[t.garbage()] == 12);
  CHECK(t.retained[t.roots()] == 15);
}

TEST_CASE("dominators: a cycle of garbage nobody enters is entered at its lowest index") {
  HeapGraph g = build({{1, 2, 3, 4}, {1}, {{4, 3}, {3, 2}, {2, 4}}, {}, {}});
  DominatorTree t = dominator_tree(g);
  CHECK(idom_id(g, t, 2) == kGarbage);
  CHECK(idom_id(g, t, 4) == 2);
  CHECK(idom_id(g, t, 3) == 4);
}

TEST_CASE("dominators: a child shared by two roots is retained by neither") {
  HeapGraph g = build({{1, 2, 100}, {1, 2}, {{1, 3}, {2, 3}}, {}, {}});
  DominatorTree t = dominator_tree(g);
  CHECK(idom_id(g, t, 3) == kRoots);
  CHECK(retained(g, t, 1) == 1);
  CHECK(retained(g, t, 2) == 2);
  CHECK(retained(g, t, 3) == 100);
  // A root reached through another root's references is still dominated by the virtual root only.
  HeapGraph h = build({{1, 2}, {1, 2}, {{1, 2}}, {}, {}});
  DominatorTree th = dominator_tree(h);
  CHECK(idom_id(h, th, 2) == kRoots);
}

TEST_CASE("dominators: the result does not depend on the order edges were given") {
  Spec a{{1, 2, 3, 4, 5, 6}, {1}, {{1, 2}, {1, 3}, {2, 4}, {3, 4}, {4, 5}, {5, 6}, {6, 4}}, {}, {}};
  Spec b = a;
  std::reverse(b.edges.begin(), b.edges.end());
  HeapGraph ga = build(a), gb = build(b);
  DominatorTree ta = dominator_tree(ga), tb = dominator_tree(gb);
  CHECK(ta.idom == tb.idom);
  CHECK(ta.retained == tb.retained);
}

TEST_CASE("dominators: a million-hop chain needs no call stack") {
  HeapGraphBuilder b;
  const std::uint64_t n = 1'000'000;
  for (std::uint64_t i = 1; i <= n; ++i) b.add_node(i, "link", 8);
  b.set_root(1, RootKind::Module);
  for (std::uint64_t i = 1; i < n; ++i) b.add_edge(i, i + 1);
  b.add_edge(n, 1);
  HeapGraph g = std::move(b).build();
  DominatorTree t = dominator_tree(g);
  CHECK(t.retained[g.find(1)] == 8 * n);
  CHECK(t.retained[g.find(n)] == 8);
  CHECK(idom_id(g, t, n) == n - 1);
  CHECK(accumulation_point(t, g.find(1)) == kNoNode);  // one child all the way down: a chain, not a container
}

TEST_CASE("retained by type: nested instances are counted once") {
  // 1 (root, Cache) -> 2 (Node) -> 3 (Node) -> 4 (str); 1 -> 5 (Node)
  HeapGraph g = build(
      {{100, 10, 10, 5, 10}, {1}, {{1, 2}, {2, 3}, {3, 4}, {1, 5}}, {}, {"Cache", "Node", "Node", "str", "Node"}});
  DominatorTree t = dominator_tree(g);
  TypeRetained r = retained_by_type(g, t);
  const StringId node = g.strings().find("Node");
  CHECK(r.bytes[node] == 35);  // (10 + 10 + 5) + 10, not also the nested 3's 15
  CHECK(r.top_instances[node] == 2);
  CHECK(r.bytes[g.strings().find("Cache")] == 135);
  CHECK(r.bytes[g.strings().find("str")] == 5);
}

TEST_CASE("top dominators and children, biggest first with ties by index") {
  HeapGraph g = build({{1, 5, 5, 50}, {1, 4}, {{1, 2}, {1, 3}}, {}, {}});
  DominatorTree t = dominator_tree(g);
  std::vector<NodeIndex> top = top_dominators(t, 10);
  REQUIRE(top.size() == 2);
  CHECK(g.id(top[0]) == 4);
  CHECK(g.id(top[1]) == 1);
  CHECK(top_dominators(t, 1).size() == 1);
  std::vector<NodeIndex> kids = dominated_children(t, g.find(1));
  REQUIRE(kids.size() == 2);
  CHECK(g.id(kids[0]) == 2);
  CHECK(g.id(kids[1]) == 3);
}

TEST_CASE("accumulation point: the container whose size is many small children") {
  // 1 (module root) -> 2 (dict) -> 3 (list) -> 4..23 (twenty items); 2 -> 24 (small)
  Spec s;
  s.sizes = {10, 20, 30};
  for (int i = 0; i < 20; ++i) s.sizes.push_back(100);
  s.sizes.push_back(1);
  s.roots = {1};
  s.edges = {{1, 2}, {2, 3}, {2, 24}};
  for (std::uint64_t i = 4; i <= 23; ++i) s.edges.push_back({3, i});
  HeapGraph g = build(s);
  DominatorTree t = dominator_tree(g);
  CHECK(accumulation_point(t, g.find(1)) == g.find(3));
  CHECK(accumulation_point(t, t.roots()) == g.find(3));
  CHECK(accumulation_point(t, g.find(4)) == kNoNode);
}

namespace {

// x dominates y iff y is reachable from the virtual root and not once x is removed; only live nodes are compared,
// since which garbage object enters a cycle is a convention.
std::vector<bool> reach_without(const HeapGraph& g, NodeIndex removed) {
  std::vector<bool> seen(g.num_nodes(), false);
  std::vector<NodeIndex> stack;
  for (NodeIndex r = 0; r < g.num_nodes(); ++r) {
    if (g.is_root(r) && r != removed) {
      seen[r] = true;
      stack.push_back(r);
    }
  }
  while (!stack.empty()) {
    NodeIndex v = stack.back();
    stack.pop_back();
    for (Edge e : g.out_edges(v)) {
      if (g.edge_weak(e.index) || e.target == removed || seen[e.target]) continue;
      seen[e.target] = true;
      stack.push_back(e.target);
    }
  }
  return seen;
}

}  // namespace

TEST_CASE("dominators: the same as the definition on thousands of random small graphs") {
  std::mt19937 rng(20261205);
  for (int round = 0; round < 3000; ++round) {
    const int n = 2 + int(rng() % 11);
    const int m = int(rng() % (3 * n));
    Spec s;
    for (int i = 0; i < n; ++i) s.sizes.push_back(1 + rng() % 100);
    for (int i = 1; i <= n; ++i) {
      if (rng() % 4 == 0) s.roots.push_back(i);
    }
    for (int i = 0; i < m; ++i) {
      auto a = 1 + rng() % n, c = 1 + rng() % n;
      if (rng() % 8 == 0)
        s.weak_edges.push_back({a, c});
      else
        s.edges.push_back({a, c});
    }
    HeapGraph g = build(s);
    DominatorTree t = dominator_tree(g);
    std::vector<bool> live = reach_without(g, kNoNode);
    for (NodeIndex y = 0; y < g.num_nodes(); ++y) {
      if (!live[y]) {
        // Garbage: its dominators are garbage, up to the garbage node.
        NodeIndex x = t.idom[y];
        while (x != t.garbage()) {
          REQUIRE(x < g.num_nodes());
          CHECK_FALSE(live[x]);
          x = t.idom[x];
        }
        continue;
      }
      // The immediate dominator is the dominator of y that every other dominator of y dominates.
      std::vector<NodeIndex> doms;
      for (NodeIndex x = 0; x < g.num_nodes(); ++x) {
        if (x != y && live[x] && !reach_without(g, x)[y]) doms.push_back(x);
      }
      std::uint64_t expected_retained = 0;
      for (NodeIndex z = 0; z < g.num_nodes(); ++z) {
        if (live[z] && (z == y || !reach_without(g, y)[z])) expected_retained += g.size(z);
      }
      INFO("round " << round << " node " << g.id(y));
      CHECK(t.retained[y] == expected_retained);
      if (doms.empty()) {
        CHECK(t.idom[y] == t.roots());
      } else {
        NodeIndex idom = kNoNode;
        for (NodeIndex d : doms) {
          bool closest = true;
          for (NodeIndex o : doms) {
            if (o != d && reach_without(g, o)[d]) closest = false;  // o does not dominate d
          }
          if (closest) idom = d;
        }
        CHECK(t.idom[y] == idom);
      }
    }
  }
}

namespace {

// Nodes reached from `starts` over strong edges among the nodes `allowed`, without `removed`.
std::vector<bool> reach_among(const HeapGraph& g, const std::vector<NodeIndex>& starts,
                              const std::vector<bool>& allowed, NodeIndex removed) {
  std::vector<bool> seen(g.num_nodes(), false);
  std::vector<NodeIndex> stack;
  for (NodeIndex s : starts) {
    if (s != removed && !seen[s]) seen[s] = true, stack.push_back(s);
  }
  while (!stack.empty()) {
    NodeIndex v = stack.back();
    stack.pop_back();
    for (Edge e : g.out_edges(v)) {
      if (g.edge_weak(e.index) || e.target == removed || seen[e.target] || !allowed[e.target]) continue;
      seen[e.target] = true;
      stack.push_back(e.target);
    }
  }
  return seen;
}

}  // namespace

TEST_CASE("dominators: garbage is the definition too, under the entries the header documents") {
  // The garbage node enters every unreferred garbage object, then the lowest index of each cycle still unentered;
  // below it, x dominates y iff y is not reached from those entries once x is removed.
  std::mt19937 rng(20261206);
  int garbage_seen = 0;
  for (int round = 0; round < 3000; ++round) {
    const int n = 2 + int(rng() % 11);
    const int m = int(rng() % (3 * n));
    Spec s;
    for (int i = 0; i < n; ++i) s.sizes.push_back(1 + rng() % 100);
    for (int i = 1; i <= n; ++i) {
      if (rng() % 5 == 0) s.roots.push_back(i);
    }
    for (int i = 0; i < m; ++i) {
      auto a = 1 + rng() % n, c = 1 + rng() % n;
      if (rng() % 8 == 0)
        s.weak_edges.push_back({a, c});
      else
        s.edges.push_back({a, c});
    }
    HeapGraph g = build(s);
    DominatorTree t = dominator_tree(g);
    const std::vector<bool> live = reach_without(g, kNoNode);
    std::vector<bool> dead(g.num_nodes());
    std::uint64_t dead_bytes = 0, all_bytes = 0;
    for (NodeIndex v = 0; v < g.num_nodes(); ++v) {
      dead[v] = !live[v];
      all_bytes += g.size(v);
      if (dead[v]) dead_bytes += g.size(v);
    }
    INFO("round " << round);
    CHECK(t.retained[t.roots()] == all_bytes);
    CHECK(t.retained[t.garbage()] == dead_bytes);
    CHECK(t.idom[t.garbage()] == t.roots());
    std::vector<NodeIndex> entries;
    for (NodeIndex v = 0; v < g.num_nodes(); ++v) {
      bool referred = false;
      for (Edge e : g.in_edges(v)) referred = referred || !g.edge_weak(e.index);
      if (dead[v] && !referred) entries.push_back(v);
    }
    for (NodeIndex v = 0; v < g.num_nodes(); ++v) {
      if (dead[v] && !reach_among(g, entries, dead, kNoNode)[v]) entries.push_back(v);
    }
    for (NodeIndex y = 0; y < g.num_nodes(); ++y) {
      if (!dead[y]) continue;
      ++garbage_seen;
      std::vector<NodeIndex> doms;
      for (NodeIndex x = 0; x < g.num_nodes(); ++x) {
        if (x != y && dead[x] && !reach_among(g, entries, dead, x)[y]) doms.push_back(x);
      }
      std::uint64_t expected_retained = 0;
      const std::vector<bool> without_y = reach_among(g, entries, dead, y);
      for (NodeIndex z = 0; z < g.num_nodes(); ++z) {
        if (dead[z] && (z == y || !without_y[z])) expected_retained += g.size(z);
      }
      INFO("node " << g.id(y));
      CHECK(t.retained[y] == expected_retained);
      NodeIndex idom = t.garbage();
      for (NodeIndex d : doms) {
        bool closest = true;
        for (NodeIndex o : doms) {
          if (o != d && reach_among(g, entries, dead, o)[d]) closest = false;  // o does not dominate d
        }
        if (closest) idom = d;
      }
      CHECK(t.idom[y] == idom);
    }
  }
  CHECK(garbage_seen > 1000);
}
