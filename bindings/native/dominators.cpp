// _core.Dominators: the dominator tree and retained sizes of one Graph.
#include <memory>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "graph_binding.hpp"
#include "refgraph/dominators.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/report.hpp"
#include "refgraph/suspects.hpp"
#include "register.hpp"

namespace pb = pybind11;

namespace refgraph::py {
namespace {

struct Dominators {
  GraphPtr graph;
  DominatorTree tree;

  NodeIndex index(std::uint64_t id) const {
    NodeIndex n = graph->find(id);
    if (n == kNoNode) throw QueryError("dominators: id " + std::to_string(id) + " is not in the graph");
    return n;
  }
  pb::object id_or_none(NodeIndex n) const {
    if (n == kNoNode || tree.is_virtual(n)) return pb::none();
    return pb::int_(graph->id(n));
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> rows(const std::vector<NodeIndex>& ns) const {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    out.reserve(ns.size());
    for (NodeIndex n : ns) out.emplace_back(graph->id(n), tree.retained[n]);
    return out;
  }
};

}  // namespace

void register_dominators(pb::module_& m) {
  pb::class_<Dominators, std::shared_ptr<Dominators>>(m, "Dominators",
                                                      "The dominator tree of a Graph over strong references.")
      .def(pb::init([](GraphPtr g) {
             auto d = std::make_shared<Dominators>();
             d->graph = std::move(g);
             pb::gil_scoped_release nogil;
             d->tree = dominator_tree(*d->graph);
             return d;
           }),
           pb::arg("graph"))
      .def_property_readonly("total", [](const Dominators& d) { return d.tree.retained[d.tree.roots()]; })
      .def_property_readonly("unreachable", [](const Dominators& d) { return d.tree.retained[d.tree.garbage()]; })
      .def("retained", [](const Dominators& d, std::uint64_t id) { return d.tree.retained[d.index(id)]; })
      .def(
          "idom", [](const Dominators& d, std::uint64_t id) { return d.id_or_none(d.tree.idom[d.index(id)]); },
          "The immediate dominator's id; None when only the roots (or, for garbage, nothing) dominate it.")
      .def(
          "top", [](const Dominators& d, std::size_t limit) { return d.rows(top_dominators(d.tree, limit)); },
          "[(id, retained)] of the biggest objects directly under the roots.")
      .def(
          "children",
          [](const Dominators& d, std::uint64_t id, std::size_t limit) {
            std::vector<NodeIndex> kids = dominated_children(d.tree, d.index(id));
            std::size_t more = kids.size() > limit ? kids.size() - limit : 0;
            kids.resize(kids.size() - more);
            return pb::make_tuple(d.rows(kids), more);
          },
          pb::arg("id"), pb::arg("limit") = 10, "([(id, retained)] biggest first, number left out).")
      .def("accumulation_point",
           [](const Dominators& d, std::uint64_t id) { return d.id_or_none(accumulation_point(d.tree, d.index(id))); })
      .def(
          "by_type",
          [](const Dominators& d) {
            TypeRetained r = retained_by_type(*d.graph, d.tree);
            pb::dict out;
            for (StringId t = 0; t < r.bytes.size(); ++t) {
              if (r.top_instances[t]) out[pb::str(std::string(d.graph->strings()[t]))] = r.bytes[t];
            }
            return out;
          },
          "{type name: retained size of all its instances together}.");

  m.def(
      "leak_suspects",
      [](GraphPtr a, GraphPtr b, GraphPtr c, std::size_t top, bool include_stable,
         std::vector<std::uint64_t> ignore_ids) {
        SuspectOptions o;
        o.ignore_ids = std::move(ignore_ids);
        o.top = top;
        o.include_stable = include_stable;
        std::vector<SuspectGroup> groups;
        {
          pb::gil_scoped_release nogil;
          groups = leak_suspects(*a, *b, *c, o);
        }
        pb::list out;
        for (const SuspectGroup& g : groups) {
          pb::list chain_ids;
          for (NodeIndex n : g.sample_chain.nodes) chain_ids.append(c->id(n));
          pb::dict d;
          d["signature"] = g.signature;
          d["objects_b"] = g.count_b;
          d["bytes_b"] = g.bytes_b;
          d["objects_c"] = g.count_c;
          d["bytes_c"] = g.bytes_c;
          d["survivors"] = g.survivors;
          d["retained"] = g.retained_c;
          d["types"] = g.types;
          d["accumulation_point"] =
              g.accumulation == kNoNode ? pb::object(pb::none()) : pb::int_(c->id(g.accumulation));
          d["sample"] = c->id(g.sample);
          d["sample_chain"] = g.sample_chain.found() ? pb::object(pb::str(chain_text(*c, g.sample_chain))) : pb::none();
          d["sample_chain_ids"] = chain_ids;
          std::vector<std::uint64_t> members;
          members.reserve(g.members.size());
          for (NodeIndex n : g.members) members.push_back(c->id(n));
          d["members"] = members;
          out.append(d);
        }
        return out;
      },
      pb::arg("a"), pb::arg("b"), pb::arg("c"), pb::arg("top") = 0, pb::arg("include_stable") = false,
      pb::arg("ignore_ids") = std::vector<std::uint64_t>{},
      "Leak suspects of three graphs of one process, as dicts, biggest retained first.");

  // the signatures' rule, for chain texts made in Python (the leak checks group holders by it)
  m.def(
      "wildcard_text", [](std::string_view text) { return wildcard_text(text); }, pb::arg("text"),
      "The chain text with every index and data key shown as [*], as the core's leak signatures read.");
}

}  // namespace refgraph::py
