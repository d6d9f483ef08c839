// Text from untrusted input (payloads, key ids, payload types) as it may appear in
// error messages and reports.
#pragma once

#include <string>
#include <string_view>

namespace cg::crypto::internal {

// `text` in single quotes, at most 80 characters with "..." after, every byte
// outside printable ASCII shown as '?': a hostile payload cannot flood logs or
// drive a terminal.
std::string QuoteUntrusted(std::string_view text);

}  // namespace cg::crypto::internal
