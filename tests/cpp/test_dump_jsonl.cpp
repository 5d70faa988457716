#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "../../core/src/dump_codec.hpp"
#include "dump_test_util.hpp"
#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"

using namespace refgraph;
using refgraph::test::check_same_graph;
using refgraph::test::TempDir;

namespace {

std::string to_jsonl(const HeapGraph& g) {
  std::ostringstream out;
  write_jsonl(g, out);
  return out.str();
}

HeapGraph from_jsonl(const std::string& text, const JsonlReadOptions& options = {}) {
  std::istringstream in(text);
  return read_jsonl(in, "x.jsonl", options);
}

const JsonlReadOptions kTreePath{.sax_fast_path = false};

std::string error_of(const std::string& text) {
  try {
    from_jsonl(text);
  } catch (const DumpFormatError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("JSON Lines export is one node a line, in id order, with a metadata header") {
  HeapGraphBuilder b;
  b.add_node(0x2000, "dict", 232);
  b.add_node(0x1000, "module", 72, kGcTracked, RootKind::Module, "app");
  b.add_node(0x3000, "str", 53, kLabelIsValue, RootKind::None, "say \"hi\"\n");
  b.add_edge(0x1000, 0x2000, b.text_label("__dict__"));
  b.add_edge(0x2000, 0x3000, index_label(3), kEdgeWeak | kEdgeDeferred);
  b.add_edge(0x2000, 0x1000);
  b.metadata().pid = 7;
  b.metadata().extra["k"] = "v";
  const std::string expected =
      R"({"refgraph":"jsonl","version":1,"metadata":{"pid":7,"host":"","python_version":"","time":0.0,"rss":0,"tag":"","values_included":false,"extra":{"k":"v"}}})"
      "\n"
      R"({"id":4096,"type":"module","size":72,"gc":true,"root":"module","label":"app","refs":[{"to":8192,"label":"__dict__"}]})"
      "\n"
      R"({"id":8192,"type":"dict","size":232,"gc":true,"refs":[{"to":12288,"index":3,"weak":true,"deferred":true},{"to":4096}]})"
      "\n"
      R"({"id":12288,"type":"str","size":53,"gc":false,"label":"say \"hi\"\n","label_is_value":true,"refs":[]})"
      "\n";
  CHECK(to_jsonl(std::move(b).build()) == expected);
}

TEST_CASE("JSON Lines round trip keeps every field, label and flag") {
  HeapGraph g = test::full_graph();
  HeapGraph r = from_jsonl(to_jsonl(g));
  check_same_graph(g, r);
  NodeIndex list = r.find(0x3000);
  std::vector<EdgeLabel> labels;
  for (Edge e : r.out_edges(list)) labels.push_back(r.edge_label(e.index));
  CHECK(labels == std::vector<EdgeLabel>{index_label(0), index_label(1), index_label(7), index_label(0x7FFFFFFF),
                                         index_label(3)});

  HeapGraph empty = HeapGraphBuilder().build();
  HeapGraph e2 = from_jsonl(to_jsonl(empty));
  CHECK(e2.num_nodes() == 0);

  HeapGraph rnd = test::random_graph(300, 3);
  check_same_graph(rnd, from_jsonl(to_jsonl(rnd)));

  TempDir dir;
  write_jsonl(g, dir.file("g.jsonl"));
  check_same_graph(g, read_jsonl(dir.file("g.jsonl")));
  check_same_graph(g, load_graph(dir.file("g.jsonl")));
  CHECK(dir.entries() == 1);
}

TEST_CASE("hand-written JSON Lines: defaults, bare ids, any order, no header") {
  HeapGraph g = from_jsonl(
      "{\"id\": 3, \"type\": \"list\", \"size\": 88, \"refs\": [1, {\"to\": 2, \"index\": 1}]}\n"
      "\n"
      "{\"id\": 1, \"type\": \"int\", \"size\": 28, \"gc\": false}\r\n"
      "{\"id\": 2, \"type\": \"Foo\", \"size\": 48, \"root\": \"thread frame\", \"label\": \"\", \"refs\": []}\n");
  REQUIRE(g.num_nodes() == 3);
  CHECK(g.id(0) == 1);
  CHECK_FALSE(g.gc_tracked(0));
  CHECK(g.gc_tracked(1));
  CHECK(g.root_kind(1) == RootKind::ThreadFrame);
  CHECK(g.label(1) == kNoString);
  NodeIndex list = g.find(3);
  REQUIRE(g.out_degree(list) == 2);
  std::vector<std::string> refs;
  for (Edge e : g.out_edges(list)) refs.push_back(std::to_string(g.id(e.target)) + g.edge_label_text(e.index));
  CHECK(refs == std::vector<std::string>{"1", "2[1]"});
  CHECK(g.metadata().pid == 0);
}

TEST_CASE("bad JSON Lines name the file and the line") {
  const std::string node1 = "{\"id\": 1, \"type\": \"int\", \"size\": 28}\n";
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\"\n") == "x.jsonl: line 2: not valid JSON");
  CHECK(error_of(node1 + "[1, 2]\n") == "x.jsonl: line 2: expected a JSON object");
  CHECK(error_of(node1 + "{\"type\": \"int\", \"size\": 1}\n") == "x.jsonl: line 2: a node needs 'id'");
  CHECK(error_of(node1 + "{\"id\": 2, \"size\": 1}\n") == "x.jsonl: line 2: a node needs 'type'");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\"}\n") == "x.jsonl: line 2: a node needs 'size'");
  CHECK(error_of("\n\n" + node1 + "\n\n\n{\"id\": 2, \"type\": \"int\", \"size\": -1}\n") ==
        "x.jsonl: line 7: 'size' must be a non-negative integer");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1.5}\n") ==
        "x.jsonl: line 2: 'size' must be a non-negative integer");
  CHECK(error_of(node1 + "{\"id\": \"0x10\", \"type\": \"int\", \"size\": 1}\n") ==
        "x.jsonl: line 2: 'id' must be a non-negative integer");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"id\": 3}\n") ==
        "x.jsonl: line 2: duplicate key 'id'");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"refs\": [{\"to\": 1, \"to\": 2}]}\n") ==
        "x.jsonl: line 2: duplicate key 'to'");
  CHECK(error_of("{\"refgraph\": \"jsonl\", \"version\": 1, \"metadata\": {\"pid\": 1, \"pid\": 2}}\n") ==
        "x.jsonl: line 1: duplicate key 'pid'");
  // nlohmann's parser stops at a NUL: what follows one would be ignored.
  CHECK(error_of("{\"refgraph\": \"jsonl\", \"version\": 1}" + std::string(1, '\0') + "junk\n" + node1) ==
        "x.jsonl: line 1: NUL byte at column 36");
  CHECK(error_of(node1 + std::string(1, '\0') + "\n") == "x.jsonl: line 2: NUL byte at column 1");
  CHECK(error_of("") == "x.jsonl: empty file (no header line and no objects)");
  CHECK(error_of("\n  \r\n\n") == "x.jsonl: empty file (no header line and no objects)");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"root\": \"planet\"}\n") ==
        "x.jsonl: line 2: unknown root kind 'planet' (expected module, thread frame, external, other or none)");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"sise\": 1}\n") == "x.jsonl: line 2: unknown key 'sise'");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"gc\": 1}\n") ==
        "x.jsonl: line 2: 'gc' must be true or false");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"refs\": {}}\n") ==
        "x.jsonl: line 2: 'refs' must be a list");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"refs\": [\"a\"]}\n") ==
        "x.jsonl: line 2: a ref must be an id or an object");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"refs\": [{\"label\": \"a\"}]}\n") ==
        "x.jsonl: line 2: a ref needs 'to'");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"refs\": [{\"to\": 1, \"label\": \"a\", "
                         "\"index\": 2}]}\n") == "x.jsonl: line 2: a ref has either 'label' or 'index', not both");
  CHECK(error_of(node1 +
                 "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"refs\": [{\"to\": 1, \"index\": 2147483648}]}\n") ==
        "x.jsonl: line 2: 'index' must be below 2147483648");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"refs\": [{\"to\": 1, \"colour\": 1}]}\n") ==
        "x.jsonl: line 2: unknown key 'colour' in a ref");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1, \"refs\": [1, 99]}\n") ==
        "x.jsonl: line 2: ref to 99, which is not a node");
  CHECK(error_of(node1 + "{\"id\": 2, \"type\": \"int\", \"size\": 1}\n" + node1) ==
        "x.jsonl: line 3: duplicate node id 1 (first on line 1)");
}

TEST_CASE("bad JSON Lines header lines") {
  const std::string node1 = "{\"id\": 1, \"type\": \"int\", \"size\": 28}\n";
  CHECK(error_of(node1 + "{\"refgraph\": \"jsonl\", \"version\": 1}\n") ==
        "x.jsonl: line 2: the header line (with \"refgraph\") may only be the first line");
  CHECK(error_of("{\"refgraph\": \"jsonl\", \"version\": 2}\n" + node1) ==
        "x.jsonl: line 1: unsupported version 2 (this reader knows version 1)");
  CHECK(error_of("{\"refgraph\": \"csv\", \"version\": 1}\n") == "x.jsonl: line 1: 'refgraph' must be \"jsonl\"");
  CHECK(error_of("{\"refgraph\": \"jsonl\"}\n") == "x.jsonl: line 1: 'version' must be an integer");
  CHECK(error_of("{\"refgraph\": \"jsonl\", \"version\": 1, \"metadata\": {\"pid\": \"x\"}}\n") ==
        "x.jsonl: line 1: metadata: 'pid' must be an integer");
  CHECK(error_of("{\"refgraph\": \"jsonl\", \"version\": 1, \"metadata\": {\"extra\": {\"a\": 1}}}\n") ==
        "x.jsonl: line 1: metadata: 'extra.a' must be a string");
  // Unknown metadata keys are ignored (newer writers may add some); known ones are read.
  HeapGraph g =
      from_jsonl("{\"refgraph\": \"jsonl\", \"version\": 1, \"metadata\": {\"pid\": 5, \"future\": [1]}}\n" + node1);
  CHECK(g.metadata().pid == 5);
  CHECK(g.num_nodes() == 1);
}

TEST_CASE("load_graph reads a JSON Lines file that is not a dump, and reports its errors by line") {
  TempDir dir;
  const std::string path = dir.file("bad.jsonl");
  std::ofstream(path) << "{\"id\": 1, \"type\": \"int\", \"size\": 28, \"refs\": [2]}\n";
  CHECK_THROWS_WITH_AS(load_graph(path), (path + ": line 1: ref to 2, which is not a node").c_str(), DumpFormatError);
  CHECK_THROWS_WITH_AS(read_jsonl(dir.file("nope.jsonl")),
                       (dir.file("nope.jsonl") + ": cannot open: No such file or directory").c_str(), Error);
}

TEST_CASE("the JSON Lines example in docs/dump-format.md is exactly what the writer emits") {
  std::ifstream doc(std::string(REFGRAPH_SOURCE_DIR) + "/docs/dump-format.md");
  REQUIRE(doc);
  std::stringstream text;
  text << doc.rdbuf();
  const std::string s = text.str();
  const auto intro = s.find("The writer emits");
  REQUIRE(intro != std::string::npos);
  const auto open = s.find("```\n", intro);
  const auto close = s.find("```\n", open + 4);
  REQUIRE(close != std::string::npos);
  const std::string example = s.substr(open + 4, close - open - 4);
  HeapGraph g = from_jsonl(example);
  CHECK(g.num_nodes() == 4);
  CHECK(g.num_edges() == 5);
  CHECK(to_jsonl(g) == example);
}

TEST_CASE("the JSON Lines fast path reads exactly what the tree path reads") {
  HeapGraph rnd = test::random_graph(400, 3, 11);
  std::string text = to_jsonl(test::full_graph()) + to_jsonl(rnd).substr(to_jsonl(rnd).find('\n') + 1) +
                     "{\"id\": 1, \"type\": \"T\", \"size\": 0, \"root\": null, \"gc\": false, \"label\": \"\", "
                     "\"label_is_value\": false, \"refs\": [1, {\"to\": 1, \"label\": \"\", \"weak\": false}, "
                     "{\"to\": 2, \"index\": 0, \"deferred\": true}]}\n"
                     "{\"refs\": [], \"size\": 5, \"type\": \"U\", \"id\": 2, \"root\": \"none\"}\n"
                     "{\"id\": 3, \"type\": \"V\", \"size\": 5, \"root\": \"frame\", \"refs\": [{\"to\": 2}]}\n"
                     "{\"id\": 4, \"type\": \"\", \"size\": 5}\n";  // an alias and an empty type name: the tree path's
  HeapGraph fast = from_jsonl(text);
  HeapGraph tree = from_jsonl(text, kTreePath);
  check_same_graph(fast, tree);
  CHECK(fast.strings().size() == tree.strings().size());
  CHECK(fast.root_kind(fast.find(3)) == RootKind::ThreadFrame);
  REQUIRE(fast.out_degree(fast.find(3)) == 1);
  CHECK(fast.id((*fast.out_edges(fast.find(3)).begin()).target) == 2);
  CHECK(fast.type_name(fast.find(4)).empty());  // type('', (), {}) is a class: its objects can be exported
}

TEST_CASE("mangled JSON Lines: the fast path and the tree path agree on every result and every error") {
  const std::string good = to_jsonl(test::full_graph());
  std::mt19937 rng(777);
  const std::string alphabet = "{}[]\":,0123456789-.etrufalsn \\x";
  auto outcome = [&](const std::string& text, const JsonlReadOptions& options) -> std::string {
    try {
      HeapGraph g = from_jsonl(text, options);
      std::ostringstream out;
      write_jsonl(g, out);
      return out.str();
    } catch (const DumpFormatError& e) {
      return std::string("error: ") + e.what();
    }
  };
  int errors = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::string text = good;
    for (int k = 1 + rng() % 3; k > 0; --k) {
      const std::size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + rng() % 4); break;
        case 2: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      }
    }
    const std::string fast = outcome(text, {});
    const std::string tree = outcome(text, kTreePath);
    CAPTURE(text);
    CHECK(fast == tree);
    errors += fast.rfind("error: ", 0) == 0;
  }
  CHECK(errors > 1000);
}
