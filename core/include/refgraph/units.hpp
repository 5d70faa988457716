// refgraph/units.hpp: sizes for people, shared by the renderers and the CLI.
//
//   human_size(232) == "232 B";  human_size(5040) == "4.9 KiB";  human_size(18088) == "18 KiB"
#pragma once

#include <cstdint>
#include <string>

namespace refgraph {

// Bytes below 1 KiB exactly; above, one decimal under 10 units and none from 10 on (KiB, MiB, GiB, TiB).
std::string human_size(std::uint64_t bytes);

}  // namespace refgraph
