#include "labels.hpp"

#include <cstring>

namespace refgraph::capture {

namespace {
void put_utf8(std::string& out, Py_UCS4 c) {
  if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool ready_str(PyObject* s) {
  if (s == nullptr || !PyUnicode_Check(s)) return false;
  _Py_COMP_DIAG_PUSH _Py_COMP_DIAG_IGNORE_DEPR_DECLS return PyUnicode_IS_READY(s);
  _Py_COMP_DIAG_POP
}
}  // namespace

bool append_utf8(std::string& out, PyObject* s, std::size_t max_chars, bool* cut) {
  if (!ready_str(s)) return false;
  const Py_ssize_t len = PyUnicode_GET_LENGTH(s);
  const std::size_t n = static_cast<std::size_t>(len) < max_chars ? static_cast<std::size_t>(len) : max_chars;
  if (cut) *cut = n < static_cast<std::size_t>(len);
  const int kind = PyUnicode_KIND(s);
  const void* data = PyUnicode_DATA(s);
  if (PyUnicode_IS_ASCII(s)) {
    out.append(static_cast<const char*>(data), n);
    return true;
  }
  for (std::size_t i = 0; i < n; ++i) put_utf8(out, PyUnicode_READ(kind, data, i));
  return true;
}

std::string utf8_of(PyObject* s) {
  std::string out;
  append_utf8(out, s);
  return out;
}

bool is_short_identifier(PyObject* s) {
  if (!ready_str(s)) return false;
  const Py_ssize_t len = PyUnicode_GET_LENGTH(s);
  if (len == 0 || len > 40) return false;
  if (PyUnicode_IS_ASCII(s)) {
    const auto* p = static_cast<const unsigned char*>(PyUnicode_DATA(s));
    auto alpha = [](unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    if (!alpha(p[0])) return false;
    for (Py_ssize_t i = 1; i < len; ++i)
      if (!alpha(p[i]) && !(p[i] >= '0' && p[i] <= '9')) return false;
    return true;
  }
  return PyUnicode_IsIdentifier(s) == 1;  // reads the characters only
}

bool is_program_name(PyObject* s) {
  return ready_str(s) && PyUnicode_CHECK_INTERNED(s) != SSTATE_NOT_INTERNED && is_short_identifier(s);
}

std::string escape_quoted(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string bytes_text(PyObject* b, std::size_t max_bytes, bool* cut) {
  static const char* hex = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(PyBytes_AS_STRING(b));
  const auto len = static_cast<std::size_t>(PyBytes_GET_SIZE(b));
  const std::size_t n = len < max_bytes ? len : max_bytes;
  if (cut) *cut = n < len;
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

bool str_equals_ascii(PyObject* s, const char* text, std::size_t len) {
  if (!ready_str(s) || !PyUnicode_IS_ASCII(s)) return false;
  if (static_cast<std::size_t>(PyUnicode_GET_LENGTH(s)) != len) return false;
  return std::memcmp(PyUnicode_DATA(s), text, len) == 0;
}

PyObject* dict_find_str(PyObject* dict, const char* name) {
  if (dict == nullptr || !PyDict_Check(dict)) return nullptr;
  const std::size_t len = std::strlen(name);
  Py_ssize_t pos = 0;
  PyObject *k, *v;
  while (PyDict_Next(dict, &pos, &k, &v))
    if (str_equals_ascii(k, name, len)) return v;
  return nullptr;
}

}  // namespace refgraph::capture
