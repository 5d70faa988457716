// Zeroed memory for the address set's slot array. A large table is mapped with MAP_POPULATE: every page of it is
// written during the capture anyway, and faulting them in one call costs about a third less than 4 KiB page faults
// one at a time (and needs no memset). Small tables come from calloc. Free with zeroed_free and the same size.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace refgraph::capture {

inline constexpr std::size_t kMapThreshold = std::size_t(1) << 20;

inline void* zeroed_alloc(std::size_t bytes) {
  if (bytes < kMapThreshold) {
    void* p = std::calloc(bytes ? bytes : 1, 1);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

inline void zeroed_free(void* p, std::size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kMapThreshold)
    std::free(p);
  else
    munmap(p, bytes);
}

}  // namespace refgraph::capture
