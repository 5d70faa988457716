// The texts both faces print, from core's report.hpp and units.hpp, for the Python package: sizes, chains, the
// leak-suspects report, metadata, the output-format table.
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "refgraph/errors.hpp"
#include "refgraph/render.hpp"
#include "refgraph/report.hpp"
#include "refgraph/units.hpp"
#include "register.hpp"

namespace pb = pybind11;
using namespace pybind11::literals;

namespace refgraph::py {

namespace {

std::vector<std::pair<std::string, std::uint64_t>> counted(const pb::handle& items) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  if (items.is_none()) return out;
  for (const pb::handle& item : items) {
    auto pair = item.cast<pb::sequence>();
    out.emplace_back(pb::str(pair[0]).cast<std::string>(), pair[1].cast<std::uint64_t>());
  }
  return out;
}

std::string text_or_empty(const pb::handle& h) { return h.is_none() ? std::string() : pb::str(h).cast<std::string>(); }

}  // namespace

void register_report(pb::module_& m) {
  m.def(
      "human_size", [](double bytes, bool sign) { return human_size(bytes, sign); }, "bytes"_a, "sign"_a = false,
      "Bytes as text: '232 B', '4.9 KiB', '18 KiB', '74.5 B' for an average; `sign`: '+' before a change.");
  m.def(
      "chain_steps",
      [](const std::vector<std::tuple<std::string, std::string, std::string>>& hops, const pb::object& root_kind,
         bool wildcard) {
        std::vector<ChainHop> in;
        in.reserve(hops.size());
        for (const auto& [type, label, edge] : hops) in.push_back({type, label, edge});
        std::vector<std::pair<std::string, std::size_t>> out;
        for (ChainStep& s : chain_steps(in, text_or_empty(root_kind), wildcard))
          out.emplace_back(std::move(s.text), s.hop);
        return out;
      },
      "hops"_a, "root_kind"_a, "wildcard"_a = false,
      "[(text, index of the hop it ends at)] of a chain given as (type, label, edge) hops, root first; "
      "' -> '.join of the texts is the chain's one-line report.");
  m.def(
      "suspects_text",
      [](const pb::iterable& groups, const std::string& baseline, const std::string& latest) {
        std::vector<SuspectLines> lines;
        for (const pb::handle& g : groups) {
          SuspectLines x;
          x.signature = pb::str(g.attr("signature")).cast<std::string>();
          x.objects_b = g.attr("objects_b").cast<std::uint64_t>();
          x.bytes_b = g.attr("bytes_b").cast<std::uint64_t>();
          x.objects_c = g.attr("objects_c").cast<std::uint64_t>();
          x.bytes_c = g.attr("bytes_c").cast<std::uint64_t>();
          x.retained = g.attr("retained").cast<std::uint64_t>();
          x.grew = g.attr("grew").cast<bool>();
          x.types = counted(g.attr("types"));
          x.sample_chain = text_or_empty(g.attr("sample_chain"));
          x.sites = counted(g.attr("sites"));
          lines.push_back(std::move(x));
        }
        return suspects_text(lines, baseline, latest);
      },
      "groups"_a, "baseline"_a = "A", "latest"_a = "C",
      "The leak-suspects report of groups with the fields of refgraph.SuspectGroup, as `refgraph suspects` prints "
      "it.");
  m.def(
      "format_from_path", [](const std::string& path) { return std::string(format_name(format_from_path(path))); },
      "path"_a, "The output format ('dot', 'png', 'svg', 'pdf') a file's extension names; QueryError otherwise.");
  std::vector<std::pair<std::string, std::string>> formats;
  for (const FormatExtension& f : kFormatExtensions) formats.emplace_back(f.extension, format_name(f.format));
  m.attr("OUTPUT_FORMATS") = formats;  // [(".dot", "dot"), (".gv", "dot"), (".png", "png"), ...]
}

}  // namespace refgraph::py
