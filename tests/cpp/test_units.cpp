#include <doctest/doctest.h>

#include "refgraph/units.hpp"

using refgraph::human_size;

TEST_CASE("human_size: exact bytes below 1 KiB, one decimal under 10 units") {
  CHECK(human_size(0) == "0 B");
  CHECK(human_size(1023) == "1023 B");
  CHECK(human_size(1024) == "1.0 KiB");
  CHECK(human_size(5040) == "4.9 KiB");
  CHECK(human_size(18088) == "18 KiB");
  CHECK(human_size(64ull << 20) == "64 MiB");
  CHECK(human_size(3ull << 40) == "3.0 TiB");
}
