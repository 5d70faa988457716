// refgraph/report.hpp: the texts every face prints (CLI, Python, web), written once.
//
//   chain_text(g, backref_chain(g, {n}))   "module app.cache -> attr 'USERS' (dict) -> ['alice'] (list) -> [17] -> User"
//
// The root comes first with its kind; a `__dict__` edge followed by a `['name']` entry reads `attr 'name'`, and so
// does an attribute held directly (a bare identifier label); each step names the type it reaches in parentheses,
// except the last, which names the object asked about.
#pragma once

#include <string>
#include <string_view>

#include "refgraph/chain.hpp"
#include "refgraph/graph.hpp"

namespace refgraph {

// "type label" of a node ("frame app.py:3 in serve"), or its type alone when it has no label.
std::string node_text(const HeapGraph& g, NodeIndex n);

// The one-line chain report of a backref chain (root first). "" for a chain that was not found.
std::string chain_text(const HeapGraph& g, const Chain& chain);

// The chain as a leak's signature: chain_text with every sequence index and every key that is not an identifier
// shown as `[*]`, so that the objects one container holds all read the same:
// "module app -> attr 'CACHE' (dict) -> [*] -> Session".
std::string chain_signature(const HeapGraph& g, const Chain& chain);

// The label as it reads in a signature: "[*]" for "[17]", "['<str len=8>']", "[<int>]" or a key that is not an
// identifier; other labels unchanged.
std::string wildcard_label(const std::string& label);

// A chain's text with every subscript in it (`[...]`, quoted strings inside may hold `]`) read as wildcard_label
// reads it: "... -> ['k 1'] (list) -> [6] -> User" becomes "... -> [*] (list) -> [*] -> User". For texts made
// elsewhere (the Python leak checks), so that one rule makes every signature.
std::string wildcard_text(std::string_view text);

}  // namespace refgraph
