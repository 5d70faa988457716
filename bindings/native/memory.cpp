// _core.allocator_stats: what the C allocators report, for refgraph.memory(): the object allocator's own
// statistics (the text sys._debugmallocstats() prints, captured in memory rather than on stderr, which a
// server's other threads share) and glibc's mallinfo2 for the C heap.
#include <Python.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <pybind11/pybind11.h>

#include "register.hpp"

namespace pb = pybind11;

extern "C" int _PyObject_DebugMallocStats(FILE* out);  // exported by CPython, not declared in its public headers

namespace refgraph::py {

namespace {

// The object allocator's report, or "" when it is not in use (PYTHONMALLOC=malloc) or cannot be captured.
std::string obmalloc_report() {
  char* buffer = nullptr;
  std::size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  if (out == nullptr) return {};
  const int printed = _PyObject_DebugMallocStats(out);
  std::fclose(out);
  std::string text = printed ? std::string(buffer, size) : std::string();
  std::free(buffer);
  return text;
}

}  // namespace

void register_memory(pb::module_& m) {
  m.def(
      "allocator_stats",
      [] {
        pb::dict out;
        out["obmalloc"] = obmalloc_report();  // with the GIL held: the report walks the allocator's arenas
        struct mallinfo2 mi = mallinfo2();
        pb::dict heap;
        heap["arena"] = mi.arena;          // bytes the main and thread heaps took from the system (brk/mmap'd arenas)
        heap["mmapped"] = mi.hblkhd;       // bytes in chunks malloc mapped on their own (large allocations)
        heap["in_use"] = mi.uordblks;      // bytes in allocated chunks of the heaps
        heap["free"] = mi.fordblks;        // bytes in free chunks of the heaps
        heap["releasable"] = mi.keepcost;  // free bytes at the top of the main heap that malloc_trim could return
        out["heap"] = heap;
        return out;
      },
      "{'obmalloc': the object allocator's statistics as sys._debugmallocstats() prints them ('' if it is not in "
      "use), 'heap': glibc mallinfo2 figures in bytes (arena, mmapped, in_use, free, releasable)}.");
}

}  // namespace refgraph::py
