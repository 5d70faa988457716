// Writes the fuzzer's seed corpus from sample dumps: `refgraph_fuzz_seeds OUT_DIR DUMP...`.
//
// For each dump, small induced subgraphs (the first k nodes and the edges among them) in all three of the fuzz
// target's input forms: a .rgd written with tiny chunks (so several chunks of each section occur), its section
// records, and JSON Lines. Small seeds keep the fuzzer fast; the subgraphs keep the real dumps' shapes.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../../core/src/dump_codec.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"

namespace {

using namespace refgraph;
namespace dd = refgraph::dump_detail;

HeapGraph first_nodes(const HeapGraph& g, std::size_t k) {
  k = std::min(k, g.num_nodes());
  HeapGraphBuilder b;
  for (NodeIndex n = 0; n < k; ++n)
    b.add_node(g.id(n), g.type_name(n), g.size(n), g.flags(n) & ~kRootKindMask, g.root_kind(n), g.label_text(n));
  for (NodeIndex n = 0; n < k; ++n) {
    for (Edge e : g.out_edges(n)) {
      if (e.target >= k) continue;
      const EdgeLabel l = g.edge_label(e.index);
      b.add_edge(g.id(n), g.id(e.target), is_index_label(l) ? l : b.text_label(g.strings()[l]), g.edge_flags(e.index));
    }
  }
  b.metadata() = g.metadata();
  return std::move(b).build();
}

// The fuzz target's section-records form of a .rgd (tests/fuzz/fuzz_dump.cpp).
std::string section_records(const std::string& rgd) {
  std::string out(1, '\0');
  std::size_t at = dd::kFileHeaderSize;
  while (at + dd::kSectionHeaderSize <= rgd.size()) {
    dd::SectionHeader h;
    if (!dd::decode_header(reinterpret_cast<const unsigned char*>(rgd.data() + at), h)) break;
    at += dd::kSectionHeaderSize;
    const std::string raw = dd::unpack_payload(std::string_view(rgd).substr(at, h.packed_size), h.raw_size);
    at += h.packed_size;
    unsigned char rec[20];
    dd::put_u32(rec, h.kind);
    dd::put_u32(rec + 4, h.count);
    dd::put_u64(rec + 8, h.first);
    dd::put_u32(rec + 16, static_cast<std::uint32_t>(raw.size()));
    out.append(reinterpret_cast<const char*>(rec), sizeof rec);
    out += raw;
  }
  return out;
}

void put(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
  if (!f) throw Error(path.string() + ": cannot write");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OUT_DIR DUMP...\n", argv[0]);
    return 2;
  }
  try {
    const std::filesystem::path dir(argv[1]);
    std::filesystem::create_directories(dir);
    for (int i = 2; i < argc; ++i) {
      const HeapGraph g = load_graph(argv[i]);
      const std::string stem = std::filesystem::path(argv[i]).filename().string();
      for (std::size_t k : {3, 12, 40}) {
        const HeapGraph h = first_nodes(g, k);
        dd::WriteOptions tiny;
        tiny.nodes_per_chunk = 4;
        tiny.edges_per_chunk = 8;
        tiny.strings_per_chunk = 8;
        std::ostringstream rgd, jsonl;
        dd::write_dump(h, rgd, tiny);
        write_jsonl(h, jsonl);
        const std::string base = stem + "-" + std::to_string(k);
        put(dir / (base + ".rgd"), rgd.str());
        put(dir / (base + ".sections"), section_records(rgd.str()));
        put(dir / (base + ".jsonl"), jsonl.str());
      }
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "refgraph_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
