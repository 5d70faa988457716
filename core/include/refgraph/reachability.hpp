// refgraph/reachability.hpp: objects nothing points to, and objects no root reaches.
//
//   leaking_objects(g)       objgraph's get_leaking_objects: nodes with no in-edges (ignoring weak edges) that are
//                            not roots themselves
//   unreachable_objects(g)   nodes not reachable from any root along non-weak edges: cyclic garbage not yet
//                            collected (or held by something the capture could not see)
#pragma once

#include <vector>

#include "refgraph/graph.hpp"

namespace refgraph {

std::vector<NodeIndex> leaking_objects(const HeapGraph& g);      // ascending NodeIndex
std::vector<NodeIndex> unreachable_objects(const HeapGraph& g);  // ascending NodeIndex
std::vector<bool> reachable_from_roots(const HeapGraph& g);      // by NodeIndex

}  // namespace refgraph
