#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../../core/src/dump_codec.hpp"
#include "dump_test_util.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"

using namespace refgraph;
using namespace refgraph::dump_detail;
using refgraph::test::check_same_graph;
using refgraph::test::TempDir;

namespace {

std::string to_bytes(const HeapGraph& g, const WriteOptions& opt = {}) {
  std::ostringstream out;
  write_dump(g, out, opt);
  return out.str();
}

HeapGraph from_bytes(const std::string& bytes, const ProgressFn& progress = {}) {
  std::istringstream in(bytes);
  return read_dump(in, "mem.rgd", progress);
}

std::string error_of(const std::string& bytes) {
  try {
    from_bytes(bytes);
  } catch (const DumpFormatError& e) {
    return e.what();
  }
  return "no error";
}

struct SectionAt {
  std::size_t offset;
  SectionHeader header;
};

// Walks the section headers of a well-formed dump.
std::vector<SectionAt> sections(const std::string& bytes) {
  std::vector<SectionAt> out;
  std::size_t at = kFileHeaderSize;
  while (at < bytes.size()) {
    SectionHeader h;
    REQUIRE(decode_header(reinterpret_cast<const unsigned char*>(bytes.data() + at), h));
    out.push_back({at, h});
    at += kSectionHeaderSize + h.packed_size;
  }
  REQUIRE(at == bytes.size());
  return out;
}

std::size_t count_kind(const std::vector<SectionAt>& s, std::uint32_t kind) {
  std::size_t n = 0;
  for (const auto& x : s) n += x.header.kind == kind;
  return n;
}

// Builders for hand-made files whose checksums are right but whose contents are not.
std::string u64s(std::initializer_list<std::uint64_t> vs) {
  std::string s;
  for (auto v : vs) {
    unsigned char b[8];
    put_u64(b, v);
    s.append(reinterpret_cast<char*>(b), 8);
  }
  return s;
}

std::string varints(std::initializer_list<std::uint64_t> vs) {
  std::string s;
  for (auto v : vs) {
    unsigned char b[10];
    unsigned char* e = put_varint(b, v);
    s.append(reinterpret_cast<char*>(b), static_cast<std::size_t>(e - b));
  }
  return s;
}

struct Crafted {
  std::string metadata = u64s({2, 2, 1}) + "{}";
  std::string strings = varints({1}) + "T";
  std::string nodes =
      varints({0x10, 0x10, 1, 1, 8, 8, 0, 0, 1, 0}) + std::string("\x01\x01", 2);  // ids, types,
                                                                                   // sizes, labels, out-degrees, flags
  std::string edges = varints({zigzag(1), 0}) + std::string("\0", 1);              // node 0 -> node 1
  std::uint32_t node_count = 2, edge_count = 1;
  std::uint64_t end_counts[4] = {2, 2, 1, 4};
  std::uint32_t end_header_count = 0;

  std::string bytes() const {
    std::ostringstream out;
    SectionWriter w(out, 1);
    w.file_header();
    w.section(kMetadataSection, 0, 0, metadata.data(), metadata.size());
    w.section(kStringsSection, 1, 1, strings.data(), strings.size());
    w.section(kNodesSection, 0, node_count, nodes.data(), nodes.size());
    w.section(kEdgesSection, 0, edge_count, edges.data(), edges.size());
    std::string end = u64s({end_counts[0], end_counts[1], end_counts[2], end_counts[3]});
    w.section(kEndSection, 0, end_header_count, end.data(), end.size());
    return out.str();
  }
};

}  // namespace

TEST_CASE("binary dump round trip keeps every field, label and flag") {
  HeapGraph g = test::full_graph();
  std::string bytes = to_bytes(g);
  CHECK(bytes.compare(0, 8, "\x89RGD\r\n\x1a\n") == 0);
  HeapGraph r = from_bytes(bytes);
  check_same_graph(g, r);
  // The string table keeps its ids exactly.
  REQUIRE(r.strings().size() == g.strings().size());
  for (StringId s = 0; s < g.strings().size(); ++s) CHECK(r.strings()[s] == g.strings()[s]);
  CHECK(r.types() == g.types());
  CHECK(r.edge_labels() == g.edge_labels());
  // Spot checks by meaning, not only by equality with the input.
  NodeIndex list = r.find(0x3000);
  CHECK(r.size(list) == (1ull << 40));
  CHECK(r.root_kind(list) == RootKind::ThreadFrame);
  CHECK(r.label_text(r.find(0xFFFFFFFFFFFFFFF0ull)) == "h\xC3\xA9llo \"q\"\n\\");
  std::vector<std::string> labels;
  for (Edge e : r.out_edges(list)) labels.push_back(r.edge_label_text(e.index));
  CHECK(labels == std::vector<std::string>{"[0]", "[1]", "[7]", "[2147483647]", "[3]"});
  CHECK(r.metadata().extra.at("argv") == "python app.py");
  CHECK(r.metadata().time == 1732200000.123456);
  CHECK(r.metadata().pid == -42);
}

TEST_CASE("binary dump of an empty graph") {
  HeapGraph g = HeapGraphBuilder().build();
  std::string bytes = to_bytes(g);
  auto s = sections(bytes);
  REQUIRE(s.size() == 2);
  CHECK(s[0].header.kind == kMetadataSection);
  CHECK(s[1].header.kind == kEndSection);
  HeapGraph r = from_bytes(bytes);
  CHECK(r.num_nodes() == 0);
  CHECK(r.num_edges() == 0);
  CHECK(r.strings().size() == 1);
}

TEST_CASE("binary dump in many small chunks") {
  HeapGraphBuilder b;
  // A list with 100 items, one of them out of sequence: its edges span several edge chunks.
  b.add_node(0x10, "list", 856);
  for (std::uint64_t i = 0; i < 100; ++i) {
    b.add_node(0x1000 + 0x20 * i, i % 2 ? "int" : "str", 28, 0);
    b.add_edge(0x10, 0x1000 + 0x20 * i, index_label(i == 50 ? 5000 : static_cast<std::uint32_t>(i)));
  }
  b.add_edge(0x1000, 0x10, b.text_label("back"), kEdgeWeak);
  HeapGraph list = std::move(b).build();
  HeapGraph rnd = test::random_graph(1000, 3);

  WriteOptions tiny;
  tiny.nodes_per_chunk = 7;
  tiny.edges_per_chunk = 11;
  tiny.strings_per_chunk = 5;
  tiny.string_bytes_per_chunk = 16;
  tiny.level = 1;
  for (const HeapGraph* g : {&list, &rnd}) {
    std::string bytes = to_bytes(*g, tiny);
    auto s = sections(bytes);
    CHECK(count_kind(s, kNodesSection) == (g->num_nodes() + 6) / 7);
    CHECK(count_kind(s, kEdgesSection) == (g->num_edges() + 10) / 11);
    CHECK(count_kind(s, kStringsSection) >= (g->strings().size() - 1 + 4) / 5);
    HeapGraph r = from_bytes(bytes);
    check_same_graph(*g, r);
    CHECK(r.edge_labels() == g->edge_labels());
    // The default chunking gives the same graph.
    check_same_graph(*g, from_bytes(to_bytes(*g)));
  }
}

TEST_CASE("binary dump through files, load_graph and progress") {
  TempDir dir;
  HeapGraph g = test::full_graph();
  const std::string path = dir.file("g.rgd");
  write_dump(g, path);
  CHECK(dir.entries() == 1);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
  HeapGraph r = read_dump(path, [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); });
  check_same_graph(g, r);
  const auto size = std::filesystem::file_size(path);
  REQUIRE(!calls.empty());
  CHECK(calls.back().first == size);
  CHECK(calls.back().second == size);
  for (std::size_t i = 1; i < calls.size(); ++i) CHECK(calls[i].first > calls[i - 1].first);
  check_same_graph(g, load_graph(path));
  // Overwriting an existing dump replaces it.
  write_dump(HeapGraphBuilder().build(), path);
  CHECK(load_graph(path).num_nodes() == 0);
  CHECK(dir.entries() == 1);
}

TEST_CASE("a wrong magic is rejected") {
  std::string bytes = to_bytes(test::full_graph());
  bytes[1] = 'X';
  CHECK(error_of(bytes) == "mem.rgd: at byte 0: not a refgraph dump (wrong magic)");
  CHECK(error_of("{\"id\": 1}\n") == "mem.rgd: at byte 0: not a refgraph dump (wrong magic)");
  CHECK(error_of("") == "mem.rgd: at byte 0: not a refgraph dump (wrong magic)");
}

TEST_CASE("an unknown version is rejected") {
  std::string bytes = to_bytes(test::full_graph());
  bytes[8] = 2;
  CHECK(error_of(bytes) ==
        "mem.rgd: file header at byte 8: unsupported format version 2 (this reader knows version 1)");
}

TEST_CASE("every truncation of a dump is rejected") {
  const std::string bytes = to_bytes(test::full_graph());
  auto s = sections(bytes);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    CHECK_THROWS_AS(from_bytes(bytes.substr(0, cut)), DumpFormatError);
  }
  // Each truncation also fails through a file, where the size is known up front.
  TempDir dir;
  for (std::size_t cut :
       {std::size_t(0), std::size_t(5), std::size_t(12), s[1].offset + 20, s[2].offset + 60, bytes.size() - 1}) {
    CAPTURE(cut);
    std::ofstream(dir.file("t.rgd"), std::ios::binary) << bytes.substr(0, cut);
    CHECK_THROWS_AS(read_dump(dir.file("t.rgd")), DumpFormatError);
  }
  CHECK(error_of(bytes.substr(0, 12)) == "mem.rgd: at byte 12: truncated (no end section)");
  CHECK(error_of(bytes.substr(0, 30)) == "mem.rgd: section header at byte 12: truncated");
  const std::size_t nodes_at = s[2].offset;
  REQUIRE(s[2].header.kind == kNodesSection);
  CHECK(error_of(bytes.substr(0, nodes_at + kSectionHeaderSize + 3)) ==
        "mem.rgd: nodes section at byte " + std::to_string(nodes_at) + ": truncated: the section needs " +
            std::to_string(s[2].header.packed_size) + " payload bytes, the file has 3 left");
}

TEST_CASE("a flipped byte anywhere is rejected, naming the section and its offset") {
  const std::string bytes = to_bytes(test::full_graph());
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (unsigned char bit : {0x01, 0x80}) {
      std::string bad = bytes;
      bad[at] = static_cast<char>(bad[at] ^ bit);
      CAPTURE(at);
      CHECK_THROWS_AS(from_bytes(bad), DumpFormatError);
    }
  }
  auto s = sections(bytes);
  REQUIRE(s.size() == 5);
  const char* names[] = {"metadata", "strings", "nodes", "edges", "end"};
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::string bad = bytes;
    const std::size_t payload_byte = s[i].offset + kSectionHeaderSize + s[i].header.packed_size / 2;
    bad[payload_byte] = static_cast<char>(bad[payload_byte] ^ 0x10);
    CHECK(error_of(bad) == "mem.rgd: " + std::string(names[i]) + " section at byte " + std::to_string(s[i].offset) +
                               ": checksum mismatch");
    bad = bytes;
    bad[s[i].offset + 17] ^= 0x01;  // the uncompressed size in the header
    CHECK(error_of(bad) == "mem.rgd: section header at byte " + std::to_string(s[i].offset) + ": checksum mismatch");
  }
}

TEST_CASE("a hand-made valid file reads; each broken variant names what is wrong") {
  Crafted ok;
  HeapGraph g = from_bytes(ok.bytes());
  REQUIRE(g.num_nodes() == 2);
  CHECK(g.id(1) == 0x20);
  CHECK(g.type_name(0) == "T");
  REQUIRE(g.num_edges() == 1);
  CHECK(g.edge_target(0) == 1);

  auto at = [&](const Crafted& c, std::uint32_t kind) {
    for (const auto& s : sections(c.bytes()))
      if (s.header.kind == kind) return std::to_string(s.offset);
    return std::string("?");
  };

  SUBCASE("an edge to a missing node") {
    Crafted c;
    c.edges = varints({zigzag(5), 0}) + std::string("\0", 1);
    CHECK(error_of(c.bytes()) ==
          "mem.rgd: edges section at byte " + at(c, kEdgesSection) + ": edge 0 points to a missing node (index 5)");
    c.edges = varints({zigzag(-1), 0}) + std::string("\0", 1);
    CHECK(error_of(c.bytes()) ==
          "mem.rgd: edges section at byte " + at(c, kEdgesSection) + ": edge 0 points to a missing node (index -1)");
  }
  SUBCASE("a varint running past the payload") {
    Crafted c;
    c.nodes = std::string(12, '\x80');
    CHECK(error_of(c.bytes()) ==
          "mem.rgd: nodes section at byte " + at(c, kNodesSection) + ": undecodable id of node 0");
  }
  SUBCASE("a payload that is not zstd") {
    std::ostringstream out;
    SectionWriter w(out, 1);
    w.file_header();
    w.packed_section(kMetadataSection, 0, 0, 26, "this is not a zstd frame");
    CHECK(error_of(out.str()).rfind("mem.rgd: metadata section at byte 12: undecodable payload (zstd: ", 0) == 0);
  }
  SUBCASE("a header asking for a terabyte") {
    std::ostringstream out;
    SectionWriter w(out, 1);
    w.file_header();
    w.packed_section(kMetadataSection, 0, 0, 1ull << 40, "x");
    CHECK(error_of(out.str()) ==
          "mem.rgd: metadata section at byte 12: section too large (1 bytes compressed, 1099511627776 bytes "
          "uncompressed)");
    std::ostringstream out2;
    SectionWriter w2(out2, 1);
    w2.file_header();
    w2.packed_section(kMetadataSection, 0, 0, 100 << 20, "tiny");
    CHECK(error_of(out2.str()) ==
          "mem.rgd: metadata section at byte 12: uncompressed size 104857600 is impossible for 4 compressed bytes");
  }
  SUBCASE("counts that do not add up") {
    Crafted c;
    c.metadata = u64s({2, 4000000000ull, 1}) + "{}";  // a huge node count must not be trusted for allocation
    CHECK(error_of(c.bytes()) == "mem.rgd: edges section at byte " + at(c, kEdgesSection) +
                                     ": the nodes sections hold 2 nodes, the metadata says 4000000000");
    Crafted d;
    d.end_counts[2] = 2;
    CHECK(error_of(d.bytes()).find("end section at byte") != std::string::npos);
    Crafted e;
    e.nodes = varints({0x10, 0x10, 1, 1, 8, 8, 0, 0, 1, 1}) + std::string("\x01\x01", 2);
    CHECK(error_of(e.bytes()) == "mem.rgd: nodes section at byte " + at(e, kNodesSection) +
                                     ": out-degrees exceed the edge count in the metadata (1)");
  }
  SUBCASE("ids out of order, bad strings, bad labels") {
    Crafted c;
    c.nodes = varints({0x10, 0, 1, 1, 8, 8, 0, 0, 1, 0}) + std::string("\x01\x01", 2);
    CHECK(error_of(c.bytes()) ==
          "mem.rgd: nodes section at byte " + at(c, kNodesSection) + ": node 1 is out of id order");
    c = Crafted();
    c.nodes = varints({0x10, 0x10, 1, 2, 8, 8, 0, 0, 1, 0}) + std::string("\x01\x01", 2);
    CHECK(error_of(c.bytes()) ==
          "mem.rgd: nodes section at byte " + at(c, kNodesSection) + ": node 1 has a bad type string");
    c = Crafted();
    c.edges = varints({zigzag(1), 2 * 7}) + std::string("\0", 1);
    CHECK(error_of(c.bytes()) ==
          "mem.rgd: edges section at byte " + at(c, kEdgesSection) + ": edge 0 has a bad label string");
    c = Crafted();
    c.edges = varints({zigzag(1), (zigzag(-1) << 1) | 1}) + std::string("\0", 1);
    CHECK(error_of(c.bytes()) ==
          "mem.rgd: edges section at byte " + at(c, kEdgesSection) + ": edge 0 has a bad index label");
    c = Crafted();
    c.strings = varints({1}) + "TT";
    CHECK(error_of(c.bytes()) == "mem.rgd: strings section at byte " + at(c, kStringsSection) +
                                     ": string lengths do not match the payload size");
  }
  SUBCASE("sections out of order, unknown and optional kinds, trailing bytes") {
    std::ostringstream out;
    SectionWriter w(out, 1);
    w.file_header();
    w.section(kNodesSection, 0, 0, "", 0);
    CHECK(error_of(out.str()) == "mem.rgd: nodes section at byte 12: out of order (after the unknown section)");

    std::string bytes = ok.bytes();
    std::ostringstream extra;
    SectionWriter x(extra, 1);
    x.section(77, 0, 0, "zz", 2);
    CHECK(error_of(bytes.substr(0, 12) + extra.str() + bytes.substr(12)) ==
          "mem.rgd: unknown section at byte 12: unknown section kind 77");

    std::ostringstream opt;
    SectionWriter y(opt, 1);
    y.section(kOptionalSectionBit | 9, 0, 0, "future", 6);
    Crafted c;
    c.end_counts[3] = 5;  // the optional section counts
    std::string with_optional = c.bytes();
    const std::size_t strings_at = sections(with_optional)[1].offset;
    with_optional.insert(strings_at, opt.str());
    CHECK(from_bytes(with_optional).num_nodes() == 2);

    CHECK(from_bytes(bytes + "junk").num_nodes() == 2);  // a stream reader stops at the end section...
    TempDir dir;
    std::ofstream(dir.file("j.rgd"), std::ios::binary) << bytes << "junk";
    try {
      read_dump(dir.file("j.rgd"));
      FAIL("no error");
    } catch (const DumpFormatError& e) {  // ...but a file must end there
      CHECK(std::string(e.what()) == dir.file("j.rgd") + ": at byte " + std::to_string(bytes.size()) +
                                         ": unexpected bytes after the end section");
    }
  }
}

TEST_CASE("write errors leave no file behind") {
  TempDir dir;
  HeapGraph g = test::full_graph();
  const std::string missing_dir = dir.file("no/such/dir/g.rgd");
  try {
    write_dump(g, missing_dir);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == missing_dir + ": cannot create a temporary file: No such file or directory");
  }
  CHECK(dir.entries() == 0);

  // A writer that fails midway leaves the old file as it was and no temporary file.
  const std::string path = dir.file("keep.rgd");
  write_dump(g, path);
  const auto before = std::filesystem::file_size(path);
  CHECK_THROWS_WITH_AS(write_file_atomic(path,
                                         [](std::ostream& out) {
                                           out << "half a file";
                                           throw RenderError("layout failed");
                                         }),
                       "layout failed", RenderError);
  CHECK(dir.entries() == 1);
  CHECK(std::filesystem::file_size(path) == before);
  check_same_graph(g, read_dump(path));

  // The destination is a directory: the rename fails, the temporary file is removed.
  std::filesystem::create_directory(dir.file("sub"));
  CHECK_THROWS_AS(write_dump(g, dir.file("sub")), Error);
  CHECK(dir.entries() == 2);
}

TEST_CASE("reading a missing or unreadable path names it") {
  TempDir dir;
  const std::string missing = dir.file("missing.rgd");
  CHECK_THROWS_WITH_AS(load_graph(missing), (missing + ": cannot open: No such file or directory").c_str(), Error);
  CHECK_THROWS_WITH_AS(read_dump(missing), (missing + ": cannot open: No such file or directory").c_str(), Error);
  CHECK_THROWS_WITH_AS(load_graph(dir.path().string()), (dir.path().string() + ": cannot open: is a directory").c_str(),
                       Error);
  std::ofstream(dir.file("empty.rgd")).close();
  CHECK_THROWS_AS(read_dump(dir.file("empty.rgd")), DumpFormatError);
  CHECK_THROWS_WITH_AS(load_graph(dir.file("empty.rgd")), (dir.file("empty.rgd") + ": at byte 0: empty file").c_str(),
                       DumpFormatError);
  // A dump cut inside its magic is still recognised as a (broken) dump, not parsed as JSON Lines.
  std::ofstream(dir.file("cut.rgd"), std::ios::binary) << "\x89RG";
  CHECK_THROWS_WITH_AS(load_graph(dir.file("cut.rgd")),
                       (dir.file("cut.rgd") + ": at byte 0: truncated file header").c_str(), DumpFormatError);
}

TEST_CASE("the CSR assembled from a dump is the one Boost's own constructor builds") {
  HeapGraph g = from_bytes(to_bytes(test::random_graph(500, 4, 7)));
  std::vector<std::pair<NodeIndex, NodeIndex>> pairs;
  for (NodeIndex s = 0; s < g.num_nodes(); ++s)
    for (Edge e : g.out_edges(s)) pairs.emplace_back(s, e.target);
  Csr boost_csr(boost::edges_are_unsorted_multi_pass, pairs.begin(), pairs.end(),
                static_cast<NodeIndex>(g.num_nodes()));
  CHECK(g.csr().m_forward.m_rowstart == boost_csr.m_forward.m_rowstart);
  CHECK(g.csr().m_forward.m_column == boost_csr.m_forward.m_column);
  CHECK(g.csr().m_backward.m_rowstart == boost_csr.m_backward.m_rowstart);
  CHECK(g.csr().m_backward.m_column == boost_csr.m_backward.m_column);
  CHECK(g.csr().m_backward.m_edge_properties == boost_csr.m_backward.m_edge_properties);
  CHECK(num_edges(g.csr()) == g.num_edges());
  CHECK(in_degree(g.find(g.id(3)), g.csr()) == g.in_degree(3));
}

namespace {

// A stream that cannot seek or tell its size, like a pipe.
class PipeBuf : public std::streambuf {
 public:
  explicit PipeBuf(std::string bytes) : bytes_(std::move(bytes)) {
    setg(bytes_.data(), bytes_.data(), bytes_.data() + bytes_.size());
  }

 private:
  std::string bytes_;
};

}  // namespace

TEST_CASE("a dump reads from a stream of unknown size") {
  HeapGraph g = test::random_graph(2000, 3, 3);
  const std::string bytes = to_bytes(g);
  {
    PipeBuf buf(bytes);
    std::istream in(&buf);
    REQUIRE(in.tellg() == std::istream::pos_type(-1));
    std::uint64_t last_total = 1;
    check_same_graph(g, read_dump(in, "pipe", [&](std::uint64_t, std::uint64_t total) { last_total = total; }));
    CHECK(last_total == 0);  // unknown
  }
  for (std::size_t cut : {std::size_t(11), std::size_t(100), bytes.size() / 2, bytes.size() - 1}) {
    PipeBuf buf(bytes.substr(0, cut));
    std::istream in(&buf);
    CAPTURE(cut);
    CHECK_THROWS_AS(read_dump(in, "pipe"), DumpFormatError);
  }
}

TEST_CASE("payloads mangled behind valid checksums never crash the reader") {
  // Checksums catch random corruption; this drives the decoders themselves with bad column bytes and counts.
  WriteOptions tiny;
  tiny.nodes_per_chunk = 5;
  tiny.edges_per_chunk = 7;
  tiny.strings_per_chunk = 3;
  tiny.level = 1;
  const std::string bytes = to_bytes(test::full_graph(), tiny);
  const auto secs = sections(bytes);
  std::vector<std::string> raws;
  for (const auto& s : secs)
    raws.push_back(unpack_payload(std::string_view(bytes).substr(s.offset + kSectionHeaderSize, s.header.packed_size),
                                  s.header.raw_size));
  std::mt19937 rng(12345);
  int rejected = 0, accepted = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    const std::size_t victim = rng() % secs.size();
    std::ostringstream out;
    SectionWriter w(out, 1);
    w.file_header();
    for (std::size_t i = 0; i < secs.size(); ++i) {
      SectionHeader h = secs[i].header;
      std::string raw = raws[i];
      if (i == victim) {
        switch (rng() % 4) {
          case 0:
          case 1:
            for (int k = 1 + rng() % 3; k > 0 && !raw.empty(); --k) raw[rng() % raw.size()] = static_cast<char>(rng());
            break;
          case 2:
            if (!raw.empty())
              raw.resize(rng() % raw.size());
            else
              raw = "\xff\xff";
            break;
          case 3:
            if (rng() % 2)
              h.count = rng() % 2 ? h.count + 1 + rng() % 3 : static_cast<std::uint32_t>(rng());
            else
              h.first += 1 + rng() % 3;
            break;
        }
      }
      w.section(h.kind, h.first, h.count, raw.data(), raw.size());
    }
    try {
      from_bytes(out.str());
      ++accepted;  // e.g. a changed size or label byte that still decodes
    } catch (const DumpFormatError&) {
      ++rejected;
    }
  }
  CHECK(rejected > 2000);
  CHECK(accepted + rejected == 3000);
}

TEST_CASE("load_graph reads from a pipe, either format") {
  TempDir dir;
  const std::string fifo = dir.file("pipe");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  HeapGraph g = test::full_graph();
  for (bool binary : {true, false}) {
    CAPTURE(binary);
    std::thread feeder([&] {
      std::ofstream out(fifo, std::ios::binary);
      if (binary)
        write_dump(g, out);
      else
        write_jsonl(g, out);
    });
    HeapGraph r = load_graph(fifo);
    feeder.join();
    check_same_graph(g, r);
  }
}

TEST_CASE("strings that are not UTF-8 are rejected at load, naming the string and the byte") {
  auto at = [](const Crafted& c) { return std::to_string(sections(c.bytes())[1].offset); };
  for (const std::string bad : {"\xff", "T\xC3", "\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "a\x80"}) {
    CAPTURE(bad);
    Crafted c;
    c.strings = varints({bad.size()}) + bad;
    const std::size_t first_bad = bad[0] == 'T' || bad[0] == 'a' ? 1 : 0;
    CHECK(error_of(c.bytes()) == "mem.rgd: strings section at byte " + at(c) +
                                     ": string 1 is not valid UTF-8 (at byte " + std::to_string(1 + first_bad) +
                                     " of the uncompressed payload)");
  }
  for (const std::string& good : {std::string("caf\xC3\xA9"), std::string("\xE2\x82\xAC"),
                                  std::string("\xF0\x9F\x90\x8D"), std::string("\xEF\xBF\xBD"), std::string(1, '\0')}) {
    Crafted c;
    c.strings = varints({good.size()}) + good;
    CHECK(from_bytes(c.bytes()).type_name(0) == good);
  }
}

TEST_CASE("the end section: its header's count and each total that disagrees are named") {
  auto end_at = [](const Crafted& c) { return std::to_string(sections(c.bytes()).back().offset); };
  Crafted c;
  c.end_header_count = 3;
  CHECK(error_of(c.bytes()) == "mem.rgd: end section at byte " + end_at(c) +
                                   ": the header's count and first index must be 0 (they are 3 and 0)");
  const std::pair<int, std::string> cases[] = {
      {0, "the end marker says 9 strings, the file has 2"},
      {1, "the end marker says 9 nodes, the file has 2"},
      {2, "the end marker says 9 edges, the metadata says 1"},
      {3, "the end marker says 9 sections before it, the file has 4"},
  };
  for (const auto& [field, message] : cases) {
    Crafted d;
    d.end_counts[field] = 9;
    CHECK(error_of(d.bytes()) == "mem.rgd: end section at byte " + end_at(d) + ": totals do not match: " + message);
  }
}

namespace {

// A stream buffer that hands out `bytes` and then fails as an allocation inside the stream would.
class OutOfMemoryAfter : public std::streambuf {
 public:
  explicit OutOfMemoryAfter(std::string bytes) : bytes_(std::move(bytes)) {
    setg(bytes_.data(), bytes_.data(), bytes_.data() + bytes_.size());
  }

 protected:
  int_type underflow() override { throw std::bad_alloc(); }

 private:
  std::string bytes_;
};

}  // namespace

TEST_CASE("out of memory inside the stream is std::bad_alloc, not a read error or a truncation") {
  const std::string bytes = to_bytes(test::full_graph());
  OutOfMemoryAfter buf(bytes.substr(0, bytes.size() / 2));
  std::istream in(&buf);
  CHECK_THROWS_AS(read_dump(in, "mem.rgd"), std::bad_alloc);
  CHECK(in.exceptions() == std::ios::goodbit);  // the caller's stream is left as it was configured

  OutOfMemoryAfter text("{\"id\": 1, \"type\": \"int\", \"size\": 28}\n{\"id\": 2, ");
  std::istream jin(&text);
  CHECK_THROWS_AS(read_jsonl(jin, "x.jsonl"), std::bad_alloc);
  CHECK(jin.exceptions() == std::ios::goodbit);
}
