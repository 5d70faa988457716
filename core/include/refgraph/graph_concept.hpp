// refgraph/graph_concept.hpp: the small graph interface that the searches of chain.hpp and neighbourhood.hpp are
// written against, so that each is written once and runs on a HeapGraph and on any other graph with the same shape
// (the live local scan's records in bindings/native/local_graph.cpp; a few lines of test graph in tests/cpp).
//
//   struct Tiny { ... };                                              // nodes 0 .. num_nodes(g) - 1
//   std::size_t num_nodes(const Tiny&);
//   template <class F> Walk for_each_in(const Tiny&, NodeIndex n, std::uint8_t skip, F&& f);  // f(source, edge)
//   NodeIndex edge_target(const Tiny&, Tiny::edge_type e);            // the node whose in-edge e is
//   std::uint8_t edge_flags(const Tiny&, Tiny::edge_type e);          // kEdgeWeak, kEdgeDeferred
//
// That is an InGraph (backward searches); an OutGraph has for_each_out(g, n, skip, f) calling f(target, edge) and
// edge_source(g, e). The functions are free functions found by argument-dependent lookup, as in Boost.Graph, so a
// type models the concepts without changing it; this header makes HeapGraph model both. An edge is a small handle
// (edge_of<G>: G::edge_type, EdgeIndex for a HeapGraph) that the searches store one a node.
//
// for_each_in / for_each_out call f for each edge without any of the `skip` flags, in an order that is the same every
// time (a HeapGraph's is ascending EdgeIndex, which for in-edges is also source NodeIndex order), stop when f
// returns true, and say whether they stopped and which of the `skip` flags the edges they passed over carried (a
// search uses that to know whether a second phase with deferred edges could find more).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "refgraph/graph.hpp"

namespace refgraph {

enum class Direction { Back, Forward };  // Back follows in-edges (who refers to this?), Forward out-edges

struct Walk {
  bool stopped = false;      // f returned true
  std::uint8_t skipped = 0;  // the `skip` flags of the edges passed over
};

template <class G>
struct GraphTraits {};  // no edge type: not a graph
template <class G>
requires requires { typename G::edge_type; }
struct GraphTraits<G> {
  using edge_type = typename G::edge_type;
};
template <>
struct GraphTraits<HeapGraph> {
  using edge_type = EdgeIndex;
};
template <class G>
using edge_of = typename GraphTraits<G>::edge_type;

namespace detail {
template <class E>
struct EdgeSink {  // a callback of the shape the concepts require
  bool operator()(NodeIndex, E) const { return false; }
};
}  // namespace detail

template <class G>
concept RefGraph = requires {
  typename edge_of<G>;
}
&&std::copyable<edge_of<G>>&& requires(const G& g, edge_of<G> e) {
  { num_nodes(g) } -> std::convertible_to<std::size_t>;
  { edge_flags(g, e) } -> std::convertible_to<std::uint8_t>;
};

template <class G>
concept InGraph = RefGraph<G> &&
    requires(const G& g, NodeIndex n, std::uint8_t skip, edge_of<G> e, detail::EdgeSink<edge_of<G>> f) {
  { for_each_in(g, n, skip, f) } -> std::same_as<Walk>;
  { edge_target(g, e) } -> std::convertible_to<NodeIndex>;
};

template <class G>
concept OutGraph = RefGraph<G> &&
    requires(const G& g, NodeIndex n, std::uint8_t skip, edge_of<G> e, detail::EdgeSink<edge_of<G>> f) {
  { for_each_out(g, n, skip, f) } -> std::same_as<Walk>;
  { edge_source(g, e) } -> std::convertible_to<NodeIndex>;
};

// HeapGraph as a model of both.
inline std::size_t num_nodes(const HeapGraph& g) { return g.num_nodes(); }
inline std::uint8_t edge_flags(const HeapGraph& g, EdgeIndex e) { return g.edge_flags(e); }
inline NodeIndex edge_target(const HeapGraph& g, EdgeIndex e) { return g.edge_target(e); }
inline NodeIndex edge_source(const HeapGraph& g, EdgeIndex e) { return g.edge_source(e); }

template <class F>
Walk for_each_out(const HeapGraph& g, NodeIndex n, std::uint8_t skip, F&& f) {
  const std::uint8_t* flags = g.edge_flag_array().data();
  const EdgeIndex* rows = g.out_row_starts().data();
  const NodeIndex* targets = g.edge_targets().data();
  Walk w;
  for (EdgeIndex e = rows[n], end = rows[n + 1]; e < end; ++e) {
    if (const std::uint8_t passed = flags[e] & skip) {
      w.skipped |= passed;
    } else if (f(targets[e], e)) {
      w.stopped = true;
      break;
    }
  }
  return w;
}

template <class F>
Walk for_each_in(const HeapGraph& g, NodeIndex n, std::uint8_t skip, F&& f) {
  const std::uint8_t* flags = g.edge_flag_array().data();
  Walk w;
  for (Edge e : g.in_edges(n)) {
    if (const std::uint8_t passed = flags[e.index] & skip) {
      w.skipped |= passed;
    } else if (f(e.source, e.index)) {
      w.stopped = true;
      break;
    }
  }
  return w;
}

static_assert(InGraph<HeapGraph> && OutGraph<HeapGraph>);

// The neighbours in direction D (in-edges for Back), for algorithms written for either direction.
template <Direction D, class G, class F>
Walk for_each_adjacent(const G& g, NodeIndex n, std::uint8_t skip, F&& f) {
  if constexpr (D == Direction::Back)
    return for_each_in(g, n, skip, f);
  else
    return for_each_out(g, n, skip, f);
}

// The node an edge leads back to when a search in direction D reached its other end through it.
template <Direction D, class G>
NodeIndex edge_towards_start(const G& g, edge_of<G> e) {
  if constexpr (D == Direction::Back)
    return edge_target(g, e);
  else
    return edge_source(g, e);
}

template <class G, Direction D>
concept GraphFor = (D == Direction::Back && InGraph<G>) || (D == Direction::Forward && OutGraph<G>);

namespace detail {

// A visited set of one bit a node: a million nodes fit in 128 KiB, in cache, where a 4-byte-a-node array does not.
class Bitmap {
 public:
  void clear(std::size_t n) { words_.assign((n + 63) / 64, 0); }
  bool test(NodeIndex n) const { return (words_[n >> 6] >> (n & 63)) & 1u; }
  void set(NodeIndex n) { words_[n >> 6] |= std::uint64_t{1} << (n & 63); }

 private:
  std::vector<std::uint64_t> words_;
};

}  // namespace detail

}  // namespace refgraph
