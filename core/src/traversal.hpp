// core/src/traversal.hpp (internal): plain-array building blocks shared by the analyses (chains, neighbourhoods,
// reachability; later dominators and retained sizes).
//
//   for_each_neighbour(g, n, Way::In, kEdgeWeak, [&](NodeIndex source, EdgeIndex e) { ...; return false; });
//
// Neighbours come in ascending EdgeIndex order in both directions: out-edges are contiguous by EdgeIndex, and
// in-edges are ordered by source NodeIndex then EdgeIndex, which is ascending EdgeIndex because edges are numbered
// grouped by source in NodeIndex order. Callbacks return true to stop early.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "refgraph/errors.hpp"
#include "refgraph/graph.hpp"
#include "refgraph/graph_concept.hpp"

namespace refgraph::detail {

enum class Way : std::uint8_t { In, Out };

inline constexpr EdgeIndex kNoEdge = 0xFFFFFFFFu;

// Calls f(neighbour, edge) for each in-edge (Way::In: neighbour is the source) or out-edge (Way::Out: neighbour is
// the target) of n, skipping edges that have any of `skip_flags`. Returns true if f stopped the walk.
template <typename F>
inline bool for_each_neighbour(const HeapGraph& g, NodeIndex n, Way way, std::uint8_t skip_flags, F&& f) {
  return (way == Way::Out ? for_each_out(g, n, skip_flags, f) : for_each_in(g, n, skip_flags, f)).stopped;
}

// Throws QueryError unless every index names a node of g; `what` says which argument ("chain start", ...).
inline void check_nodes(const HeapGraph& g, const std::vector<NodeIndex>& nodes, const char* what) {
  for (NodeIndex n : nodes) {
    if (n >= g.num_nodes())
      throw QueryError(std::string(what) + ": node index " + std::to_string(n) + " is out of range (the graph has " +
                       std::to_string(g.num_nodes()) + " nodes)");
  }
}

// The StringIds of those of `names` that g's string table holds (absent names match nothing; "" is skipped).
inline std::vector<StringId> find_strings(const HeapGraph& g, const std::vector<std::string>& names) {
  std::vector<StringId> ids;
  for (const std::string& name : names) {
    StringId id = g.strings().find(name);
    if (id != kNoString) ids.push_back(id);
  }
  return ids;
}

inline bool contains(const std::vector<StringId>& ids, StringId id) {
  for (StringId x : ids)
    if (x == id) return true;
  return false;
}

// Object count and total shallow size per type StringId: arrays indexed by StringId, no string hashing, so a
// million nodes take a few milliseconds.
struct TypeCounts {
  std::vector<std::uint64_t> count;
  std::vector<std::uint64_t> size;
};

inline TypeCounts count_types(const HeapGraph& g, bool gc_tracked_only) {
  TypeCounts t;
  t.count.assign(g.strings().size(), 0);
  t.size.assign(g.strings().size(), 0);
  const std::size_t n = g.num_nodes();
  const StringId* types = g.types().data();
  const std::uint64_t* sizes = g.sizes().data();
  const std::uint8_t* flags = g.node_flags().data();
  for (std::size_t i = 0; i < n; ++i) {
    if (gc_tracked_only && (flags[i] & kGcTracked) == 0) continue;
    ++t.count[types[i]];
    t.size[types[i]] += sizes[i];
  }
  return t;
}

}  // namespace refgraph::detail
