// refgraph/retainers.hpp: the shortest chain from a root to every object at once.
//
//   RetainerTree t(g);
//   Chain c = t.chain_to(g, n);   // root ... n, as backref_chain(g, {n}) would find (same length)
//
// One breadth-first search from every root over strong references, deferred ones (such as __globals__) only for
// what cannot be reached without them: for many chains of one graph (the rows of a report, every new object of
// a leak-suspect search) instead of one backward search each.
#pragma once

#include <vector>

#include "refgraph/chain.hpp"
#include "refgraph/graph.hpp"

namespace refgraph {

class RetainerTree {
 public:
  explicit RetainerTree(const HeapGraph& g);

  // The edge by which the search reached n; kNoParent for roots and for objects no root reaches.
  static constexpr EdgeIndex kNoParent = 0xFFFFFFFFu;
  EdgeIndex parent_edge(NodeIndex n) const { return parent_edge_[n]; }
  // Reached nodes, each after the node its parent edge comes from.
  const std::vector<NodeIndex>& order() const { return order_; }
  // Root first; an empty chain when no root reaches n.
  Chain chain_to(const HeapGraph& g, NodeIndex n) const;

 private:
  std::vector<EdgeIndex> parent_edge_;
  std::vector<NodeIndex> order_;
};

}  // namespace refgraph
