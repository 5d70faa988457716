// Shortest chains: shortest_path() (chain.hpp) on a HeapGraph, with the targets the options name. The search is
// multi-source breadth-first over plain arrays (a parent edge per node, a bitmap of seen nodes, a vector used as the
// queue): linear in the nodes and edges it touches, so an object held by a class attribute (whose class has a
// million instances pointing at it) costs one pass, not a wander.
#include "refgraph/chain.hpp"

#include "refgraph/errors.hpp"
#include "traversal.hpp"

namespace refgraph {

namespace {

class TargetTest {
 public:
  TargetTest(const HeapGraph& g, const ChainTarget& t)
      : g_(g), predicate_(t.predicate), types_(detail::find_strings(g, t.types)),
        labels_(detail::find_strings(g, t.labels)), by_name_(!t.types.empty() || !t.labels.empty()),
        any_root_(t.any_root) {}

  bool operator()(NodeIndex n) const {
    if (predicate_) return predicate_(n);
    if (by_name_) return detail::contains(types_, g_.type(n)) || detail::contains(labels_, g_.label(n));
    return any_root_ && g_.is_root(n);
  }

 private:
  const HeapGraph& g_;
  const std::function<bool(NodeIndex)>& predicate_;
  std::vector<StringId> types_;
  std::vector<StringId> labels_;
  bool by_name_;
  bool any_root_;
};

template <Direction D>
Chain find_chain(const HeapGraph& g, const std::vector<NodeIndex>& from, const ChainOptions& options) {
  detail::check_nodes(g, from, D == Direction::Back ? "backref chain start" : "ref chain start");
  detail::check_nodes(g, options.ignore, "chain ignore list");
  Chain chain;
  if (from.empty()) return chain;
  Path<EdgeIndex> p = shortest_path<D>(g, from, options.ignore, options.max_depth, TargetTest(g, options.target));
  chain.nodes = std::move(p.nodes);
  chain.edges = std::move(p.edges);
  chain.used_deferred = p.used_deferred;
  return chain;
}

// Rank of an edge between two hops under `pick`: lower is better, -1 never chosen.
int hop_rank(const HeapGraph& g, EdgeIndex e, HopEdge pick) {
  const bool weak = g.edge_weak(e), deferred = g.edge_deferred(e);
  switch (pick) {
    case HopEdge::Preferred: return (weak ? 2 : 0) + (deferred ? 1 : 0);
    case HopEdge::Searched: return weak || deferred ? -1 : 0;
    case HopEdge::SearchedWithDeferred: return weak ? -1 : 0;
  }
  return -1;
}

Chain join_hops(const HeapGraph& g, std::vector<NodeIndex> nodes, HopEdge pick,
                const std::function<std::string(std::size_t, NodeIndex)>& name) {
  Chain c;
  c.nodes = std::move(nodes);
  for (std::size_t i = 0; i + 1 < c.nodes.size(); ++i) {
    EdgeIndex best = 0;
    int best_rank = -1;
    for (Edge e : g.out_edges(c.nodes[i])) {
      if (e.target != c.nodes[i + 1]) continue;
      const int rank = hop_rank(g, e.index, pick);
      if (rank >= 0 && (best_rank < 0 || rank < best_rank)) {
        best_rank = rank;
        best = e.index;
      }
    }
    if (best_rank < 0)
      throw QueryError("chain: no edge from " + name(i, c.nodes[i]) + " to " + name(i + 1, c.nodes[i + 1]));
    c.used_deferred = c.used_deferred || g.edge_deferred(best);
    c.edges.push_back(best);
  }
  return c;
}

}  // namespace

Chain backref_chain(const HeapGraph& g, const std::vector<NodeIndex>& from, const ChainOptions& options) {
  return find_chain<Direction::Back>(g, from, options);
}

Chain ref_chain(const HeapGraph& g, const std::vector<NodeIndex>& from, const ChainOptions& options) {
  return find_chain<Direction::Forward>(g, from, options);
}

RootKind chain_root_kind(const HeapGraph& g, const Chain& c) {
  if (c.nodes.empty()) return RootKind::None;
  return g.root_kind(c.nodes.front());
}

Chain chain_through(const HeapGraph& g, std::vector<NodeIndex> nodes, HopEdge pick) {
  detail::check_nodes(g, nodes, "chain");
  return join_hops(g, std::move(nodes), pick, [](std::size_t, NodeIndex n) { return "node " + std::to_string(n); });
}

Chain chain_from_ids(const HeapGraph& g, const std::vector<std::uint64_t>& ids, HopEdge pick) {
  std::vector<NodeIndex> nodes;
  nodes.reserve(ids.size());
  for (std::uint64_t id : ids) {
    const NodeIndex n = g.find(id);
    if (n == kNoNode) throw QueryError("chain: id " + std::to_string(id) + " is not in the graph");
    nodes.push_back(n);
  }
  return join_hops(g, std::move(nodes), pick, [&](std::size_t i, NodeIndex) { return "id " + std::to_string(ids[i]); });
}

}  // namespace refgraph
