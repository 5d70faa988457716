// refgraph._core: wiring only. Each concept registers itself from its own file.
#include <pybind11/pybind11.h>

#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "refgraph's native engine (private: use the refgraph package)";
  m.attr("__version__") = REFGRAPH_VERSION;
  refgraph::py::register_errors(m);
  refgraph::py::register_graph(m);
  refgraph::py::register_capture(m);
  refgraph::py::register_count(m);
  refgraph::py::register_render(m);
  refgraph::py::register_local(m);
  refgraph::py::register_memory(m);
  refgraph::py::register_dominators(m);
  refgraph::py::register_sites(m);
  refgraph::py::register_report(m);
}
