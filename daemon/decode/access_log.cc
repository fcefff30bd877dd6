#include "daemon/decode/access_log.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "daemon/common/ascii.h"
#include "daemon/decode/log_time.h"

namespace trailwatch::decode {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t'; }
using ascii::hexValue;
using ascii::isDigit;
using ascii::isHexDigit;

std::string_view skipSpaces(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  return s;
}

// Takes the next space-separated word off `s`.
std::string_view takeWord(std::string_view& s) {
  s = skipSpaces(s);
  std::size_t n = 0;
  while (n < s.size() && !isSpace(s[n])) ++n;
  const std::string_view w = s.substr(0, n);
  s.remove_prefix(n);
  return w;
}

// Takes a "quoted" field off `s` (backslash escapes the next byte); returns
// its body with escapes still in, or nullopt when `s` does not start with a
// quote, or the quote is not closed and `unterminated` is null. Otherwise an
// unclosed field runs to the end of the record and sets *unterminated.
std::optional<std::string_view> takeQuoted(std::string_view& s, bool* unterminated = nullptr) {
  s = skipSpaces(s);
  if (s.empty() || s.front() != '"') return std::nullopt;
  std::size_t i = 1;
  while (i < s.size() && s[i] != '"') i += (s[i] == '\\') ? 2 : 1;
  if (i >= s.size()) {
    if (unterminated == nullptr) return std::nullopt;
    *unterminated = true;
    const std::string_view body = s.substr(1);
    s = {};
    return body;
  }
  const std::string_view body = s.substr(1, i - 1);
  s.remove_prefix(i + 1);
  return body;
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isDigit);
}

bool isMethod(std::string_view s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return ascii::isUpper(c) || c == '-' || c == '_';
  });
}

// `10/Oct/2000:13:55:36 -0700` → `2000-10-10T13:55:36-07:00` in `out`.
bool toRfc3339(std::string_view t, std::array<char, 25>& out) {
  // dd/Mon/yyyy:HH:MM:SS +zzzz
  if (t.size() != 26 || t[2] != '/' || t[6] != '/' || t[11] != ':' || t[14] != ':' ||
      t[17] != ':' || t[20] != ' ' || (t[21] != '+' && t[21] != '-')) {
    return false;
  }
  for (std::size_t i : {0, 1, 7, 8, 9, 10, 12, 13, 15, 16, 18, 19, 22, 23, 24, 25}) {
    if (!isDigit(t[i])) return false;
  }
  const int month = monthNumber(t.substr(3, 3));
  if (month == 0) return false;
  const auto two = [&](std::size_t i) { return (t[i] - '0') * 10 + (t[i + 1] - '0'); };
  if (two(0) < 1 || two(0) > 31 || two(12) > 23 || two(15) > 59 || two(18) > 60) return false;
  const char m[2] = {static_cast<char>('0' + month / 10), static_cast<char>('0' + month % 10)};
  const char text[25] = {t[7],  t[8],  t[9],  t[10], '-', m[0],  m[1],  '-', t[0],
                         t[1],  'T',   t[12], t[13], ':', t[15], t[16], ':', t[18],
                         t[19], t[21], t[22], t[23], ':', t[24], t[25]};
  std::copy(std::begin(text), std::end(text), out.begin());
  return true;
}

}  // namespace

void AccessLogDecoder::setFields(std::span<const std::string> paths) { table_.setFields(paths); }

std::string_view AccessLogDecoder::unescape(std::string_view body) {
  if (body.find('\\') == std::string_view::npos) return body;
  scratch_.clear();
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      scratch_.push_back(c);
      continue;
    }
    const char e = body[++i];
    if (e == 'x' && i + 2 < body.size() && isHexDigit(body[i + 1]) && isHexDigit(body[i + 2])) {
      scratch_.push_back(static_cast<char>(hexValue(body[i + 1]) * 16 + hexValue(body[i + 2])));
      i += 2;
    } else if (e == 'n') {
      scratch_.push_back('\n');
    } else if (e == 't') {
      scratch_.push_back('\t');
    } else {
      scratch_.push_back(e);  // \" and \\ and anything else: the byte itself
    }
  }
  return table_.keep(scratch_);
}

void AccessLogDecoder::addExtraFields(std::string_view s) {
  for (const std::string& name : extra_fields_) {
    s = skipSpaces(s);
    if (s.empty()) return;
    if (s.front() == '"') {
      bool unterminated = false;
      const std::string_view value = unescape(*takeQuoted(s, &unterminated));
      if (name != "-" && value != "-") table_.addString(name, value);
    } else {
      const std::string_view value = takeWord(s);
      if (name != "-" && value != "-") table_.addNumber(name, value);
    }
  }
}

const Event* AccessLogDecoder::decode(std::string_view record, DecodeError& error) {
  table_.begin(record);
  auto fail = [&](std::string_view reason, std::string detail) -> const Event* {
    table_.begin(record);
    error.reason = reason;
    error.detail = std::move(detail);
    return nullptr;
  };
  std::string_view s = record;
  while (!s.empty() && (s.back() == '\r' || isSpace(s.back()))) s.remove_suffix(1);
  if (skipSpaces(s).empty()) return fail("empty_record", "the record is empty or only whitespace");

  const std::string_view host = takeWord(s);
  const std::string_view ident = takeWord(s);
  // %u is a word, except that a quoted remote user ("-" or "a b") happens
  // with some configurations: accept both.
  std::string_view user;
  if (!skipSpaces(s).empty() && skipSpaces(s).front() == '"') {
    auto q = takeQuoted(s);
    if (!q) return fail("malformed_access_log", "unterminated quoted remote user");
    user = unescape(*q);
  } else {
    user = takeWord(s);
  }
  s = skipSpaces(s);
  if (s.empty() || s.front() != '[') {
    return fail("malformed_access_log", "no [time] after host, ident and user");
  }
  const std::size_t close = s.find(']');
  if (close == std::string_view::npos) return fail("malformed_access_log", "unterminated [time]");
  const std::string_view time = s.substr(1, close - 1);
  s.remove_prefix(close + 1);
  std::array<char, 25> rfc3339{};
  if (!toRfc3339(time, rfc3339)) {
    return fail("bad_timestamp",
                "the time is not dd/Mon/yyyy:HH:MM:SS +zzzz: " + std::string(time.substr(0, 64)));
  }
  auto request_raw = takeQuoted(s);
  if (!request_raw) return fail("malformed_access_log", "no quoted \"request line\" after [time]");
  const std::string_view status = takeWord(s);
  const std::string_view bytes = takeWord(s);
  if (!allDigits(status) || status.size() > 3) {
    return fail("malformed_access_log",
                "the status is not a number: " + std::string(status.substr(0, 32)));
  }
  if (bytes != "-" && (!allDigits(bytes) || bytes.size() > 19)) {
    return fail("malformed_access_log",
                "the byte count is not a number or -: " + std::string(bytes.substr(0, 32)));
  }
  // The combined format's two last fields. A line cut inside them (a log
  // line truncated by the writer) keeps what is there and says so.
  std::optional<std::string_view> referrer, agent;
  bool truncated = false;
  if (!skipSpaces(s).empty()) {
    referrer = takeQuoted(s, &truncated);
    if (!referrer) {
      return fail("malformed_access_log", "text after the byte count is not \"referrer\"");
    }
    if (!skipSpaces(s).empty()) {
      agent = takeQuoted(s, &truncated);
      if (!agent)
        return fail("malformed_access_log", "no quoted \"user agent\" after the referrer");
    }
  }
  const std::string_view extra = skipSpaces(s);

  // Everything is checked; now offer the fields.
  table_.addString("access_log.remote_host", host);
  if (host != "-") table_.addString("source.ip", host);
  if (ident != "-") table_.addString("access_log.ident", ident);
  if (user != "-" && !user.empty()) {
    table_.addString("access_log.user", user);
    table_.addString("user.name", user);
  }
  table_.addString("access_log.time", time);
  table_.addString("@timestamp", table_.keep({rfc3339.data(), rfc3339.size()}));

  const std::string_view request = unescape(*request_raw);
  table_.addString("access_log.request", request);
  {
    std::string_view r = request;
    const std::string_view method = takeWord(r);
    const std::string_view target = takeWord(r);
    const std::string_view protocol = takeWord(r);
    const bool tail_empty = skipSpaces(r).empty();
    const bool protocol_ok = protocol.empty() || protocol.starts_with("HTTP/");
    if (isMethod(method) && !target.empty() && tail_empty && protocol_ok) {
      table_.addString("http.request.method", method);
      table_.addString("url.original", target);
      const std::size_t q = target.find('?');
      table_.addString("url.path", target.substr(0, q));
      if (q != std::string_view::npos) table_.addString("url.query", target.substr(q + 1));
      if (!protocol.empty()) table_.addString("http.version", protocol.substr(5));
    }
  }

  table_.addNumber("access_log.status", status);
  table_.addNumber("http.response.status_code", status);
  int code = 0;
  std::from_chars(status.data(), status.data() + status.size(), code);
  table_.addString("event.outcome", code < 400 ? "success" : "failure");
  table_.addString("event.category", "web");
  table_.addString("access_log.bytes", bytes);
  if (bytes != "-") table_.addNumber("http.response.body.bytes", bytes);
  if (referrer) {
    const std::string_view v = unescape(*referrer);
    table_.addString("access_log.referrer", v);
    if (v != "-" && !v.empty()) table_.addString("http.request.referrer", v);
  }
  if (agent) {
    const std::string_view v = unescape(*agent);
    table_.addString("access_log.user_agent", v);
    if (v != "-" && !v.empty()) table_.addString("user_agent.original", v);
  }
  if (!extra.empty()) {
    table_.addString("access_log.extra", extra);
    if (!extra_fields_.empty()) addExtraFields(extra);
  }
  if (truncated) table_.addBool("access_log.truncated", true);
  return &table_;
}

}  // namespace trailwatch::decode
