// libFuzzer target for the dump readers: `make fuzz` builds and runs it (tests/fuzz/README.md).
//
// The first input byte picks the reader, as load_graph() does with a file's first byte:
//   0x89  the bytes are a .rgd file, read as a whole file (framing, checksums, truncation);
//   0x00  the rest is a list of section records that the harness compresses and checksums into a .rgd before
//         reading it, so mutations reach the section decoders instead of dying at a checksum;
//   else  the bytes are a JSON Lines dump.
// A dump that loads is walked, written in both formats and read back: what the writers produce from a graph the
// readers accepted must load again with the same counts. A reader may throw refgraph::Error; any other exception,
// a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "../../core/src/dump_codec.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/graph.hpp"

namespace {

using namespace refgraph;
namespace dd = refgraph::dump_detail;

constexpr unsigned char kSectionsMode = 0x00;

// A section record: u32 kind, u32 count, u64 first, u32 payload length, then the raw (uncompressed) payload;
// a length past the end of the input takes what is left.
std::string assemble_sections(const std::uint8_t* p, std::size_t n) {
  std::ostringstream out;
  dd::SectionWriter w(out, 1);
  w.file_header();
  while (n >= 20) {
    const std::uint32_t kind = dd::get_u32(p), count = dd::get_u32(p + 4);
    const std::uint64_t first = dd::get_u64(p + 8);
    std::size_t len = dd::get_u32(p + 16);
    p += 20;
    n -= 20;
    if (len > n) len = n;
    w.section(kind, first, count, p, len);
    p += len;
    n -= len;
  }
  return out.str();
}

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_dump: %s: %s\n", what, detail.c_str());
  std::abort();
}

void walk(const HeapGraph& g) {
  std::size_t sum = 0;
  for (NodeIndex n = 0; n < g.num_nodes(); ++n) {
    sum += g.type_name(n).size() + g.label_text(n).size() + g.in_degree(n);
    for (Edge e : g.out_edges(n)) sum += g.edge_label_text(e.index).size() + e.target;
    for (Edge e : g.in_edges(n)) sum += e.source;
  }
  if (g.num_edges() > 0 && g.edge_source(static_cast<EdgeIndex>(g.num_edges() - 1)) >= g.num_nodes())
    finding("walk", "edge source out of range");
  volatile std::size_t sink = sum;
  (void)sink;
}

void check_round_trip(const HeapGraph& g) {
  std::stringstream bin, text;
  write_dump(g, bin);
  write_jsonl(g, text);
  auto same_counts = [&g](const HeapGraph& h, const char* format) {
    if (h.num_nodes() != g.num_nodes() || h.num_edges() != g.num_edges())
      finding(format, "round trip changed the counts");
  };
  try {
    same_counts(read_dump(bin, "round-trip.rgd"), "rgd");
  } catch (const Error& e) {
    finding("the .rgd writer's output does not load", e.what());
  }
  try {
    same_counts(read_jsonl(text, "round-trip.jsonl"), "jsonl");
  } catch (const Error& e) {
    finding("the JSON Lines writer's output does not load", e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  try {
    HeapGraph g;
    if (data[0] == dd::kMagic[0]) {
      std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
      g = dd::read_dump_file(in, "fuzz.rgd", {}, size);
    } else if (data[0] == kSectionsMode) {
      const std::string file = assemble_sections(data + 1, size - 1);
      std::istringstream in(file);
      g = dd::read_dump_file(in, "fuzz.rgd", {}, file.size());
    } else {
      std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
      g = read_jsonl(in, "fuzz.jsonl");
    }
    walk(g);
    check_round_trip(g);
  } catch (const Error&) {
    // Bad input, rejected with a message: the expected outcome for most inputs.
  }
  return 0;
}
