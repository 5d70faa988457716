// refgraph/neighbourhood.hpp: the part of the graph worth drawing around some objects.
//
//   NeighbourhoodOptions o;  o.direction = Direction::Back;  o.max_depth = 6;
//   Subgraph s = neighbourhood(g, {g.find(id)}, o);       // then to_dot(g, s) in dot.hpp
//
// Breadth-first from the start nodes along in-edges (Back, objgraph's show_backrefs) or out-edges (Forward,
// show_refs). A node at depth max_depth is shown but not expanded (max_depth 0: the start nodes alone). Each
// expanded node adds at most `too_many` new nodes, its first distinct neighbours in ascending EdgeIndex order that
// pass the filters; neighbours already shown are drawn anyway and do not use up the cap. Whatever passes the
// filters but is left out (by the cap or by max_nodes) becomes, per expanded node, one "+N more <type>" summary
// per type, ordered by count descending then type name: the summaries say exactly what the drawing leaves out.
// Filters (include/exclude types, ignore, filter) never apply to the start nodes.
// With highlight_chains (Back only), the shortest backref_chain from the start nodes to a root is marked: its nodes
// on_chain, its edges in chain_edges. The chain is shown whole even past max_depth or through filtered types
// (added as extra nodes, not expanded, at their distance along the chain); it never uses a weak edge.
// `edges` are all graph edges whose two ends are shown (weak ones only with follow_weak).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "refgraph/graph.hpp"

namespace refgraph {

// The most one drawing holds. Graphviz's layout takes seconds past a few thousand nodes or edges, and its
// recursion exhausts the stack on a few hundred thousand edges, or on a few hundred edges that each cross hundreds
// of rows: neighbourhood() stops at kMaxDrawnObjects, and to_dot() (dot.hpp) enforces them all on any Subgraph,
// saying under the title what it left out.
inline constexpr std::size_t kMaxDrawnObjects = 1000;
inline constexpr std::size_t kMaxDrawnSummaries = 500;  // "+N more <type>" nodes
inline constexpr std::size_t kMaxDrawnEdges = 3000;     // parallel references between two objects count once
inline constexpr std::size_t kMaxDrawnEdgeRows = 5000;  // rows crossed by the edges longer than one row, in all
inline constexpr std::size_t kMaxDrawnCrossEdges = 500;  // edges that do not rank the layout (see dot.cpp)

enum class Direction { Back, Forward };

struct SubgraphNode {
  NodeIndex node;
  std::uint32_t depth = 0;  // distance from the nearest start node
  bool start = false;       // one of the objects asked about
  bool on_chain = false;    // on the highlighted chain to a root
};

// "+N more <type>" stands for neighbours of `anchor` cut by too_many.
struct SummaryNode {
  NodeIndex anchor;
  std::string type;
  std::uint64_t count = 0;
  std::uint64_t size = 0;  // total shallow bytes of what was cut
};

struct Subgraph {
  Direction direction = Direction::Back;
  std::vector<SubgraphNode> nodes;       // in discovery order, start nodes first
  std::vector<EdgeIndex> edges;          // graph edges between shown nodes, ascending
  std::vector<SummaryNode> summaries;
  std::vector<EdgeIndex> chain_edges;    // subset of edges on the highlighted chain
};

struct Chain;

struct NeighbourhoodOptions {
  Direction direction = Direction::Back;
  std::size_t max_depth = 3;
  std::size_t too_many = 10;                 // per-node cap on neighbours; 0: no cap
  std::vector<std::string> include_types;    // if non-empty, only these types are entered (start nodes always)
  std::vector<std::string> exclude_types;    // never entered
  std::vector<NodeIndex> ignore;             // never entered (objgraph's extra_ignore)
  std::function<bool(NodeIndex)> filter;     // entered only where it returns true (objgraph's filter)
  bool follow_weak = true;                   // walk and draw weak edges too (dashed; they never retain)
  bool highlight_chains = true;
  const Chain* chain = nullptr;             // with highlight_chains: mark this chain instead of searching one
  std::size_t max_nodes = kMaxDrawnObjects;  // hard stop for runaway drawings; summaries say what was cut
};

Subgraph neighbourhood(const HeapGraph& g, const std::vector<NodeIndex>& start, const NeighbourhoodOptions& options = {});

// A chain (chain.hpp) as a drawable subgraph: its nodes, its edges, all marked on_chain. The start (the last node
// of a backref chain, Direction::Back; the first of a ref chain, Forward) comes first with depth 0, then the others
// by distance. Throws QueryError if the edges do not join the nodes in order.
struct Chain;
Subgraph chain_subgraph(const HeapGraph& g, const Chain& chain, Direction direction = Direction::Back);

}  // namespace refgraph
