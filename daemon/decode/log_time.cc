#include "daemon/decode/log_time.h"

#include <initializer_list>

#include "daemon/common/ascii.h"

namespace trailwatch::decode {
namespace {

using ascii::isDigit;

bool digitsAt(std::string_view s, std::initializer_list<std::size_t> at) {
  for (std::size_t i : at) {
    if (i >= s.size() || !isDigit(s[i])) return false;
  }
  return true;
}

int twoDigits(std::string_view s, std::size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); }

}  // namespace

int monthNumber(std::string_view abbreviation) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int m = 0; m < 12; ++m) {
    if (abbreviation == kMonths[m]) return m + 1;
  }
  return 0;
}

std::size_t bsdTimestampLength(std::string_view s, int& month) {
  if (s.size() < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':') return 0;
  month = monthNumber(s.substr(0, 3));
  if (month == 0 || !(s[4] == ' ' || isDigit(s[4])) || !digitsAt(s, {5, 7, 8, 10, 11, 13, 14})) {
    return 0;
  }
  const int day = (s[4] == ' ' ? 0 : (s[4] - '0') * 10) + (s[5] - '0');
  if (day < 1 || day > 31 || twoDigits(s, 7) > 23 || twoDigits(s, 10) > 59 ||
      twoDigits(s, 13) > 60) {
    return 0;
  }
  std::size_t n = 15;
  if (n + 1 < s.size() && s[n] == '.' && isDigit(s[n + 1])) {
    ++n;
    while (n < s.size() && isDigit(s[n])) ++n;
  }
  return n;
}

}  // namespace trailwatch::decode
