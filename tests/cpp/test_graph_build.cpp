#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../../bindings/native/capture/graph_build.hpp"

using namespace refgraph;
using refgraph::capture::build_graph_parts;
using refgraph::capture::NodeDescription;
using refgraph::capture::WalkArrays;

namespace {

// A walk's arrays, written as the capture leaves them: nodes in discovery order, edges grouped by source.
struct Walk {
  std::vector<std::uint64_t> addrs;
  std::vector<bool> keep;
  std::vector<NodeDescription> described;
  std::vector<std::uint8_t> flags;
  std::vector<std::uint32_t> edge_begin{0};
  std::vector<std::uint32_t> targets;
  std::vector<EdgeLabel> labels;
  std::vector<std::uint8_t> edge_flags;
  StringTable strings;

  // A node and its out-edges (target capture index, label text, edge flags).
  void node(std::uint64_t addr, const char* type, std::uint64_t size, std::uint8_t fl,
            const std::vector<std::tuple<std::uint32_t, std::string, std::uint8_t>>& edges, bool kept = true) {
    addrs.push_back(addr);
    keep.push_back(kept);
    described.push_back({size, strings.intern(type), kNoString});
    flags.push_back(fl);
    for (const auto& [t, label, f] : edges) {
      targets.push_back(t);
      labels.push_back(label.empty() ? kNoEdgeLabel : strings.intern(label));
      edge_flags.push_back(f);
    }
    edge_begin.push_back(static_cast<std::uint32_t>(targets.size()));
  }

  HeapGraph build(capture::BuildTimes* times = nullptr) {
    std::vector<std::uint32_t> perm(addrs.size());
    WalkArrays w;
    w.addrs = addrs.data();
    w.n = addrs.size();
    w.keep = &keep;
    w.described = described.data();
    w.flags = flags.data();
    w.edge_begin = edge_begin.data();
    w.targets = targets.data();
    w.labels = labels.data();
    w.edge_flags = edge_flags.data();
    w.perm = perm.data();
    int hooks_called = 0;
    bool ranked_after_sorted = false;
    capture::BuildHooks hooks{[&] { ++hooks_called; },
                              [&] {
                                ranked_after_sorted = hooks_called == 1;
                                ++hooks_called;
                              },
                              [&] { ++hooks_called; }, [&] { ++hooks_called; }};
    RawGraphParts p = build_graph_parts(w, hooks, times);
    CHECK(hooks_called == 4);
    CHECK(ranked_after_sorted);
    p.strings = std::move(strings);
    return std::move(p).assemble("test");
  }
};

std::vector<std::uint8_t> out_flags(const HeapGraph& g, NodeIndex n) {
  std::vector<std::uint8_t> out;
  for (Edge e : g.out_edges(n)) out.push_back(g.edge_flags(e.index));
  return out;
}

std::vector<std::string> out_labels(const HeapGraph& g, NodeIndex n) {
  std::vector<std::string> out;
  for (Edge e : g.out_edges(n)) out.push_back(std::to_string(g.id(e.target)) + ":" + g.edge_label_text(e.index));
  return out;
}

constexpr std::uint32_t kMarker = 0xFFFFFFFEu;  // the capture's mark for the tool's own object

}  // namespace

TEST_CASE("build_graph_parts: nodes in address order, edges renumbered from capture order") {
  Walk w;
  w.node(0x3000, "module", 100, kGcTracked | (std::uint8_t(RootKind::Module) << kRootKindShift),
         {{1, "__dict__", 0}, {kMarker, "tool", 0}});
  w.node(0x1000, "dict", 200, kGcTracked | (1u << 6), {{2, "['x']", 0}, {0, "", kEdgeDeferred}});
  w.node(0x2000, "list", 50, kGcTracked, {{0, "[0]", kEdgeWeak}});
  capture::BuildTimes times;
  const HeapGraph g = w.build(&times);
  REQUIRE(g.num_nodes() == 3);
  CHECK(g.id(0) == 0x1000);
  CHECK(g.id(1) == 0x2000);
  CHECK(g.id(2) == 0x3000);
  CHECK(g.type_name(0) == "dict");
  CHECK(g.size(0) == 200);
  CHECK(g.flags(0) == kGcTracked);  // the walk's own bit (1 << 6) is not the graph's
  CHECK(g.root_kind(2) == RootKind::Module);
  CHECK(out_labels(g, 2) == std::vector<std::string>{"4096:__dict__"});  // the edge to the marker is left out
  CHECK(out_labels(g, 0) == std::vector<std::string>{"8192:['x']", "12288:"});
  CHECK(g.num_edges() == 4);
  CHECK(out_flags(g, 0) == std::vector<std::uint8_t>{0, kEdgeDeferred});
  CHECK(out_flags(g, 1) == std::vector<std::uint8_t>{kEdgeWeak});
  CHECK(times.sort >= 0);
}

TEST_CASE("build_graph_parts: dropped nodes and their edges leave; one node per address") {
  Walk w;
  w.node(0x5000, "A", 10, 0, {{1, "a", 0}, {2, "b", 0}, {3, "c", 0}});
  w.node(0x4000, "B", 20, 0, {{0, "back", 0}}, /*kept=*/false);
  w.node(0x6000, "C", 30, 0, {});
  w.node(0x6000, "C again", 30, 0, {{0, "dup", 0}});  // met twice (a refcount bug): edges to it go to the first
  const HeapGraph g = w.build();
  REQUIRE(g.num_nodes() == 2);
  CHECK(g.id(0) == 0x5000);
  CHECK(g.id(1) == 0x6000);
  CHECK(g.type_name(1) == "C");
  CHECK(out_labels(g, 0) == std::vector<std::string>{"24576:b", "24576:c"});
  CHECK(out_labels(g, 1).empty());  // the second copy's out-edges go with it
}

TEST_CASE("build_graph_parts: an empty walk") {
  Walk w;
  const HeapGraph g = w.build();
  CHECK(g.num_nodes() == 0);
  CHECK(g.num_edges() == 0);
}
