// Conversions between std::chrono time points and google.protobuf.Timestamp, and
// RFC 3339 text ("2026-11-26T08:00:00Z") for people and the command line.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <string>
#include <string_view>

#include "specs/status.h"

namespace cg {

using Clock = std::chrono::system_clock;

google::protobuf::Timestamp ToProtoTimestamp(Clock::time_point t);
Clock::time_point FromProtoTimestamp(const google::protobuf::Timestamp& t);

// "2026-11-26T08:00:00Z" (fractional seconds only when present).
std::string FormatRfc3339(Clock::time_point t);
std::string FormatRfc3339(const google::protobuf::Timestamp& t);
// Accepts RFC 3339 with "Z" or an offset, years 1970 to 2199. kInvalidArgument
// otherwise. FromProtoTimestamp clamps to the years 1678-2261 the Clock can hold.
StatusOr<Clock::time_point> ParseRfc3339(std::string_view text);

// A duration like "90d", "12h", "30m", "45s" or "2w", at most 100 years.
// kInvalidArgument otherwise.
StatusOr<std::chrono::seconds> ParseDuration(std::string_view text);

}  // namespace cg
