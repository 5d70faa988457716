// The capture's walker (capture/walk.cpp; its labels in walker_labels.cpp): the state of one capture of the live
// heap, from the seeds to the graph. How it works: the comment at the top of capture/walk.cpp.
#pragma once

#include <Python.h>

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "column.hpp"
#include "gc_index.hpp"
#include "graph_build.hpp"
#include "internals.hpp"
#include "ptr_index.hpp"
#include "referents.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/graph.hpp"
#include "seeds.hpp"
#include "type_facts.hpp"
#include "types.hpp"
#include "walk.hpp"

namespace refgraph::capture::walker {

constexpr std::uint32_t kSkip = 0xFFFFFFFEu;  // in the address set: the tool's own object, never a node
constexpr std::uint8_t kProcessed = 1u << 6;  // node flag while capturing: processed out of turn (a sole leaf)

enum class LabelKind : std::uint8_t { None, Module, Function, Type, Code, Frame, CFunction, Str, Bytes };

static_assert(CaptureLimits{}.nodes <= kSkip && kSkip < PtrIndex::kAbsent && kSkip < kNoNode);
static_assert(CaptureLimits{}.edges <= 0xFFFFFFFFu && CaptureLimits{}.strings <= kIndexLabelBit);

[[noreturn]] inline void over_limit(std::size_t limit, const char* what, const char* index) {
  throw Error("refgraph: capture: the heap has more than " + std::to_string(limit) + " " + what +
              ", the most one capture can index (" + index + "); nothing was captured");
}

// The capture's facts of a type: its layout, and its name and slot labels in this capture's string table.
struct TypeInfo : TypeFacts {
  StringId name = kNoString;
  LabelKind label_kind = LabelKind::None;
  std::vector<EdgeLabel> slot_labels;  // of TypeFacts::slots
};

class Walker {
 public:
  explicit Walker(const CaptureOptions& o) : opt_(o), lim_(capture_limits()) {
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
  // the walk runs (capture/internals.hpp), so only objects without one need the address set. The read is of a
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
    if (!p.leaf && !(headers_.active() && GcHeaderIndex::has_header(p.target)))
      index_.prefetch(reinterpret_cast<std::uintptr_t>(p.target));
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
      } else {            // a borrowed pointer to it (a weakref's referent): its node is found once the walk is over
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
      case Via::None: return kNoEdgeLabel;
      case Via::Named: return field_labels_[via.n];
      case Via::Index: return index_label(via.n);
      case Via::Key: return key_label(via.key);
      case Via::Attr: return attr_label(via.key);
      case Via::Slot: return cur_info_->slot_labels[via.n];
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

  GcHeaderIndex headers_;   // header mode (use_headers())
  std::thread prefaulter_;  // start_prefault()

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

}  // namespace refgraph::capture::walker
