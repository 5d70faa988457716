#include "refgraph/report.hpp"

#include <array>
#include <string_view>

#include "dump_codec.hpp"
#include "refgraph/units.hpp"

namespace refgraph {
namespace {

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  auto start = [](unsigned char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
  };
  if (!start(s[0])) return false;
  for (unsigned char c : s) {
    if (!start(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Labels that are frame and cell plumbing, not attributes the program chose.
bool is_attribute_name(std::string_view label) {
  static constexpr std::array<std::string_view, 7> kSpecial = {"cell_contents", "f_back",   "f_code",  "f_globals",
                                                               "f_builtins",    "referent", "f_locals"};
  if (!is_identifier(label) || label.substr(0, 2) == "__") return false;
  for (std::string_view s : kSpecial) {
    if (label == s) return false;
  }
  return true;
}

std::string describe(const ChainHop& h) { return h.label.empty() ? h.type : h.type + " " + h.label; }

std::string root_text(const ChainHop& h, std::string_view kind) {
  if (kind == "module") return h.type == "module" ? "module " + h.label : describe(h) + " (module)";
  if (kind == "thread frame") return h.type == "frame" ? "thread frame " + h.label : describe(h) + " (thread frame)";
  if (kind == "external") return describe(h) + " (held from C)";
  if (kind == "unreachable") return describe(h) + " (unreachable: no root reaches it)";
  if (!kind.empty() && kind != "none") return describe(h) + " (" + std::string(kind) + ")";
  return describe(h);
}

std::vector<ChainHop> hops_of(const HeapGraph& g, const Chain& c) {
  std::vector<ChainHop> hops(c.nodes.size());
  for (std::size_t k = 0; k < c.nodes.size(); ++k) {
    hops[k].type = g.type_name(c.nodes[k]);
    hops[k].label = g.label_text(c.nodes[k]);
    if (k < c.edges.size()) hops[k].edge = g.edge_label_text(c.edges[k]);
  }
  return hops;
}

std::string chain_words(const HeapGraph& g, const Chain& c, bool wildcard) {
  if (!c.found()) return "";
  return chain_text(chain_steps(hops_of(g, c), root_kind_name(g.root_kind(c.nodes.front())), wildcard));
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

std::vector<ChainStep> chain_steps(const std::vector<ChainHop>& hops, std::string_view root_kind, bool wildcard) {
  std::vector<ChainStep> steps;
  if (hops.empty()) return steps;
  steps.push_back({root_text(hops.front(), root_kind), 0});
  auto label = [&](std::size_t k) { return wildcard ? wildcard_label(hops[k].edge) : hops[k].edge; };
  const std::size_t last = hops.size() - 1;
  for (std::size_t k = 0; k < last;) {
    std::string edge = label(k);
    std::size_t next = k + 1;
    if (edge == "__dict__" && next < last) {
      const std::string entry = label(next);
      if (entry.size() >= 4 && entry.compare(0, 2, "['") == 0 && entry.compare(entry.size() - 2, 2, "']") == 0) {
        edge = "attr '" + entry.substr(2, entry.size() - 4) + "'";
        ++next;
      }
    } else if (is_attribute_name(edge)) {
      edge = "attr '" + edge + "'";
    }
    std::string text;
    if (next == last) {
      const std::string what = wildcard ? hops[next].type : describe(hops[next]);
      text = edge.empty() ? what : edge + " -> " + what;
    } else {
      text = (edge.empty() ? "" : edge + " ") + "(" + hops[next].type + ")";
    }
    steps.push_back({std::move(text), next});
    k = next;
  }
  return steps;
}

std::string chain_text(const std::vector<ChainStep>& steps) {
  std::string out;
  for (const ChainStep& s : steps) out += (out.empty() ? "" : " -> ") + s.text;
  return out;
}

std::string chain_text(const HeapGraph& g, const Chain& c) { return chain_words(g, c, false); }
std::string chain_signature(const HeapGraph& g, const Chain& c) { return chain_words(g, c, true); }

std::string suspects_text(const std::vector<SuspectLines>& groups, std::string_view baseline, std::string_view latest) {
  if (groups.empty()) {
    return "no leak suspects: no group of objects made after " + std::string(baseline) + " survived to " +
           std::string(latest) + " and grew";
  }
  std::string out;
  auto list = [](const std::vector<std::pair<std::string, std::uint64_t>>& items, std::size_t most, auto&& item) {
    std::string text;
    for (std::size_t k = 0; k < items.size() && k < most; ++k) text += (k ? ", " : "") + item(items[k]);
    return text;
  };
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const SuspectLines& g = groups[i];
    if (i) out += "\n";
    out += std::to_string(i + 1) + ". " + g.signature + "\n";
    out += "   " + std::to_string(g.objects_b) + " objects (" + human_size(g.bytes_b) + ") new in B, " +
           std::to_string(g.objects_c) + " (" + human_size(g.bytes_c) + ") in C" + (g.grew ? ", growing" : ", stable") +
           "; retains " + human_size(g.retained);
    if (!g.types.empty()) {
      out += "\n   gains per B->C: " +
             list(g.types, 5, [](const auto& t) { return t.first + " +" + std::to_string(t.second); });
    }
    if (!g.accumulation.empty()) out += "\n   accumulates in: " + g.accumulation;
    if (!g.sample_chain.empty()) out += "\n   e.g. " + g.sample_chain;
    if (!g.sites.empty()) {
      out += "\n   allocated at: " +
             list(g.sites, 3, [](const auto& s) { return s.first + " (" + std::to_string(s.second) + ")"; });
    }
  }
  return out;
}

std::string metadata_json(const Metadata& m) {
  return dump_detail::metadata_to_json(m).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace refgraph
