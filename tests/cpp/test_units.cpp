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

TEST_CASE("human_size: averages, negative sizes and signed changes") {
  CHECK(human_size(74.5) == "74.5 B");
  CHECK(human_size(148.0) == "148 B");
  CHECK(human_size(3072.0 / 1) == "3.0 KiB");
  CHECK(human_size(-72) == "-72 B");
  CHECK(human_size(-1536) == "-1.5 KiB");
  CHECK(human_size(1536, true) == "+1.5 KiB");
  CHECK(human_size(0, true) == "+0 B");
  CHECK(human_size(-72, true) == "-72 B");
}
