// refgraph/graph.hpp: the object-reference graph of one heap snapshot.
//
//   HeapGraphBuilder b;
//   b.add_node(0x1000, "module", 72, kGcTracked, RootKind::Module, "app.cache");
//   b.add_node(0x2000, "dict", 232, kGcTracked);
//   b.add_edge(0x1000, 0x2000, b.text_label("__dict__"));
//   HeapGraph g = std::move(b).build();
//   NodeIndex d = g.find(0x2000);
//   for (Edge e : g.in_edges(d)) std::cout << g.type_name(e.source) << " " << g.edge_label_text(e.index);
//
// Nodes are stored sorted by id (the object's address), so NodeIndex order is address order, `find` is a binary
// search and no id->index hash map is needed. Node and edge properties live in parallel arrays indexed by
// NodeIndex and EdgeIndex (structure of arrays: ~84 bytes a node at three edges a node, ~64 of them before the
// in-edge index exists). The in-edge index (the CSR's backward half) is built on first use: counting types,
// growth and saving a dump never need it, and it is a quarter of the graph's memory and of a capture's time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/graph/compressed_sparse_row_graph.hpp>

namespace refgraph {

using NodeIndex = std::uint32_t;
using EdgeIndex = std::uint32_t;
using StringId = std::uint32_t;  // index into the string table; 0 is the empty string ("no label")
inline constexpr NodeIndex kNoNode = 0xFFFFFFFFu;
inline constexpr StringId kNoString = 0;

// Why a node is a root. Stored in bits 1..3 of the node flags.
enum class RootKind : std::uint8_t {
  None = 0,
  Module = 1,       // a module in sys.modules
  ThreadFrame = 2,  // a frame of a live thread (or a local of one)
  External = 3,     // referenced from C: more references than the heap explains
  Other = 4,        // any other reason given by the producer of the dump
};
const char* root_kind_name(RootKind kind);        // "module", "thread frame", "external", "other", "none"
RootKind parse_root_kind(std::string_view name);  // inverse; throws QueryError on an unknown name

// Node flag bits.
inline constexpr std::uint8_t kGcTracked = 1u << 0;
inline constexpr std::uint8_t kRootKindShift = 1;
inline constexpr std::uint8_t kRootKindMask = 0x7u << kRootKindShift;
inline constexpr std::uint8_t kLabelIsValue = 1u << 4;  // the short label is a string/bytes value (opted in)

// Edge flag bits.
inline constexpr std::uint8_t kEdgeWeak = 1u << 0;      // a weakref's referent: drawn, never retaining
inline constexpr std::uint8_t kEdgeDeferred = 1u << 1;  // rarely explains a leak (e.g. __globals__)

// An edge label is a StringId, or, with the top bit set, a sequence index shown as "[n]"; a list of a million
// items then needs no million strings.
using EdgeLabel = std::uint32_t;
inline constexpr EdgeLabel kNoEdgeLabel = 0;
inline constexpr EdgeLabel kIndexLabelBit = 0x80000000u;
inline constexpr EdgeLabel index_label(std::uint32_t i) { return kIndexLabelBit | (i & ~kIndexLabelBit); }
inline constexpr bool is_index_label(EdgeLabel l) { return (l & kIndexLabelBit) != 0; }

// Interned strings: type names, node labels, edge labels. Id 0 is always "".
class StringTable {
 public:
  StringTable();
  StringTable(StringTable&&) noexcept = default;  // a moved deque keeps its elements in place: views stay valid
  StringTable& operator=(StringTable&&) noexcept = default;
  StringTable(const StringTable&) = delete;
  StringTable& operator=(const StringTable&) = delete;
  StringId intern(std::string_view s);
  std::string_view operator[](StringId id) const { return strings_[id]; }
  StringId find(std::string_view s) const;  // kNoString when absent (and for "")
  std::size_t size() const { return strings_.size(); }
  std::size_t memory_bytes() const;

 private:
  std::deque<std::string> strings_;  // a deque never moves its elements, so the views in index_ stay valid
  std::unordered_map<std::string_view, StringId> index_;
};

// Facts about the captured process.
struct Metadata {
  std::int64_t pid = 0;
  std::string host;
  std::string python_version;
  double time = 0.0;                         // seconds since the Unix epoch
  std::uint64_t rss = 0;                     // resident set size in bytes at capture time, 0 if unknown
  std::string tag;                           // free-form, e.g. "worker-3 after request 100"
  bool values_included = false;              // string/bytes values were opted in as labels
  std::map<std::string, std::string> extra;  // anything else a producer wants to keep; round-trips through dumps
};

struct Edge {
  EdgeIndex index;
  NodeIndex source;
  NodeIndex target;
};

// Boost's CSR graph in both directions with 32-bit vertex and edge indices: the most compact Boost structure with
// O(1) access to out- and in-edges (adjacency_list costs a vector per vertex). It is immutable, which a snapshot is.
// Properties are kept outside it in parallel arrays indexed by vertex and edge index.
using Csr = boost::compressed_sparse_row_graph<boost::bidirectionalS, boost::no_property, boost::no_property,
                                               boost::no_property, NodeIndex, EdgeIndex>;

class HeapGraph {
 public:
  class OutRange;
  class InRange;

  HeapGraph() = default;
  HeapGraph(HeapGraph&&) noexcept = default;
  HeapGraph& operator=(HeapGraph&&) noexcept = default;
  HeapGraph(const HeapGraph&) = delete;  // big: copy only on purpose
  HeapGraph& operator=(const HeapGraph&) = delete;

  std::size_t num_nodes() const { return ids_.size(); }
  std::size_t num_edges() const { return edge_labels_.size(); }

  // Nodes.
  std::uint64_t id(NodeIndex n) const { return ids_[n]; }
  StringId type(NodeIndex n) const { return types_[n]; }
  std::string_view type_name(NodeIndex n) const { return strings_[types_[n]]; }
  std::uint64_t size(NodeIndex n) const { return sizes_[n]; }
  std::uint8_t flags(NodeIndex n) const { return flags_[n]; }
  bool gc_tracked(NodeIndex n) const { return (flags_[n] & kGcTracked) != 0; }
  RootKind root_kind(NodeIndex n) const { return RootKind((flags_[n] & kRootKindMask) >> kRootKindShift); }
  bool is_root(NodeIndex n) const { return (flags_[n] & kRootKindMask) != 0; }
  StringId label(NodeIndex n) const { return labels_[n]; }
  std::string_view label_text(NodeIndex n) const { return strings_[labels_[n]]; }
  NodeIndex find(std::uint64_t id) const;  // kNoNode when absent

  // Edges. Out-edges of a node are contiguous in EdgeIndex order, in the order the producer gave them.
  OutRange out_edges(NodeIndex n) const;
  InRange in_edges(NodeIndex n) const;
  std::size_t out_degree(NodeIndex n) const { return csr_.m_forward.m_rowstart[n + 1] - csr_.m_forward.m_rowstart[n]; }
  std::size_t in_degree(NodeIndex n) const {
    const auto& back = in_index();
    return back.m_rowstart[n + 1] - back.m_rowstart[n];
  }
  NodeIndex edge_target(EdgeIndex e) const { return csr_.m_forward.m_column[e]; }
  NodeIndex edge_source(EdgeIndex e) const;  // binary search over row starts
  EdgeLabel edge_label(EdgeIndex e) const { return edge_labels_[e]; }
  std::string edge_label_text(EdgeIndex e) const;  // "" when unlabelled, "[3]" for an index label
  std::uint8_t edge_flags(EdgeIndex e) const { return edge_flags_[e]; }
  bool edge_weak(EdgeIndex e) const { return (edge_flags_[e] & kEdgeWeak) != 0; }
  bool edge_deferred(EdgeIndex e) const { return (edge_flags_[e] & kEdgeDeferred) != 0; }

  const StringTable& strings() const { return strings_; }
  const Metadata& metadata() const { return metadata_; }
  Metadata& metadata() { return metadata_; }
  const Csr& csr() const {  // for Boost.Graph algorithms (builds the in-edge index if not built yet)
    in_index();
    return csr_;
  }
  bool has_in_index() const { return lazy_->ready.load(std::memory_order_acquire); }

  // Heap bytes held by this graph (arrays and strings), for the memory benchmark.
  std::size_t memory_bytes() const;

  // Raw arrays, for serialisers and bulk analyses.
  const std::vector<std::uint64_t>& ids() const { return ids_; }
  const std::vector<StringId>& types() const { return types_; }
  const std::vector<std::uint64_t>& sizes() const { return sizes_; }
  const std::vector<std::uint8_t>& node_flags() const { return flags_; }
  const std::vector<StringId>& labels() const { return labels_; }
  const std::vector<EdgeIndex>& out_row_starts() const { return csr_.m_forward.m_rowstart; }
  const std::vector<NodeIndex>& edge_targets() const { return csr_.m_forward.m_column; }
  const std::vector<EdgeLabel>& edge_labels() const { return edge_labels_; }
  const std::vector<std::uint8_t>& edge_flag_array() const { return edge_flags_; }

 private:
  friend class HeapGraphBuilder;
  friend struct RawGraphParts;

  using Backward = decltype(Csr::m_backward);
  // The backward half of csr_, built once, by whichever thread asks first.
  const Backward& in_index() const {
    if (!lazy_->ready.load(std::memory_order_acquire)) build_in_index();
    return csr_.m_backward;
  }
  void build_in_index() const;
  struct Lazy {
    std::once_flag once;
    std::atomic<bool> ready{false};
  };

  std::vector<std::uint64_t> ids_;  // sorted ascending, unique
  std::vector<StringId> types_;
  std::vector<std::uint64_t> sizes_;
  std::vector<std::uint8_t> flags_;
  std::vector<StringId> labels_;
  mutable Csr csr_;  // its backward half is filled by build_in_index()
  std::unique_ptr<Lazy> lazy_ = std::make_unique<Lazy>();
  std::vector<EdgeLabel> edge_labels_;  // by EdgeIndex
  std::vector<std::uint8_t> edge_flags_;
  StringTable strings_;
  Metadata metadata_;
};

class HeapGraph::OutRange {
 public:
  class iterator {
   public:
    iterator(const HeapGraph* g, NodeIndex n, EdgeIndex e) : g_(g), n_(n), e_(e) {}
    Edge operator*() const { return Edge{e_, n_, g_->csr_.m_forward.m_column[e_]}; }
    iterator& operator++() {
      ++e_;
      return *this;
    }
    bool operator!=(const iterator& o) const { return e_ != o.e_; }
    bool operator==(const iterator& o) const { return e_ == o.e_; }

   private:
    const HeapGraph* g_;
    NodeIndex n_;
    EdgeIndex e_;
  };
  OutRange(const HeapGraph* g, NodeIndex n) : g_(g), n_(n) {}
  iterator begin() const { return {g_, n_, g_->csr_.m_forward.m_rowstart[n_]}; }
  iterator end() const { return {g_, n_, g_->csr_.m_forward.m_rowstart[n_ + 1]}; }

 private:
  const HeapGraph* g_;
  NodeIndex n_;
};

// In-edges of a node, ordered by source NodeIndex then EdgeIndex (deterministic).
class HeapGraph::InRange {
 public:
  class iterator {
   public:
    iterator(const HeapGraph* g, NodeIndex n, EdgeIndex i) : g_(g), n_(n), i_(i) {}
    Edge operator*() const {
      return Edge{g_->csr_.m_backward.m_edge_properties[i_], g_->csr_.m_backward.m_column[i_], n_};
    }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const iterator& o) const { return i_ != o.i_; }
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    const HeapGraph* g_;
    NodeIndex n_;
    EdgeIndex i_;  // position in the backward structure
  };
  InRange(const HeapGraph* g, NodeIndex n) : g_(g), n_(n) {}
  iterator begin() const { return {g_, n_, g_->in_index().m_rowstart[n_]}; }
  iterator end() const { return {g_, n_, g_->in_index().m_rowstart[n_ + 1]}; }

 private:
  const HeapGraph* g_;
  NodeIndex n_;
};

inline HeapGraph::OutRange HeapGraph::out_edges(NodeIndex n) const { return OutRange(this, n); }
inline HeapGraph::InRange HeapGraph::in_edges(NodeIndex n) const { return InRange(this, n); }

// Collects nodes and edges in any order, by object id, then builds a HeapGraph.
// Duplicate node ids: the first wins. Edges whose ends are not nodes: an error, or dropped with
// `drop_dangling_edges` (the live capture may see a referent it did not record).
class HeapGraphBuilder {
 public:
  HeapGraphBuilder() = default;

  StringId intern(std::string_view s) { return strings_.intern(s); }
  EdgeLabel text_label(std::string_view s) { return strings_.intern(s); }

  void reserve(std::size_t nodes, std::size_t edges);
  void add_node(std::uint64_t id, StringId type, std::uint64_t size, std::uint8_t flags = kGcTracked,
                StringId label = kNoString);
  void add_node(std::uint64_t id, std::string_view type, std::uint64_t size, std::uint8_t flags = kGcTracked,
                RootKind root = RootKind::None, std::string_view label = {});
  void add_edge(std::uint64_t from, std::uint64_t to, EdgeLabel label = kNoEdgeLabel, std::uint8_t flags = 0);
  void set_root(std::uint64_t id, RootKind kind);  // applied at build(); unknown id is an error at build()

  Metadata& metadata() { return metadata_; }
  std::size_t num_nodes() const { return node_ids_.size(); }
  std::size_t num_edges() const { return edge_from_.size(); }

  // Throws DumpFormatError naming the first dangling edge unless drop_dangling_edges.
  HeapGraph build(bool drop_dangling_edges = false) &&;

 private:
  StringTable strings_;
  Metadata metadata_;
  std::vector<std::uint64_t> node_ids_;
  std::vector<StringId> node_types_;
  std::vector<std::uint64_t> node_sizes_;
  std::vector<std::uint8_t> node_flags_;
  std::vector<StringId> node_labels_;
  std::vector<std::uint64_t> edge_from_;
  std::vector<std::uint64_t> edge_to_;
  std::vector<EdgeLabel> edge_labels_;
  std::vector<std::uint8_t> edge_flags_;
  std::vector<std::pair<std::uint64_t, RootKind>> roots_;
};

// Assembles a HeapGraph from arrays already in final form (nodes sorted by id, edges grouped by source in
// NodeIndex order), with no id lookups: the fast path for the dump reader. Validates ordering and ranges and throws
// DumpFormatError(context + ...) on violation.
struct RawGraphParts {
  std::vector<std::uint64_t> ids;
  std::vector<StringId> types;
  std::vector<std::uint64_t> sizes;
  std::vector<std::uint8_t> flags;
  std::vector<StringId> labels;
  std::vector<EdgeIndex> out_row_starts;  // num_nodes + 1 entries, out_row_starts[0] == 0
  std::vector<NodeIndex> edge_targets;
  std::vector<EdgeLabel> edge_labels;
  std::vector<std::uint8_t> edge_flags;
  StringTable strings;
  Metadata metadata;

  HeapGraph assemble(const std::string& context) &&;
  // Without the checks of every node and edge: for a producer whose arrays hold the invariants above by
  // construction (the live capture, whose tests load what it saves, which checks them). Array lengths are still
  // checked.
  HeapGraph assemble_unchecked(const std::string& context) &&;

 private:
  void check_lengths(const std::string& context) const;
  HeapGraph take() &&;
};

}  // namespace refgraph
