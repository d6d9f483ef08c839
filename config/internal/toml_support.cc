#include "config/internal/toml_support.h"

#include <cstdio>

namespace cg::config::internal {

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxEchoedValueBytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxEchoedValueBytes) out += "...";
  out += '"';
  return out;
}

std::string_view TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown type";
}

// "node.toml:12:1", or "node.toml" where toml++ has no position.
std::string Position(std::string_view source_name, const toml::source_region& region) {
  std::string out(source_name);
  if (region.begin.line > 0) {
    out += ':' + std::to_string(region.begin.line);
    if (region.begin.column > 0) out += ':' + std::to_string(region.begin.column);
  }
  return out;
}

// "trust[0].key" -> "trust.key", as the table is written in a [[header]].
std::string HeaderName(std::string_view path) {
  std::string out;
  bool in_index = false;
  for (char c : path) {
    if (c == '[') in_index = true;
    if (!in_index) out += c;
    if (c == ']') in_index = false;
  }
  return out;
}

}  // namespace cg::config::internal
