// refgraph/dump.hpp: reading and writing heap graphs as files.
//
//   HeapGraph g = load_graph("before.rgd");         // .rgd when the file starts with the magic, else JSON Lines
//   HeapGraph h = read_dump("before.rgd");          // binary only
//   write_dump(g, "copy.rgd");                       // atomic: temp file + rename (see write_file_atomic)
//   write_jsonl(g, "copy.jsonl");
//
// The binary format (.rgd) is specified in docs/dump-format.md: magic, version, then zstd-compressed,
// xxhash-checksummed sections (metadata, strings, nodes in chunks, edges in chunks), written and read as a stream
// so a dump never needs twice its size in memory. Every reader error is a DumpFormatError naming the file, the
// section and the byte offset.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "refgraph/graph.hpp"

namespace refgraph {

// Called now and then while loading with (bytes read, total bytes); used for the CLI progress line.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Binary .rgd
void write_dump(const HeapGraph& g, const std::string& path);  // atomic; throws Error on I/O failure
void write_dump(const HeapGraph& g, std::ostream& out);
HeapGraph read_dump(const std::string& path, const ProgressFn& progress = {});
HeapGraph read_dump(std::istream& in, const std::string& name, const ProgressFn& progress = {});

// JSON Lines: a first line {"refgraph":"jsonl","version":1,"metadata":{...}} is optional; then one node a line:
// {"id":4096,"type":"dict","size":232,"gc":true,"root":"module","label":"app","refs":[{"to":8192,"label":"x",
//  "weak":false,"deferred":false}, ...]}
// ("gc" defaults to true, "root" to none, "label" to "", "refs" to []; a ref may also be a bare id; a sequence
//  index label is written {"to":8192,"index":3}; a node whose label is a value has "label_is_value":true).
// Reader errors name the file and line: "x.jsonl: line 7: 'size' must be a non-negative integer".
void write_jsonl(const HeapGraph& g, const std::string& path);  // atomic
void write_jsonl(const HeapGraph& g, std::ostream& out);
struct JsonlReadOptions {
  // Well-formed node lines go through a SAX parser into a small record; off, every line is parsed as a JSON tree
  // (the path that words the errors). The tests turn it off to compare the two.
  bool sax_fast_path = true;
};
HeapGraph read_jsonl(const std::string& path, const JsonlReadOptions& options = {});
HeapGraph read_jsonl(std::istream& in, const std::string& name, const JsonlReadOptions& options = {});

// Reads either format: binary when the file starts with the .rgd magic's first byte, JSON Lines otherwise. An empty
// file is a DumpFormatError; a missing or unreadable one an Error naming the path.
HeapGraph load_graph(const std::string& path, const ProgressFn& progress = {});

// Writes what `write` produces to `path`; shared by dumps and renderers. A regular file (or a new name) is written
// through a temporary file in the same directory and a rename, so a failure never leaves a half-written file; a
// symlink is followed and its target replaced. A character device, FIFO or socket (/dev/null, /dev/stdout, a named
// pipe) is written directly, as is "-" (standard output): it is never replaced by a file. A failed write (ENOSPC on
// /dev/full, EPIPE) throws Error naming the path and the reason; a directory is an Error too.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace refgraph
