// refgraph/type_stats.hpp: how many objects of each type, and how many bytes.
//
//   for (const TypeStat& s : type_stats(g, {.sort = SortBy::Size, .top = 10})) print(s.type, s.count, s.size);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "refgraph/graph.hpp"

namespace refgraph {

enum class SortBy { Count, Size };

struct TypeStat {
  std::string type;
  std::uint64_t count = 0;
  std::uint64_t size = 0;  // total shallow bytes
};

struct TypeStatsOptions {
  SortBy sort = SortBy::Count;
  std::size_t top = 0;           // 0: all types
  bool gc_tracked_only = false;  // objgraph's view: only objects the garbage collector tracks
};

// Sorted descending by the chosen key, ties by the other key descending, then by type name ascending.
std::vector<TypeStat> type_stats(const HeapGraph& g, const TypeStatsOptions& options = {});

// Whether a type name of a graph answers a user's query for a type (`--type`, ids_of_type). A capture tells apart
// types that share a short name as "Request (werkzeug.wrappers.request)"; that name is answered by itself, by
// its short name "Request" (which then names every such type) and by the qualified "werkzeug.wrappers.request.Request".
bool type_name_matches(std::string_view name, std::string_view query);

// The nodes whose type name answers `query` (type_name_matches), ascending.
std::vector<NodeIndex> nodes_matching_type(const HeapGraph& g, std::string_view query);

// Sum over several graphs (one per worker process), same order rules.
std::vector<TypeStat> merge_type_stats(const std::vector<std::vector<TypeStat>>& per_graph,
                                       const TypeStatsOptions& options = {});

}  // namespace refgraph
