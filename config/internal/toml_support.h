// Helpers shared by the TOML readers of config/ (node_config.cc, model_config.cc):
// how values are echoed, how types and positions are named in error messages.
// Private to the config module.
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace cg::config::internal {

// Values echoed in error messages are cut to this many bytes, so a message stays one
// readable line.
inline constexpr size_t kMaxEchoedValueBytes = 80;

// The value in double quotes, control characters, quotes and backslashes escaped as
// \xNN, cut at kMaxEchoedValueBytes.
std::string Quote(std::string_view text);

// "a string", "an integer", ... for "must be X, got Y" messages.
std::string_view TypeName(toml::node_type type);

// "node.toml:12:1", or "node.toml" where toml++ has no position.
std::string Position(std::string_view source_name, const toml::source_region& region);

// "trust[0].key" -> "trust.key", as the table is written in a [[header]].
std::string HeaderName(std::string_view path);

}  // namespace cg::config::internal
