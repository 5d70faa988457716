// Shared by the binding files: how a HeapGraph is held on the Python side.
#pragma once

#include <memory>

#include <pybind11/pybind11.h>

#include "refgraph/graph.hpp"

namespace refgraph::py {

// A Graph is immutable once built; Python holds it by shared_ptr so captures and loads hand it over without a copy.
using GraphPtr = std::shared_ptr<HeapGraph>;

// Wraps a freshly built graph as a _core.Graph.
pybind11::object wrap_graph(HeapGraph&& g);

}  // namespace refgraph::py
