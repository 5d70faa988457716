// Type statistics: counts per type StringId into plain arrays, then sorts the (few) types.
#include "refgraph/type_stats.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "traversal.hpp"

namespace refgraph {

namespace {

// Chosen key descending, the other key descending, then type name ascending: a total order, so output is stable.
void sort_and_cut(std::vector<TypeStat>& stats, const TypeStatsOptions& options) {
  const bool by_size = options.sort == SortBy::Size;
  auto before = [by_size](const TypeStat& a, const TypeStat& b) {
    std::uint64_t a1 = by_size ? a.size : a.count, b1 = by_size ? b.size : b.count;
    if (a1 != b1) return a1 > b1;
    std::uint64_t a2 = by_size ? a.count : a.size, b2 = by_size ? b.count : b.size;
    if (a2 != b2) return a2 > b2;
    return a.type < b.type;
  };
  if (options.top != 0 && options.top < stats.size()) {
    std::partial_sort(stats.begin(), stats.begin() + static_cast<std::ptrdiff_t>(options.top), stats.end(), before);
    stats.resize(options.top);
  } else {
    std::sort(stats.begin(), stats.end(), before);
  }
}

}  // namespace

std::vector<TypeStat> type_stats(const HeapGraph& g, const TypeStatsOptions& options) {
  detail::TypeCounts counts = detail::count_types(g, options.gc_tracked_only);
  std::vector<TypeStat> stats;
  for (StringId t = 0; t < counts.count.size(); ++t) {
    if (counts.count[t] == 0) continue;
    stats.push_back(TypeStat{std::string(g.strings()[t]), counts.count[t], counts.size[t]});
  }
  sort_and_cut(stats, options);
  return stats;
}

std::vector<TypeStat> merge_type_stats(const std::vector<std::vector<TypeStat>>& per_graph,
                                       const TypeStatsOptions& options) {
  // gc_tracked_only has no meaning here: the per-graph lists were already made with or without it.
  std::vector<TypeStat> merged;
  std::unordered_map<std::string_view, std::size_t> where;
  std::size_t total = 0;
  for (const auto& stats : per_graph) total += stats.size();
  merged.reserve(total);  // no reallocation: the string_view keys point into `merged`
  for (const auto& stats : per_graph) {
    for (const TypeStat& s : stats) {
      auto it = where.find(s.type);
      if (it == where.end()) {
        merged.push_back(s);
        where.emplace(merged.back().type, merged.size() - 1);
      } else {
        merged[it->second].count += s.count;
        merged[it->second].size += s.size;
      }
    }
  }
  sort_and_cut(merged, options);
  return merged;
}

}  // namespace refgraph
