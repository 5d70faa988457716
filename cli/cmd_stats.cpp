// `refgraph info`, `summary`, `growth`: counting by type (and `summary --retained`: what each type keeps alive).
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <unordered_map>

#include "common.hpp"
#include "progress.hpp"
#include "refgraph/dominators.hpp"
#include "refgraph/growth.hpp"
#include "refgraph/report.hpp"
#include "refgraph/type_stats.hpp"

namespace refgraph::cli {

namespace {

std::uint64_t file_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// ---- info ----

struct InfoArgs {
  std::string dump;
  bool json = false;
};

void run_info(const InfoArgs& a) {
  HeapGraph g = load(a.dump);
  Timer::instance().start_query();
  std::uint64_t roots[5] = {0, 0, 0, 0, 0};
  std::uint64_t total_size = 0, gc_tracked = 0, weak = 0, deferred = 0;
  std::vector<bool> type_seen(g.strings().size(), false);
  std::uint64_t num_types = 0;
  for (NodeIndex n = 0; n < g.num_nodes(); ++n) {
    ++roots[static_cast<int>(g.root_kind(n)) % 5];
    total_size += g.size(n);
    gc_tracked += g.gc_tracked(n);
    if (!type_seen[g.type(n)]) {
      type_seen[g.type(n)] = true;
      ++num_types;
    }
  }
  for (std::uint8_t f : g.edge_flag_array()) {
    weak += (f & kEdgeWeak) != 0;
    deferred += (f & kEdgeDeferred) != 0;
  }
  const Metadata& m = g.metadata();
  std::uint64_t bytes = file_bytes(a.dump);
  Timer::instance().stop_query();

  if (a.json) {
    Json j;
    j["schema"] = "refgraph.info/1";
    j["file"] = a.dump;
    j["file_size"] = bytes;
    j["num_nodes"] = g.num_nodes();
    j["num_edges"] = g.num_edges();
    j["num_types"] = num_types;
    j["total_size"] = total_size;
    j["gc_tracked"] = gc_tracked;
    j["weak_edges"] = weak;
    j["deferred_edges"] = deferred;
    Json r;
    for (RootKind k : {RootKind::Module, RootKind::ThreadFrame, RootKind::External, RootKind::Other}) {
      r[root_kind_name(k)] = roots[static_cast<int>(k)];
    }
    j["roots"] = r;
    j["metadata"] = Json::parse(metadata_json(m));
    print_json(j);
    return;
  }
  std::string out;
  auto line = [&out](const std::string& key, const std::string& value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%-16s", (key + ":").c_str());
    out += buf + value + "\n";
  };
  line("file", printable(a.dump) + " (" + human_size(bytes) + ")");
  line("objects", std::to_string(g.num_nodes()) + " (" + std::to_string(gc_tracked) + " gc-tracked), " +
                      std::to_string(num_types) + " types, " + human_size(total_size) + " shallow");
  line("references", std::to_string(g.num_edges()) + " (" + std::to_string(weak) + " weak, " +
                         std::to_string(deferred) + " deferred)");
  line("roots", std::to_string(roots[1]) + " module, " + std::to_string(roots[2]) + " thread frame, " +
                    std::to_string(roots[3]) + " held from C, " + std::to_string(roots[4]) + " other");
  if (m.pid != 0) line("pid", std::to_string(m.pid));
  if (!m.host.empty()) line("host", printable(m.host));
  if (!m.python_version.empty()) line("python", printable(m.python_version));
  if (m.time > 0) line("captured", iso_time(m.time));
  if (m.rss != 0) line("rss", human_size(m.rss) + " (" + std::to_string(m.rss) + " bytes)");
  if (!m.tag.empty()) line("tag", printable(m.tag));
  line("values", m.values_included ? "included (string values appear as labels)" : "not included");
  for (const auto& [k, v] : m.extra) line(printable(k), printable(v));
  std::fputs(out.c_str(), stdout);
}

// ---- summary ----

struct SummaryArgs {
  std::vector<std::string> dumps;
  std::size_t top = 20;
  std::string sort;  // "": count, or retained with --retained
  bool gc_only = false;
  bool retained = false;
  bool json = false;
};

// Per type name, what all its instances keep alive together (retained_by_type); absent when not asked for.
using RetainedByName = std::map<std::string, std::uint64_t, std::less<>>;

Json stats_json(const std::vector<TypeStat>& stats, const RetainedByName* retained) {
  Json types = Json::array();
  for (const TypeStat& s : stats) {
    Json t;
    t["type"] = s.type;
    t["count"] = s.count;
    t["size"] = s.size;
    if (retained) t["retained_size"] = retained->count(s.type) ? retained->find(s.type)->second : 0;
    types.push_back(std::move(t));
  }
  return types;
}

std::string stats_table(const std::vector<TypeStat>& stats, const RetainedByName* retained) {
  if (retained) {
    Table t({"type", "count", "size", "retained"}, {false, true, true, true});
    for (const TypeStat& s : stats) {
      auto it = retained->find(s.type);
      t.add({printable(s.type), std::to_string(s.count), human_size(s.size),
             human_size(it == retained->end() ? 0 : it->second)});
    }
    return t.str();
  }
  Table t({"type", "count", "size"}, {false, true, true});
  for (const TypeStat& s : stats) t.add({printable(s.type), std::to_string(s.count), human_size(s.size)});
  return t.str();
}

RetainedByName retained_by_name(const HeapGraph& g) {
  StepProgress progress("summary");
  const DominatorTree t = dominator_tree(g, progress.callback());
  progress.step("retained size per type");
  const TypeRetained r = retained_by_type(g, t);
  RetainedByName out;
  for (StringId t = 0; t < r.bytes.size(); ++t) {
    if (r.top_instances[t]) out[std::string(g.strings()[t])] += r.bytes[t];
  }
  return out;
}

// Biggest retained first; ties as type_stats orders them (size, then count, then name).
void sort_by_retained(std::vector<TypeStat>& stats, const RetainedByName& retained) {
  auto of = [&](const TypeStat& s) {
    auto it = retained.find(s.type);
    return it == retained.end() ? std::uint64_t(0) : it->second;
  };
  std::stable_sort(stats.begin(), stats.end(), [&](const TypeStat& x, const TypeStat& y) { return of(x) > of(y); });
}

void run_summary(const SummaryArgs& a) {
  const bool with_retained = a.retained || a.sort == "retained";
  const bool by_retained = a.sort == "retained" || (a.sort.empty() && with_retained);
  TypeStatsOptions all;
  all.sort = a.sort == "size" || by_retained ? SortBy::Size : SortBy::Count;
  all.gc_tracked_only = a.gc_only;
  TypeStatsOptions top = all;
  top.top = a.top;

  std::vector<std::vector<TypeStat>> per_dump;  // complete, for the total
  RetainedByName total_retained;
  Json processes = Json::array();
  std::string text;
  std::uint64_t total_objects = 0, total_bytes = 0;
  for (const std::string& path : a.dumps) {
    HeapGraph g = load(path);
    Timer::instance().start_query();
    std::vector<TypeStat> stats = type_stats(g, all);
    RetainedByName retained;
    if (with_retained) {
      retained = retained_by_name(g);
      if (by_retained) sort_by_retained(stats, retained);
      for (const auto& [name, bytes] : retained) total_retained[name] += bytes;
    }
    const RetainedByName* shown_retained = with_retained ? &retained : nullptr;
    std::uint64_t objects = 0, bytes = 0;
    for (const TypeStat& s : stats) {
      objects += s.count;
      bytes += s.size;
    }
    total_objects += objects;
    total_bytes += bytes;
    std::size_t rows = a.top == 0 ? stats.size() : std::min(a.top, stats.size());
    std::vector<TypeStat> shown(stats.begin(), stats.begin() + static_cast<std::ptrdiff_t>(rows));
    if (a.json) {
      Json p;
      p["file"] = path;
      p["pid"] = g.metadata().pid;
      p["tag"] = g.metadata().tag;
      p["objects"] = objects;
      p["size"] = bytes;
      p["num_types"] = stats.size();
      p["types"] = stats_json(shown, shown_retained);
      processes.push_back(std::move(p));
    } else {
      text += "== " + printable(describe_dump(g, path)) + ": " + std::to_string(objects) + " objects, " +
              human_size(bytes) + " ==\n";
      text += stats_table(shown, shown_retained);
      if (shown.size() < stats.size()) {
        text += "  ... " + std::to_string(stats.size() - shown.size()) + " more types\n";
      }
    }
    per_dump.push_back(std::move(stats));
    Timer::instance().stop_query();
  }

  Timer::instance().start_query();
  std::vector<TypeStat> merged;
  if (by_retained) {
    TypeStatsOptions every = top;
    every.top = 0;
    merged = merge_type_stats(per_dump, every);
    sort_by_retained(merged, total_retained);
    if (a.top != 0 && merged.size() > a.top) merged.resize(a.top);
  } else {
    merged = merge_type_stats(per_dump, top);
  }
  const RetainedByName* merged_retained = with_retained ? &total_retained : nullptr;
  Timer::instance().stop_query();
  if (a.json) {
    Json j;
    j["schema"] = "refgraph.summary/1";
    j["sort"] = by_retained ? "retained" : a.sort.empty() ? "count" : a.sort;
    j["top"] = a.top;
    j["gc_only"] = a.gc_only;
    j["processes"] = processes;
    Json t;
    t["dumps"] = a.dumps.size();
    t["objects"] = total_objects;
    t["size"] = total_bytes;
    t["types"] = stats_json(merged, merged_retained);
    j["total"] = t;
    print_json(j);
    return;
  }
  if (a.dumps.size() > 1) {
    text += "== total over " + std::to_string(a.dumps.size()) + " dumps: " + std::to_string(total_objects) +
            " objects, " + human_size(total_bytes) + " ==\n";
    text += stats_table(merged, merged_retained);
  }
  std::fputs(text.c_str(), stdout);
}

// ---- growth ----

struct GrowthArgs {
  std::string older, newer;
  std::size_t top = 20;
  bool by_size = false;
  bool gc_only = false;
  bool json = false;
};

void run_growth(const GrowthArgs& a) {
  HeapGraph older = load(a.older);
  HeapGraph newer = load(a.newer);
  Timer::instance().start_query();
  GrowthOptions o;
  o.top = a.top;
  o.by_size = a.by_size;
  o.gc_tracked_only = a.gc_only;
  std::vector<TypeGrowth> grown = type_growth(older, newer, o);
  std::vector<NodeIndex> fresh = new_objects(older, newer);
  // New objects by type, most first: often the leak in one line.
  std::unordered_map<StringId, std::uint64_t> fresh_by_type_id;
  for (NodeIndex n : fresh) ++fresh_by_type_id[newer.type(n)];
  std::vector<std::pair<std::string, std::uint64_t>> fresh_by_type;
  for (const auto& [t, c] : fresh_by_type_id) fresh_by_type.emplace_back(std::string(newer.strings()[t]), c);
  std::sort(fresh_by_type.begin(), fresh_by_type.end(), [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second > y.second : x.first < y.first;
  });
  if (a.top != 0 && fresh_by_type.size() > a.top) fresh_by_type.resize(a.top);
  Timer::instance().stop_query();

  if (a.json) {
    Json j;
    j["schema"] = "refgraph.growth/1";
    j["old"] = a.older;
    j["new"] = a.newer;
    j["sort"] = a.by_size ? "size" : "count";
    j["top"] = a.top;
    j["gc_only"] = a.gc_only;
    Json types = Json::array();
    for (const TypeGrowth& t : grown) {
      Json r;
      r["type"] = t.type;
      r["count_before"] = t.count_before;
      r["count_after"] = t.count_after;
      r["count_delta"] = t.count_delta;
      r["size_before"] = t.size_before;
      r["size_after"] = t.size_after;
      r["size_delta"] = t.size_delta;
      types.push_back(std::move(r));
    }
    j["types"] = types;
    j["new_objects"] = fresh.size();
    Json by_type = Json::array();
    for (const auto& [type, count] : fresh_by_type) by_type.push_back(Json{{"type", type}, {"count", count}});
    j["new_objects_by_type"] = by_type;
    print_json(j);
    return;
  }
  std::string text = "growth from " + printable(describe_dump(older, a.older)) + "\n         to " +
                     printable(describe_dump(newer, a.newer)) + "\n";
  if (grown.empty()) {
    text += "  no type grew\n";
  } else {
    Table t({"type", "count", "delta", "size", "size delta"}, {false, true, true, true, true});
    for (const TypeGrowth& g : grown) {
      t.add({printable(g.type), std::to_string(g.count_after), with_sign(g.count_delta), human_size(g.size_after),
             human_size(static_cast<double>(g.size_delta), true)});
    }
    text += t.str();
  }
  text += "new objects: " + std::to_string(fresh.size());
  if (!fresh_by_type.empty()) {
    text += " (";
    for (std::size_t i = 0; i < fresh_by_type.size() && i < 5; ++i) {
      text += (i ? ", " : "") + printable(fresh_by_type[i].first) + " " + std::to_string(fresh_by_type[i].second);
    }
    if (fresh_by_type.size() > 5) text += ", ...";
    text += ")";
  }
  text += "\n";
  std::fputs(text.c_str(), stdout);
}

}  // namespace

void add_stats_commands(CLI::App& app) {
  auto info = std::make_shared<InfoArgs>();
  CLI::App* c = app.add_subcommand("info", "Size, roots and metadata of a dump");
  c->add_option("DUMP", info->dump, "dump file (.rgd or .jsonl)")->required();
  c->add_flag("--json", info->json, "machine-readable output (schema refgraph.info/1)");
  c->callback([info] { run_info(*info); });

  auto summary = std::make_shared<SummaryArgs>();
  c = app.add_subcommand("summary", "Objects and bytes by type; several dumps: one section each and a total");
  c->add_option("DUMP", summary->dumps, "dump files (one per process)")->required();
  c->add_option("--top", summary->top, "show the N biggest types (0: all)")->capture_default_str();
  c->add_option("--sort", summary->sort,
                "sort by object count, total size or retained size (default: count; retained with --retained)")
      ->check(CLI::IsMember({"count", "size", "retained"}));
  c->add_flag("--gc-only", summary->gc_only, "count only objects the garbage collector tracks (objgraph's view)");
  c->add_flag("--retained", summary->retained,
              "add what each type's objects keep alive together (from the dominator tree), biggest first");
  c->add_flag("--json", summary->json, "machine-readable output (schema refgraph.summary/1)");
  c->callback([summary] { run_summary(*summary); });

  auto growth = std::make_shared<GrowthArgs>();
  c = app.add_subcommand("growth", "Types that grew between two dumps, and the number of new objects");
  c->add_option("OLD", growth->older, "the earlier dump")->required();
  c->add_option("NEW", growth->newer, "the later dump")->required();
  c->add_option("--top", growth->top, "show the N fastest-growing types (0: all)")->capture_default_str();
  c->add_flag("--by-size", growth->by_size, "rank by bytes grown instead of objects grown");
  c->add_flag("--gc-only", growth->gc_only, "count only objects the garbage collector tracks");
  c->add_flag("--json", growth->json, "machine-readable output (schema refgraph.growth/1)");
  c->callback([growth] { run_growth(*growth); });
}

}  // namespace refgraph::cli
