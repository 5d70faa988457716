// The one set of rules for the references an object holds, as every walk of the live heap follows them: the
// capture (capture/walk.cpp), the counter (counter.cpp) and the local scan (local_graph.cpp) each pass a sink.
//
//   struct MySink {
//     static constexpr bool owned_keys() { return true; }  // see below
//     const ThreadSeeds& threads() const;
//     void ref(PyObject* target, Via via, std::uint8_t flags, bool counted);
//   };
//   for_each_referent(o, facts, sink);  // only for objects where walks(o, facts)
//
// For the types we know (list, tuple, dict, set, cell, function, method, type, frame, code, range, module def,
// weakref, and instances of class statements) the fields tp_traverse would visit are read in C, in its order, and
// say what they are (`via`, for labels); anything else goes through tp_traverse. Strong references tp_traverse
// omits because they cannot form cycles are reported too (a class's __name__/__qualname__/__slots__ and cached
// keys, the locals of a running frame, code objects' fields, and where the sink asks, owned_keys(), the str keys of
// a dict), so that every reference the heap holds is counted. `counted` is false for a borrowed pointer (a frame's
// f_globals, a weakref's referent): drawn, not counted when judging what is held from C. `flags` are edge flags
// (kEdgeWeak, kEdgeDeferred). Runs no Python code. An exception thrown by the sink inside tp_traverse is rethrown
// after it.
#pragma once

#include <Python.h>

#include <cstdint>
#include <exception>
#include <utility>

#include "internals.hpp"
#include "refgraph/graph.hpp"
#include "seeds.hpp"
#include "type_facts.hpp"

namespace refgraph::capture {

// The named fields an edge can be labelled with (kFieldNames spells them).
enum class Field : std::uint8_t {
  dict,
  cls,
  mro,
  bases,
  base,
  subclasses,
  name,
  qualname,
  slots,
  module,
  code,
  globals,
  builtins,
  defaults,
  kwdefaults,
  doc,
  closure,
  annotations,
  self,
  func,
  cell,
  f_back,
  f_code,
  f_func,
  f_locals,
  f_globals,
  f_builtins,
  f_trace,
  callback,
  referent,
  co_consts,
  co_names,
  co_filename,
  co_name,
  co_qualname,
  co_exceptiontable,
  co_localsplusnames,
  co_localspluskinds,
  co_linetable,
  start,
  stop,
  step,
  m_copy,
  count
};
inline constexpr const char* kFieldNames[] = {"__dict__",
                                              "__class__",
                                              "__mro__",
                                              "__bases__",
                                              "__base__",
                                              "__subclasses__",
                                              "__name__",
                                              "__qualname__",
                                              "__slots__",
                                              "__module__",
                                              "__code__",
                                              "__globals__",
                                              "__builtins__",
                                              "__defaults__",
                                              "__kwdefaults__",
                                              "__doc__",
                                              "__closure__",
                                              "__annotations__",
                                              "__self__",
                                              "__func__",
                                              "cell_contents",
                                              "f_back",
                                              "f_code",
                                              "f_func",
                                              "f_locals",
                                              "f_globals",
                                              "f_builtins",
                                              "f_trace",
                                              "__callback__",
                                              "referent",
                                              "co_consts",
                                              "co_names",
                                              "co_filename",
                                              "co_name",
                                              "co_qualname",
                                              "co_exceptiontable",
                                              "co_localsplusnames",
                                              "co_localspluskinds",
                                              "co_linetable",
                                              "start",
                                              "stop",
                                              "step",
                                              "m_copy"};
static_assert(sizeof(kFieldNames) / sizeof(kFieldNames[0]) == static_cast<std::size_t>(Field::count));

// What a reference is: nothing known, a named field, a sequence index, a dict's value under `key`, an instance
// attribute named `key`, the facts' __slots__ member n, or local n of code object `key`.
struct Via {
  enum Kind : std::uint8_t { None, Named, Index, Key, Attr, Slot, Local };
  Kind kind = None;
  std::uint32_t n = 0;
  PyObject* key = nullptr;
  static Via named(Field f) { return {Named, static_cast<std::uint32_t>(f), nullptr}; }
};

namespace detail {

// tp_traverse's callback, with up to two referents it is known to visit that get their field's name. C code that
// an exception must not unwind through: a failure stops the traversal and is rethrown once it has returned.
template <class Sink>
struct Traversal {
  Sink& sink;
  std::uint8_t flags;
  PyObject* cand[2] = {nullptr, nullptr};
  Field field[2] = {};
  std::exception_ptr error;

  static int visit(PyObject* o, void* arg) {
    auto* t = static_cast<Traversal*>(arg);
    if (o == nullptr) return 0;
    try {
      for (int i = 0; i < 2; ++i) {
        if (t->cand[i] == o) {
          t->cand[i] = nullptr;  // each labelled field is used once
          t->sink.ref(o, Via::named(t->field[i]), t->flags, true);
          return 0;
        }
      }
      t->sink.ref(o, Via{}, t->flags, true);
    } catch (...) {
      t->error = std::current_exception();
      return 1;
    }
    return 0;
  }
};

template <class Sink>
void traverse(PyObject* o, traverseproc tp, Sink& sink, std::uint8_t flags, PyObject* c0 = nullptr,
              Field f0 = Field::dict, PyObject* c1 = nullptr, Field f1 = Field::dict) {
  if (tp == nullptr) return;
  Traversal<Sink> t{sink, flags, {c0, c1}, {f0, f1}, nullptr};
  tp(o, &Traversal<Sink>::visit, &t);
  if (t.error) std::rethrow_exception(t.error);
}

template <class Sink>
__attribute__((always_inline)) inline void ref(Sink& sink, PyObject* t, Via via, std::uint8_t flags = 0,
                                               bool counted = true) {
  if (t != nullptr) sink.ref(t, via, flags, counted);
}
template <class Sink>
__attribute__((always_inline)) inline void ref(Sink& sink, PyObject* t, Field f, std::uint8_t flags = 0,
                                               bool counted = true) {
  if (t != nullptr) sink.ref(t, Via::named(f), flags, counted);
}

template <class Sink>
void instance_referents(PyObject* o, const TypeFacts& f, Sink& sink) {
  for (std::uint32_t k = 0; k < f.slots.size(); ++k)
    ref(sink, *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(o) + f.slots[k].first), Via{Via::Slot, k, nullptr});
  PyObject* dict = nullptr;
  if (f.managed_dict) {
    ManagedAttrs a;
    if (managed_attrs(o, &a)) {
      for (Py_ssize_t k = 0; k < a.count; ++k)
        if (PyObject* v = a.values[k]) sink.ref(v, Via{Via::Attr, 0, managed_key(a, k)}, 0, true);
      dict = a.dict;
    }
  } else if (f.visit_dict_ptr) {
    if (PyObject** slot = dict_slot(o)) dict = *slot;
  }
  if (f.visit_dict_ptr) ref(sink, dict, Field::dict);
  // Deferred: that instances refer to their class rarely explains why something hanging off the class is alive,
  // and a chain search would otherwise expand every instance of a class before the module that holds it.
  if (f.visit_type) ref(sink, reinterpret_cast<PyObject*>(Py_TYPE(o)), Field::cls, kEdgeDeferred);
}

template <class Sink>
void dict_referents(PyObject* o, Sink& sink) {
  // tp_traverse reports the keys of a dict only when some key is not a str; a combined table owns its keys either
  // way (reported where the sink asks: owned_keys()); a split table's keys belong to the class's shared keys.
  const bool split = reinterpret_cast<PyDictObject*>(o)->ma_values != nullptr;
  const bool with_keys = Sink::owned_keys() ? !split || !dict_keys_are_str(o) : !dict_keys_are_str(o);
  for_each_dict_item(o, [&](PyObject* k, PyObject* v) {
    sink.ref(v, Via{Via::Key, 0, k}, 0, true);
    if (with_keys) sink.ref(k, Via{}, 0, true);
  });
}

template <class Sink>
void type_referents(PyObject* o, Sink& sink) {
  auto* t = reinterpret_cast<PyTypeObject*>(o);
  if (t->tp_flags & Py_TPFLAGS_HEAPTYPE) {  // type_traverse
    ref(sink, t->tp_dict, Field::dict);
    ref(sink, t->tp_cache, Via{});
    ref(sink, t->tp_mro, Field::mro, kEdgeDeferred);
    ref(sink, t->tp_bases, Field::bases, kEdgeDeferred);
    ref(sink, reinterpret_cast<PyObject*>(t->tp_base), Field::base, kEdgeDeferred);
    auto* ht = reinterpret_cast<PyHeapTypeObject*>(t);
    ref(sink, ht->ht_module, Via{});
    // Owned, but left out of type_traverse because they cannot form cycles.
    ref(sink, ht->ht_name, Field::name);
    ref(sink, ht->ht_qualname, Field::qualname);
    ref(sink, ht->ht_slots, Field::slots);
    for_each_cached_key(t, [&](PyObject* key) { sink.ref(key, Via{}, 0, true); });
  } else {  // a static type is not gc-tracked and has no traverse, but it owns these
    ref(sink, t->tp_dict, Field::dict);
    ref(sink, t->tp_mro, Field::mro, kEdgeDeferred);
    ref(sink, t->tp_bases, Field::bases, kEdgeDeferred);
    ref(sink, reinterpret_cast<PyObject*>(t->tp_base), Field::base, kEdgeDeferred, false);
  }
#if PY_VERSION_HEX < 0x030C0000
  ref(sink, t->tp_subclasses, Field::subclasses, kEdgeDeferred);
#endif
}

}  // namespace detail

// A frame's references (frame_traverse's, plus what an executing frame's interpreter frame owns).
template <class Sink>
void frame_referents(PyObject* o, Sink& sink) {
  using detail::ref;
  FrameView fv;
  if (!frame_view(o, &fv)) {
    detail::traverse(o, Py_TYPE(o)->tp_traverse, sink, 0);
    return;
  }
  const std::uint8_t fl = sink.threads().is_current(o) ? kEdgeDeferred : 0;  // the caller's own frames
  auto* code = reinterpret_cast<PyCodeObject*>(fv.code);
  auto local = [&](int k) { return Via{Via::Local, static_cast<std::uint32_t>(k), fv.code}; };
  ref(sink, fv.back, Field::f_back, fl);  // frame_traverse: f_back, f_trace, then the frame data if it owns it
  ref(sink, fv.trace, Field::f_trace, fl);
  if (fv.owner == FrameView::FrameObject) {
    ref(sink, fv.locals, Field::f_locals, fl);
    ref(sink, fv.func, Field::f_func, fl);
    ref(sink, fv.code, Field::f_code, fl);
    for (int k = 0; k < fv.stacktop; ++k) ref(sink, fv.localsplus[k], local(k), fl);
  } else {
    // Executing (or a generator's): the gc does not see the frame's data; the interpreter frame owns it.
    const bool generator = fv.owner == FrameView::Generator;
    if (!generator) {  // a generator's frame data is the generator's to traverse
      ref(sink, fv.locals, Field::f_locals, fl);
      ref(sink, fv.func, Field::f_func, fl);
      ref(sink, fv.code, Field::f_code, fl);
    }
    if (!generator || fv.stacktop < 0) {
      for (int k = 0; k < fv.nlocalsplus; ++k) ref(sink, fv.localsplus[k], local(k), fl);
      if (!generator && fv.stacktop > fv.nlocalsplus && fv.stacktop <= fv.nlocalsplus + code->co_stacksize)
        for (int k = fv.nlocalsplus; k < fv.stacktop; ++k) ref(sink, fv.localsplus[k], Via{}, fl);
    }
    if (fv.back == nullptr)  // a running frame's f_back is computed, not stored: drawn, not counted
      ref(sink, sink.threads().caller_of(o), Field::f_back, fl, false);
  }
  ref(sink, fv.globals, Field::f_globals, kEdgeDeferred, false);
  ref(sink, fv.builtins, Field::f_builtins, kEdgeDeferred, false);
}

template <class Sink>
void for_each_referent(PyObject* o, const TypeFacts& f, Sink& sink) {
  using detail::ref;
  if (f.instance) detail::instance_referents(o, f, sink);
  switch (f.layer) {
    case Layer::None: return;
    case Layer::Generic: detail::traverse(o, f.base_traverse, sink, 0); return;
    case Layer::List: {
      auto* l = reinterpret_cast<PyListObject*>(o);
      const Py_ssize_t n = Py_SIZE(o);
      for (Py_ssize_t k = 0; k < n; ++k) {
        if (k + 8 < n && l->ob_item[k + 8]) __builtin_prefetch(l->ob_item[k + 8]);
        ref(sink, l->ob_item[k], Via{Via::Index, static_cast<std::uint32_t>(k), nullptr});
      }
      return;
    }
    case Layer::Tuple: {
      const Py_ssize_t n = Py_SIZE(o);
      for (Py_ssize_t k = 0; k < n; ++k)
        ref(sink, PyTuple_GET_ITEM(o, k), Via{Via::Index, static_cast<std::uint32_t>(k), nullptr});
      return;
    }
    case Layer::Dict: detail::dict_referents(o, sink); return;
    case Layer::Set: {
      Py_ssize_t pos = 0;
      PyObject* key;
      Py_hash_t hash;
      while (_PySet_NextEntry(o, &pos, &key, &hash)) sink.ref(key, Via{}, 0, true);
      return;
    }
    case Layer::Cell: ref(sink, PyCell_GET(o), Field::cell); return;
    case Layer::Function: {
      auto* fn = reinterpret_cast<PyFunctionObject*>(o);
      ref(sink, fn->func_code, Field::code);
      ref(sink, fn->func_globals, Field::globals, kEdgeDeferred);
      ref(sink, fn->func_builtins, Field::builtins, kEdgeDeferred);
      ref(sink, fn->func_module, Field::module);
      ref(sink, fn->func_defaults, Field::defaults);
      ref(sink, fn->func_kwdefaults, Field::kwdefaults);
      ref(sink, fn->func_doc, Field::doc);
      ref(sink, fn->func_name, Field::name);
      ref(sink, fn->func_dict, Field::dict);
      ref(sink, fn->func_closure, Field::closure);
      ref(sink, fn->func_annotations, Field::annotations);
      ref(sink, fn->func_qualname, Field::qualname);
      return;
    }
    case Layer::Method: {
      auto* m = reinterpret_cast<PyMethodObject*>(o);
      ref(sink, m->im_func, Field::func);
      ref(sink, m->im_self, Field::self);
      return;
    }
    case Layer::Module: detail::traverse(o, f.base_traverse, sink, 0, PyModule_GetDict(o), Field::dict); return;
    case Layer::CFunction: {
      auto* cf = reinterpret_cast<PyCFunctionObject*>(o);
      detail::traverse(o, f.base_traverse, sink, 0, cf->m_self, Field::self, cf->m_module, Field::module);
      return;
    }
    case Layer::Type: detail::type_referents(o, sink); return;
    case Layer::Frame: frame_referents(o, sink); return;
    case Layer::Code: {
      auto* co = reinterpret_cast<PyCodeObject*>(o);
      ref(sink, co->co_consts, Field::co_consts);
      ref(sink, co->co_names, Field::co_names);
      ref(sink, co->co_filename, Field::co_filename);
      ref(sink, co->co_name, Field::co_name);
#if PY_VERSION_HEX >= 0x030B0000
      ref(sink, co->co_exceptiontable, Field::co_exceptiontable);
      ref(sink, co->co_localsplusnames, Field::co_localsplusnames);
      ref(sink, co->co_localspluskinds, Field::co_localspluskinds);
      ref(sink, co->co_qualname, Field::co_qualname);
      ref(sink, co->co_linetable, Field::co_linetable);
      ref(sink, co->_co_code, Via{});
#endif
      return;
    }
    case Layer::Range: {
      auto* r = reinterpret_cast<RangeObject*>(o);
      ref(sink, r->start, Field::start);
      ref(sink, r->stop, Field::stop);
      ref(sink, r->step, Field::step);
      ref(sink, r->length, Via{});
      return;
    }
    case Layer::ModuleDef: ref(sink, reinterpret_cast<PyModuleDef*>(o)->m_base.m_copy, Field::m_copy); return;
    case Layer::Weakref: {
      auto* r = reinterpret_cast<PyWeakReference*>(o);
      ref(sink, r->wr_callback, Field::callback);
      if (r->wr_object != nullptr && r->wr_object != Py_None)
        sink.ref(r->wr_object, Via::named(Field::referent), kEdgeWeak, false);
      return;
    }
  }
}

// fn(target, counted) for each reference a frame holds (with no labels): for a walk that only counts what the
// tool's own frames hold, so as not to take it for references from C.
template <class Fn>
void for_each_frame_ref(PyObject* frame, const ThreadSeeds& seeds, Fn&& fn) {
  struct Sink {
    const ThreadSeeds& seeds;
    Fn& fn;
    static constexpr bool owned_keys() { return true; }
    const ThreadSeeds& threads() const { return seeds; }
    void ref(PyObject* t, Via, std::uint8_t, bool counted) { fn(t, counted); }
  } sink{seeds, fn};
  if (Py_TYPE(frame) == &PyFrame_Type && have_internals())
    frame_referents(frame, sink);
  else if (PyObject_IS_GC(frame))
    detail::traverse(frame, Py_TYPE(frame)->tp_traverse, sink, 0);
}

}  // namespace refgraph::capture
