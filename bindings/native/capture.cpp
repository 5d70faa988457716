#include "register.hpp"

namespace refgraph::py {
void register_capture(pybind11::module_&) {}
}  // namespace refgraph::py
