// _core.count_types: the counter's per-type counts (capture/counter.hpp) named and merged by name, as a graph's
// type_stats merges types that share a name.
#include <Python.h>

#include <array>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "capture/counter.hpp"
#include "capture/types.hpp"
#include "register.hpp"

namespace pb = pybind11;
using namespace pybind11::literals;

namespace refgraph::py {

void register_count(pb::module_& m) {
  capture::init_type_facts();
  m.def(
      "count_types",
      [](bool shortnames, bool sizes, const std::vector<std::string>& skip_files, bool find_garbage, bool skip_garbage,
         bool distinct_names, bool tracked_only) -> pb::object {
        long long garbage = -1;
        const auto counts = capture::count_heap(sizes, skip_files, find_garbage, skip_garbage, tracked_only, &garbage);
        if (!counts) return pb::none();
        // Names and the result are made after the gc lists are read: only now may Python objects be allocated.
        std::unordered_map<std::string, PyTypeObject*> short_owner;  // nullptr: two types share the short name
        if (shortnames && distinct_names) {
          for (const auto& r : *counts) {
            auto [it, first] = short_owner.try_emplace(capture::type_short_name(r.type), r.type);
            if (!first && it->second != r.type) it->second = nullptr;
          }
        }
        std::unordered_map<std::string, std::size_t> row_of;
        std::vector<std::pair<std::string, std::array<std::uint64_t, 3>>> rows;
        for (const auto& r : *counts) {
          std::string name = shortnames ? capture::type_short_name(r.type) : capture::type_long_name(r.type);
          if (shortnames && distinct_names && short_owner[name] == nullptr && !capture::type_is_builtin(r.type))
            name = capture::type_distinct_name(r.type);
          auto [it, inserted] = row_of.try_emplace(name, rows.size());
          if (inserted) rows.push_back({name, {0, 0, 0}});
          auto& v = rows[it->second].second;
          v[0] += r.tracked;
          v[1] += r.untracked;
          v[2] += r.bytes;
        }
        pb::dict out;
        for (const auto& [name, v] : rows) out[pb::str(name)] = pb::make_tuple(v[0], v[1], v[2]);
        return pb::make_tuple(out, garbage);
      },
      "shortnames"_a = true, "sizes"_a = false, "skip_files"_a = std::vector<std::string>{}, "find_garbage"_a = false,
      "skip_garbage"_a = false, "distinct_names"_a = false, "tracked_only"_a = false,
      "({type name: (gc-tracked count, untracked count, total sys.getsizeof bytes)}, garbage) for the objects a "
      "capture would hold, counted without building a graph (sizes only with sizes=True, else 0). Frames running "
      "code under `skip_files` and what only they hold are left out. Cyclic garbage is counted; with "
      "find_garbage=True, `garbage` is how many gc-tracked objects are cyclic garbage (as the collector would find "
      "them, without collecting), else -1; with skip_garbage=True, they are also left out of the counts, with what only "
      "they hold. `distinct_names` (with shortnames): types that share a short name are named "
      "'Request (werkzeug.wrappers.request)'. `tracked_only`: untracked objects are not looked for (their count is "
      "0), which reads the gc lists alone; ignored with find_garbage or skip_garbage. None when this CPython's gc lists cannot be read (then use capture).");
}

}  // namespace refgraph::py
