// Growth between two snapshots. The graphs have separate string tables, so types are matched by name; each graph
// is counted once into arrays indexed by its own type StringIds.
#include "refgraph/growth.hpp"

#include <algorithm>

#include "traversal.hpp"

namespace refgraph {

std::vector<TypeGrowth> type_growth(const HeapGraph& older, const HeapGraph& newer, const GrowthOptions& options) {
  detail::TypeCounts before = detail::count_types(older, options.gc_tracked_only);
  detail::TypeCounts after = detail::count_types(newer, options.gc_tracked_only);
  std::vector<TypeGrowth> grown;
  for (StringId t = 0; t < after.count.size(); ++t) {
    if (after.count[t] == 0) continue;  // nothing of this type now: it cannot have grown
    std::string_view name = newer.strings()[t];
    TypeGrowth r;
    StringId old_t = older.strings().find(name);
    // find() answers kNoString both for "" and for an absent name: compare the text to tell them apart.
    if (older.strings()[old_t] == name) {
      r.count_before = before.count[old_t];
      r.size_before = before.size[old_t];
    }
    r.count_after = after.count[t];
    r.size_after = after.size[t];
    r.count_delta = static_cast<std::int64_t>(r.count_after) - static_cast<std::int64_t>(r.count_before);
    r.size_delta = static_cast<std::int64_t>(r.size_after) - static_cast<std::int64_t>(r.size_before);
    if ((options.by_size ? r.size_delta : r.count_delta) <= 0) continue;
    r.type = std::string(name);
    grown.push_back(std::move(r));
  }
  const bool by_size = options.by_size;
  auto before_in_order = [by_size](const TypeGrowth& a, const TypeGrowth& b) {
    std::int64_t da = by_size ? a.size_delta : a.count_delta, db = by_size ? b.size_delta : b.count_delta;
    if (da != db) return da > db;
    return a.type < b.type;
  };
  if (options.top != 0 && options.top < grown.size()) {
    std::partial_sort(grown.begin(), grown.begin() + static_cast<std::ptrdiff_t>(options.top), grown.end(),
                      before_in_order);
    grown.resize(options.top);
  } else {
    std::sort(grown.begin(), grown.end(), before_in_order);
  }
  return grown;
}

std::vector<NodeIndex> new_objects(const HeapGraph& older, const HeapGraph& newer) {
  // Both graphs are sorted by id: one merge walk. Where the ids match, the type names are compared through a
  // newer-StringId -> older-StringId map filled on first use (a few hundred types, not a million string compares).
  constexpr StringId kUnmapped = 0xFFFFFFFFu;
  constexpr StringId kAbsent = 0xFFFFFFFEu;
  std::vector<StringId> to_older(newer.strings().size(), kUnmapped);
  std::vector<NodeIndex> fresh;
  const std::vector<std::uint64_t>& a = older.ids();
  const std::vector<std::uint64_t>& b = newer.ids();
  std::size_t i = 0;
  for (std::size_t j = 0; j < b.size(); ++j) {
    while (i < a.size() && a[i] < b[j]) ++i;
    if (i == a.size() || a[i] != b[j]) {
      fresh.push_back(static_cast<NodeIndex>(j));
      continue;
    }
    StringId t = newer.type(static_cast<NodeIndex>(j));
    StringId& mapped = to_older[t];
    if (mapped == kUnmapped) {
      std::string_view name = newer.strings()[t];
      StringId old_t = older.strings().find(name);
      mapped = older.strings()[old_t] == name ? old_t : kAbsent;
    }
    if (mapped != older.type(static_cast<NodeIndex>(i))) fresh.push_back(static_cast<NodeIndex>(j));
  }
  return fresh;
}

}  // namespace refgraph
