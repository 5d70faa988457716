#include "refgraph/units.hpp"

#include <cmath>
#include <cstdio>

namespace refgraph {

std::string human_size(double bytes, bool sign) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (std::isnan(bytes)) return "? B";
  const char* prefix = std::signbit(bytes) && bytes != 0 ? "-" : sign ? "+" : "";
  double v = std::fabs(bytes);
  char buf[48];
  if (v < 1024) {
    std::snprintf(buf, sizeof buf, v == std::floor(v) ? "%s%.0f B" : "%s%.1f B", prefix, v);
    return buf;
  }
  int unit = 0;
  while (v >= 1024.0 && unit < 4) {
    v /= 1024.0;
    ++unit;
  }
  std::snprintf(buf, sizeof buf, v < 10 ? "%s%.1f %s" : "%s%.0f %s", prefix, v, kUnits[unit]);
  return buf;
}

}  // namespace refgraph
