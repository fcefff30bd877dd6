// ASCII character classes and case folding for names, keys and the
// case-insensitive comparisons Sigma asks for. Unlike <cctype> they do not
// follow the C locale, take plain `char` (no cast to unsigned char), and
// leave every byte outside A-Z alone, so UTF-8 text passes through intact.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace trailwatch::ascii {

constexpr bool isDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool isLower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool isAlpha(char c) { return isUpper(c) || isLower(c); }
constexpr bool isAlnum(char c) { return isAlpha(c) || isDigit(c); }
constexpr bool isHexDigit(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// The value of a hex digit (isHexDigit(c) must hold).
constexpr int hexValue(char c) { return isDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

constexpr char toLower(char c) { return isUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char toUpper(char c) { return isLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

inline void lowerInPlace(std::string& s) {
  for (char& c : s) c = toLower(c);
}
inline std::string lowered(std::string_view s) {
  std::string out(s);
  lowerInPlace(out);
  return out;
}
inline std::string uppered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = toUpper(c);
  return out;
}

// Whether `text` folded to lower case is `lower` (already lower case).
constexpr bool equalsFolded(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (toLower(text[i]) != lower[i]) return false;
  }
  return true;
}
// Whether `text` starts with `lower` (already lower case), case folded.
constexpr bool startsWithFolded(std::string_view text, std::string_view lower) {
  return text.size() >= lower.size() && equalsFolded(text.substr(0, lower.size()), lower);
}

}  // namespace trailwatch::ascii
