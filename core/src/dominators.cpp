// Dominators by Semi-NCA (L. Georgiadis, "Linear-time algorithms for dominators and related problems", 2005):
// semidominators with Lengauer-Tarjan's simple link-eval, then each idom as the nearest common ancestor of the
// semidominator and the DFS parent. The predecessors come from the graph's in-edge index, and the work arrays live
// in the result's own memory until it is filled, so the peak is 16 bytes a node on top of the graph.
#include "refgraph/dominators.hpp"

#include <algorithm>
#include <string>

#include "refgraph/errors.hpp"

namespace refgraph {
namespace {

constexpr NodeIndex kNone = kNoNode;
constexpr NodeIndex kAhead = 16;  // how many nodes ahead the semidominator loop prefetches

// Two 32-bit arrays in the words of one 64-bit array (the low and the high halves), so that the retained sizes'
// memory serves as work space before it holds them, and a node's two values come in one load.
struct Halves {
  std::vector<std::uint64_t>& words;
  NodeIndex lo(NodeIndex i) const { return NodeIndex(words[i]); }
  NodeIndex hi(NodeIndex i) const { return NodeIndex(words[i] >> 32); }
  void set(NodeIndex i, NodeIndex lo, NodeIndex hi) { words[i] = std::uint64_t(hi) << 32 | lo; }
  void set_hi(NodeIndex i, NodeIndex hi) { words[i] = std::uint64_t(hi) << 32 | (words[i] & 0xFFFFFFFFu); }
};

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
  std::stable_sort(nodes.begin(), nodes.end(), [&](NodeIndex a, NodeIndex b) { return t.retained[a] > t.retained[b]; });
}

}  // namespace

bool DominatorTree::dominates(NodeIndex a, NodeIndex n) const {
  for (NodeIndex x = n; x != kNone; x = idom[x]) {
    if (x == a) return true;
  }
  return false;
}

DominatorTree dominator_tree(const HeapGraph& g, const Progress& progress) {
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
  auto strong = [&](EdgeIndex e) { return (eflags[e] & kEdgeWeak) == 0; };
  // Four passes over the nodes; `report(k, i)`: pass k is at node i of n.
  auto report = [&](int pass, std::size_t i) {
    if (progress && (i & 0xFFFF) == 0) progress("dominator tree", (pass + double(i) / double(n)) / 4.0);
  };
  const auto& back = g.csr().m_backward;  // the in-edge index (built now if no query has asked for it yet)
  const EdgeIndex* in_rows = back.m_rowstart.data();
  const NodeIndex* in_sources = back.m_column.data();
  const EdgeIndex* in_edges = back.m_edge_properties.data();

  // Memory: the result's own arrays are the work space until the last step, so the peak is four 32-bit words a
  // node (t.idom, the two halves of t.retained, and `vertex`) on top of the graph and its in-edge index, which
  // gives the predecessors. Everything is indexed by NodeIndex except `vertex`, the nodes in DFS preorder.
  DominatorTree t;
  t.retained.assign(n, ~std::uint64_t(0));
  t.idom.assign(n, kNone);
  std::vector<NodeIndex> vertex(n);
  Halves w{t.retained};
  std::vector<NodeIndex>& up = t.idom;  // the DFS parent, then the link-eval forest's (compressed) ancestor

  // ---- Depth-first search from the virtual root, numbering in preorder: w.lo = the number (kNone: not yet
  // seen), w.hi = the next out-edge to try. The DFS path is the parent chain, so no stack. ----
  NodeIndex count = 0;
  auto visit = [&](NodeIndex v, NodeIndex parent) {
    report(0, count);
    w.set(v, count, v < num_real ? rows[v] : 0);
    vertex[count++] = v;
    up[v] = parent;
    if (v < num_real) {  // whether its targets were seen: ask for all of them at once
      for (EdgeIndex e = rows[v], end = std::min(rows[v + 1], rows[v] + 8); e < end; ++e)
        __builtin_prefetch(&up[targets[e]]);
    }
  };
  // Garbage is entered first through objects nothing strong points to, then through the lowest index of each
  // remaining cycle: the same entries whatever order the producer gave.
  auto referred = [&](NodeIndex x) {
    for (EdgeIndex i = in_rows[x], end = in_rows[x + 1]; i < end; ++i) {
      if (strong(in_edges[i])) return true;
    }
    return false;
  };
  NodeIndex root_cursor = 0;
  std::size_t garbage_cursor = 0;  // 0..num_real-1: unreferred objects; num_real..2*num_real-1: any left
  auto next_child = [&](NodeIndex v) -> NodeIndex {
    if (v < num_real) {
      for (EdgeIndex e = w.hi(v), end = rows[v + 1]; e < end; ++e) {
        if (strong(e) && up[targets[e]] == kNone) {  // (up, not w.lo: half the bytes to cache)
          w.set_hi(v, e + 1);
          return targets[e];
        }
      }
      w.set_hi(v, rows[v + 1]);
      return kNone;
    }
    if (v == roots) {  // every root in index order, then the garbage node
      for (; root_cursor < num_real; ++root_cursor) {
        if (g.is_root(root_cursor) && w.lo(root_cursor) == kNone) return root_cursor++;
      }
      return w.lo(garbage) == kNone ? garbage : kNone;
    }
    for (; garbage_cursor < 2 * num_real; ++garbage_cursor) {
      const bool any = garbage_cursor >= num_real;
      const NodeIndex x = NodeIndex(any ? garbage_cursor - num_real : garbage_cursor);
      if (w.lo(x) == kNone && (any || !referred(x))) return x;
    }
    return kNone;
  };
  visit(roots, kNone);
  for (NodeIndex v = roots; v != kNone;) {
    const NodeIndex child = next_child(v);
    if (child != kNone) {
      visit(child, v);
      v = child;
    } else {
      v = up[v];
    }
  }
  const NodeIndex garbage_pre = w.lo(garbage);

  // ---- Semidominators, in reverse preorder: w.lo = the preorder number, then the semidominator once the node is
  // done; w.hi = kNone until done, then the smallest semidominator on the compressed path above (Lengauer-Tarjan's
  // simple link-eval; a done node is linked to its DFS parent). The garbage node's own number stands for its
  // semidominator in the forest, so that an edge from garbage into a live object is never a way in from the root:
  // garbage does not co-own live objects. ----
  for (NodeIndex v = 0; v < n; ++v) w.set_hi(v, kNone);
  auto eval = [&](NodeIndex u) -> NodeIndex {
    if (w.hi(u) == kNone) return w.lo(u);  // not done: its own number
    if (w.hi(up[u]) == kNone) return w.hi(u);
    // Path compression without a stack: reverse the links on the way up, then walk down again, each node
    // taking the smallest value above it and the tree's root as its ancestor.
    NodeIndex below = kNone, x = u;
    while (w.hi(up[x]) != kNone) {
      const NodeIndex above = up[x];
      up[x] = below;
      below = x;
      x = above;
    }
    const NodeIndex tree_root = up[x];
    NodeIndex best = w.hi(x);
    for (NodeIndex y = below; y != kNone;) {
      const NodeIndex next = up[y];
      best = std::min(best, w.hi(y));
      w.set_hi(y, best);
      up[y] = tree_root;
      y = next;
    }
    return best;
  };
  for (NodeIndex p = NodeIndex(n - 1); p >= 1; --p) {
    report(1, n - p);
    // The in-edges of nodes a few steps ahead are far apart in memory: ask for them early.
    if (p >= kAhead) {
      const NodeIndex soon = vertex[p - kAhead];
      __builtin_prefetch(&in_rows[soon]);
      __builtin_prefetch(&w.words[soon]);
      const NodeIndex sooner = vertex[p - kAhead / 2];
      if (sooner < num_real) {
        __builtin_prefetch(&in_sources[in_rows[sooner]]);
        __builtin_prefetch(&in_edges[in_rows[sooner]]);
      }
      const NodeIndex next = vertex[p - kAhead / 4];
      if (next < num_real) {
        for (EdgeIndex i = in_rows[next], end = std::min(in_rows[next + 1], in_rows[next] + 4); i < end; ++i) {
          __builtin_prefetch(&eflags[in_edges[i]]);
          __builtin_prefetch(&w.words[in_sources[i]]);
        }
      }
    }
    const NodeIndex x = vertex[p];
    NodeIndex s = p;
    if (x == garbage) {
      // its semidominator is the root (step two knows); see above for the number in the forest
    } else if (g.is_root(x)) {
      s = 0;  // the virtual root's edge: nothing is smaller
    } else {
      if (up[x] == garbage) s = garbage_pre;
      // The smallest value over all in-edges, then the flags of the edge that gave it (edge flags are far apart in
      // memory); only when that one is weak, again over the strong ones.
      NodeIndex least = s;
      EdgeIndex from = kNone;
      for (EdgeIndex i = in_rows[x], end = in_rows[x + 1]; i < end; ++i) {
        const NodeIndex value = eval(in_sources[i]);
        if (value < least) least = value, from = i;
      }
      if (from == kNone || strong(in_edges[from])) {
        s = least;
      } else {
        for (EdgeIndex i = in_rows[x], end = in_rows[x + 1]; i < end; ++i) {
          if (strong(in_edges[i])) s = std::min(s, eval(in_sources[i]));
        }
      }
    }
    w.set(x, s, s);
  }

  // ---- Immediate dominators: the nearest common ancestor of the DFS parent and the semidominator. w.lo = the
  // semidominator, w.hi = the preorder number again. First up = the DFS parent, by NodeIndex (reading the in-edge
  // index in its own order): the in-neighbour numbered highest below the node (an edge from a lower number leads
  // to a descendant), or the virtual node the search entered it from. Then, in preorder, up = the result. ----
  for (NodeIndex p = 0; p < n; ++p) w.set_hi(vertex[p], p);
  for (NodeIndex x = 0; x < num_real; ++x) {
    report(2, x);
    const NodeIndex p = w.hi(x);
    auto parent_of = [&](bool check_flags) {
      EdgeIndex from = kNone;
      NodeIndex from_pre = 0;
      for (EdgeIndex i = in_rows[x], end = in_rows[x + 1]; i < end; ++i) {
        const NodeIndex q = w.hi(in_sources[i]);
        if (q < p && (from == kNone || q > from_pre) && (!check_flags || strong(in_edges[i]))) from = i, from_pre = q;
      }
      return from;
    };
    EdgeIndex from = parent_of(false);  // as above: the flags of the winner only, unless it is weak
    if (from != kNone && !strong(in_edges[from])) from = parent_of(true);
    up[x] = from != kNone ? in_sources[from] : p > garbage_pre ? garbage : roots;
  }
  up[roots] = kNone;
  up[garbage] = roots;
  for (NodeIndex p = 1; p < n; ++p) {
    const NodeIndex x = vertex[p];
    const NodeIndex semi = w.lo(x);
    NodeIndex d = up[x];
    while (w.hi(d) > semi) d = up[d];
    up[x] = d;
  }

  // ---- Retained sizes, children before their dominator. ----
  std::fill(t.retained.begin(), t.retained.end(), 0);
  for (NodeIndex p = NodeIndex(n - 1); p >= 1; --p) {
    report(3, n - p);
    const NodeIndex x = vertex[p];
    if (x < num_real) t.retained[x] += g.size(x);
    t.retained[t.idom[x]] += t.retained[x];
  }
  if (progress) progress("dominator tree", 1.0);
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
