// The graph a walk's arrays make: nodes in address order (address_sort.hpp), one a distinct address, their columns
// and their out-edges renumbered from capture index to node index. Plain C++ (no Python object is read), so that
// tests/cpp builds graphs from literal walk arrays.
//
//   WalkArrays w{addrs, n, &keep, described, flags, edge_begin, targets, labels, edge_flags, perm};
//   RawGraphParts p = build_graph_parts(w, {}, &times);   // then p.strings, p.metadata; assemble
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "refgraph/graph.hpp"

namespace refgraph::capture {

// Together: the build reads them in address order, one cache miss for all three.
struct NodeDescription {
  std::uint64_t size;
  StringId type;
  StringId label;
};

// What a walk leaves, by capture index (discovery order). Node flags are the graph's (kGcTracked, root kind, label
// is a value) plus bits above kGraphFlagsMask the walk keeps for itself.
inline constexpr std::uint8_t kGraphFlagsMask = 0x1F;
struct WalkArrays {
  std::uint64_t* addrs = nullptr;  // n nonzero 8-byte-aligned addresses; overwritten (sort records, then ranks)
  std::size_t n = 0;
  const std::vector<bool>* keep = nullptr;  // n entries: false for a node dropped from the graph
  const NodeDescription* described = nullptr;
  const std::uint8_t* flags = nullptr;
  const std::uint32_t* edge_begin = nullptr;  // n + 1 entries: node i's edges are [edge_begin[i], edge_begin[i + 1])
  const std::uint32_t* targets = nullptr;     // a capture index; >= n (a marker) for a reference left out
  const EdgeLabel* labels = nullptr;
  const std::uint8_t* edge_flags = nullptr;
  std::uint32_t* perm = nullptr;  // room for n: scratch
  void* scratch = nullptr;        // more scratch for the sort (may be null)
  std::size_t scratch_bytes = 0;
};

// Called as soon as the build is done with parts of the walk's memory, so that the caller can free it early
// (the graph's arrays are being filled meanwhile: this keeps the peak down).
struct BuildHooks {
  std::function<void()> sorted;      // the sort's scratch (and the walk's address lookups) are done with
  std::function<void()> ranked;      // of `addrs`, only the first n * 4 bytes are used from here on (the ranks)
  std::function<void()> nodes_done;  // described and flags (may run on a second thread)
  std::function<void()> edges_done;  // targets, labels and edge_flags
};

// Wall-clock seconds of the build's parts (two threads share it).
struct BuildTimes {
  double sort = 0, rank = 0, columns = 0;
};

// The graph's arrays, built to RawGraphParts's invariants (strings and metadata left to the caller). Two kept
// nodes at one address make one node (the first in capture order, with its out-edges; edges to the other go to
// it); an edge to a node not kept, or to a marker, is left out.
RawGraphParts build_graph_parts(const WalkArrays& w, const BuildHooks& hooks, BuildTimes* times);

}  // namespace refgraph::capture
