#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>

#include "../../bindings/native/capture/column.hpp"
#include "../../bindings/native/capture/zeroed_alloc.hpp"

using refgraph::capture::Column;

TEST_CASE("a column gives back the memory past the bytes still used, keeping those") {
  Column<std::uint64_t> c;
  const std::size_t n = std::size_t(1) << 20;  // 8 MiB: its own mapping
  for (std::size_t i = 0; i < n; ++i) c.push_back(i + 1);
  const std::size_t kept = n / 2 * sizeof(std::uint64_t) + 100;  // not on a page boundary
  c.give_back_after(kept);
  for (std::size_t i = 0; i < n / 2; ++i) REQUIRE(c[i] == i + 1);
  CHECK(c[n / 2] == n / 2 + 1);  // the page holding byte `kept` stays
  // the pages after it were given back: they read as zeros now
  const std::size_t first_free = (kept + 4095) / 4096 * 4096 / sizeof(std::uint64_t);
  CHECK(c[first_free] == 0);
  CHECK(c[n - 1] == 0);
}

TEST_CASE("a column gives back what lies past its values") {
  Column<std::uint32_t> c;
  c.reserve(std::size_t(1) << 20);  // 4 MiB: its own mapping
  for (std::uint32_t i = 0; i < (1u << 20); ++i) c.push_back(i + 1);
  c.set_size(1000);
  c.give_back_unused();
  CHECK(c[999] == 1000);
  CHECK(c[(1u << 20) - 1] == 0);  // its page went back: zeros
}

TEST_CASE("a small block (from calloc) keeps its memory when asked to give some back") {
  Column<std::uint32_t> c;
  for (std::uint32_t i = 0; i < 1000; ++i) c.push_back(i + 1);
  c.give_back_after(0);
  CHECK(c[999] == 1000);
}
