// JSON text of protobuf messages (protobuf's JSON mapping): the one place that
// calls protobuf's JSON utilities, so every JSON file and API body follows the same
// rules: strict parsing (unknown fields are errors), snake_case names on output
// (either case accepted on input), a bound on size.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "specs/json_text.h"  // AppendJsonString, for JSON written by hand
#include "specs/status.h"

namespace cg {

// Pretty JSON ending in a newline, or one line when `compact`.
std::string MessageToJson(const google::protobuf::Message& message, bool compact = false);

// Parses JSON into `message` (cleared first). kInvalidArgument with the parser's
// reason on malformed JSON, unknown fields or wrong types.
Status JsonToMessage(std::string_view json, google::protobuf::Message* message);

}  // namespace cg
