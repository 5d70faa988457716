// refgraph/units.hpp: sizes for people, the one format every face prints (renderers, CLI, Python, web pages).
//
//   human_size(232) == "232 B";  human_size(5040) == "4.9 KiB";  human_size(18088) == "18 KiB"
//   human_size(74.5) == "74.5 B" (an average);  human_size(-72, true) == "-72 B";  human_size(1536, true) == "+1.5 KiB"
#pragma once

#include <string>

namespace refgraph {

// Bytes below 1 KiB exactly (one decimal for an average that is not whole); above, one decimal under 10 units and
// none from 10 on (KiB, MiB, GiB, TiB). A negative size has "-"; `sign` puts "+" before the others (a change).
std::string human_size(double bytes, bool sign = false);

}  // namespace refgraph
