#include "refgraph/dot.hpp"
#include "refgraph/units.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace refgraph {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the bytes there are not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid too).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// The longest label drawn whatever the options say: pango fails to lay out a line of a million characters.
constexpr std::size_t kMaxLabelChars = 500;
std::size_t label_limit(std::size_t max_chars) {
  return max_chars == 0 || max_chars > kMaxLabelChars ? kMaxLabelChars : max_chars;
}

// Cuts `text` to at most `max_chars` code points (0: kMaxLabelChars; counting an invalid byte as one), ending in
// "..." when cut.
std::string cut(std::string_view text, std::size_t max_chars) {
  max_chars = label_limit(max_chars);
  std::size_t chars = 0, i = 0;
  std::size_t keep_end = 0;  // byte offset after max_chars - 3 code points, where "..." goes if we cut
  const std::size_t keep_chars = max_chars > 3 ? max_chars - 3 : 0;
  while (i < text.size()) {
    if (chars == keep_chars) keep_end = i;
    std::size_t n = utf8_sequence_length(text, i);
    i += n == 0 ? 1 : n;
    ++chars;
    if (chars > max_chars) return std::string(text.substr(0, keep_end)) + "...";
  }
  return std::string(text);
}

std::string hex_id(std::uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(id));
  return buf;
}

const char* root_note(RootKind kind) {
  switch (kind) {
    case RootKind::Module: return "module root";
    case RootKind::ThreadFrame: return "thread frame";
    case RootKind::External: return "held from C";
    case RootKind::Other: return "root";
    case RootKind::None: break;
  }
  return "";
}

// Shape and fill of a root by kind; everything else is a box coloured by depth.
struct RootStyle {
  const char* shape;
  const char* fill;
};
RootStyle root_style(RootKind kind) {
  switch (kind) {
    case RootKind::Module: return {"tab", "#b9f6ca"};
    case RootKind::ThreadFrame: return {"component", "#ffe0b2"};
    case RootKind::External: return {"doubleoctagon", "#f8bbd0"};
    case RootKind::Other: return {"octagon", "#e1bee7"};
    case RootKind::None: break;
  }
  return {"box", "white"};
}

// objgraph's idea: the nearer the start, the stronger the colour. Light blue fading to near white, as HSV.
std::string depth_colour(std::uint32_t depth, std::uint32_t max_depth) {
  double f = max_depth == 0 ? 0.0 : static_cast<double>(depth) / max_depth;
  double saturation = 0.45 - 0.40 * f;
  char buf[32];
  std::snprintf(buf, sizeof buf, "0.580 %.3f 1.000", saturation);
  return buf;
}

constexpr const char* kStartFill = "#ffeb3b";

// Number of code points in `text`, counting an invalid byte as one (as cut() does).
std::size_t chars(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++n) {
    std::size_t k = utf8_sequence_length(text, i);
    i += k == 0 ? 1 : k;
  }
  return n;
}

// The references from one object to another, of one kind, drawn as one edge.
struct EdgeGroup {
  NodeIndex from;
  NodeIndex to;
  std::vector<EdgeIndex> edges;  // ascending
  bool on_chain = false;
  bool ranking = false;
  bool drawn = false;
  std::uint32_t rows = 0;  // distance between the two ends' rows
};

// "[0..2], [5], ['key'], ..." : the group's labels in edge order, runs of consecutive indices as ranges, each cut
// to `max_chars`, as many as fit in twice that (the first always); "..." when some are left out. Unlabelled
// references add nothing.
std::string merged_labels(const HeapGraph& g, const std::vector<EdgeIndex>& edges, std::size_t max_chars) {
  const std::size_t piece_chars = label_limit(max_chars);
  const std::size_t total_chars = std::min(2 * piece_chars, kMaxLabelChars);
  std::string out;
  std::size_t out_chars = 0;
  bool full = false, left_out = false;
  auto add = [&](const std::string& text) {
    if (full) {
      left_out = true;
      return;
    }
    std::string piece = cut(text, piece_chars);
    std::size_t n = chars(piece);
    if (out.empty()) {
      out = std::move(piece);
      out_chars = n;
      return;
    }
    if (out_chars + 2 + n > total_chars) {
      full = left_out = true;
      return;
    }
    out += ", ";
    out += piece;
    out_chars += 2 + n;
  };
  bool in_run = false;
  std::uint32_t first = 0, last = 0;
  auto end_run = [&] {
    if (!in_run) return;
    in_run = false;
    std::string range = "[";
    range += std::to_string(first);
    if (last != first) {
      range += "..";
      range += std::to_string(last);
    }
    range += ']';
    add(range);
  };
  for (EdgeIndex e : edges) {
    if (full) {
      left_out = true;
      break;
    }
    EdgeLabel l = g.edge_label(e);
    if (is_index_label(l)) {
      std::uint32_t i = l & ~kIndexLabelBit;
      if (in_run && i == last + 1) {
        last = i;
        continue;
      }
      end_run();
      in_run = true;
      first = last = i;
    } else {
      end_run();
      if (l != kNoEdgeLabel) add(g.edge_label_text(e));
    }
  }
  end_run();
  if (left_out) out += ", ...";
  return out;
}

}  // namespace

namespace {

bool is_dot_id(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (unsigned char c : s) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// `entities`: '&' as "&amp;", which Graphviz decodes in labels; other attributes (URL, colours) take '&' as itself.
std::string escape(std::string_view text, bool entities) {
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::size_t n = utf8_sequence_length(text, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8: libgvc rejects invalid UTF-8
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '&': out += entities ? "&amp;" : "&"; break;  // Graphviz decodes HTML entities in plain labels too
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\\\x%02X", c);  // shown as the text \x01
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out;
}

}  // namespace

std::string dot_escape(std::string_view text) { return escape(text, true); }

std::string to_dot(const HeapGraph& g, const Subgraph& s, const DotOptions& options) {
  const std::size_t max_objects = std::min(options.max_objects, kMaxDrawnObjects);
  const std::size_t max_summaries = std::min(options.max_summaries, kMaxDrawnSummaries);
  const std::size_t max_edges = std::min(options.max_edges, kMaxDrawnEdges);
  const std::size_t max_edge_rows = std::min(options.max_edge_rows, kMaxDrawnEdgeRows);
  const std::size_t max_cross_edges = std::min(options.max_cross_edges, kMaxDrawnCrossEdges);
  std::uint64_t objects_left_out = 0, references_left_out = 0;

  // The objects drawn: the start nodes, then the chain, then the others in discovery order (nearest first).
  std::vector<bool> drawn(s.nodes.size(), false);
  std::size_t n_drawn = 0;
  auto pick = [&](auto&& wanted) {
    for (std::size_t i = 0; i < s.nodes.size() && n_drawn < max_objects; ++i) {
      if (!drawn[i] && wanted(s.nodes[i])) {
        drawn[i] = true;
        ++n_drawn;
      }
    }
  };
  pick([](const SubgraphNode& n) { return n.start; });
  pick([](const SubgraphNode& n) { return n.on_chain; });
  pick([](const SubgraphNode&) { return true; });
  objects_left_out += s.nodes.size() - n_drawn;

  std::string out;  // the statements; the graph's attributes go first once the note below is known
  out.reserve(n_drawn * 160 + std::min(s.edges.size(), max_edges) * 60);

  std::uint32_t max_depth = 0;
  for (std::size_t i = 0; i < s.nodes.size(); ++i)
    if (drawn[i]) max_depth = std::max(max_depth, s.nodes[i].depth);

  for (std::size_t i = 0; i < s.nodes.size(); ++i) {
    if (!drawn[i]) continue;
    const SubgraphNode& sn = s.nodes[i];
    NodeIndex n = sn.node;
    RootKind kind = g.root_kind(n);
    std::string label = dot_escape(cut(g.type_name(n), options.max_label_chars));
    if (g.label(n) != kNoString) label += "\\n" + dot_escape(cut(g.label_text(n), options.max_label_chars));
    if (options.show_sizes) label += "\\n" + human_size(g.size(n));
    if (kind != RootKind::None) label += "\\n[" + std::string(root_note(kind)) + "]";
    if (options.extra_info) {
      std::string extra = options.extra_info(n);
      if (!extra.empty()) label += "\\n" + dot_escape(cut(extra, options.max_label_chars));
    }

    out += "  o" + hex_id(g.id(n)) + " [label=\"" + label + "\"";
    if (kind != RootKind::None) {
      RootStyle rs = root_style(kind);
      out += ", shape=";
      out += rs.shape;
      if (!sn.start) {
        out += ", fillcolor=\"";
        out += rs.fill;
        out += "\"";
      }
    }
    if (sn.start) {
      out += ", fillcolor=\"";
      out += kStartFill;
      out += "\", style=\"filled,bold\", penwidth=3";
    } else if (kind == RootKind::None) {
      out += ", fillcolor=\"" + depth_colour(sn.depth, max_depth) + "\"";
    }
    if (sn.on_chain) out += ", color=red";
    if (options.node_attrs) {
      for (const auto& [name, value] : options.node_attrs(n)) {
        if (!is_dot_id(name)) throw std::invalid_argument("node attribute name '" + name + "' is not a DOT identifier");
        out += ", " + name + "=\"" + escape(value, false) + "\"";
      }
    }
    out += "];\n";
  }

  // Only edges one step away from the start (in the drawing's direction) rank the layout; the others (between
  // objects at the same distance, or back towards the start) are drawn without constraining it. The drawing then
  // has one row per distance, and dot's layout stays fast: long rank chains cost it seconds.
  std::unordered_map<NodeIndex, std::uint32_t> depth_of;
  depth_of.reserve(n_drawn);
  for (std::size_t i = 0; i < s.nodes.size(); ++i)
    if (drawn[i]) depth_of.emplace(s.nodes[i].node, s.nodes[i].depth);
  auto ranks = [&](std::uint32_t from_depth, std::uint32_t to_depth) {
    return s.direction == Direction::Back ? from_depth == to_depth + 1 : to_depth == from_depth + 1;
  };

  // One edge per (source, target, kind): Graphviz gets one edge for a list holding an object a million times.
  std::vector<EdgeIndex> chain = s.chain_edges;
  std::sort(chain.begin(), chain.end());
  auto kind_of = [&](EdgeIndex e) { return g.edge_weak(e) ? 1u : g.edge_deferred(e) ? 2u : 0u; };
  std::vector<EdgeGroup> groups;
  std::unordered_map<std::uint64_t, std::uint32_t> group_of[3];
  for (EdgeIndex e : s.edges) {
    NodeIndex from = g.edge_source(e), to = g.edge_target(e);
    auto f = depth_of.find(from), t = depth_of.find(to);
    if (f == depth_of.end() || t == depth_of.end()) {
      ++references_left_out;
      continue;
    }
    auto [it, added] =
        group_of[kind_of(e)].try_emplace((std::uint64_t{from} << 32) | to, static_cast<std::uint32_t>(groups.size()));
    if (added) {
      const std::uint32_t rows = f->second > t->second ? f->second - t->second : t->second - f->second;
      groups.push_back(EdgeGroup{from, to, {}, false, ranks(f->second, t->second), false, rows});
    }
    EdgeGroup& group = groups[it->second];
    group.edges.push_back(e);
    group.on_chain = group.on_chain || std::binary_search(chain.begin(), chain.end(), e);
  }
  // The chain first, then the edges that give the layout its rows, then the rest, each in order, while edges and
  // rows last. An edge across many rows is a chain of virtual nodes to dot: past a few tens of thousands of them
  // its layout takes minutes or crashes (Graphviz 2.42, a 300-long list whose items refer back to its head).
  // The others (pass 2) are laid out by dot as flat or reversed edges, whose cost grows faster than their number.
  std::size_t kept = 0, rows = 0, cross = 0;
  for (int pass = 0; pass < 3; ++pass) {
    for (EdgeGroup& group : groups) {
      if (kept == max_edges) break;
      bool wanted = pass == 0 ? group.on_chain : pass == 1 ? group.ranking : true;
      if (group.drawn || !wanted) continue;
      const std::size_t long_rows = group.rows > 1 ? group.rows : 0;
      if (pass > 0 && rows + long_rows > max_edge_rows) continue;
      if (pass == 2 && cross == max_cross_edges) continue;
      group.drawn = true;
      ++kept;
      rows += long_rows;
      cross += pass == 2;
    }
  }
  for (const EdgeGroup& group : groups)
    if (!group.drawn) references_left_out += group.edges.size();

  for (const EdgeGroup& group : groups) {
    if (!group.drawn) continue;
    const EdgeIndex e = group.edges.front();
    out += "  o" + hex_id(g.id(group.from)) + " -> o" + hex_id(g.id(group.to));
    std::string attrs;
    auto add = [&](const std::string& a) {
      if (!attrs.empty()) attrs += ", ";
      attrs += a;
    };
    std::string text;
    if (group.edges.size() == 1) {
      if (options.show_edge_labels) text = cut(g.edge_label_text(e), options.max_label_chars);
    } else {
      if (options.show_edge_labels) {
        text = merged_labels(g, group.edges, options.max_label_chars);
      }
      text += (text.empty() ? "x" : " x") + std::to_string(group.edges.size());
    }
    // Graphviz 2.43 corrupts its heap on labelled flat edges (ends on one rank): such edges get an xlabel,
    // placed after layout.
    if (!text.empty()) add((group.ranking ? "label=\"" : "xlabel=\"") + dot_escape(text) + "\"");
    const bool on_chain = group.on_chain;
    if (g.edge_weak(e)) {
      add("style=dashed");
    } else if (g.edge_deferred(e)) {
      add(on_chain ? "style=\"dotted,bold\"" : "style=dotted");
      if (!on_chain) add("color=grey50");
    } else if (on_chain) {
      add("style=bold");
    }
    if (on_chain) add("color=red, penwidth=2");
    if (!group.ranking) add("constraint=false");
    if (!attrs.empty()) out += " [" + attrs + "]";
    out += ";\n";
  }

  std::size_t summaries_drawn = 0;
  for (std::size_t i = 0; i < s.summaries.size(); ++i) {
    const SummaryNode& sum = s.summaries[i];
    if (summaries_drawn == max_summaries || depth_of.find(sum.anchor) == depth_of.end()) {
      objects_left_out += sum.count;
      continue;
    }
    ++summaries_drawn;
    std::string anchor = "o";
    anchor += hex_id(g.id(sum.anchor));
    std::string id = "s";
    id += hex_id(g.id(sum.anchor));
    id += '_';
    id += std::to_string(i);
    std::string label = "+";
    label += std::to_string(sum.count);
    label += " more ";
    label += dot_escape(cut(sum.type, options.max_label_chars));
    if (options.show_sizes) label += "\\n" + human_size(sum.size);
    out += "  " + id + " [label=\"" + label + "\", shape=note, style=\"filled,dashed\", fillcolor=\"#eeeeee\"];\n";
    if (s.direction == Direction::Back) {
      out += "  " + id + " -> " + anchor + " [style=dashed, color=grey50];\n";
    } else {
      out += "  " + anchor + " -> " + id + " [style=dashed, color=grey50];\n";
    }
  }

  // What the caps left out, under the title: at the top of the drawing, where it is read first.
  std::string label = dot_escape(cut(options.title, 200));
  if (objects_left_out > 0 || references_left_out > 0) {
    if (!label.empty()) label += "\\n";
    if (objects_left_out > 0) label += "+" + std::to_string(objects_left_out) + " more objects";
    if (references_left_out > 0) {
      if (objects_left_out > 0) label += ", ";
      label += "+" + std::to_string(references_left_out) + " more references";
    }
    label += " not drawn (a drawing shows at most " + std::to_string(max_objects) + " objects and " +
             std::to_string(max_edges) + " references)";
  }
  std::string head = "digraph refgraph {\n";
  // size: at most 340 inches a side, under cairo's 32767-pixel bitmap limit at 96 dpi; past it Graphviz's cairo
  // plugin scales the drawing down anyway, but says so on stderr.
  head += "  graph [charset=\"UTF-8\", fontname=\"Helvetica\", fontsize=12, size=\"340,340\"";
  if (!label.empty()) head += ", labelloc=t, label=\"" + label + "\"";
  head += "];\n";
  head += "  node [shape=box, style=filled, fillcolor=white, fontname=\"Helvetica\", fontsize=10];\n";
  head += "  edge [fontname=\"Helvetica\", fontsize=9];\n";
  return head + out + "}\n";
}

}  // namespace refgraph
