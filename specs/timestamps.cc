#include "specs/timestamps.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <charconv>

namespace cg {

using google::protobuf::util::TimeUtil;

namespace {
// The range Clock (64-bit nanoseconds) can hold, with a margin: 1678-2261.
constexpr int64_t kMinSeconds = -9'200'000'000LL;
constexpr int64_t kMaxSeconds = 9'200'000'000LL;
constexpr long long kMaxDurationSeconds = 100LL * 366 * 86400;
// Times people give are kept before 2200-01-01, so that adding any duration keeps
// them inside the Clock's range.
constexpr int64_t kMaxParsedSeconds = 7'258'118'400LL;
}  // namespace

google::protobuf::Timestamp ToProtoTimestamp(Clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return TimeUtil::NanosecondsToTimestamp(ns.count());
}

Clock::time_point FromProtoTimestamp(const google::protobuf::Timestamp& t) {
  // Clock counts nanoseconds in 64 bits (years 1678-2261). Timestamps come from
  // signed payloads too, so out-of-range ones are clamped, never wrapped: a far
  // future issued_at stays in the future, a far past one in the past.
  const int64_t seconds = std::clamp<int64_t>(t.seconds(), kMinSeconds, kMaxSeconds);
  const int32_t nanos = std::clamp<int32_t>(t.nanos(), 0, 999'999'999);
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
}

std::string FormatRfc3339(const google::protobuf::Timestamp& t) { return TimeUtil::ToString(t); }

std::string FormatRfc3339(Clock::time_point t) { return FormatRfc3339(ToProtoTimestamp(t)); }

StatusOr<Clock::time_point> ParseRfc3339(std::string_view text) {
  google::protobuf::Timestamp t;
  if (!TimeUtil::FromString(std::string(text), &t)) {
    return InvalidArgumentError("'" + std::string(text.substr(0, 64)) +
                                "' is not an RFC 3339 time such as 2026-11-26T08:00:00Z");
  }
  if (t.seconds() < 0 || t.seconds() >= kMaxParsedSeconds) {
    return InvalidArgumentError("'" + std::string(text.substr(0, 64)) +
                                "' is outside the years 1970 to 2199 that times may take");
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
  if (amount > kMaxDurationSeconds / unit) {
    return InvalidArgumentError("'" + std::string(text) + "' is longer than 100 years");
  }
  return std::chrono::seconds(amount * unit);
}

}  // namespace cg
