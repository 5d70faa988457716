// Leak suspects: new objects grouped by the signature of their shortest retaining chain, compared across B and C.
#include "refgraph/suspects.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "refgraph/dominators.hpp"
#include "refgraph/growth.hpp"
#include "refgraph/report.hpp"
#include "refgraph/retainers.hpp"
#include "traversal.hpp"

namespace refgraph {
namespace {

constexpr std::uint32_t kNoGroup = 0xFFFFFFFFu;

struct Groups {
  std::unordered_map<std::string, std::uint32_t> index;
  std::vector<SuspectGroup> list;

  std::uint32_t of(const std::string& signature) {
    auto [it, inserted] = index.emplace(signature, std::uint32_t(list.size()));
    if (inserted) {
      list.emplace_back();
      list.back().signature = signature;
    }
    return it->second;
  }
};

// Assigns each new node of g a group: its signature if its retainer is old, else its retainer's group.
std::vector<std::uint32_t> assign(const HeapGraph& g, const RetainerTree& tree, const std::vector<NodeIndex>& fresh,
                                  Groups& groups) {
  std::vector<std::uint32_t> group(g.num_nodes(), kNoGroup);
  std::vector<std::uint8_t> is_new(g.num_nodes(), 0);
  for (NodeIndex n : fresh) is_new[n] = 1;
  for (NodeIndex v : tree.order()) {
    if (!is_new[v]) continue;
    const EdgeIndex e = tree.parent_edge(v);
    const NodeIndex parent = e == RetainerTree::kNoParent ? kNoNode : g.edge_source(e);
    if (parent != kNoNode && is_new[parent]) {
      group[v] = group[parent];
    } else {
      group[v] = groups.of(chain_signature(g, tree.chain_to(g, v)));
    }
  }
  for (NodeIndex v : fresh) {
    if (group[v] == kNoGroup) {
      group[v] = groups.of(std::string(g.type_name(v)) + " (unreachable: cyclic garbage no root reaches)");
    }
  }
  return group;
}

}  // namespace

std::vector<SuspectGroup> leak_suspects(const HeapGraph& a, const HeapGraph& b, const HeapGraph& c,
                                        const SuspectOptions& options) {
  Groups groups;
  auto step = [&](std::string_view what) {
    if (options.progress) options.progress(what, 0.0);
  };
  step("new objects");
  auto fresh = [&](const HeapGraph& g) {
    std::vector<NodeIndex> out = new_objects(a, g);
    std::vector<std::uint8_t> ignored(g.num_nodes(), 0);
    for (std::uint64_t id : options.ignore_ids) {
      if (NodeIndex n = g.find(id); n != kNoNode) ignored[n] = 1;
    }
    out.erase(std::remove_if(out.begin(), out.end(), [&](NodeIndex n) { return ignored[n] != 0; }), out.end());
    return out;
  };
  const std::vector<NodeIndex> fresh_b = fresh(b);
  const std::vector<NodeIndex> fresh_c = fresh(c);
  std::vector<std::map<std::string, std::int64_t>> type_delta;
  {
    step("retainers of B");
    const RetainerTree tree_b(b);
    const std::vector<std::uint32_t> group_b = assign(b, tree_b, fresh_b, groups);
    type_delta.resize(groups.list.size());
    for (NodeIndex v : fresh_b) {
      SuspectGroup& s = groups.list[group_b[v]];
      ++s.count_b;
      s.bytes_b += b.size(v);
      --type_delta[group_b[v]][std::string(b.type_name(v))];
    }
  }
  step("retainers of C");
  const RetainerTree tree_c(c);
  const std::vector<std::uint32_t> group_c = assign(c, tree_c, fresh_c, groups);
  type_delta.resize(groups.list.size());
  const DominatorTree dom = dominator_tree(c, options.progress);
  step("groups");
  for (NodeIndex v : fresh_c) {
    const std::uint32_t gid = group_c[v];
    SuspectGroup& s = groups.list[gid];
    ++s.count_c;
    s.bytes_c += c.size(v);
    s.members.push_back(v);
    ++type_delta[gid][std::string(c.type_name(v))];
    const NodeIndex in_b = b.find(c.id(v));
    if (in_b != kNoNode && b.type_name(in_b) == c.type_name(v)) ++s.survivors;
    // The group's share: objects whose dominator is outside the group carry what the group keeps alive.
    const NodeIndex d = dom.idom[v];
    if (dom.is_virtual(d) || group_c[d] != gid) s.retained_c += dom.retained[v];
    if (s.sample == kNoNode) {
      const EdgeIndex e = tree_c.parent_edge(v);
      const NodeIndex parent = e == RetainerTree::kNoParent ? kNoNode : c.edge_source(e);
      if (parent == kNoNode || group_c[parent] != gid) {
        s.sample = v;
        s.sample_chain = tree_c.chain_to(c, v);
        s.accumulation = parent;
      }
    }
  }
  std::vector<SuspectGroup> out;
  for (std::size_t i = 0; i < groups.list.size(); ++i) {
    SuspectGroup& s = groups.list[i];
    if (s.survivors == 0 || (!s.grew() && !options.include_stable)) continue;
    for (const auto& [type, delta] : type_delta[i]) {
      if (delta > 0) s.types.emplace_back(type, std::uint64_t(delta));
    }
    std::stable_sort(s.types.begin(), s.types.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const SuspectGroup& x, const SuspectGroup& y) {
    if (x.retained_c != y.retained_c) return x.retained_c > y.retained_c;
    if (x.count_c != y.count_c) return x.count_c > y.count_c;
    return x.signature < y.signature;
  });
  if (options.top != 0 && out.size() > options.top) out.resize(options.top);
  return out;
}

}  // namespace refgraph
