#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "refgraph/chain.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/graph.hpp"

using namespace refgraph;

namespace {

std::vector<std::uint64_t> ids(const HeapGraph& g, const Chain& c) {
  std::vector<std::uint64_t> out;
  for (NodeIndex n : c.nodes) out.push_back(g.id(n));
  return out;
}

std::vector<std::string> labels(const HeapGraph& g, const Chain& c) {
  std::vector<std::string> out;
  for (EdgeIndex e : c.edges) out.push_back(g.edge_label_text(e));
  return out;
}

// Every edge joins its neighbours in the reference direction.
void check_shape(const HeapGraph& g, const Chain& c) {
  REQUIRE(c.edges.size() + 1 == c.nodes.size());
  for (std::size_t i = 0; i < c.edges.size(); ++i) {
    CHECK(g.edge_source(c.edges[i]) == c.nodes[i]);
    CHECK(g.edge_target(c.edges[i]) == c.nodes[i + 1]);
  }
}

// module app.cache -> __dict__ -> ['USERS'] list -> [17] User
HeapGraph users_graph() {
  HeapGraphBuilder b;
  b.add_node(0x100, "module", 72, kGcTracked, RootKind::Module, "app.cache");
  b.add_node(0x200, "dict", 232);
  b.add_node(0x300, "list", 88);
  b.add_node(0x400, "User", 48);
  b.add_edge(0x100, 0x200, b.text_label("__dict__"));
  b.add_edge(0x200, 0x300, b.text_label("['USERS']"));
  b.add_edge(0x300, 0x400, index_label(17));
  return std::move(b).build();
}

}  // namespace

TEST_CASE("backref chain: root first, labelled hops, root kind") {
  HeapGraph g = users_graph();
  Chain c = backref_chain(g, {g.find(0x400)});
  REQUIRE(c.found());
  check_shape(g, c);
  CHECK(ids(g, c) == std::vector<std::uint64_t>{0x100, 0x200, 0x300, 0x400});
  CHECK(labels(g, c) == std::vector<std::string>{"__dict__", "['USERS']", "[17]"});
  CHECK(chain_root_kind(g, c) == RootKind::Module);
  CHECK_FALSE(c.used_deferred);
}

TEST_CASE("a start that is a target gives a one-node chain; empty input gives none") {
  HeapGraph g = users_graph();
  Chain c = backref_chain(g, {g.find(0x100)});
  CHECK(ids(g, c) == std::vector<std::uint64_t>{0x100});
  CHECK(c.edges.empty());
  CHECK_FALSE(backref_chain(g, {}).found());
  CHECK(chain_root_kind(g, Chain{}) == RootKind::None);
}

TEST_CASE("equally short chains: the first discovered in ascending edge order wins, every time") {
  // X has referrers B (lower address) and A; each is held by its own root. Both chains have two hops.
  // B's in-edge to X has the lower EdgeIndex (sources are numbered in address order), so B is queued first and
  // its root is found first, although root A has the lower address.
  HeapGraphBuilder b;
  b.add_node(0x100, "module", 1, kGcTracked, RootKind::Module, "a");
  b.add_node(0x150, "frame", 1, kGcTracked, RootKind::ThreadFrame, "main.py:3 in run");
  b.add_node(0x200, "B", 1);
  b.add_node(0x300, "A", 1);
  b.add_node(0x400, "X", 1);
  b.add_edge(0x100, 0x300, b.text_label("a"));
  b.add_edge(0x150, 0x200, b.text_label("f_locals['b']"));
  b.add_edge(0x300, 0x400, b.text_label("x"));
  b.add_edge(0x200, 0x400, b.text_label("x"));
  HeapGraph g = std::move(b).build();
  Chain first = backref_chain(g, {g.find(0x400)});
  CHECK(ids(g, first) == std::vector<std::uint64_t>{0x150, 0x200, 0x400});
  CHECK(chain_root_kind(g, first) == RootKind::ThreadFrame);
  for (int i = 0; i < 3; ++i) {
    Chain again = backref_chain(g, {g.find(0x400)});
    CHECK(again.nodes == first.nodes);
    CHECK(again.edges == first.edges);
  }
}

TEST_CASE("two edges from one holder: the lower EdgeIndex is the hop") {
  HeapGraphBuilder b;
  b.add_node(1, "list", 1, kGcTracked, RootKind::External);
  b.add_node(2, "X", 1);
  b.add_edge(1, 2, index_label(0));
  b.add_edge(1, 2, index_label(1));
  HeapGraph g = std::move(b).build();
  Chain c = backref_chain(g, {g.find(2)});
  CHECK(labels(g, c) == std::vector<std::string>{"[0]"});
  CHECK(chain_root_kind(g, c) == RootKind::External);
}

namespace {

// X <- G['x']; G <- F.__globals__ (deferred) <- M['f'] (root): three hops through a deferred edge.
// With `long_way`, also G <- H['g'] <- I['h'] <- M2.__dict__ (root): four hops, none deferred.
HeapGraph deferred_graph(bool long_way) {
  HeapGraphBuilder b;
  b.add_node(0x10, "module", 1, kGcTracked, RootKind::Module, "m");
  b.add_node(0x20, "function", 1);
  b.add_node(0x30, "dict", 1);
  b.add_node(0x40, "X", 1);
  b.add_edge(0x10, 0x20, b.text_label("f"));
  b.add_edge(0x20, 0x30, b.text_label("__globals__"), kEdgeDeferred);
  b.add_edge(0x30, 0x40, b.text_label("['x']"));
  if (long_way) {
    b.add_node(0x50, "module", 1, kGcTracked, RootKind::Module, "m2");
    b.add_node(0x60, "dict", 1);
    b.add_node(0x70, "H", 1);
    b.add_edge(0x50, 0x60, b.text_label("__dict__"));
    b.add_edge(0x60, 0x70, b.text_label("['h']"));
    b.add_edge(0x70, 0x30, b.text_label("g"));
  }
  return std::move(b).build();
}

}  // namespace

TEST_CASE("deferred edges are used only when no chain without them exists") {
  HeapGraph g = deferred_graph(true);
  Chain c = backref_chain(g, {g.find(0x40)});
  check_shape(g, c);
  CHECK(ids(g, c) == std::vector<std::uint64_t>{0x50, 0x60, 0x70, 0x30, 0x40});
  CHECK_FALSE(c.used_deferred);

  HeapGraph h = deferred_graph(false);
  Chain d = backref_chain(h, {h.find(0x40)});
  check_shape(h, d);
  CHECK(ids(h, d) == std::vector<std::uint64_t>{0x10, 0x20, 0x30, 0x40});
  CHECK(labels(h, d) == std::vector<std::string>{"f", "__globals__", "['x']"});
  CHECK(d.used_deferred);
}

TEST_CASE("weak edges are never followed") {
  HeapGraphBuilder b;
  b.add_node(1, "module", 1, kGcTracked, RootKind::Module);
  b.add_node(2, "weakref", 1);
  b.add_node(3, "X", 1);
  b.add_edge(1, 2, b.text_label("w"));
  b.add_edge(2, 3, b.text_label("referent"), kEdgeWeak);
  b.add_edge(1, 3, b.text_label("cb"), kEdgeWeak);
  HeapGraph g = std::move(b).build();
  CHECK_FALSE(backref_chain(g, {g.find(3)}).found());
  CHECK_FALSE(ref_chain(g, {g.find(1)}, {.target = {.types = {"X"}}}).found());

  // Add a strong path of three hops: it is taken although the weak ones are shorter.
  HeapGraphBuilder c;
  c.add_node(1, "module", 1, kGcTracked, RootKind::Module);
  c.add_node(2, "weakref", 1);
  c.add_node(3, "X", 1);
  c.add_node(4, "dict", 1);
  c.add_node(5, "list", 1);
  c.add_edge(1, 2);
  c.add_edge(2, 3, kNoEdgeLabel, kEdgeWeak);
  c.add_edge(1, 3, kNoEdgeLabel, kEdgeWeak);
  c.add_edge(1, 4);
  c.add_edge(4, 5);
  c.add_edge(5, 3);
  HeapGraph h = std::move(c).build();
  CHECK(ids(h, backref_chain(h, {h.find(3)})) == std::vector<std::uint64_t>{1, 4, 5, 3});
}

TEST_CASE("targets by type, by label, by predicate") {
  // X <- R (a root, one hop) and X <- Y <- T <- R2 (root).
  HeapGraphBuilder b;
  b.add_node(1, "module", 1, kGcTracked, RootKind::Module, "near");
  b.add_node(2, "module", 1, kGcTracked, RootKind::Module, "far");
  b.add_node(3, "T", 1, kGcTracked, RootKind::None, "tee");
  b.add_node(4, "Y", 1);
  b.add_node(5, "X", 1);
  b.add_edge(1, 5, b.text_label("x"));
  b.add_edge(2, 3, b.text_label("t"));
  b.add_edge(3, 4, b.text_label("y"));
  b.add_edge(4, 5, b.text_label("x"));
  HeapGraph g = std::move(b).build();
  NodeIndex x = g.find(5);
  CHECK(ids(g, backref_chain(g, {x})) == std::vector<std::uint64_t>{1, 5});
  // Types replace the root default: the nearer root is passed by.
  CHECK(ids(g, backref_chain(g, {x}, {.target = {.types = {"T"}}})) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(ids(g, backref_chain(g, {x}, {.target = {.types = {"nope", "T"}}})) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(ids(g, backref_chain(g, {x}, {.target = {.labels = {"far"}}})) == std::vector<std::uint64_t>{2, 3, 4, 5});
  CHECK(ids(g, backref_chain(g, {x}, {.target = {.labels = {"tee"}}})) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK_FALSE(backref_chain(g, {x}, {.target = {.types = {"absent"}}}).found());
  // A predicate replaces everything else.
  std::vector<NodeIndex> asked;
  ChainTarget pred;
  pred.predicate = [&](NodeIndex n) {
    asked.push_back(n);
    return g.type_name(n) == "Y";
  };
  pred.types = {"T"};
  CHECK(ids(g, backref_chain(g, {x}, {.target = pred})) == std::vector<std::uint64_t>{4, 5});
  CHECK(asked == std::vector<NodeIndex>{x, g.find(1), g.find(4)});
  // No root target at all: nothing qualifies.
  CHECK_FALSE(backref_chain(g, {x}, {.target = {.any_root = false}}).found());
}

TEST_CASE("ignored nodes are never entered, start nodes always are") {
  HeapGraph g = deferred_graph(true);
  // Without the long way's H, only the deferred path is left.
  Chain c = backref_chain(g, {g.find(0x40)}, {.ignore = {g.find(0x70)}});
  CHECK(ids(g, c) == std::vector<std::uint64_t>{0x10, 0x20, 0x30, 0x40});
  CHECK(c.used_deferred);
  CHECK_FALSE(backref_chain(g, {g.find(0x40)}, {.ignore = {g.find(0x30)}}).found());
  CHECK(ids(g, backref_chain(g, {g.find(0x40)}, {.ignore = {g.find(0x40)}})).size() == 5);
}

TEST_CASE("max_depth limits the number of hops") {
  HeapGraph g = users_graph();
  NodeIndex user = g.find(0x400);
  CHECK_FALSE(backref_chain(g, {user}, {.max_depth = 2}).found());
  CHECK(backref_chain(g, {user}, {.max_depth = 3}).nodes.size() == 4);
  CHECK(backref_chain(g, {user}, {.max_depth = 0}).nodes.size() == 4);
  CHECK(backref_chain(g, {g.find(0x100)}, {.max_depth = 1}).nodes.size() == 1);
}

TEST_CASE("several starts: the chain comes from the nearest; on a tie, the first given") {
  // R -> A -> B -> S1 and R -> S2; R2 -> S3.
  HeapGraphBuilder b;
  b.add_node(1, "module", 1, kGcTracked, RootKind::Module);
  b.add_node(2, "module", 1, kGcTracked, RootKind::Module);
  b.add_node(10, "A", 1);
  b.add_node(11, "B", 1);
  b.add_node(20, "S1", 1);
  b.add_node(21, "S2", 1);
  b.add_node(22, "S3", 1);
  b.add_edge(1, 10);
  b.add_edge(10, 11);
  b.add_edge(11, 20);
  b.add_edge(1, 21);
  b.add_edge(2, 22);
  HeapGraph g = std::move(b).build();
  NodeIndex s1 = g.find(20), s2 = g.find(21), s3 = g.find(22);
  CHECK(ids(g, backref_chain(g, {s1, s2})) == std::vector<std::uint64_t>{1, 21});
  CHECK(ids(g, backref_chain(g, {s1, s3, s2})) == std::vector<std::uint64_t>{2, 22});
  CHECK(ids(g, backref_chain(g, {s1, s2, s3})) == std::vector<std::uint64_t>{1, 21});
  CHECK(ids(g, backref_chain(g, {s1, s1})) == std::vector<std::uint64_t>{1, 10, 11, 20});
}

TEST_CASE("ref chain: start first, forward along out-edges") {
  HeapGraph g = users_graph();
  Chain c = ref_chain(g, {g.find(0x100)}, {.target = {.types = {"User"}}});
  check_shape(g, c);
  CHECK(ids(g, c) == std::vector<std::uint64_t>{0x100, 0x200, 0x300, 0x400});
  CHECK(labels(g, c) == std::vector<std::string>{"__dict__", "['USERS']", "[17]"});
  CHECK(ids(g, ref_chain(g, {g.find(0x200)}, {.target = {.types = {"list"}}})) ==
        std::vector<std::uint64_t>{0x200, 0x300});
  // Out-edges lead away from the root: the default target is never met from a non-root.
  CHECK_FALSE(ref_chain(g, {g.find(0x200)}).found());
}

TEST_CASE("an object in a list that is a class attribute: linear, exact") {
  // module -> __dict__ -> ['C'] class C -> __dict__ -> ['items'] list -> [0] X, and many instances of C,
  // each pointing at C through __class__ and held by a list that no root holds.
  HeapGraphBuilder b;
  const std::uint64_t n = 20000;
  b.add_node(0x10, "module", 1, kGcTracked, RootKind::Module, "app");
  b.add_node(0x20, "dict", 1);
  b.add_node(0x30, "type", 1, kGcTracked, RootKind::None, "C");
  b.add_node(0x40, "dict", 1);
  b.add_node(0x50, "list", 1);
  b.add_node(0x60, "X", 1);
  b.add_node(0x70, "list", 1);
  b.add_edge(0x10, 0x20, b.text_label("__dict__"));
  b.add_edge(0x20, 0x30, b.text_label("['C']"));
  b.add_edge(0x30, 0x40, b.text_label("__dict__"));
  b.add_edge(0x40, 0x50, b.text_label("['items']"));
  b.add_edge(0x50, 0x60, index_label(0));
  for (std::uint64_t i = 0; i < n; ++i) {
    b.add_node(0x1000 + 16 * i, "C", 1);
    b.add_edge(0x1000 + 16 * i, 0x30, b.text_label("__class__"));
    b.add_edge(0x70, 0x1000 + 16 * i, index_label(static_cast<std::uint32_t>(i)));
  }
  HeapGraph g = std::move(b).build();
  Chain c = backref_chain(g, {g.find(0x60)});
  CHECK(ids(g, c) == std::vector<std::uint64_t>{0x10, 0x20, 0x30, 0x40, 0x50, 0x60});
  CHECK(labels(g, c) == std::vector<std::string>{"__dict__", "['C']", "__dict__", "['items']", "[0]"});
}

TEST_CASE("bad node indices are a QueryError") {
  HeapGraph g = users_graph();
  CHECK_THROWS_AS(backref_chain(g, {99}), QueryError);
  CHECK_THROWS_AS(ref_chain(g, {0}, {.ignore = {4}}), QueryError);
}

TEST_CASE("chain_from_ids and chain_through: the edge each rule picks between two hops") {
  HeapGraphBuilder b;
  b.add_node(0x10, "module", 72, kGcTracked, RootKind::Module);
  b.add_node(0x20, "A", 16);
  b.add_node(0x30, "B", 16);
  b.add_edge(0x10, 0x20, b.text_label("a"));
  b.add_edge(0x20, 0x30, b.text_label("deferred"), kEdgeDeferred);
  b.add_edge(0x20, 0x30, b.text_label("weak"), kEdgeWeak);
  b.add_edge(0x20, 0x30, b.text_label("strong"));
  b.add_edge(0x30, 0x10, b.text_label("only weak"), kEdgeWeak);
  HeapGraph g = std::move(b).build();

  Chain c = chain_from_ids(g, {0x10, 0x20, 0x30});
  check_shape(g, c);
  CHECK(labels(g, c) == std::vector<std::string>{"a", "strong"});
  CHECK_FALSE(c.used_deferred);
  CHECK(labels(g, chain_through(g, c.nodes, HopEdge::Searched)) == std::vector<std::string>{"a", "strong"});
  c = chain_through(g, c.nodes, HopEdge::SearchedWithDeferred);  // the second phase follows the first strong edge
  CHECK(labels(g, c) == std::vector<std::string>{"a", "deferred"});
  CHECK(c.used_deferred);

  // A weak edge joins hops only for show_chain's rule; the search's rules never follow one.
  CHECK(labels(g, chain_from_ids(g, {0x30, 0x10})) == std::vector<std::string>{"only weak"});
  CHECK_THROWS_AS(chain_through(g, {g.find(0x30), g.find(0x10)}, HopEdge::Searched), QueryError);
  CHECK_THROWS_AS(chain_through(g, {g.find(0x30), g.find(0x10)}, HopEdge::SearchedWithDeferred), QueryError);

  CHECK_THROWS_WITH_AS(chain_from_ids(g, {0x10, 0x30}), "chain: no edge from id 16 to id 48", QueryError);
  CHECK_THROWS_WITH_AS(chain_from_ids(g, {0x10, 0x99}), "chain: id 153 is not in the graph", QueryError);
  CHECK_THROWS_AS(chain_through(g, {0, 7}), QueryError);
  CHECK(chain_from_ids(g, {0x20}).nodes.size() == 1);
  CHECK_FALSE(chain_from_ids(g, {}).found());
}
