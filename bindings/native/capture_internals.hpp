// Views of CPython objects whose layout is private (3.11's frames, generators, instance values, dict keys),
// isolated in capture_internals.cpp, the one file compiled with Py_BUILD_CORE. On other versions the functions
// report "unknown" and the capture falls back to tp_traverse and the basicsize formula.
#pragma once

#include <Python.h>

#include <cstddef>

namespace refgraph::capture {

// True when this build reads 3.11's private layouts.
bool have_internals();

// An interpreter frame as the frame object sees it. Pointers are borrowed.
struct FrameView {
  PyObject* code = nullptr;
  PyObject* func = nullptr;
  PyObject* locals = nullptr;  // f_locals: NULL for function frames until someone asks for frame.f_locals
  PyObject* globals = nullptr;  // borrowed by the frame itself
  PyObject* builtins = nullptr;  // borrowed by the frame itself
  PyObject* back = nullptr;      // f_back field (set only once the frame has finished)
  PyObject* trace = nullptr;
  PyObject** localsplus = nullptr;
  int nlocalsplus = 0;
  int stacktop = -1;  // -1 while the frame executes: its value stack is not visible
  enum Owner { Thread, Generator, FrameObject } owner = Thread;
};
bool frame_view(PyObject* frame, FrameView* out);

// Kinds of a code object's localsplus slots (CO_FAST_LOCAL, CO_FAST_CELL, CO_FAST_FREE).
inline constexpr unsigned char kFastCell = 0x40;
inline constexpr unsigned char kFastFree = 0x80;

// Instance attributes kept outside a dict (3.11 Py_TPFLAGS_MANAGED_DICT): values[i] is the attribute named
// key(i) in the type's shared keys. `dict` is the materialised __dict__ if any.
struct ManagedAttrs {
  PyObject** values = nullptr;
  Py_ssize_t count = 0;
  const void* keys = nullptr;
  PyObject* dict = nullptr;
};
bool managed_attrs(PyObject* o, ManagedAttrs* out);
PyObject* managed_key(const ManagedAttrs& a, Py_ssize_t i);

// A dict whose keys are all str: tp_traverse does not report its keys.
bool dict_keys_are_str(PyObject* dict);
// Keys of a heap type's shared instance keys, for each non-NULL key: fn(key).
template <class Fn>
void for_each_cached_key(PyTypeObject* type, Fn&& fn);
Py_ssize_t cached_keys_count(PyTypeObject* type);
PyObject* cached_key(PyTypeObject* type, Py_ssize_t i);

// sys.getsizeof without the GC pre-header, for objects whose layout is private; -1 if unknown.
Py_ssize_t frame_sizeof(PyObject* frame);
Py_ssize_t gen_sizeof(PyObject* gen);  // generator, coroutine, async generator
Py_ssize_t code_sizeof(PyObject* code);
Py_ssize_t type_sizeof(PyObject* type);
Py_ssize_t str_sizeof(PyObject* s);
Py_ssize_t pre_header_size(PyTypeObject* type);  // GC header and managed-dict pointers before the object

template <class Fn>
void for_each_cached_key(PyTypeObject* type, Fn&& fn) {
  Py_ssize_t n = cached_keys_count(type);
  for (Py_ssize_t i = 0; i < n; ++i)
    if (PyObject* k = cached_key(type, i)) fn(k);
}

}  // namespace refgraph::capture
