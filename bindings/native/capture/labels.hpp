// Text from Python str/bytes objects read in C, without the utf8 cache, allocation or any Python call:
// for type names, node labels and edge labels.
#pragma once

#include <Python.h>

#include <cstddef>
#include <string>

namespace refgraph::capture {

// Appends up to `max_chars` code points of `s` as UTF-8 (lone surrogates become U+FFFD). Returns false if `s`
// is not a ready str (then nothing is appended). Sets *cut when characters were left out.
bool append_utf8(std::string& out, PyObject* s, std::size_t max_chars = SIZE_MAX, bool* cut = nullptr);
std::string utf8_of(PyObject* s);  // "" if not a ready str

// A Python identifier of at most 40 characters.
bool is_short_identifier(PyObject* s);
// A name the program's code chose, shown in labels: an interned str (the compiler interns the names and
// identifier-like constants of code; setattr interns attribute names) that is a short identifier. Data read at
// run time (a session token used as a dict key) is not interned, unless something passes it to sys.intern.
bool is_program_name(PyObject* s);

// `text` as it would appear between single quotes: backslash, quote and control characters escaped.
std::string escape_quoted(const std::string& text);
// bytes as printable text: ASCII kept, anything else as \xNN, up to `max_bytes` source bytes.
std::string bytes_text(PyObject* b, std::size_t max_bytes, bool* cut = nullptr);

// Compares an exact-str key with ASCII text without hashing or calling __eq__.
bool str_equals_ascii(PyObject* s, const char* text, std::size_t len);
// The value stored in `dict` under the str key `name`, found by scanning (no hash, no __eq__); NULL if absent.
PyObject* dict_find_str(PyObject* dict, const char* name);

}  // namespace refgraph::capture
