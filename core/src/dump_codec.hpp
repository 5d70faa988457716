// dump_codec.hpp (internal): the pieces of the .rgd format shared by the writer, the reader and the tests.
//
// The byte layout is specified in docs/dump-format.md; keep the two in step. Tests include this header to build
// deliberately malformed files (a section whose checksum is right but whose payload is not) and to write dumps with
// tiny chunks so several chunks are exercised on a small graph.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <ios>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "refgraph/dump.hpp"
#include "refgraph/graph.hpp"

struct ZSTD_CCtx_s;

namespace refgraph::dump_detail {

// PNG-style magic: a non-ASCII first byte (never the start of a JSON Lines file), "RGD", then CR LF, ^Z, LF so a
// text-mode transfer that rewrites line ends is detected as a wrong magic.
inline constexpr unsigned char kMagic[8] = {0x89, 'R', 'G', 'D', '\r', '\n', 0x1A, '\n'};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kFileHeaderSize = 12;  // magic + u32 version
inline constexpr std::size_t kSectionHeaderSize = 48;

enum SectionKind : std::uint32_t {
  kMetadataSection = 1,
  kStringsSection = 2,
  kNodesSection = 3,
  kEdgesSection = 4,
  kEndSection = 5,
};
// Kinds with this bit set are optional: a reader that does not know one checks its checksum and skips it.
inline constexpr std::uint32_t kOptionalSectionBit = 0x80000000u;

// Hard limits a reader enforces before allocating anything a header asks for.
inline constexpr std::uint64_t kMaxRawSectionBytes = 256ull << 20;
inline constexpr std::uint64_t kMaxPackedSectionBytes = 256ull << 20;
inline constexpr std::uint64_t kMaxZstdRatio = 32768;     // a zstd RLE block: 4 bytes for 128 KiB
inline constexpr std::uint64_t kMetadataFixedBytes = 24;  // u64 strings, u64 nodes, u64 edges before the JSON
inline constexpr std::uint64_t kEndPayloadBytes = 32;     // u64 strings, nodes, edges, sections before the end

struct SectionHeader {
  std::uint32_t kind = 0;
  std::uint32_t count = 0;  // strings, nodes or edges in this chunk
  std::uint64_t first = 0;  // index of the first string, node or edge in this chunk
  std::uint64_t raw_size = 0;
  std::uint64_t packed_size = 0;
  std::uint64_t payload_hash = 0;  // XXH64 (seed 0) of the packed payload
};

const char* section_name(std::uint32_t kind);  // "metadata", "strings", ..., "optional" or "unknown"

void encode_header(const SectionHeader& h, unsigned char out[kSectionHeaderSize]);  // adds the header hash
bool decode_header(const unsigned char in[kSectionHeaderSize], SectionHeader& h);   // false: header hash mismatch

inline void put_u32(unsigned char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline void put_u64(unsigned char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint32_t get_u32(const unsigned char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline std::uint64_t get_u64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// LEB128: 7 bits a byte, low group first, high bit set on every byte but the last. `p` must have 10 bytes free.
inline unsigned char* put_varint(unsigned char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return p;
}

// Bounds-checked: false when the varint runs past `end` or is longer than 10 bytes / overflows 64 bits.
inline bool get_varint(const unsigned char*& p, const unsigned char* end, std::uint64_t& out) {
  // Fast paths for the common one- and two-byte values (types, labels, near targets).
  if (end - p >= 2) {
    if (p[0] < 0x80) {
      out = *p++;
      return true;
    }
    if (p[1] < 0x80) {
      out = (std::uint64_t(p[0]) & 0x7F) | (std::uint64_t(p[1]) << 7);
      p += 2;
      return true;
    }
  }
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    std::uint64_t b = *p++;
    if (shift == 63 && b > 1) return false;
    v |= (b & 0x7F) << shift;
    if (b < 0x80) {
      out = v;
      return true;
    }
  }
  return false;
}

inline std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Appends sections to a stream: zstd-compresses the payload, hashes it, writes the header and the payload.
// Throws Error("write failed") as soon as the stream goes bad.
class SectionWriter {
 public:
  SectionWriter(std::ostream& out, int level);
  ~SectionWriter();
  SectionWriter(const SectionWriter&) = delete;
  SectionWriter& operator=(const SectionWriter&) = delete;

  void file_header(std::uint32_t version = kFormatVersion);
  void section(std::uint32_t kind, std::uint64_t first, std::uint32_t count, const void* raw, std::size_t raw_size);
  // For tests: writes `packed` as is (no compression) under a header declaring `raw_size`.
  void packed_section(std::uint32_t kind, std::uint64_t first, std::uint32_t count, std::uint64_t raw_size,
                      std::string_view packed);
  std::uint64_t bytes_written() const { return written_; }
  std::uint64_t sections_written() const { return sections_; }

 private:
  void emit(const void* p, std::size_t n);
  std::ostream& out_;
  int level_;
  ZSTD_CCtx_s* cctx_;
  std::vector<unsigned char> packed_;
  std::uint64_t written_ = 0;
  std::uint64_t sections_ = 0;
};

struct WriteOptions {
  std::uint32_t nodes_per_chunk = 65536;
  std::uint32_t edges_per_chunk = 196608;
  std::uint32_t strings_per_chunk = 65536;
  std::uint64_t string_bytes_per_chunk = 1u << 20;
  int level = 3;
};

void write_dump(const HeapGraph& g, std::ostream& out, const WriteOptions& options);

// For tests: decompresses one section payload (throws Error when zstd cannot).
std::string unpack_payload(std::string_view packed, std::uint64_t raw_size);

// Metadata as JSON, shared by the binary metadata section and the JSON Lines header line. from_json throws
// DumpFormatError with a message naming the key; callers prefix where.
nlohmann::ordered_json metadata_to_json(const Metadata& m);
Metadata metadata_from_json(const nlohmann::json& j);

// Opens `path` for binary reading; throws Error naming the path. Returns the size of a regular file, or
// kUnknownSize for a pipe or device.
inline constexpr std::uint64_t kUnknownSize = ~std::uint64_t(0);
std::uint64_t open_input(std::ifstream& in, const std::string& path);

// A stream's exceptions mask, set for the life of a read and restored after: with badbit in it, an exception
// thrown inside the stream (std::bad_alloc while std::getline grows a line) reaches the caller as itself, rather
// than as a bad stream that reads like an I/O error.
class RethrowFromStream {
 public:
  explicit RethrowFromStream(std::istream& in) : in_(in), saved_(in.exceptions()) {
    in.exceptions(saved_ | std::ios::badbit);
  }
  ~RethrowFromStream() {
    try {
      in_.exceptions(saved_);
    } catch (...) {
      // The mask is back; the state it complains of was reported already.
    }
  }
  RethrowFromStream(const RethrowFromStream&) = delete;
  RethrowFromStream& operator=(const RethrowFromStream&) = delete;

 private:
  std::istream& in_;
  std::ios::iostate saved_;
};

// Reads a .rgd from an opened file of `size` bytes (or kUnknownSize); a regular file must end at the end section.
HeapGraph read_dump_file(std::istream& in, const std::string& path, const ProgressFn& progress, std::uint64_t size);

}  // namespace refgraph::dump_detail
