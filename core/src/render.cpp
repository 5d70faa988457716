#include "refgraph/render.hpp"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <pthread.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <iterator>
#include <mutex>
#include <ostream>
#include <system_error>
#include <thread>
#include <vector>

#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"

namespace refgraph {

namespace {

// libgvc and cgraph keep global state (the DOT lexer, the error hook, the plugin list): every call goes
// through this one mutex.
std::mutex& gvc_mutex() {
  static std::mutex m;
  return m;
}

// Messages Graphviz reports while the mutex is held; collected instead of printed to stderr.
std::string& gv_messages() {
  static std::string messages;
  return messages;
}

int collect_gv_message(char* text) {
  std::string& m = gv_messages();
  if (m.size() < 4096) m += text;
  return 0;
}

// Created once and kept for the life of the process: creating a context loads the plugin configuration, which
// is slow, and freeing it while another thread might render is exactly what the mutex is there to prevent.
GVC_t* context() {
  static GVC_t* gvc = [] {
    GVC_t* c = gvContext();
    if (c == nullptr) throw RenderError("render: could not create a Graphviz context");
    return c;
  }();
  return gvc;
}

std::string clean_message(std::string m) {
  while (!m.empty() && std::isspace(static_cast<unsigned char>(m.back()))) m.pop_back();
  std::replace(m.begin(), m.end(), '\n', ' ');
  return m;
}

std::string failure(const char* what, const std::string& detail) {
  std::string msg = std::string("render: ") + what;
  std::string d = clean_message(detail);
  if (!d.empty()) msg += ": " + d;
  return msg;
}

// Closes the graph (and frees its layout) on every path out of render().
struct GraphGuard {
  GVC_t* gvc;
  Agraph_t* g;
  bool laid_out = false;
  ~GraphGuard() {
    if (laid_out) gvFreeLayout(gvc, g);
    agclose(g);
  }
};

// Formats render() has laid out in this process, start-up paid (guarded by gvc_mutex): a later warm-up skips.
std::array<bool, 4>& rendered_formats() {
  static std::array<bool, 4> done{};
  return done;
}

// Two nodes and a labelled edge with the shapes and fonts dot.cpp writes: rendering it loads everything a real
// drawing needs (layout and render plugins, cairo, pango, fontconfig's caches). Every object is named (the edge by
// its key): cgraph numbers anonymous objects from one process-wide counter, so an anonymous one here would change
// the "%N" names in the caller's first drawing whenever the warm-up ran first.
constexpr const char* kWarmUpDot =
    "digraph warmup { node [shape=box, style=filled, fillcolor=white, fontname=\"Helvetica\", fontsize=10]; "
    "edge [fontname=\"Helvetica\", fontsize=9]; a [label=\"list\\n88 B\"]; b [label=\"dict\"]; "
    "a -> b [key=\"warmup\", label=\"[0]\"]; }";

struct WarmUps {
  std::mutex m;
  std::array<bool, 4> started{};     // guarded by m
  std::vector<std::thread> threads;  // guarded by m

  void join_locked() {
    for (std::thread& t : threads) {
      if (t.joinable()) t.join();
    }
    threads.clear();
  }
  ~WarmUps() {
    std::lock_guard<std::mutex> lock(m);
    join_locked();
  }
};

WarmUps& warm_ups() {
  static WarmUps w;
  return w;
}

// fork() with no warm-up thread and no render in flight: the child would otherwise inherit gvc_mutex locked by
// a thread it does not have, and wait for it forever in its first render.
void before_fork() {
  warm_ups().m.lock();
  warm_ups().join_locked();
  gvc_mutex().lock();
}
void after_fork() {
  gvc_mutex().unlock();
  warm_ups().m.unlock();
}

// Before the first use of Graphviz. It also constructs the statics the warm-up threads use before warm_ups(),
// so that they are destroyed after it: its destructor joins those threads at exit.
void install_fork_guard() {
  static std::once_flag once;
  std::call_once(once, [] {
    gvc_mutex();
    gv_messages();
    rendered_formats();
    warm_ups();
    pthread_atfork(before_fork, after_fork, after_fork);
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const char* format_name(Format f) {
  switch (f) {
    case Format::Dot: return "dot";
    case Format::Png: return "png";
    case Format::Svg: return "svg";
    case Format::Pdf: return "pdf";
  }
  return "dot";
}

namespace {

// "dot, gv, png, svg or pdf" (with_dot: ".dot, .gv, ...").
std::string format_choices(bool with_dot) {
  std::string out;
  const std::size_t n = std::size(kFormatExtensions);
  for (std::size_t i = 0; i < n; ++i) {
    out += i == 0 ? "" : i + 1 == n ? " or " : ", ";
    out += kFormatExtensions[i].extension + (with_dot ? 0 : 1);
  }
  return out;
}

}  // namespace

Format parse_format(std::string_view name) {
  const std::string n = lower(name);
  for (const FormatExtension& f : kFormatExtensions) {
    if (n == f.extension + 1) return f.format;  // past the '.'
  }
  throw QueryError("unknown output format '" + std::string(name) + "' (expected " + format_choices(false) + ")");
}

Format format_from_path(const std::string& path) {
  auto slash = path.find_last_of('/');
  auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot + 1 == path.size()) {
    throw QueryError(path + ": no file extension to choose the output format by (expected " + format_choices(true) +
                     ")");
  }
  try {
    return parse_format(std::string_view(path).substr(dot + 1));
  } catch (const QueryError&) {
    throw QueryError(path + ": unknown output format '" + path.substr(dot + 1) + "' (expected " + format_choices(true) +
                     ")");
  }
}

std::string render(const std::string& dot, Format format) {
  install_fork_guard();
  std::lock_guard<std::mutex> lock(gvc_mutex());
  GVC_t* gvc = context();
  gv_messages().clear();
  agusererrf previous = agseterrf(collect_gv_message);
  struct RestoreHook {
    agusererrf previous;
    ~RestoreHook() { agseterrf(previous); }
  } restore{previous};
  agreseterrors();

  Agraph_t* g = agmemread(dot.c_str());
  if (g == nullptr) {
    std::string detail = gv_messages();
    if (detail.empty() && aglasterr() != nullptr) detail = aglasterr();
    throw RenderError(failure("invalid DOT", detail.empty() ? "could not parse the graph" : detail));
  }
  GraphGuard guard{gvc, g};
  if (format == Format::Dot) return dot;  // parsed, so it is valid DOT; returned as given
  rendered_formats()[static_cast<std::size_t>(format)] = true;

  if (gvLayout(gvc, g, "dot") != 0) throw RenderError(failure("layout failed", gv_messages()));
  guard.laid_out = true;

  char* data = nullptr;
  unsigned int length = 0;
  // PNG: drawn by cairo, written by gd (a palette image: a third the bytes, and about a quarter less time than
  // cairo's own writer, whose zlib and row filtering dominate a small graph's rendering); plain "png" where
  // this Graphviz has no gd plugin.
  if (format == Format::Png && gvRenderData(gvc, g, "png:cairo:gd", &data, &length) == 0 && data != nullptr &&
      length > 0) {
    std::string out(data, length);
    gvFreeRenderData(data);
    return out;
  }
  if (data != nullptr) gvFreeRenderData(data);
  data = nullptr;
  length = 0;
  gv_messages().clear();
  if (gvRenderData(gvc, g, format_name(format), &data, &length) != 0 || data == nullptr) {
    if (data != nullptr) gvFreeRenderData(data);
    throw RenderError(failure((std::string("rendering as ") + format_name(format) + " failed").c_str(), gv_messages()));
  }
  std::string out(data, length);
  gvFreeRenderData(data);
  if (out.empty()) {
    throw RenderError(
        failure((std::string("rendering as ") + format_name(format) + " produced nothing").c_str(), gv_messages()));
  }
  return out;
}

void prewarm(Format format) {
  if (format == Format::Dot) return;
  install_fork_guard();
  WarmUps& w = warm_ups();
  std::lock_guard<std::mutex> lock(w.m);
  auto slot = static_cast<std::size_t>(format);
  if (w.started[slot]) return;
  w.started[slot] = true;
  try {
    w.threads.emplace_back([format] {
      try {
        {
          std::lock_guard<std::mutex> done_lock(gvc_mutex());
          if (rendered_formats()[static_cast<std::size_t>(format)]) return;
        }
        render(kWarmUpDot, format);
      } catch (...) {
        // The caller's own render() reports whatever went wrong here.
      }
    });
  } catch (const std::system_error&) {
    // No thread to spare: the first render() pays the start-up, as without prewarm().
  }
}

void render_to_file(const std::string& dot, const std::string& path, std::optional<Format> format) {
  Format f = format ? *format : format_from_path(path);
  std::string bytes = render(dot, f);  // before the file is opened: a failed render touches nothing
  try {
    write_file_atomic(
        path, [&bytes](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
  } catch (const RenderError&) {
    throw;
  } catch (const Error& e) {
    throw RenderError(e.what());  // "could not write the output" is a render failure to callers
  }
}

}  // namespace refgraph
