// refgraph/growth.hpp: what grew between two snapshots.
//
//   for (const TypeGrowth& t : type_growth(older, newer)) print(t.type, t.count_after, t.count_delta);
//   std::vector<NodeIndex> fresh = new_objects(older, newer);   // indices into `newer`
#pragma once

#include <string>
#include <vector>

#include "refgraph/graph.hpp"

namespace refgraph {

struct TypeGrowth {
  std::string type;
  std::uint64_t count_before = 0;
  std::uint64_t count_after = 0;
  std::int64_t count_delta = 0;
  std::uint64_t size_before = 0;
  std::uint64_t size_after = 0;
  std::int64_t size_delta = 0;
};

struct GrowthOptions {
  std::size_t top = 0;   // 0: all growing types
  bool by_size = false;  // sort by size delta (and report types growing in size) instead of count delta
  bool gc_tracked_only = false;
};

// Only types whose count grew (or, with by_size, whose size grew); sorted by delta descending, then type name.
std::vector<TypeGrowth> type_growth(const HeapGraph& older, const HeapGraph& newer, const GrowthOptions& options = {});

// Nodes of `newer` absent from `older` by (id, type name): an address reused by an object of another type is new.
// Ascending NodeIndex order.
std::vector<NodeIndex> new_objects(const HeapGraph& older, const HeapGraph& newer);

}  // namespace refgraph
