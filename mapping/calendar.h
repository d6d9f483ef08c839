// Calendar arithmetic on the feeds' dates ("YYYY-MM-DD") and periods ("YYYY-MM"),
// in whole days, without time zones: the model's windows are in calendar days.
#pragma once

#include <cstdint>
#include <string_view>

namespace cg::mapping {

// Days since 1970-01-01 of a valid "YYYY-MM-DD" (proleptic Gregorian). The caller
// has validated the text (feeds do); nonsense gives nonsense, never a crash.
int64_t DaysFromDate(std::string_view date);

// The last day of a period "YYYY-MM", as days since 1970-01-01.
int64_t PeriodEndDay(std::string_view period);

// The day `months` calendar months before `day` (clamped to the month's end).
int64_t MonthsBefore(int64_t day, int months);

}  // namespace cg::mapping
