// refgraph/dominators.hpp: what keeps the most memory alive.
//
//   DominatorTree t = dominator_tree(g);
//   t.retained[n]                      bytes freed if n were freed: n's size plus everything only n keeps alive
//   t.idom[n]                          n's immediate dominator (a node, or t.roots() / t.garbage())
//   top_dominators(g, t, 20)           the biggest retainers directly under the roots
//   retained_by_type(g, t)             per type, the retained size of all its instances together
//   accumulation_point(g, t, n)        the container under n whose size is made of many small children
//   dominator_subgraph(g, t, n, 3, 10) what n alone keeps alive, ready for to_dot
//
// An object x dominates y when every path of strong references from a root to y passes through x: freeing x
// frees y. Weak references never dominate. The tree hangs from a virtual node above every root (modules, thread
// frames, objects held from C); objects no root reaches (cyclic garbage not yet collected) hang from a second virtual
// node of their own under it, so that garbage does not take credit for live objects. Both virtual nodes have
// indices past the graph's nodes: g.num_nodes() and g.num_nodes() + 1.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "refgraph/graph.hpp"
#include "refgraph/neighbourhood.hpp"

namespace refgraph {

struct DominatorTree {
  // By NodeIndex, with two extra entries for the virtual nodes; idom[roots()] is kNoNode.
  std::vector<NodeIndex> idom;
  std::vector<std::uint64_t> retained;

  NodeIndex roots() const { return NodeIndex(idom.size() - 2); }
  NodeIndex garbage() const { return NodeIndex(idom.size() - 1); }
  bool is_virtual(NodeIndex n) const { return n >= roots(); }
  // True when a is n or one of n's dominators (walks the tree up from n).
  bool dominates(NodeIndex a, NodeIndex n) const;
};

// Semi-NCA (Georgiadis' simple near-linear algorithm) over the graph's CSR, iterative throughout: a
// million-hop chain needs no call stack. Deterministic. Memory: 16 bytes a node at the peak, 12 kept (idom and
// retained), on top of the graph and its in-edge index (built here if no query has built it yet; the chains that
// reports show next need it anyway). Throws QueryError if the graph has too many nodes for two virtual ones to fit
// in 32-bit indices.
// `progress`, if given, is called now and then with the step under way and how far along it is (0 to 1).
using Progress = std::function<void(std::string_view step, double fraction)>;
DominatorTree dominator_tree(const HeapGraph& g, const Progress& progress = {});

// Children of n in the dominator tree, biggest retained size first (ties: ascending index).
std::vector<NodeIndex> dominated_children(const DominatorTree& t, NodeIndex n);

// Real nodes directly under the virtual roots (what MAT calls the top of the dominator tree), biggest first.
std::vector<NodeIndex> top_dominators(const DominatorTree& t, std::size_t limit);

// The retained size of every instance of a type taken together: an instance dominated by another instance of the
// same type is counted once, inside its dominator's share. Indexed by type StringId (types absent: 0).
struct TypeRetained {
  std::vector<std::uint64_t> bytes;
  std::vector<std::uint64_t> top_instances;  // instances not dominated by another instance of their type
};
TypeRetained retained_by_type(const HeapGraph& g, const DominatorTree& t);

// Follows the biggest child down from n while one child holds at least `share` of the current node's retained
// size; returns where the retained size is spread over many children (the list or dict that grows), or kNoNode
// when the walk ends at a leaf or at a node with fewer than `min_children` children.
NodeIndex accumulation_point(const DominatorTree& t, NodeIndex n, double share = 0.8, std::size_t min_children = 2);

// The dominator subtree of n as a drawable subgraph (to_dot in dot.hpp): n, then up to `width` children of each
// shown object (biggest retained first) down to `depth` levels, the references among them, and one
// "+N more objects" summary per object whose children were cut (size: what they retain).
Subgraph dominator_subgraph(const HeapGraph& g, const DominatorTree& t, NodeIndex n, std::size_t depth,
                            std::size_t width);

}  // namespace refgraph
