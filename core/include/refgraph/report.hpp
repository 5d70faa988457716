// refgraph/report.hpp: the texts every face prints (CLI, Python, web), written once.
//
//   chain_text(g, backref_chain(g, {n}))   "module app.cache -> attr 'USERS' (dict) -> ['alice'] (list) -> [17] ->
//   User"
//
//   suspects_text(groups)                   "1. module app -> attr 'CACHE' (dict) -> [*] -> Session\n   12 objects..."
//   metadata_json(g.metadata())             {"pid":4242,"host":"web-1",...} as dumps and `refgraph info --json` hold it
//
// The root comes first with its kind; a `__dict__` edge followed by a `['name']` entry reads `attr 'name'`, and so
// does an attribute held directly (a bare identifier label); each step names the type it reaches in parentheses,
// except the last, which names the object asked about. Sizes read as human_size (units.hpp) writes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// ---- a chain held as text: the Python Chain keeps ids and labels, not the graph ----

struct ChainHop {
  std::string type;   // the object's type name
  std::string label;  // its own label ("app.cache" for a module), or ""
  std::string edge;   // the label of its reference to the next hop ("" for the last)
};

struct ChainStep {
  std::string text;  // "attr 'USERS' (dict)"
  std::size_t hop;   // the index of the hop the step ends at
};

// The steps of a chain's text, the root first; chain_text() joins them with " -> ". `root_kind`: the first hop's,
// as root_kind_name() names it, "unreachable" (no root reaches the object) or "" (none). `wildcard`: as
// chain_signature reads.
std::vector<ChainStep> chain_steps(const std::vector<ChainHop>& hops, std::string_view root_kind,
                                   bool wildcard = false);
std::string chain_text(const std::vector<ChainStep>& steps);

// ---- leak suspects (suspects.hpp's groups, or the Python ones) ----

struct SuspectLines {
  std::string signature;
  std::uint64_t objects_b = 0, bytes_b = 0, objects_c = 0, bytes_c = 0, retained = 0;
  bool grew = false;
  std::vector<std::pair<std::string, std::uint64_t>> types;  // gained from B to C, most first; 5 are shown
  std::string accumulation;                                  // "dict 0x7f3a..." or ""
  std::string sample_chain;                                  // one member's chain, or ""
  std::vector<std::pair<std::string, std::uint64_t>> sites;  // ("file:line", objects), most first; 3 are shown
};

// The numbered report of leak suspects; with none, says that no group made after `baseline` survived to `latest`
// and grew. Strings are printed as given (the CLI makes them printable first).
std::string suspects_text(const std::vector<SuspectLines>& groups, std::string_view baseline = "A",
                          std::string_view latest = "C");

// ---- metadata ----

// A dump's metadata as one JSON object, the form the dumps store it in: {"pid", "host", "python_version", "time",
// "rss", "tag", "values_included", "extra": {...}} (invalid UTF-8 replaced).
std::string metadata_json(const Metadata& m);

}  // namespace refgraph
