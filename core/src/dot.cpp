#include "refgraph/dot.hpp"
#include "refgraph/units.hpp"

#include <algorithm>
#include <cstdio>
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

// Cuts `text` to at most `max_chars` code points (counting an invalid byte as one), ending in "..." when cut.
std::string cut(std::string_view text, std::size_t max_chars) {
  if (max_chars == 0) return std::string(text);
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

}  // namespace

std::string dot_escape(std::string_view text) {
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
      case '&': out += "&amp;"; break;  // Graphviz decodes HTML entities in plain labels too
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

std::string to_dot(const HeapGraph& g, const Subgraph& s, const DotOptions& options) {
  std::string out;
  out.reserve(256 + s.nodes.size() * 160 + s.edges.size() * 60);
  out += "digraph refgraph {\n";
  out += "  graph [charset=\"UTF-8\", fontname=\"Helvetica\", fontsize=12";
  if (!options.title.empty()) {
    out += ", labelloc=t, label=\"" + dot_escape(cut(options.title, 200)) + "\"";
  }
  out += "];\n";
  out += "  node [shape=box, style=filled, fillcolor=white, fontname=\"Helvetica\", fontsize=10];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=9];\n";

  std::uint32_t max_depth = 0;
  for (const auto& n : s.nodes) max_depth = std::max(max_depth, n.depth);

  for (const auto& sn : s.nodes) {
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
    out += "];\n";
  }

  // Only edges one step away from the start (in the drawing's direction) rank the layout; the others (between
  // objects at the same distance, or back towards the start) are drawn without constraining it. The drawing then
  // has one row per distance, and dot's layout stays fast: long rank chains cost it seconds.
  std::unordered_map<NodeIndex, std::uint32_t> depth_of;
  depth_of.reserve(s.nodes.size());
  for (const auto& sn : s.nodes) depth_of.emplace(sn.node, sn.depth);
  auto ranks = [&](NodeIndex from, NodeIndex to) {
    auto f = depth_of.find(from), t = depth_of.find(to);
    if (f == depth_of.end() || t == depth_of.end()) return true;
    return s.direction == Direction::Back ? f->second == t->second + 1 : t->second == f->second + 1;
  };

  std::vector<EdgeIndex> chain = s.chain_edges;
  std::sort(chain.begin(), chain.end());
  for (EdgeIndex e : s.edges) {
    NodeIndex from = g.edge_source(e), to = g.edge_target(e);
    out += "  o" + hex_id(g.id(from)) + " -> o" + hex_id(g.id(to));
    std::string attrs;
    auto add = [&](const std::string& a) {
      if (!attrs.empty()) attrs += ", ";
      attrs += a;
    };
    bool ranking = ranks(from, to);
    if (options.show_edge_labels) {
      std::string text = g.edge_label_text(e);
      // Graphviz 2.43 corrupts its heap on labelled flat edges (ends on one rank): such edges get an xlabel,
      // placed after layout.
      if (!text.empty()) {
        add((ranking ? "label=\"" : "xlabel=\"") + dot_escape(cut(text, options.max_label_chars)) + "\"");
      }
    }
    bool on_chain = std::binary_search(chain.begin(), chain.end(), e);
    if (g.edge_weak(e)) {
      add("style=dashed");
    } else if (g.edge_deferred(e)) {
      add(on_chain ? "style=\"dotted,bold\"" : "style=dotted");
      if (!on_chain) add("color=grey50");
    } else if (on_chain) {
      add("style=bold");
    }
    if (on_chain) add("color=red, penwidth=2");
    if (!ranking) add("constraint=false");
    if (!attrs.empty()) out += " [" + attrs + "]";
    out += ";\n";
  }

  for (std::size_t i = 0; i < s.summaries.size(); ++i) {
    const SummaryNode& sum = s.summaries[i];
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
  out += "}\n";
  return out;
}

}  // namespace refgraph
