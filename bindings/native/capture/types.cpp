// Per-type facts shared by the capture and the counter (capture/types.hpp).
#include "types.hpp"

#include <structmember.h>

#include <cstring>
#include <utility>
#include <vector>

#include "labels.hpp"

namespace refgraph::capture {

traverseproc g_subtype_traverse = nullptr;

namespace {

std::vector<std::pair<PyCFunction, SizeKind>> g_sizeof_impls;  // builtin __sizeof__ C functions we reproduce

}  // namespace

void init_type_facts() {
  if (!g_sizeof_impls.empty()) return;
  // Every class made by a class statement shares one tp_traverse (subtype_traverse); read it from a class of
  // the standard library that is always loaded, so that no class of our own lingers as garbage.
  // Looked up in sys.modules and the module's dict directly: an import or a getattr could run user code.
  PyObject* abc = dict_find_str(PyImport_GetModuleDict(), "abc");
  PyObject* cls = abc != nullptr && PyModule_Check(abc) ? dict_find_str(PyModule_GetDict(abc), "ABC") : nullptr;
  if (cls != nullptr && PyType_Check(cls) &&
      PyType_HasFeature(reinterpret_cast<PyTypeObject*>(cls), Py_TPFLAGS_HEAPTYPE))
    g_subtype_traverse = reinterpret_cast<PyTypeObject*>(cls)->tp_traverse;
  PyErr_Clear();

  const std::pair<PyTypeObject*, SizeKind> impls[] = {
      {&PyBaseObject_Type, SizeKind::Basic}, {&PyLong_Type, SizeKind::Int},
      {&PyUnicode_Type, SizeKind::Str},      {&PyByteArray_Type, SizeKind::ByteArray},
      {&PyList_Type, SizeKind::List},        {&PyDict_Type, SizeKind::Dict},
      {&PySet_Type, SizeKind::Set},          {&PyFrozenSet_Type, SizeKind::Set},
      {&PyType_Type, SizeKind::Type},        {&PyFrame_Type, SizeKind::Frame},
      {&PyCode_Type, SizeKind::Code},        {&PyGen_Type, SizeKind::Gen},
      {&PyCoro_Type, SizeKind::Gen},         {&PyAsyncGen_Type, SizeKind::Gen}};
  for (auto [type, kind] : impls) {
    PyObject* d = dict_find_str(type->tp_dict, "__sizeof__");
    if (d != nullptr && Py_IS_TYPE(d, &PyMethodDescr_Type))
      g_sizeof_impls.emplace_back(reinterpret_cast<PyMethodDescrObject*>(d)->d_method->ml_meth, kind);
  }
}

Layer layer_of(PyTypeObject* base) {
  if (base == &PyCode_Type) return Layer::Code;
  if (base == &PyRange_Type) return Layer::Range;
  if (base == &PyModuleDef_Type) return Layer::ModuleDef;
  if (base->tp_traverse == nullptr) return base == &PyType_Type ? Layer::Type : Layer::None;
  if (base == &PyList_Type) return Layer::List;
  if (base == &PyTuple_Type) return Layer::Tuple;
  if (base == &PyDict_Type) return Layer::Dict;
  if (base == &PySet_Type || base == &PyFrozenSet_Type) return Layer::Set;
  if (base == &PyCell_Type) return Layer::Cell;
  if (base == &PyFunction_Type) return Layer::Function;
  if (base == &PyMethod_Type) return Layer::Method;
  if (base == &PyModule_Type) return Layer::Module;
  if (base == &PyCFunction_Type || base == &PyCMethod_Type) return Layer::CFunction;
  if (base == &PyType_Type) return Layer::Type;
  if (base == &PyFrame_Type && have_internals()) return Layer::Frame;
  if (base == &_PyWeakref_RefType || base == &_PyWeakref_ProxyType || base == &_PyWeakref_CallableProxyType)
    return Layer::Weakref;
  return Layer::Generic;
}

SizeKind size_kind_of(PyTypeObject* t, bool* exact) {
  *exact = false;
  PyObject* mro = t->tp_mro;
  if (mro == nullptr || !PyTuple_Check(mro)) return SizeKind::Basic;
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); ++i) {
    PyObject* base = PyTuple_GET_ITEM(mro, i);
    if (!PyType_Check(base)) continue;
    PyObject* d = dict_find_str(reinterpret_cast<PyTypeObject*>(base)->tp_dict, "__sizeof__");
    if (d == nullptr) continue;
    if (Py_IS_TYPE(d, &PyMethodDescr_Type)) {
      PyCFunction f = reinterpret_cast<PyMethodDescrObject*>(d)->d_method->ml_meth;
      for (auto [impl, kind] : g_sizeof_impls) {
        if (impl == f) {
          *exact = true;
          // Without the private layouts these sizes are unknown: the basicsize formula stands in.
          if (!have_internals() && (kind == SizeKind::Str || kind == SizeKind::Type || kind == SizeKind::Frame ||
                                    kind == SizeKind::Code || kind == SizeKind::Gen))
            return SizeKind::Basic;
          return kind;
        }
      }
    }
    return SizeKind::Basic;  // someone else's __sizeof__: never called
  }
  return SizeKind::Basic;
}

PyObject** dict_slot(PyObject* o) {
  PyTypeObject* t = Py_TYPE(o);
  Py_ssize_t off = t->tp_dictoffset;
  if (off == 0) return nullptr;
  if (off < 0) {
    Py_ssize_t n = Py_SIZE(o);
    if (n < 0) n = -n;
    std::size_t raw = static_cast<std::size_t>(t->tp_basicsize) + n * static_cast<std::size_t>(t->tp_itemsize);
    off += static_cast<Py_ssize_t>((raw + sizeof(void*) - 1) & ~(sizeof(void*) - 1));
  }
  return reinterpret_cast<PyObject**>(reinterpret_cast<char*>(o) + off);
}

std::string type_short_name(PyTypeObject* t) {
  if (t->tp_flags & Py_TPFLAGS_HEAPTYPE) {
    std::string s = utf8_of(reinterpret_cast<PyHeapTypeObject*>(t)->ht_name);
    if (!s.empty()) return s;
  }
  const char* n = t->tp_name ? t->tp_name : "?";
  const char* dot = std::strrchr(n, '.');
  return dot ? dot + 1 : n;
}

std::string type_module(PyTypeObject* t) {
  if (t->tp_flags & Py_TPFLAGS_HEAPTYPE) return utf8_of(dict_find_str(t->tp_dict, "__module__"));
  const char* n = t->tp_name ? t->tp_name : "?";
  const char* dot = std::strrchr(n, '.');
  return dot ? std::string(n, dot) : std::string("builtins");
}

std::string type_long_name(PyTypeObject* t) {
  const std::string module = type_module(t);
  std::string qualname;
  if (t->tp_flags & Py_TPFLAGS_HEAPTYPE) qualname = utf8_of(reinterpret_cast<PyHeapTypeObject*>(t)->ht_qualname);
  if (qualname.empty()) qualname = type_short_name(t);
  return module.empty() ? qualname : module + "." + qualname;
}

bool type_is_builtin(PyTypeObject* t) {
  return !(t->tp_flags & Py_TPFLAGS_HEAPTYPE) && t->tp_name != nullptr && std::strchr(t->tp_name, '.') == nullptr;
}

std::string type_distinct_name(PyTypeObject* t) {
  const std::string module = type_module(t);
  return module.empty() ? type_short_name(t) : type_short_name(t) + " (" + module + ")";
}

InstanceLayout instance_layout(PyTypeObject* t) {
  InstanceLayout l;
  PyTypeObject* base = t;
  if (t->tp_traverse == g_subtype_traverse && g_subtype_traverse != nullptr && have_internals()) {
    l.instance = true;
    while (base != nullptr && base->tp_traverse == g_subtype_traverse) {
      if (Py_SIZE(base) > 0) {
        auto* members = reinterpret_cast<PyMemberDef*>(reinterpret_cast<char*>(base) + Py_TYPE(base)->tp_basicsize);
        for (Py_ssize_t m = 0; m < Py_SIZE(base); ++m)
          if (members[m].type == T_OBJECT_EX && members[m].name != nullptr)
            l.slots.emplace_back(members[m].offset, members[m].name);
      }
      base = base->tp_base;
    }
    if (base == nullptr) base = &PyBaseObject_Type;
    l.managed_dict = (t->tp_flags & Py_TPFLAGS_MANAGED_DICT) != 0;
    l.visit_dict_ptr = t->tp_dictoffset != base->tp_dictoffset;
    l.visit_type = (t->tp_flags & Py_TPFLAGS_HEAPTYPE) &&
                   (base->tp_traverse == nullptr || !(base->tp_flags & Py_TPFLAGS_HEAPTYPE));
  }
  l.base = base;
  return l;
}

}  // namespace refgraph::capture
