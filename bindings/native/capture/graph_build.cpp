#include "graph_build.hpp"

#include <algorithm>
#include <chrono>

#include "../../../core/src/huge_pages.hpp"
#include "address_sort.hpp"
#include "parallel.hpp"

namespace refgraph::capture {

namespace {

double wall_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

void call(const std::function<void()>& f) {
  if (f) f();
}

// The node columns in address order (r is the rank, perm[r] the capture index).
void fill_nodes(const WalkArrays& w, RawGraphParts& p, const std::uint32_t* perm, std::size_t m) {
  refgraph::detail::reserve_fresh(p.types, m);  // appended, not resized: no zeros written only to be replaced
  refgraph::detail::reserve_fresh(p.sizes, m);
  refgraph::detail::reserve_fresh(p.flags, m);
  refgraph::detail::reserve_fresh(p.labels, m);
  constexpr std::size_t kAhead = 16;  // the reads follow perm: random, so each is prefetched ahead
  for (std::size_t r = 0; r < m; ++r) {
    if (r + kAhead < m) {
      __builtin_prefetch(&w.described[perm[r + kAhead]]);
      __builtin_prefetch(&w.flags[perm[r + kAhead]]);
    }
    const std::uint32_t c = perm[r];
    const NodeDescription& d = w.described[c];
    p.types.push_back(d.type);
    p.sizes.push_back(d.size);
    p.flags.push_back(static_cast<std::uint8_t>(w.flags[c] & kGraphFlagsMask));
    p.labels.push_back(d.label);
  }
}

// The edges of the nodes ranked [0, m), grouped by source in address order, targets renumbered by rank (capture
// index -> node index); row_ends[r] is the edge count after node r's edges.
void fill_edges(const WalkArrays& w, RawGraphParts& p, EdgeIndex* row_ends, const std::uint32_t* perm,
                const std::uint32_t* rank, std::size_t m) {
  constexpr std::size_t kAhead = 16;  // the reads follow perm: random, so each is prefetched ahead
  for (std::size_t r = 0; r < m; ++r) {
    if (r + 2 * kAhead < m) __builtin_prefetch(&w.edge_begin[perm[r + 2 * kAhead]]);
    if (r + kAhead < m) {
      const std::uint32_t e = w.edge_begin[perm[r + kAhead]];
      __builtin_prefetch(&w.targets[e]);
      __builtin_prefetch(&w.labels[e]);
      __builtin_prefetch(&w.edge_flags[e]);
    }
    const std::uint32_t c = perm[r];
    for (std::uint32_t e = w.edge_begin[c]; e < w.edge_begin[c + 1]; ++e) {
      const std::uint32_t d = w.targets[e];
      const std::uint32_t t = d < w.n ? rank[d] : kNoNode;
      if (t == kNoNode) continue;  // to a marker (the tool's own object) or a dropped node
      p.edge_targets.push_back(t);
      p.edge_labels.push_back(w.labels[e]);
      p.edge_flags.push_back(w.edge_flags[e]);
    }
    row_ends[r] = static_cast<EdgeIndex>(p.edge_targets.size());
  }
}

}  // namespace

RawGraphParts build_graph_parts(const WalkArrays& w, const BuildHooks& hooks, BuildTimes* times) {
  const std::size_t n = w.n;
  std::uint32_t* perm = w.perm;
  const double t0 = wall_seconds();
  std::vector<std::uint64_t> ids;
  sort_by_address(w.addrs, n, *w.keep, w.scratch, w.scratch_bytes, &ids, perm);
  call(hooks.sorted);
  const double t1 = wall_seconds();

  auto* rank = reinterpret_cast<std::uint32_t*>(w.addrs);  // the sort is done with the addresses
  std::fill(rank, rank + n, kNoNode);
  // One node per address. Two can share one only if an object with a reference count of 1 (a sole leaf, which
  // has no address-set entry) was met twice, as a refcount bug in an extension could cause.
  std::size_t m = 0;
  for (std::size_t r = 0; r < ids.size(); ++r) {
    if (m > 0 && ids[r] == ids[m - 1]) {
      rank[perm[r]] = static_cast<std::uint32_t>(m - 1);
      continue;
    }
    ids[m] = ids[r];
    perm[m] = perm[r];
    rank[perm[r]] = static_cast<std::uint32_t>(m++);
  }
  ids.resize(m);
  call(hooks.ranked);

  RawGraphParts p;
  p.ids = std::move(ids);
  const double t2 = wall_seconds();
  // The nodes' columns on a second thread, the edges' on this one: both read only what the walk left and write
  // disjoint arrays. (Splitting the edges too, with a tail appended afterwards, was no faster in a fresh process,
  // where the node pass's page faults make it the longer leg.)
  const std::size_t total = w.edge_begin[n];
  refgraph::detail::resize_fresh(p.out_row_starts, m + 1);
  p.out_row_starts[0] = 0;
  refgraph::detail::reserve_fresh(p.edge_targets, total);
  refgraph::detail::reserve_fresh(p.edge_labels, total);
  refgraph::detail::reserve_fresh(p.edge_flags, total);
  in_parallel(
      [&] {
        fill_nodes(w, p, perm, m);
        call(hooks.nodes_done);
      },
      [&] { fill_edges(w, p, &p.out_row_starts[1], perm, rank, m); }, m >= (1u << 16));
  call(hooks.edges_done);
  if (times != nullptr) *times = {t1 - t0, t2 - t1, wall_seconds() - t2};
  return p;
}

}  // namespace refgraph::capture
