// One function a concept; module.cpp calls them in this order.
#pragma once

#include <pybind11/pybind11.h>

namespace refgraph::py {

void register_errors(pybind11::module_& m);      // errors.cpp: refgraph::Error hierarchy -> Python exceptions
void register_graph(pybind11::module_& m);       // graph.cpp: HeapGraph, dumps, analyses
void register_capture(pybind11::module_& m);     // capture.cpp: the live CPython heap walk
void register_count(pybind11::module_& m);       // count.cpp: objects per type without a graph
void register_render(pybind11::module_& m);      // render.cpp: DOT and libgvc rendering
void register_local(pybind11::module_& m);       // local_graph.cpp: show_backrefs and chains without a full capture
void register_memory(pybind11::module_& m);      // memory.cpp: allocator statistics for refgraph.memory()
void register_dominators(pybind11::module_& m);  // dominators.cpp: dominator tree and retained sizes
void register_sites(pybind11::module_& m);       // sites.cpp: nodes and allocation sites in one pass (after graph)
void register_report(pybind11::module_& m);      // report.cpp: the texts the CLI prints too (sizes, chains, suspects)

}  // namespace refgraph::py
