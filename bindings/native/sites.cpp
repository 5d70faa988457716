// Batch reads for the Python API: many nodes as refgraph.Node tuples in one pass, and tracemalloc's allocation
// sites of many objects in one pass. Each Python allocation costs a traceback while tracemalloc traces, so both
// make as few objects as they can: type, root and label strings are made once per distinct string.
#include <Python.h>
#include <dlfcn.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <pybind11/stl.h>

#include "capture/gc_pause.hpp"
#include "capture/internals.hpp"
#include "graph_binding.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/growth.hpp"
#include "register.hpp"

namespace pb = pybind11;

namespace refgraph::py {
namespace {

// Strings of one graph, made into Python str once each.
class StrCache {
 public:
  explicit StrCache(const HeapGraph& g) : g_(g), made_(g.strings().size()) {}
  PyObject* get(StringId id) {  // borrowed
    pb::object& s = made_[id];
    if (!s) s = pb::str(std::string(g_.strings()[id]));
    return s.ptr();
  }

 private:
  const HeapGraph& g_;
  std::vector<pb::object> made_;
};

// Sizes repeat (every empty dict has the same), so each distinct size becomes one Python int.
class SizeCache {
 public:
  PyObject* get(std::uint64_t size) {  // borrowed
    pb::object& s = made_[size];
    if (!s) s = pb::reinterpret_steal<pb::object>(PyLong_FromUnsignedLongLong(size));
    if (!s) throw pb::error_already_set();
    return s.ptr();
  }

 private:
  std::unordered_map<std::uint64_t, pb::object> made_;
};

// A refgraph.Node (a NamedTuple, so a tuple subclass without a __dict__) filled in place, as tuple.__new__ does.
pb::object make_node(PyTypeObject* node_type, const HeapGraph& g, NodeIndex n, StrCache& strings, SizeCache& sizes,
                     const std::vector<pb::object>& root_names) {
  PyObject* t = node_type->tp_alloc(node_type, 6);
  if (t == nullptr) throw pb::error_already_set();
  PyObject* items[6] = {PyLong_FromUnsignedLongLong(g.id(n)),
                        strings.get(g.type(n)),
                        sizes.get(g.size(n)),
                        g.gc_tracked(n) ? Py_True : Py_False,
                        root_names[static_cast<int>(g.root_kind(n))].ptr(),
                        strings.get(g.label(n))};
  for (int i : {1, 2, 3, 4, 5}) Py_INCREF(items[i]);
  for (int i = 0; i < 6; ++i) {
    if (items[i] == nullptr) {
      Py_DECREF(t);
      for (int k = 0; k < 6; ++k) Py_XDECREF(items[k]);
      throw pb::error_already_set();
    }
  }
  for (int i = 0; i < 6; ++i) PyTuple_SET_ITEM(t, i, items[i]);
  return pb::reinterpret_steal<pb::object>(t);
}

// While tracemalloc traces, each Python object made costs a traceback and a hash-table entry: the nodes of 84k new
// objects took 4x (one frame) to 10x (25 frames) the untraced time. They are the tool's answer, not the program's
// memory, so they are made with the allocators tracemalloc wraps, and its hooks are put back before returning.
// tracemalloc's hooks have as context its saved allocators, one static {mem, raw, obj}; only that layout is
// bypassed, with the collector paused and the GIL held, so nothing traced is freed meanwhile (a block made here
// and freed later through the hook is simply not found among the traces). Any other layout: nothing changes.
class Untraced {
 public:
  Untraced() {
    PyMemAllocatorEx raw;
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &mem_);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &obj_);
    PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &raw);
    auto* mem = static_cast<PyMemAllocatorEx*>(mem_.ctx);
    const bool layout = mem != nullptr && mem_.malloc == obj_.malloc && mem_.free == obj_.free && raw.ctx == mem + 1 &&
                        obj_.ctx == mem + 2 && raw.malloc != mem_.malloc;
    if (!layout || !tracing()) return;
    pause_.emplace();
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, mem);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, mem + 2);
    active_ = true;
  }
  ~Untraced() {
    if (!active_) return;
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &mem_);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &obj_);
  }
  Untraced(const Untraced&) = delete;
  Untraced& operator=(const Untraced&) = delete;
  bool active() const { return active_; }

 private:
  static bool tracing() {
    PyObject* module = PyImport_ImportModule("_tracemalloc");  // built in: no Python code runs
    if (module == nullptr) {
      PyErr_Clear();
      return false;
    }
    PyObject* result = PyObject_CallMethod(module, "is_tracing", nullptr);
    Py_DECREF(module);
    const bool yes = result == Py_True;
    Py_XDECREF(result);
    if (result == nullptr) PyErr_Clear();
    return yes;
  }
  PyMemAllocatorEx mem_{}, obj_{};
  std::optional<capture::GcPause> pause_;
  bool active_ = false;
};

// The nodes as node_type(id, type, size, gc, root, label), in a list; untraced (see Untraced).
pb::list make_nodes(const HeapGraph& g, const std::vector<NodeIndex>& nodes, const pb::type& node_type) {
  auto* type = reinterpret_cast<PyTypeObject*>(node_type.ptr());
  if (!PyType_IsSubtype(type, &PyTuple_Type)) throw pb::type_error("nodes: node_type must be a tuple subclass");
  const Untraced untraced;
  StrCache strings(g);
  SizeCache sizes;
  std::vector<pb::object> root_names = {pb::none(),          pb::str("module"), pb::str("thread frame"),
                                        pb::str("external"), pb::str("other"),  pb::none(),
                                        pb::none(),          pb::none()};
  pb::list out(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    PyList_SET_ITEM(out.ptr(), i, make_node(type, g, nodes[i], strings, sizes, root_names).release().ptr());
  }
  return out;
}

// 3.11's tracemalloc.h declares this without extern "C": look the C symbol up instead of linking to a mangled name.
using GetTraceback = PyObject* (*)(unsigned int, std::uintptr_t);
GetTraceback get_traceback() {
  static auto f = reinterpret_cast<GetTraceback>(dlsym(RTLD_DEFAULT, "_PyTraceMalloc_GetTraceback"));
  if (f == nullptr) throw Error("allocation sites: this interpreter does not export _PyTraceMalloc_GetTraceback");
  return f;
}

}  // namespace

void register_sites(pb::module_& m) {
  auto graph = pb::reinterpret_borrow<pb::class_<HeapGraph, GraphPtr>>(m.attr("Graph"));
  graph.def(
      "nodes",
      [](const HeapGraph& g, const std::vector<std::uint64_t>& ids, const pb::type& node_type) {
        std::vector<NodeIndex> nodes;
        nodes.reserve(ids.size());
        for (std::uint64_t id : ids) {
          nodes.push_back(g.find(id));
          if (nodes.back() == kNoNode) throw QueryError("nodes: id " + std::to_string(id) + " is not in the graph");
        }
        return make_nodes(g, nodes, node_type);
      },
      pb::arg("ids"), pb::arg("node_type"), "The nodes with these ids, as node_type(id, type, size, gc, root, label).");
  graph.def(
      "new_nodes",
      [](const HeapGraph& g, const HeapGraph& older, const pb::type& node_type) {
        std::vector<NodeIndex> fresh;
        {
          pb::gil_scoped_release nogil;
          fresh = new_objects(older, g);
        }
        return make_nodes(g, fresh, node_type);
      },
      pb::arg("older"), pb::arg("node_type"),
      "The nodes absent from `older` (by id and type), as node_type(...), in one pass: no list of ids in between.");

  m.def(
      "allocation_sites",
      [](const HeapGraph& pinned, const HeapGraph& snapshot, const std::vector<std::uint64_t>& ids) {
        // The most recent frame of each object's allocation traceback, counted: [((filename, lineno), count)],
        // most common first, and the number of objects not traced. `pinned` is the graph of a PinnedHeap that the
        // caller holds: an id it has and whose type is the snapshot's is that object, alive. tracemalloc traces
        // the memory block, which starts at the object's pre-header (the gc links and, on 3.11, a managed dict's
        // pointers); tracemalloc.get_object_traceback misses the latter.
        std::map<std::pair<std::string, long>, std::uint64_t> counts;
        std::uint64_t untraced = 0;
        const GetTraceback traceback_of = get_traceback();
        for (std::uint64_t id : ids) {
          const NodeIndex now = pinned.find(id), then = snapshot.find(id);
          if (now == kNoNode || then == kNoNode || pinned.type_name(now) != snapshot.type_name(then)) {
            ++untraced;
            continue;
          }
          auto* obj = reinterpret_cast<PyObject*>(id);
          auto block = static_cast<std::uintptr_t>(id) - capture::pre_header_size(Py_TYPE(obj));
          PyObject* tb = traceback_of(0, block);
          if (tb == nullptr) throw pb::error_already_set();
          pb::object traceback = pb::reinterpret_steal<pb::object>(tb);
          if (!PyTuple_Check(tb) || PyTuple_GET_SIZE(tb) == 0) {
            ++untraced;
            continue;
          }
          PyObject* frame = PyTuple_GET_ITEM(tb, 0);  // most recent first
          ++counts[{pb::cast<std::string>(PyTuple_GET_ITEM(frame, 0)), PyLong_AsLong(PyTuple_GET_ITEM(frame, 1))}];
        }
        std::vector<std::pair<std::pair<std::string, long>, std::uint64_t>> rows(counts.begin(), counts.end());
        std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
        return pb::make_tuple(rows, untraced);
      },
      pb::arg("pinned"), pb::arg("snapshot"), pb::arg("ids"),
      "([((filename, lineno), count)] most common first, number of objects not traced or gone).");
}

}  // namespace refgraph::py
