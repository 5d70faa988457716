// One description of a type's layout, as every walk of the live heap needs it (the capture, the counter, the local
// scan): which references its instances hold (their layer, __slots__, instance dict, class), whether the gc sees
// them, and how sys.getsizeof sizes them. Made once per type and cached per walk in a TypeTable.
//
//   TypeTable<TypeFacts> types;
//   const TypeFacts& f = types.get(Py_TYPE(o), [](PyTypeObject* t, TypeFacts* out) { *out = type_facts(t); });
#pragma once

#include <Python.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "ptr_index.hpp"
#include "types.hpp"

namespace refgraph::capture {

struct TypeFacts {
  PyTypeObject* type = nullptr;
  Layer layer = Layer::None;  // of the nearest base whose tp_traverse is not subtype_traverse; None: walk nothing
  traverseproc base_traverse = nullptr;
  bool gc_type = false;    // PyType_IS_GC
  bool has_is_gc = false;  // tp_is_gc decides per object (types: heap or static)
  bool instance = false;   // tp_traverse is subtype_traverse: slots, instance dict and class first
  bool managed_dict = false;
  bool visit_dict_ptr = false;
  bool visit_type = false;
  std::vector<std::pair<Py_ssize_t, const char*>> slots;  // __slots__ members: (offset, name)
  SizeKind size_kind = SizeKind::Basic;
  Py_ssize_t pre_header = 0;
};

// The facts of t, read without calling any Python code.
TypeFacts type_facts(PyTypeObject* t);

// Whether this object has a gc header in use (a type's instances may decide one by one: tp_is_gc).
inline bool is_gc(PyObject* o, const TypeFacts& f) { return f.gc_type && (!f.has_is_gc || Py_TYPE(o)->tp_is_gc(o)); }
// Whether a walk follows this object's references: gc objects, and the few others that own some.
inline bool walks(PyObject* o, const TypeFacts& f) { return is_gc(o, f) || walks_without_gc(f.layer); }
inline std::uint64_t size_of(PyObject* o, const TypeFacts& f) { return object_size(o, f.size_kind, f.pre_header); }

// Per-walk facts by type (Info is TypeFacts or a walk's extension of it), valid while nothing is freed: a
// direct-mapped cache in front of an address map, since a walk alternates between a few types.
template <class Info>
class TypeTable {
 public:
  // The Info of t; made by make(t, Info*) the first time.
  template <class Make>
  __attribute__((always_inline)) Info& get(PyTypeObject* t, Make&& make) {
    const Slot& s = cache_[slot(t)];
    if (__builtin_expect(s.type == t, 1)) return *s.info;
    return get_slow(t, make);
  }
  const std::vector<std::unique_ptr<Info>>& all() const { return infos_; }

 private:
  template <class Make>
  __attribute__((noinline)) Info& get_slow(PyTypeObject* t, Make& make) {
    std::uint32_t k = index_.find(reinterpret_cast<std::uintptr_t>(t));
    if (k == PtrIndex::kAbsent) {
      auto info = std::make_unique<Info>();
      make(t, info.get());
      k = static_cast<std::uint32_t>(infos_.size());
      infos_.push_back(std::move(info));
      index_.insert(reinterpret_cast<std::uintptr_t>(t), k);
    }
    Slot& s = cache_[slot(t)];
    s.type = t;
    s.info = infos_[k].get();
    return *s.info;
  }
  static std::size_t slot(PyTypeObject* t) {
    return static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(t) * 0x9E3779B97F4A7C15ull) >> 58);
  }
  struct Slot {
    PyTypeObject* type = nullptr;
    Info* info = nullptr;
  };
  Slot cache_[64];
  PtrIndex index_{256};
  std::vector<std::unique_ptr<Info>> infos_;
};

}  // namespace refgraph::capture
