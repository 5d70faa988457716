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
#pragma once

#include <functional>
#include <vector>

#include "refgraph/graph.hpp"

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
  std::size_t max_depth = 0;  // 0: unlimited
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

}  // namespace refgraph
