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

namespace refgraph {

bool type_name_matches(std::string_view name, std::string_view query) {
  if (name == query) return true;
  const std::size_t open = name.rfind(" (");
  if (open == std::string_view::npos || name.size() < open + 4 || name.back() != ')')
    return false;  // a module: 1+ chars
  const std::string_view short_name = name.substr(0, open);
  const std::string_view module = name.substr(open + 2, name.size() - open - 3);
  if (short_name == query) return true;
  return query.size() == module.size() + 1 + short_name.size() && query.substr(0, module.size()) == module &&
         query[module.size()] == '.' && query.substr(module.size() + 1) == short_name;
}

std::vector<NodeIndex> nodes_matching_type(const HeapGraph& g, std::string_view query) {
  // Each type name is judged once: 0 not yet, 1 no, 2 yes.
  std::vector<std::uint8_t> verdict(g.strings().size(), 0);
  const auto& types = g.types();
  std::vector<NodeIndex> out;
  for (NodeIndex n = 0; n < types.size(); ++n) {
    std::uint8_t& v = verdict[types[n]];
    if (v == 0) v = type_name_matches(g.strings()[types[n]], query) ? 2 : 1;
    if (v == 2) out.push_back(n);
  }
  return out;
}

}  // namespace refgraph
