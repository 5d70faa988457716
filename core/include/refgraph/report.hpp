// refgraph/report.hpp: the texts every face prints (CLI, Python, web), written once.
//
//   chain_text(g, backref_chain(g, {n}))   "module app.cache -> attr 'USERS' (dict) -> ['alice'] (list) -> [17] -> User"
//
// The root comes first with its kind; a `__dict__` edge followed by a `['name']` entry reads `attr 'name'`, and so
// does an attribute held directly (a bare identifier label); each step names the type it reaches in parentheses,
// except the last, which names the object asked about.
#pragma once

#include <string>

#include "refgraph/chain.hpp"
#include "refgraph/graph.hpp"

namespace refgraph {

// The one-line chain report of a backref chain (root first). "" for a chain that was not found.
std::string chain_text(const HeapGraph& g, const Chain& chain);

}  // namespace refgraph
