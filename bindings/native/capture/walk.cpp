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
//       keeps its node index in that header's prev link for the length of the walk (capture/internals.hpp says
//       why that is safe); the links are put back from the gc's lists, in list order, before anything else runs;
//     - a "sole leaf" (reference count 1, a type the gc does not track, owning nothing we walk: most str, int and
//       float objects) can only be met once, through its owner: it becomes a node at once, processed while it is
//       in cache, with no lookup at all;
//     - anything else (a shared str or int, a code object) goes through an open-addressing address set
//       (ptr_index.hpp), which is then small. Without header mode every object but the sole leaves does.
//     Phase 1 walks what the roots reach; phase 2 appends the gc-tracked objects not reached yet (held from C, or
//     garbage). The gc's lists of tracked objects are read in place (capture/internals.hpp), a step per node
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
#include "walk.hpp"

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
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "../../../core/src/huge_pages.hpp"
#include "column.hpp"
#include "frames.hpp"
#include "gc_pause.hpp"
#include "internals.hpp"
#include "labels.hpp"
#include "parallel.hpp"
#include "ptr_index.hpp"
#include "refgraph/errors.hpp"
#include "types.hpp"
#include "walker.hpp"

namespace refgraph::capture {

using namespace walker;

namespace {

PyObject* g_get_objects = nullptr;  // gc.get_objects
CaptureLimits g_limits;

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

}  // namespace

}  // namespace refgraph::capture

namespace refgraph::capture::walker {

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
    balance_[i] =
        static_cast<std::int32_t>(std::min<std::int64_t>(in_refs[i], 1 << 30) - (rc > (1 << 30) ? (1 << 30) : rc));
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
  // The tool's frames are not nodes, but what they hold is not held from C either: the nodes they refer to get
  // their counted references, and marks for drop_tool_objects().
  for (PyObject* f : skipped_frames_) {
    for_each_frame_ref(f, *threads_, [this](PyObject* t, bool counted) {
      const std::uint32_t c = lookup(t);
      if (c == PtrIndex::kAbsent || c == kSkip) return;
      if (counted) ++balance_[c];
      skip_refs_.push_back(c);
    });
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
  // The columns' sizes are final: the rest of their last huge pages (touched whole) goes back before the graph's
  // arrays are made, up to 2 MiB a column.
  objs_.give_back_unused();
  flags_.give_back_unused();
  balance_.give_back_unused();
  described_.give_back_unused();
  edge_begin_.give_back_unused();
  edst_.give_back_unused();
  elab_.give_back_unused();
  eflg_.give_back_unused();
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
  hooks.ranked = [this] { objs_.give_back_after(objs_.size() * sizeof(std::uint32_t)); };  // half the peak's 8 B
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

}  // namespace refgraph::capture::walker

namespace refgraph::capture {

namespace {

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

// Only the given objects, walked for their labels, sizes and the edges between them (capture/walk.hpp).
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
