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
//
// The choice of nodes is NodePicker below, a template over graph_concept.hpp's small interface: neighbourhood()
// runs it on a HeapGraph, the live local scan (bindings/native/local_graph.cpp) on its records to learn which
// objects to capture before it draws them with neighbourhood().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "refgraph/errors.hpp"
#include "refgraph/graph.hpp"
#include "refgraph/graph_concept.hpp"

namespace refgraph {

// The most one drawing holds. Graphviz's layout takes seconds past a few thousand nodes or edges, and its
// recursion exhausts the stack on a few hundred thousand edges, or on a few hundred edges that each cross hundreds
// of rows: neighbourhood() stops at kMaxDrawnObjects, and to_dot() (dot.hpp) enforces them all on any Subgraph,
// saying under the title what it left out.
inline constexpr std::size_t kMaxDrawnObjects = 1000;
inline constexpr std::size_t kMaxDrawnSummaries = 500;   // "+N more <type>" nodes
inline constexpr std::size_t kMaxDrawnEdges = 3000;      // parallel references between two objects count once
inline constexpr std::size_t kMaxDrawnEdgeRows = 5000;   // rows crossed by the edges longer than one row, in all
inline constexpr std::size_t kMaxDrawnCrossEdges = 500;  // edges that do not rank the layout (see dot.cpp)

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
  std::vector<SubgraphNode> nodes;  // in discovery order, start nodes first
  std::vector<EdgeIndex> edges;     // graph edges between shown nodes, ascending
  std::vector<SummaryNode> summaries;
  std::vector<EdgeIndex> chain_edges;  // subset of edges on the highlighted chain
};

struct Chain;

struct NeighbourhoodOptions {
  Direction direction = Direction::Back;
  std::size_t max_depth = 3;
  std::size_t too_many = 10;               // per-node cap on neighbours; 0: no cap
  std::vector<std::string> include_types;  // if non-empty, only these types are entered (start nodes always)
  std::vector<std::string> exclude_types;  // never entered
  std::vector<NodeIndex> ignore;           // never entered (objgraph's extra_ignore)
  std::function<bool(NodeIndex)> filter;   // entered only where it returns true (objgraph's filter)
  bool follow_weak = true;                 // walk and draw weak edges too (dashed; they never retain)
  bool highlight_chains = true;
  const Chain* chain = nullptr;              // with highlight_chains: mark this chain instead of searching one
  std::size_t max_nodes = kMaxDrawnObjects;  // hard stop for runaway drawings; summaries say what was cut
};

Subgraph neighbourhood(const HeapGraph& g, const std::vector<NodeIndex>& start,
                       const NeighbourhoodOptions& options = {});

// A chain (chain.hpp) as a drawable subgraph: its nodes, its edges, all marked on_chain. The start (the last node
// of a backref chain, Direction::Back; the first of a ref chain, Forward) comes first with depth 0, then the others
// by distance. Throws QueryError if the edges do not join the nodes in order.
Subgraph chain_subgraph(const HeapGraph& g, const Chain& chain, Direction direction = Direction::Back);

namespace detail {

// n zeros that cost nothing until written: calloc's fresh pages are zero already, so a picking that touches a few
// hundred nodes of a million does not pay to clear the rest.
template <class T>
class ZeroArray {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  explicit ZeroArray(std::size_t n) : p_(static_cast<T*>(std::calloc(n == 0 ? 1 : n, sizeof(T)))) {
    if (p_ == nullptr) throw std::bad_alloc();
  }
  ~ZeroArray() { std::free(p_); }
  ZeroArray(const ZeroArray&) = delete;
  ZeroArray& operator=(const ZeroArray&) = delete;
  T& operator[](std::size_t i) { return p_[i]; }
  const T& operator[](std::size_t i) const { return p_[i]; }

 private:
  T* p_;
};

}  // namespace detail

// neighbourhood()'s breadth-first choice of nodes on any graph G modelling InGraph (Direction::Back) or OutGraph
// (Forward), with the options' direction, max_depth, too_many, max_nodes, follow_weak and ignore (node indices of
// G), and `filter(NodeIndex)` for what else may be entered (the type lists and the filter of the options, which
// need a HeapGraph: the caller's). The filter is asked at most once a node and never about a start node.
//
//   NodePicker pick(g, options, filter);
//   pick.run(starts);                              // pick.nodes(): shown, in discovery order, starts first
//   pick.show(m, depth);                           // more nodes (a chain's), not expanded
//   for (NodeIndex n : pick.expanded()) pick.for_each_cut(n, [&](NodeIndex m) { ... });  // what "+N more" stands for
template <class G, class Filter>
requires InGraph<G>
class NodePicker {
 public:
  NodePicker(const G& g, const NeighbourhoodOptions& o, Filter filter)
      : g_(g), o_(o), filter_(std::move(filter)), skip_(o.follow_weak ? 0 : kEdgeWeak), slot_(num_nodes(g)),
        verdict_(num_nodes(g)), stamp_(num_nodes(g)) {
    if (o.direction == Direction::Forward && !OutGraph<G>)
      throw QueryError("neighbourhood: this graph has no forward direction");
    for (NodeIndex n : o.ignore) verdict_[n] = kReject;
  }

  void run(const std::vector<NodeIndex>& start) {
    for (NodeIndex n : start) {
      if (shown(n)) continue;
      show(n, 0);
      nodes_.back().start = true;
    }
    // nodes_ is the queue. Neighbours already shown are drawn anyway and do not use up the cap.
    for (std::size_t head = 0; head < nodes_.size(); ++head) {
      const NodeIndex n = nodes_[head].node;
      const std::uint32_t depth = nodes_[head].depth;
      if (depth >= o_.max_depth) continue;
      expanded_.push_back(n);
      ++epoch_;
      std::size_t kept = 0;
      adjacent(n, [&](NodeIndex m) {
        if (stamp_[m] == epoch_) return false;
        stamp_[m] = epoch_;
        if (shown(m) || !may_enter(m)) return false;
        if ((o_.too_many == 0 || kept < o_.too_many) && nodes_.size() < o_.max_nodes) {
          show(m, depth + 1);
          ++kept;
        }
        return false;
      });
    }
  }

  bool shown(NodeIndex n) const { return slot_[n] != 0; }
  void show(NodeIndex n, std::uint32_t depth) {
    nodes_.push_back(SubgraphNode{n, depth, false, false});
    slot_[n] = static_cast<std::uint32_t>(nodes_.size());
  }
  SubgraphNode& node(NodeIndex n) { return nodes_[slot_[n] - 1]; }  // n must be shown
  std::vector<SubgraphNode>& nodes() { return nodes_; }
  const std::vector<NodeIndex>& expanded() const { return expanded_; }

  // f(m) once for each distinct neighbour m of the expanded node n that may be entered but is not shown.
  template <class F>
  void for_each_cut(NodeIndex n, F&& f) {
    ++epoch_;
    adjacent(n, [&](NodeIndex m) {
      if (stamp_[m] == epoch_) return false;
      stamp_[m] = epoch_;
      if (!shown(m) && may_enter(m)) f(m);
      return false;
    });
  }

 private:
  enum Verdict : std::uint8_t { kUnknown = 0, kEnter = 1, kReject = 2 };

  bool may_enter(NodeIndex m) {
    if (verdict_[m] == kUnknown) verdict_[m] = filter_(m) ? kEnter : kReject;
    return verdict_[m] == kEnter;
  }
  template <class F>
  void adjacent(NodeIndex n, F&& f) {
    auto visit = [&](NodeIndex m, const edge_of<G>&) { return f(m); };
    if constexpr (OutGraph<G>) {
      if (o_.direction == Direction::Forward) {
        for_each_out(g_, n, skip_, visit);
        return;
      }
    }
    for_each_in(g_, n, skip_, visit);
  }

  const G& g_;
  const NeighbourhoodOptions& o_;
  Filter filter_;
  std::uint8_t skip_;
  detail::ZeroArray<std::uint32_t> slot_;    // 1 + position in nodes_; 0: not shown
  detail::ZeroArray<std::uint8_t> verdict_;  // may this node be entered? (the filter asked once)
  detail::ZeroArray<std::uint32_t> stamp_;   // last expansion that saw the node
  std::uint32_t epoch_ = 0;
  std::vector<SubgraphNode> nodes_;
  std::vector<NodeIndex> expanded_;
};

}  // namespace refgraph
