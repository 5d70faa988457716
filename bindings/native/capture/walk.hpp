// The live heap walk behind _core.capture and _core.pin_heap (C API only; the pybind11 surface is capture.cpp).
//
//   CaptureOptions o;  o.skip_files = {"/path/to/refgraph/"};
//   HeapGraph g = capture_heap(o);      // with the GIL held; runs no Python code of the user's
//
// What is a node, which edges carry which labels, what is a root: docs/internals.md ("Conventions the producers
// of graphs follow"). How: see the comment at the top of capture/walk.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "refgraph/graph.hpp"

struct _object;
typedef struct _object PyObject;

namespace refgraph::capture {

struct CaptureOptions {
  bool values = false;     // str/bytes values as node labels and as dict-key labels
  bool shortnames = true;  // type.__name__ (objgraph's default) or module.qualname
  // With shortnames: types that share a short name are told apart as "Request (werkzeug.wrappers.request)"
  // (refgraph's own reports; objgraph's calls keep objgraph's names).
  bool distinct_names = false;
  std::vector<std::string> skip_files;  // frames whose code file starts with one of these are not nodes
  std::size_t max_value_len = 64;
  std::string tag;
  bool pin = false;  // Py_INCREF every node before returning (PinnedHeap); the caller decrefs them
  // Restricted capture (local_graph.cpp): when set, only these objects (live, distinct, borrowed) are nodes and
  // only the edges between them are kept; no other object is walked. External roots are judged from
  // `only_in_refs[i]`, the counted references to only[i] found by the caller's scan of the whole heap.
  const std::vector<PyObject*>* only = nullptr;
  const std::vector<std::int64_t>* only_in_refs = nullptr;
  // The objects a call asks about (live, borrowed): nodes even when only the tool's frames hold them (a temporary
  // argument) or when untracked, with what they reach. `keep_holder`, the list or tuple passing them, is
  // bookkeeping: not a node, its one reference to each counted (so it makes none of them look held from C).
  const std::vector<PyObject*>* keep = nullptr;
  PyObject* keep_holder = nullptr;
};

// How a capture went: for benchmarks and tests (_core._testing.capture_with_stats), never in a dump, so that two
// dumps of one heap do not differ by timings.
struct CaptureStats {
  double walk_seconds = 0;  // this thread's CPU time from the start to the build
  double seeds_seconds = 0, phase1_seconds = 0, phase2_seconds = 0;  // parts of it (CPU)
  double build_seconds = 0;                                          // wall clock: the build runs on two threads
  double sort_seconds = 0, rank_seconds = 0, columns_seconds = 0;    // parts of it (wall)
  std::size_t gc_tracked = 0;                                        // objects in the gc's lists
  std::size_t address_set_entries = 0;  // objects looked up by address rather than through their gc header
  bool header_index = false;            // gc objects kept their node index in their gc headers
};

// Requires the GIL. Throws refgraph::Error (or std::bad_alloc) on failure, with no reference kept. Fills *stats
// when given.
HeapGraph capture_heap(const CaptureOptions& options, CaptureStats* stats = nullptr);

// The most a capture indexes: its node and edge indices and its label string ids are 32-bit (node indices
// 0xFFFFFFFE and up are markers; string ids share the edge-label word with sequence indices, whose bit is
// kIndexLabelBit). Past a limit, capture_heap throws refgraph::Error naming it before any index wraps. Lowered
// only by tests (_core._testing), to reach a limit on a small heap.
struct CaptureLimits {
  std::size_t nodes = 0xFFFFFFFEu;
  std::size_t edges = 0xFFFFFFFFu;
  std::size_t strings = 0x80000000u;
};
CaptureLimits capture_limits();
void set_capture_limits(const CaptureLimits& limits);

// Called once at module import: caches gc.get_objects and the builtin __sizeof__ implementations.
void init_capture();

}  // namespace refgraph::capture
