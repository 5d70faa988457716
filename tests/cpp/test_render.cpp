#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "refgraph/dot.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/render.hpp"

using namespace refgraph;
namespace fs = std::filesystem;

namespace {

const std::string kDot =
    "digraph refgraph {\n"
    "  node [shape=box, style=filled, fillcolor=white];\n"
    "  o1000 [label=\"module\\napp\\n72 B\", shape=tab];\n"
    "  o2000 [label=\"caf\xC3\xA9 \\\"q\\\"\"];\n"
    "  o1000 -> o2000 [label=\"__dict__\"];\n"
    "}\n";

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("refgraph_render_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("format names and extensions") {
  CHECK(parse_format("png") == Format::Png);
  CHECK(parse_format("SVG") == Format::Svg);
  CHECK(parse_format("pdf") == Format::Pdf);
  CHECK(parse_format("dot") == Format::Dot);
  CHECK(std::string(format_name(Format::Svg)) == "svg");
  CHECK_THROWS_AS(parse_format("gif"), QueryError);
  CHECK(format_from_path("out/chain.PNG") == Format::Png);
  CHECK(format_from_path("a.b/graph.dot") == Format::Dot);
  CHECK_THROWS_AS(format_from_path("graph"), QueryError);
  CHECK_THROWS_AS(format_from_path("dir.d/graph"), QueryError);
  CHECK_THROWS_AS(format_from_path("graph.jpg"), QueryError);
  CHECK(format_from_path("graph.gv") == Format::Dot);
  CHECK_THROWS_WITH(format_from_path("graph.jpg"),
                    "graph.jpg: unknown output format 'jpg' (expected .dot, .gv, .png, .svg or .pdf)");
  CHECK_THROWS_WITH(parse_format("gif"), "unknown output format 'gif' (expected dot, gv, png, svg or pdf)");
}

TEST_CASE("render produces PNG, SVG and PDF in-process") {
  std::string png = render(kDot, Format::Png);
  REQUIRE(png.size() > 8);
  CHECK(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));

  std::string svg = render(kDot, Format::Svg);
  CHECK((svg.rfind("<?xml", 0) == 0 || svg.find("<svg") != std::string::npos));
  CHECK(svg.find("__dict__") != std::string::npos);
  CHECK(svg.find("caf\xC3\xA9 &quot;q&quot;") != std::string::npos);

  std::string pdf = render(kDot, Format::Pdf);
  CHECK(pdf.rfind("%PDF", 0) == 0);

  CHECK(render(kDot, Format::Dot) == kDot);
}

TEST_CASE("bad DOT throws RenderError with Graphviz's message, and rendering still works after it") {
  try {
    render("digraph { a -> ; }", Format::Png);
    FAIL("expected RenderError");
  } catch (const RenderError& e) {
    std::string what = e.what();
    CHECK(what.find("invalid DOT") != std::string::npos);
    CHECK(what.find("syntax error") != std::string::npos);
  }
  CHECK_THROWS_AS(render("not a graph at all", Format::Svg), RenderError);
  CHECK_THROWS_AS(render("", Format::Dot), RenderError);
  CHECK(render(kDot, Format::Svg).find("<svg") != std::string::npos);
}

TEST_CASE("render_to_file writes atomically and a failed render leaves no file") {
  fs::path d = temp_dir();
  fs::path ok = d / "chain.svg";
  render_to_file(kDot, ok.string());
  CHECK(read_all(ok).find("<svg") != std::string::npos);

  fs::path png = d / "graph.out";
  render_to_file(kDot, png.string(), Format::Png);
  CHECK(read_all(png).substr(0, 4) == "\x89PNG");

  fs::path bad = d / "bad.png";
  CHECK_THROWS_AS(render_to_file("digraph {", bad.string()), RenderError);
  CHECK_FALSE(fs::exists(bad));
  CHECK_THROWS_AS(render_to_file(kDot, (d / "x.gif").string()), QueryError);
  CHECK_FALSE(fs::exists(d / "x.gif"));
  CHECK_THROWS_AS(render_to_file(kDot, (d / "no_such_dir" / "x.png").string()), Error);

  // An existing file survives a failed render untouched.
  std::string before = read_all(ok);
  CHECK_THROWS_AS(render_to_file("digraph { -> }", ok.string()), RenderError);
  CHECK(read_all(ok) == before);

  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(d)) ++files;
  CHECK(files == 2);  // chain.svg and graph.out: no temporary left behind
  fs::remove_all(d);
}

TEST_CASE("render is safe to call from several threads") {
  std::vector<std::string> out(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < out.size(); ++i) {
    threads.emplace_back([&out, i] { out[i] = render(kDot, i % 2 ? Format::Svg : Format::Png); });
  }
  for (auto& t : threads) t.join();
  CHECK(out[0].substr(0, 4) == "\x89PNG");
  CHECK(out[1].find("<svg") != std::string::npos);
  CHECK(out[2].substr(0, 4) == "\x89PNG");
}

TEST_CASE("escaped text survives the round trip through Graphviz") {
  std::string label = std::string("a & b <c> \"q\" \\ ") + "caf\xC3\xA9 bad\xFF";
  std::string dot = "digraph { n [label=\"" + dot_escape(label) + "\"]; }";
  std::string svg = render(dot, Format::Svg);
  CHECK(svg.find("a &amp; b &lt;c&gt; &quot;q&quot; \\ caf\xC3\xA9 bad\xEF\xBF\xBD") != std::string::npos);
  CHECK(svg.find("&amp;amp;") == std::string::npos);
}

TEST_CASE("prewarm returns at once, from any thread, and renders after it are unchanged") {
  std::string before = render(kDot, Format::Svg);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([i] {
      prewarm(static_cast<Format>(i));  // Dot is a no-op; each image format starts its warm-up once
      prewarm(Format::Pdf);
    });
  }
  for (auto& t : threads) t.join();
  CHECK(render(kDot, Format::Svg) == before);
  CHECK(render(kDot, Format::Pdf).substr(0, 4) == "%PDF");
  CHECK(render(kDot, Format::Png).substr(0, 4) == "\x89PNG");
}
