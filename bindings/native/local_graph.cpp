// _core.local_backrefs_dot and _core.local_backref_chain: show_backrefs and find_backref_chain without capturing
// the whole heap.
//
//   dot = _core.local_backrefs_dot([id(x)], max_depth=3, too_many=10, ignore_ids=[], skip_files=[pkg_dir])
//   hops = _core.local_backref_chain([id(x)], types=["module"], max_depth=20, skip_files=[pkg_dir])
//
// One pass over the gc's lists (read in place) records every reference each gc-tracked object holds, with the
// flags the capture gives that edge (weak, deferred, not counted); the records are grouped by referent address
// (by 1 MiB region as they are made, by KiB when a region is first read), so the referrers of any object are one
// lookup away. The records model core's graph concept (RecordGraph below, graph_concept.hpp), so a chain is core's
// own search (shortest_path, chain.hpp) run on them, and a drawing's nodes are picked by core's NodePicker
// (neighbourhood.hpp). Only those objects (and the referrers the drawing summarises) are then captured, with
// capture/walk.cpp's `only` option, so that types, sizes, labels, edges and root kinds are the capture's own and
// neighbourhood()/to_dot() draw them as they would the whole heap.
//
// What the records do not see: references held by objects that are neither gc-tracked nor types (code objects'
// constants, module definitions). So the start objects must be gc-tracked (every referrer of a gc-tracked object
// that is not a constant is tracked too, or a running frame, or a type), and the Python layer falls back to a full
// capture otherwise. Both functions return None when they cannot answer this way (an id that is not a gc-tracked
// object, no in-place gc lists on this CPython, or a self-check failed).
//
// Like the capture: the GIL is held and automatic collection paused, no Python code runs and, while the records
// are read, no Python object is allocated; no reference is kept.
#include <Python.h>
#include <frameobject.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "capture/column.hpp"
#include "capture/frames.hpp"
#include "capture/gc_pause.hpp"
#include "capture/internals.hpp"
#include "capture/labels.hpp"
#include "capture/ptr_index.hpp"
#include "capture/referents.hpp"
#include "capture/seeds.hpp"
#include "capture/type_facts.hpp"
#include "capture/types.hpp"
#include "capture/walk.hpp"
#include "graph_binding.hpp"
#include "refgraph/chain.hpp"
#include "refgraph/dot.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/graph_concept.hpp"
#include "refgraph/neighbourhood.hpp"

namespace pb = pybind11;
using namespace pybind11::literals;

namespace refgraph::capture {

namespace {

// Record flags: the capture's edge flags, plus whether the edge is counted when judging External roots.
constexpr std::uint8_t kRecWeak = 1;
constexpr std::uint8_t kRecDeferred = 2;
constexpr std::uint8_t kRecUncounted = 4;
static_assert(kRecWeak == kEdgeWeak && kRecDeferred == kEdgeDeferred);
constexpr unsigned kFlagBits = 3;
constexpr unsigned kIdxBits = 26;                    // up to 64 million gc-tracked objects
constexpr unsigned kLowBits = kIdxBits + kFlagBits;  // a record: (referent key << kLowBits) | (source << 3) | flags
constexpr unsigned kRegionShift = 20;  // referents are keyed by (1 MiB region, offset in it): compact sort keys
constexpr unsigned kOffBits = kRegionShift - 3;
constexpr unsigned kPageShift = 7;  // of a key's offset bits: records grouped by KiB of referent address
constexpr unsigned kPages = 1u << (kOffBits - kPageShift);

// Roots and frames, found as capture/walk.cpp's seeds are (sys.modules values; every thread's frames, created as
// frame objects where needed; the tool's own frames by file prefix). Allocates: runs before the records pass.
struct Seeds {
  ThreadSeeds threads;  // first: gathering the frames allocates
  PyObject* modules_dict = nullptr;
  PtrIndex modules{256};       // values of sys.modules
  PtrIndex thread_frames{64};  // frames of every thread, not the tool's
  PtrIndex skipped{64};        // the tool's frames: never nodes, their references counted

  explicit Seeds(const std::vector<std::string>& skip_files) : threads(skip_files) {
    modules_dict = for_each_module([this](PyObject* m) { modules.insert(reinterpret_cast<std::uintptr_t>(m), 1); });
    for (const ThreadFrame& t : threads.frames) {
      const auto a = reinterpret_cast<std::uintptr_t>(t.frame);
      if (t.tool)
        skipped.insert(a, 1);
      else if (modules.find(a) == PtrIndex::kAbsent)
        thread_frames.insert(a, 1);
    }
  }

  static bool has(const PtrIndex& s, PyObject* o) {
    return s.find(reinterpret_cast<std::uintptr_t>(o)) != PtrIndex::kAbsent;
  }
};

// Every reference held by a gc-tracked object (or a running frame, or a static type), grouped by referent.
class HeapRefs {
 public:
  explicit HeapRefs(const Seeds& seeds) : seeds_(seeds) {}
  ~HeapRefs() {
    for (auto [p, bytes] : slabs_) zeroed_free(p, bytes);
  }
  HeapRefs(const HeapRefs&) = delete;
  HeapRefs& operator=(const HeapRefs&) = delete;

  // False when the gc lists cannot be read in place or the records do not fit their compact form.
  bool build() {
    objs_.reserve(std::size_t(1) << 20);
    // Each object is scanned as the gc's linked list reaches it, the list followed a few objects ahead of the
    // scan (for_each_in_gc_list): its misses overlap the scan's instead of stalling it.
    auto one = [this](PyObject* o) {
      cur_src_ = static_cast<std::uint64_t>(objs_.size()) << kFlagBits;
      objs_.push_back(o);
      scan(o);
    };
    const GcLinks* heads[8];
    const int nheads = gc_list_heads(heads, 8);
    if (nheads < 0) return false;
    for (int h = 0; h < nheads; ++h) for_each_in_gc_list(heads[h], one, [](PyObject* a) { prefetch_body(a); });
    // A frame object made for a running frame is not tracked until the frame finishes, and its locals are the
    // references that matter most.
    for (const ThreadFrame& t : seeds_.threads.frames)
      if (!PyObject_GC_IsTracked(t.frame)) one(t.frame);
    for (PyObject* t : static_types()) one(t);
    const unsigned region_bits = 64 - kOffBits - kLowBits;
    if (objs_.size() >= (std::size_t(1) << kIdxBits) || (std::uint64_t(nregions_) >> region_bits) != 0) return false;
    sort_records();
    return true;
  }

  std::size_t num_objects() const { return objs_.size(); }
  std::size_t num_records() const { return num_records_; }

  // f(record) for each reference to t: the deferred ones (with `deferred`) after the others, each kind in scan
  // order (by source, each source's in its edge order).
  template <class F>
  void for_each_record(PyObject* t, F&& f, bool deferred = true) const {
    const auto a = reinterpret_cast<std::uintptr_t>(t);
    for_each_in_region(region_of(a, 0), a, f);
    if (deferred) for_each_in_region(region_of(a, kRecDeferred), a, f);
  }
  // Whether some deferred reference may lead to t (its address's region has some).
  bool may_have_deferred(PyObject* t) const {
    return regions_.find(region_of(reinterpret_cast<std::uintptr_t>(t), kRecDeferred)) != PtrIndex::kAbsent;
  }

  PyObject* object(std::uint32_t i) const { return objs_[i]; }

  // Source indices of these objects (0xFFFFFFFF for one that is not a source), in one pass over the sources.
  std::vector<std::uint32_t> indices_of(const std::vector<PyObject*>& wanted) const {
    std::vector<std::uint32_t> out(wanted.size(), 0xFFFFFFFFu);
    if (wanted.size() <= 8) {  // a search's start objects: a plain scan of the sources beats filling a hash set
      PyObject* const* first = objs_.size() ? &objs_[0] : nullptr;
      PyObject* const* last = first + objs_.size();
      for (std::size_t k = 0; k < wanted.size(); ++k) {
        PyObject* const* at = std::find(first, last, wanted[k]);
        if (wanted[k] != nullptr && at != last) out[k] = static_cast<std::uint32_t>(at - first);
      }
      return out;
    }
    PtrIndex where(wanted.size() * 2 + 16);
    for (std::size_t k = 0; k < wanted.size(); ++k)
      if (wanted[k] != nullptr)
        where.insert(reinterpret_cast<std::uintptr_t>(wanted[k]), static_cast<std::uint32_t>(k));
    for (std::size_t i = 0; i < objs_.size(); ++i) {
      const std::uint32_t k = where.find(reinterpret_cast<std::uintptr_t>(objs_[i]));
      if (k != PtrIndex::kAbsent)
        for (std::size_t j = k; j < wanted.size(); ++j)
          if (wanted[j] == objs_[i]) out[j] = static_cast<std::uint32_t>(i);
    }
    return out;
  }

  static std::uint32_t source_index(std::uint64_t rec) {
    return static_cast<std::uint32_t>((rec & ((std::uint64_t(1) << kLowBits) - 1)) >> kFlagBits);
  }
  PyObject* source(std::uint64_t rec) const { return objs_[source_index(rec)]; }
  bool source_skipped(std::uint64_t rec) const {
    const std::uint32_t i = source_index(rec);
    for (std::uint32_t k : skipped_)
      if (k == i) return true;
    return false;
  }
  static std::uint8_t flags(std::uint64_t rec) { return static_cast<std::uint8_t>(rec & 7u); }

  // References to t that the capture counts when judging External (the tool's frames' included).
  std::int64_t counted_refs(PyObject* t) const {
    std::int64_t n = 0;
    for_each_record(t, [&n](std::uint64_t rec) { n += (flags(rec) & kRecUncounted) == 0; });
    return n;
  }

 private:
  // Deferred references (an instance's to its class: as many as the class has instances) are kept in regions of
  // their own, so that a search's first phase, which passes over them, neither sorts nor reads them.
  static constexpr std::uint64_t kDeferredRegion = std::uint64_t(1) << 62;
  static std::uint64_t region_of(std::uintptr_t a, std::uint8_t flags) {
    return ((a >> kRegionShift) + 1) | ((flags & kRecDeferred) ? kDeferredRegion : 0);
  }

  template <class F>
  void for_each_in_region(std::uint64_t region, std::uintptr_t a, F& f) const {
    const std::uint32_t r = regions_.find(region);
    if (r == PtrIndex::kAbsent) return;
    if (!region_sorted_[r]) sort_region(r);
    const std::uint64_t key = key_of(r, a);
    const std::size_t b = std::size_t(r) * (kPages + 1) + ((key >> kPageShift) & (kPages - 1));
    const std::uint64_t* base = sorted_[r].data();
    const std::uint64_t* p = base + bucket_start_[b];
    const std::uint64_t* end = base + bucket_start_[b + 1];
    for (; p != end; ++p)
      if ((*p >> kLowBits) == key) f(*p);
  }

  std::uint64_t key_of(std::uint32_t region, std::uintptr_t a) const {
    return (std::uint64_t(region) << kOffBits) | ((a & ((std::uintptr_t(1) << kRegionShift) - 1)) >> 3);
  }

  struct RegionSlot;
  // Inlined into the scan (a call per reference was among its costliest parts); the rare paths are calls.
  __attribute__((always_inline)) void emit(PyObject* t, std::uint8_t flags = 0) {
    if (t == nullptr) return;
    const auto a = reinterpret_cast<std::uintptr_t>(t);
    flags |= cur_flags_;
    const std::uint64_t region = region_of(a, flags);
    // referents hop between a few regions (a region's deferred twin takes another slot)
    RegionSlot& slot = region_cache_[(region ^ (region >> 56)) & (kRegionCache - 1)];
    if (__builtin_expect(slot.region != region, 0)) enter_region(&slot, region);
    RegionRecs& rr = region_recs_[slot.id];
    if (__builtin_expect(rr.pos == rr.end, 0)) new_block(&rr);
    *rr.pos++ = (key_of(slot.id, a) << kLowBits) | cur_src_ | flags;
  }

  __attribute__((noinline)) void enter_region(RegionSlot* slot, std::uint64_t region) {
    auto [id, inserted] = regions_.insert(region, nregions_);
    if (inserted) {
      ++nregions_;
      region_recs_.emplace_back();
    }
    slot->region = region;
    slot->id = id;
  }

  // Static types are not gc-tracked but own references (their __dict__, __mro__, and the __subclasses__ dict
  // whose weakrefs point at every subclass); all of them hang in the tree of subclasses under `object`.
  static std::vector<PyObject*> static_types() {
    std::vector<PyObject*> out;
#if PY_VERSION_HEX < 0x030C0000
    PtrIndex seen(4096);
    std::vector<PyTypeObject*> stack{&PyBaseObject_Type};
    seen.insert(reinterpret_cast<std::uintptr_t>(&PyBaseObject_Type), 1);
    while (!stack.empty()) {
      PyTypeObject* t = stack.back();
      stack.pop_back();
      if (!(t->tp_flags & Py_TPFLAGS_HEAPTYPE)) out.push_back(reinterpret_cast<PyObject*>(t));
      PyObject* subs = t->tp_subclasses;
      if (subs == nullptr || !PyDict_Check(subs)) continue;
      Py_ssize_t pos = 0;
      PyObject *k, *v;
      while (PyDict_Next(subs, &pos, &k, &v)) {
        if (!PyWeakref_CheckRef(v)) continue;
        PyObject* sub = reinterpret_cast<PyWeakReference*>(v)->wr_object;
        if (sub == nullptr || sub == Py_None || !PyType_Check(sub)) continue;
        if (seen.insert(reinterpret_cast<std::uintptr_t>(sub), 1).second)
          stack.push_back(reinterpret_cast<PyTypeObject*>(sub));
      }
    }
#endif
    return out;
  }

  // Each object's references as the capture follows them (referents.hpp), with the capture's edge flags. The str
  // keys of a dict are left out, as tp_traverse leaves them out: no search here starts from or passes through one.
  void scan(PyObject* o) {
    const TypeFacts& f = types_.get(Py_TYPE(o), [](PyTypeObject* t, TypeFacts* out) { *out = type_facts(t); });
    if (Py_TYPE(o) == &PyFrame_Type && Seeds::has(seeds_.skipped, o))
      skipped_.push_back(static_cast<std::uint32_t>(cur_src_ >> kFlagBits));
    cur_flags_ = o == seeds_.modules_dict ? kRecDeferred : 0;  // sys.modules entries rarely explain a leak
    if (walks(o, f)) for_each_referent(o, f, *this);
    cur_flags_ = 0;
  }

 public:
  // for_each_referent's sink.
  static constexpr bool owned_keys() { return false; }
  const ThreadSeeds& threads() const { return seeds_.threads; }
  __attribute__((always_inline)) void ref(PyObject* t, Via, std::uint8_t flags, bool counted) {
    emit(t, flags | (counted ? 0 : kRecUncounted));
  }

 private:
  TypeTable<TypeFacts> types_;

  // Records go straight to their referent's region as they are made: each region fills blocks of kBlock records
  // carved from big mappings that never move (a few hundred regions: their current blocks stay in cache), so there
  // is no pass to group them and no second copy. A region is grouped by KiB of referent address when a lookup first
  // reads it: a drawing reads a dozen regions of a few hundred. Stable, so a referent's records stay in scan order.
  static constexpr std::size_t kBlock = 512;
  static constexpr std::size_t kSlabBytes = std::size_t(16) << 20;
  struct RegionRecs {
    std::uint64_t* pos = nullptr;
    std::uint64_t* end = nullptr;
    std::vector<std::uint64_t*> blocks;
    std::size_t count() const { return blocks.empty() ? 0 : (blocks.size() - 1) * kBlock + (pos - blocks.back()); }
  };

  __attribute__((noinline)) void new_block(RegionRecs* rr) {
    if (slab_pos_ == slab_end_) {
      void* p = zeroed_alloc(kSlabBytes);
      slabs_.emplace_back(p, kSlabBytes);
      slab_pos_ = static_cast<std::uint64_t*>(p);
      slab_end_ = slab_pos_ + kSlabBytes / sizeof(std::uint64_t);
    }
    rr->pos = slab_pos_;
    rr->end = slab_pos_ + kBlock;
    rr->blocks.push_back(slab_pos_);
    slab_pos_ += kBlock;
  }

  void sort_records() {
    num_records_ = 0;
    for (const RegionRecs& rr : region_recs_) num_records_ += rr.count();
    bucket_start_.assign(std::size_t(nregions_) * (kPages + 1), 0);
    sorted_.assign(nregions_, {});
    region_sorted_.assign(nregions_, 0);
  }

  // Region r's records by KiB of referent address, into sorted_[r].
  void sort_region(std::uint32_t r) const {
    const unsigned page_shift = kLowBits + kPageShift;
    const RegionRecs& rr = region_recs_[r];
    const std::size_t len = rr.count();
    std::uint32_t* start = &bucket_start_[std::size_t(r) * (kPages + 1)];
    auto for_each = [&](auto&& f) {
      for (std::size_t k = 0; k < rr.blocks.size(); ++k) {
        const std::uint64_t* b = rr.blocks[k];
        const std::uint64_t* e = k + 1 < rr.blocks.size() ? b + kBlock : rr.pos;
        for (; b != e; ++b) f(*b);
      }
    };
    for_each([&](std::uint64_t rec) { ++start[((rec >> page_shift) & (kPages - 1)) + 1]; });
    for (unsigned k = 0; k < kPages; ++k) start[k + 1] += start[k];
    std::vector<std::uint32_t> pos(start, start + kPages);
    std::vector<std::uint64_t>& out = sorted_[r];
    out.resize(len);
    for_each([&](std::uint64_t rec) { out[pos[(rec >> page_shift) & (kPages - 1)]++] = rec; });
    region_sorted_[r] = 1;
  }

  const Seeds& seeds_;
  std::vector<std::uint32_t> skipped_;   // sources that are the tool's frames (a handful)
  Column<PyObject*> objs_;               // the sources: gc-tracked objects, running frames, static types
  std::vector<RegionRecs> region_recs_;  // by region id
  std::vector<std::pair<void*, std::size_t>> slabs_;
  std::uint64_t* slab_pos_ = nullptr;
  std::uint64_t* slab_end_ = nullptr;
  std::size_t num_records_ = 0;
  PtrIndex regions_{1024};
  std::uint32_t nregions_ = 0;
  struct RegionSlot {
    std::uint64_t region = 0;
    std::uint32_t id = 0;
  };
  static constexpr std::size_t kRegionCache = 1024;
  RegionSlot region_cache_[kRegionCache];
  // Once region r is sorted (region_sorted_[r]), its records for KiB k are sorted_[r][start[k], start[k + 1])
  // where start = &bucket_start_[r * (kPages + 1)].
  mutable std::vector<std::vector<std::uint64_t>> sorted_;
  mutable std::vector<std::uint32_t> bucket_start_;
  mutable std::vector<std::uint8_t> region_sorted_;
  std::uint64_t cur_src_ = 0;
  std::uint8_t cur_flags_ = 0;
};

// The records of references to n (not from the tool's frames, nor with any of the `skip` edge flags) ordered by
// their source's address, each source's in edge order: the order of in-edges in a HeapGraph. *skipped: the `skip`
// flags of the records left out. Skipping before sorting matters: a chain search's first phase skips deferred
// references, and a class's instances (thousands, each with a deferred reference to it) then cost no sort.
struct Scratch {
  struct Item {
    std::uintptr_t addr;
    std::uint32_t seq;
  };
  std::vector<Item> items, tmp;
  std::vector<std::uint64_t> recs;
};
void referrers(const HeapRefs& h, PyObject* n, std::uint8_t skip, std::vector<std::uint64_t>* out, Scratch* scratch,
               std::uint8_t* skipped) {
  using Item = Scratch::Item;
  auto& items = scratch->items;
  auto& tmp = scratch->tmp;
  auto& recs = scratch->recs;
  items.clear();
  recs.clear();
  const bool deferred = (skip & kRecDeferred) == 0;
  if (!deferred && h.may_have_deferred(n)) *skipped |= kRecDeferred;  // perhaps: a second phase looks
  h.for_each_record(
      n,
      [&](std::uint64_t rec) {
        if (const std::uint8_t passed = HeapRefs::flags(rec) & skip) {  // first: the cheap test, for many records
          if (!h.source_skipped(rec)) *skipped |= passed;
          return;
        }
        if (h.source_skipped(rec)) return;
        items.push_back({reinterpret_cast<std::uintptr_t>(h.source(rec)), static_cast<std::uint32_t>(recs.size())});
        recs.push_back(rec);
      },
      deferred);
  if (items.size() > 4096) {  // a class with many instances: LSD radix by address (stable: keeps edge order)
    std::uintptr_t lo = ~std::uintptr_t(0), hi = 0;
    for (const Item& it : items) {
      lo = std::min(lo, it.addr);
      hi = std::max(hi, it.addr);
    }
    tmp.resize(items.size());
    constexpr unsigned kBits = 11;
    for (unsigned shift = 3; shift < 64 && ((hi - lo) >> shift) != 0; shift += kBits) {
      std::uint32_t count[1u << kBits] = {};
      for (const Item& it : items) ++count[((it.addr - lo) >> shift) & ((1u << kBits) - 1)];
      std::uint32_t sum = 0;
      for (auto& c : count) {
        const std::uint32_t x = c;
        c = sum;
        sum += x;
      }
      for (const Item& it : items) tmp[count[((it.addr - lo) >> shift) & ((1u << kBits) - 1)]++] = it;
      items.swap(tmp);
    }
  } else if (items.size() > 1) {
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.addr != b.addr ? a.addr < b.addr : a.seq < b.seq; });
  }
  out->clear();
  for (const Item& it : items) out->push_back(recs[it.seq]);
}

// The records as a graph of graph_concept.hpp's InGraph kind, for core's searches (shortest_path, NodePicker): the
// nodes are the sources (HeapRefs indices), an edge is (its flags << kIdxBits) | the index of the object referred
// to. Not reentrant: a search asks for one node's referrers at a time.
class RecordGraph {
 public:
  using edge_type = std::uint32_t;
  explicit RecordGraph(const HeapRefs& h) : h_(h) {}

  friend std::size_t num_nodes(const RecordGraph& g) { return g.h_.num_objects(); }
  friend std::uint8_t edge_flags(const RecordGraph&, edge_type e) { return static_cast<std::uint8_t>(e >> kIdxBits); }
  friend NodeIndex edge_target(const RecordGraph&, edge_type e) { return e & ((1u << kIdxBits) - 1); }
  template <class F>
  friend Walk for_each_in(const RecordGraph& g, NodeIndex n, std::uint8_t skip, F&& f) {
    Walk w;
    referrers(g.h_, g.h_.object(n), skip, &g.recs_, &g.scratch_, &w.skipped);
    for (std::uint64_t rec : g.recs_) {
      const auto flags = static_cast<std::uint32_t>(HeapRefs::flags(rec) & (kRecWeak | kRecDeferred));
      if (f(HeapRefs::source_index(rec), (flags << kIdxBits) | n)) {
        w.stopped = true;
        break;
      }
    }
    return w;
  }

 private:
  const HeapRefs& h_;
  mutable std::vector<std::uint64_t> recs_;
  mutable Scratch scratch_;
};
static_assert(InGraph<RecordGraph>);

// Root first, the start last: the objects of a path shortest_path() found on the records.
std::vector<PyObject*> path_objects(const HeapRefs& refs, const Path<RecordGraph::edge_type>& p) {
  std::vector<PyObject*> out;
  out.reserve(p.nodes.size());
  for (NodeIndex n : p.nodes) out.push_back(refs.object(n));
  return out;
}

// The short type name the capture gives (type.__name__), compared with `name` without allocating.
bool type_named(PyTypeObject* t, const std::string& name) {
  if (t->tp_flags & Py_TPFLAGS_HEAPTYPE) {
    PyObject* n = reinterpret_cast<PyHeapTypeObject*>(t)->ht_name;
    if (n != nullptr && PyUnicode_Check(n)) return str_equals_ascii(n, name.data(), name.size());
  }
  const char* full = t->tp_name ? t->tp_name : "?";
  const char* dot = std::strrchr(full, '.');
  return name == (dot ? dot + 1 : full);
}

std::vector<PyObject*> as_objects(const std::vector<std::uint64_t>& ids) {
  std::vector<PyObject*> out;
  out.reserve(ids.size());
  for (std::uint64_t id : ids) out.push_back(reinterpret_cast<PyObject*>(static_cast<std::uintptr_t>(id)));
  return out;
}

// Source indices of the start objects, or nothing if one is not a source: then it is not a gc-tracked object
// (or not an object at all: ids are only compared with the objects the scan found, never dereferenced).
std::optional<std::vector<std::uint32_t>> start_indices(const HeapRefs& refs, const std::vector<PyObject*>& starts) {
  if (starts.empty()) return std::nullopt;
  std::vector<std::uint32_t> idx = refs.indices_of(starts);
  for (std::uint32_t i : idx)
    if (i == 0xFFFFFFFFu) return std::nullopt;
  return idx;
}

// What every local call starts with: automatic collection paused for as long as this lives (the records hold raw
// pointers), the seeds, and the scan of every reference the gc-tracked objects hold.
struct LocalScan {
  GcPause pause;
  Seeds seeds;
  HeapRefs refs;
  explicit LocalScan(const std::vector<std::string>& skip_files) : seeds(skip_files), refs(seeds) {}
  LocalScan(const LocalScan&) = delete;
  LocalScan& operator=(const LocalScan&) = delete;

  // The scan, then the start objects' source indices; nothing when this path cannot answer.
  std::optional<std::vector<std::uint32_t>> build(const std::vector<PyObject*>& starts) {
    if (!refs.build()) return std::nullopt;
    return start_indices(refs, starts);
  }
  // The restricted capture of `members` (capture/walk.hpp's `only`): external roots judged from this scan's counts.
  HeapGraph capture(const std::vector<PyObject*>& members, const std::vector<std::string>& skip_files,
                    bool shortnames) const {
    std::vector<std::int64_t> in_refs;
    in_refs.reserve(members.size());
    for (PyObject* o : members) in_refs.push_back(refs.counted_refs(o));
    CaptureOptions co;
    co.shortnames = shortnames;
    co.skip_files = skip_files;
    co.only = &members;
    co.only_in_refs = &in_refs;
    return capture_heap(co);
  }
};

// The whole capture's roots: modules, thread frames, and objects with more references than the heap explains.
struct RootTest {
  const Seeds& seeds;
  const HeapRefs& refs;
  bool operator()(NodeIndex n) const {
    PyObject* o = refs.object(n);
    if (Seeds::has(seeds.modules, o) || Seeds::has(seeds.thread_frames, o)) return true;
    const Py_ssize_t rc = Py_REFCNT(o);
    return refs.counted_refs(o) < std::min<std::int64_t>(rc, 1 << 30);  // External
  }
};

// The source indices of those of these ids that are sources (an id of no gc-tracked object cannot be a referrer).
std::vector<NodeIndex> known_sources(const HeapRefs& refs, const std::vector<std::uint64_t>& ids) {
  std::vector<NodeIndex> out;
  for (std::uint32_t i : refs.indices_of(as_objects(ids)))
    if (i != 0xFFFFFFFFu) out.push_back(i);
  return out;
}

// How many calls each local function answered (rather than returning None), for the tests' _testing hook: a test
// that compares the fast path's drawing with the whole capture's must know the fast path drew it.
struct Answers {
  std::uint64_t backrefs_dot = 0;
  std::uint64_t backref_chain = 0;
  std::uint64_t chain_dot = 0;
  std::uint64_t capture = 0;
};
Answers g_answers;

}  // namespace

// show_backrefs' drawing, or nullopt when this path cannot answer (see the top of the file).
std::optional<std::string> local_backrefs_dot(const std::vector<std::uint64_t>& ids, std::size_t max_depth,
                                              std::size_t too_many, const std::vector<std::uint64_t>& ignore_ids,
                                              const std::vector<std::string>& skip_files, bool shortnames) {
  const std::vector<PyObject*> starts = as_objects(ids);
  if (starts.empty()) return std::nullopt;
  LocalScan scan(skip_files);
  const auto start_idx = scan.build(starts);
  if (!start_idx) return std::nullopt;
  const HeapRefs& refs = scan.refs;
  const Seeds& seeds = scan.seeds;

  const RecordGraph rg(refs);
  NeighbourhoodOptions o;
  o.direction = Direction::Back;
  o.max_depth = max_depth;
  o.too_many = too_many;
  o.ignore = known_sources(refs, ignore_ids);

  // The chain neighbourhood() would highlight: backref_chain to any root, no depth limit.
  const Path<RecordGraph::edge_type> path =
      shortest_path<Direction::Back>(rg, *start_idx, o.ignore, 0, RootTest{seeds, refs});
  const std::vector<PyObject*> chain = path_objects(refs, path);

  // neighbourhood()'s choice of nodes, on the records; the objects it shows or summarises are captured.
  NodePicker pick(rg, o, [](NodeIndex) { return true; });
  pick.run(*start_idx);
  std::vector<PyObject*> members;
  PtrIndex member(256);
  auto add_member = [&](PyObject* obj) {
    if (member.insert(reinterpret_cast<std::uintptr_t>(obj), 1).second) members.push_back(obj);
  };
  for (const SubgraphNode& sn : pick.nodes()) add_member(refs.object(sn.node));
  const std::size_t shown = members.size();
  for (NodeIndex n : pick.expanded()) pick.for_each_cut(n, [&](NodeIndex m) { add_member(refs.object(m)); });
  std::size_t extra = 0;  // the chain's nodes that the picking did not show
  for (NodeIndex n : path.nodes) extra += !pick.shown(n);
  for (PyObject* obj : chain) add_member(obj);
  HeapGraph g = scan.capture(members, skip_files, shortnames);

  std::vector<NodeIndex> start_nodes;
  for (PyObject* st : starts) start_nodes.push_back(g.find(reinterpret_cast<std::uintptr_t>(st)));
  o.ignore.clear();
  for (std::uint64_t id : ignore_ids) {
    NodeIndex n = g.find(id);
    if (n != kNoNode) o.ignore.push_back(n);
  }
  Chain c;
  if (path.found()) {
    std::vector<NodeIndex> hops;
    for (PyObject* h : chain) hops.push_back(g.find(reinterpret_cast<std::uintptr_t>(h)));
    try {
      c = chain_through(g, std::move(hops), path.used_deferred ? HopEdge::SearchedWithDeferred : HopEdge::Searched);
    } catch (const QueryError&) {
      return std::nullopt;  // a hop the capture did not record, or no such edge in it
    }
  }
  o.chain = &c;
  Subgraph s = neighbourhood(g, start_nodes, o);
  // Self-check: the small graph must show what the picking on the records showed (plus the chain's extra nodes).
  if (s.nodes.size() != shown + extra) return std::nullopt;
  std::string dot = to_dot(g, s);
  ++g_answers.backrefs_dot;
  return dot;
}

// show_chain's drawing of one chain (ids root first), as capture().chain_dot(ids) draws it: only the chain's
// objects are captured (the scan gives their counted references, for root kinds). nullopt when this path cannot
// answer, including when two consecutive objects are not joined by a reference (the caller then does what the
// whole capture's chain_dot error leads it to do).
std::optional<std::string> local_chain_dot(const std::vector<std::uint64_t>& ids_root_first,
                                           const std::vector<std::string>& skip_files, bool shortnames) {
  const std::vector<PyObject*> hops = as_objects(ids_root_first);
  if (hops.empty()) return std::nullopt;
  LocalScan scan(skip_files);
  if (!scan.build(hops)) return std::nullopt;
  std::vector<PyObject*> members;
  PtrIndex member(64);
  for (PyObject* o : hops)
    if (member.insert(reinterpret_cast<std::uintptr_t>(o), 1).second) members.push_back(o);
  HeapGraph g = scan.capture(members, skip_files, shortnames);
  Chain c;
  try {
    c = chain_from_ids(g, ids_root_first);
  } catch (const QueryError&) {
    return std::nullopt;  // two hops not joined: the caller decides what to draw
  }
  ++g_answers.chain_dot;
  return to_dot(g, chain_subgraph(g, c, Direction::Back));
}

// A graph of only these live gc-tracked objects (a chain's hops, say), captured as the whole capture would capture
// them: types, sizes, labels, the edges between them, root kinds. nullopt when this path cannot answer.
std::optional<HeapGraph> local_capture(const std::vector<std::uint64_t>& ids,
                                       const std::vector<std::string>& skip_files, bool shortnames) {
  const std::vector<PyObject*> objs = as_objects(ids);
  LocalScan scan(skip_files);
  if (!scan.build(objs)) return std::nullopt;
  std::vector<PyObject*> members;
  PtrIndex member(64);
  for (PyObject* o : objs)
    if (member.insert(reinterpret_cast<std::uintptr_t>(o), 1).second) members.push_back(o);
  ++g_answers.capture;
  return scan.capture(members, skip_files, shortnames);
}

// Whether a source is an object of one of `types`; the answer for the last type asked about is kept (a search
// meets objects of one type in runs).
class TypeTarget {
 public:
  TypeTarget(const HeapRefs& refs, const std::vector<std::string>& types) : refs_(refs), types_(types) {}
  bool operator()(NodeIndex n) {
    PyTypeObject* type = Py_TYPE(refs_.object(n));
    if (type != last_type_) {
      last_type_ = type;
      last_answer_ = false;
      for (const std::string& t : types_) last_answer_ = last_answer_ || type_named(type, t);
    }
    return last_answer_;
  }

 private:
  const HeapRefs& refs_;
  const std::vector<std::string>& types_;
  PyTypeObject* last_type_ = nullptr;
  bool last_answer_ = false;
};

// A Graph of each start and the objects on its own shortest chain back to an object of one of `types` (when it has
// one), from one scan, captured as local_capture() captures.
std::optional<HeapGraph> local_chains_capture(const std::vector<std::uint64_t>& ids,
                                              const std::vector<std::string>& types, std::size_t max_depth,
                                              const std::vector<std::string>& skip_files, bool shortnames) {
  const std::vector<PyObject*> starts = as_objects(ids);
  if (starts.empty() || types.empty()) return std::nullopt;
  LocalScan scan(skip_files);
  const auto start_idx = scan.build(starts);
  if (!start_idx) return std::nullopt;
  const HeapRefs& refs = scan.refs;
  TypeTarget is_target(refs, types);
  std::vector<PyObject*> members;
  PtrIndex member(64);
  auto add = [&](PyObject* o) {
    if (member.insert(reinterpret_cast<std::uintptr_t>(o), 1).second) members.push_back(o);
  };
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const Path<RecordGraph::edge_type> path =
        shortest_path<Direction::Back>(RecordGraph(refs), {(*start_idx)[k]}, {}, max_depth, is_target);
    for (PyObject* o : path_objects(refs, path)) add(o);
    add(starts[k]);
  }
  ++g_answers.capture;
  return scan.capture(members, skip_files, shortnames);
}

// find_backref_chain to an object of one of `types`: ids root first; empty if none; nullopt if this path cannot
// answer.
std::optional<std::vector<std::uint64_t>> local_backref_chain(const std::vector<std::uint64_t>& ids,
                                                              const std::vector<std::string>& types,
                                                              std::size_t max_depth,
                                                              const std::vector<std::uint64_t>& ignore_ids,
                                                              const std::vector<std::string>& skip_files) {
  const std::vector<PyObject*> starts = as_objects(ids);
  if (starts.empty() || types.empty()) return std::nullopt;
  LocalScan scan(skip_files);
  const auto start_idx = scan.build(starts);
  if (!start_idx) return std::nullopt;
  const HeapRefs& refs = scan.refs;
  TypeTarget is_target(refs, types);
  const std::vector<NodeIndex> ignore = known_sources(refs, ignore_ids);
  const Path<RecordGraph::edge_type> path =
      shortest_path<Direction::Back>(RecordGraph(refs), *start_idx, ignore, max_depth, is_target);
  std::vector<std::uint64_t> out;
  for (PyObject* o : path_objects(refs, path)) out.push_back(reinterpret_cast<std::uintptr_t>(o));
  ++g_answers.backref_chain;
  return out;
}

}  // namespace refgraph::capture

namespace refgraph::py {

void register_local(pb::module_& m) {
  m.def("local_backrefs_dot", &capture::local_backrefs_dot, "ids"_a, "max_depth"_a = 3, "too_many"_a = 10,
        "ignore_ids"_a = std::vector<std::uint64_t>{}, "skip_files"_a = std::vector<std::string>{},
        "shortnames"_a = true,
        "show_backrefs' DOT for the live objects with these ids (gc-tracked, held by the caller), drawn as "
        "capture().neighbourhood_dot(ids, 'back', ...) would draw it, without capturing the whole heap: one scan of "
        "the gc-tracked objects' references, then a capture of only the objects drawn. None when this path cannot "
        "answer (an id of an untracked object; no in-place gc lists on this CPython).");
  m.def("local_backref_chain", &capture::local_backref_chain, "ids"_a, "types"_a, "max_depth"_a = 0,
        "ignore_ids"_a = std::vector<std::uint64_t>{}, "skip_files"_a = std::vector<std::string>{},
        "capture().backref_chain(ids, types=types, ...) as a list of ids root first ([] when there is none), "
        "without capturing the whole heap. None when this path cannot answer.");
  m.def("local_chain_dot", &capture::local_chain_dot, "ids_root_first"_a, "skip_files"_a = std::vector<std::string>{},
        "shortnames"_a = true,
        "capture().chain_dot(ids_root_first) for a chain of live gc-tracked objects, capturing only them. None when "
        "this path cannot answer (an id that is not a gc-tracked object; two hops not joined by a reference).");
  m.def(
      "local_capture",
      [](const std::vector<std::uint64_t>& ids, const std::vector<std::string>& skip_files,
         bool shortnames) -> pb::object {
        std::optional<HeapGraph> g = capture::local_capture(ids, skip_files, shortnames);
        return g ? wrap_graph(std::move(*g)) : pb::none();
      },
      "ids"_a, "skip_files"_a = std::vector<std::string>{}, "shortnames"_a = true,
      "A Graph of only the live gc-tracked objects with these ids (as the whole capture has them, edges between them "
      "included), without capturing the whole heap. None when this path cannot answer (an id that is not a "
      "gc-tracked object).");
  m.def(
      "local_chains_capture",
      [](const std::vector<std::uint64_t>& ids, const std::vector<std::string>& types, std::size_t max_depth,
         const std::vector<std::string>& skip_files, bool shortnames) -> pb::object {
        std::optional<HeapGraph> g = capture::local_chains_capture(ids, types, max_depth, skip_files, shortnames);
        return g ? wrap_graph(std::move(*g)) : pb::none();
      },
      "ids"_a, "types"_a, "max_depth"_a = 0, "skip_files"_a = std::vector<std::string>{}, "shortnames"_a = true,
      "A Graph of the live gc-tracked objects with these ids and of the objects on each one's own shortest chain "
      "back to an object of one of `types` (found in one scan of the gc-tracked objects' references; none for an "
      "object without such a chain), as local_capture() makes it. None when this path cannot answer (an id that is "
      "not a gc-tracked object).");
  pb::module_ testing = pb::hasattr(m, "_testing") ? pb::module_(m.attr("_testing"))
                                                   : m.def_submodule("_testing", "Hooks for refgraph's own tests.");
  testing.def(
      "local_answers",
      []() {
        const capture::Answers& a = capture::g_answers;
        return pb::dict("backrefs_dot"_a = a.backrefs_dot, "backref_chain"_a = a.backref_chain,
                        "chain_dot"_a = a.chain_dot, "capture"_a = a.capture);
      },
      "How many calls each local_* function answered (returned something other than None) in this process.");
}

}  // namespace refgraph::py
