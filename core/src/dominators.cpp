// Dominators by Semi-NCA (L. Georgiadis, "Linear-time algorithms for dominators and related problems", 2005):
// semidominators with Lengauer-Tarjan's simple link-eval, then each idom as the nearest common ancestor of the
// semidominator and the DFS parent. Everything runs on DFS preorder numbers, so the work arrays are plain 32-bit
// vectors and the only per-node cost beyond the result is five of them while the search runs.
#include "refgraph/dominators.hpp"

#include <algorithm>
#include <string>

#include "refgraph/errors.hpp"
#include "traversal.hpp"

namespace refgraph {
namespace {

constexpr NodeIndex kNone = kNoNode;

// The dominator tree's children as a CSR: children of n are kids[start[n] .. start[n + 1]).
struct Children {
  std::vector<NodeIndex> start;
  std::vector<NodeIndex> kids;

  explicit Children(const DominatorTree& t) {
    const std::size_t n = t.idom.size();
    start.assign(n + 1, 0);
    for (NodeIndex v = 0; v < n; ++v) {
      if (t.idom[v] != kNone) ++start[t.idom[v] + 1];
    }
    for (std::size_t i = 0; i < n; ++i) start[i + 1] += start[i];
    kids.resize(start[n]);
    std::vector<NodeIndex> fill(start.begin(), start.end() - 1);
    for (NodeIndex v = 0; v < n; ++v) {
      if (t.idom[v] != kNone) kids[fill[t.idom[v]]++] = v;  // ascending v within each parent
    }
  }
  std::size_t count(NodeIndex n) const { return start[n + 1] - start[n]; }
};

void sort_biggest_first(const DominatorTree& t, std::vector<NodeIndex>& nodes) {
  std::stable_sort(nodes.begin(), nodes.end(),
                   [&](NodeIndex a, NodeIndex b) { return t.retained[a] > t.retained[b]; });
}

}  // namespace

bool DominatorTree::dominates(NodeIndex a, NodeIndex n) const {
  for (NodeIndex x = n; x != kNone; x = idom[x]) {
    if (x == a) return true;
  }
  return false;
}

DominatorTree dominator_tree(const HeapGraph& g) {
  const std::size_t num_real = g.num_nodes();
  if (num_real + 2 >= kNone) {
    throw QueryError("dominators: " + std::to_string(num_real) + " nodes: at most " + std::to_string(kNone - 3) +
                     " fit in 32-bit indices");
  }
  const NodeIndex roots = NodeIndex(num_real);
  const NodeIndex garbage = NodeIndex(num_real + 1);
  const std::size_t n = num_real + 2;
  const std::uint8_t* eflags = g.edge_flag_array().data();
  const EdgeIndex* rows = g.out_row_starts().data();
  const NodeIndex* targets = g.edge_targets().data();

  // Garbage is entered first through objects nothing strong points to, then through the lowest index of each
  // remaining cycle: the same entries whatever order the producer gave.
  detail::Bitmap referred;
  referred.clear(num_real);
  for (std::size_t e = 0; e < g.num_edges(); ++e) {
    if ((eflags[e] & kEdgeWeak) == 0) referred.set(targets[e]);
  }

  // ---- Depth-first search from the virtual root, numbering in preorder. ----
  // The DFS path is the parent chain, so no stack: cursor[p] is the next out-edge (or, for a virtual node, the
  // next candidate) of the vertex numbered p.
  std::vector<NodeIndex> pre_of(n, kNone);
  std::vector<NodeIndex> vertex(n);
  std::vector<NodeIndex> parent(n, kNone);
  std::vector<NodeIndex> cursor(n, 0);  // reused as semi after the search
  NodeIndex count = 0;
  auto visit = [&](NodeIndex v, NodeIndex parent_pre) {
    pre_of[v] = count;
    vertex[count] = v;
    parent[count] = parent_pre;
    cursor[count] = v < num_real ? rows[v] : 0;
    return count++;
  };
  auto next_child = [&](NodeIndex p) -> NodeIndex {
    const NodeIndex v = vertex[p];
    if (v < num_real) {
      for (EdgeIndex e = cursor[p], end = rows[v + 1]; e < end; ++e) {
        if ((eflags[e] & kEdgeWeak) == 0 && pre_of[targets[e]] == kNone) {
          cursor[p] = e + 1;
          return targets[e];
        }
      }
      cursor[p] = rows[v + 1];
      return kNone;
    }
    if (v == roots) {  // every root in index order, then the garbage node
      for (NodeIndex c = cursor[p]; c < num_real; ++c) {
        if (g.is_root(c) && pre_of[c] == kNone) {
          cursor[p] = c + 1;
          return c;
        }
      }
      cursor[p] = num_real;
      return pre_of[garbage] == kNone ? garbage : kNone;
    }
    // The garbage node: candidates 0..num_real-1 are unreferred objects, num_real..2*num_real-1 any object left.
    for (std::size_t c = cursor[p]; c < 2 * num_real; ++c) {
      const NodeIndex x = NodeIndex(c < num_real ? c : c - num_real);
      if (pre_of[x] == kNone && (c >= num_real || !referred.test(x))) {
        cursor[p] = NodeIndex(c + 1);
        return x;
      }
    }
    cursor[p] = NodeIndex(2 * num_real);
    return kNone;
  };
  for (NodeIndex p = visit(roots, kNone); p != kNone;) {
    const NodeIndex child = next_child(p);
    p = child != kNone ? visit(child, p) : parent[p];
  }

  // ---- Predecessors in preorder numbers, as a CSR built from the out-edges in one sequential pass: cheaper
  // than the graph's in-edge index and in the order the semidominator loop reads them. Garbage does not co-own live
  // objects, so an edge from garbage into a live object is left out. ----
  const NodeIndex garbage_pre = pre_of[garbage];
  std::vector<EdgeIndex> pred_start(n + 1, 0);
  auto for_each_kept_edge = [&](auto&& f) {
    for (NodeIndex u = 0; u < num_real; ++u) {
      const NodeIndex pu = pre_of[u];
      for (EdgeIndex e = rows[u], end = rows[u + 1]; e < end; ++e) {
        if (eflags[e] & kEdgeWeak) continue;
        const NodeIndex pv = pre_of[targets[e]];
        if (pv < garbage_pre && pu >= garbage_pre) continue;
        f(pu, pv);
      }
    }
  };
  for_each_kept_edge([&](NodeIndex, NodeIndex pv) { ++pred_start[pv + 1]; });
  for (std::size_t i = 0; i < n; ++i) pred_start[i + 1] += pred_start[i];
  std::vector<NodeIndex> preds(pred_start[n]);
  {
    std::vector<EdgeIndex> fill(pred_start.begin(), pred_start.end() - 1);
    for_each_kept_edge([&](NodeIndex pu, NodeIndex pv) { preds[fill[pv]++] = pu; });
  }
  pre_of = {};  // everything from here on is in preorder numbers

  // ---- Semidominators, in reverse preorder. ----
  std::vector<NodeIndex>& semi = cursor;
  std::vector<NodeIndex> best(n);      // smallest semi on the compressed path above, per vertex
  std::vector<NodeIndex> ancestor(n, kNone);
  for (NodeIndex p = 0; p < n; ++p) semi[p] = best[p] = p;
  std::vector<NodeIndex> path;
  auto eval = [&](NodeIndex v) -> NodeIndex {
    if (ancestor[v] == kNone) return v;
    path.clear();
    for (NodeIndex x = v; ancestor[ancestor[x]] != kNone; x = ancestor[x]) path.push_back(x);
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      const NodeIndex x = *it;
      const NodeIndex a = ancestor[x];
      if (best[a] < best[x]) best[x] = best[a];
      ancestor[x] = ancestor[a];
    }
    return best[v];
  };
  for (NodeIndex w = NodeIndex(n - 1); w >= 1; --w) {
    NodeIndex s = semi[w];
    const NodeIndex x = vertex[w];
    if (x < num_real) {
      if (g.is_root(x)) s = 0;  // the virtual root's edge: nothing is smaller
      if (parent[w] == garbage_pre) s = std::min(s, garbage_pre);
      for (EdgeIndex i = pred_start[w], end = pred_start[w + 1]; i < end; ++i) s = std::min(s, eval(preds[i]));
    } else {
      s = 0;  // the garbage node, under the virtual root
    }
    semi[w] = best[w] = s;
    ancestor[w] = parent[w];
  }
  ancestor = {};
  best = {};
  path = {};
  preds = {};
  pred_start = {};

  // ---- Immediate dominators: the nearest common ancestor of the parent and the semidominator. ----
  std::vector<NodeIndex>& idom_pre = parent;
  for (NodeIndex w = 1; w < n; ++w) {
    while (idom_pre[w] > semi[w]) idom_pre[w] = idom_pre[idom_pre[w]];
  }
  semi = {};

  DominatorTree t;
  t.idom.assign(n, kNone);
  t.retained.assign(n, 0);
  for (NodeIndex w = n - 1; w >= 1; --w) {
    const NodeIndex x = vertex[w];
    if (x < num_real) t.retained[x] += g.size(x);
    t.idom[x] = vertex[idom_pre[w]];
    t.retained[t.idom[x]] += t.retained[x];
  }
  return t;
}

std::vector<NodeIndex> dominated_children(const DominatorTree& t, NodeIndex n) {
  std::vector<NodeIndex> out;
  for (NodeIndex v = 0; v < t.idom.size(); ++v) {
    if (t.idom[v] == n) out.push_back(v);
  }
  sort_biggest_first(t, out);
  return out;
}

std::vector<NodeIndex> top_dominators(const DominatorTree& t, std::size_t limit) {
  std::vector<NodeIndex> out;
  for (NodeIndex v = 0; v < t.roots(); ++v) {
    if (t.is_virtual(t.idom[v])) out.push_back(v);
  }
  sort_biggest_first(t, out);
  if (out.size() > limit) out.resize(limit);
  return out;
}

TypeRetained retained_by_type(const HeapGraph& g, const DominatorTree& t) {
  TypeRetained out;
  out.bytes.assign(g.strings().size(), 0);
  out.top_instances.assign(g.strings().size(), 0);
  // Depth-first over the tree, counting for each type how many of its instances are on the current path: an
  // instance counts only when none is above it.
  const Children kids(t);
  std::vector<std::uint32_t> open(g.strings().size(), 0);
  std::vector<NodeIndex> next(t.idom.size(), 0);  // next child position of each vertex on the path
  std::vector<NodeIndex> stack{t.roots()};
  next[t.roots()] = kids.start[t.roots()];
  while (!stack.empty()) {
    const NodeIndex v = stack.back();
    if (next[v] < kids.start[v + 1]) {
      const NodeIndex c = kids.kids[next[v]++];
      if (!t.is_virtual(c)) {
        const StringId type = g.type(c);
        if (open[type]++ == 0) {
          out.bytes[type] += t.retained[c];
          ++out.top_instances[type];
        }
      }
      next[c] = kids.start[c];
      stack.push_back(c);
    } else {
      if (!t.is_virtual(v)) --open[g.type(v)];
      stack.pop_back();
    }
  }
  return out;
}

NodeIndex accumulation_point(const DominatorTree& t, NodeIndex n, double share, std::size_t min_children) {
  const Children kids(t);
  for (NodeIndex v = n;;) {
    if (kids.count(v) == 0) return kNone;
    NodeIndex biggest = kids.kids[kids.start[v]];
    for (NodeIndex i = kids.start[v]; i < kids.start[v + 1]; ++i) {
      if (t.retained[kids.kids[i]] > t.retained[biggest]) biggest = kids.kids[i];
    }
    if (double(t.retained[biggest]) < share * double(t.retained[v])) {
      return kids.count(v) >= min_children ? v : kNone;
    }
    v = biggest;
  }
}

Subgraph dominator_subgraph(const HeapGraph& g, const DominatorTree& t, NodeIndex n, std::size_t depth,
                            std::size_t width) {
  if (n >= g.num_nodes()) throw QueryError("dominator subgraph: not an object of the graph");
  const Children kids(t);
  Subgraph s;
  s.direction = Direction::Forward;
  s.nodes.push_back({n, 0, true, false});
  std::vector<std::uint8_t> shown(g.num_nodes(), 0);
  shown[n] = 1;
  for (std::size_t head = 0; head < s.nodes.size(); ++head) {
    const SubgraphNode parent = s.nodes[head];
    if (parent.depth >= depth) continue;
    std::vector<NodeIndex> children(kids.kids.begin() + kids.start[parent.node],
                                    kids.kids.begin() + kids.start[parent.node + 1]);
    sort_biggest_first(t, children);
    std::uint64_t cut_count = 0, cut_bytes = 0;
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (i < width) {
        shown[children[i]] = 1;
        s.nodes.push_back({children[i], parent.depth + 1, false, false});
      } else {
        ++cut_count;
        cut_bytes += t.retained[children[i]];
      }
    }
    if (cut_count) s.summaries.push_back({parent.node, "objects", cut_count, cut_bytes});
  }
  for (const SubgraphNode& sn : s.nodes) {
    for (EdgeIndex e = g.out_row_starts()[sn.node], end = g.out_row_starts()[sn.node + 1]; e < end; ++e) {
      if (shown[g.edge_targets()[e]]) s.edges.push_back(e);
    }
  }
  std::sort(s.edges.begin(), s.edges.end());
  return s;
}

}  // namespace refgraph
