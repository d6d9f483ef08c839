// JSON text of protobuf messages (protobuf's JSON mapping): the one place that
// calls protobuf's JSON utilities, so every JSON file and API body follows the same
// rules: strict parsing (unknown fields are errors), snake_case names on output
// (either case accepted on input), a bound on size.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "specs/status.h"

namespace cg {

// Pretty JSON ending in a newline, or one line when `compact`.
std::string MessageToJson(const google::protobuf::Message& message, bool compact = false);

// Parses JSON into `message` (cleared first). kInvalidArgument with the parser's
// reason on malformed JSON, unknown fields or wrong types.
Status JsonToMessage(std::string_view json, google::protobuf::Message* message);

// Appends `text` to `out` as a JSON string, quotes included: quotes, backslashes and
// control characters escaped, valid UTF-8 as it is, and each byte that is not part
// of valid UTF-8 as U+FFFD. For the one line written per request (the audit log),
// where protobuf's printer cost more than the rest of a cached lookup's work.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace cg
