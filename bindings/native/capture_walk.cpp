// The live heap walk.
//
// How it works, with the GIL held and automatic garbage collection paused (so no finalizer, i.e. no user code,
// can run and nothing is freed while we read raw pointers):
//  1. Seeds: the frames of every thread and their callers, gathered first (that makes frame objects and frees a
//     dict), then the values of sys.modules (roots of kind module) and those frames (kind thread frame; frames
//     whose code file starts with a skip_files prefix, the tool's own, are marked "skip": they are never nodes).
//     Buffers are sized from sys.getallocatedblocks(), a count known at once, and a second thread faults their
//     pages in ahead of the walk.
//  2. A breadth-first walk over a queue that is the node array itself: node i is processed after nodes 0..i-1,
//     so its out-edges are appended contiguously and the edge array is already grouped by source. Each referent
//     is looked up to find its node, and a new one is appended to the queue:
//     - an object with a gc header (header mode, 3.11, while no collection is under way and nothing is frozen)
//       keeps its node index in that header's prev link for the length of the walk (capture_internals.hpp says
//       why that is safe); the links are put back from the gc's lists, in list order, before anything else runs;
//     - a "sole leaf" (reference count 1, a type the gc does not track, owning nothing we walk: most str, int and
//       float objects) can only be met once, through its owner: it becomes a node at once, processed while it is
//       in cache, with no lookup at all;
//     - anything else (a shared str or int, a code object) goes through an open-addressing address set
//       (ptr_index.hpp), which is then small. Without header mode every object but the sole leaves does.
//     Phase 1 walks what the roots reach; phase 2 appends the gc-tracked objects not reached yet (held from C, or
//     garbage). The gc's lists of tracked objects are read in place (capture_internals.hpp), a step per node
//     during phase 1 so that their chain of cache misses overlaps the walk's; where their layout is unknown,
//     gc.get_objects() builds a list instead, which is bookkeeping (marked "skip") and whose reference to each
//     object is discounted.
//     The walk is bound by memory latency, so every read is prefetched ahead: the queue's objects (header, then
//     body: list items, instance values, dict keys), each edge's target header (read half-way along a ring of
//     pending edges) and then, where the address set is needed, its slot.
//  3. Edges: for the types we know (list, tuple, dict, set, cell, function, method, type, frame, weakref, and
//     instances of Python classes) the walk reads the fields tp_traverse would visit, in C, and labels them;
//     anything else goes through tp_traverse (only where PyObject_IS_GC holds) and gets unlabelled edges. Some
//     strong references tp_traverse omits because they cannot form cycles are added as edges too (str keys of
//     dicts, a class's __name__/__qualname__/__slots__, the locals of a frame that is still executing), so that
//     every reference the heap holds is counted.
//  4. External roots: an object whose reference count (less gc.get_objects()'s own reference, if used) exceeds
//     the references counted in the heap is held from C. Each node keeps a balance: +1 per counted in-edge,
//     -refcount when processed, so this needs no second pass over the objects.
//  5. The tool's own objects: gc-tracked objects that only the skipped frames reach are dropped.
//  6. The build, with the GIL released unless the caller pins the objects: nodes are radix-sorted by address and
//     the HeapGraph is assembled from final arrays (RawGraphParts). The independent parts run on two threads
//     (in_parallel): the two halves of the counting sort by region and of the regions' own sorts, and the node
//     columns beside the edge columns. The in-edge index is left for the graph to build on first use.
// Memory: the big buffers are 2 MiB-aligned huge-page mappings (zeroed_alloc.hpp) and the graph's arrays are
// hinted to huge pages: page faults, not the walk, once dominated.
//
// Sizes are sys.getsizeof's, computed in C: for a type whose __sizeof__ is object's (the basicsize formula) or
// one of the builtin implementations we reproduce (int, str, bytearray, list, dict, set, frozenset, type, frame,
// code, generator, coroutine, async generator) the size agrees with sys.getsizeof to the byte. For a type whose
// __sizeof__ is anything else (a Python method of a user class, or another C implementation such as deque's) we
// do not call it, since that would run code: the basicsize formula is used, which may undercount.
#include "capture_walk.hpp"

#include <Python.h>
#include <frameobject.h>
#include <structmember.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <fstream>
#include <future>
#include <system_error>
#include <thread>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>

#include "../../core/src/huge_pages.hpp"
#include "capture/gc_index.hpp"
#include "capture/graph_build.hpp"
#include "capture/referents.hpp"
#include "capture/seeds.hpp"
#include "capture/type_facts.hpp"
#include "capture_frames.hpp"
#include "gc_pause.hpp"
#include "parallel.hpp"
#include "capture_internals.hpp"
#include "capture_labels.hpp"
#include "capture_types.hpp"
#include "column.hpp"
#include "ptr_index.hpp"
#include "refgraph/errors.hpp"

namespace refgraph::capture {

namespace {

constexpr std::uint32_t kSkip = 0xFFFFFFFEu;  // in the address set: the tool's own object, never a node
constexpr std::uint8_t kProcessed = 1u << 6;  // node flag while capturing: processed out of turn (a sole leaf)

enum class LabelKind : std::uint8_t { None, Module, Function, Type, Code, Frame, CFunction, Str, Bytes };

PyObject* g_get_objects = nullptr;            // gc.get_objects
CaptureLimits g_limits;

static_assert(CaptureLimits{}.nodes <= kSkip && kSkip < PtrIndex::kAbsent && kSkip < kNoNode);
static_assert(CaptureLimits{}.edges <= 0xFFFFFFFFu && CaptureLimits{}.strings <= kIndexLabelBit);

[[noreturn]] void over_limit(std::size_t limit, const char* what, const char* index) {
  throw Error("refgraph: capture: the heap has more than " + std::to_string(limit) + " " + what +
              ", the most one capture can index (" + index + "); nothing was captured");
}

// The capture's facts of a type: its layout, and its name and slot labels in this capture's string table.
struct TypeInfo : TypeFacts {
  StringId name = kNoString;
  LabelKind label_kind = LabelKind::None;
  std::vector<EdgeLabel> slot_labels;  // of TypeFacts::slots
};

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::uint64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

class Walker {
 public:
  explicit Walker(const CaptureOptions& o) : opt_(o), lim_(g_limits) {
    for (std::size_t f = 0; f < static_cast<std::size_t>(Field::count); ++f) field_labels_[f] = label(kFieldNames[f]);
    int_key_label_ = label("[<int>]");
  }

  ~Walker() {
    join_prefault();
    restore_headers();
  }
  void start_prefault(std::size_t blocks);
  void join_prefault();
  void collect_threads();
  bool use_headers();
  void seed_modules();
  void seed_threads();
  void seed_gc_list(PyObject* list);
  void seed_only(const std::vector<PyObject*>& objs);
  void set_in_refs(const std::vector<std::int64_t>& in_refs);
  bool start_chase();
  void finish_chase() {
    while (chasing_) chase_step();
  }
  void seed_gathered();
  void seed_keep(const std::vector<PyObject*>& objs);
  std::size_t gathered() const { return gc_objs_.size(); }
  void skip(PyObject* o) {
    if (headers_.active() && GcHeaderIndex::has_header(o))
      headers_.set(o, kSkip);
    else
      index_.insert(reinterpret_cast<std::uintptr_t>(o), kSkip);
  }
  void restore_headers();
  void reserve(std::size_t nodes, std::size_t set_entries);
  void run();
  void resolve_late();
  void count_skipped_frames();
  void mark_external();
  void drop_tool_objects();
  void apply_distinct_names();
  HeapGraph build(Metadata md, CaptureStats* stats);

  std::size_t phase2_start = 0;
  std::size_t num_nodes() const { return objs_.size(); }
  std::size_t address_set_size() const { return index_.size(); }

 private:
  EdgeLabel field_labels_[static_cast<std::size_t>(Field::count)] = {};

  StringId label(std::string_view s) {
    const StringId id = strings_.intern(s);
    if (__builtin_expect(id >= lim_.strings, 0))
      over_limit(lim_.strings, "distinct label strings", "31-bit string ids beside sequence-index labels");
    return id;
  }

  std::uint32_t discover(PyObject* o) {
    if (closed_) {  // a restricted capture: no new nodes
      std::uint32_t c = index_.find(reinterpret_cast<std::uintptr_t>(o));
      return c == PtrIndex::kAbsent ? kSkip : c;
    }
    if (headers_.active() && GcHeaderIndex::has_header(o)) return discover_gc(o);
    auto [c, inserted] = index_.insert(reinterpret_cast<std::uintptr_t>(o), static_cast<std::uint32_t>(objs_.size()));
    if (inserted) append(o);
    return c;
  }
  // The node of an object, kSkip for the tool's own, PtrIndex::kAbsent if not met yet.
  std::uint32_t lookup(PyObject* o) const {
    if (headers_.active() && GcHeaderIndex::has_header(o)) return GcHeaderIndex::get(o);
    return index_.find(reinterpret_cast<std::uintptr_t>(o));
  }

  // Header mode (use_headers()): an object with a gc header keeps its node index in the header's prev link while
  // the walk runs (capture_internals.hpp), so only objects without one need the address set. The read is of a
  // line the walk fetches anyway for the object's reference count.
  std::uint32_t discover_gc(PyObject* o) {
    const std::uint32_t known = GcHeaderIndex::get(o);
    if (known != GcHeaderIndex::kNone) return known;
    const auto c = static_cast<std::uint32_t>(objs_.size());
    headers_.set(o, c);
    append(o);
    return c;
  }
  // A new node. The per-node columns share one capacity; described_ and edge_begin_ are written by
  // process() and get their length at the end (finish_nodes()).
  __attribute__((always_inline)) std::uint32_t append(PyObject* o) {
    const std::size_t i = objs_.size();
    if (__builtin_expect(i == objs_.capacity(), 0)) grow_nodes(i * 2 + 1024);
    objs_.push_unchecked(o);
    flags_.push_unchecked(0);
    balance_.push_unchecked(0);
    return static_cast<std::uint32_t>(i);
  }
  void grow_nodes(std::size_t cap) {
    if (objs_.size() >= lim_.nodes) over_limit(lim_.nodes, "objects", "32-bit node indices");
    cap = std::min(cap, lim_.nodes);
    objs_.reserve(cap);
    flags_.reserve(cap);
    balance_.reserve(cap);
    described_.reserve(cap);
    edge_begin_.reserve(cap + 1);
  }
  void finish_nodes() {
    described_.set_size(objs_.size());
    edge_begin_.set_size(objs_.size());
  }

  // An object with one reference whose type the gc does not track and that owns nothing we walk (str, int,
  // float, bytes, ...): its one owner is the only object that reaches it, so the walk meets it once and it needs
  // no entry in the address set. Most of a heap's str and int objects are such.
  static bool sole_leaf(PyObject* o) {
    if (Py_REFCNT(o) != 1) return false;
    PyTypeObject* t = Py_TYPE(o);
    return !PyType_HasFeature(t, Py_TPFLAGS_HAVE_GC) && t != &PyCode_Type && t != &PyRange_Type &&
           t != &PyModuleDef_Type;
  }

  void set_root(PyObject* o, RootKind kind) {
    std::uint32_t c = discover(o);
    if (c == kSkip) return;
    if ((flags_[c] & kRootKindMask) == 0)
      flags_[c] = static_cast<std::uint8_t>(flags_[c] | (std::uint8_t(kind) << kRootKindShift));
  }

  struct Pending {
    PyObject* target;
    std::uint32_t edge;
    bool counted;
    bool classified;  // leaf is known (and, if not a leaf, the address-set slot prefetched)
    bool leaf;
  };
  static constexpr unsigned kRing = 64, kMid = 32;  // kRing a power of two

  // One reference from the object being processed. `counted`: the holder owns a reference (a borrowed pointer,
  // such as a frame's f_globals, is drawn but not counted when judging External).
  void emit(PyObject* t, EdgeLabel lab, std::uint8_t eflags = 0, bool counted = true) {
    if (t == nullptr) return;
    // Resolving an edge takes two dependent reads that would each miss the cache: the target's header (is it a
    // sole leaf?) and, for the others, its slot in the address set. So each edge waits in a ring: the header is
    // prefetched when the edge is emitted, read kMid edges later (then the slot is prefetched), and the edge is
    // resolved kRing edges after it was emitted.
    __builtin_prefetch(t);
    if ((reinterpret_cast<std::uintptr_t>(t) & 63) < sizeof(GcLinks))
      __builtin_prefetch(reinterpret_cast<char*>(t) - sizeof(GcLinks));  // the gc header, in the line before
    if (__builtin_expect(edst_.size() == edst_.capacity(), 0)) grow_edges(edst_.size() * 2 + 1024);
    const auto e = static_cast<std::uint32_t>(edst_.size());
    edst_.push_unchecked(kSkip);  // filled in by resolve_one
    elab_.push_unchecked(lab);
    eflg_.push_unchecked(static_cast<std::uint8_t>(eflags | cur_flags_));
    if (ring_count_ == kRing) resolve_one();
    ring_[(ring_head_ + ring_count_) & (kRing - 1)] = Pending{t, e, counted, false, false};
    ++ring_count_;
    if (ring_count_ > kMid) classify(ring_[(ring_head_ + ring_count_ - 1 - kMid) & (kRing - 1)]);
  }

  // The edge columns share one capacity, at most the edge limit.
  void grow_edges(std::size_t cap) {
    if (edst_.size() >= lim_.edges) over_limit(lim_.edges, "references", "32-bit edge indices");
    cap = std::min(cap, lim_.edges);
    edst_.reserve(cap);
    elab_.reserve(cap);
    eflg_.reserve(cap);
  }

  void classify(Pending& p) {
    p.classified = true;
    p.leaf = !closed_ && sole_leaf(p.target);  // (a restricted capture makes no new nodes)
    if (!p.leaf && !(headers_.active() && GcHeaderIndex::has_header(p.target))) index_.prefetch(reinterpret_cast<std::uintptr_t>(p.target));
  }

  void resolve_one() {
    Pending p = ring_[ring_head_];
    ring_head_ = (ring_head_ + 1) & (kRing - 1);
    --ring_count_;
    if (!p.classified) classify(p);
    if (p.leaf) {
      if (p.counted) {  // the owner's reference: a node of its own, never looked up
        const std::uint32_t c = append(p.target);
        edst_[p.edge] = c;
        process_leaf(c);  // now, while the object is in cache; its balance stays 0 (one reference, counted)
      } else {  // a borrowed pointer to it (a weakref's referent): its node is found once the walk is over
        late_.push_back(p);
      }
      return;
    }
    std::uint32_t c = discover(p.target);
    edst_[p.edge] = c;  // kSkip: the tool's own object; the edge is dropped at build
    if (c != kSkip && p.counted) ++balance_[c];
  }
  void flush() {
    while (ring_count_ > 0) resolve_one();
  }

  // for_each_referent's sink (referents.hpp): each reference of the object being processed, labelled.
 public:
  static constexpr bool owned_keys() { return true; }
  const ThreadSeeds& threads() const { return *threads_; }
  void ref(PyObject* t, Via via, std::uint8_t flags, bool counted) { emit(t, edge_label(via), flags, counted); }

 private:
  EdgeLabel edge_label(Via via) {
    switch (via.kind) {
      case Via::None:
        return kNoEdgeLabel;
      case Via::Named:
        return field_labels_[via.n];
      case Via::Index:
        return index_label(via.n);
      case Via::Key:
        return key_label(via.key);
      case Via::Attr:
        return attr_label(via.key);
      case Via::Slot:
        return cur_info_->slot_labels[via.n];
      case Via::Local: {
        if (via.key != last_code_) {
          last_code_ = via.key;
          last_locals_ = &local_labels(reinterpret_cast<PyCodeObject*>(via.key));
        }
        return via.n < last_locals_->size() ? (*last_locals_)[via.n] : kNoEdgeLabel;
      }
    }
    return kNoEdgeLabel;
  }
  const TypeInfo* cur_info_ = nullptr;  // of the object being processed
  PyObject* last_code_ = nullptr;       // local_labels(last_code_) is *last_locals_
  const std::vector<EdgeLabel>* last_locals_ = nullptr;

  const TypeInfo& info(PyTypeObject* t) {
    return types_.get(t, [this](PyTypeObject* type, TypeInfo* ti) { make_info(type, ti); });
  }
  void make_info(PyTypeObject* t, TypeInfo* ti);
  void process(std::uint32_t i);
  void process_leaf(std::uint32_t i);
  std::uint64_t leaf_size(PyObject* o, const TypeInfo& ti);
  StringId node_label(PyObject* o, const TypeInfo& ti, std::uint8_t* flags);
  std::string frame_label(PyObject* frame);
  EdgeLabel key_label(PyObject* k);
  EdgeLabel attr_label(PyObject* name);
  const std::vector<EdgeLabel>& local_labels(PyCodeObject* code);
  std::string private_str(PyObject* s, bool quoted);

  // The sink of count_skipped_frames(): the nodes the tool's frames refer to get their counted references, and
  // marks for drop_tool_objects().
  struct SkippedFrameRefs {
    Walker& w;
    static constexpr bool owned_keys() { return true; }
    const ThreadSeeds& threads() const { return *w.threads_; }
    void ref(PyObject* t, Via, std::uint8_t, bool counted) {
      const std::uint32_t c = w.lookup(t);
      if (c == PtrIndex::kAbsent || c == kSkip) return;
      if (counted) ++w.balance_[c];
      w.skip_refs_.push_back(c);
    }
  };

  const CaptureOptions& opt_;
  const CaptureLimits lim_;
  StringTable strings_;
  PtrIndex index_{1 << 16};

  // Nodes, by capture index (discovery order).
  Column<PyObject*> objs_;
  Column<PyObject*> gc_objs_;  // the gc-tracked objects, gathered during phase 1
  Column<std::uint8_t> flags_;
  Column<std::int32_t> balance_;  // counted in-references minus the reference count
  Column<NodeDescription> described_;
  Column<std::uint32_t> edge_begin_;  // edges of node i: [edge_begin_[i], edge_begin_[i + 1])
  std::vector<bool> keep_;

  // Edges, grouped by source in capture order.
  Column<std::uint32_t> edst_;
  Column<EdgeLabel> elab_;
  Column<std::uint8_t> eflg_;
  std::uint8_t cur_flags_ = 0;

  // Caches, valid for this capture only (nothing is freed while it runs).
  TypeTable<TypeInfo> types_;
  // distinct_names: the type that took each short name first (nullptr once another took it too), and the type
  // names apply_distinct_names() changes (from, to), all at once.
  std::unordered_map<StringId, PyTypeObject*> name_owner_;
  std::vector<std::pair<StringId, StringId>> shared_names_;
  EdgeLabel int_key_label_ = kNoEdgeLabel;
  PtrIndex key_labels_{1024};
  PtrIndex attr_labels_{1024};
  std::unordered_map<PyObject*, std::vector<EdgeLabel>> code_labels_;

  // Frames.
  std::optional<ThreadSeeds> threads_;  // collect_threads()
  std::vector<PyObject*> skipped_frames_;
  PyObject* modules_dict_ = nullptr;

  GcHeaderIndex headers_;  // header mode (use_headers())
  std::thread prefaulter_;              // start_prefault()

  Pending ring_[kRing] = {};
  std::vector<Pending> late_;  // uncounted edges to sole leaves
  unsigned ring_head_ = 0, ring_count_ = 0;

  bool closed_ = false;
  std::vector<std::uint32_t> skip_refs_;  // nodes the skipped frames refer to
  std::vector<std::uint32_t> asked_;      // nodes of CaptureOptions::keep: never the tool's own
  std::size_t processed_ = 0;             // nodes [0, processed_) are processed (the queue's head)

  // Following the gc's lists (start_chase()).
  const GcLinks* chase_heads_[8] = {};
  std::size_t chase_list_starts_[8] = {};  // where each list begins in gc_objs_
  int chase_heads_n_ = 0, chase_h_ = 0;
  const GcLinks* chase_at_ = nullptr;
  bool chasing_ = false, chased_ = false;  // chased_: gc_objs_ holds every tracked object, in list order
  void chase_step() {
    if (!chasing_) return;
    const auto* g = reinterpret_cast<const GcLinks*>(chase_at_->next);
    if (g == chase_heads_[chase_h_]) {
      if (++chase_h_ == chase_heads_n_) {
        chasing_ = false;
        chased_ = true;
        return;
      }
      chase_list_starts_[chase_h_] = gc_objs_.size();
      chase_at_ = chase_heads_[chase_h_];
      return;
    }
    gc_objs_.push_back(reinterpret_cast<PyObject*>(const_cast<GcLinks*>(g + 1)));
    __builtin_prefetch(g);  // read at the next step, a node's processing later: the miss is not waited for
    chase_at_ = g;
  }

};

// ---- seeds ----

void Walker::seed_modules() {
  modules_dict_ = for_each_module([this](PyObject* m) { set_root(m, RootKind::Module); });
}

// The threads' frames, gathered before anything is discovered: gathering them makes frame objects and frees a
// dict, which relinks the gc's lists (so no prev link may be ours yet, use_headers()).
void Walker::collect_threads() { threads_.emplace(opt_.skip_files); }

void Walker::seed_threads() {
  for (const ThreadFrame& t : threads_->frames) {
    if (t.tool) {
      skip(t.frame);
      skipped_frames_.push_back(t.frame);
    } else {
      set_root(t.frame, RootKind::ThreadFrame);
    }
  }
}

// Header mode needs the gc's lists at rest (no collection under way) and nothing frozen: gc.freeze() keeps the
// objects of a forked server's parent out of the collector's writes so their pages stay shared, and the capture
// should not be what copies them.
bool Walker::use_headers() {
  if (GcHeaderIndex::at_rest(true)) headers_.activate();
  return headers_.active();
}

// Puts back every prev link header mode used: the tracked objects' from gc_objs_ (list order) once the chase has
// gathered them all, else by following the next links; the untracked ones' held only the "finalized" flag.
void Walker::restore_headers() {
  if (chased_)
    headers_.restore_in_order(chase_heads_, chase_heads_n_, chase_list_starts_, gc_objs_);
  else
    headers_.restore();
}

void Walker::seed_gc_list(PyObject* list) {
  const Py_ssize_t n = PyList_GET_SIZE(list);
  for (Py_ssize_t i = 0; i < n; ++i) {
    std::uint32_t c = discover(PyList_GET_ITEM(list, i));
    if (c == kSkip) continue;
    ++balance_[c];  // the list's own reference is not the heap's
  }
}

void Walker::seed_only(const std::vector<PyObject*>& objs) {
  for (PyObject* o : objs) discover(o);
  closed_ = true;
}

void Walker::seed_keep(const std::vector<PyObject*>& objs) {
  for (PyObject* o : objs) {
    const std::uint32_t c = discover(o);
    if (c == kSkip) continue;
    ++balance_[c];  // the holder's reference
    asked_.push_back(c);
  }
}

void Walker::set_in_refs(const std::vector<std::int64_t>& in_refs) {
  for (std::size_t i = 0; i < objs_.size() && i < in_refs.size(); ++i) {
    const Py_ssize_t rc = Py_REFCNT(objs_[i]);
    balance_[i] = static_cast<std::int32_t>(std::min<std::int64_t>(in_refs[i], 1 << 30) -
                                            (rc > (1 << 30) ? (1 << 30) : rc));
  }
}

bool Walker::start_chase() {
  // The gc's lists are linked lists: following them is a chain of dependent cache misses. So they are followed a
  // step at a time during phase 1 (run() calls chase_step()), whose own misses are independent of it and overlap
  // it, into an array that phase 2 then reads with prefetching. Nothing changes the lists meanwhile: from here to
  // finish_chase() the walk runs no Python code, allocates no Python object and changes no gc tracking.
  chase_heads_n_ = gc_list_heads(chase_heads_, 8);
  if (chase_heads_n_ <= 0) return chase_heads_n_ == 0;
  chase_h_ = 0;
  chase_list_starts_[0] = gc_objs_.size();
  chase_at_ = chase_heads_[0];
  chasing_ = true;
  return true;
}

void Walker::seed_gathered() {
  constexpr std::size_t kAhead = 16;
  const std::size_t n = gc_objs_.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      if (headers_.active())
        GcHeaderIndex::prefetch(gc_objs_[i + kAhead]);
      else
        index_.prefetch(reinterpret_cast<std::uintptr_t>(gc_objs_[i + kAhead]));
    }
    discover(gc_objs_[i]);
  }
  if (!headers_.active()) gc_objs_.release();  // else kept for restore_headers(), then scratch for the build
}

void Walker::reserve(std::size_t nodes, std::size_t set_entries) {
  // Columns are mappings whose untouched pages cost nothing: reserve generously so that growing (moving pages)
  // is rare. The address set is written all over: sized for what is expected, it grows if needed.
  nodes += 65536;
  grow_nodes(nodes);
  grow_edges(nodes * 2);
  gc_objs_.reserve(nodes);  // also the build's sort scratch (sort_by_address) in header mode
  index_.reset(set_entries + 4096);
}

// The walk writes some 60 bytes of fresh column memory an object, and zeroing those pages on first touch cost
// about a tenth of the walk, with the GIL held. So a second thread faults them in ahead of the walk, in rounds
// across the columns, up to a conservative estimate of what they will hold (an overshoot would only raise the
// peak): 70% of the allocated blocks as nodes, 1.2 edges a node. It changes no byte (prefault_range) and is
// joined before the columns are freed or moved by the build.
void Walker::start_prefault(std::size_t blocks) {
  const std::size_t nodes = blocks / 10 * 7, edges = nodes / 5 * 6;
  struct Span {
    void* p;
    std::size_t bytes;
  };
  const Span spans[] = {
      {objs_.begin(), std::min(nodes, objs_.capacity()) * sizeof(PyObject*)},
      {flags_.begin(), std::min(nodes, flags_.capacity())},
      {balance_.begin(), std::min(nodes, balance_.capacity()) * sizeof(std::int32_t)},
      {described_.begin(), std::min(nodes, described_.capacity()) * sizeof(NodeDescription)},
      {edge_begin_.begin(), std::min(nodes, edge_begin_.capacity()) * sizeof(std::uint32_t)},
      {edst_.begin(), std::min(edges, edst_.capacity()) * sizeof(std::uint32_t)},
      {elab_.begin(), std::min(edges, elab_.capacity()) * sizeof(EdgeLabel)},
      {eflg_.begin(), std::min(edges, eflg_.capacity())},
  };
  try {
    prefaulter_ = std::thread([spans] {
      constexpr std::size_t kRounds = 32;  // the walk fills the columns together: keep ahead of it in all of them
      for (std::size_t r = 0; r < kRounds; ++r) {
        for (const Span& s : spans) {
          const std::size_t lo = s.bytes * r / kRounds, hi = s.bytes * (r + 1) / kRounds;
          prefault_range(static_cast<char*>(s.p) + lo, hi - lo);
        }
      }
    });
  } catch (const std::system_error&) {  // no thread: the pages fault on first touch
  }
}

void Walker::join_prefault() {
  if (prefaulter_.joinable()) prefaulter_.join();
}

// ---- the walk ----

void Walker::run() {
  constexpr std::size_t kAhead = 32;
  do {
    for (; processed_ < objs_.size(); ++processed_) {
      const std::size_t i = processed_;
      if (i + kAhead < objs_.size() && !(flags_[i + kAhead] & kProcessed)) {
        auto* ahead = reinterpret_cast<char*>(objs_[i + kAhead]);
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead - 32);  // the GC header and a managed dict's pointers, before the object
      }
      if (i + kAhead / 2 < objs_.size() && !(flags_[i + kAhead / 2] & kProcessed))
        prefetch_body(objs_[i + kAhead / 2]);  // its header has arrived by now
      if (flags_[i] & kProcessed) {
        edge_begin_[i] = static_cast<std::uint32_t>(edst_.size());  // a leaf: no edges
      } else {
        process(static_cast<std::uint32_t>(i));
        chase_step();
      }
    }
    flush();
  } while (processed_ < objs_.size());
}

void Walker::make_info(PyTypeObject* t, TypeInfo* ti) {
  static_cast<TypeFacts&>(*ti) = type_facts(t);
  for (const auto& slot : ti->slots) ti->slot_labels.push_back(label(slot.second));
  ti->name = label(opt_.shortnames ? type_short_name(t) : type_long_name(t));
  if (opt_.shortnames && opt_.distinct_names) {
    auto [owner, first] = name_owner_.try_emplace(ti->name, t);
    if (!first) {
      // The first type's nodes are renamed at the end; a builtin type keeps the plain name (renamed back then).
      if (owner->second != nullptr && !type_is_builtin(owner->second))
        shared_names_.emplace_back(ti->name, label(type_distinct_name(owner->second)));
      owner->second = nullptr;
      const StringId plain = ti->name;
      ti->name = label(type_distinct_name(t));
      if (type_is_builtin(t)) shared_names_.emplace_back(ti->name, plain);
    }
  }
  if (PyType_FastSubclass(t, Py_TPFLAGS_TYPE_SUBCLASS))
    ti->label_kind = LabelKind::Type;
  else if (t == &PyModule_Type || PyType_IsSubtype(t, &PyModule_Type))
    ti->label_kind = LabelKind::Module;
  else if (t == &PyFunction_Type)
    ti->label_kind = LabelKind::Function;
  else if (t == &PyCode_Type)
    ti->label_kind = LabelKind::Code;
  else if (t == &PyFrame_Type)
    ti->label_kind = LabelKind::Frame;
  else if (t == &PyCFunction_Type || t == &PyCMethod_Type)
    ti->label_kind = LabelKind::CFunction;
  else if (opt_.values && PyType_FastSubclass(t, Py_TPFLAGS_UNICODE_SUBCLASS))
    ti->label_kind = LabelKind::Str;
  else if (opt_.values && PyType_FastSubclass(t, Py_TPFLAGS_BYTES_SUBCLASS))
    ti->label_kind = LabelKind::Bytes;
}

void Walker::process(std::uint32_t i) {
  PyObject* o = objs_[i];
  const TypeInfo& ti = info(Py_TYPE(o));
  const std::uint64_t size = size_of(o, static_cast<const TypeFacts&>(ti));
  const bool gc = is_gc(o, ti);
  if (gc && GcHeaderIndex::tracked(o)) flags_[i] |= kGcTracked;
  described_[i] = {size, ti.name, ti.label_kind == LabelKind::None ? kNoString : node_label(o, ti, &flags_[i])};
  Py_ssize_t rc = Py_REFCNT(o);
  balance_[i] -= static_cast<std::int32_t>(rc > (1 << 30) ? (1 << 30) : rc);
  edge_begin_[i] = static_cast<std::uint32_t>(edst_.size());
  cur_flags_ = o == modules_dict_ ? kEdgeDeferred : 0;  // sys.modules entries rarely explain a leak
  if (gc || walks_without_gc(ti.layer)) {
    cur_info_ = &ti;
    for_each_referent(o, ti, *this);
  }
  cur_flags_ = 0;
}

// process() for a sole leaf (not gc-tracked, no edges, reference count 1 and one counted in-edge: balance 0).
void Walker::process_leaf(std::uint32_t i) {
  PyObject* o = objs_[i];
  const TypeInfo& ti = info(Py_TYPE(o));
  described_[i] = {leaf_size(o, ti), ti.name,
                   ti.label_kind == LabelKind::None ? kNoString : node_label(o, ti, &flags_[i])};
  flags_[i] |= kProcessed;
}

// size_of, with the commonest case inline: an exact str of the compact ASCII layout.
std::uint64_t Walker::leaf_size(PyObject* o, const TypeInfo& ti) {
  if (Py_IS_TYPE(o, &PyUnicode_Type)) {
    const Py_ssize_t s = compact_ascii_sizeof(o);
    if (s >= 0) return static_cast<std::uint64_t>(s + ti.pre_header);
  }
  return size_of(o, static_cast<const TypeFacts&>(ti));
}

// ---- sizes and labels ----

std::string Walker::frame_label(PyObject* frame) {
  auto* f = reinterpret_cast<PyFrameObject*>(frame);
  PyCodeObject* code = PyFrame_GetCode(f);
  std::string file = utf8_of(code->co_filename);
  auto slash = file.find_last_of('/');
  if (slash != std::string::npos) file.erase(0, slash + 1);
  std::string out = file + ":" + std::to_string(PyFrame_GetLineNumber(f)) + " in ";
#if PY_VERSION_HEX >= 0x030B0000
  if (!append_utf8(out, code->co_qualname)) append_utf8(out, code->co_name);
#else
  append_utf8(out, code->co_name);
#endif
  Py_DECREF(code);
  return out;
}

StringId Walker::node_label(PyObject* o, const TypeInfo& ti, std::uint8_t* flags) {
  std::string text;
  switch (ti.label_kind) {
    case LabelKind::None:
      return kNoString;
    case LabelKind::Module:
      append_utf8(text, dict_find_str(PyModule_GetDict(o), "__name__"));
      break;
    case LabelKind::Function:
      append_utf8(text, reinterpret_cast<PyFunctionObject*>(o)->func_qualname);
      break;
    case LabelKind::Type: {
      auto* t = reinterpret_cast<PyTypeObject*>(o);
      if (t->tp_flags & Py_TPFLAGS_HEAPTYPE)
        append_utf8(text, reinterpret_cast<PyHeapTypeObject*>(t)->ht_qualname);
      else
        text = type_short_name(t);
      break;
    }
    case LabelKind::Code:
#if PY_VERSION_HEX >= 0x030B0000
      append_utf8(text, reinterpret_cast<PyCodeObject*>(o)->co_qualname);
#else
      append_utf8(text, reinterpret_cast<PyCodeObject*>(o)->co_name);
#endif
      break;
    case LabelKind::Frame:
      text = frame_label(o);
      break;
    case LabelKind::CFunction: {
      auto* f = reinterpret_cast<PyCFunctionObject*>(o);
      if (f->m_ml != nullptr && f->m_ml->ml_name != nullptr) text = f->m_ml->ml_name;
      break;
    }
    case LabelKind::Str: {
      bool cut = false;
      if (!append_utf8(text, o, opt_.max_value_len, &cut)) return kNoString;
      if (cut) text += "...";
      *flags |= kLabelIsValue;
      break;
    }
    case LabelKind::Bytes: {
      bool cut = false;
      text = bytes_text(o, opt_.max_value_len, &cut);
      if (cut) text += "...";
      *flags |= kLabelIsValue;
      break;
    }
  }
  return text.empty() ? kNoString : label(text);
}

// A str key or attribute name as shown: the name itself if the program's code chose it (is_program_name), its
// value with values=True, else only its length, so that a token used as a key stays out of dumps and reports.
std::string Walker::private_str(PyObject* s, bool quoted) {
  if (is_program_name(s)) return quoted ? "'" + utf8_of(s) + "'" : utf8_of(s);
  if (opt_.values) {
    std::string text;
    bool cut = false;
    append_utf8(text, s, opt_.max_value_len, &cut);
    text = escape_quoted(text);
    if (cut) text += "...";
    return "'" + text + "'";
  }
  return "<str len=" + std::to_string(PyUnicode_GET_LENGTH(s)) + ">";
}

EdgeLabel Walker::key_label(PyObject* k) {
  if (PyLong_CheckExact(k)) {
    if (!opt_.values) return int_key_label_;  // an int key is data (a user id, a card number), never a name
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(k, &overflow);
    if (!overflow && v >= 0 && v < static_cast<long long>(kIndexLabelBit)) return index_label(static_cast<std::uint32_t>(v));
    if (!overflow) return label("[" + std::to_string(v) + "]");
    return label("[<int>]");
  }
  std::uint32_t cached = key_labels_.find(reinterpret_cast<std::uintptr_t>(k));
  if (cached != PtrIndex::kAbsent) return cached;
  std::string text;
  if (PyUnicode_Check(k)) {
    text = "[" + private_str(k, true) + "]";
  } else if (PyBytes_Check(k)) {
    if (opt_.values) {
      bool cut = false;
      text = "[b'" + escape_quoted(bytes_text(k, opt_.max_value_len, &cut)) + (cut ? "...'" : "'") + "]";
    } else {
      text = "[<bytes len=" + std::to_string(PyBytes_GET_SIZE(k)) + ">]";
    }
  } else {
    text = "[<" + std::string(strings_[info(Py_TYPE(k)).name]) + ">]";
  }
  EdgeLabel l = label(text);
  key_labels_.insert(reinterpret_cast<std::uintptr_t>(k), l);
  return l;
}

EdgeLabel Walker::attr_label(PyObject* name) {
  std::uint32_t cached = attr_labels_.find(reinterpret_cast<std::uintptr_t>(name));
  if (cached != PtrIndex::kAbsent) return cached;
  EdgeLabel l = PyUnicode_Check(name) ? label(private_str(name, false)) : kNoEdgeLabel;
  attr_labels_.insert(reinterpret_cast<std::uintptr_t>(name), l);
  return l;
}

const std::vector<EdgeLabel>& Walker::local_labels(PyCodeObject* code) {
  auto [it, inserted] = code_labels_.try_emplace(reinterpret_cast<PyObject*>(code));
  if (inserted) {
    PyObject* names = code->co_localsplusnames;
    if (names != nullptr && PyTuple_Check(names)) {
      for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(names); ++k) {
        PyObject* n = PyTuple_GET_ITEM(names, k);
        it->second.push_back(label("f_locals[" + private_str(n, true) + "]"));
      }
    }
  }
  return it->second;
}

// ---- after the walk ----

void Walker::resolve_late() {
  // Borrowed pointers to objects with one reference (a weakref to such an object, rare): the owner's edge made
  // the object a node without an address-set entry, so find it by a scan; if its owner was never reached, the
  // object becomes a node now (held from C: External, as it would have been).
  if (late_.empty()) return;
  PtrIndex targets(late_.size());
  for (const Pending& l : late_) targets.insert(reinterpret_cast<std::uintptr_t>(l.target), PtrIndex::kAbsent - 1);
  for (std::size_t i = 0; i < objs_.size(); ++i) {
    const auto key = reinterpret_cast<std::uintptr_t>(objs_[i]);
    if (targets.find(key) == PtrIndex::kAbsent - 1) {
      targets.assign(key, static_cast<std::uint32_t>(i));
    }
  }
  for (const Pending& l : late_) {
    const auto key = reinterpret_cast<std::uintptr_t>(l.target);
    std::uint32_t c = targets.find(key);
    if (c == PtrIndex::kAbsent - 1) {
      c = append(l.target);
      targets.assign(key, c);
    }
    edst_[l.edge] = c;
  }
  late_.clear();
  run();
}

void Walker::count_skipped_frames() {
  // The tool's frames are not nodes, but what they hold is not held from C either.
  SkippedFrameRefs sink{*this};
  for (PyObject* f : skipped_frames_) {
    if (Py_TYPE(f) == &PyFrame_Type && have_internals())
      frame_referents(f, sink);
    else if (PyObject_IS_GC(f))
      detail::traverse(f, Py_TYPE(f)->tp_traverse, sink, 0);
  }
}

void Walker::mark_external() {
  for (std::size_t i = 0; i < objs_.size(); ++i) {
    if ((flags_[i] & kRootKindMask) == 0 && balance_[i] < 0)
      flags_[i] = static_cast<std::uint8_t>(flags_[i] | (std::uint8_t(RootKind::External) << kRootKindShift));
  }
}

void Walker::drop_tool_objects() {
  // Phase 1 is closed under references, so a phase-2 node is reachable from a root only through phase-2 roots
  // (external ones). Of the phase-2 nodes no root reaches, those the skipped frames reach are the tool's own.
  const std::size_t n = objs_.size();
  keep_.assign(n, true);
  if (phase2_start >= n || skip_refs_.empty()) return;
  std::vector<std::uint8_t> state(n - phase2_start, 0);  // 1: reached from a root, 2: the tool's
  std::vector<std::uint32_t> queue;
  auto spread = [&](std::uint8_t mark) {
    while (!queue.empty()) {
      std::uint32_t c = queue.back();
      queue.pop_back();
      const std::size_t end = c + 1 < n ? edge_begin_[c + 1] : edst_.size();  // no sentinel yet
      for (std::size_t e = edge_begin_[c]; e < end; ++e) {
        std::uint32_t d = edst_[e];
        if (d >= n || d < phase2_start || (eflg_[e] & kEdgeWeak) || state[d - phase2_start] != 0) continue;
        state[d - phase2_start] = mark;
        queue.push_back(d);
      }
    }
  };
  for (std::size_t c = phase2_start; c < n; ++c) {
    if (flags_[c] & kRootKindMask) {
      state[c - phase2_start] = 1;
      queue.push_back(static_cast<std::uint32_t>(c));
    }
  }
  for (std::uint32_t c : asked_) {
    if (c >= phase2_start && state[c - phase2_start] == 0) {
      state[c - phase2_start] = 1;
      queue.push_back(c);
    }
  }
  spread(1);
  for (std::uint32_t c : skip_refs_) {
    if (c >= phase2_start && state[c - phase2_start] == 0) {
      state[c - phase2_start] = 2;
      queue.push_back(c);
    }
  }
  spread(2);
  for (std::size_t c = phase2_start; c < n; ++c)
    if (state[c - phase2_start] == 2) keep_[c] = false;
}

void Walker::apply_distinct_names() {
  if (shared_names_.empty()) return;
  std::vector<StringId> renamed(strings_.size(), kNoString);
  for (const auto& [from, to] : shared_names_) renamed[from] = to;
  const std::size_t n = objs_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const StringId t = described_[i].type;
    if (t < renamed.size() && renamed[t] != kNoString) described_[i].type = renamed[t];
  }
}

HeapGraph Walker::build(Metadata md, CaptureStats* stats) {
  // Fresh memory is the expensive part here (page faults): the graph's own arrays are hinted to huge pages, and
  // scratch arrays reuse the capture's buffers once they are done with.
  join_prefault();
  finish_nodes();
  edge_begin_.push_back(static_cast<std::uint32_t>(edst_.size()));
  WalkArrays w;
  w.addrs = reinterpret_cast<std::uint64_t*>(objs_.begin());
  w.n = objs_.size();
  w.keep = &keep_;
  w.described = described_.begin();
  w.flags = flags_.begin();
  w.edge_begin = edge_begin_.begin();
  w.targets = edst_.begin();
  w.labels = elab_.begin();
  w.edge_flags = eflg_.begin();
  w.perm = reinterpret_cast<std::uint32_t*>(balance_.begin());  // balances are done with
  w.scratch = index_.raw_buffer();  // the address set is done with; in header mode the gathered list is
  w.scratch_bytes = index_.raw_bytes();
  if (gc_objs_.capacity() * sizeof(PyObject*) > w.scratch_bytes) {
    w.scratch = gc_objs_.begin();
    w.scratch_bytes = gc_objs_.capacity() * sizeof(PyObject*);
  }
  BuildHooks hooks;
  hooks.sorted = [this] {
    gc_objs_.release();
    index_.release();
  };
  hooks.nodes_done = [this] {
    described_.release();
    flags_.release();
  };
  hooks.edges_done = [this] {
    edst_.release();
    elab_.release();
    eflg_.release();
  };
  BuildTimes times;
  RawGraphParts p = build_graph_parts(w, hooks, &times);
  edge_begin_.release();
  objs_.release();
  balance_.release();
  p.strings = std::move(strings_);
  p.metadata = std::move(md);
  stats->sort_seconds = times.sort;
  stats->rank_seconds = times.rank;
  stats->columns_seconds = times.columns;
  return std::move(p).assemble_unchecked("capture");  // arrays built to the invariants; dumps of it load checked
}

// A builtin module's function as the interpreter defines it (a new reference), made from the module's own method
// table: the attribute (`sys.getallocatedblocks`, `gc.get_objects`) is replaceable by user code, which the capture
// must not run. nullptr if the module or the function is not found.
PyObject* builtin_function(const char* module, const char* name) {
  PyObject* mod = PyDict_GetItemString(PyImport_GetModuleDict(), module);  // borrowed
  if (mod == nullptr) {  // not imported yet: at refgraph's own import, so importing it here is no surprise
    Py_XDECREF(PyImport_ImportModule(module));
    mod = PyDict_GetItemString(PyImport_GetModuleDict(), module);
  }
  PyModuleDef* def = mod != nullptr && PyModule_CheckExact(mod) ? PyModule_GetDef(mod) : nullptr;
  PyErr_Clear();
  if (def == nullptr || def->m_methods == nullptr) return nullptr;
  for (PyMethodDef* m = def->m_methods; m->ml_name != nullptr; ++m)
    if (std::strcmp(m->ml_name, name) == 0) return PyCFunction_NewEx(m, mod, nullptr);
  return nullptr;
}

PyObject* g_allocated_blocks = nullptr;  // sys.getallocatedblocks

// The count of pymalloc blocks in use; 1M if unknown.
std::size_t allocated_blocks() {
  PyObject* r = g_allocated_blocks != nullptr ? PyObject_CallNoArgs(g_allocated_blocks) : nullptr;
  const Py_ssize_t n = r != nullptr ? PyLong_AsSsize_t(r) : -1;
  Py_XDECREF(r);
  PyErr_Clear();
  return n > 0 ? static_cast<std::size_t>(n) : std::size_t(1) << 20;
}

Metadata make_metadata(const CaptureOptions& opt) {
  Metadata md;
  md.pid = static_cast<std::int64_t>(getpid());
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) md.host = host;
  std::string version = Py_GetVersion();
  md.python_version = version.substr(0, version.find(' '));
  md.time = now_seconds();
  md.rss = rss_bytes();
  md.tag = opt.tag;
  md.values_included = opt.values;
  md.extra["producer"] = "refgraph._core.capture";
  return md;
}

struct NoGil {
  PyThreadState* saved = PyEval_SaveThread();
  ~NoGil() { PyEval_RestoreThread(saved); }
};

// Owns one reference; drops it on scope exit.
struct Ref {
  PyObject* p;
  ~Ref() { Py_XDECREF(p); }
};

}  // namespace

CaptureLimits capture_limits() { return g_limits; }
void set_capture_limits(const CaptureLimits& limits) {
  const CaptureLimits most;  // only ever lowered: the defaults are what the indices can hold
  g_limits = {std::min(limits.nodes, most.nodes), std::min(limits.edges, most.edges),
              std::min(limits.strings, most.strings)};
}

void init_capture() {
  if (g_get_objects != nullptr) return;
  g_get_objects = builtin_function("gc", "get_objects");
  if (g_get_objects == nullptr) throw Error("refgraph: gc.get_objects is missing");
  g_allocated_blocks = builtin_function("sys", "getallocatedblocks");

  init_type_facts();
}

namespace {

// Only the given objects, walked for their labels, sizes and the edges between them (capture_walk.hpp).
HeapGraph capture_only(const CaptureOptions& opt, CaptureStats* stats) {
  const auto t0 = cpu_now();
  Metadata md = make_metadata(opt);
  md.extra["producer"] = "refgraph._core.local";
  GcPause pause;
  Walker w(opt);
  const std::size_t n = opt.only->size();
  w.reserve(n, n);
  w.collect_threads();
  w.seed_only(*opt.only);
  w.seed_modules();
  w.seed_threads();
  w.run();
  if (opt.only_in_refs != nullptr) w.set_in_refs(*opt.only_in_refs);
  w.mark_external();
  w.phase2_start = w.num_nodes();
  w.drop_tool_objects();
  stats->walk_seconds = cpu_now() - t0;
  stats->address_set_entries = w.address_set_size();
  pause.restore();
  const auto t1 = wall_now();
  HeapGraph g = w.build(std::move(md), stats);  // with the GIL held: nothing can die meanwhile
  stats->build_seconds = wall_now() - t1;
  return g;
}

}  // namespace

HeapGraph capture_heap(const CaptureOptions& opt, CaptureStats* stats_out) {
  if (g_get_objects == nullptr) throw Error("refgraph: capture used before init_capture");
  CaptureStats local_stats;
  CaptureStats* stats = stats_out != nullptr ? stats_out : &local_stats;
  *stats = CaptureStats{};
  if (opt.only != nullptr) return capture_only(opt, stats);
  const auto t0 = cpu_now();
  Metadata md = make_metadata(opt);
  GcPause pause;
  Walker w(opt);
  // Sizes from the count of pymalloc blocks, known at once: about one node per block, and an address-set entry
  // for about one in four (sole leaves need none), or one in sixteen when gc objects keep their index in their
  // headers; both grow if needed.
  const std::size_t blocks = allocated_blocks();
  w.collect_threads();  // makes frame objects: before the gc's lists are read and before use_headers()
  const bool headers = w.use_headers();
  w.reserve(blocks, headers ? blocks / 16 : blocks / 4);
  w.start_prefault(blocks);
  w.seed_modules();
  w.seed_threads();
  // The gc's lists are read in place where this build knows their layout; elsewhere gc.get_objects() builds a
  // list, which is bookkeeping (skipped) and holds one reference to each object (discounted).
  const bool in_place = w.start_chase();
  if (opt.keep_holder != nullptr) w.skip(opt.keep_holder);
  Ref list{nullptr};
  if (!in_place) {
    list.p = PyObject_CallNoArgs(g_get_objects);
    if (list.p == nullptr || !PyList_Check(list.p)) {
      PyErr_Clear();
      throw Error("refgraph: gc.get_objects() failed");
    }
    w.skip(list.p);
  }
  const auto ta = cpu_now();
  w.run();
  w.finish_chase();
  const auto tb = cpu_now();
  const std::size_t tracked = in_place ? w.gathered() : static_cast<std::size_t>(PyList_GET_SIZE(list.p));
  w.phase2_start = w.num_nodes();
  if (in_place)
    w.seed_gathered();
  else
    w.seed_gc_list(list.p);
  if (opt.keep != nullptr) w.seed_keep(*opt.keep);
  w.run();
  w.resolve_late();
  const auto tc = cpu_now();
  stats->seeds_seconds = ta - t0;
  stats->phase1_seconds = tb - ta;
  stats->phase2_seconds = tc - tb;
  w.count_skipped_frames();
  w.mark_external();
  w.drop_tool_objects();
  w.apply_distinct_names();
  w.restore_headers();
  Py_XDECREF(list.p);  // nothing dies here: every item existed before the list did
  list.p = nullptr;
  stats->walk_seconds = cpu_now() - t0;
  const auto t1 = wall_now();
  stats->gc_tracked = tracked;
  stats->address_set_entries = w.address_set_size();
  stats->header_index = headers;
  HeapGraph g;
  if (opt.pin) {
    // The graph is built with the GIL held, so nothing can die before it is pinned.
    pause.restore();
    g = w.build(std::move(md), stats);
    for (std::uint64_t id : g.ids()) Py_INCREF(reinterpret_cast<PyObject*>(id));
  } else {
    pause.restore();
    NoGil nogil;
    g = w.build(std::move(md), stats);
  }
  stats->build_seconds = wall_now() - t1;
  return g;
}

}  // namespace refgraph::capture
