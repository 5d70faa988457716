// refgraph/chain.hpp: shortest reference chains, the answer to "who keeps this alive?".
//
//   Chain c = backref_chain(g, {g.find(leaked_id)});
//   // c.nodes: root first, the object asked about last; c.edges[i] goes from c.nodes[i] to c.nodes[i + 1].
//
// Breadth-first search over in-edges (backref) or out-edges (ref). Weak edges are never followed. Deferred edges
// (such as a function's __globals__) are used only when no chain without them exists: the search first runs on
// strong non-deferred edges, then, if it found nothing, on deferred ones too (as memlab and LeakCanary pick
// retainer paths). Deterministic: the start nodes are queued in the order given, and each node's neighbours are
// visited in ascending EdgeIndex order (for in-edges that is also source NodeIndex order); among equally short
// chains the first target so discovered wins, so the same input always gives the same chain.
//
// The search itself is shortest_path() below, a template over graph_concept.hpp's small interface: backref_chain
// runs it on a HeapGraph, the live local scan (bindings/native/local_graph.cpp) on its records.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "refgraph/graph.hpp"
#include "refgraph/graph_concept.hpp"

namespace refgraph {

struct Chain {
  std::vector<NodeIndex> nodes;  // backref: root ... target; ref: start ... found object
  std::vector<EdgeIndex> edges;  // edges[i] joins nodes[i] and nodes[i + 1] in the reference direction
  bool found() const { return !nodes.empty(); }
  bool used_deferred = false;  // the chain needed a deferred edge
};

// Where a search stops: by default at any root. A predicate (objgraph's `predicate`), or type names or node labels,
// replace that default: the first of these that is set decides alone.
struct ChainTarget {
  std::function<bool(NodeIndex)> predicate;  // when set, stop where it returns true (roots are not special then)
  std::vector<std::string> types;            // stop at a node of one of these types (roots are not special then)
  std::vector<std::string> labels;           // ... or with one of these labels
  bool any_root = true;                      // stop at a root (when no predicate, types or labels are set)
};

struct ChainOptions {
  ChainTarget target;
  std::size_t max_depth = 0;      // 0: unlimited
  std::vector<NodeIndex> ignore;  // nodes never entered (e.g. the tool's own frames); start nodes are entered anyway
};

// Shortest chain from the nearest of `from` back to a target, following in-edges. If a start is itself a target,
// the chain is that single node. Empty chain when nothing reachable qualifies. max_depth counts edges: a chain has
// at most max_depth edges. Throws QueryError for a start or ignore index that is not a node of g.
Chain backref_chain(const HeapGraph& g, const std::vector<NodeIndex>& from, const ChainOptions& options = {});

// Shortest chain from the nearest of `from` forward to a target, following out-edges (objgraph's find_ref_chain).
Chain ref_chain(const HeapGraph& g, const std::vector<NodeIndex>& from, const ChainOptions& options = {});

// The root kind of the chain's first node for a backref chain (None if it is not a root).
RootKind chain_root_kind(const HeapGraph& g, const Chain& c);

// Which edge joins two consecutive nodes of a chain given as nodes, when several do (each rule takes the first, in
// EdgeIndex order, of the best kind it allows).
enum class HopEdge {
  Preferred,             // a strong edge that is not deferred, else a strong deferred one, else a weak one (show_chain)
  Searched,              // the edge backref_chain's search follows: strong and not deferred
  SearchedWithDeferred,  // ... in its second phase, which allows deferred edges: the first strong edge
};

// A Chain through these nodes, in the reference direction (a backref chain's root first), each pair joined by the
// edge `pick` chooses. Throws QueryError for an index out of range or two consecutive nodes not so joined.
Chain chain_through(const HeapGraph& g, std::vector<NodeIndex> nodes, HopEdge pick = HopEdge::Preferred);

// The same from object ids (show_chain's input, a backref chain's root first); QueryError names an id that is not
// in the graph, or two consecutive ids not joined.
Chain chain_from_ids(const HeapGraph& g, const std::vector<std::uint64_t>& ids, HopEdge pick = HopEdge::Preferred);

// A shortest path as shortest_path() finds it, in a graph modelling graph_concept.hpp's interface.
template <class E>
struct Path {
  std::vector<NodeIndex> nodes;  // Back: the target found ... a start; Forward: a start ... the target found
  std::vector<E> edges;          // edges[i] joins nodes[i] and nodes[i + 1], in the reference direction
  bool used_deferred = false;    // the path needed a deferred edge (the second phase found it)
  bool found() const { return !nodes.empty(); }
};

// The search of backref_chain (D = Back) and ref_chain (Forward) with the rules at the top of this file, on any graph
// G modelling InGraph (Back) or OutGraph (Forward): breadth-first from `from` along strong edges, deferred ones only
// in a second phase when the first found nothing and passed one over. `is_target(NodeIndex)` says where to stop; a
// start that is a target is a path of one node. `ignore`d nodes are never entered (starts are); max_depth counts
// edges, 0 for no limit. Indices must be below num_nodes(g) (unchecked here). Not found: an empty path.
template <Direction D, class G, class IsTarget>
requires GraphFor<G, D> Path<edge_of<G>> shortest_path(const G& g, const std::vector<NodeIndex>& from,
                                                       const std::vector<NodeIndex>& ignore, std::size_t max_depth,
                                                       IsTarget&& is_target) {
  using E = edge_of<G>;
  Path<E> path;
  const std::size_t size = num_nodes(g);
  // A node's parent edge is written when the node is first seen and read only for seen nodes: no need to clear it.
  std::unique_ptr<E[]> parent = std::make_unique_for_overwrite<E[]>(size);
  detail::Bitmap seen, started;
  std::vector<NodeIndex> queue;
  queue.reserve(1024);
  NodeIndex found = kNoNode;
  for (const bool allow_deferred : {false, true}) {
    const std::uint8_t skip = allow_deferred ? kEdgeWeak : std::uint8_t(kEdgeWeak | kEdgeDeferred);
    bool skipped_deferred = false;
    seen.clear(size);
    started.clear(size);
    for (NodeIndex n : ignore) seen.set(n);
    queue.clear();
    for (NodeIndex s : from) {
      if (started.test(s)) continue;  // listed twice
      started.set(s);                 // a start is entered even if listed in `ignore`
      seen.set(s);
      if (is_target(s)) {
        found = s;
        break;
      }
      queue.push_back(s);
    }
    std::size_t head = 0;
    for (std::size_t depth = 0; found == kNoNode && head < queue.size(); ++depth) {
      if (max_depth != 0 && depth >= max_depth) break;
      const std::size_t level_end = queue.size();
      for (; head < level_end; ++head) {
        const Walk w = for_each_adjacent<D>(g, queue[head], skip, [&](NodeIndex m, E e) {
          if (seen.test(m)) return false;
          seen.set(m);
          parent[m] = e;
          if (is_target(m)) {
            found = m;
            return true;
          }
          queue.push_back(m);
          return false;
        });
        skipped_deferred = skipped_deferred || (w.skipped & kEdgeDeferred) != 0;
        if (w.stopped) break;
      }
    }
    if (found != kNoNode || !skipped_deferred) break;
  }
  if (found == kNoNode) return path;

  // From the target back to a start along the parent edges: for a backward search that is the reference direction
  // already (target ... start); a forward one is reversed to read start ... target.
  NodeIndex n = found;
  path.nodes.push_back(n);
  while (!started.test(n)) {
    const E e = parent[n];
    path.edges.push_back(e);
    path.used_deferred = path.used_deferred || (edge_flags(g, e) & kEdgeDeferred) != 0;
    n = edge_towards_start<D>(g, e);
    path.nodes.push_back(n);
  }
  if constexpr (D == Direction::Forward) {
    std::reverse(path.nodes.begin(), path.nodes.end());
    std::reverse(path.edges.begin(), path.edges.end());
  }
  return path;
}

}  // namespace refgraph
