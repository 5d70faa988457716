// Address sort (address_sort.hpp): LSD radix sorts of compact (region, offset, index) records.
#include "address_sort.hpp"

#include <algorithm>
#include <cstring>

#include "../../../core/src/huge_pages.hpp"
#include "parallel.hpp"
#include "ptr_index.hpp"

namespace refgraph::capture {

namespace {

// LSD radix sort of records on key bits [lo_bit, hi_bit): 11-bit digits (2048 buckets stay in cache while
// scattering), every histogram counted in one read, passes where all records share the digit skipped. `tmp` has
// room for m records; returns whichever of the two buffers holds the result.
template <class Rec, class KeyFn>
Rec* radix_sort(Rec* a, Rec* tmp, std::size_t m, unsigned lo_bit, unsigned hi_bit, KeyFn key) {
  if (m < 2 || hi_bit <= lo_bit) return a;
  const unsigned kBits = hi_bit - lo_bit <= 26 ? 13 : 11;  // two passes when the keys are compact
  const unsigned kBuckets = 1u << kBits;
  const unsigned passes = (hi_bit - lo_bit + kBits - 1) / kBits;
  std::vector<std::uint32_t> count(std::size_t(passes) * kBuckets, 0);
  for (std::size_t i = 0; i < m; ++i) {
    const std::uint64_t k = key(a[i]) >> lo_bit;
    for (unsigned p = 0; p < passes; ++p) ++count[p * kBuckets + ((k >> (p * kBits)) & (kBuckets - 1))];
  }
  for (unsigned p = 0; p < passes; ++p) {
    std::uint32_t* c = &count[p * kBuckets];
    if (std::find(c, c + kBuckets, static_cast<std::uint32_t>(m)) != c + kBuckets) continue;
    std::uint32_t sum = 0;
    for (unsigned b = 0; b < kBuckets; ++b) {
      std::uint32_t x = c[b];
      c[b] = sum;
      sum += x;
    }
    const unsigned shift = lo_bit + p * kBits;
    for (std::size_t i = 0; i < m; ++i) tmp[c[(key(a[i]) >> shift) & (kBuckets - 1)]++] = a[i];
    std::swap(a, tmp);
  }
  return a;
}

// Sorts records (((region << off_bits) | offset) << idx_bits) | index: one counting pass by region (a few hundred
// buckets, in the order rank_of gives the region numbers, else their own), then each region, small enough for the
// cache, by offset with 9-bit LSD passes. Result in tmp.
std::uint64_t* sort_region_records(std::uint64_t* a, std::uint64_t* tmp, std::size_t m, unsigned idx_bits,
                                   unsigned off_bits, std::size_t nregions, const std::uint32_t* rank_of = nullptr) {
  std::vector<std::uint32_t> start(nregions + 1, 0);
  const unsigned region_shift = idx_bits + off_bits;
  auto bucket = [&](std::uint64_t rec) {
    const std::uint64_t r = rec >> region_shift;
    return rank_of != nullptr ? rank_of[r] : static_cast<std::uint32_t>(r);
  };
  // A counting sort by region, each half of the records counted and scattered by its own thread: the second
  // half's records of a region go after the first half's, so the result is the same as one thread's.
  const std::size_t half = m / 2;
  const bool two = m >= (1u << 16);
  std::vector<std::uint32_t> count2(nregions, 0);
  in_parallel(
      [&] {
        for (std::size_t i = half; i < m; ++i) ++count2[bucket(a[i])];
      },
      [&] {
        for (std::size_t i = 0; i < half; ++i) ++start[bucket(a[i]) + 1];
      },
      two);
  std::vector<std::uint32_t> pos(nregions), pos2(nregions);
  for (std::size_t b = 0; b < nregions; ++b) {
    pos[b] = start[b];
    pos2[b] = start[b] + start[b + 1];  // after the first half's start[b + 1] records of region b
    start[b + 1] = pos2[b] + count2[b];
  }
  in_parallel(
      [&] {
        for (std::size_t i = half; i < m; ++i) tmp[pos2[bucket(a[i])]++] = a[i];
      },
      [&] {
        for (std::size_t i = 0; i < half; ++i) tmp[pos[bucket(a[i])]++] = a[i];
      },
      two);
  constexpr unsigned kBits = 9, kBuckets = 1u << kBits;
  const unsigned passes = (off_bits + kBits - 1) / kBits;
  auto sort_regions = [&](std::size_t first, std::size_t last) {
    std::uint32_t count[kBuckets];
    for (std::size_t b = first; b < last; ++b) {
      std::uint64_t* src = tmp + start[b];
      std::uint64_t* dst = a + start[b];
      const std::size_t len = start[b + 1] - start[b];
      if (len < 2) continue;
      if (len < 64) {
        std::sort(src, src + len);
        continue;
      }
      for (unsigned p = 0; p < passes; ++p) {
        const unsigned shift = idx_bits + p * kBits;
        std::fill(count, count + kBuckets, 0);
        for (std::size_t i = 0; i < len; ++i) ++count[(src[i] >> shift) & (kBuckets - 1)];
        std::uint32_t sum = 0;
        for (auto& c : count) {
          std::uint32_t x = c;
          c = sum;
          sum += x;
        }
        for (std::size_t i = 0; i < len; ++i) dst[count[(src[i] >> shift) & (kBuckets - 1)]++] = src[i];
        std::swap(src, dst);
      }
      if (src != tmp + start[b]) std::copy(src, src + len, tmp + start[b]);
    }
  };
  // Regions are sorted independently: the second half of the records' regions on another thread.
  const std::size_t mid = std::upper_bound(start.begin(), start.end() - 1, start.back() / 2) - start.begin();
  in_parallel([&] { sort_regions(mid, nregions); }, [&] { sort_regions(0, mid); }, m >= (1u << 16));
  return tmp;
}

unsigned bit_width(std::uint64_t x) {
  unsigned b = 0;
  while (b < 64 && (x >> b) != 0) ++b;
  return b;
}

// `scratch` if it has room for m words, else `own`, resized.
std::uint64_t* scratch_or_own(void* scratch, std::size_t scratch_bytes, std::size_t m,
                              std::vector<std::uint64_t>* own) {
  if (scratch_bytes >= m * sizeof(std::uint64_t)) return static_cast<std::uint64_t*>(scratch);
  own->resize(m);
  return own->data();
}

constexpr unsigned kRegionBits = 20;

// Sorted records ((region number, offset) << idx_bits | index) back to addresses and indices; regions[number] - bias
// is the region's address >> kRegionBits.
void unpack_records(const std::uint64_t* r, std::size_t m, unsigned idx_bits, unsigned off_bits,
                    const std::vector<std::uint64_t>& regions, std::uint64_t bias, std::vector<std::uint64_t>* ids,
                    std::uint32_t* perm) {
  const std::uint64_t mask = (std::uint64_t(1) << idx_bits) - 1;
  const std::uint64_t off_mask = (std::uint64_t(1) << off_bits) - 1;
  for (std::size_t k = 0; k < m; ++k) {
    perm[k] = static_cast<std::uint32_t>(r[k] & mask);
    const std::uint64_t key = r[k] >> idx_bits;
    (*ids)[k] = ((regions[key >> off_bits] - bias) << kRegionBits) | ((key & off_mask) << 3);
  }
}

}  // namespace

// Sorting in the capture's buffers rather than in fresh pages: on this path page faults cost more than the sort.
void sort_by_address(std::uint64_t* objs, std::size_t n, const std::vector<bool>& keep, void* scratch,
                     std::size_t scratch_bytes, std::vector<std::uint64_t>* ids, std::uint32_t* perm,
                     std::size_t big_above) {
  const unsigned off_bits = kRegionBits - 3;
  if (n > 0 && n <= big_above && 2 * bit_width(n - 1) + off_bits <= 64) {
    // Records (region, offset, index) written over the object pointers (j <= i) in one pass. Regions are numbered
    // in order of first appearance, with a one-entry cache since neighbours in the walk often share one; there are
    // at most n of them, so their numbers fit in the bits the index leaves. Ranked by address afterwards.
    const unsigned idx_bits = std::max(1u, bit_width(n - 1));
    PtrIndex region_index(1024);
    std::vector<std::uint64_t> regions;  // by number: address >> kRegionBits
    std::uint64_t* a = objs;
    std::size_t m = 0;
    // The walk alternates among a few regions (one per kind of object, roughly): a small direct-mapped cache of
    // region numbers in front of the hash.
    struct CachedRegion {
      std::uint64_t region = ~std::uint64_t(0), number = 0;
    };
    CachedRegion cache[64];
    constexpr std::uint64_t kOffMask = (std::uint64_t(1) << kRegionBits) - 1;
    for (std::size_t i = 0; i < n; ++i) {
      if (!keep[i]) continue;
      const auto addr = objs[i];
      const std::uint64_t region = addr >> kRegionBits;
      CachedRegion& c = cache[region & 63];
      if (c.region != region) {
        auto [number, inserted] = region_index.insert(region + 1, static_cast<std::uint32_t>(regions.size()));
        if (inserted) regions.push_back(region);
        c.region = region;
        c.number = number;
      }
      a[m++] = (((c.number << off_bits) | ((addr & kOffMask) >> 3)) << idx_bits) | i;
    }
    refgraph::detail::resize_fresh(*ids, m);
    if (m == 0) return;
    std::vector<std::uint32_t> by_address(regions.size()), rank_of(regions.size());
    for (std::uint32_t k = 0; k < by_address.size(); ++k) by_address[k] = k;
    std::sort(by_address.begin(), by_address.end(), [&](auto x, auto y) { return regions[x] < regions[y]; });
    for (std::uint32_t k = 0; k < by_address.size(); ++k) rank_of[by_address[k]] = k;
    std::vector<std::uint64_t> own;
    std::uint64_t* tmp = scratch_or_own(scratch, scratch_bytes, m, &own);
    const std::uint64_t* r = sort_region_records(a, tmp, m, idx_bits, off_bits, regions.size(), rank_of.data());
    unpack_records(r, m, idx_bits, off_bits, regions, 0, ids, perm);
    return;
  }
  // Very large heaps: region ranks found in a pass of their own.
  std::uint64_t lo = ~std::uint64_t(0), hi = 0;
  std::size_t m = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    const std::uint64_t k = objs[i] >> 3;  // objects are 8-byte aligned
    lo = std::min(lo, k);
    hi = std::max(hi, k);
    ++m;
  }
  refgraph::detail::resize_fresh(*ids, m);
  if (m == 0) return;
  // Compact keys: objects live in a few hundred 1 MiB regions (pymalloc arenas, the malloc heap), so
  // (rank of the region, offset in it) needs far fewer bits than an address, and the sort fewer passes.
  PtrIndex region_index(1024);
  std::vector<std::uint64_t> regions;
  for (std::size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    const std::uint64_t r = (objs[i] >> kRegionBits) + 1;
    if (region_index.insert(r, 0).second) regions.push_back(r);
  }
  std::sort(regions.begin(), regions.end());
  PtrIndex region_rank(regions.size() * 2);
  for (std::size_t k = 0; k < regions.size(); ++k) region_rank.insert(regions[k], static_cast<std::uint32_t>(k));
  const unsigned idx_bits = std::max(1u, bit_width(n - 1));
  const unsigned key_bits = bit_width(regions.size() - 1) + off_bits;
  if (idx_bits + key_bits <= 64) {
    // One word a record, (key << idx_bits) | index, written over the object pointers (j <= i).
    std::uint64_t* a = objs;
    std::size_t j = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!keep[i]) continue;
      const auto addr = objs[i];
      const std::uint64_t rank = region_rank.find((addr >> kRegionBits) + 1);
      const std::uint64_t key = (rank << off_bits) | ((addr & ((std::uint64_t(1) << kRegionBits) - 1)) >> 3);
      a[j++] = (key << idx_bits) | i;
    }
    std::vector<std::uint64_t> own;
    std::uint64_t* tmp = scratch_or_own(scratch, scratch_bytes, m, &own);
    const std::uint64_t* r = sort_region_records(a, tmp, m, idx_bits, off_bits, regions.size());
    unpack_records(r, m, idx_bits, off_bits, regions, 1, ids, perm);
    return;
  }
  struct Pair {
    std::uint64_t key;
    std::uint32_t idx;
  };
  std::vector<Pair> a, tmp(m);
  a.reserve(m);
  for (std::size_t i = 0; i < n; ++i)
    if (keep[i]) a.push_back({(objs[i] >> 3) - lo, static_cast<std::uint32_t>(i)});
  const Pair* r = radix_sort(a.data(), tmp.data(), m, 0, bit_width(hi - lo), [](const Pair& x) { return x.key; });
  for (std::size_t k = 0; k < m; ++k) {
    perm[k] = r[k].idx;
    (*ids)[k] = (r[k].key + lo) << 3;
  }
}

}  // namespace refgraph::capture
