// The capture's nodes in address order (a graph's node ids are sorted addresses), by radix sort in the capture's
// own buffers. Plain C++: no Python object is touched, so tests/cpp sorts literal addresses.
//
//   std::vector<std::uint64_t> ids;  std::vector<std::uint32_t> perm(n);
//   sort_by_address(addrs, n, keep, nullptr, 0, &ids, perm.data());
//   // ids[r]: the r-th kept address, ascending; perm[r]: its index in addrs (addrs is overwritten)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace refgraph::capture {

// Up to this many addresses the records (region number, offset, index) fit one word and regions are numbered as
// met; above it, regions are ranked in a pass of their own first. A parameter so that tests reach both branches.
inline constexpr std::size_t kSortBigAbove = std::size_t(1) << 23;

// Sorts the kept addresses (8-byte aligned, nonzero) of addrs[0, n): writes them ascending to *ids (resized to
// the kept count; equal addresses stay, in index order) and their indices to perm (room for n). The sort works in
// the memory of `addrs` (overwritten) and `scratch` (scratch_bytes, may be 0) rather than in fresh pages.
void sort_by_address(std::uint64_t* addrs, std::size_t n, const std::vector<bool>& keep, void* scratch,
                     std::size_t scratch_bytes, std::vector<std::uint64_t>* ids, std::uint32_t* perm,
                     std::size_t big_above = kSortBigAbove);

}  // namespace refgraph::capture
