// Test support: reading one series out of a Prometheus text rendering.
#pragma once

#include <string>

namespace cg::test {

// The value of one series ("name{labels}") in a Prometheus text rendering; -1 when
// absent.
inline double MetricValue(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  size_t at = 0;
  while ((at = text.find(prefix, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + prefix.size()));
    at += prefix.size();
  }
  return -1;
}

}  // namespace cg::test
