// Helpers shared by the dump tests: a graph that uses every field, and a comparison by value.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

#include "refgraph/graph.hpp"

namespace refgraph::test {

// Every node field, every root kind, text and index labels (incl. the largest index), weak and deferred edges,
// a self loop, parallel edges, an edge to a lower index, ids near both ends of the range, metadata with extras.
inline HeapGraph full_graph() {
  HeapGraphBuilder b;
  b.add_node(0x1000, "module", 72, kGcTracked, RootKind::Module, "app.cache");
  b.add_node(0x2000, "dict", 232);
  b.add_node(0x3000, "list", 1ull << 40, kGcTracked, RootKind::ThreadFrame);
  b.add_node(0, "int", 28, 0, RootKind::External);
  b.add_node(0xFFFFFFFFFFFFFFF0ull, "str", 55, kLabelIsValue, RootKind::Other, "h\xC3\xA9llo \"q\"\n\\");
  b.add_node(0x2008, "function", 0, kGcTracked, RootKind::None, "handler");
  b.add_edge(0x1000, 0x2000, b.text_label("__dict__"));
  b.add_edge(0x2000, 0x3000, b.text_label("['USERS']"));
  b.add_edge(0x3000, 0xFFFFFFFFFFFFFFF0ull, index_label(0));
  b.add_edge(0x3000, 0xFFFFFFFFFFFFFFF0ull, index_label(1), kEdgeWeak);
  b.add_edge(0x3000, 0, index_label(7));
  b.add_edge(0x3000, 0, index_label(0x7FFFFFFF), kEdgeWeak | kEdgeDeferred);
  b.add_edge(0x3000, 0x3000, index_label(3));
  b.add_edge(0x2000, 0xFFFFFFFFFFFFFFF0ull, b.text_label("['name']"), kEdgeDeferred);
  b.add_edge(0x2008, 0x1000, b.text_label("__globals__"), kEdgeDeferred);
  b.add_edge(0x2008, 0x2000);
  Metadata& m = b.metadata();
  m.pid = -42;
  m.host = "web-1";
  m.python_version = "3.11.4 (main)";
  m.time = 1732200000.123456;
  m.rss = 123456789012ull;
  m.tag = "worker-3 after request 100";
  m.values_included = true;
  m.extra = {{"argv", "python app.py"}, {"empty", ""}, {"\xC3\xA9", "x\ty"}};
  return std::move(b).build();
}

// A graph whose ids grow by small random steps and whose edges mostly point near their source.
inline HeapGraph random_graph(std::size_t n, std::size_t edges_per_node, unsigned seed = 1) {
  std::mt19937_64 rng(seed);
  HeapGraphBuilder b;
  b.reserve(n, n * edges_per_node);
  const char* types[] = {"dict", "list", "tuple", "str", "function", "cell", "int", "Foo"};
  std::vector<StringId> tid;
  for (auto t : types) tid.push_back(b.intern(t));
  std::vector<EdgeLabel> names;
  for (int i = 0; i < 50; ++i) names.push_back(b.text_label("attr" + std::to_string(i)));
  std::vector<std::uint64_t> ids(n);
  std::uint64_t id = 0x7f0000000000ull;
  for (std::size_t i = 0; i < n; ++i) {
    id += 16 * (1 + rng() % 12);
    ids[i] = id;
    auto t = rng() % 8;
    b.add_node(id, tid[t], 16 + 8 * (rng() % 40), t == 6 ? 0 : kGcTracked, kNoString);
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < edges_per_node; ++k) {
      std::int64_t off = static_cast<std::int64_t>(rng() % 2001) - 1000;
      std::int64_t t = static_cast<std::int64_t>(i) + off;
      if (rng() % 10 == 0) t = static_cast<std::int64_t>(rng() % n);
      t = std::clamp<std::int64_t>(t, 0, static_cast<std::int64_t>(n) - 1);
      EdgeLabel l = rng() % 3 == 0 ? index_label(static_cast<std::uint32_t>(k)) : names[rng() % names.size()];
      b.add_edge(ids[i], ids[static_cast<std::size_t>(t)], l, rng() % 50 == 0 ? kEdgeWeak : 0);
    }
  }
  b.metadata().tag = "random";
  return std::move(b).build();
}

// Compares everything a user can observe, by text (string ids may differ between formats).
inline void check_same_graph(const HeapGraph& a, const HeapGraph& b) {
  REQUIRE(a.num_nodes() == b.num_nodes());
  REQUIRE(a.num_edges() == b.num_edges());
  for (NodeIndex n = 0; n < a.num_nodes(); ++n) {
    CHECK(a.id(n) == b.id(n));
    CHECK(a.type_name(n) == b.type_name(n));
    CHECK(a.size(n) == b.size(n));
    CHECK(a.flags(n) == b.flags(n));
    CHECK(a.label_text(n) == b.label_text(n));
    REQUIRE(a.out_degree(n) == b.out_degree(n));
  }
  for (EdgeIndex e = 0; e < a.num_edges(); ++e) {
    CHECK(a.edge_target(e) == b.edge_target(e));
    CHECK(a.edge_label_text(e) == b.edge_label_text(e));
    CHECK(is_index_label(a.edge_label(e)) == is_index_label(b.edge_label(e)));
    CHECK(a.edge_flags(e) == b.edge_flags(e));
  }
  const Metadata &x = a.metadata(), &y = b.metadata();
  CHECK(x.pid == y.pid);
  CHECK(x.host == y.host);
  CHECK(x.python_version == y.python_version);
  CHECK(x.time == y.time);
  CHECK(x.rss == y.rss);
  CHECK(x.tag == y.tag);
  CHECK(x.values_included == y.values_included);
  CHECK(x.extra == y.extra);
}

// A fresh empty directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("refgraph-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::size_t entries() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(path_)) ++n;
    return n;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace refgraph::test
