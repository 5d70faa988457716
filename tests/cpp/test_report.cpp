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
