#include "refgraph/graph.hpp"

#include <algorithm>
#include <exception>
#include <future>
#include <iterator>
#include <numeric>
#include <system_error>

#include "huge_pages.hpp"
#include "refgraph/errors.hpp"

namespace refgraph {

const char* root_kind_name(RootKind kind) {
  switch (kind) {
    case RootKind::None: return "none";
    case RootKind::Module: return "module";
    case RootKind::ThreadFrame: return "thread frame";
    case RootKind::External: return "external";
    case RootKind::Other: return "other";
  }
  return "none";
}

RootKind parse_root_kind(std::string_view name) {
  for (auto k : {RootKind::None, RootKind::Module, RootKind::ThreadFrame, RootKind::External, RootKind::Other}) {
    if (name == root_kind_name(k)) return k;
  }
  if (name == "thread_frame" || name == "frame") return RootKind::ThreadFrame;
  throw QueryError("unknown root kind '" + std::string(name) +
                   "' (expected module, thread frame, external, other or none)");
}

// ---- StringTable ----

StringTable::StringTable() {
  strings_.emplace_back();
  index_.emplace(std::string_view(strings_.back()), 0);
}

StringId StringTable::intern(std::string_view s) {
  auto it = index_.find(s);
  if (it != index_.end()) return it->second;
  auto id = static_cast<StringId>(strings_.size());
  strings_.emplace_back(s);
  index_.emplace(std::string_view(strings_.back()), id);
  return id;
}

StringId StringTable::find(std::string_view s) const {
  auto it = index_.find(s);
  return it == index_.end() ? kNoString : it->second;
}

std::size_t StringTable::memory_bytes() const {
  std::size_t n = strings_.size() * sizeof(std::string) + index_.size() * (sizeof(std::string_view) + 16) +
                  index_.bucket_count() * sizeof(void*);
  for (const auto& s : strings_) {
    if (s.capacity() > 15) n += s.capacity() + 1;
  }
  return n;
}

// ---- HeapGraph ----

NodeIndex HeapGraph::find(std::uint64_t id) const {
  auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
  if (it == ids_.end() || *it != id) return kNoNode;
  return static_cast<NodeIndex>(it - ids_.begin());
}

NodeIndex HeapGraph::edge_source(EdgeIndex e) const {
  const auto& rs = csr_.m_forward.m_rowstart;
  auto it = std::upper_bound(rs.begin(), rs.end(), e);
  return static_cast<NodeIndex>((it - rs.begin()) - 1);
}

std::string HeapGraph::edge_label_text(EdgeIndex e) const {
  EdgeLabel l = edge_labels_[e];
  if (is_index_label(l)) {
    std::string s = "[";
    s += std::to_string(l & ~kIndexLabelBit);
    s += ']';
    return s;
  }
  return std::string(strings_[l]);
}

template <class V>
static std::size_t vec_bytes(const V& v) {
  return v.capacity() * sizeof(typename V::value_type);
}

std::size_t HeapGraph::memory_bytes() const {
  std::size_t in_index = 0;
  if (has_in_index()) {
    const auto& back = csr_.m_backward;
    in_index = vec_bytes(back.m_rowstart) + vec_bytes(back.m_column) + vec_bytes(back.m_edge_properties);
  }
  return vec_bytes(ids_) + vec_bytes(types_) + vec_bytes(sizes_) + vec_bytes(flags_) + vec_bytes(labels_) +
         vec_bytes(csr_.m_forward.m_rowstart) + vec_bytes(csr_.m_forward.m_column) + in_index +
         vec_bytes(edge_labels_) + vec_bytes(edge_flags_) + strings_.memory_bytes() + sizeof(*this) + sizeof(Lazy);
}

// Fills the backward half of Boost's CSR directly (sources and forward edge indices grouped by target): one
// counting sort. Boost's own constructor builds both halves from a pair range and takes about four times as long
// with a higher peak. Edges are visited in EdgeIndex order, so in-edges come out ordered by source then
// EdgeIndex, as Boost orders them.
void HeapGraph::build_in_index() const {
  std::call_once(lazy_->once, [this] {
    const auto& rows = csr_.m_forward.m_rowstart;
    const auto& targets = csr_.m_forward.m_column;
    const auto n = static_cast<NodeIndex>(ids_.size());
    const std::size_t m = targets.size();
    auto& back = csr_.m_backward;
    std::vector<EdgeIndex>& starts = back.m_rowstart;
    std::vector<EdgeIndex>().swap(starts);
    detail::resize_fresh(starts, std::size_t(n) + 1);
    for (NodeIndex t : targets) ++starts[t + 1];
    for (NodeIndex v = 0; v < n; ++v) starts[v + 1] += starts[v];
    detail::resize_fresh(back.m_column, m);
    detail::resize_fresh(back.m_edge_properties, m);
    // starts[t] serves as the insertion cursor of target t, ending at the start of t + 1; shifted back afterwards.
    for (NodeIndex s = 0; s < n; ++s) {
      for (EdgeIndex e = rows[s]; e < rows[s + 1]; ++e) {
        EdgeIndex at = starts[targets[e]]++;
        back.m_column[at] = s;
        back.m_edge_properties[at] = e;
      }
    }
    for (NodeIndex v = n; v > 0; --v) starts[v] = starts[v - 1];
    starts[0] = 0;
    lazy_->ready.store(true, std::memory_order_release);
  });
}

void RawGraphParts::check_lengths(const std::string& context) const {
  const std::size_t n = ids.size();
  if (types.size() != n || sizes.size() != n || flags.size() != n || labels.size() != n)
    throw DumpFormatError(context + ": node arrays have different lengths");
  if (n >= kNoNode) throw DumpFormatError(context + ": too many nodes");
  if (out_row_starts.size() != n + 1 || out_row_starts.front() != 0 || out_row_starts.back() != edge_targets.size())
    throw DumpFormatError(context + ": edge row starts do not match the edge count");
  const std::size_t m = edge_targets.size();
  if (edge_labels.size() != m || edge_flags.size() != m)
    throw DumpFormatError(context + ": edge arrays have different lengths");
}

HeapGraph RawGraphParts::assemble_unchecked(const std::string& context) && {
  check_lengths(context);
  return std::move(*this).take();
}

HeapGraph RawGraphParts::assemble(const std::string& context) && {
  check_lengths(context);
  const std::size_t n = ids.size(), m = edge_targets.size();
  auto check_nodes = [&] {
    for (std::size_t i = 1; i < n; ++i) {
      if (ids[i] <= ids[i - 1])
        throw DumpFormatError(context + ": node " + std::to_string(i) + " is out of id order or a duplicate");
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (types[i] >= strings.size() || labels[i] >= strings.size())
        throw DumpFormatError(context + ": node " + std::to_string(i) + " names a missing string");
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (out_row_starts[i + 1] < out_row_starts[i])
        throw DumpFormatError(context + ": edge row starts decrease at node " + std::to_string(i));
    }
  };
  auto check_edges = [&] {
    for (std::size_t e = 0; e < m; ++e) {
      if (edge_targets[e] >= n)
        throw DumpFormatError(context + ": edge " + std::to_string(e) + " points to missing node index " +
                              std::to_string(edge_targets[e]));
      EdgeLabel l = edge_labels[e];
      if (!is_index_label(l) && l >= strings.size())
        throw DumpFormatError(context + ": edge " + std::to_string(e) + " names a missing string");
    }
  };
  // Two independent read-only scans: on a big graph, the nodes' on a second thread. Both finish before either's
  // error is thrown, the nodes' first, as one thread would have found them.
  std::future<void> nodes_checked;
  if (n + m >= (std::size_t(1) << 20)) {
    try {
      nodes_checked = std::async(std::launch::async, check_nodes);
    } catch (const std::system_error&) {
    }
  }
  if (!nodes_checked.valid()) check_nodes();
  std::exception_ptr edges_error;
  try {
    check_edges();
  } catch (...) {
    edges_error = std::current_exception();
  }
  if (nodes_checked.valid()) nodes_checked.get();
  if (edges_error) std::rethrow_exception(edges_error);
  return std::move(*this).take();
}

HeapGraph RawGraphParts::take() && {
  HeapGraph g;
  // The forward half is exactly our row starts and targets: moved in, not copied. Not Csr(n): its row starts
  // would be n + 1 zeros written only to be replaced.
  g.csr_.m_forward.m_rowstart = std::move(out_row_starts);
  g.csr_.m_forward.m_column = std::move(edge_targets);
  g.ids_ = std::move(ids);
  g.types_ = std::move(types);
  g.sizes_ = std::move(sizes);
  g.flags_ = std::move(flags);
  g.labels_ = std::move(labels);
  g.edge_labels_ = std::move(edge_labels);
  g.edge_flags_ = std::move(edge_flags);
  g.strings_ = std::move(strings);
  g.metadata_ = std::move(metadata);
  return g;
}

// ---- HeapGraphBuilder ----

void HeapGraphBuilder::reserve(std::size_t nodes, std::size_t edges) {
  node_ids_.reserve(nodes);
  node_types_.reserve(nodes);
  node_sizes_.reserve(nodes);
  node_flags_.reserve(nodes);
  node_labels_.reserve(nodes);
  edge_from_.reserve(edges);
  edge_to_.reserve(edges);
  edge_labels_.reserve(edges);
  edge_flags_.reserve(edges);
}

void HeapGraphBuilder::add_node(std::uint64_t id, StringId type, std::uint64_t size, std::uint8_t flags,
                                StringId label) {
  node_ids_.push_back(id);
  node_types_.push_back(type);
  node_sizes_.push_back(size);
  node_flags_.push_back(flags);
  node_labels_.push_back(label);
}

void HeapGraphBuilder::add_node(std::uint64_t id, std::string_view type, std::uint64_t size, std::uint8_t flags,
                                RootKind root, std::string_view label) {
  flags = static_cast<std::uint8_t>((flags & ~kRootKindMask) | (std::uint8_t(root) << kRootKindShift));
  add_node(id, strings_.intern(type), size, flags, label.empty() ? kNoString : strings_.intern(label));
}

void HeapGraphBuilder::add_edge(std::uint64_t from, std::uint64_t to, EdgeLabel label, std::uint8_t flags) {
  edge_from_.push_back(from);
  edge_to_.push_back(to);
  edge_labels_.push_back(label);
  edge_flags_.push_back(flags);
}

void HeapGraphBuilder::set_root(std::uint64_t id, RootKind kind) { roots_.emplace_back(id, kind); }

HeapGraph HeapGraphBuilder::build(bool drop_dangling_edges) && {
  const std::size_t n0 = node_ids_.size();
  // Order nodes by id; for duplicates the first added wins (stable sort keeps insertion order among equals).
  std::vector<std::uint32_t> order(n0);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return node_ids_[a] < node_ids_[b]; });
  order.erase(std::unique(order.begin(), order.end(), [&](auto a, auto b) { return node_ids_[a] == node_ids_[b]; }),
              order.end());

  RawGraphParts p;
  const std::size_t n = order.size();
  p.ids.resize(n);
  p.types.resize(n);
  p.sizes.resize(n);
  p.flags.resize(n);
  p.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto o = order[i];
    p.ids[i] = node_ids_[o];
    p.types[i] = node_types_[o];
    p.sizes[i] = node_sizes_[o];
    p.flags[i] = node_flags_[o];
    p.labels[i] = node_labels_[o];
  }
  std::vector<std::uint64_t>().swap(node_ids_);
  std::vector<StringId>().swap(node_types_);
  std::vector<std::uint64_t>().swap(node_sizes_);
  std::vector<std::uint8_t>().swap(node_flags_);
  std::vector<StringId>().swap(node_labels_);
  std::vector<std::uint32_t>().swap(order);

  auto index_of = [&](std::uint64_t id) -> NodeIndex {
    auto it = std::lower_bound(p.ids.begin(), p.ids.end(), id);
    return (it == p.ids.end() || *it != id) ? kNoNode : static_cast<NodeIndex>(it - p.ids.begin());
  };
  for (auto [id, kind] : roots_) {
    NodeIndex i = index_of(id);
    if (i == kNoNode) throw DumpFormatError("root " + std::to_string(id) + " is not a node");
    p.flags[i] = static_cast<std::uint8_t>((p.flags[i] & ~kRootKindMask) | (std::uint8_t(kind) << kRootKindShift));
  }

  // Resolve edge ends, then order edges by source index keeping the producer's order within a source.
  const std::size_t m0 = edge_from_.size();
  std::vector<NodeIndex> src(m0), dst(m0);
  std::size_t m = 0;
  for (std::size_t e = 0; e < m0; ++e) {
    NodeIndex s = index_of(edge_from_[e]), t = index_of(edge_to_[e]);
    if (s == kNoNode || t == kNoNode) {
      if (drop_dangling_edges) continue;
      throw DumpFormatError("edge " + std::to_string(e) + " from " + std::to_string(edge_from_[e]) + " to " +
                            std::to_string(edge_to_[e]) + ": " + (s == kNoNode ? "source" : "target") +
                            " is not a node");
    }
    src[m] = s;
    dst[m] = t;
    edge_labels_[m] = edge_labels_[e];
    edge_flags_[m] = edge_flags_[e];
    ++m;
  }
  src.resize(m);
  dst.resize(m);
  std::vector<std::uint64_t>().swap(edge_from_);
  std::vector<std::uint64_t>().swap(edge_to_);

  // Counting sort by source (stable).
  p.out_row_starts.assign(n + 1, 0);
  for (std::size_t e = 0; e < m; ++e) ++p.out_row_starts[src[e] + 1];
  for (std::size_t i = 0; i < n; ++i) p.out_row_starts[i + 1] += p.out_row_starts[i];
  std::vector<EdgeIndex> pos(p.out_row_starts.begin(), p.out_row_starts.end() - 1);
  p.edge_targets.resize(m);
  p.edge_labels.resize(m);
  p.edge_flags.resize(m);
  for (std::size_t e = 0; e < m; ++e) {
    EdgeIndex at = pos[src[e]]++;
    p.edge_targets[at] = dst[e];
    p.edge_labels[at] = edge_labels_[e];
    p.edge_flags[at] = edge_flags_[e];
  }
  std::vector<EdgeLabel>().swap(edge_labels_);
  std::vector<std::uint8_t>().swap(edge_flags_);
  p.strings = std::move(strings_);
  p.metadata = std::move(metadata_);
  return std::move(p).assemble("graph builder");
}

}  // namespace refgraph
