// _core.render / render_to_file: DOT to dot, png, svg or pdf through libgvc, with the GIL released; _core.prewarm.
#include <optional>
#include <string>

#include <pybind11/stl.h>

#include "refgraph/neighbourhood.hpp"
#include "refgraph/render.hpp"
#include "register.hpp"

namespace pb = pybind11;
using namespace pybind11::literals;

namespace refgraph::py {

void register_render(pb::module_& m) {
  m.def(
      "render",
      [](const std::string& dot, const std::string& format) {
        Format f = parse_format(format);
        std::string out;
        {
          pb::gil_scoped_release nogil;
          out = render(dot, f);
        }
        return pb::bytes(out);
      },
      "dot"_a, "format"_a, "Lays out DOT text and returns the image bytes (format: dot, png, svg or pdf).");
  m.def(
      "render_to_file",
      [](const std::string& dot, const std::string& path, const std::optional<std::string>& format) {
        std::optional<Format> f;
        if (format) f = parse_format(*format);
        pb::gil_scoped_release nogil;
        render_to_file(dot, path, f);
      },
      "dot"_a, "path"_a, "format"_a = pb::none(),
      "Renders DOT text to a file, atomically; the format defaults to the file's extension.");
  m.def(
      "prewarm", [](const std::string& format) { prewarm(parse_format(format)); }, "format"_a,
      "Starts Graphviz's one-time start-up for the format on a helper thread and returns at once; a later "
      "render waits for it. Call before other work that precedes a first render.");
  // The most one drawing shows (neighbourhood.hpp); beyond them, a note counts what was left out.
  m.attr("MAX_DRAWN_OBJECTS") = kMaxDrawnObjects;
  m.attr("MAX_DRAWN_SUMMARIES") = kMaxDrawnSummaries;
  m.attr("MAX_DRAWN_EDGES") = kMaxDrawnEdges;
}

}  // namespace refgraph::py
