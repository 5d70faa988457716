// A hint for big arrays about to be written for the first time: back them with transparent huge pages (in the
// kernel's "madvise" mode nothing else does), so that filling tens of megabytes costs a few dozen page faults
// instead of thousands, and random access misses the TLB less. Only the 2 MiB-aligned interior is marked; the
// hint is harmless where huge pages are off or unsupported.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace refgraph::detail {

inline void advise_huge_pages(const void* p, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHuge = std::uintptr_t(2) << 20;
  if (bytes < 2 * kHuge) return;
  const auto b = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t lo = (b + kHuge - 1) & ~(kHuge - 1), hi = (b + bytes) & ~(kHuge - 1);
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

// v.resize(n) into storage hinted first (the resize itself writes, i.e. faults, every page).
template <class T>
void resize_fresh(std::vector<T>& v, std::size_t n) {
  if (n > v.capacity()) {
    std::vector<T>().swap(v);
    v.reserve(n);
    advise_huge_pages(v.data(), n * sizeof(T));
  }
  v.resize(n);
}

template <class T>
void reserve_fresh(std::vector<T>& v, std::size_t n) {
  if (n > v.capacity()) {
    v.reserve(n);
    advise_huge_pages(v.data(), n * sizeof(T));
  }
}

}  // namespace refgraph::detail
