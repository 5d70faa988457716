// The counter behind _core.count_types (counter.hpp): how many objects of each type the heap holds, gc-tracked and not,
// and their total sys.getsizeof, without building a graph. The objects counted are exactly the capture's nodes
// (capture/walk.cpp) on a quiescent heap: every gc-tracked object, every object those and the frames of live
// threads reach through the same references the capture follows, less the tool's own frames and what only they
// hold.
//
// How, with the GIL held and automatic collection paused, running no Python code and allocating no Python object
// while the gc's lists are read in place (an allocation could start a collection and relink them):
//  - each gc-tracked object is counted as it is met in the gc lists (capture::gc_list_heads); its referents
//    that are not tracked (str, int, untracked dicts and tuples, code objects...) are counted when reached, and
//    walked in turn where they hold references;
//  - an untracked object whose reference count is 1 has exactly one holder, so it is reached exactly once: it is
//    counted without looking it up. Only objects with more references go through an address set, and in a
//    typical heap these are few and shared (interned keys, small ints), so the lookups stay in cache;
//  - the frames of every thread are seeded as the capture seeds them (3.11's gc does not see an executing frame's
//    locals); frames running code under `skip_files` (the tool's own) are not counted, nor is what only they hold
//    (an object whose every reference comes from them, and what that object alone holds).
// Per type: a record found through a small address map on the type pointer; names are made once per type at the
// end. Types that share a name are merged, as they are in a graph's type_stats.
#include <Python.h>
#include <frameobject.h>
#include <structmember.h>

#include <algorithm>
#include <array>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "counter.hpp"

#include "frames.hpp"
#include "gc_index.hpp"
#include "gc_pause.hpp"
#include "internals.hpp"
#include "parallel.hpp"
#include "ptr_index.hpp"
#include "referents.hpp"
#include "refgraph/errors.hpp"
#include "seeds.hpp"
#include "type_facts.hpp"
#include "types.hpp"
#include "walk.hpp"
#include "zeroed_alloc.hpp"

namespace refgraph::capture {

namespace {

// For the garbage search's arrays (megabytes on a big heap, fresh each call): huge pages, few page faults.
template <class T>
struct BigAlloc {
  using value_type = T;
  BigAlloc() = default;
  template <class U>
  BigAlloc(const BigAlloc<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(zeroed_alloc(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) { zeroed_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const BigAlloc<U>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const BigAlloc<U>&) const {
    return false;
  }
};
template <class T>
using BigVector = std::vector<T, BigAlloc<T>>;

inline bool header_tracked(PyObject* o) { return GcHeaderIndex::tracked(o); }

// A type's facts and its counts.
struct TypeRecord : TypeFacts {
  bool is_frame = false;
  std::uint64_t tracked = 0, untracked = 0, bytes = 0;
};

class Counter {
 public:
  Counter(bool sizes, const std::vector<std::string>& skip_files, bool find_garbage, bool skip_garbage,
          bool tracked_only)
      : sizes_(sizes), find_garbage_(find_garbage || skip_garbage), skip_garbage_(skip_garbage),
        tracked_only_(tracked_only && !find_garbage_), skip_files_(skip_files) {}

  // False when this build cannot read the gc's lists.
  bool run();
  const std::vector<std::unique_ptr<TypeRecord>>& records() const { return types_.all(); }

  // for_each_referent's sink (referents.hpp): labels and flags do not matter here.
  static constexpr bool owned_keys() { return true; }
  const ThreadSeeds& threads() const { return *threads_; }
  __attribute__((always_inline)) void ref(PyObject* o, Via, std::uint8_t, bool counted) { reach(o, counted); }
  // With find_garbage: how many gc-tracked objects are cyclic garbage (else -1).
  long long garbage() const { return garbage_; }

 private:
  TypeRecord& record(PyTypeObject* t) {
    return types_.get(t, [](PyTypeObject* type, TypeRecord* r) {
      static_cast<TypeFacts&>(*r) = type_facts(type);
      r->is_frame = type == &PyFrame_Type;
    });
  }

  void count(PyObject* o, TypeRecord& r, bool tracked) {
    ++(tracked ? r.tracked : r.untracked);
    if (sizes_) r.bytes += object_size(o, r.size_kind, r.pre_header);
  }

  // A reference from an object being walked. Resolving it reads the referent's header (and a gc type's gc
  // header just before it), two reads that would each miss the cache: so while the gc lists are counted, each
  // reference waits in a ring, prefetched when reached and resolved kRing references later. Counts do not
  // depend on the order; the garbage search's edges stay grouped by holder, since the ring is first in, first out.
  __attribute__((always_inline)) void reach(PyObject* o, bool owned) {
    if (o == nullptr) return;
    if (!pipelined_) {
      resolve(o, owned, holder_);
      return;
    }
    __builtin_prefetch(o);
    __builtin_prefetch(reinterpret_cast<char*>(o) - sizeof(GcLinks));
    if (ring_count_ == kRing) resolve_one();
    ring_[(ring_head_ + ring_count_) & (kRing - 1)] = Pending{o, holder_, owned};
    ++ring_count_;
  }
  void resolve_one() {
    const Pending p = ring_[ring_head_];
    ring_head_ = (ring_head_ + 1) & (kRing - 1);
    --ring_count_;
    resolve(p.target, p.owned, p.holder);
  }
  // Resolves every waiting reference and walks every untracked object counted meanwhile.
  void flush() {
    while (ring_count_ > 0 || pending_head_ < pending_.size()) {
      while (ring_count_ > 0) resolve_one();
      drain();
    }
  }

  void resolve(PyObject* o, bool owned, std::uint32_t holder) {
    TypeRecord& r = record(Py_TYPE(o));
    const bool gc = is_gc(o, r);
    if (garbage_mode_) {  // subtract_garbage: the untracked objects garbage refers to, and how often
      if (owned && !(gc && header_tracked(o))) ++from_garbage_[o];
      return;
    }
    if (gc && header_tracked(o)) {
      if (holder != kNoHolder && owned) {  // a reference inside the gc's world: not one that keeps o alive
        const std::uint32_t t = gc_index(o);
        if (refs_[t] > 0) --refs_[t];
        if (holder != edge_holder_) {  // a holder's references arrive together: its range starts here
          if (edge_holder_ != kNoHolder) edge_end_[edge_holder_] = static_cast<std::uint32_t>(targets_.size());
          edge_holder_ = holder;
          edge_begin_[holder] = static_cast<std::uint32_t>(targets_.size());
        }
        if (__builtin_expect(targets_.size() >= lim_.edges, 0)) over_limit(lim_.edges, "references between them");
        targets_.push_back(t);
      }
      return;
    }
    if (Py_REFCNT(o) == 1 && !r.is_frame) {
      // One reference: this one, if owned, and then nobody else reaches the object. A borrowed reference (a
      // weakref's referent) to such an object is left to its one owner.
      if (!owned) return;
    } else {
      // Shared referents repeat (small ints, interned keys): a direct-mapped cache of addresses known to be in
      // seen_ answers most of them without probing it.
      std::uintptr_t& known = seen_cache_[(reinterpret_cast<std::uintptr_t>(o) >> 4) & (kSeenCache - 1)];
      if (known == reinterpret_cast<std::uintptr_t>(o)) return;
      known = reinterpret_cast<std::uintptr_t>(o);
      if (!seen_.insert(reinterpret_cast<std::uintptr_t>(o), 0).second) return;
    }
    count(o, r, false);
    if (gc || walks_without_gc(r.layer)) {
      prefetch_body(o, r);
      pending_.push_back(o);
    }
  }

  // The memory a walk reads beyond the object's header: a list's items, a dict's table, an instance's values.
  static void prefetch_body(PyObject* o, const TypeRecord& r) {
    if (r.instance && r.managed_dict) {
      __builtin_prefetch(reinterpret_cast<char*>(o) - r.pre_header);
    } else if (r.layer == Layer::Dict) {
      __builtin_prefetch(reinterpret_cast<PyDictObject*>(o)->ma_keys);
      if (PyDictValues* v = reinterpret_cast<PyDictObject*>(o)->ma_values) __builtin_prefetch(v);
    } else if (r.layer == Layer::List) {
      __builtin_prefetch(reinterpret_cast<PyListObject*>(o)->ob_item);
    }
  }

  void drain() {
    holder_ = kNoHolder;  // untracked holders: their references keep objects alive, as the gc sees it
    while (pending_head_ < pending_.size()) {
      PyObject* o = pending_[pending_head_++];
      walk(o, record(Py_TYPE(o)));
    }
    pending_.clear();
    pending_head_ = 0;
  }
  // As drain(), but the last kLag objects wait (first in, first out): their bodies, prefetched when they were
  // counted, have time to arrive.
  void drain_lagged() {
    constexpr std::size_t kLag = 8;
    if (pending_.size() - pending_head_ <= kLag) return;
    holder_ = kNoHolder;
    while (pending_.size() - pending_head_ > kLag) {
      PyObject* o = pending_[pending_head_++];
      walk(o, record(Py_TYPE(o)));
    }
    if (pending_head_ >= 4096 && pending_head_ * 2 >= pending_.size()) {  // keep the queue short
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_head_));
      pending_head_ = 0;
    }
  }

  // The capture's edges of `o`, as reach(target, owned) calls.
  void walk(PyObject* o, const TypeRecord& r);

  void seed_threads();
  void exclude_tool_objects();

  // Garbage, found as the collector finds it: each tracked object starts with its reference count, less one per
  // reference from another tracked object; those left with a positive count are held from outside (roots), and
  // what no root reaches over the recorded references is garbage. The object's index is kept where the collector
  // keeps its count, in the gc header's prev link (marked kGcScratch; capture/internals.hpp says why that is safe).
  static constexpr std::uint32_t kNoHolder = 0xFFFFFFFFu;
  static constexpr std::uint32_t kRoot = 0x7FFFFFFFu;
  std::uint32_t gc_index(PyObject* o) {
    const std::uint32_t known = GcHeaderIndex::get(o);
    if (known != GcHeaderIndex::kNone) return known;
    if (__builtin_expect(refs_.size() >= lim_.nodes, 0)) over_limit(lim_.nodes, "gc-tracked objects");
    const auto k = static_cast<std::uint32_t>(refs_.size());
    const Py_ssize_t rc = Py_REFCNT(o);
    refs_.push_back(rc >= kRoot ? kRoot : static_cast<std::uint32_t>(rc));
    by_index_.push_back(o);
    edge_begin_.push_back(0);
    edge_end_.push_back(0);
    headers_.set(o, k);
    return k;
  }
  std::vector<std::uint8_t> reachable() const;  // by gc index
  void count_pass(const GcLinks* const* heads, int nheads);
  void count_lists(const GcLinks* const* heads, int nheads, bool record_refs);
  void count_tracked(const GcLinks* const* heads, int nheads);
  void subtract_garbage(const std::vector<std::uint8_t>& reached);

  // The garbage search's indices are 32-bit, as the capture's are (the same limits, capture/walk.hpp).
  [[noreturn]] static void over_limit(std::size_t limit, const char* what) {
    throw Error("refgraph: garbage search: the heap has more than " + std::to_string(limit) + " " + what +
                ", the most it can index (32-bit indices)");
  }
  const CaptureLimits lim_ = capture_limits();
  GcHeaderIndex headers_;  // gc indices, in the headers while find_garbage_ counts
  const bool sizes_;
  const bool find_garbage_;
  const bool skip_garbage_;
  const bool tracked_only_;  // untracked objects are not wanted: no reference is followed
  long long garbage_ = -1;
  std::uint32_t holder_ = kNoHolder;  // gc index of the tracked object being walked (find_garbage only)
  BigVector<std::uint32_t> refs_;     // by gc index: references not explained by tracked holders
  // References between tracked objects: a holder's targets are recorded together, while it is walked.
  BigVector<std::uint32_t> edge_begin_, edge_end_;  // by gc index of the holder: its range in targets_
  BigVector<std::uint32_t> targets_;
  BigVector<PyObject*> order_;     // every tracked object, in the order of the gc lists
  BigVector<PyObject*> by_index_;  // tracked objects by gc index
  bool garbage_mode_ = false;
  std::unordered_map<PyObject*, Py_ssize_t> from_garbage_;
  std::vector<std::size_t> list_starts_;  // where each list begins in order_
  const std::vector<std::string>& skip_files_;
  TypeTable<TypeRecord> types_;

  struct Pending {
    PyObject* target;
    std::uint32_t holder;
    bool owned;
  };
  static constexpr unsigned kRing = 32;  // a power of two
  Pending ring_[kRing];
  unsigned ring_head_ = 0, ring_count_ = 0;
  bool pipelined_ = false;                 // references wait in the ring (while the gc lists are counted)
  std::uint32_t edge_holder_ = kNoHolder;  // the holder whose references are being recorded

  PtrIndex seen_{1 << 12};  // untracked objects with more than one reference, frames
  static constexpr std::size_t kSeenCache = 256;
  std::uintptr_t seen_cache_[kSeenCache] = {};
  PtrIndex excluded_{64};           // gc-tracked objects only the tool's frames hold
  std::vector<PyObject*> pending_;  // untracked objects counted, still to walk (from pending_head_ on)
  std::size_t pending_head_ = 0;
  std::optional<ThreadSeeds> threads_;
  std::vector<PyObject*> root_frames_, tool_frames_;
  std::vector<PyObject*> not_counted_;  // the tool's frames and objects: marked seen before each count

  std::unordered_map<PyObject*, Py_ssize_t> tool_refs_;  // what the tool's frames refer to, and how often
};

void Counter::walk(PyObject* o, const TypeRecord& r) { for_each_referent(o, r, *this); }

void Counter::seed_threads() {
  threads_.emplace(skip_files_);
  for (const ThreadFrame& t : threads_->frames) (t.tool ? tool_frames_ : root_frames_).push_back(t.frame);
}

// The tool's frames are never counted, nor what only they hold: an object whose every reference comes from
// them, and, below it, what has that one holder only. (The capture drops everything only they reach; counting
// without edges sees one holder deep, which covers the tool's calls: their locals are arguments and results.)
void Counter::exclude_tool_objects() {
  for (PyObject* f : tool_frames_) not_counted_.push_back(f);
  if (tool_frames_.empty()) return;
  // What the tool's frames refer to (their counted references, as the capture sees them), and how often.
  for (PyObject* f : tool_frames_)
    for_each_frame_ref(f, *threads_, [this](PyObject* x, bool counted) {
      if (counted) ++tool_refs_[x];
    });
  std::vector<PyObject*> stack;
  for (auto [o, refs] : tool_refs_)
    if (Py_REFCNT(o) == refs) stack.push_back(o);
  while (!stack.empty()) {
    PyObject* o = stack.back();
    stack.pop_back();
    if (!excluded_.insert(reinterpret_cast<std::uintptr_t>(o), 0).second) continue;
    not_counted_.push_back(o);  // an untracked one is not counted when reached
    TypeRecord& r = record(Py_TYPE(o));
    if (!walks(o, r) || r.layer == Layer::Frame) continue;
    // Below it, what it alone holds: referents with one reference.
    auto visit_one = [](PyObject* x, void* arg) -> int {
      if (x != nullptr && Py_REFCNT(x) == 1) static_cast<std::vector<PyObject*>*>(arg)->push_back(x);
      return 0;
    };
    if (r.gc_type && Py_TYPE(o)->tp_traverse != nullptr) Py_TYPE(o)->tp_traverse(o, visit_one, &stack);
  }
  tool_refs_.clear();
}

std::vector<std::uint8_t> Counter::reachable() const {
  const std::size_t n = refs_.size();
  std::vector<std::uint8_t> reached(n, 0);
  std::vector<std::uint32_t> stack;
  for (std::uint32_t k = 0; k < n; ++k) {
    if (refs_[k] == 0 || reached[k]) continue;
    reached[k] = 1;
    stack.push_back(k);
    while (!stack.empty()) {
      const std::uint32_t h = stack.back();
      stack.pop_back();
      for (std::uint32_t e = edge_begin_[h]; e < edge_end_[h]; ++e) {
        const std::uint32_t t = targets_[e];
        if (!reached[t]) {
          reached[t] = 1;
          stack.push_back(t);
        }
      }
    }
  }
  return reached;
}

bool Counter::run() {
  if (!have_internals()) return false;
  if (find_garbage_ && gc_collecting()) return false;  // the prev links are the collector's now: a capture instead
  const GcLinks* heads[8];
  const int nheads = gc_list_heads(heads, 8);  // the three generations, then the permanent one (gc.freeze)
  if (nheads < 0) return false;
  seed_threads();  // allocates frame objects: before the gc lists are read
  GcPause pause;
  exclude_tool_objects();
  if (find_garbage_) headers_.activate();  // restored at the latest when the counter goes, whatever happens
  count_pass(heads, nheads);
  if (find_garbage_) {
    // The links are no longer read: they are put back on a second thread (plain stores to gc headers) while
    // this one searches the recorded edges, which touches no object.
    std::vector<std::uint8_t> reached;
    headers_.restore_in_order_beside(heads, nheads, list_starts_.data(), order_, [&] { reached = reachable(); });
    garbage_ = 0;
    for (std::uint8_t r : reached) garbage_ += r == 0;
    if (skip_garbage_ && garbage_ > 0) subtract_garbage(reached);
  }
  return true;
}

// Takes the garbage back out of the counts: each unreachable tracked object, and each untracked object whose
// every reference comes from the garbage (then what it refers to in turn). Costs in proportion to the garbage.
void Counter::subtract_garbage(const std::vector<std::uint8_t>& reached) {
  auto uncount = [&](PyObject* o, bool tracked) -> TypeRecord& {
    TypeRecord& r = record(Py_TYPE(o));
    --(tracked ? r.tracked : r.untracked);
    if (sizes_) r.bytes -= object_size(o, r.size_kind, r.pre_header);
    return r;
  };
  garbage_mode_ = true;
  for (std::size_t k = 0; k < reached.size(); ++k) {
    if (reached[k]) continue;
    PyObject* o = by_index_[k];
    walk(o, uncount(o, true));
  }
  PtrIndex dropped{64};
  std::vector<PyObject*> batch;
  do {
    batch.clear();
    for (auto [o, n] : from_garbage_)
      if (n == Py_REFCNT(o) && dropped.insert(reinterpret_cast<std::uintptr_t>(o), 0).second) batch.push_back(o);
    for (PyObject* o : batch) {
      TypeRecord& r = uncount(o, false);
      if (walks(o, r)) walk(o, r);
    }
  } while (!batch.empty());
  garbage_mode_ = false;
}

// One count of the heap; with find_garbage, it also records what the garbage search needs.
void Counter::count_pass(const GcLinks* const* heads, int nheads) {
  const bool record_refs = find_garbage_;
  if (tracked_only_) {
    count_tracked(heads, nheads);
    return;
  }
  for (PyObject* o : not_counted_) seen_.insert(reinterpret_cast<std::uintptr_t>(o), 0);
  for (PyObject* f : root_frames_) {
    TypeRecord& r = record(Py_TYPE(f));
    if (header_tracked(f)) continue;  // counted from the gc lists
    if (!seen_.insert(reinterpret_cast<std::uintptr_t>(f), 0).second) continue;
    count(f, r, false);
    walk(f, r);
    drain();
  }
  if (record_refs) {
    // Sized from the previous call's heap: growing these arrays copies megabytes on a big heap.
    static std::size_t last_tracked = 1 << 16, last_edges = 1 << 16;
    for (auto* v : {&refs_, &edge_begin_, &edge_end_}) v->reserve(last_tracked + last_tracked / 8);
    by_index_.reserve(last_tracked + last_tracked / 8);
    order_.reserve(last_tracked + last_tracked / 8);
    targets_.reserve(last_edges + last_edges / 8);
    list_starts_.assign(nheads, 0);
    struct Remember {
      const Counter& c;
      ~Remember() {
        last_tracked = std::max<std::size_t>(c.order_.size(), 1 << 16);
        last_edges = std::max<std::size_t>(c.targets_.size(), 1 << 16);
      }
    } remember{*this};
    count_lists(heads, nheads, record_refs);
    return;
  }
  count_lists(heads, nheads, record_refs);
}

// The gc lists alone: a tracked object's count does not depend on what it refers to.
void Counter::count_tracked(const GcLinks* const* heads, int nheads) {
  const bool use_excluded = excluded_.size() > 0;
  for (int h = 0; h < nheads; ++h)
    for_each_in_gc_list(
        heads[h],
        [&](PyObject* o) {
          if (use_excluded && excluded_.find(reinterpret_cast<std::uintptr_t>(o)) != PtrIndex::kAbsent) return;
          count(o, record(Py_TYPE(o)), true);
        },
        [](PyObject*) {});
}

void Counter::count_lists(const GcLinks* const* heads, int nheads, bool record_refs) {
  const bool use_excluded = excluded_.size() > 0;
  pipelined_ = true;
  edge_holder_ = kNoHolder;
  for (int h = 0; h < nheads; ++h) {
    const bool frozen = h == nheads - 1;  // the collector never frees these: roots
    const GcLinks* head = heads[h];
    if (record_refs) list_starts_[h] = order_.size();
    // Pipelined (capture/internals.hpp): each object's body is prefetched before it is walked.
    for_each_in_gc_list(
        head,
        [&](PyObject* o) {
          if (record_refs) order_.push_back(o);
          if (use_excluded && excluded_.find(reinterpret_cast<std::uintptr_t>(o)) != PtrIndex::kAbsent) return;
          TypeRecord& r = record(Py_TYPE(o));
          count(o, r, true);
          if (record_refs) {
            holder_ = gc_index(o);
            if (frozen) refs_[holder_] = kRoot;
          }
          walk(o, r);
          drain_lagged();  // the untracked objects resolved so far; their references join the ring
        },
        [&](PyObject* ahead) { prefetch_body(ahead, record(Py_TYPE(ahead))); });
    flush();
  }
  if (edge_holder_ != kNoHolder) edge_end_[edge_holder_] = static_cast<std::uint32_t>(targets_.size());
  edge_holder_ = kNoHolder;
  pipelined_ = false;
}

}  // namespace

std::optional<std::vector<TypeCount>> count_heap(bool sizes, const std::vector<std::string>& skip_files,
                                                 bool find_garbage, bool skip_garbage, bool tracked_only,
                                                 long long* garbage) {
  Counter c(sizes, skip_files, find_garbage, skip_garbage, tracked_only);
  if (!c.run()) return std::nullopt;
  std::vector<TypeCount> out;
  for (const auto& r : c.records())
    if (r->tracked != 0 || r->untracked != 0) out.push_back({r->type, r->tracked, r->untracked, r->bytes});
  *garbage = c.garbage();
  return out;
}

}  // namespace refgraph::capture
