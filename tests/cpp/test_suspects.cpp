#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "refgraph/graph.hpp"
#include "refgraph/report.hpp"
#include "refgraph/suspects.hpp"

using namespace refgraph;

namespace {

// A process at three moments. module app -> __dict__ -> {SESSIONS: list, EVENTS: dict, CACHE: dict}.
// SESSIONS gets `sessions` Session objects (each -> __dict__ dict -> ['payload'] bytes 1000), EVENTS gets `events`
// Event objects under data keys, CACHE gets `cached` str objects once, and `warm` tuples held by a frame.
HeapGraph process(int sessions, int events, int cached, int warm) {
  HeapGraphBuilder b;
  b.add_node(0x10, "module", 72, kGcTracked, RootKind::Module, "app");
  b.add_node(0x20, "dict", 200);
  b.add_node(0x30, "list", 56 + 8 * sessions);
  b.add_node(0x40, "dict", 100 + 10 * events);
  b.add_node(0x50, "dict", 100 + 10 * cached);
  b.add_node(0x60, "frame", 400, kGcTracked, RootKind::ThreadFrame, "app.py:9 in serve");
  b.add_edge(0x10, 0x20, b.text_label("__dict__"));
  b.add_edge(0x20, 0x30, b.text_label("['SESSIONS']"));
  b.add_edge(0x20, 0x40, b.text_label("['EVENTS']"));
  b.add_edge(0x20, 0x50, b.text_label("['CACHE']"));
  for (int i = 0; i < sessions; ++i) {
    const std::uint64_t s = 0x1000 + 0x10 * i;
    b.add_node(s, "Session", 48);
    b.add_node(s + 1, "dict", 100);
    b.add_node(s + 2, "bytes", 1000, 0);
    b.add_edge(0x30, s, index_label(i));
    b.add_edge(s, s + 1, b.text_label("__dict__"));
    b.add_edge(s + 1, s + 2, b.text_label("['payload']"));
  }
  for (int i = 0; i < events; ++i) {
    b.add_node(0x100000 + i, "Event", 40);
    b.add_edge(0x40, 0x100000 + i, b.text_label("['<str len=32>']"));
  }
  for (int i = 0; i < cached; ++i) {
    b.add_node(0x200000 + i, "str", 60, 0);
    std::string index = "[";  // (not "[" + ... + "]": GCC 12 warns falsely, -Wrestrict)
    index += std::to_string(i);
    index += "]";
    b.add_edge(0x50, 0x200000 + i, b.text_label(index));
  }
  for (int i = 0; i < warm; ++i) {
    b.add_node(0x300000 + i, "tuple", 64);
    b.add_edge(0x60, 0x300000 + i, b.text_label("warmup"));
  }
  return std::move(b).build();
}

}  // namespace

TEST_CASE("signature: indices and data keys are wildcards, names stay") {
  CHECK(wildcard_label("[17]") == "[*]");
  CHECK(wildcard_label("['<str len=32>']") == "[*]");
  CHECK(wildcard_label("[<int>]") == "[*]");
  CHECK(wildcard_label("['alice smith']") == "[*]");
  CHECK(wildcard_label("['SESSIONS']") == "['SESSIONS']");
  CHECK(wildcard_label("__dict__") == "__dict__");
}

TEST_CASE("leak suspects: two growing containers ranked by retained size; warm-up and a stable cache left out") {
  HeapGraph a = process(2, 1, 0, 0);
  HeapGraph b = process(6, 11, 30, 5);
  HeapGraph c = process(10, 21, 30, 0);
  std::vector<SuspectGroup> s = leak_suspects(a, b, c);
  REQUIRE(s.size() == 2);

  CHECK(s[0].signature == "module app -> attr 'SESSIONS' (list) -> [*] -> Session");
  CHECK(s[0].count_b == 4 * 3);
  CHECK(s[0].count_c == 8 * 3);
  CHECK(s[0].survivors == 4 * 3);
  CHECK(s[0].bytes_c == 8 * (48 + 100 + 1000));
  CHECK(s[0].retained_c == 8 * (48 + 100 + 1000));
  CHECK(c.id(s[0].accumulation) == 0x30);
  CHECK(chain_text(c, s[0].sample_chain) == "module app -> attr 'SESSIONS' (list) -> [2] -> Session");
  REQUIRE(s[0].types.size() == 3);
  CHECK(s[0].types[0].second == 4);  // each of bytes, dict and Session gained 4 between B and C

  CHECK(s[1].signature == "module app -> attr 'EVENTS' (dict) -> [*] -> Event");
  CHECK(s[1].count_c == 20);
  CHECK(s[1].grew());

  SuspectOptions all;
  all.include_stable = true;
  std::vector<SuspectGroup> with_stable = leak_suspects(a, b, c, all);
  REQUIRE(with_stable.size() == 3);  // the cache filled once between A and B, never again
  bool cache_seen = false;
  for (const SuspectGroup& g : with_stable) {
    if (g.signature == "module app -> attr 'CACHE' (dict) -> [*] -> str") {
      cache_seen = true;
      CHECK_FALSE(g.grew());
    }
    CHECK(g.signature.find("tuple") == std::string::npos);  // the warm-up is gone by C: never a suspect
  }
  CHECK(cache_seen);

  SuspectOptions top1;
  top1.top = 1;
  CHECK(leak_suspects(a, b, c, top1).size() == 1);
}

TEST_CASE("signature: a chain's text wildcarded as its labels are") {
  CHECK(wildcard_text("module app -> attr 'CACHE' (dict) -> ['k 1'] (list) -> [6] -> User") ==
        "module app -> attr 'CACHE' (dict) -> [*] (list) -> [*] -> User");
  CHECK(wildcard_text("x -> ['SESSIONS'] (dict) -> [<str len=5>] -> y") == "x -> ['SESSIONS'] (dict) -> [*] -> y");
  CHECK(wildcard_text("['a]b'] -> [\"c]\"] -> z") == "[*] -> [*] -> z");  // a quoted `]` does not close
  CHECK(wildcard_text("['unclosed -> [3]") == "['unclosed -> [*]");
  CHECK(wildcard_text("no subscript") == "no subscript");
}
