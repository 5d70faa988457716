// Reachability: one pass over the edge arrays for leaking objects; a breadth-first search from every root for
// unreachable ones.
#include "refgraph/reachability.hpp"

#include "traversal.hpp"

namespace refgraph {

std::vector<NodeIndex> leaking_objects(const HeapGraph& g) {
  // A self-reference counts as a referrer, as in objgraph (gc.get_referents of the object itself names it).
  std::vector<std::uint8_t> referred(g.num_nodes(), 0);
  const std::vector<NodeIndex>& targets = g.edge_targets();
  const std::vector<std::uint8_t>& flags = g.edge_flag_array();
  for (std::size_t e = 0; e < targets.size(); ++e) {
    if ((flags[e] & kEdgeWeak) == 0) referred[targets[e]] = 1;
  }
  std::vector<NodeIndex> out;
  for (NodeIndex n = 0; n < g.num_nodes(); ++n) {
    if (!referred[n] && !g.is_root(n)) out.push_back(n);
  }
  return out;
}

std::vector<bool> reachable_from_roots(const HeapGraph& g) {
  // Deferred edges count here: they are unlikely explanations, but they do keep objects alive.
  std::vector<bool> seen(g.num_nodes(), false);
  std::vector<NodeIndex> queue;
  for (NodeIndex n = 0; n < g.num_nodes(); ++n) {
    if (g.is_root(n)) {
      seen[n] = true;
      queue.push_back(n);
    }
  }
  for (std::size_t head = 0; head < queue.size(); ++head) {
    detail::for_each_neighbour(g, queue[head], detail::Way::Out, kEdgeWeak, [&](NodeIndex m, EdgeIndex) {
      if (!seen[m]) {
        seen[m] = true;
        queue.push_back(m);
      }
      return false;
    });
  }
  return seen;
}

std::vector<NodeIndex> unreachable_objects(const HeapGraph& g) {
  std::vector<bool> seen = reachable_from_roots(g);
  std::vector<NodeIndex> out;
  for (NodeIndex n = 0; n < g.num_nodes(); ++n) {
    if (!seen[n]) out.push_back(n);
  }
  return out;
}

}  // namespace refgraph
