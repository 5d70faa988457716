#include "register.hpp"

namespace refgraph::py {
void register_graph(pybind11::module_&) {}
}  // namespace refgraph::py
