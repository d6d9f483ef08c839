#include "specs/timestamps.h"

#include <google/protobuf/util/time_util.h>

#include <charconv>

namespace cg {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ToProtoTimestamp(Clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return TimeUtil::NanosecondsToTimestamp(ns.count());
}

Clock::time_point FromProtoTimestamp(const google::protobuf::Timestamp& t) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(t.seconds()) + std::chrono::nanoseconds(t.nanos())));
}

std::string FormatRfc3339(const google::protobuf::Timestamp& t) { return TimeUtil::ToString(t); }

std::string FormatRfc3339(Clock::time_point t) { return FormatRfc3339(ToProtoTimestamp(t)); }

StatusOr<Clock::time_point> ParseRfc3339(std::string_view text) {
  google::protobuf::Timestamp t;
  if (!TimeUtil::FromString(std::string(text), &t)) {
    return InvalidArgumentError("'" + std::string(text) +
                                "' is not an RFC 3339 time such as 2026-11-26T08:00:00Z");
  }
  return FromProtoTimestamp(t);
}

StatusOr<std::chrono::seconds> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return InvalidArgumentError("'" + std::string(text) +
                                "' is not a duration such as 90d, 12h, 30m, 45s or 2w");
  };
  if (text.size() < 2) return bad();
  long long amount = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, amount);
  if (ec != std::errc() || end != text.data() + text.size() - 1 || amount < 0) return bad();
  long long unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      return bad();
  }
  if (amount > (1LL << 40) / unit) return bad();  // beyond any sensible validity
  return std::chrono::seconds(amount * unit);
}

}  // namespace cg
