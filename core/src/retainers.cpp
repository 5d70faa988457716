#include "refgraph/retainers.hpp"

#include <algorithm>

#include "traversal.hpp"

namespace refgraph {

RetainerTree::RetainerTree(const HeapGraph& g) : parent_edge_(g.num_nodes(), kNoParent) {
  std::vector<std::uint8_t> seen(g.num_nodes(), 0);
  for (NodeIndex n = 0; n < g.num_nodes(); ++n) {
    if (g.is_root(n)) {
      seen[n] = 1;
      order_.push_back(n);
    }
  }
  auto expand = [&](std::uint8_t skip) {
    for (std::size_t head = 0; head < order_.size(); ++head) {
      detail::for_each_neighbour(g, order_[head], detail::Way::Out, skip, [&](NodeIndex m, EdgeIndex e) {
        if (!seen[m]) {
          seen[m] = 1;
          parent_edge_[m] = e;
          order_.push_back(m);
        }
        return false;
      });
    }
  };
  expand(kEdgeWeak | kEdgeDeferred);
  expand(kEdgeWeak);  // again from every reached node, now through deferred edges too
}

Chain RetainerTree::chain_to(const HeapGraph& g, NodeIndex n) const {
  Chain c;
  for (NodeIndex x = n;;) {
    c.nodes.push_back(x);
    const EdgeIndex e = parent_edge_[x];
    if (e == kNoParent) break;
    c.edges.push_back(e);
    c.used_deferred = c.used_deferred || g.edge_deferred(e);
    x = g.edge_source(e);
  }
  if (!g.is_root(c.nodes.back())) return {};
  std::reverse(c.nodes.begin(), c.nodes.end());
  std::reverse(c.edges.begin(), c.edges.end());
  return c;
}

}  // namespace refgraph
