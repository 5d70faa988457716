// A walk's index of gc objects kept in their own gc headers, and the guard that puts the headers back.
//
// Outside a collection, a tracked object's prev link is the header before it in its gc list, with the "finalized"
// flag in bit 0 (capture/internals.hpp). While a walk holds the GIL and runs no Python code, it may keep a 32-bit
// number of its own there instead (marked kGcScratch): one read of a line it fetches anyway for the reference
// count, instead of a lookup in an address set. The links must be back before anything else runs: the guard puts
// them back when the walk is done (fast, from the objects in list order) or, whatever happens, when it goes out of
// scope (following the next links, which are never touched). Every version-specific detail of the header lives here.
//
//   GcHeaderIndex index;
//   if (GcHeaderIndex::at_rest(false)) index.activate();
//   if (index.active() && GcHeaderIndex::has_header(o)) { if (index.get(o) == kNone) index.set(o, n); }
//   index.restore_in_order(heads, nheads, starts, objs);   // or nothing: the destructor restores
#pragma once

#include <Python.h>

#include <cstddef>
#include <cstdint>

#include "column.hpp"
#include "internals.hpp"
#include "parallel.hpp"

namespace refgraph::capture {

class GcHeaderIndex {
 public:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

  GcHeaderIndex() = default;
  GcHeaderIndex(const GcHeaderIndex&) = delete;
  GcHeaderIndex& operator=(const GcHeaderIndex&) = delete;
  ~GcHeaderIndex() { restore(); }

  // The headers can be used: this build knows their layout and no collection is under way. `unfrozen`: also nothing
  // frozen by gc.freeze(), whose objects' pages a forked server's children share and the walk should not copy.
  static bool at_rest(bool unfrozen) {
    const GcLinks* heads[8];
    const int n = gc_list_heads(heads, 8);
    if (n != 4 || gc_collecting()) return false;
    return !unfrozen || heads[3]->next == reinterpret_cast<std::uintptr_t>(heads[3]);
  }
  void activate() { active_ = true; }
  bool active() const { return active_; }

  // The object has a gc header (its type is a gc type, and tp_is_gc, if any, says this one is).
  static bool has_header(PyObject* o) {
    PyTypeObject* t = Py_TYPE(o);
    return PyType_IS_GC(t) && (t->tp_is_gc == nullptr || t->tp_is_gc(o));
  }
  // PyObject_GC_IsTracked without the call, for an object with a gc header.
  static bool tracked(PyObject* o) {
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    return links(o)->next != 0;
#else
    return PyObject_GC_IsTracked(o);
#endif
  }
  static void prefetch(PyObject* o) { __builtin_prefetch(links(o)); }

  // The number kept in o's header, or kNone (only while active, for an object with a header).
  static std::uint32_t get(PyObject* o) {
    const std::uintptr_t prev = links(o)->prev;
    return (prev & kGcScratch) ? static_cast<std::uint32_t>(prev >> 32) : kNone;
  }
  void set(PyObject* o, std::uint32_t n) {
    GcLinks* g = links(o);
    if (g->next == 0) untracked_.push_back(o);  // in no list: restored from here
    g->prev = (std::uintptr_t(n) << 32) | kGcScratch | (g->prev & kGcFinalized);
  }

  // Puts the headers back from `objs`, every tracked object in list order (list h of `heads` from objs[starts[h]]
  // on): in two halves, the second on another thread (plain stores to distinct headers, no Python call; this
  // thread holds the GIL throughout).
  template <class Objs>
  void restore_in_order(const GcLinks* const* heads, int nheads, const std::size_t* starts, const Objs& objs) {
    if (!active_) return;
    const std::size_t n = objs.size(), mid = n / 2;
    in_parallel([&] { restore_gc_prev_links(heads, nheads, starts, objs, mid, n); },
                [&] { restore_gc_prev_links(heads, nheads, starts, objs, 0, mid); }, n >= (1u << 16));
    finish();
  }
  // The same on another thread while `mine` (which reads no header) runs on this one.
  template <class Objs, class Mine>
  void restore_in_order_beside(const GcLinks* const* heads, int nheads, const std::size_t* starts, const Objs& objs,
                               Mine&& mine) {
    if (!active_) return mine();
    in_parallel([&] { restore_gc_prev_links(heads, nheads, starts, objs, 0, objs.size()); }, mine,
                objs.size() >= (1u << 16));
    finish();
  }
  // Puts the headers back by following the next links (slower): when the walk did not gather every object.
  void restore() {
    if (!active_) return;
    rebuild_gc_prev_links();
    finish();
  }

 private:
  static GcLinks* links(PyObject* o) { return reinterpret_cast<GcLinks*>(o) - 1; }
  void finish() {
    for (PyObject* o : untracked_) links(o)->prev &= kGcFinalized;  // they held only the "finalized" flag
    untracked_.release();
    active_ = false;
  }
  bool active_ = false;
  Column<PyObject*> untracked_;  // numbered objects the gc does not track
};

}  // namespace refgraph::capture
