// refgraph/suspects.hpp: which of the new objects are the leak, from three snapshots of one process.
//
//   std::vector<SuspectGroup> s = leak_suspects(baseline, after_some_work, after_more_work);
//   s[0].signature      "module app -> attr 'CACHE' (dict) -> [*] -> Session"
//
// The objects made after the baseline A that are still there in both B and C are grouped by what retains them: the
// shortest chain from a root, as chain_signature() writes it (indices and data keys wildcarded), taken at the
// first new object on the chain, so that a new Session and the dict and bytes it holds are one group. A group is a
// suspect when it grew from B to C; objects that appeared in B and are gone by C (a warm-up) and a cache filled
// once and no longer growing are not. Suspects are ranked by the retained size in C of their new objects.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "refgraph/chain.hpp"
#include "refgraph/dominators.hpp"
#include "refgraph/graph.hpp"

namespace refgraph {

struct SuspectGroup {
  std::string signature;
  std::uint64_t count_b = 0, bytes_b = 0;                    // objects of the group new since A, as B has them
  std::uint64_t count_c = 0, bytes_c = 0;                    // ... and as C has them
  std::uint64_t survivors = 0;                               // of those, objects present in B and still in C
  std::uint64_t retained_c = 0;                              // what the group's new objects keep alive in C
  std::vector<std::pair<std::string, std::uint64_t>> types;  // types gained in C (objects), most first
  NodeIndex sample = kNoNode;                                // in C: a new object at the top of the group
  Chain sample_chain;                                        // in C: root ... sample
  NodeIndex accumulation = kNoNode;                          // in C: the container the group accumulates in, if any
  std::vector<NodeIndex> members;                            // in C: the group's objects new since A, ascending
  bool grew() const { return count_c > count_b || bytes_c > bytes_b; }
};

struct SuspectOptions {
  std::size_t top = 0;                    // 0: every suspect
  bool include_stable = false;            // also groups with survivors that did not grow from B to C
  std::vector<std::uint64_t> ignore_ids;  // objects that are never suspects (the caller's own snapshots)
  Progress progress;                      // called with each step ("retainers of C", "dominator tree", ...) as it goes
};

std::vector<SuspectGroup> leak_suspects(const HeapGraph& a, const HeapGraph& b, const HeapGraph& c,
                                        const SuspectOptions& options = {});

}  // namespace refgraph
