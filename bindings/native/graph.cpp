// _core.Graph (an immutable HeapGraph), load(), and every analysis of the core on top of it.
// Object ids cross the boundary; node indices only where the contract says so (find, node, predicates).
#include <optional>
#include <string>
#include <vector>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "graph_binding.hpp"
#include "refgraph/chain.hpp"
#include "refgraph/dot.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/growth.hpp"
#include "refgraph/neighbourhood.hpp"
#include "refgraph/reachability.hpp"
#include "refgraph/report.hpp"
#include "refgraph/type_stats.hpp"
#include "register.hpp"

namespace pb = pybind11;
using namespace pybind11::literals;

namespace refgraph::py {

pb::object wrap_graph(HeapGraph&& g) { return pb::cast(std::make_shared<HeapGraph>(std::move(g))); }

namespace {

using Ids = std::vector<std::uint64_t>;

std::vector<NodeIndex> indices_of(const HeapGraph& g, const Ids& ids, const char* what) {
  std::vector<NodeIndex> out;
  out.reserve(ids.size());
  for (auto id : ids) {
    NodeIndex n = g.find(id);
    if (n == kNoNode) throw QueryError(std::string(what) + ": id " + std::to_string(id) + " is not in the graph");
    out.push_back(n);
  }
  return out;
}

// Ids to ignore that are not in the graph are harmless: skip them.
std::vector<NodeIndex> known_indices(const HeapGraph& g, const Ids& ids) {
  std::vector<NodeIndex> out;
  for (auto id : ids) {
    NodeIndex n = g.find(id);
    if (n != kNoNode) out.push_back(n);
  }
  return out;
}

void check_index(const HeapGraph& g, std::int64_t index) {
  if (index < 0 || static_cast<std::uint64_t>(index) >= g.num_nodes())
    throw pb::index_error("node index " + std::to_string(index) + " out of range (graph has " +
                          std::to_string(g.num_nodes()) + " nodes)");
}

pb::object root_name(const HeapGraph& g, NodeIndex n) {
  if (!g.is_root(n)) return pb::none();
  return pb::str(root_kind_name(g.root_kind(n)));
}

// report.hpp's JSON of the metadata, the form the dumps and `refgraph info --json` hold, as a dict.
pb::dict metadata_dict(const HeapGraph& g) {
  return pb::dict(pb::module_::import("json").attr("loads")(metadata_json(g.metadata())));
}

SortBy parse_sort(const std::string& s) {
  if (s == "count") return SortBy::Count;
  if (s == "size") return SortBy::Size;
  throw QueryError("type_stats: sort must be 'count' or 'size', not '" + s + "'");
}

Direction parse_direction(const std::string& s) {
  if (s == "back" || s == "backrefs") return Direction::Back;
  if (s == "forward" || s == "refs") return Direction::Forward;
  throw QueryError("neighbourhood: direction must be 'back' or 'forward', not '" + s + "'");
}

// A Python callable taking a node index, for predicates and filters; called with the GIL held.
std::function<bool(NodeIndex)> node_predicate(const pb::object& f) {
  if (f.is_none()) return {};
  return [f](NodeIndex n) { return pb::cast<bool>(f(n)); };
}

// Hops as (id, type, label of the edge to the next hop or "").
pb::object chain_hops(const HeapGraph& g, const Chain& c) {
  if (!c.found()) return pb::none();
  pb::list hops;
  for (std::size_t i = 0; i < c.nodes.size(); ++i) {
    NodeIndex n = c.nodes[i];
    std::string label = i < c.edges.size() ? g.edge_label_text(c.edges[i]) : std::string();
    hops.append(pb::make_tuple(g.id(n), std::string(g.type_name(n)), label));
  }
  return hops;
}

pb::object run_chain(const HeapGraph& g, bool back, const Ids& ids, const std::vector<std::string>& types,
                     const std::vector<std::string>& labels, const pb::object& predicate, std::size_t max_depth,
                     const Ids& ignore_ids) {
  ChainOptions o;
  o.target.types = types;
  o.target.labels = labels;
  o.target.predicate = node_predicate(predicate);
  o.max_depth = max_depth;
  o.ignore = known_indices(g, ignore_ids);
  auto from = indices_of(g, ids, back ? "backref_chain" : "ref_chain");
  Chain c;
  if (o.target.predicate) {
    c = back ? backref_chain(g, from, o) : ref_chain(g, from, o);
  } else {
    pb::gil_scoped_release nogil;
    c = back ? backref_chain(g, from, o) : ref_chain(g, from, o);
  }
  return chain_hops(g, c);
}

// Runs a whole-graph analysis without the GIL and answers with object ids.
template <class Analysis>
std::vector<std::uint64_t> ids_without_gil(const HeapGraph& g, Analysis analysis) {
  std::vector<NodeIndex> ns;
  {
    pb::gil_scoped_release nogil;
    ns = analysis();
  }
  std::vector<std::uint64_t> ids;
  ids.reserve(ns.size());
  for (auto n : ns) ids.push_back(g.id(n));
  return ids;
}

}  // namespace

void register_graph(pb::module_& m) {
  pb::class_<HeapGraph, GraphPtr> cls(m, "Graph", "An immutable object-reference graph of one heap snapshot.");
  cls.def_property_readonly("num_nodes", &HeapGraph::num_nodes)
      .def_property_readonly("num_edges", &HeapGraph::num_edges)
      .def_property_readonly("metadata", &metadata_dict)
      .def_property_readonly("memory_bytes", &HeapGraph::memory_bytes)
      .def("__len__", &HeapGraph::num_nodes)
      .def("__repr__",
           [](const HeapGraph& g) {
             return "<refgraph._core.Graph " + std::to_string(g.num_nodes()) + " nodes, " +
                    std::to_string(g.num_edges()) + " edges>";
           })
      .def(
          "find",
          [](const HeapGraph& g, std::uint64_t id) -> std::int64_t {
            NodeIndex n = g.find(id);
            return n == kNoNode ? -1 : std::int64_t(n);
          },
          "id"_a, "The node index of an object id, or -1.")
      .def(
          "node",
          [](const HeapGraph& g, std::int64_t index) {
            check_index(g, index);
            auto n = static_cast<NodeIndex>(index);
            return pb::dict("id"_a = g.id(n), "type"_a = pb::str(std::string(g.type_name(n))), "size"_a = g.size(n),
                            "gc"_a = g.gc_tracked(n), "root"_a = root_name(g, n),
                            "label"_a = pb::str(std::string(g.label_text(n))));
          },
          "index"_a, "A node's id, type, shallow size, gc flag, root kind (None if not a root) and label.")
      .def(
          "out_edges",
          [](const HeapGraph& g, std::int64_t index) {
            check_index(g, index);
            pb::list out;
            for (Edge e : g.out_edges(static_cast<NodeIndex>(index)))
              out.append(pb::make_tuple(g.id(e.target), g.edge_label_text(e.index), g.edge_weak(e.index),
                                        g.edge_deferred(e.index)));
            return out;
          },
          "index"_a, "[(target id, label, weak, deferred)] in edge order.")
      .def(
          "in_edges",
          [](const HeapGraph& g, std::int64_t index) {
            check_index(g, index);
            pb::list out;
            for (Edge e : g.in_edges(static_cast<NodeIndex>(index)))
              out.append(pb::make_tuple(g.id(e.source), g.edge_label_text(e.index), g.edge_weak(e.index),
                                        g.edge_deferred(e.index)));
            return out;
          },
          "index"_a, "[(source id, label, weak, deferred)], by source.")
      .def(
          "ids_of_type",
          [](const HeapGraph& g, const std::string& type_name) {
            std::vector<std::uint64_t> out;
            for (NodeIndex n : nodes_matching_type(g, type_name)) out.push_back(g.id(n));
            return out;
          },
          "type_name"_a,
          "Ids of every node of that type, ascending. Where types that share a short name are told apart "
          "('Request (werkzeug.wrappers.request)'), the short name names them all and 'module.Request' one.")
      .def(
          "type_stats",
          [](const HeapGraph& g, const std::string& sort, std::size_t top, bool gc_only) {
            TypeStatsOptions o;
            o.sort = parse_sort(sort);
            o.top = top;
            o.gc_tracked_only = gc_only;
            std::vector<TypeStat> stats;
            {
              pb::gil_scoped_release nogil;
              stats = type_stats(g, o);
            }
            pb::list out;
            for (const auto& s : stats) out.append(pb::make_tuple(s.type, s.count, s.size));
            return out;
          },
          "sort"_a = "count", "top"_a = 0, "gc_only"_a = false, "(type, count, total size) per type.")
      .def(
          "growth",
          [](const HeapGraph& g, const HeapGraph& older, std::size_t top, bool by_size, bool gc_only) {
            GrowthOptions o;
            o.top = top;
            o.by_size = by_size;
            o.gc_tracked_only = gc_only;
            std::vector<TypeGrowth> grown;
            {
              pb::gil_scoped_release nogil;
              grown = type_growth(older, g, o);
            }
            pb::list out;
            for (const auto& t : grown)
              out.append(pb::make_tuple(t.type, t.count_after, t.count_delta, t.size_after, t.size_delta));
            return out;
          },
          "older"_a, "top"_a = 0, "by_size"_a = false, "gc_only"_a = false,
          "(type, count_after, count_delta, size_after, size_delta) for types that grew since `older`.")
      .def(
          "new_ids",
          [](const HeapGraph& g, const HeapGraph& older) {
            return ids_without_gil(g, [&] { return new_objects(older, g); });
          },
          "older"_a, "Ids of objects absent from `older` (by id and type).")
      .def(
          "backref_chain",
          [](const HeapGraph& g, const Ids& ids, const std::vector<std::string>& types,
             const std::vector<std::string>& labels, const pb::object& predicate, std::size_t max_depth,
             const Ids& ignore_ids) {
            return run_chain(g, true, ids, types, labels, predicate, max_depth, ignore_ids);
          },
          "ids"_a, "types"_a = std::vector<std::string>{}, "labels"_a = std::vector<std::string>{},
          "predicate"_a = pb::none(), "max_depth"_a = 0, "ignore_ids"_a = Ids{},
          "Shortest chain from a root (or target) to one of `ids`: [(id, type, label of the edge to the next hop)], "
          "root first; None if there is none.")
      .def(
          "ref_chain",
          [](const HeapGraph& g, const Ids& ids, const std::vector<std::string>& types,
             const std::vector<std::string>& labels, const pb::object& predicate, std::size_t max_depth,
             const Ids& ignore_ids) {
            return run_chain(g, false, ids, types, labels, predicate, max_depth, ignore_ids);
          },
          "ids"_a, "types"_a = std::vector<std::string>{}, "labels"_a = std::vector<std::string>{},
          "predicate"_a = pb::none(), "max_depth"_a = 0, "ignore_ids"_a = Ids{},
          "Shortest chain from one of `ids` forward to a target, start first; None if there is none.")
      .def(
          "chain_root_kind",
          [](const HeapGraph& g, const Ids& ids_root_first) -> pb::object {
            if (ids_root_first.empty()) return pb::none();
            Chain c;
            c.nodes = indices_of(g, ids_root_first, "chain_root_kind");
            RootKind k = chain_root_kind(g, c);
            if (k == RootKind::None) return pb::none();
            return pb::str(root_kind_name(k));
          },
          "ids_root_first"_a, "The root kind of a chain's first hop, or None.")
      .def(
          "leaking_ids", [](const HeapGraph& g) { return ids_without_gil(g, [&] { return leaking_objects(g); }); },
          "Ids of objects nothing refers to that are not roots (objgraph's get_leaking_objects).")
      .def(
          "unreachable_ids",
          [](const HeapGraph& g) { return ids_without_gil(g, [&] { return unreachable_objects(g); }); },
          "Ids of objects no root reaches: cyclic garbage not yet collected.")
      .def(
          "neighbourhood_dot",
          [](const HeapGraph& g, const Ids& ids, const std::string& direction, std::size_t max_depth,
             std::size_t too_many, const std::vector<std::string>& include_types,
             const std::vector<std::string>& exclude_types, const Ids& ignore_ids, const pb::object& filter,
             bool highlight, const std::string& title, const pb::object& extra_info, const pb::object& node_attrs) {
            NeighbourhoodOptions o;
            o.direction = parse_direction(direction);
            o.max_depth = max_depth;
            o.too_many = too_many;
            o.include_types = include_types;
            o.exclude_types = exclude_types;
            o.ignore = known_indices(g, ignore_ids);
            o.filter = node_predicate(filter);
            o.highlight_chains = highlight;
            DotOptions d;
            d.title = title;
            if (!extra_info.is_none())
              d.extra_info = [extra_info](NodeIndex n) {
                pb::object r = extra_info(n);
                return r.is_none() ? std::string() : pb::cast<std::string>(pb::str(r));
              };
            if (!node_attrs.is_none())
              d.node_attrs = [node_attrs](NodeIndex n) {
                std::vector<std::pair<std::string, std::string>> out;
                pb::object r = node_attrs(n);
                if (r.is_none()) return out;
                for (auto [name, value] : pb::cast<pb::dict>(r)) {
                  if (!value.is_none())
                    out.emplace_back(pb::cast<std::string>(pb::str(name)), pb::cast<std::string>(pb::str(value)));
                }
                std::sort(out.begin(), out.end());
                return out;
              };
            auto start = indices_of(g, ids, "neighbourhood_dot");
            if (o.filter || d.extra_info || d.node_attrs) return to_dot(g, neighbourhood(g, start, o), d);
            pb::gil_scoped_release nogil;
            return to_dot(g, neighbourhood(g, start, o), d);
          },
          "ids"_a, "direction"_a = "back", "max_depth"_a = 3, "too_many"_a = 10,
          "include_types"_a = std::vector<std::string>{}, "exclude_types"_a = std::vector<std::string>{},
          "ignore_ids"_a = Ids{}, "filter"_a = pb::none(), "highlight"_a = true, "title"_a = "",
          "extra_info"_a = pb::none(), "node_attrs"_a = pb::none(),
          "DOT text of the objects around `ids` (direction 'back' for referrers, 'forward' for referents). "
          "`extra_info(index)`: a line under the node; `node_attrs(index)`: a dict of its Graphviz attributes.")
      .def(
          "chain_dot",
          [](const HeapGraph& g, const Ids& ids_root_first, const std::string& title) {
            Chain c = chain_from_ids(g, ids_root_first);
            DotOptions d;
            d.title = title;
            pb::gil_scoped_release nogil;
            return to_dot(g, chain_subgraph(g, c, Direction::Back), d);
          },
          "ids_root_first"_a, "title"_a = "", "DOT text of a chain given as ids, root first.")
      .def(
          "save",
          [](const HeapGraph& g, const std::string& path) {
            pb::gil_scoped_release nogil;
            write_dump(g, path);
          },
          "path"_a, "Writes a binary .rgd dump (atomically).")
      .def(
          "save_jsonl",
          [](const HeapGraph& g, const std::string& path) {
            pb::gil_scoped_release nogil;
            write_jsonl(g, path);
          },
          "path"_a, "Writes a JSON Lines dump (atomically).");

  m.def(
      "load",
      [](const std::string& path) {
        HeapGraph g;
        {
          pb::gil_scoped_release nogil;
          g = load_graph(path);
        }
        return std::make_shared<HeapGraph>(std::move(g));
      },
      "path"_a, "Reads a .rgd or .jsonl dump.");
}

}  // namespace refgraph::py
