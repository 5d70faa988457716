#include "refgraph/report.hpp"

#include <array>
#include <string_view>

namespace refgraph {
namespace {

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  auto start = [](unsigned char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; };
  if (!start(s[0])) return false;
  for (unsigned char c : s) {
    if (!start(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Labels that are frame and cell plumbing, not attributes the program chose.
bool is_attribute_name(std::string_view label) {
  static constexpr std::array<std::string_view, 7> kSpecial = {"cell_contents", "f_back", "f_code", "f_globals",
                                                                "f_builtins", "referent", "f_locals"};
  if (!is_identifier(label) || label.substr(0, 2) == "__") return false;
  for (std::string_view s : kSpecial) {
    if (label == s) return false;
  }
  return true;
}


std::string root_text(const HeapGraph& g, NodeIndex n) {
  const std::string_view type = g.type_name(n);
  switch (g.root_kind(n)) {
    case RootKind::Module:
      return type == "module" ? "module " + std::string(g.label_text(n)) : node_text(g, n) + " (module)";
    case RootKind::ThreadFrame:
      return type == "frame" ? "thread frame " + std::string(g.label_text(n)) : node_text(g, n) + " (thread frame)";
    case RootKind::External:
      return node_text(g, n) + " (held from C)";
    case RootKind::Other:
      return node_text(g, n) + " (other)";
    case RootKind::None:
      break;
  }
  return node_text(g, n);
}

std::string label_of(const HeapGraph& g, EdgeIndex e, bool wildcard) {
  return wildcard ? wildcard_label(g.edge_label_text(e)) : g.edge_label_text(e);
}

std::string chain_words(const HeapGraph& g, const Chain& c, bool wildcard) {
  if (!c.found()) return "";
  std::string out = root_text(g, c.nodes.front());
  const std::size_t last = c.nodes.size() - 1;
  for (std::size_t k = 0; k < last;) {
    std::string edge = label_of(g, c.edges[k], wildcard);
    std::size_t next = k + 1;
    if (edge == "__dict__" && next < last) {
      const std::string entry = label_of(g, c.edges[next], wildcard);
      if (entry.size() >= 4 && entry.compare(0, 2, "['") == 0 && entry.compare(entry.size() - 2, 2, "']") == 0) {
        edge = "attr '" + entry.substr(2, entry.size() - 4) + "'";
        ++next;
      }
    } else if (is_attribute_name(edge)) {
      edge = "attr '" + edge + "'";
    }
    out += " -> ";
    if (next == last) {
      const std::string what = wildcard ? std::string(g.type_name(c.nodes[next])) : node_text(g, c.nodes[next]);
      out += edge.empty() ? what : edge + " -> " + what;
    } else {
      out += (edge.empty() ? "" : edge + " ") + "(" + std::string(g.type_name(c.nodes[next])) + ")";
    }
    k = next;
  }
  return out;
}

}  // namespace

std::string node_text(const HeapGraph& g, NodeIndex n) {
  std::string out(g.type_name(n));
  if (!g.label_text(n).empty()) out.append(" ").append(g.label_text(n));
  return out;
}

std::string wildcard_label(const std::string& label) {
  if (label.size() < 2 || label.front() != '[' || label.back() != ']') return label;
  if (label.size() >= 4 && label.compare(0, 2, "['") == 0 && label.compare(label.size() - 2, 2, "']") == 0 &&
      is_identifier(std::string_view(label).substr(2, label.size() - 4))) {
    return label;
  }
  return "[*]";
}

namespace {

// The end of the subscript opening at text[open] (the index of its `]`), or npos if it is not closed: quoted
// strings, with backslash escapes, are skipped whole.
std::size_t subscript_end(std::string_view text, std::size_t open) {
  for (std::size_t j = open + 1; j < text.size(); ++j) {
    const char c = text[j];
    if (c == ']') return j;
    if (c == '\'' || c == '"') {
      std::size_t k = j + 1;
      while (k < text.size() && text[k] != c) k += text[k] == '\\' ? 2 : 1;
      if (k >= text.size()) return std::string_view::npos;
      j = k;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::string wildcard_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t end = text[i] == '[' ? subscript_end(text, i) : std::string_view::npos;
    if (end == std::string_view::npos) {
      out += text[i++];
      continue;
    }
    out += wildcard_label(std::string(text.substr(i, end - i + 1)));
    i = end + 1;
  }
  return out;
}

std::string chain_text(const HeapGraph& g, const Chain& c) { return chain_words(g, c, false); }
std::string chain_signature(const HeapGraph& g, const Chain& c) { return chain_words(g, c, true); }

}  // namespace refgraph
