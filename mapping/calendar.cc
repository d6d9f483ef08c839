#include "mapping/calendar.h"

namespace cg::mapping {
namespace {

// Howard Hinnant's days_from_civil and civil_from_days.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return kDays[(m - 1) % 12] + (m == 2 && leap ? 1 : 0);
}

unsigned Digits(std::string_view s, size_t from, size_t count) {
  unsigned v = 0;
  for (size_t i = from; i < from + count && i < s.size(); ++i) {
    v = v * 10 + static_cast<unsigned>(s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : 0);
  }
  return v;
}

}  // namespace

int64_t DaysFromDate(std::string_view date) {
  const unsigned m = Digits(date, 5, 2);
  const unsigned d = Digits(date, 8, 2);
  return DaysFromCivil(Digits(date, 0, 4), m < 1 ? 1 : m > 12 ? 12 : m, d < 1 ? 1 : d);
}

int64_t PeriodEndDay(std::string_view period) {
  const int64_t y = Digits(period, 0, 4);
  unsigned m = Digits(period, 5, 2);
  m = m < 1 ? 1 : m > 12 ? 12 : m;
  return DaysFromCivil(y, m, DaysInMonth(y, m));
}

int64_t MonthsBefore(int64_t day, int months) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(day, y, m, d);
  int64_t total = y * 12 + (m - 1) - months;
  const int64_t ny = total >= 0 ? total / 12 : (total - 11) / 12;
  const unsigned nm = static_cast<unsigned>(total - ny * 12) + 1;
  const unsigned dim = DaysInMonth(ny, nm);
  return DaysFromCivil(ny, nm, d > dim ? dim : d);
}

}  // namespace cg::mapping
