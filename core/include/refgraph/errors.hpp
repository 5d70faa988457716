// refgraph/errors.hpp: the exceptions the core throws.
//
// Bad input (a corrupt dump, an unknown type name, a bad query) raises one of these with a message that says
// what and where, e.g. "dump.rgd: edges section at byte 4096: checksum mismatch". Programming errors
// (an out-of-range NodeIndex) are not checked on hot paths.
#pragma once

#include <stdexcept>
#include <string>

namespace refgraph {

// Base of everything refgraph throws on purpose; bindings map it to refgraph.Error.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A dump file (binary .rgd or JSON Lines) that cannot be read: wrong magic, unknown version, truncation,
// checksum mismatch, an edge to a missing node.
class DumpFormatError : public Error {
 public:
  using Error::Error;
};

// A query that names something the graph does not have (unknown id or type) or has a bad parameter.
class QueryError : public Error {
 public:
  using Error::Error;
};

// Layout or rendering through libgvc failed, or the output could not be written.
class RenderError : public Error {
 public:
  using Error::Error;
};

}  // namespace refgraph
