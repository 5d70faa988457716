// refgraph/render.hpp: DOT to PNG, SVG or PDF in-process through Graphviz's libgvc (never a `dot` subprocess).
//
//   std::string png = render(dot, Format::Png);
//   render_to_file(dot, "chain.png");     // format from the extension; atomic (temp file + rename)
#pragma once

#include <optional>
#include <string>

namespace refgraph {

enum class Format { Dot, Png, Svg, Pdf };

// The output formats by file extension: the one table the CLI and the Python package choose by.
struct FormatExtension {
  const char* extension;  // ".dot"
  Format format;
};
inline constexpr FormatExtension kFormatExtensions[] = {
    {".dot", Format::Dot}, {".gv", Format::Dot}, {".png", Format::Png}, {".svg", Format::Svg}, {".pdf", Format::Pdf}};

const char* format_name(Format f);                 // "dot", "png", "svg", "pdf"
Format parse_format(std::string_view name);        // throws QueryError on an unknown name
Format format_from_path(const std::string& path);  // by extension; throws QueryError on an unknown one

// Lays out with the "dot" engine and renders. Throws RenderError with Graphviz's message on failure.
// Thread-safe (libgvc is not: calls are serialised) and fork-safe.
std::string render(const std::string& dot, Format format);
void render_to_file(const std::string& dot, const std::string& path, std::optional<Format> format = std::nullopt);

// Starts Graphviz's one-time start-up for `format` (context, plugins, fonts: tens of milliseconds before a first
// PNG) on a helper thread, once per format and process, and returns at once. A caller with other work before its
// first render (a heap scan, a dump load) calls it first; render() waits for a warm-up still running. Dot needs
// none. fork() waits for a warm-up or a render in flight, so a child can always render.
void prewarm(Format format);

}  // namespace refgraph
