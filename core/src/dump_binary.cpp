// The binary .rgd dump: a stream of zstd-compressed, XXH64-checksummed sections (docs/dump-format.md).
//
// Writing encodes one chunk at a time into a reused buffer, so the compressed file never sits in memory. Reading
// decompresses one chunk at a time and decodes it with pointer loops straight into the final arrays of a
// RawGraphParts, which are reserved once from the counts in the metadata section.
#include <algorithm>
#include <cstring>
#include <istream>
#include <ostream>
#include <string>

#include <xxhash.h>
#include <zstd.h>

#include "dump_codec.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"

namespace refgraph {
namespace dump_detail {

const char* section_name(std::uint32_t kind) {
  switch (kind) {
    case kMetadataSection: return "metadata";
    case kStringsSection: return "strings";
    case kNodesSection: return "nodes";
    case kEdgesSection: return "edges";
    case kEndSection: return "end";
    default: return (kind & kOptionalSectionBit) ? "optional" : "unknown";
  }
}

void encode_header(const SectionHeader& h, unsigned char out[kSectionHeaderSize]) {
  put_u32(out, h.kind);
  put_u32(out + 4, h.count);
  put_u64(out + 8, h.first);
  put_u64(out + 16, h.raw_size);
  put_u64(out + 24, h.packed_size);
  put_u64(out + 32, h.payload_hash);
  put_u64(out + 40, XXH64(out, 40, 0));
}

bool decode_header(const unsigned char in[kSectionHeaderSize], SectionHeader& h) {
  if (get_u64(in + 40) != XXH64(in, 40, 0)) return false;
  h.kind = get_u32(in);
  h.count = get_u32(in + 4);
  h.first = get_u64(in + 8);
  h.raw_size = get_u64(in + 16);
  h.packed_size = get_u64(in + 24);
  h.payload_hash = get_u64(in + 32);
  return true;
}

SectionWriter::SectionWriter(std::ostream& out, int level) : out_(out), level_(level), cctx_(ZSTD_createCCtx()) {
  if (cctx_ == nullptr) throw Error("cannot create a zstd compression context");
}

SectionWriter::~SectionWriter() { ZSTD_freeCCtx(cctx_); }

void SectionWriter::emit(const void* p, std::size_t n) {
  out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
  if (!out_) throw Error("write failed");
  written_ += n;
}

void SectionWriter::file_header(std::uint32_t version) {
  unsigned char h[kFileHeaderSize];
  std::memcpy(h, kMagic, sizeof kMagic);
  put_u32(h + 8, version);
  emit(h, sizeof h);
}

void SectionWriter::section(std::uint32_t kind, std::uint64_t first, std::uint32_t count, const void* raw,
                            std::size_t raw_size) {
  if (raw_size > kMaxRawSectionBytes) throw Error("dump section too large (" + std::to_string(raw_size) + " bytes)");
  packed_.resize(ZSTD_compressBound(raw_size));
  std::size_t z = ZSTD_compressCCtx(cctx_, packed_.data(), packed_.size(), raw, raw_size, level_);
  if (ZSTD_isError(z)) throw Error(std::string("zstd compression failed: ") + ZSTD_getErrorName(z));
  SectionHeader h{kind, count, first, raw_size, z, XXH64(packed_.data(), z, 0)};
  unsigned char hb[kSectionHeaderSize];
  encode_header(h, hb);
  emit(hb, sizeof hb);
  emit(packed_.data(), z);
  ++sections_;
}

void SectionWriter::packed_section(std::uint32_t kind, std::uint64_t first, std::uint32_t count, std::uint64_t raw_size,
                                   std::string_view packed) {
  SectionHeader h{kind, count, first, raw_size, packed.size(), XXH64(packed.data(), packed.size(), 0)};
  unsigned char hb[kSectionHeaderSize];
  encode_header(h, hb);
  emit(hb, sizeof hb);
  emit(packed.data(), packed.size());
  ++sections_;
}

std::string unpack_payload(std::string_view packed, std::uint64_t raw_size) {
  std::string raw(raw_size, '\0');
  std::size_t r = ZSTD_decompress(raw.data(), raw.size(), packed.data(), packed.size());
  if (ZSTD_isError(r) || r != raw_size) throw Error("cannot decompress the payload");
  return raw;
}

namespace {

// A growable byte buffer written through raw pointers: callers ask for room for a whole column up front.
class Buffer {
 public:
  unsigned char* room(std::size_t n) {
    if (used_ + n > bytes_.size()) bytes_.resize(std::max(bytes_.size() * 2, used_ + n));
    return bytes_.data() + used_;
  }
  void commit(unsigned char* end) { used_ = static_cast<std::size_t>(end - bytes_.data()); }
  void clear() { used_ = 0; }
  const unsigned char* data() const { return bytes_.data(); }
  std::size_t size() const { return used_; }

 private:
  std::vector<unsigned char> bytes_;
  std::size_t used_ = 0;
};

constexpr std::size_t kMaxVarint = 10;

// Where `s` stops being UTF-8 as Python's strict decoder reads it (no surrogates, no overlong forms, nothing past
// U+10FFFF), or npos if it is valid throughout. Every writer writes UTF-8 (the capture replaces lone surrogates),
// so anything else is damage, and would surface later as a UnicodeDecodeError far from the file.
std::size_t invalid_utf8_at(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else {
      return i;
    }
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    i += len;
  }
  return std::string_view::npos;
}

// Edge label code: 0 none; 2*s a text label (string id s); 2*z+1 an index label whose index is
// expected + unzigzag(z), where expected is one past the previous index label in the same row and chunk (0 at
// their start). A list's items [0], [1], ... all encode as 1.
inline std::uint64_t label_code(EdgeLabel l, std::int64_t& expected) {
  if (!is_index_label(l)) return std::uint64_t(l) << 1;
  std::int64_t i = l & ~kIndexLabelBit;
  std::uint64_t code = (zigzag(i - expected) << 1) | 1;
  expected = i + 1;
  return code;
}

}  // namespace

void write_dump(const HeapGraph& g, std::ostream& out, const WriteOptions& opt) {
  SectionWriter w(out, opt.level);
  w.file_header();
  const StringTable& strings = g.strings();
  const std::size_t n = g.num_nodes(), m = g.num_edges(), s = strings.size();
  Buffer buf;

  {
    unsigned char* p = buf.room(kMetadataFixedBytes);
    put_u64(p, s);
    put_u64(p + 8, n);
    put_u64(p + 16, m);
    buf.commit(p + kMetadataFixedBytes);
    std::string json = metadata_to_json(g.metadata()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    p = buf.room(json.size());
    std::memcpy(p, json.data(), json.size());
    buf.commit(p + json.size());
    w.section(kMetadataSection, 0, 0, buf.data(), buf.size());
  }

  // String 0 is always "" and is not stored.
  for (std::size_t i = 1; i < s;) {
    std::size_t j = i, bytes = 0;
    while (j < s && j - i < opt.strings_per_chunk &&
           (j == i || bytes + strings[j].size() <= opt.string_bytes_per_chunk)) {
      bytes += strings[j].size();
      ++j;
    }
    buf.clear();
    unsigned char* p = buf.room((j - i) * kMaxVarint + bytes);
    for (std::size_t k = i; k < j; ++k) p = put_varint(p, strings[k].size());
    for (std::size_t k = i; k < j; ++k) {
      std::memcpy(p, strings[k].data(), strings[k].size());
      p += strings[k].size();
    }
    buf.commit(p);
    w.section(kStringsSection, i, static_cast<std::uint32_t>(j - i), buf.data(), buf.size());
    i = j;
  }

  const auto& ids = g.ids();
  const auto& rows = g.out_row_starts();
  for (std::size_t i = 0; i < n; i += opt.nodes_per_chunk) {
    const std::size_t j = std::min<std::size_t>(n, i + opt.nodes_per_chunk), k = j - i;
    buf.clear();
    unsigned char* p = buf.room(k * (5 * kMaxVarint + 1));
    std::uint64_t prev = 0;
    for (std::size_t x = i; x < j; ++x) {
      p = put_varint(p, ids[x] - prev);
      prev = ids[x];
    }
    for (std::size_t x = i; x < j; ++x) p = put_varint(p, g.type(static_cast<NodeIndex>(x)));
    for (std::size_t x = i; x < j; ++x) p = put_varint(p, g.size(static_cast<NodeIndex>(x)));
    for (std::size_t x = i; x < j; ++x) p = put_varint(p, g.label(static_cast<NodeIndex>(x)));
    for (std::size_t x = i; x < j; ++x) p = put_varint(p, rows[x + 1] - rows[x]);
    std::memcpy(p, g.node_flags().data() + i, k);
    p += k;
    buf.commit(p);
    w.section(kNodesSection, i, static_cast<std::uint32_t>(k), buf.data(), buf.size());
  }

  const auto& targets = g.edge_targets();
  const auto& labels = g.edge_labels();
  NodeIndex src = 0;
  for (std::size_t e0 = 0; e0 < m; e0 += opt.edges_per_chunk) {
    const std::size_t e1 = std::min<std::size_t>(m, e0 + opt.edges_per_chunk), k = e1 - e0;
    buf.clear();
    unsigned char* p = buf.room(k * (2 * kMaxVarint + 1));
    NodeIndex s0 = src;
    for (std::size_t e = e0; e < e1; ++e) {
      while (rows[src + 1] <= e) ++src;
      p = put_varint(p, zigzag(std::int64_t(targets[e]) - std::int64_t(src)));
    }
    src = s0;
    std::int64_t expected = 0;
    for (std::size_t e = e0; e < e1; ++e) {
      if (rows[src + 1] <= e) {
        while (rows[src + 1] <= e) ++src;
        expected = 0;
      }
      p = put_varint(p, label_code(labels[e], expected));
    }
    std::memcpy(p, g.edge_flag_array().data() + e0, k);
    p += k;
    buf.commit(p);
    w.section(kEdgesSection, e0, static_cast<std::uint32_t>(k), buf.data(), buf.size());
  }

  {
    unsigned char end[kEndPayloadBytes];
    put_u64(end, s);
    put_u64(end + 8, n);
    put_u64(end + 16, m);
    put_u64(end + 24, w.sections_written());
    w.section(kEndSection, 0, 0, end, sizeof end);
  }
}

}  // namespace dump_detail

using namespace dump_detail;

namespace {

// Reads one .rgd stream. `total` is the stream size when known (0 otherwise): it bounds what headers may ask for.
class DumpReader {
 public:
  DumpReader(std::istream& in, const std::string& name, const ProgressFn& progress, std::uint64_t total)
      : in_(in), name_(name), progress_(progress), total_(total), dctx_(ZSTD_createDCtx()) {
    if (dctx_ == nullptr) throw Error("cannot create a zstd decompression context");
  }
  ~DumpReader() { ZSTD_freeDCtx(dctx_); }

  // `whole_file`: the dump must end exactly at the end section (a stream may go on with other data).
  HeapGraph read(bool whole_file);

 private:
  [[noreturn]] void fail(std::uint64_t at, const std::string& what) const {
    throw DumpFormatError(name_ + ": " + section_name(header_.kind) + " section at byte " + std::to_string(at) + ": " +
                          what);
  }
  [[noreturn]] void fail_plain(const std::string& where_what) const {
    throw DumpFormatError(name_ + ": " + where_what);
  }

  std::size_t read_some(void* p, std::size_t n) {
    in_.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
    auto got = static_cast<std::size_t>(in_.gcount());
    pos_ += got;
    return got;
  }
  void read_file_header();
  bool read_section();  // false after the end marker
  void read_payload();
  void decode_metadata();
  void decode_strings();
  void decode_nodes();
  void decode_edges();
  void decode_end();
  template <class V>
  void make_room(V& v, std::size_t add, std::uint64_t declared) {
    std::size_t need = v.size() + add;
    if (need > v.capacity())
      v.reserve(std::max<std::size_t>(need, std::min<std::uint64_t>(declared, v.capacity() * 2)));
  }

  std::istream& in_;
  const std::string& name_;
  const ProgressFn& progress_;
  std::uint64_t total_;
  ZSTD_DCtx* dctx_;
  std::uint64_t pos_ = 0;
  std::uint64_t section_at_ = 0;  // byte offset of the current section header
  SectionHeader header_;
  std::uint32_t stage_ = 0;  // the highest mandatory section kind seen so far
  std::uint64_t sections_ = 0;
  std::vector<unsigned char> packed_, raw_;
  std::uint64_t declared_strings_ = 0, declared_nodes_ = 0, declared_edges_ = 0;
  std::uint64_t edges_in_rows_ = 0;  // sum of the out-degrees seen so far
  RawGraphParts parts_;
  bool ended_ = false;
};

void DumpReader::read_file_header() {
  unsigned char h[kFileHeaderSize];
  std::size_t got = read_some(h, sizeof h);
  if (got > 0 && got < sizeof kMagic && std::memcmp(h, kMagic, got) == 0)
    fail_plain("at byte 0: truncated file header");
  if (got < sizeof kMagic || std::memcmp(h, kMagic, sizeof kMagic) != 0)
    fail_plain("at byte 0: not a refgraph dump (wrong magic)");
  if (got < kFileHeaderSize) fail_plain("file header at byte 8: truncated");
  std::uint32_t version = get_u32(h + 8);
  if (version != kFormatVersion)
    fail_plain("file header at byte 8: unsupported format version " + std::to_string(version) +
               " (this reader knows version " + std::to_string(kFormatVersion) + ")");
}

void DumpReader::read_payload() {
  const SectionHeader& h = header_;
  if (h.packed_size > kMaxPackedSectionBytes || h.raw_size > kMaxRawSectionBytes)
    fail(section_at_, "section too large (" + std::to_string(h.packed_size) + " bytes compressed, " +
                          std::to_string(h.raw_size) + " bytes uncompressed)");
  if (h.raw_size > std::max<std::uint64_t>(h.packed_size, 1) * kMaxZstdRatio)
    fail(section_at_, "uncompressed size " + std::to_string(h.raw_size) + " is impossible for " +
                          std::to_string(h.packed_size) + " compressed bytes");
  if (total_ != 0 && h.packed_size > total_ - pos_)
    fail(section_at_, "truncated: the section needs " + std::to_string(h.packed_size) +
                          " payload bytes, the file has " + std::to_string(total_ - pos_) + " left");
  // Grow as data actually arrives, so a lying header on an unsized stream cannot make us allocate its claim.
  packed_.clear();
  constexpr std::size_t kStep = 16u << 20;
  while (packed_.size() < h.packed_size) {
    std::size_t want = std::min<std::uint64_t>(kStep, h.packed_size - packed_.size());
    std::size_t at = packed_.size();
    packed_.resize(at + want);
    std::size_t got = read_some(packed_.data() + at, want);
    if (got < want)
      fail(section_at_, "truncated: the section needs " + std::to_string(h.packed_size) +
                            " payload bytes, the file ends at byte " + std::to_string(pos_));
  }
  if (XXH64(packed_.data(), packed_.size(), 0) != h.payload_hash) fail(section_at_, "checksum mismatch");
  raw_.resize(h.raw_size);
  std::size_t r = ZSTD_decompressDCtx(dctx_, raw_.data(), raw_.size(), packed_.data(), packed_.size());
  if (ZSTD_isError(r)) fail(section_at_, std::string("undecodable payload (zstd: ") + ZSTD_getErrorName(r) + ")");
  if (r != h.raw_size)
    fail(section_at_,
         "undecodable payload (" + std::to_string(r) + " bytes, header says " + std::to_string(h.raw_size) + ")");
}

bool DumpReader::read_section() {
  section_at_ = pos_;
  unsigned char hb[kSectionHeaderSize];
  std::size_t got = read_some(hb, sizeof hb);
  header_ = SectionHeader{};
  if (got == 0) fail_plain("at byte " + std::to_string(section_at_) + ": truncated (no end section)");
  if (got < sizeof hb) fail_plain("section header at byte " + std::to_string(section_at_) + ": truncated");
  if (!decode_header(hb, header_)) {
    header_ = SectionHeader{};
    fail_plain("section header at byte " + std::to_string(section_at_) + ": checksum mismatch");
  }
  const std::uint32_t kind = header_.kind;
  const bool known = kind >= kMetadataSection && kind <= kEndSection;
  if (!known && !(kind & kOptionalSectionBit)) fail(section_at_, "unknown section kind " + std::to_string(kind));
  if (known) {
    if (kind < stage_ || (kind == stage_ && (kind == kMetadataSection || kind == kEndSection)) ||
        (stage_ == 0 && kind != kMetadataSection))
      fail(section_at_, std::string("out of order (after the ") + section_name(stage_) + " section)");
    if (kind > kStringsSection && stage_ <= kStringsSection && parts_.strings.size() != declared_strings_)
      fail(section_at_, "the strings sections hold " + std::to_string(parts_.strings.size()) +
                            " strings, the metadata says " + std::to_string(declared_strings_));
    if (kind > kNodesSection && stage_ <= kNodesSection && parts_.ids.size() != declared_nodes_)
      fail(section_at_, "the nodes sections hold " + std::to_string(parts_.ids.size()) + " nodes, the metadata says " +
                            std::to_string(declared_nodes_));
    stage_ = kind;
    if ((kind == kMetadataSection || kind == kEndSection) && (header_.count != 0 || header_.first != 0))
      fail(section_at_, "the header's count and first index must be 0 (they are " + std::to_string(header_.count) +
                            " and " + std::to_string(header_.first) + ")");
  }
  read_payload();
  switch (known ? kind : 0) {
    case kMetadataSection: decode_metadata(); break;
    case kStringsSection: decode_strings(); break;
    case kNodesSection: decode_nodes(); break;
    case kEdgesSection: decode_edges(); break;
    case kEndSection: decode_end(); break;
    default: break;  // an optional section this reader does not know
  }
  ++sections_;
  if (progress_) progress_(pos_, total_);
  return kind != kEndSection;
}

void DumpReader::decode_metadata() {
  if (raw_.size() < kMetadataFixedBytes) fail(section_at_, "payload too short");
  declared_strings_ = get_u64(raw_.data());
  declared_nodes_ = get_u64(raw_.data() + 8);
  declared_edges_ = get_u64(raw_.data() + 16);
  if (declared_strings_ == 0 || declared_strings_ > kIndexLabelBit)
    fail(section_at_, "bad string count " + std::to_string(declared_strings_));
  if (declared_nodes_ >= kNoNode) fail(section_at_, "bad node count " + std::to_string(declared_nodes_));
  if (declared_edges_ > 0xFFFFFFFFull) fail(section_at_, "bad edge count " + std::to_string(declared_edges_));
  nlohmann::json j = nlohmann::json::parse(raw_.begin() + kMetadataFixedBytes, raw_.end(), nullptr, false);
  if (j.is_discarded()) fail(section_at_, "metadata is not valid JSON");
  try {
    parts_.metadata = metadata_from_json(j);
  } catch (const DumpFormatError& e) {
    fail(section_at_, e.what());
  }
  // Reserve the final arrays once. Only trust counts that the rest of the file could plausibly hold (real dumps
  // need well over 1/64 byte a node or edge); beyond that grow as chunks arrive.
  std::uint64_t plausible = total_ == 0 ? (1u << 20) : (total_ - pos_) * 64;
  std::size_t n = std::min(declared_nodes_, plausible), m = std::min(declared_edges_, plausible);
  parts_.ids.reserve(n);
  parts_.types.reserve(n);
  parts_.sizes.reserve(n);
  parts_.flags.reserve(n);
  parts_.labels.reserve(n);
  parts_.out_row_starts.reserve(n + 1);
  parts_.out_row_starts.push_back(0);
  parts_.edge_targets.reserve(m);
  parts_.edge_labels.reserve(m);
  parts_.edge_flags.reserve(m);
}

void DumpReader::decode_strings() {
  const std::uint64_t have = parts_.strings.size(), k = header_.count;
  if (header_.first != have)
    fail(section_at_, "chunk starts at string " + std::to_string(header_.first) + ", expected " + std::to_string(have));
  if (k > declared_strings_ - have)
    fail(section_at_, "more strings than the metadata declares (" + std::to_string(declared_strings_) + ")");
  if (k > raw_.size()) fail(section_at_, "string count " + std::to_string(k) + " does not fit the payload");
  const unsigned char* p = raw_.data();
  const unsigned char* end = p + raw_.size();
  std::vector<std::uint64_t> lengths(k);
  std::uint64_t sum = 0;
  for (auto& len : lengths) {
    if (!get_varint(p, end, len)) fail(section_at_, "undecodable string length");
    sum += len;
    if (len > raw_.size() || sum > raw_.size()) fail(section_at_, "string lengths exceed the payload");
  }
  if (sum != static_cast<std::uint64_t>(end - p)) fail(section_at_, "string lengths do not match the payload size");
  for (std::uint64_t i = 0; i < k; ++i) {
    std::string_view s(reinterpret_cast<const char*>(p), lengths[i]);
    if (const std::size_t bad = invalid_utf8_at(s); bad != std::string_view::npos)
      fail(section_at_, "string " + std::to_string(have + i) + " is not valid UTF-8 (at byte " +
                            std::to_string(p - raw_.data() + bad) + " of the uncompressed payload)");
    p += lengths[i];
    if (parts_.strings.intern(s) != have + i)
      fail(section_at_, "string " + std::to_string(have + i) + " is a duplicate or empty");
  }
}

void DumpReader::decode_nodes() {
  const std::size_t have = parts_.ids.size(), k = header_.count;
  if (header_.first != have)
    fail(section_at_, "chunk starts at node " + std::to_string(header_.first) + ", expected " + std::to_string(have));
  if (k > declared_nodes_ - have)
    fail(section_at_, "more nodes than the metadata declares (" + std::to_string(declared_nodes_) + ")");
  if (k * 6 > raw_.size()) fail(section_at_, "node count " + std::to_string(k) + " does not fit the payload");
  for (auto* v : {&parts_.ids, &parts_.sizes}) make_room(*v, k, declared_nodes_);
  for (auto* v : {&parts_.types, &parts_.labels}) make_room(*v, k, declared_nodes_);
  make_room(parts_.flags, k, declared_nodes_);
  make_room(parts_.out_row_starts, k, declared_nodes_ + 1);
  parts_.ids.resize(have + k);
  parts_.types.resize(have + k);
  parts_.sizes.resize(have + k);
  parts_.labels.resize(have + k);
  parts_.flags.resize(have + k);
  parts_.out_row_starts.resize(have + 1 + k);

  const unsigned char* p = raw_.data();
  const unsigned char* const end = p + raw_.size();
  const std::uint64_t nstrings = parts_.strings.size();
  std::uint64_t v;
  auto bad = [&](const char* column, std::size_t i) {
    fail(section_at_, std::string("undecodable ") + column + " of node " + std::to_string(have + i));
  };

  std::uint64_t* ids = parts_.ids.data() + have;
  std::uint64_t prev = have == 0 ? 0 : parts_.ids[have - 1];
  for (std::size_t i = 0; i < k; ++i) {
    if (!get_varint(p, end, v)) bad("id", i);
    std::uint64_t id = v;
    if (i > 0) {
      id = prev + v;
      if (v == 0 || id < prev) fail(section_at_, "node " + std::to_string(have + i) + " is out of id order");
    } else if (have > 0 && id <= prev) {
      fail(section_at_, "node " + std::to_string(have) + " is out of id order");
    }
    ids[i] = prev = id;
  }
  StringId* types = parts_.types.data() + have;
  for (std::size_t i = 0; i < k; ++i) {
    if (!get_varint(p, end, v)) bad("type", i);
    if (v >= nstrings) fail(section_at_, "node " + std::to_string(have + i) + " has a bad type string");
    types[i] = static_cast<StringId>(v);
  }
  std::uint64_t* sizes = parts_.sizes.data() + have;
  for (std::size_t i = 0; i < k; ++i) {
    if (!get_varint(p, end, sizes[i])) bad("size", i);
  }
  StringId* labels = parts_.labels.data() + have;
  for (std::size_t i = 0; i < k; ++i) {
    if (!get_varint(p, end, v)) bad("label", i);
    if (v >= nstrings) fail(section_at_, "node " + std::to_string(have + i) + " has a bad label string");
    labels[i] = static_cast<StringId>(v);
  }
  EdgeIndex* rows = parts_.out_row_starts.data() + have + 1;
  for (std::size_t i = 0; i < k; ++i) {
    if (!get_varint(p, end, v)) bad("out-degree", i);
    edges_in_rows_ += v;
    if (v > declared_edges_ || edges_in_rows_ > declared_edges_)
      fail(section_at_, "out-degrees exceed the edge count in the metadata (" + std::to_string(declared_edges_) + ")");
    rows[i] = static_cast<EdgeIndex>(edges_in_rows_);
  }
  if (static_cast<std::size_t>(end - p) != k) fail(section_at_, "flags column does not match the payload size");
  std::memcpy(parts_.flags.data() + have, p, k);
}

void DumpReader::decode_edges() {
  const std::size_t have = parts_.edge_targets.size(), k = header_.count;
  if (header_.first != have)
    fail(section_at_, "chunk starts at edge " + std::to_string(header_.first) + ", expected " + std::to_string(have));
  if (k > edges_in_rows_ - have)
    fail(section_at_, "more edges than the nodes' out-degrees add up to (" + std::to_string(edges_in_rows_) + ")");
  if (k * 3 > raw_.size()) fail(section_at_, "edge count " + std::to_string(k) + " does not fit the payload");
  make_room(parts_.edge_targets, k, declared_edges_);
  make_room(parts_.edge_labels, k, declared_edges_);
  make_room(parts_.edge_flags, k, declared_edges_);
  parts_.edge_targets.resize(have + k);
  parts_.edge_labels.resize(have + k);
  parts_.edge_flags.resize(have + k);

  const unsigned char* p = raw_.data();
  const unsigned char* const end = p + raw_.size();
  const auto& rows = parts_.out_row_starts;
  const std::int64_t n = static_cast<std::int64_t>(parts_.ids.size());
  const std::uint64_t nstrings = parts_.strings.size();
  // The source of the first edge: the last node whose row starts at or before it.
  const NodeIndex first_src = static_cast<NodeIndex>(
      std::upper_bound(rows.begin(), rows.end(), static_cast<EdgeIndex>(have)) - rows.begin() - 1);
  std::uint64_t v;

  NodeIndex src = first_src;
  NodeIndex* targets = parts_.edge_targets.data() + have;
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t e = have + i;
    while (rows[src + 1] <= e) ++src;
    if (!get_varint(p, end, v)) fail(section_at_, "undecodable target of edge " + std::to_string(e));
    std::int64_t d = unzigzag(v);
    std::int64_t t = static_cast<std::int64_t>(src) + d;
    if (d < -n || d > n || t < 0 || t >= n)
      fail(section_at_, "edge " + std::to_string(e) + " points to a missing node (index " +
                            std::to_string(static_cast<std::int64_t>(src) + d) + ")");
    targets[i] = static_cast<NodeIndex>(t);
  }
  src = first_src;
  std::int64_t expected = 0;
  EdgeLabel* labels = parts_.edge_labels.data() + have;
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t e = have + i;
    if (rows[src + 1] <= e) {
      while (rows[src + 1] <= e) ++src;
      expected = 0;
    }
    if (!get_varint(p, end, v)) fail(section_at_, "undecodable label of edge " + std::to_string(e));
    if (v & 1) {
      std::int64_t d = unzigzag(v >> 1);
      std::int64_t idx = expected + d;
      if (d < -std::int64_t(kIndexLabelBit) || d > std::int64_t(kIndexLabelBit) || idx < 0 ||
          idx >= std::int64_t(kIndexLabelBit))
        fail(section_at_, "edge " + std::to_string(e) + " has a bad index label");
      labels[i] = index_label(static_cast<std::uint32_t>(idx));
      expected = idx + 1;
    } else {
      if ((v >> 1) >= nstrings) fail(section_at_, "edge " + std::to_string(e) + " has a bad label string");
      labels[i] = static_cast<EdgeLabel>(v >> 1);
    }
  }
  if (static_cast<std::size_t>(end - p) != k) fail(section_at_, "flags column does not match the payload size");
  std::memcpy(parts_.edge_flags.data() + have, p, k);
}

void DumpReader::decode_end() {
  if (raw_.size() != kEndPayloadBytes) fail(section_at_, "bad end payload size");
  // The strings and nodes read were checked against the metadata when the next section began.
  auto check = [&](const char* what, std::uint64_t in_end, std::uint64_t read, const char* source) {
    if (in_end != read)
      fail(section_at_, std::string("totals do not match: the end marker says ") + std::to_string(in_end) + " " + what +
                            ", " + source + " " + std::to_string(read));
  };
  check("strings", get_u64(raw_.data()), parts_.strings.size(), "the file has");
  check("nodes", get_u64(raw_.data() + 8), parts_.ids.size(), "the file has");
  check("edges", get_u64(raw_.data() + 16), declared_edges_, "the metadata says");
  check("edges", get_u64(raw_.data() + 16), edges_in_rows_, "the nodes' out-degrees add up to");
  check("edges", get_u64(raw_.data() + 16), parts_.edge_targets.size(), "the edges sections hold");
  check("sections before it", get_u64(raw_.data() + 24), sections_, "the file has");
  ended_ = true;
}

HeapGraph DumpReader::read(bool whole_file) {
  try {
    RethrowFromStream rethrow(in_);
    read_file_header();
    while (read_section()) {
    }
  } catch (const std::ios_base::failure& e) {
    throw Error(name_ + ": read error at byte " + std::to_string(pos_) + " (" + e.what() + ")");
  }
  if (whole_file && pos_ != total_)
    fail_plain("at byte " + std::to_string(pos_) + ": unexpected bytes after the end section");
  std::vector<unsigned char>().swap(packed_);
  std::vector<unsigned char>().swap(raw_);
  return std::move(parts_).assemble(name_);
}

}  // namespace

void write_dump(const HeapGraph& g, std::ostream& out) { dump_detail::write_dump(g, out, WriteOptions{}); }

void write_dump(const HeapGraph& g, const std::string& path) {
  write_file_atomic(path, [&](std::ostream& out) { write_dump(g, out); });
}

HeapGraph read_dump(std::istream& in, const std::string& name, const ProgressFn& progress) {
  // A seekable stream tells us how much is left, which bounds what a header may ask for.
  std::uint64_t total = 0;
  const auto start = in.tellg();
  if (start != std::istream::pos_type(-1)) {
    in.seekg(0, std::ios::end);
    const auto end = in.tellg();
    if (in && end != std::istream::pos_type(-1) && end > start) total = static_cast<std::uint64_t>(end - start);
    in.clear();
    in.seekg(start);
  }
  DumpReader reader(in, name, progress, total);
  return reader.read(false);
}

HeapGraph dump_detail::read_dump_file(std::istream& in, const std::string& path, const ProgressFn& progress,
                                      std::uint64_t size) {
  if (size == 0) throw DumpFormatError(path + ": at byte 0: empty file");
  const bool regular = size != kUnknownSize;
  DumpReader reader(in, path, progress, regular ? size : 0);
  HeapGraph g = reader.read(regular);
  if (in.bad()) throw Error(path + ": read error");
  return g;
}

HeapGraph read_dump(const std::string& path, const ProgressFn& progress) {
  std::ifstream in;
  const std::uint64_t size = open_input(in, path);
  return read_dump_file(in, path, progress, size);
}

}  // namespace refgraph
