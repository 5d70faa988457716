// JSON Lines import and export (schema in docs/dump-format.md), and the metadata JSON shared with .rgd.
//
// Export writes one node a line in NodeIndex (id) order. Import collects the nodes as given, sorts them by id and
// resolves the refs by binary search, so every error can still name the line it came from.
#include <algorithm>
#include <cmath>
#include <ios>
#include <istream>
#include <numeric>
#include <ostream>
#include <string>
#include <vector>

#include "dump_codec.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"

namespace refgraph {
namespace dump_detail {

using nlohmann::json;
using nlohmann::ordered_json;

ordered_json metadata_to_json(const Metadata& m) {
  ordered_json j;
  j["pid"] = m.pid;
  j["host"] = m.host;
  j["python_version"] = m.python_version;
  j["time"] = std::isfinite(m.time) ? m.time : 0.0;
  j["rss"] = m.rss;
  j["tag"] = m.tag;
  j["values_included"] = m.values_included;
  j["extra"] = ordered_json::object();
  for (const auto& [k, v] : m.extra) j["extra"][k] = v;
  return j;
}

namespace {

[[noreturn]] void bad_key(const std::string& key, const char* what) {
  throw DumpFormatError("'" + key + "' must be " + what);
}

std::uint64_t as_unsigned(const json& v, const std::string& key) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  bad_key(key, "a non-negative integer");
}

std::string as_string(const json& v, const std::string& key) {
  if (!v.is_string()) bad_key(key, "a string");
  return v.get<std::string>();
}

bool as_bool(const json& v, const std::string& key) {
  if (!v.is_boolean()) bad_key(key, "true or false");
  return v.get<bool>();
}

}  // namespace

// Unknown keys are ignored: a newer writer may add some.
Metadata metadata_from_json(const json& j) {
  if (!j.is_object()) throw DumpFormatError("metadata must be a JSON object");
  Metadata m;
  for (const auto& [key, v] : j.items()) {
    if (key == "pid") {
      if (!v.is_number_integer()) bad_key(key, "an integer");
      m.pid = v.get<std::int64_t>();
    } else if (key == "host") {
      m.host = as_string(v, key);
    } else if (key == "python_version") {
      m.python_version = as_string(v, key);
    } else if (key == "time") {
      if (!v.is_number() && !v.is_null()) bad_key(key, "a number");
      m.time = v.is_null() ? 0.0 : v.get<double>();
    } else if (key == "rss") {
      m.rss = as_unsigned(v, key);
    } else if (key == "tag") {
      m.tag = as_string(v, key);
    } else if (key == "values_included") {
      m.values_included = as_bool(v, key);
    } else if (key == "extra") {
      if (!v.is_object()) bad_key(key, "an object of strings");
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) bad_key("extra." + k, "a string");
        m.extra[k] = s.get<std::string>();
      }
    }
  }
  return m;
}

}  // namespace dump_detail

using namespace dump_detail;

namespace {

constexpr auto kReplaceInvalidUtf8 = nlohmann::json::error_handler_t::replace;

}  // namespace

void write_jsonl(const HeapGraph& g, std::ostream& out) {
  ordered_json head;
  head["refgraph"] = "jsonl";
  head["version"] = 1;
  head["metadata"] = metadata_to_json(g.metadata());
  out << head.dump(-1, ' ', false, kReplaceInvalidUtf8) << '\n';
  const auto& rows = g.out_row_starts();
  for (NodeIndex n = 0; n < g.num_nodes(); ++n) {
    ordered_json j;
    j["id"] = g.id(n);
    j["type"] = g.type_name(n);
    j["size"] = g.size(n);
    j["gc"] = g.gc_tracked(n);
    if (g.is_root(n)) j["root"] = root_kind_name(g.root_kind(n));
    if (g.label(n) != kNoString) j["label"] = g.label_text(n);
    if (g.flags(n) & kLabelIsValue) j["label_is_value"] = true;
    ordered_json refs = ordered_json::array();
    for (EdgeIndex e = rows[n]; e < rows[n + 1]; ++e) {
      ordered_json r;
      r["to"] = g.id(g.edge_target(e));
      EdgeLabel l = g.edge_label(e);
      if (is_index_label(l)) {
        r["index"] = l & ~kIndexLabelBit;
      } else if (l != kNoEdgeLabel) {
        r["label"] = g.strings()[l];
      }
      if (g.edge_weak(e)) r["weak"] = true;
      if (g.edge_deferred(e)) r["deferred"] = true;
      refs.push_back(std::move(r));
    }
    j["refs"] = std::move(refs);
    out << j.dump(-1, ' ', false, kReplaceInvalidUtf8) << '\n';
    if (!out) throw Error("write failed");
  }
  out.flush();
  if (!out) throw Error("write failed");
}

void write_jsonl(const HeapGraph& g, const std::string& path) {
  write_file_atomic(path, [&](std::ostream& out) { write_jsonl(g, out); });
}

namespace {

struct PendingNode {
  std::uint64_t id;
  StringId type;
  std::uint64_t size;
  std::uint8_t flags;
  StringId label;
  std::uint64_t line;
  std::size_t first_ref;
  std::size_t num_refs;
};

// The fast path for the common, well-formed node line: nlohmann's SAX events straight into a small record, no
// JSON tree. It accepts only what the tree-based node_line() would accept with the same result and bails out
// (returns false) on anything else, including every error, a header line and a repeated key; the line is then
// read again by node_line(), which alone words the errors.
enum class SaxKey : unsigned { None, Id, Type, Size, Gc, Root, Label, LabelIsValue, Refs, To, Index, Weak, Deferred };
constexpr unsigned key_bit(SaxKey k) { return 1u << static_cast<unsigned>(k); }

class NodeLineSax {
 public:
  struct Ref {
    std::uint64_t to = 0;
    std::string label;
    std::int64_t index = -1;  // an index label when >= 0
    std::uint8_t flags = 0;
  };
  std::uint64_t id = 0, size = 0;
  std::string type, label;
  std::uint8_t flags = kGcTracked;
  RootKind root = RootKind::None;
  std::vector<Ref> refs;

  void reset() {
    id = size = 0;
    type.clear();
    label.clear();
    flags = kGcTracked;
    root = RootKind::None;
    refs.clear();
    depth_ = 0;
    seen_ = 0;
    key_ = Key::None;
  }

  bool null() { return depth_ == 1 && key_ == Key::Root; }
  bool boolean(bool b) {
    if (depth_ == 1 && key_ == Key::Gc) {
      if (!b) flags = static_cast<std::uint8_t>(flags & ~kGcTracked);
    } else if (depth_ == 1 && key_ == Key::LabelIsValue) {
      if (b) flags |= kLabelIsValue;
    } else if (depth_ == 3 && key_ == Key::Weak) {
      if (b) refs.back().flags |= kEdgeWeak;
    } else if (depth_ == 3 && key_ == Key::Deferred) {
      if (b) refs.back().flags |= kEdgeDeferred;
    } else {
      return false;
    }
    return true;
  }
  bool number_integer(std::int64_t v) { return v >= 0 && number_unsigned(static_cast<std::uint64_t>(v)); }
  bool number_unsigned(std::uint64_t v) {
    if (depth_ == 1 && key_ == Key::Id) {
      id = v;
    } else if (depth_ == 1 && key_ == Key::Size) {
      size = v;
    } else if (depth_ == 2) {
      refs.emplace_back();
      refs.back().to = v;
      ref_seen_ = kToBit;
    } else if (depth_ == 3 && key_ == Key::To) {
      refs.back().to = v;
    } else if (depth_ == 3 && key_ == Key::Index && v < kIndexLabelBit) {
      refs.back().index = static_cast<std::int64_t>(v);
    } else {
      return false;
    }
    return true;
  }
  bool number_float(double, const std::string&) { return false; }
  bool string(std::string& v) {
    if (depth_ == 1 && key_ == Key::Type) {
      type = std::move(v);
    } else if (depth_ == 1 && key_ == Key::Label) {
      label = std::move(v);
    } else if (depth_ == 1 && key_ == Key::Root) {
      for (auto k : {RootKind::None, RootKind::Module, RootKind::ThreadFrame, RootKind::External, RootKind::Other}) {
        if (v == root_kind_name(k)) {
          root = k;
          return true;
        }
      }
      return false;  // the aliases and the error are node_line()'s
    } else if (depth_ == 3 && key_ == Key::Label) {
      refs.back().label = std::move(v);
    } else {
      return false;
    }
    return true;
  }
  bool binary(std::vector<std::uint8_t>&) { return false; }
  bool start_object(std::size_t) {
    if (depth_ == 0) {
      depth_ = 1;
    } else if (depth_ == 2) {
      depth_ = 3;
      refs.emplace_back();
      ref_seen_ = 0;
    } else {
      return false;
    }
    key_ = Key::None;
    return true;
  }
  bool end_object() {
    if (depth_ == 3) {
      // A ref needs "to" and may not have both "label" and "index".
      if (!(ref_seen_ & kToBit) || ((ref_seen_ & kLabelBit) && (ref_seen_ & kIndexBit))) return false;
      depth_ = 2;
      return true;
    }
    if (depth_ != 1) return false;
    depth_ = 0;
    return (seen_ & kRequired) == kRequired;
  }
  bool start_array(std::size_t) {
    if (depth_ != 1 || key_ != Key::Refs) return false;
    depth_ = 2;
    return true;
  }
  bool end_array() {
    if (depth_ != 2) return false;
    depth_ = 1;
    key_ = Key::None;
    return true;
  }
  bool key(std::string& k) {
    if (depth_ == 1) {
      static const std::pair<const char*, Key> keys[] = {{"id", Key::Id},
                                                         {"type", Key::Type},
                                                         {"size", Key::Size},
                                                         {"gc", Key::Gc},
                                                         {"root", Key::Root},
                                                         {"label", Key::Label},
                                                         {"label_is_value", Key::LabelIsValue},
                                                         {"refs", Key::Refs}};
      return pick(k, keys, seen_);
    }
    if (depth_ == 3) {
      static const std::pair<const char*, Key> keys[] = {{"to", Key::To},
                                                         {"label", Key::Label},
                                                         {"index", Key::Index},
                                                         {"weak", Key::Weak},
                                                         {"deferred", Key::Deferred}};
      return pick(k, keys, ref_seen_);
    }
    return false;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  using Key = SaxKey;
  static constexpr unsigned bit(Key k) { return key_bit(k); }
  static constexpr unsigned kRequired = key_bit(Key::Id) | key_bit(Key::Type) | key_bit(Key::Size);
  static constexpr unsigned kToBit = key_bit(Key::To), kLabelBit = key_bit(Key::Label), kIndexBit = key_bit(Key::Index);

  template <std::size_t N>
  bool pick(const std::string& k, const std::pair<const char*, Key> (&keys)[N], unsigned& seen) {
    for (const auto& [name, key] : keys) {
      if (k == name) {
        if (seen & bit(key)) return false;  // a repeated key: the tree keeps the last one, let it decide
        seen |= bit(key);
        key_ = key;
        return true;
      }
    }
    return false;
  }

  int depth_ = 0;  // 1 in the node, 2 in its refs list, 3 in a ref object
  unsigned seen_ = 0, ref_seen_ = 0;
  Key key_ = Key::None;
};

class JsonlReader {
 public:
  JsonlReader(std::istream& in, const std::string& name, const JsonlReadOptions& options)
      : in_(in), name_(name), options_(options) {}
  HeapGraph read();

 private:
  bool read_lines();  // false when the input has no line but blank ones
  [[noreturn]] void fail(std::uint64_t line, const std::string& what) const {
    throw DumpFormatError(name_ + ": line " + std::to_string(line) + ": " + what);
  }
  void header_line(const json& j, std::uint64_t line, bool first);
  void node_line(const json& j, std::uint64_t line);
  void ref(const json& r, std::uint64_t line);
  void commit(NodeLineSax& x, std::uint64_t line);

  std::istream& in_;
  const std::string& name_;
  const JsonlReadOptions options_;
  StringTable strings_;
  Metadata metadata_;
  std::vector<PendingNode> nodes_;
  std::vector<std::uint64_t> ref_to_;
  std::vector<EdgeLabel> ref_labels_;
  std::vector<std::uint8_t> ref_flags_;
  NodeLineSax sax_;
};

void JsonlReader::commit(NodeLineSax& x, std::uint64_t line) {
  PendingNode n{x.id,
                strings_.intern(x.type),
                x.size,
                static_cast<std::uint8_t>(x.flags | (std::uint8_t(x.root) << kRootKindShift)),
                x.label.empty() ? kNoString : strings_.intern(x.label),
                line,
                ref_to_.size(),
                x.refs.size()};
  for (const auto& r : x.refs) {
    ref_to_.push_back(r.to);
    ref_labels_.push_back(r.index >= 0      ? index_label(static_cast<std::uint32_t>(r.index))
                          : r.label.empty() ? kNoEdgeLabel
                                            : strings_.intern(r.label));
    ref_flags_.push_back(r.flags);
  }
  nodes_.push_back(n);
}

void JsonlReader::header_line(const json& j, std::uint64_t line, bool first) {
  if (!first) fail(line, "the header line (with \"refgraph\") may only be the first line");
  for (const auto& [key, v] : j.items()) {
    if (key != "refgraph" && key != "version" && key != "metadata") fail(line, "unknown key '" + key + "'");
  }
  if (j["refgraph"] != "jsonl") fail(line, "'refgraph' must be \"jsonl\"");
  if (!j.contains("version") || !j["version"].is_number_integer()) fail(line, "'version' must be an integer");
  if (j["version"].get<std::int64_t>() != 1)
    fail(line, "unsupported version " + j["version"].dump() + " (this reader knows version 1)");
  if (j.contains("metadata")) {
    try {
      metadata_ = metadata_from_json(j["metadata"]);
    } catch (const DumpFormatError& e) {
      fail(line, std::string("metadata: ") + e.what());
    }
  }
}

void JsonlReader::ref(const json& r, std::uint64_t line) {
  std::uint64_t to = 0;
  EdgeLabel label = kNoEdgeLabel;
  std::uint8_t flags = 0;
  if (r.is_number()) {
    to = as_unsigned(r, "refs");
  } else if (r.is_object()) {
    if (!r.contains("to")) fail(line, "a ref needs 'to'");
    bool has_label = false;
    for (const auto& [key, v] : r.items()) {
      if (key == "to") {
        to = as_unsigned(v, "to");
      } else if (key == "label") {
        has_label = true;
        std::string s = as_string(v, key);
        label = s.empty() ? kNoEdgeLabel : strings_.intern(s);
      } else if (key == "index") {
        if (r.contains("label")) fail(line, "a ref has either 'label' or 'index', not both");
        std::uint64_t i = as_unsigned(v, key);
        if (i >= kIndexLabelBit) fail(line, "'index' must be below 2147483648");
        label = index_label(static_cast<std::uint32_t>(i));
      } else if (key == "weak") {
        if (as_bool(v, key)) flags |= kEdgeWeak;
      } else if (key == "deferred") {
        if (as_bool(v, key)) flags |= kEdgeDeferred;
      } else {
        fail(line, "unknown key '" + key + "' in a ref");
      }
    }
    (void)has_label;
  } else {
    fail(line, "a ref must be an id or an object");
  }
  ref_to_.push_back(to);
  ref_labels_.push_back(label);
  ref_flags_.push_back(flags);
}

void JsonlReader::node_line(const json& j, std::uint64_t line) {
  PendingNode n{0, kNoString, 0, kGcTracked, kNoString, line, ref_to_.size(), 0};
  bool has_id = false, has_type = false, has_size = false;
  RootKind root = RootKind::None;
  const json* refs = nullptr;
  for (const auto& [key, v] : j.items()) {
    if (key == "id") {
      n.id = as_unsigned(v, key);
      has_id = true;
    } else if (key == "type") {
      // May be empty: type('', (), {}) is a class.
      n.type = strings_.intern(as_string(v, key));
      has_type = true;
    } else if (key == "size") {
      n.size = as_unsigned(v, key);
      has_size = true;
    } else if (key == "gc") {
      if (!as_bool(v, key)) n.flags &= static_cast<std::uint8_t>(~kGcTracked);
    } else if (key == "root") {
      if (v.is_null()) continue;
      std::string r = as_string(v, key);
      try {
        root = parse_root_kind(r);
      } catch (const QueryError& e) {
        fail(line, e.what());
      }
    } else if (key == "label") {
      std::string s = as_string(v, key);
      n.label = s.empty() ? kNoString : strings_.intern(s);
    } else if (key == "label_is_value") {
      if (as_bool(v, key)) n.flags |= kLabelIsValue;
    } else if (key == "refs") {
      if (!v.is_array()) fail(line, "'refs' must be a list");
      refs = &v;
    } else {
      fail(line, "unknown key '" + key + "'");
    }
  }
  if (!has_id) fail(line, "a node needs 'id'");
  if (!has_type) fail(line, "a node needs 'type'");
  if (!has_size) fail(line, "a node needs 'size'");
  n.flags = static_cast<std::uint8_t>(n.flags | (std::uint8_t(root) << kRootKindShift));
  if (refs != nullptr) {
    for (const auto& r : *refs) ref(r, line);
  }
  n.num_refs = ref_to_.size() - n.first_ref;
  nodes_.push_back(n);
}

// Parses one line as a JSON tree; sets `duplicate` to the first key that an object repeats (nlohmann keeps the
// last one silently, and a second "id" is a corrupt line, not an update).
json parse_line(const std::string& text, std::string& duplicate) {
  std::vector<std::vector<std::string>> keys;  // the keys of each open object, innermost last
  auto on_event = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      keys.pop_back();
    } else if (event == json::parse_event_t::key && !keys.empty()) {
      auto& seen = keys.back();
      const std::string& k = parsed.get_ref<const std::string&>();
      if (duplicate.empty() && std::find(seen.begin(), seen.end(), k) != seen.end()) duplicate = k;
      seen.push_back(k);
    }
    return true;
  };
  return json::parse(text, on_event, false);
}

bool JsonlReader::read_lines() {
  std::string text;
  std::uint64_t line = 0;
  bool first = true;
  while (std::getline(in_, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    // nlohmann's parser takes a NUL for the end of its input and would ignore the rest of the line.
    if (const auto nul = text.find('\0'); nul != std::string::npos)
      fail(line, "NUL byte at column " + std::to_string(nul + 1));
    sax_.reset();
    if (options_.sax_fast_path && json::sax_parse(text, &sax_)) {
      commit(sax_, line);
      first = false;
      continue;
    }
    std::string duplicate;
    json j = parse_line(text, duplicate);
    if (j.is_discarded()) fail(line, "not valid JSON");
    if (!j.is_object()) fail(line, "expected a JSON object");
    if (!duplicate.empty()) fail(line, "duplicate key '" + duplicate + "'");
    try {
      if (j.contains("refgraph")) {
        header_line(j, line, first);
      } else {
        node_line(j, line);
      }
    } catch (const DumpFormatError& e) {
      const std::string what = e.what();
      if (what.rfind(name_ + ": ", 0) == 0) throw;
      fail(line, what);
    }
    first = false;
  }
  return !first;
}

HeapGraph JsonlReader::read() {
  bool any = false;
  try {
    RethrowFromStream rethrow(in_);
    any = read_lines();
  } catch (const std::ios_base::failure& e) {
    throw Error(name_ + ": read error (" + e.what() + ")");
  }
  // What load_graph() says of an empty file: a failed or interrupted export, not a graph with no objects. (A
  // header line alone is an empty graph: the writer writes one for a graph with no objects.)
  if (!any) throw DumpFormatError(name_ + ": empty file (no header line and no objects)");

  // Sort by id; the stable sort keeps the file's order among equal ids so the duplicate names the later line.
  std::vector<std::uint32_t> order(nodes_.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return nodes_[a].id < nodes_[b].id; });
  RawGraphParts p;
  const std::size_t n = order.size();
  p.ids.resize(n);
  p.types.resize(n);
  p.sizes.resize(n);
  p.flags.resize(n);
  p.labels.resize(n);
  p.out_row_starts.resize(n + 1);
  for (std::size_t i = 0; i < n; ++i) {
    const PendingNode& x = nodes_[order[i]];
    if (i > 0 && x.id == p.ids[i - 1])
      fail(x.line, "duplicate node id " + std::to_string(x.id) + " (first on line " +
                       std::to_string(nodes_[order[i - 1]].line) + ")");
    p.ids[i] = x.id;
    p.types[i] = x.type;
    p.sizes[i] = x.size;
    p.flags[i] = x.flags;
    p.labels[i] = x.label;
    p.out_row_starts[i + 1] = static_cast<EdgeIndex>(p.out_row_starts[i] + x.num_refs);
  }
  const std::size_t m = ref_to_.size();
  if (m > 0xFFFFFFFFull) throw DumpFormatError(name_ + ": too many refs");
  p.edge_targets.reserve(m);
  p.edge_labels.reserve(m);
  p.edge_flags.reserve(m);
  for (std::size_t i = 0; i < n; ++i) {
    const PendingNode& x = nodes_[order[i]];
    for (std::size_t r = x.first_ref; r < x.first_ref + x.num_refs; ++r) {
      auto it = std::lower_bound(p.ids.begin(), p.ids.end(), ref_to_[r]);
      if (it == p.ids.end() || *it != ref_to_[r])
        fail(x.line, "ref to " + std::to_string(ref_to_[r]) + ", which is not a node");
      p.edge_targets.push_back(static_cast<NodeIndex>(it - p.ids.begin()));
      p.edge_labels.push_back(ref_labels_[r]);
      p.edge_flags.push_back(ref_flags_[r]);
    }
  }
  p.strings = std::move(strings_);
  p.metadata = std::move(metadata_);
  return std::move(p).assemble(name_);
}

}  // namespace

HeapGraph read_jsonl(std::istream& in, const std::string& name, const JsonlReadOptions& options) {
  JsonlReader reader(in, name, options);
  return reader.read();
}

HeapGraph read_jsonl(const std::string& path, const JsonlReadOptions& options) {
  std::ifstream in;
  open_input(in, path);
  return read_jsonl(in, path, options);
}

}  // namespace refgraph
