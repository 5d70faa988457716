// Facts about a type that the heap capture (capture/walk.cpp) and the counter (capture/counter.cpp) share, so that both
// name, size and walk an object the same way: its name as objgraph spells it, which builtin __sizeof__ it uses
// (sys.getsizeof's value computed in C, calling nothing), and which layer of references its instances hold.
//
//   init_type_facts();                                   // once, at import (init_capture calls it)
//   bool exact;  SizeKind k = size_kind_of(Py_TYPE(o), &exact);
//   std::uint64_t bytes = object_size(o, k, pre_header_size(Py_TYPE(o)));  // == sys.getsizeof(o)
#pragma once

#include <Python.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "internals.hpp"

namespace refgraph::capture {

// Which reference-holding layout an object has (of the nearest base whose tp_traverse is not subtype_traverse).
enum class Layer : std::uint8_t {
  None,
  Generic,
  List,
  Tuple,
  Dict,
  Set,
  Cell,
  Function,
  Method,
  Module,
  CFunction,
  Type,
  Frame,
  Weakref,
  Code,
  Range,
  ModuleDef
};
Layer layer_of(PyTypeObject* base);

// Objects the gc does not track that still own references (nothing else would count them).
inline bool walks_without_gc(Layer l) {
  return l == Layer::Type || l == Layer::Code || l == Layer::Range || l == Layer::ModuleDef;
}

// Objects/rangeobject.c's private struct: four owned ints.
struct RangeObject {
  PyObject_HEAD PyObject* start;
  PyObject* stop;
  PyObject* step;
  PyObject* length;
};

// The tp_traverse of every class made by a class statement (subtype_traverse in C); NULL before init.
extern traverseproc g_subtype_traverse;

// Caches subtype_traverse and the builtin __sizeof__ implementations. Needs the GIL; idempotent.
void init_type_facts();

// Which builtin __sizeof__ a type uses, found along its MRO without calling anything; *exact is false when the
// basicsize formula stands in for someone else's __sizeof__ (never called: it could run code).
enum class SizeKind : std::uint8_t { Basic, Int, Str, ByteArray, List, Dict, Set, Type, Frame, Code, Gen };
SizeKind size_kind_of(PyTypeObject* t, bool* exact);

// sys.getsizeof(o) computed in C; `pre_header` is pre_header_size(Py_TYPE(o)).
inline std::uint64_t object_size(PyObject* o, SizeKind kind, Py_ssize_t pre_header) {
  PyTypeObject* t = Py_TYPE(o);
  Py_ssize_t s = -1;
  switch (kind) {
    case SizeKind::Basic: break;
    case SizeKind::Int: {
      Py_ssize_t n = Py_SIZE(o);
      n = n < 0 ? -n : n;
      if (n < 1) n = 1;  // int.__sizeof__ counts at least one digit, even for 0
      s = static_cast<Py_ssize_t>(offsetof(PyLongObject, ob_digit)) + n * Py_ssize_t(sizeof(digit));
      break;
    }
    case SizeKind::Str: s = str_sizeof(o); break;
    case SizeKind::ByteArray: s = t->tp_basicsize + reinterpret_cast<PyByteArrayObject*>(o)->ob_alloc; break;
    case SizeKind::List:
      s = t->tp_basicsize + reinterpret_cast<PyListObject*>(o)->allocated * Py_ssize_t(sizeof(PyObject*));
      break;
    case SizeKind::Dict: s = _PyDict_SizeOf(reinterpret_cast<PyDictObject*>(o)); break;
    case SizeKind::Set: {
      auto* so = reinterpret_cast<PySetObject*>(o);
      s = t->tp_basicsize;
      if (so->table != so->smalltable) s += (so->mask + 1) * Py_ssize_t(sizeof(setentry));
      break;
    }
    case SizeKind::Type: s = type_sizeof(o); break;
    case SizeKind::Frame: s = frame_sizeof(o); break;
    case SizeKind::Code: s = code_sizeof(o); break;
    case SizeKind::Gen: s = gen_sizeof(o); break;
  }
  if (s < 0) {  // object.__sizeof__
    s = t->tp_basicsize;
    if (t->tp_itemsize > 0) s += Py_SIZE(o) * t->tp_itemsize;
  }
  return static_cast<std::uint64_t>(s + pre_header);
}

// A pointer to the __dict__ slot of an object whose type has a (non-managed) tp_dictoffset; NULL if none.
PyObject** dict_slot(PyObject* o);

// type.__name__ (objgraph's short name) and module.qualname, read without calling anything.
std::string type_short_name(PyTypeObject* t);
std::string type_long_name(PyTypeObject* t);
// A type's `__module__` as a heap type's dict holds it ("" if not a str), or a static type's tp_name prefix
// ("builtins" if none).
std::string type_module(PyTypeObject* t);
// How refgraph's own reports tell apart types that share a short name: "Request (werkzeug.wrappers.request)".
// A builtin type keeps its plain name there (type_is_builtin).
std::string type_distinct_name(PyTypeObject* t);
bool type_is_builtin(PyTypeObject* t);

// What the instances of a class statement's type hold, as subtype_traverse visits it: the __slots__ members of
// each class-statement layer, the managed or plain __dict__, the type itself, then the layer of `base`, the
// nearest base with another tp_traverse. For any other type: instance is false and base is the type itself.
struct InstanceLayout {
  bool instance = false;
  bool managed_dict = false;
  bool visit_dict_ptr = false;
  bool visit_type = false;
  PyTypeObject* base = nullptr;
  std::vector<std::pair<Py_ssize_t, const char*>> slots;  // (offset, member name)
};
InstanceLayout instance_layout(PyTypeObject* t);

}  // namespace refgraph::capture
