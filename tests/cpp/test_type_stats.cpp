#include <doctest/doctest.h>

#include <string>
#include <tuple>
#include <vector>

#include "refgraph/graph.hpp"
#include "refgraph/type_stats.hpp"

using namespace refgraph;

namespace {

using Row = std::tuple<std::string, std::uint64_t, std::uint64_t>;

std::vector<Row> rows(const std::vector<TypeStat>& stats) {
  std::vector<Row> out;
  for (const TypeStat& s : stats) out.emplace_back(s.type, s.count, s.size);
  return out;
}

// a: 3 x 10 B, b: 3 x 20 B, c: 2 x 100 B (one not gc-tracked), d: 3 x 10 B, e: 1 x 60 B.
// Ties: a and d on both keys (name decides), b and e on size (count decides), a/b/d on count (size decides).
HeapGraph stats_graph() {
  HeapGraphBuilder b;
  std::uint64_t id = 0x100;
  auto add = [&](const char* type, std::uint64_t size, std::uint8_t flags = kGcTracked) {
    b.add_node(id, type, size, flags, RootKind::None, "some label");
    id += 0x10;
  };
  add("d", 10), add("d", 10), add("d", 10);
  add("a", 10), add("a", 10), add("a", 10);
  add("c", 100), add("c", 100, 0);
  add("b", 20), add("b", 20), add("b", 20);
  add("e", 60);
  b.add_edge(0x100, 0x110, b.text_label("edge label"));
  return std::move(b).build();
}

}  // namespace

TEST_CASE("type_stats sorts by count, then size, then name") {
  HeapGraph g = stats_graph();
  CHECK(rows(type_stats(g)) == std::vector<Row>{{"b", 3, 60}, {"a", 3, 30}, {"d", 3, 30}, {"c", 2, 200}, {"e", 1, 60}});
}

TEST_CASE("type_stats sorts by size, then count, then name") {
  HeapGraph g = stats_graph();
  CHECK(rows(type_stats(g, {.sort = SortBy::Size})) ==
        std::vector<Row>{{"c", 2, 200}, {"b", 3, 60}, {"e", 1, 60}, {"a", 3, 30}, {"d", 3, 30}});
}

TEST_CASE("type_stats top N keeps the first N of the full order") {
  HeapGraph g = stats_graph();
  CHECK(rows(type_stats(g, {.top = 2})) == std::vector<Row>{{"b", 3, 60}, {"a", 3, 30}});
  CHECK(rows(type_stats(g, {.sort = SortBy::Size, .top = 3})) ==
        std::vector<Row>{{"c", 2, 200}, {"b", 3, 60}, {"e", 1, 60}});
  CHECK(type_stats(g, {.top = 99}).size() == 5);
}

TEST_CASE("type_stats gc_tracked_only leaves untracked objects out") {
  HeapGraph g = stats_graph();
  CHECK(rows(type_stats(g, {.gc_tracked_only = true})) ==
        std::vector<Row>{{"b", 3, 60}, {"a", 3, 30}, {"d", 3, 30}, {"c", 1, 100}, {"e", 1, 60}});
}

TEST_CASE("type_stats of an empty graph is empty") {
  HeapGraph g = HeapGraphBuilder().build();
  CHECK(type_stats(g).empty());
}

TEST_CASE("merge_type_stats sums per type over graphs") {
  HeapGraph g = stats_graph();
  HeapGraphBuilder b;
  b.add_node(1, "e", 60);
  b.add_node(2, "e", 60);
  b.add_node(3, "e", 60);
  b.add_node(4, "f", 1000);
  HeapGraph h = std::move(b).build();
  std::vector<std::vector<TypeStat>> per = {type_stats(g), type_stats(h)};
  CHECK(rows(merge_type_stats(per)) ==
        std::vector<Row>{{"e", 4, 240}, {"b", 3, 60}, {"a", 3, 30}, {"d", 3, 30}, {"c", 2, 200}, {"f", 1, 1000}});
  CHECK(rows(merge_type_stats(per, {.sort = SortBy::Size, .top = 2})) ==
        std::vector<Row>{{"f", 1, 1000}, {"e", 4, 240}});
  CHECK(merge_type_stats({}).empty());
}

TEST_CASE("type_name_matches: a name told apart answers its short and its qualified name") {
  CHECK(type_name_matches("Request", "Request"));
  CHECK(type_name_matches("Request (werkzeug.wrappers.request)", "Request (werkzeug.wrappers.request)"));
  CHECK(type_name_matches("Request (werkzeug.wrappers.request)", "Request"));
  CHECK(type_name_matches("Request (werkzeug.wrappers.request)", "werkzeug.wrappers.request.Request"));
  CHECK_FALSE(type_name_matches("Request (werkzeug.wrappers.request)", "gunicorn.http.message.Request"));
  CHECK_FALSE(type_name_matches("Request (werkzeug.wrappers.request)", "request.Request"));
  CHECK_FALSE(type_name_matches("Request (werkzeug.wrappers.request)", "Reques"));
  CHECK_FALSE(type_name_matches("Request", "werkzeug.wrappers.request.Request"));
  CHECK_FALSE(type_name_matches("x ()", "x"));  // no module: not a name told apart
  CHECK_FALSE(type_name_matches("RequestX", "Request"));
}

TEST_CASE("nodes_matching_type: the short name names every type that shares it, the qualified name one") {
  HeapGraphBuilder b;
  b.add_node(0x100, "Request (werkzeug.wrappers.request)", 56, kGcTracked);
  b.add_node(0x110, "Request (gunicorn.http.message)", 56, kGcTracked);
  b.add_node(0x120, "Request (werkzeug.wrappers.request)", 56, kGcTracked);
  b.add_node(0x130, "dict", 64, kGcTracked);
  HeapGraph g = std::move(b).build();
  CHECK(nodes_matching_type(g, "Request") == std::vector<NodeIndex>{0, 1, 2});
  CHECK(nodes_matching_type(g, "werkzeug.wrappers.request.Request") == std::vector<NodeIndex>{0, 2});
  CHECK(nodes_matching_type(g, "Request (gunicorn.http.message)") == std::vector<NodeIndex>{1});
  CHECK(nodes_matching_type(g, "dict") == std::vector<NodeIndex>{3});
  CHECK(nodes_matching_type(g, "list").empty());
}
