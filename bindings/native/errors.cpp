// refgraph::Error and its subclasses as Python exceptions, registered once: _core.Error (an Exception) and
// _core.DumpFormatError, _core.QueryError, _core.RenderError below it.
#include <Python.h>

#include "refgraph/errors.hpp"
#include "register.hpp"

namespace refgraph::py {

namespace {
// Owned by the module for the life of the process (extension modules are never unloaded).
PyObject* g_error = nullptr;
PyObject* g_dump_error = nullptr;
PyObject* g_query_error = nullptr;
PyObject* g_render_error = nullptr;

PyObject* new_exception(pybind11::module_& m, const char* name, PyObject* base, const char* doc) {
  std::string qualified = std::string("refgraph._core.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (type == nullptr) throw pybind11::error_already_set();
  m.add_object(name, pybind11::reinterpret_borrow<pybind11::object>(type));
  return type;  // the new reference is kept for the translator
}
}  // namespace

void register_errors(pybind11::module_& m) {
  g_error = new_exception(m, "Error", PyExc_Exception, "Base of every error refgraph raises on purpose.");
  g_dump_error = new_exception(m, "DumpFormatError", g_error,
                               "A dump file (.rgd or JSON Lines) that cannot be read; the message names the file, "
                               "the section and the byte offset.");
  g_query_error = new_exception(m, "QueryError", g_error,
                                "A query that names something the graph does not have, or a bad parameter.");
  g_render_error = new_exception(m, "RenderError", g_error, "Graphviz layout or rendering failed.");
  pybind11::register_exception_translator([](std::exception_ptr p) {
    // Most derived first.
    try {
      if (p) std::rethrow_exception(p);
    } catch (const DumpFormatError& e) {
      PyErr_SetString(g_dump_error, e.what());
    } catch (const QueryError& e) {
      PyErr_SetString(g_query_error, e.what());
    } catch (const RenderError& e) {
      PyErr_SetString(g_render_error, e.what());
    } catch (const Error& e) {
      PyErr_SetString(g_error, e.what());
    }
  });
}

}  // namespace refgraph::py
