// Writing JSON text by hand, for the few places that do not go through protobuf's
// JSON mapping (specs/json.h): error bodies, and the audit line written per request.
#pragma once

#include <string>
#include <string_view>

namespace cg {

// Appends `text` to `out` as a JSON string, quotes included: quotes, backslashes and
// control characters escaped, valid UTF-8 as it is, and each byte that is not part
// of valid UTF-8 as U+FFFD.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace cg
