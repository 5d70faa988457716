#include "register.hpp"

namespace refgraph::py {
void register_errors(pybind11::module_&) {}
}  // namespace refgraph::py
