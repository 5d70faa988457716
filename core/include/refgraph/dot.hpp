// refgraph/dot.hpp: Graphviz DOT text for a Subgraph.
//
//   std::string dot = to_dot(g, neighbourhood(g, {n}));
//
// A node shows its type, short label and size; the objects asked about are highlighted; roots are marked by
// kind; nodes are coloured by distance from the start; edge labels are shown; weak edges are dashed; summary
// nodes stand for what was cut. All text is escaped for DOT.
//
// The references from one object to another (of one kind: strong, weak, deferred) are drawn as one edge whose
// label sums theirs up: `[0..799999] x800000` for a list holding one object 800,000 times. A drawing holds at most
// max_objects objects (start nodes first, then the chain, then by distance), max_summaries summary nodes and
// max_edges edges (the chain's first, then those that rank the layout, then at most max_cross_edges others), the
// edges longer than one row crossing max_edge_rows rows in all; what it leaves out is counted under the title ("+N more
// objects, +M more references not drawn"), so no Subgraph can crash or stall Graphviz.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "refgraph/graph.hpp"
#include "refgraph/neighbourhood.hpp"

namespace refgraph {

struct DotOptions {
  std::string title;  // graph label, optional
  bool show_sizes = true;
  bool show_edge_labels = true;
  std::size_t max_label_chars = 40;                  // longer labels are cut with "..." (0, or past 500: 500)
  std::function<std::string(NodeIndex)> extra_info;  // an extra line under a node (objgraph's extra_info)
  // Graphviz attributes of an object's node, (name, value), after (so over) the drawing's own: objgraph's
  // highlight and extra_node_attrs. Names must be DOT identifiers (std::invalid_argument otherwise); values are
  // quoted and escaped.
  std::function<std::vector<std::pair<std::string, std::string>>(NodeIndex)> node_attrs;
  // Caps on what is drawn; larger values mean the hard caps of neighbourhood.hpp.
  std::size_t max_objects = kMaxDrawnObjects;
  std::size_t max_summaries = kMaxDrawnSummaries;
  std::size_t max_edges = kMaxDrawnEdges;
  std::size_t max_edge_rows = kMaxDrawnEdgeRows;      // rows crossed by the edges longer than one row, in all
  std::size_t max_cross_edges = kMaxDrawnCrossEdges;  // edges not between the start's side and the next row
};

std::string to_dot(const HeapGraph& g, const Subgraph& s, const DotOptions& options = {});

// Escapes text for a double-quoted DOT string (quotes, backslashes, newlines, control characters).
std::string dot_escape(std::string_view text);

}  // namespace refgraph
