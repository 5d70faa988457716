#include <doctest/doctest.h>

#include <string>
#include <tuple>
#include <vector>

#include "refgraph/graph.hpp"
#include "refgraph/growth.hpp"

using namespace refgraph;

namespace {

// (type, count_before, count_after, count_delta, size_before, size_after, size_delta)
using Row =
    std::tuple<std::string, std::uint64_t, std::uint64_t, std::int64_t, std::uint64_t, std::uint64_t, std::int64_t>;

std::vector<Row> rows(const std::vector<TypeGrowth>& grown) {
  std::vector<Row> out;
  for (const TypeGrowth& t : grown)
    out.emplace_back(t.type, t.count_before, t.count_after, t.count_delta, t.size_before, t.size_after, t.size_delta);
  return out;
}

// The two graphs intern their strings in different orders, so equal names have different StringIds.
HeapGraph older_graph() {
  HeapGraphBuilder b;
  b.intern("zzz padding");
  b.add_node(0x10, "dict", 100);
  b.add_node(0x20, "list", 50);
  b.add_node(0x30, "list", 50);
  b.add_node(0x40, "User", 40);
  b.add_node(0x50, "str", 30, 0);
  b.add_node(0x60, "tuple", 60);  // gone in the newer graph
  b.add_node(0x70, "dict", 100);
  return std::move(b).build();
}

HeapGraph newer_graph() {
  HeapGraphBuilder b;
  b.add_node(0x05, "User", 40);   // new
  b.add_node(0x10, "dict", 100);  // same
  b.add_node(0x20, "list", 50);   // same
  b.add_node(0x30, "list", 500);  // same id and type, grew in size: not new
  b.add_node(0x40, "User", 40);   // same
  b.add_node(0x50, "str", 30, 0);
  b.add_node(0x60, "User", 40);     // address of the old tuple reused by another type: new
  b.add_node(0x61, "str", 30, 0);   // new, untracked
  b.add_node(0x62, "str", 30, 0);   // new, untracked
  b.add_node(0x80, "Session", 10);  // new type
  b.add_node(0x90, "Session", 10);  // new type
  // dict: 0x70 gone, so dict shrank by one.
  return std::move(b).build();
}

}  // namespace

TEST_CASE("type_growth matches types by name and keeps only growing ones, by count delta then name") {
  HeapGraph a = older_graph(), b = newer_graph();
  CHECK(rows(type_growth(a, b)) == std::vector<Row>{
                                       {"Session", 0, 2, 2, 0, 20, 20},
                                       {"User", 1, 3, 2, 40, 120, 80},
                                       {"str", 1, 3, 2, 30, 90, 60},
                                   });
}

TEST_CASE("type_growth by size reports types that grew in bytes, by size delta") {
  HeapGraph a = older_graph(), b = newer_graph();
  CHECK(rows(type_growth(a, b, {.by_size = true})) == std::vector<Row>{
                                                          {"list", 2, 2, 0, 100, 550, 450},
                                                          {"User", 1, 3, 2, 40, 120, 80},
                                                          {"str", 1, 3, 2, 30, 90, 60},
                                                          {"Session", 0, 2, 2, 0, 20, 20},
                                                      });
}

TEST_CASE("type_growth top N and gc_tracked_only") {
  HeapGraph a = older_graph(), b = newer_graph();
  CHECK(rows(type_growth(a, b, {.top = 1})) == std::vector<Row>{{"Session", 0, 2, 2, 0, 20, 20}});
  CHECK(rows(type_growth(a, b, {.gc_tracked_only = true})) == std::vector<Row>{
                                                                  {"Session", 0, 2, 2, 0, 20, 20},
                                                                  {"User", 1, 3, 2, 40, 120, 80},
                                                              });
}

TEST_CASE("type_growth of a graph against itself is empty") {
  HeapGraph a = older_graph(), a2 = older_graph();
  CHECK(type_growth(a, a2).empty());
  CHECK(new_objects(a, a2).empty());
}

TEST_CASE("new_objects: absent by id, or the id reused by another type") {
  HeapGraph a = older_graph(), b = newer_graph();
  std::vector<std::uint64_t> ids;
  for (NodeIndex n : new_objects(a, b)) ids.push_back(b.id(n));
  CHECK(ids == std::vector<std::uint64_t>{0x05, 0x60, 0x61, 0x62, 0x80, 0x90});
  // Against an empty older graph everything is new, in NodeIndex order.
  HeapGraph empty = HeapGraphBuilder().build();
  CHECK(new_objects(empty, b).size() == b.num_nodes());
  CHECK(new_objects(b, empty).empty());
}
