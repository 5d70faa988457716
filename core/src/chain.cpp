// Shortest chains by multi-source breadth-first search over plain arrays: a parent edge per node (which doubles as
// the visited mark) and a vector used as the queue. Linear in the nodes and edges it touches, so an object held
// by a class attribute (whose class has a million instances pointing at it) costs one pass, not a wander.
#include "refgraph/chain.hpp"

#include <algorithm>

#include "traversal.hpp"

namespace refgraph {

namespace {

using detail::kNoEdge;
using detail::Way;

constexpr EdgeIndex kStartEdge = 0xFFFFFFFEu;  // parent mark of a start node
constexpr EdgeIndex kIgnored = 0xFFFFFFFDu;    // parent mark of an ignored node: never entered

class TargetTest {
 public:
  TargetTest(const HeapGraph& g, const ChainTarget& t)
      : g_(g), predicate_(t.predicate), types_(detail::find_strings(g, t.types)),
        labels_(detail::find_strings(g, t.labels)),
        by_name_(!t.types.empty() || !t.labels.empty()), any_root_(t.any_root) {}

  bool operator()(NodeIndex n) const {
    if (predicate_) return predicate_(n);
    if (by_name_) return detail::contains(types_, g_.type(n)) || detail::contains(labels_, g_.label(n));
    return any_root_ && g_.is_root(n);
  }

 private:
  const HeapGraph& g_;
  const std::function<bool(NodeIndex)>& predicate_;
  std::vector<StringId> types_;
  std::vector<StringId> labels_;
  bool by_name_;
  bool any_root_;
};

struct SearchResult {
  NodeIndex found = kNoNode;
  bool skipped_deferred = false;  // a deferred edge was passed over: a second phase could find more
};

SearchResult search(const HeapGraph& g, const std::vector<NodeIndex>& from, const ChainOptions& options,
                    const TargetTest& is_target, Way way, bool allow_deferred, std::vector<EdgeIndex>& parent,
                    detail::Bitmap& seen, std::vector<NodeIndex>& queue) {
  SearchResult result;
  parent.assign(g.num_nodes(), kNoEdge);
  seen.clear(g.num_nodes());
  for (NodeIndex n : options.ignore) {
    parent[n] = kIgnored;
    seen.set(n);
  }
  queue.clear();
  for (NodeIndex s : from) {
    if (parent[s] == kStartEdge) continue;  // listed twice
    parent[s] = kStartEdge;                 // a start is entered even if listed in `ignore`
    seen.set(s);
    if (is_target(s)) {
      result.found = s;
      return result;
    }
    queue.push_back(s);
  }
  std::size_t head = 0;
  for (std::size_t depth = 0; head < queue.size(); ++depth) {
    if (options.max_depth != 0 && depth >= options.max_depth) break;
    const std::size_t level_end = queue.size();
    for (; head < level_end; ++head) {
      bool stop = detail::for_each_neighbour(g, queue[head], way, kEdgeWeak, [&](NodeIndex m, EdgeIndex e) {
        if (seen.test(m)) return false;
        if (!allow_deferred && g.edge_deferred(e)) {
          result.skipped_deferred = true;
          return false;
        }
        seen.set(m);
        parent[m] = e;
        if (is_target(m)) {
          result.found = m;
          return true;
        }
        queue.push_back(m);
        return false;
      });
      if (stop) return result;
    }
  }
  return result;
}

Chain find_chain(const HeapGraph& g, const std::vector<NodeIndex>& from, const ChainOptions& options, Way way) {
  detail::check_nodes(g, from, way == Way::In ? "backref chain start" : "ref chain start");
  detail::check_nodes(g, options.ignore, "chain ignore list");
  Chain chain;
  if (from.empty()) return chain;
  TargetTest is_target(g, options.target);
  std::vector<EdgeIndex> parent;
  std::vector<NodeIndex> queue;
  detail::Bitmap seen;
  queue.reserve(1024);
  SearchResult r = search(g, from, options, is_target, way, false, parent, seen, queue);
  if (r.found == kNoNode && r.skipped_deferred) r = search(g, from, options, is_target, way, true, parent, seen, queue);
  if (r.found == kNoNode) return chain;

  // Walk the parent edges from the target back to a start. For a backref search the parent edge of a node points
  // from it towards the start, so the walk yields root ... start already; a ref search walks start <- ... <- found.
  NodeIndex n = r.found;
  chain.nodes.push_back(n);
  while (parent[n] != kStartEdge) {
    EdgeIndex e = parent[n];
    chain.edges.push_back(e);
    chain.used_deferred = chain.used_deferred || g.edge_deferred(e);
    n = way == Way::In ? g.edge_target(e) : g.edge_source(e);
    chain.nodes.push_back(n);
  }
  if (way == Way::Out) {
    std::reverse(chain.nodes.begin(), chain.nodes.end());
    std::reverse(chain.edges.begin(), chain.edges.end());
  }
  return chain;
}

}  // namespace

Chain backref_chain(const HeapGraph& g, const std::vector<NodeIndex>& from, const ChainOptions& options) {
  return find_chain(g, from, options, Way::In);
}

Chain ref_chain(const HeapGraph& g, const std::vector<NodeIndex>& from, const ChainOptions& options) {
  return find_chain(g, from, options, Way::Out);
}

RootKind chain_root_kind(const HeapGraph& g, const Chain& c) {
  if (c.nodes.empty()) return RootKind::None;
  return g.root_kind(c.nodes.front());
}

}  // namespace refgraph
