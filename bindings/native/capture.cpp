// _core.capture, _core.PinnedHeap and _core.pin_heap: the Python surface of the heap walk (capture/walk.cpp).
#include <cstring>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include <unordered_map>

#include "capture/internals.hpp"
#include "capture/labels.hpp"
#include "capture/types.hpp"
#include "capture/walk.hpp"
#include "graph_binding.hpp"
#include "refgraph/errors.hpp"
#include "register.hpp"

namespace pb = pybind11;
using namespace pybind11::literals;

namespace refgraph::py {

namespace {

// A capture whose every node holds one strong reference until release(), so that object(id) can hand out live
// objects while user predicates run.
class PinnedHeap {
 public:
  explicit PinnedHeap(GraphPtr g) : graph_(std::move(g)), pinned_(true) {}
  ~PinnedHeap() { release(); }
  PinnedHeap(const PinnedHeap&) = delete;
  PinnedHeap& operator=(const PinnedHeap&) = delete;

  const GraphPtr& graph() const { return graph_; }
  bool pinned() const { return pinned_; }

  pb::object object(std::uint64_t id) const {
    if (!pinned_) throw QueryError("PinnedHeap.object: the heap was released");
    if (graph_->find(id) == kNoNode) throw pb::key_error("id " + std::to_string(id) + " was not captured");
    return pb::reinterpret_borrow<pb::object>(reinterpret_cast<PyObject*>(id));
  }

  void release() {
    if (!pinned_) return;
    pinned_ = false;  // first: a __del__ run by a decref below may call back into us
    for (std::uint64_t id : graph_->ids()) Py_DECREF(reinterpret_cast<PyObject*>(id));
  }

 private:
  GraphPtr graph_;
  bool pinned_;
};

capture::CaptureOptions options(bool values, bool shortnames, const std::vector<std::string>& skip_files,
                                std::size_t max_value_len, const std::string& tag, bool pin,
                                const std::vector<PyObject*>* keep = nullptr, PyObject* keep_holder = nullptr) {
  capture::CaptureOptions o;
  o.values = values;
  o.shortnames = shortnames;
  o.skip_files = skip_files;
  o.max_value_len = max_value_len;
  o.tag = tag;
  o.pin = pin;
  o.keep = keep;
  o.keep_holder = keep_holder;
  return o;
}

// objgraph's name of a type: `__name__`, or with `qualified` `__module__ + '.' + __name__` (just `__name__` when the
// module is not a non-empty str), read from the type's slots and dict: a metaclass's __getattribute__ is not run.
std::string objgraph_type_name(PyTypeObject* t, bool qualified) {
  std::string name = capture::type_short_name(t);
  if (!qualified) return name;
  const std::string module = capture::type_module(t);
  return module.empty() ? name : module + "." + name;
}

// The items of a list or tuple, read in place (no __iter__ of a subclass runs).
std::pair<PyObject**, Py_ssize_t> items_of(const pb::handle& seq, const char* what) {
  if (PyList_Check(seq.ptr())) return {PySequence_Fast_ITEMS(seq.ptr()), PyList_GET_SIZE(seq.ptr())};
  if (PyTuple_Check(seq.ptr())) return {PySequence_Fast_ITEMS(seq.ptr()), PyTuple_GET_SIZE(seq.ptr())};
  throw pb::type_error(std::string(what) + ": objects must be a list or a tuple");
}

// The objects of a `keep` list or tuple, borrowed: it holds them for the call.
std::vector<PyObject*> borrowed_items(const pb::handle& seq) {
  if (seq.is_none()) return {};
  auto [items, n] = items_of(seq, "keep");
  return std::vector<PyObject*>(items, items + n);
}

}  // namespace

void register_capture(pb::module_& m) {
  capture::init_capture();

  m.def(
      "capture",
      [](bool values, bool shortnames, const std::vector<std::string>& skip_files, std::size_t max_value_len,
         const std::string& tag, const pb::handle& keep, bool distinct_names) {
        const auto kept = borrowed_items(keep);
        auto o = options(values, shortnames, skip_files, max_value_len, tag, false, &kept,
                         keep.is_none() ? nullptr : keep.ptr());
        o.distinct_names = distinct_names;
        return std::make_shared<HeapGraph>(capture::capture_heap(o));
      },
      "values"_a = false, "shortnames"_a = true, "skip_files"_a = std::vector<std::string>{}, "max_value_len"_a = 64,
      "tag"_a = "", "keep"_a = pb::none(), "distinct_names"_a = false,
      "Snapshot of every object of this interpreter (gc-tracked or not) and the references between them. Runs no "
      "Python code of the user's and keeps no reference after it returns. Frames whose code file starts with one of "
      "`skip_files` are not nodes. str/bytes values appear in labels only with values=True, cut to max_value_len; "
      "so do dict keys, except names the program's code chose (interned identifiers): else [<str len=N>], [<int>]. "
      "`keep`: a list or tuple of the objects the call asks about, captured (with what they reach) even when only "
      "the tool's frames hold them, as a temporary argument is, or when the gc does not track them; the list or "
      "tuple itself is not a node. `distinct_names` (with shortnames): types that share a short name are named "
      "'Request (werkzeug.wrappers.request)', one name a type.");

  pb::class_<PinnedHeap>(m, "PinnedHeap",
                         "A capture plus a strong reference to every captured object, until release().")
      .def_property_readonly("graph", &PinnedHeap::graph)
      .def_property_readonly("pinned", &PinnedHeap::pinned)
      .def("object", &PinnedHeap::object, "id"_a, "The live object with that id; KeyError if it was not captured.")
      .def("release", &PinnedHeap::release, "Drops every reference (also done by __exit__ and on deletion).")
      .def("__enter__", [](pb::object self) { return self; })
      .def("__exit__", [](PinnedHeap& h, const pb::args&) {
        h.release();
        return false;
      });

  m.def(
      "pin_heap",
      [](bool values, bool shortnames, const std::vector<std::string>& skip_files, const pb::handle& keep) {
        const auto kept = borrowed_items(keep);
        auto o = options(values, shortnames, skip_files, 64, "", true, &kept, keep.is_none() ? nullptr : keep.ptr());
        return std::make_unique<PinnedHeap>(std::make_shared<HeapGraph>(capture::capture_heap(o)));
      },
      "values"_a = false, "shortnames"_a = true, "skip_files"_a = std::vector<std::string>{}, "keep"_a = pb::none(),
      "capture() that also holds every captured object alive until release(); use as a context manager. `keep` as "
      "for capture().");

  m.def(
      "type_names",
      [](const pb::handle& objects, bool qualified) {
        auto [items, n] = items_of(objects, "type_names");
        std::unordered_map<PyTypeObject*, pb::str> names;
        pb::list out(n);
        for (Py_ssize_t i = 0; i < n; ++i) {
          PyTypeObject* t = Py_TYPE(items[i]);
          auto it = names.find(t);
          if (it == names.end()) it = names.emplace(t, pb::str(objgraph_type_name(t, qualified))).first;
          out[i] = it->second;
        }
        return out;
      },
      "objects"_a, "qualified"_a = false,
      "objgraph's type name of each object of a list or tuple (type.__name__, or with qualified "
      "__module__.__name__), read from the type's slots: no __class__ property or metaclass __getattribute__ runs.");

  m.def(
      "is_proper_module",
      [](const pb::handle& obj) {
        if (!PyModule_Check(obj.ptr())) return false;
        PyObject* name = capture::dict_find_str(PyModule_GetDict(obj.ptr()), "__name__");
        if (name == nullptr || !PyUnicode_CheckExact(name)) return false;
        PyObject* found = PyDict_GetItemWithError(PyImport_GetModuleDict(), name);  // exact str: no user __eq__
        PyErr_Clear();
        return found == obj.ptr();
      },
      "obj"_a, "True if obj is a module that sys.modules holds under its own __name__; runs no user code.");

  m.def(
      "_gc_tracked_count",
      []() -> long long {
        long long n = 0;
        if (!capture::for_each_gc_object([&n](PyObject*) { ++n; })) return -1;
        return n;
      },
      "How many objects the gc lists hold, read in place (-1 when this build cannot read them). For tests.");

  // Test-only hooks, kept out of the package's API: tests lower the capture's index limits to reach them.
  pb::module_ testing = pb::hasattr(m, "_testing") ? pb::module_(m.attr("_testing"))
                                                   : m.def_submodule("_testing", "Hooks for refgraph's own tests.");
  testing.def(
      "capture_with_stats",
      [](const std::vector<std::string>& skip_files) {
        auto o = options(false, true, skip_files, 64, "", false, nullptr, nullptr);
        capture::CaptureStats st;
        auto g = std::make_shared<HeapGraph>(capture::capture_heap(o, &st));
        pb::dict d;
        d["walk_seconds"] = st.walk_seconds;
        d["seeds_seconds"] = st.seeds_seconds;
        d["phase1_seconds"] = st.phase1_seconds;
        d["phase2_seconds"] = st.phase2_seconds;
        d["build_seconds"] = st.build_seconds;
        d["sort_seconds"] = st.sort_seconds;
        d["rank_seconds"] = st.rank_seconds;
        d["columns_seconds"] = st.columns_seconds;
        d["gc_tracked"] = st.gc_tracked;
        d["address_set_entries"] = st.address_set_entries;
        d["header_index"] = st.header_index;
        return pb::make_tuple(g, d);
      },
      "skip_files"_a = std::vector<std::string>{},
      "(graph, stats): capture() with its statistics (capture/walk.hpp's CaptureStats: CPU and wall seconds of "
      "its phases, gc-tracked objects, address-set entries, header mode), which dumps do not carry.");
  testing.def(
      "capture_limits",
      []() {
        const auto l = capture::capture_limits();
        return pb::make_tuple(l.nodes, l.edges, l.strings);
      },
      "(nodes, edges, strings): the most one capture indexes.");
  testing.def(
      "set_capture_limits",
      [](std::size_t nodes, std::size_t edges, std::size_t strings) {
        capture::set_capture_limits({nodes, edges, strings});
      },
      "nodes"_a, "edges"_a, "strings"_a,
      "Lowers the capture's limits (values above the defaults are clamped to them); restore with the defaults.");
}

}  // namespace refgraph::py
