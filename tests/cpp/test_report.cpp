#include <doctest/doctest.h>

#include "refgraph/chain.hpp"
#include "refgraph/graph.hpp"
#include "refgraph/report.hpp"

using namespace refgraph;

TEST_CASE("chain text: attributes through __dict__, indices, keys and the object asked about") {
  HeapGraphBuilder b;
  b.add_node(0x1, "module", 72, kGcTracked, RootKind::Module, "app.cache");
  b.add_node(0x2, "dict", 232);
  b.add_node(0x3, "dict", 232);
  b.add_node(0x4, "list", 56);
  b.add_node(0x5, "User", 48);
  b.add_edge(0x1, 0x2, b.text_label("__dict__"));
  b.add_edge(0x2, 0x3, b.text_label("['USERS']"));
  b.add_edge(0x3, 0x4, b.text_label("['alice']"));
  b.add_edge(0x4, 0x5, index_label(17));
  HeapGraph g = std::move(b).build();
  Chain c = backref_chain(g, {g.find(0x5)});
  CHECK(chain_text(g, c) == "module app.cache -> attr 'USERS' (dict) -> ['alice'] (list) -> [17] -> User");
  CHECK(chain_text(g, Chain{}) == "");
}

TEST_CASE("chain text: roots of every kind, bare attribute names and plumbing labels") {
  HeapGraphBuilder b;
  b.add_node(0x1, "frame", 100, kGcTracked, RootKind::ThreadFrame, "app.py:3 in serve");
  b.add_node(0x2, "Handler", 48);
  b.add_node(0x3, "cell", 40);
  b.add_node(0x4, "Session", 48, kGcTracked, RootKind::External);
  b.add_node(0x5, "Item", 48);
  b.add_edge(0x1, 0x2, b.text_label("handler"));
  b.add_edge(0x2, 0x3, b.text_label("cell_contents"));
  b.add_edge(0x4, 0x5, b.text_label("item"));
  HeapGraph g = std::move(b).build();
  CHECK(chain_text(g, backref_chain(g, {g.find(0x3)})) ==
        "thread frame app.py:3 in serve -> attr 'handler' (Handler) -> cell_contents -> cell");
  CHECK(chain_text(g, backref_chain(g, {g.find(0x5)})) == "Session (held from C) -> attr 'item' -> Item");
  CHECK(chain_text(g, backref_chain(g, {g.find(0x4)})) == "Session (held from C)");
}

TEST_CASE("chain steps from text hops: the hop each step ends at, unreachable and unnamed roots, wildcards") {
  const std::vector<ChainHop> hops = {
      {"module", "app", "__dict__"}, {"dict", "", "['CACHE']"}, {"list", "", "[3]"}, {"Session", "s1", ""}};
  const std::vector<ChainStep> steps = chain_steps(hops, "module");
  REQUIRE(steps.size() == 3);
  CHECK(steps[0].text == "module app");
  CHECK(steps[1].text == "attr 'CACHE' (list)");
  CHECK(steps[1].hop == 2);  // the __dict__ hop and its entry read as one step
  CHECK(steps[2].hop == 3);
  CHECK(chain_text(steps) == "module app -> attr 'CACHE' (list) -> [3] -> Session s1");
  CHECK(chain_text(chain_steps(hops, "module", true)) == "module app -> attr 'CACHE' (list) -> [*] -> Session");
  CHECK(chain_text(chain_steps({{"Node", "", ""}}, "unreachable")) == "Node (unreachable: no root reaches it)");
  CHECK(chain_text(chain_steps({{"Node", "n", ""}}, "")) == "Node n");
  CHECK(chain_text(chain_steps({{"dict", "", "x"}, {"T", "", ""}}, "other")) == "dict (other) -> attr 'x' -> T");
  CHECK(chain_steps({}, "module").empty());
}

TEST_CASE("suspects text: every line a group has, five types and three sites at most, and the empty report") {
  SuspectLines g;
  g.signature = "module app -> attr 'CACHE' (list) -> [*] -> Session";
  g.objects_b = 10;
  g.bytes_b = 480;
  g.objects_c = 20;
  g.bytes_c = 5040;
  g.retained = 18088;
  g.grew = true;
  g.types = {{"a", 6}, {"b", 5}, {"c", 4}, {"d", 3}, {"e", 2}, {"f", 1}};
  g.accumulation = "list 0x10";
  g.sample_chain = "module app -> attr 'CACHE' (list) -> [7] -> Session";
  g.sites = {{"app.py:3", 9}, {"app.py:4", 2}, {"app.py:5", 1}, {"app.py:6", 1}};
  SuspectLines stable;
  stable.signature = "module m -> T";
  stable.objects_b = stable.objects_c = 1;
  CHECK(suspects_text({g, stable}) ==
        "1. module app -> attr 'CACHE' (list) -> [*] -> Session\n"
        "   10 objects (480 B) new in B, 20 (4.9 KiB) in C, growing; retains 18 KiB\n"
        "   gains per B->C: a +6, b +5, c +4, d +3, e +2\n"
        "   accumulates in: list 0x10\n"
        "   e.g. module app -> attr 'CACHE' (list) -> [7] -> Session\n"
        "   allocated at: app.py:3 (9), app.py:4 (2), app.py:5 (1)\n"
        "2. module m -> T\n"
        "   1 objects (0 B) new in B, 1 (0 B) in C, stable; retains 0 B");
  CHECK(suspects_text({}) == "no leak suspects: no group of objects made after A survived to C and grew");
  CHECK(suspects_text({}, "a.rgd", "c.rgd") ==
        "no leak suspects: no group of objects made after a.rgd survived to c.rgd and grew");
}

TEST_CASE("metadata JSON: every field, extras, and invalid UTF-8 replaced") {
  Metadata m;
  m.pid = 42;
  m.host = "h\xff";
  m.tag = "t";
  m.extra["k"] = "v";
  CHECK(metadata_json(m) ==
        "{\"pid\":42,\"host\":\"h\xEF\xBF\xBD\",\"python_version\":\"\",\"time\":0.0,\"rss\":0,\"tag\":\"t\","
        "\"values_included\":false,\"extra\":{\"k\":\"v\"}}");
}
