// Zeroed memory for the capture's big arrays (the address set, the node and edge columns). A block of 1 MiB or
// more is its own mapping, aligned to 2 MiB and marked MADV_HUGEPAGE: the capture touches well over 100 MB of
// fresh memory, and with transparent huge pages in "madvise" mode that is a few dozen faults instead of tens of
// thousands, and fewer TLB misses on the address set's random probes. Untouched pages of a mapping cost nothing,
// so reserving generously is cheap. Small blocks come from calloc. Free with zeroed_free and the same size.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace refgraph::capture {

inline constexpr std::size_t kMapThreshold = std::size_t(1) << 20;
inline constexpr std::size_t kHugePage = std::size_t(2) << 20;

inline std::size_t mapped_bytes(std::size_t bytes) { return (bytes + kHugePage - 1) & ~(kHugePage - 1); }

namespace detail {
// A fresh mapping of `len` (a multiple of kHugePage) bytes at a 2 MiB boundary, or nullptr.
inline void* map_aligned(std::size_t len) {
  void* raw =
      mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const std::size_t tail = (start + len + kHugePage) - (aligned + len);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + len), tail);
#ifdef MADV_HUGEPAGE
  madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);  // a hint: without it, 4 KiB pages
#endif
  return reinterpret_cast<void*>(aligned);
}
}  // namespace detail

inline void* zeroed_alloc(std::size_t bytes) {
  if (bytes < kMapThreshold) {
    void* p = std::calloc(bytes ? bytes : 1, 1);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void* p = detail::map_aligned(mapped_bytes(bytes));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

inline void zeroed_free(void* p, std::size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kMapThreshold)
    std::free(p);
  else
    munmap(p, mapped_bytes(bytes));
}

// Gives the pages of a block from `from` bytes on back to the system (they read as zeros if touched again), for
// the unused tail of an array whose size is final; a block from calloc keeps its memory.
inline void zeroed_give_back(void* p, std::size_t from, std::size_t bytes) {
  if (p == nullptr || bytes < kMapThreshold) return;
  constexpr std::size_t kPage = 4096;
  const std::uintptr_t lo = (reinterpret_cast<std::uintptr_t>(p) + from + kPage - 1) & ~(kPage - 1);
  const std::uintptr_t hi = reinterpret_cast<std::uintptr_t>(p) + mapped_bytes(bytes);
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

// Faults the whole block in now (for memory that will be written all over anyway); best effort.
inline void prefault(void* p, std::size_t bytes) {
  if (p == nullptr || bytes < kMapThreshold) return;
#ifndef MADV_POPULATE_WRITE
  constexpr int MADV_POPULATE_WRITE = 23;  // Linux 5.14; older kernels reject it and the pages fault on use
#endif
  madvise(p, mapped_bytes(bytes), MADV_POPULATE_WRITE);
}

// Faults in the whole huge pages of [p, p + bytes) without changing a byte (MADV_POPULATE_WRITE), so it is safe
// while another thread writes there: for populating a block ahead of its writer.
inline void prefault_range(void* p, std::size_t bytes) {
#ifndef MADV_POPULATE_WRITE
  constexpr int MADV_POPULATE_WRITE = 23;
#endif
  const auto lo = reinterpret_cast<std::uintptr_t>(p) & ~(kHugePage - 1);
  const auto hi = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHugePage - 1);
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_POPULATE_WRITE);
}

// Grows a block keeping its contents; the new part is zeroed. Large blocks move their pages (mremap), no copy.
inline void* zeroed_realloc(void* p, std::size_t old_bytes, std::size_t new_bytes) {
  if (p == nullptr) return zeroed_alloc(new_bytes);
  if (new_bytes < kMapThreshold || old_bytes < kMapThreshold) {
    if (new_bytes < kMapThreshold && old_bytes < kMapThreshold) {
      void* q = std::realloc(p, new_bytes ? new_bytes : 1);
      if (q == nullptr) throw std::bad_alloc();
      if (new_bytes > old_bytes) std::memset(static_cast<char*>(q) + old_bytes, 0, new_bytes - old_bytes);
      return q;
    }
    void* q = zeroed_alloc(new_bytes);
    std::memcpy(q, p, old_bytes < new_bytes ? old_bytes : new_bytes);
    zeroed_free(p, old_bytes);
    return q;
  }
  const std::size_t old_len = mapped_bytes(old_bytes), new_len = mapped_bytes(new_bytes);
  if (new_len == old_len) return p;
  void* q = detail::map_aligned(new_len);
  if (q == nullptr) throw std::bad_alloc();
  if (new_len < old_len) {
    std::memcpy(q, p, new_bytes);
    munmap(p, old_len);
    return q;
  }
  // Move the old pages over the start of the new mapping: page tables move, the data does not.
  void* moved = mremap(p, old_len, old_len, MREMAP_MAYMOVE | MREMAP_FIXED, q);
  if (moved == MAP_FAILED) {
    std::memcpy(q, p, old_bytes);
    munmap(p, old_len);
  }
  return q;
}

}  // namespace refgraph::capture
