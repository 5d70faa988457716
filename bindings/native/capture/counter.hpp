// The counter behind _core.count_types: per type, how many objects a capture with the same skip_files would hold
// (gc-tracked and not) and their sys.getsizeof, without building a graph; optionally the cyclic garbage, found as
// the collector would find it. How: the comment at the top of counter.cpp.
//
//   long long garbage;
//   auto counts = count_heap(/*sizes=*/true, skip_files, /*find_garbage=*/false, /*skip_garbage=*/false,
//                             /*tracked_only=*/false, &garbage);
//   if (!counts) ...;  // this CPython's gc lists cannot be read: use a capture
#pragma once

#include <Python.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace refgraph::capture {

struct TypeCount {
  PyTypeObject* type;
  std::uint64_t tracked, untracked, bytes;  // bytes only with `sizes`, else 0
};

// Requires the GIL; runs no Python code and allocates no Python object. *garbage: with find_garbage, how many
// gc-tracked objects are cyclic garbage (with skip_garbage they are left out of the counts, with what only they
// hold), else -1. With tracked_only (ignored with find_garbage or skip_garbage), untracked objects are neither
// looked for nor counted: the gc lists are read and no reference is followed. Names of the types are for the caller to
// make, once this has returned.
std::optional<std::vector<TypeCount>> count_heap(bool sizes, const std::vector<std::string>& skip_files,
                                                 bool find_garbage, bool skip_garbage, bool tracked_only,
                                                 long long* garbage);

}  // namespace refgraph::capture
