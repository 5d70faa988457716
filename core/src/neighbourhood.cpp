// Neighbourhoods for drawing: NodePicker (neighbourhood.hpp) chooses the nodes, breadth-first over plain per-node
// arrays (slot in the subgraph, filter verdict, a stamp to see each neighbour once per expansion). Summaries are
// counted after the search, so "+N more" is exactly what the drawing leaves out around a node.
#include "refgraph/neighbourhood.hpp"

#include <algorithm>

#include "refgraph/chain.hpp"
#include "refgraph/errors.hpp"
#include "traversal.hpp"

namespace refgraph {

Subgraph neighbourhood(const HeapGraph& g, const std::vector<NodeIndex>& start, const NeighbourhoodOptions& o) {
  detail::check_nodes(g, start, "neighbourhood start");
  detail::check_nodes(g, o.ignore, "neighbourhood ignore list");
  Subgraph s;
  s.direction = o.direction;
  const std::uint8_t skip = o.follow_weak ? 0 : kEdgeWeak;
  const std::vector<StringId> include = detail::find_strings(g, o.include_types);
  const std::vector<StringId> exclude = detail::find_strings(g, o.exclude_types);
  auto filter = [&](NodeIndex m) {
    const StringId t = g.type(m);
    return !detail::contains(exclude, t) && (o.include_types.empty() || detail::contains(include, t)) &&
           (!o.filter || o.filter(m));
  };
  NodePicker pick(g, o, filter);
  pick.run(start);

  // The chain to a root, drawn even where it runs past max_depth or through filtered types: it is the answer to
  // "who keeps this alive", so it is shown whole (its extra nodes are not expanded).
  if (o.highlight_chains && o.direction == Direction::Back && !start.empty()) {
    ChainOptions co;
    co.ignore = o.ignore;
    Chain chain = o.chain != nullptr ? *o.chain : backref_chain(g, start, co);
    // Walk from the start end (the chain's last node) outwards, so extra nodes come in order of distance.
    for (std::size_t k = 0; k < chain.nodes.size(); ++k) {
      NodeIndex m = chain.nodes[chain.nodes.size() - 1 - k];
      if (!pick.shown(m)) pick.show(m, static_cast<std::uint32_t>(k));
      pick.node(m).on_chain = true;
    }
    s.chain_edges = chain.edges;
    std::sort(s.chain_edges.begin(), s.chain_edges.end());
  }

  // "+N more <type>": per expanded node, its distinct neighbours that pass the filters but are not shown.
  struct Cut {
    StringId type;
    std::uint64_t count;
    std::uint64_t size;
  };
  std::vector<Cut> cuts;
  for (NodeIndex n : pick.expanded()) {
    cuts.clear();
    pick.for_each_cut(n, [&](NodeIndex m) {
      auto it = std::find_if(cuts.begin(), cuts.end(), [&](const Cut& c) { return c.type == g.type(m); });
      if (it == cuts.end()) {
        cuts.push_back(Cut{g.type(m), 1, g.size(m)});
      } else {
        ++it->count;
        it->size += g.size(m);
      }
    });
    std::sort(cuts.begin(), cuts.end(), [&](const Cut& a, const Cut& b) {
      if (a.count != b.count) return a.count > b.count;
      return g.strings()[a.type] < g.strings()[b.type];
    });
    for (const Cut& c : cuts) s.summaries.push_back(SummaryNode{n, std::string(g.strings()[c.type]), c.count, c.size});
  }

  for (const SubgraphNode& sn : pick.nodes()) {
    detail::for_each_neighbour(g, sn.node, detail::Way::Out, skip, [&](NodeIndex m, EdgeIndex e) {
      if (pick.shown(m)) s.edges.push_back(e);
      return false;
    });
  }
  std::sort(s.edges.begin(), s.edges.end());
  s.nodes = std::move(pick.nodes());
  return s;
}

Subgraph chain_subgraph(const HeapGraph& g, const Chain& chain, Direction direction) {
  detail::check_nodes(g, chain.nodes, "chain_subgraph");
  if (!chain.nodes.empty() && chain.edges.size() + 1 != chain.nodes.size())
    throw QueryError("chain_subgraph: a chain of " + std::to_string(chain.nodes.size()) + " nodes needs " +
                     std::to_string(chain.nodes.size() - 1) + " edges, not " + std::to_string(chain.edges.size()));
  for (std::size_t i = 0; i < chain.edges.size(); ++i) {
    EdgeIndex e = chain.edges[i];
    if (e >= g.num_edges() || g.edge_target(e) != chain.nodes[i + 1] || g.edge_source(e) != chain.nodes[i])
      throw QueryError("chain_subgraph: edge " + std::to_string(i) + " does not join hop " + std::to_string(i) +
                       " to hop " + std::to_string(i + 1));
  }
  Subgraph s;
  s.direction = direction;
  const std::size_t n = chain.nodes.size();
  // Start first, as in every Subgraph: the last node of a backref chain, the first of a ref chain.
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = direction == Direction::Back ? n - 1 - k : k;
    s.nodes.push_back(SubgraphNode{chain.nodes[i], static_cast<std::uint32_t>(k), k == 0, true});
  }
  s.edges = chain.edges;
  std::sort(s.edges.begin(), s.edges.end());
  s.chain_edges = s.edges;
  return s;
}

}  // namespace refgraph
