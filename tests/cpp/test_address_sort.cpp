#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "../../bindings/native/capture/address_sort.hpp"

using refgraph::capture::sort_by_address;

namespace {

// Addresses as a heap has them: 8-byte aligned, in a few 1 MiB regions (arenas) spread over the address space,
// some repeated, some not kept.
struct Input {
  std::vector<std::uint64_t> addrs;
  std::vector<bool> keep;
};

Input heap_like(std::size_t n, std::size_t regions, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> bases;
  for (std::size_t r = 0; r < regions; ++r) bases.push_back((0x7f0000000000ull + (rng() % (1ull << 36))) & ~0xFFFFFull);
  Input in;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && rng() % 50 == 0) {
      in.addrs.push_back(in.addrs[rng() % i]);  // met twice
    } else {
      in.addrs.push_back(bases[rng() % regions] + (rng() % (1u << 17)) * 8);
    }
    in.keep.push_back(rng() % 10 != 0);
  }
  return in;
}

// The expected result: kept (address, index) pairs by std::sort.
std::vector<std::pair<std::uint64_t, std::uint32_t>> expected(const Input& in) {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> out;
  for (std::size_t i = 0; i < in.addrs.size(); ++i)
    if (in.keep[i]) out.emplace_back(in.addrs[i], static_cast<std::uint32_t>(i));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<std::uint64_t, std::uint32_t>> sorted(Input in, std::size_t big_above,
                                                            std::size_t scratch_words) {
  std::vector<std::uint64_t> ids, scratch(scratch_words);
  std::vector<std::uint32_t> perm(in.addrs.size());
  sort_by_address(in.addrs.data(), in.addrs.size(), in.keep, scratch.data(), scratch.size() * sizeof(std::uint64_t),
                  &ids, perm.data(), big_above);
  std::vector<std::pair<std::uint64_t, std::uint32_t>> out;
  for (std::size_t r = 0; r < ids.size(); ++r) out.emplace_back(ids[r], perm[r]);
  return out;
}

}  // namespace

TEST_CASE("sort_by_address agrees with std::sort on both branches") {
  struct Case {
    std::size_t n, regions;
  };
  // 40 regions of 3,000 records each take the per-region LSD passes; 80,000 records the two-thread paths.
  for (Case c : {Case{1, 1}, Case{10, 3}, Case{3000, 40}, Case{120000, 40}, Case{80000, 2000}}) {
    const Input in = heap_like(c.n, c.regions, static_cast<unsigned>(c.n + c.regions));
    const auto want = expected(in);
    CAPTURE(c.n);
    CAPTURE(c.regions);
    CHECK(sorted(in, refgraph::capture::kSortBigAbove, c.n) == want);  // regions numbered as met
    CHECK(sorted(in, 0, c.n) == want);                                 // regions ranked first (big heaps)
    CHECK(sorted(in, 0, 0) == want);                                   // no scratch: its own buffer
  }
}

TEST_CASE("sort_by_address: nothing kept, or nothing at all") {
  Input in = heap_like(100, 2, 7);
  in.keep.assign(100, false);
  CHECK(sorted(in, refgraph::capture::kSortBigAbove, 0).empty());
  CHECK(sorted(in, 0, 0).empty());
  CHECK(sorted(Input{}, refgraph::capture::kSortBigAbove, 0).empty());
}

TEST_CASE("sort_by_address: addresses far apart in many regions") {
  // One address in each of 5,000 regions across the whole user address space: region numbers need many bits.
  Input in;
  std::mt19937_64 rng(3);
  for (std::size_t i = 0; i < 5000; ++i) {
    in.addrs.push_back(((rng() % (1ull << 47)) & ~7ull) | 8);
    in.keep.push_back(true);
  }
  const auto want = expected(in);
  CHECK(sorted(in, refgraph::capture::kSortBigAbove, 0) == want);
  CHECK(sorted(in, 0, 0) == want);
}
