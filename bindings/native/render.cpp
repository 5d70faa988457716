#include "register.hpp"

namespace refgraph::py {
void register_render(pybind11::module_&) {}
}  // namespace refgraph::py
