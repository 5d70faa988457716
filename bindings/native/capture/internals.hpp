// Views of CPython objects whose layout is private (3.11's frames, generators, instance values, dict keys),
// isolated in capture/internals.cpp, the one file compiled with Py_BUILD_CORE. On other versions the functions
// report "unknown" and the capture falls back to tp_traverse and the basicsize formula.
#pragma once

#include <Python.h>

#include <cstddef>
#include <cstdint>

namespace refgraph::capture {

// True when this build reads 3.11's private layouts.
bool have_internals();

// An interpreter frame as the frame object sees it. Pointers are borrowed.
struct FrameView {
  PyObject* code = nullptr;
  PyObject* func = nullptr;
  PyObject* locals = nullptr;    // f_locals: NULL for function frames until someone asks for frame.f_locals
  PyObject* globals = nullptr;   // borrowed by the frame itself
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
// A dict's table as stored, for reading every entry without a call per entry (PyDict_Next): entry i < count
// has its value at values[i] (a split table) or at entries + i * stride + value_offset, and its key at
// entries + i * stride + key_offset; a NULL value is a free entry. False when the layout is unknown.
struct DictTable {
  const char* entries = nullptr;
  std::size_t stride = 0, key_offset = 0, value_offset = 0;
  PyObject** values = nullptr;
  Py_ssize_t count = 0;
};
bool dict_table(PyObject* dict, DictTable* out);
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
// str_sizeof's commonest case, inline: a compact ASCII str with no cached wide copy (3.11's layout), whose
// __sizeof__ is its header, its characters and the terminating NUL; -1 for any other str.
inline Py_ssize_t compact_ascii_sizeof(PyObject* s) {
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
  auto* a = reinterpret_cast<PyASCIIObject*>(s);
  _Py_COMP_DIAG_PUSH
          _Py_COMP_DIAG_IGNORE_DEPR_DECLS if (a->state.ready && a->state.compact && a->state.ascii &&
                                              a->wstr ==
                                                  nullptr) return static_cast<Py_ssize_t>(sizeof(PyASCIIObject)) +
      a->length + 1;
  _Py_COMP_DIAG_POP
#else
  (void)s;
#endif
      return -1;
}

// The gc's lists of tracked objects (3.11: the three generations and the permanent one), read in place so no
// list of a million references has to be built. The caller must hold the GIL and, until it is done iterating,
// must not run Python code, allocate Python objects or change what the gc tracks (a list could be relinked).
struct GcLinks {
  std::uintptr_t next;  // the next header; the lowest bits are never flags in _gc_next outside a collection
  std::uintptr_t prev;
};
// Writes up to `max` list heads into `heads` and returns how many, or -1 when this build cannot read them.
// The permanent generation (gc.freeze()) comes last.
int gc_list_heads(const GcLinks** heads, int max);
// A collection is under way (we were called from a finalizer or a gc callback): the lists are not in their
// resting state, and the prev links hold the collector's counts. True when this build cannot tell.
bool gc_collecting();

// Outside a collection, a tracked object's prev link is the header before it in its list, with the
// "finalized" flag in bit 0; bit 1 is used only during a collection. So while we hold the GIL and run no Python
// code, a walk may keep an index of its own in the prev links (marked with kGcScratch) and put the links back
// afterwards: from the next links, which are never touched, with rebuild_gc_prev_links() (a pointer chase), or
// faster from the objects in list order, as the walk that gathered them knows them.
inline constexpr std::uintptr_t kGcFinalized = 1;
inline constexpr std::uintptr_t kGcScratch = 2;
void rebuild_gc_prev_links();

// The faster way: puts back the prev links of objs[first, last), where `objs` holds every tracked object in list
// order (list h of `heads` from objs[starts[h]] on), each link keeping its "finalized" flag. Stores whose
// addresses are all known ahead, so two threads may each take a range.
template <class Objs>
void restore_gc_prev_links(const GcLinks* const* heads, int nheads, const std::size_t* starts, const Objs& objs,
                           std::size_t first, std::size_t last) {
  auto links = [](PyObject* o) { return reinterpret_cast<GcLinks*>(o) - 1; };
  for (int h = 0; h < nheads; ++h) {
    const std::size_t begin = first > starts[h] ? first : starts[h];
    const std::size_t list_end = h + 1 < nheads ? starts[h + 1] : objs.size();
    const std::size_t end = last < list_end ? last : list_end;
    if (begin >= end) continue;
    std::uintptr_t prev = begin == starts[h] ? reinterpret_cast<std::uintptr_t>(heads[h])
                                             : reinterpret_cast<std::uintptr_t>(links(objs[begin - 1]));
    for (std::size_t i = begin; i < end; ++i) {
      if (i + 32 < end) __builtin_prefetch(links(objs[i + 32]), 1);
      GcLinks* g = links(objs[i]);
      g->prev = prev | (g->prev & kGcFinalized);
      prev = reinterpret_cast<std::uintptr_t>(g);
    }
  }
}

// fn(PyObject*) for every gc-tracked object; false (and no call) when the lists cannot be read: then use
// gc.get_objects().
template <class Fn>
bool for_each_gc_object(Fn&& fn) {
  const GcLinks* heads[8];
  const int n = gc_list_heads(heads, 8);
  if (n < 0) return false;
  for (int h = 0; h < n; ++h) {
    const GcLinks* head = heads[h];
    for (auto* g = reinterpret_cast<const GcLinks*>(head->next); g != head;
         g = reinterpret_cast<const GcLinks*>(g->next))
      fn(reinterpret_cast<PyObject*>(const_cast<GcLinks*>(g + 1)));
  }
  return true;
}

// fn(key, value) for every item of a dict, in iteration order, with no call per item where the table is a
// combined one (a split table's order is kept apart from its entries: PyDict_Next then).
template <class Fn>
void for_each_dict_item(PyObject* dict, Fn&& fn) {
  DictTable t;
  if (dict_table(dict, &t) && t.values == nullptr) {
    for (Py_ssize_t i = 0; i < t.count; ++i) {
      const char* entry = t.entries + i * t.stride;
      if (PyObject* v = *reinterpret_cast<PyObject* const*>(entry + t.value_offset))
        fn(*reinterpret_cast<PyObject* const*>(entry + t.key_offset), v);
    }
    return;
  }
  Py_ssize_t pos = 0;
  PyObject *k, *v;
  while (PyDict_Next(dict, &pos, &k, &v)) fn(k, v);
}

// fn(PyObject*) for every object of the gc list at `head`, in list order. The list is a chain of dependent cache
// misses, so it is followed kAhead objects ahead of fn, one step per object, each step's header prefetched a step
// before it is read: the miss overlaps fn's work on an object instead of stalling it. ahead(o) is called kAhead / 2
// objects before fn(o), once o's header has arrived, to prefetch what fn will read beyond it. The same rules as
// for_each_gc_object: no Python code, no allocation of Python objects, no change of tracking meanwhile.
template <class Fn, class Ahead>
void for_each_in_gc_list(const GcLinks* head, Fn&& fn, Ahead&& ahead) {
  constexpr unsigned kAhead = 8, kQueue = 16;  // kQueue a power of two, more than kAhead
  PyObject* queue[kQueue];
  unsigned q_head = 0, q_count = 0;
  const GcLinks* chase = head;
  bool chased = false;
  auto step = [&] {
    if (chased) return;
    auto* g = reinterpret_cast<const GcLinks*>(chase->next);
    if (g == head) {
      chased = true;
      return;
    }
    __builtin_prefetch(g);
    __builtin_prefetch(reinterpret_cast<const char*>(g + 1) + offsetof(PyObject, ob_type));  // may be the next line
    queue[(q_head + q_count) & (kQueue - 1)] = reinterpret_cast<PyObject*>(const_cast<GcLinks*>(g + 1));
    ++q_count;
    chase = g;
  };
  while (q_count < kAhead && !chased) step();
  while (q_count > 0) {
    PyObject* o = queue[q_head];
    q_head = (q_head + 1) & (kQueue - 1);
    --q_count;
    step();
    if (q_count > kAhead / 2) ahead(queue[(q_head + kAhead / 2) & (kQueue - 1)]);
    fn(o);
  }
}

// The memory a walk of an object reads beyond its header, for ahead(): a list's items, 3.11 instance values (the
// values pointer is 4 words before the object), a dict's entries.
inline void prefetch_body(PyObject* o) {
  PyTypeObject* t = Py_TYPE(o);
  if (t == &PyList_Type) {
    __builtin_prefetch(reinterpret_cast<PyListObject*>(o)->ob_item);
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
  } else if (t->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
    if (void* values = *(reinterpret_cast<void**>(o) - 4)) __builtin_prefetch(values);
#endif
  } else if (t == &PyDict_Type) {
    // the keys' header, and the line after it, where a small table's first entries end up half the time
    const char* keys = reinterpret_cast<const char*>(reinterpret_cast<PyDictObject*>(o)->ma_keys);
    __builtin_prefetch(keys);
    __builtin_prefetch(keys + 64);
  }
}

template <class Fn>
void for_each_cached_key(PyTypeObject* type, Fn&& fn) {
  Py_ssize_t n = cached_keys_count(type);
  for (Py_ssize_t i = 0; i < n; ++i)
    if (PyObject* k = cached_key(type, i)) fn(k);
}

}  // namespace refgraph::capture
