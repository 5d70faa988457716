#include "common.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <unordered_map>

#include "refgraph/dump.hpp"
#include "refgraph/errors.hpp"
#include "refgraph/type_stats.hpp"

namespace refgraph::cli {

Globals& globals() {
  static Globals g;
  return g;
}

Timer& Timer::instance() {
  static Timer t;
  return t;
}

void Timer::stop_query() {
  if (!query_started_) return;
  query_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - query_start_).count();
  query_started_ = false;
}

void Timer::report() const {
  if (!globals().timing) return;
  std::fprintf(stderr, "timing: load %.3f s, query %.3f s\n", load_, query_);
}

namespace {

constexpr double kProgressAfterSeconds = 0.25;  // a load that ends sooner needs no progress line

// "\rloading big.rgd: 42% of 27 MiB" on stderr, rewritten in place; only when stderr is a terminal.
class ProgressLine {
 public:
  explicit ProgressLine(std::string path)
      : path_(std::move(path)), enabled_(::isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}
  ~ProgressLine() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
  }
  void operator()(std::uint64_t done, std::uint64_t total) {
    if (!enabled_ || total == 0) return;
    if (!shown_ &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count() < kProgressAfterSeconds) {
      return;
    }
    int percent = static_cast<int>(100.0 * static_cast<double>(std::min(done, total)) / static_cast<double>(total));
    if (percent == last_percent_) return;
    last_percent_ = percent;
    shown_ = true;
    std::fprintf(stderr, "\rloading %s: %d%% of %s", printable(path_).c_str(), percent, human_size(total).c_str());
    std::fflush(stderr);
  }

 private:
  std::string path_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  bool shown_ = false;
  int last_percent_ = -1;
};

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;  // count code points, not bytes
  return n;
}

}  // namespace

HeapGraph load(const std::string& path) {
  auto t0 = std::chrono::steady_clock::now();
  HeapGraph g;
  {
    ProgressLine progress(path);
    g = load_graph(path, [&progress](std::uint64_t done, std::uint64_t total) { progress(done, total); });
  }
  Timer::instance().add_load(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return g;
}

std::uint64_t parse_id(const std::string& text) {
  std::string t = text;
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    t = t.substr(2);
    base = 16;
  }
  bool ok = !t.empty() && t.size() <= (base == 16 ? 16u : 20u);
  for (char c : t)
    ok = ok && (base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                           : std::isdigit(static_cast<unsigned char>(c)) != 0);
  if (ok) {
    errno = 0;
    unsigned long long v = std::strtoull(t.c_str(), nullptr, base);
    if (errno == 0) return v;
  }
  throw QueryError("bad object id '" + printable(text) + "' (expected a decimal number or 0x-hex, e.g. 0x7f3a2c10)");
}

std::string hex(std::uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(id));
  return buf;
}

NodeIndex node_by_id(const HeapGraph& g, const std::string& dump, const std::string& id_text) {
  std::uint64_t id = parse_id(id_text);
  NodeIndex n = g.find(id);
  if (n == kNoNode) throw QueryError(dump + ": no object with id " + hex(id));
  return n;
}

std::vector<std::string> similar_types(const HeapGraph& g, const std::string& wanted) {
  std::vector<bool> seen(g.strings().size(), false);
  std::vector<std::pair<std::size_t, std::string>> scored;
  std::string w = lower(wanted);
  for (StringId t : g.types()) {
    if (seen[t]) continue;
    seen[t] = true;
    std::string name(g.strings()[t]);
    std::string l = lower(name);
    std::size_t d = edit_distance(w, l);
    bool substring = !w.empty() && (l.find(w) != std::string::npos || w.find(l) != std::string::npos);
    std::size_t limit = std::max<std::size_t>(2, w.size() / 3);
    if (d <= limit || substring) scored.emplace_back(substring ? std::min(d, limit) : d, name);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && i < 5; ++i) out.push_back(scored[i].second);
  return out;
}

std::vector<NodeIndex> nodes_of_type(const HeapGraph& g, const std::string& dump, const std::string& type) {
  std::vector<NodeIndex> out = nodes_matching_type(g, type);
  if (out.empty()) {
    std::string msg = dump + ": no objects of type '" + printable(type) + "'";
    std::vector<std::string> similar = similar_types(g, type);
    if (!similar.empty()) {
      msg += "; similar types:";
      for (std::size_t i = 0; i < similar.size(); ++i) msg += (i ? ", " : " ") + printable(similar[i]);
    }
    throw QueryError(msg);
  }
  return out;
}

std::string with_sign(std::int64_t n) { return n > 0 ? "+" + std::to_string(n) : std::to_string(n); }

std::string iso_time(double unix_seconds) {
  if (unix_seconds <= 0) return "";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else {
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    // Keep a well-formed multi-byte sequence, escape anything else byte by byte.
    std::size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = n != 0 && i + n <= text.size();
    for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(text.substr(i, n));
      i += n - 1;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

Table::Table(std::vector<std::string> header, std::vector<bool> right) : right_(std::move(right)) {
  rows_.push_back(std::move(header));
}

void Table::add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

std::string Table::str(const std::string& indent) const {
  std::vector<std::size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], display_width(row[i]));
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line = indent;
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::string pad(width[i] - display_width(row[i]), ' ');
      bool right = i < right_.size() && right_[i];
      if (i > 0) line += "  ";
      line += right ? pad + row[i] : row[i] + (i + 1 < row.size() ? pad : "");
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

void print_json(const Json& j) {
  std::string text = j.dump(2, ' ', false, Json::error_handler_t::replace);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
}

Json node_json(const HeapGraph& g, NodeIndex n) {
  Json j;
  j["id"] = g.id(n);
  j["type"] = std::string(g.type_name(n));
  j["label"] = std::string(g.label_text(n));
  j["size"] = g.size(n);
  j["root"] = g.is_root(n) ? Json(root_kind_name(g.root_kind(n))) : Json(nullptr);
  return j;
}

std::string describe_dump(const HeapGraph& g, const std::string& path) {
  const Metadata& m = g.metadata();
  std::string about;
  if (m.pid != 0) about = "pid " + std::to_string(m.pid);
  if (!m.tag.empty()) about += (about.empty() ? "tag '" : ", tag '") + printable(m.tag) + "'";
  return about.empty() ? path : path + " (" + about + ")";
}

}  // namespace refgraph::cli
