// The only file that reads CPython's private layouts (3.11: Include/internal). Everything here is a read of a
// field; nothing allocates, nothing calls back into Python.
#include <Python.h>

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#define REFGRAPH_PY311 1
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#include <internal/pycore_code.h>
#include <internal/pycore_dict.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_gc.h>
// The interpreter state's headers use C11 <stdatomic.h>, which C++ lacks; GCC's builtins give the same layout.
#undef HAVE_STD_ATOMIC
#include <internal/pycore_interp.h>
#include <internal/pycore_pystate.h>
#endif

#include "internals.hpp"

namespace refgraph::capture {

#ifdef REFGRAPH_PY311

bool have_internals() { return true; }

static_assert(sizeof(GcLinks) == sizeof(PyGC_Head), "GcLinks mirrors PyGC_Head");

int gc_list_heads(const GcLinks** heads, int max) {
  struct _gc_runtime_state* gc = &_PyInterpreterState_GET()->gc;
  int n = 0;
  for (int i = 0; i < NUM_GENERATIONS && n < max; ++i)
    heads[n++] = reinterpret_cast<const GcLinks*>(&gc->generations[i].head);
  if (n < max) heads[n++] = reinterpret_cast<const GcLinks*>(&gc->permanent_generation.head);
  return n;
}

bool gc_collecting() { return _PyInterpreterState_GET()->gc.collecting != 0; }

void rebuild_gc_prev_links() {
  const GcLinks* heads[8];
  const int n = gc_list_heads(heads, 8);
  for (int h = 0; h < n; ++h) {
    const GcLinks* prev = heads[h];
    for (auto* g = const_cast<GcLinks*>(reinterpret_cast<const GcLinks*>(prev->next)); g != heads[h];
         g = const_cast<GcLinks*>(reinterpret_cast<const GcLinks*>(g->next))) {
      g->prev = reinterpret_cast<std::uintptr_t>(prev) | (g->prev & kGcFinalized);
      prev = g;
    }
  }
}

bool frame_view(PyObject* frame, FrameView* out) {
  auto* f = reinterpret_cast<PyFrameObject*>(frame);
  _PyInterpreterFrame* fr = f->f_frame;
  if (fr == nullptr || fr->f_code == nullptr) return false;
  out->code = reinterpret_cast<PyObject*>(fr->f_code);
  out->func = reinterpret_cast<PyObject*>(fr->f_func);
  out->locals = fr->f_locals;
  out->globals = fr->f_globals;
  out->builtins = fr->f_builtins;
  out->back = reinterpret_cast<PyObject*>(f->f_back);
  out->trace = f->f_trace;
  out->localsplus = fr->localsplus;
  out->nlocalsplus = fr->f_code->co_nlocalsplus;
  out->stacktop = fr->stacktop;
  out->owner = fr->owner == FRAME_OWNED_BY_FRAME_OBJECT ? FrameView::FrameObject
               : fr->owner == FRAME_OWNED_BY_GENERATOR  ? FrameView::Generator
                                                        : FrameView::Thread;
  return true;
}

bool managed_attrs(PyObject* o, ManagedAttrs* out) {
  PyTypeObject* t = Py_TYPE(o);
  if (!(t->tp_flags & Py_TPFLAGS_MANAGED_DICT)) return false;
  PyDictValues* values = *(reinterpret_cast<PyDictValues**>(o) - 4);
  out->dict = *(reinterpret_cast<PyObject**>(o) - 3);
  out->values = nullptr;
  out->count = 0;
  auto* keys = reinterpret_cast<PyHeapTypeObject*>(t)->ht_cached_keys;
  if (values != nullptr && keys != nullptr) {
    out->values = values->values;
    out->count = keys->dk_nentries;
    out->keys = keys;
  }
  return true;
}

PyObject* managed_key(const ManagedAttrs& a, Py_ssize_t i) {
  auto* keys = static_cast<PyDictKeysObject*>(const_cast<void*>(a.keys));
  return DK_UNICODE_ENTRIES(keys)[i].me_key;
}

bool dict_keys_are_str(PyObject* dict) { return DK_IS_UNICODE(reinterpret_cast<PyDictObject*>(dict)->ma_keys); }

bool dict_table(PyObject* dict, DictTable* out) {
  auto* d = reinterpret_cast<PyDictObject*>(dict);
  PyDictKeysObject* keys = d->ma_keys;
  out->count = keys->dk_nentries;
  out->values = d->ma_values != nullptr ? d->ma_values->values : nullptr;
  if (DK_IS_UNICODE(keys)) {
    out->entries = reinterpret_cast<const char*>(DK_UNICODE_ENTRIES(keys));
    out->stride = sizeof(PyDictUnicodeEntry);
    out->key_offset = offsetof(PyDictUnicodeEntry, me_key);
    out->value_offset = offsetof(PyDictUnicodeEntry, me_value);
  } else {
    out->entries = reinterpret_cast<const char*>(DK_ENTRIES(keys));
    out->stride = sizeof(PyDictKeyEntry);
    out->key_offset = offsetof(PyDictKeyEntry, me_key);
    out->value_offset = offsetof(PyDictKeyEntry, me_value);
  }
  return true;
}

Py_ssize_t cached_keys_count(PyTypeObject* type) {
  if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE)) return 0;
  auto* keys = reinterpret_cast<PyHeapTypeObject*>(type)->ht_cached_keys;
  return keys == nullptr ? 0 : keys->dk_nentries;
}

PyObject* cached_key(PyTypeObject* type, Py_ssize_t i) {
  auto* keys = reinterpret_cast<PyHeapTypeObject*>(type)->ht_cached_keys;
  return DK_UNICODE_ENTRIES(keys)[i].me_key;
}

static Py_ssize_t keys_size(PyDictKeysObject* keys) {
  std::size_t es = keys->dk_kind == DICT_KEYS_GENERAL ? sizeof(PyDictKeyEntry) : sizeof(PyDictUnicodeEntry);
  std::size_t dk_size = std::size_t(1) << keys->dk_log2_size;
  return static_cast<Py_ssize_t>(sizeof(PyDictKeysObject) + (std::size_t(1) << keys->dk_log2_index_bytes) +
                                 ((dk_size << 1) / 3) * es);
}

static Py_ssize_t iframe_size(PyCodeObject* code) {
  return static_cast<Py_ssize_t>(offsetof(_PyInterpreterFrame, localsplus) +
                                 (code->co_nlocalsplus + code->co_stacksize) * sizeof(PyObject*));
}

Py_ssize_t frame_sizeof(PyObject* frame) {
  auto* f = reinterpret_cast<PyFrameObject*>(frame);
  if (f->f_frame == nullptr || f->f_frame->f_code == nullptr) return -1;
  return static_cast<Py_ssize_t>(offsetof(PyFrameObject, _f_frame_data)) + iframe_size(f->f_frame->f_code);
}

Py_ssize_t gen_sizeof(PyObject* gen) {
  auto* g = reinterpret_cast<PyGenObject*>(gen);
  if (g->gi_code == nullptr) return -1;
  return static_cast<Py_ssize_t>(offsetof(PyGenObject, gi_iframe)) + iframe_size(g->gi_code);
}

namespace {
struct CodeExtra {  // _PyCodeObjectExtra, private to Objects/codeobject.c
  Py_ssize_t ce_size;
  void* ce_extras[1];
};
}  // namespace

Py_ssize_t code_sizeof(PyObject* code) {
  auto* co = reinterpret_cast<PyCodeObject*>(code);
  PyTypeObject* t = Py_TYPE(code);
  std::size_t raw =
      static_cast<std::size_t>(t->tp_basicsize) + Py_SIZE(code) * static_cast<std::size_t>(t->tp_itemsize);
  Py_ssize_t res = static_cast<Py_ssize_t>((raw + sizeof(void*) - 1) & ~(sizeof(void*) - 1));
  if (auto* extra = static_cast<CodeExtra*>(co->co_extra))
    res += static_cast<Py_ssize_t>(sizeof(CodeExtra) + (extra->ce_size - 1) * sizeof(void*));
  return res;
}

Py_ssize_t type_sizeof(PyObject* type) {
  auto* t = reinterpret_cast<PyTypeObject*>(type);
  if (!(t->tp_flags & Py_TPFLAGS_HEAPTYPE)) return sizeof(PyTypeObject);
  auto* et = reinterpret_cast<PyHeapTypeObject*>(t);
  Py_ssize_t size = sizeof(PyHeapTypeObject);
  if (et->ht_cached_keys) size += keys_size(et->ht_cached_keys);
  return size;
}

Py_ssize_t str_sizeof(PyObject* s) {
  // unicode__sizeof__ in 3.11, with the wstr and utf8 caches counted where they own memory.
  auto* ascii = reinterpret_cast<PyASCIIObject*>(s);
  auto* compact = reinterpret_cast<PyCompactUnicodeObject*>(s);
  Py_ssize_t size;
  const bool ready = ascii->state.ready;
  const void* data = nullptr;
  if (ready && ascii->state.compact && ascii->state.ascii) {
    size = sizeof(PyASCIIObject) + ascii->length + 1;
    data = ascii + 1;
  } else if (ready && ascii->state.compact) {
    size = sizeof(PyCompactUnicodeObject) + (ascii->length + 1) * ascii->state.kind;
    data = compact + 1;
  } else {
    size = sizeof(PyUnicodeObject);
    data = reinterpret_cast<PyUnicodeObject*>(s)->data.any;
    if (data != nullptr) size += (ascii->length + 1) * ascii->state.kind;
  }
  _Py_COMP_DIAG_PUSH _Py_COMP_DIAG_IGNORE_DEPR_DECLS if (ascii->wstr != nullptr &&
                                                         (!ready || static_cast<const void*>(ascii->wstr) != data))
      size += (compact->wstr_length + 1) * sizeof(wchar_t);
  _Py_COMP_DIAG_POP if (!(ready && ascii->state.compact && ascii->state.ascii) && compact->utf8 != nullptr &&
                        static_cast<const void*>(compact->utf8) != data) size += compact->utf8_length + 1;
  return size;
}

Py_ssize_t pre_header_size(PyTypeObject* type) {
  // sizeof(PyGC_Head): two words (pycore_gc.h does not compile as C++).
  return (PyType_IS_GC(type) ? static_cast<Py_ssize_t>(2 * sizeof(void*)) : 0) +
         ((type->tp_flags & Py_TPFLAGS_MANAGED_DICT) ? static_cast<Py_ssize_t>(2 * sizeof(PyObject*)) : 0);
}

#else  // another CPython: no private layouts; the capture falls back to tp_traverse and basic sizes

bool have_internals() { return false; }
int gc_list_heads(const GcLinks**, int) { return -1; }
bool gc_collecting() { return true; }
void rebuild_gc_prev_links() {}
bool frame_view(PyObject*, FrameView*) { return false; }
bool managed_attrs(PyObject*, ManagedAttrs*) { return false; }
PyObject* managed_key(const ManagedAttrs&, Py_ssize_t) { return nullptr; }
bool dict_keys_are_str(PyObject*) { return false; }
bool dict_table(PyObject*, DictTable*) { return false; }
Py_ssize_t cached_keys_count(PyTypeObject*) { return 0; }
PyObject* cached_key(PyTypeObject*, Py_ssize_t) { return nullptr; }
Py_ssize_t frame_sizeof(PyObject*) { return -1; }
Py_ssize_t gen_sizeof(PyObject*) { return -1; }
Py_ssize_t code_sizeof(PyObject*) { return -1; }
Py_ssize_t type_sizeof(PyObject*) { return -1; }
Py_ssize_t str_sizeof(PyObject*) { return -1; }
Py_ssize_t pre_header_size(PyTypeObject* type) {
  return PyType_IS_GC(type) ? static_cast<Py_ssize_t>(2 * sizeof(PyObject*)) : 0;
}

#endif

}  // namespace refgraph::capture
