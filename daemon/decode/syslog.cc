#include "daemon/decode/syslog.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

#include "daemon/common/ascii.h"
#include "daemon/decode/log_time.h"

namespace trailwatch::decode {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

constexpr std::string_view kNumbers[] = {"0",  "1",  "2",  "3",  "4",  "5",  "6",  "7",
                                         "8",  "9",  "10", "11", "12", "13", "14", "15",
                                         "16", "17", "18", "19", "20", "21", "22", "23"};
// RFC 5424 section 6.2.1 tables, with the keywords syslog.conf / rsyslog use.
constexpr std::string_view kFacilities[] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7"};
constexpr std::string_view kSeverities[] = {"emerg",   "alert",  "crit", "err",
                                            "warning", "notice", "info", "debug"};

// What the ATNA reader fills: a rule reading none of them skips the scan.
constexpr std::string_view kAtnaPaths[] = {"@timestamp", "event.action",  "event.outcome",
                                           "event.type", "user.id",       "user.name",
                                           "source.ip",  "source.domain", "patient.id"};

using ascii::isDigit;
bool isSpace(char c) { return c == ' ' || c == '\t'; }
bool isXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isDigit);
}

// RFC 5424 section 6: SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', '"'.
// The 32-byte limit is not enforced (tolerance; nothing depends on it).
bool isSdNameChar(char c) { return c > 32 && c < 127 && c != '=' && c != ']' && c != '"'; }

int twoDigits(std::string_view s, std::size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); }

bool digitsAt(std::string_view s, std::initializer_list<std::size_t> at) {
  return std::all_of(at.begin(), at.end(), [&](std::size_t i) { return isDigit(s[i]); });
}

// RFC 3339 section 5.6 date-time (RFC 5424 section 6.2.3 TIMESTAMP, with
// the fraction not limited to 6 digits): YYYY-MM-DDTHH:MM:SS[.f+](Z|±HH:MM).
bool isRfc3339(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      !digitsAt(s, {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18})) {
    return false;
  }
  const int month = twoDigits(s, 5), day = twoDigits(s, 8);
  if (month < 1 || month > 12 || day < 1 || day > 31 || twoDigits(s, 11) > 23 ||
      twoDigits(s, 14) > 59 || twoDigits(s, 17) > 60) {
    return false;
  }
  std::size_t i = 19;
  if (s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && isDigit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i < s.size() && s[i] == 'Z') return i + 1 == s.size();
  if (i + 6 != s.size() || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':' ||
      !digitsAt(s, {i + 1, i + 2, i + 4, i + 5})) {
    return false;
  }
  return twoDigits(s, i + 1) <= 23 && twoDigits(s, i + 4) <= 59;
}

std::string_view takeWord(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && s[n] != ' ') ++n;
  const std::string_view w = s.substr(0, n);
  s.remove_prefix(n);
  return w;
}

std::string_view skipSpaces(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  return s;
}

// An RFC 3164 TAG as programs write it: `name:` or `name[pid]:` (one colon,
// at the end).
bool isTagWord(std::string_view w) {
  return w.size() >= 2 && w.back() == ':' && w.substr(0, w.size() - 1).find(':') == w.npos;
}

// Paths the envelope owns: a nested body never gives them values.
bool isSyslogPath(std::string_view p) {
  return p == "message" || p.starts_with("log.syslog.") || p.starts_with("syslog.");
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The ATNA attributes the reader looks at, by index.
enum Attr {
  kEventActionCode,
  kEventDateTime,
  kEventOutcomeIndicator,
  kCsdCode,
  kCode,
  kDisplayName,
  kOriginalText,
  kUserId,
  kUserName,
  kUserIsRequestor,
  kNetworkAccessPointId,
  kNetworkAccessPointTypeCode,
  kParticipantObjectId,
  kParticipantObjectTypeCode,
  kParticipantObjectTypeCodeRole,
  kAuditSourceId,
  kAttrCount
};
constexpr std::string_view kAttrNames[kAttrCount] = {"EventActionCode",
                                                     "EventDateTime",
                                                     "EventOutcomeIndicator",
                                                     "csd-code",
                                                     "code",
                                                     "displayName",
                                                     "originalText",
                                                     "UserID",
                                                     "UserName",
                                                     "UserIsRequestor",
                                                     "NetworkAccessPointID",
                                                     "NetworkAccessPointTypeCode",
                                                     "ParticipantObjectID",
                                                     "ParticipantObjectTypeCode",
                                                     "ParticipantObjectTypeCodeRole",
                                                     "AuditSourceID"};

std::string_view localName(std::string_view name) {
  const std::size_t colon = name.rfind(':');
  return colon == name.npos ? name : name.substr(colon + 1);
}

}  // namespace

struct SyslogDecoder::Envelope {
  std::string_view format;
  std::string_view pri;  // the digits
  int pri_value = -1;
  std::string_view version;
  std::string_view timestamp;  // as written
  std::string_view rfc3339;    // @timestamp from the envelope
  std::string_view hostname, appname, procid, msgid, tag, structured_data;
  std::string_view msg;
  bool has_msg = false;
};

SyslogDecoder::SyslogDecoder(std::unique_ptr<Decoder> body, std::string body_format)
    : body_(std::move(body)), auditd_body_(body_format == "auditd") {}

std::unique_ptr<Decoder> SyslogDecoder::clone() const {
  std::unique_ptr<Decoder> body;
  if (body_) {
    body = body_->clone();
    if (!body) return nullptr;
  }
  auto copy = std::make_unique<SyslogDecoder>(std::move(body), auditd_body_ ? "auditd" : "");
  copy->fixed_year_ = fixed_year_;
  return copy;
}

void SyslogDecoder::setFields(std::span<const std::string> paths) {
  table_.setFields(paths);
  if (body_) body_->setFields(paths);
  sd_wanted_ = atna_wanted_ = body_wanted_ = body_active_ = false;
  syslog_path_.assign(paths.size(), false);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const std::string& p = paths[i];
    sd_wanted_ = sd_wanted_ || p.starts_with("syslog.sd.") || p == "syslog.sd_id";
    atna_wanted_ =
        atna_wanted_ || p.starts_with("syslog.atna.") ||
        std::find(std::begin(kAtnaPaths), std::end(kAtnaPaths), p) != std::end(kAtnaPaths);
    syslog_path_[i] = isSyslogPath(p);
    body_wanted_ = body_wanted_ || !syslog_path_[i] || p == "syslog.body_error";
  }
  // A body decoder that joins records must see every one of them.
  body_wanted_ = body_ != nullptr && (body_wanted_ || auditd_body_);
}

void SyslogDecoder::Nested::combine(const Event& envelope, const Event& body,
                                    const std::vector<bool>& syslog_path) {
  const auto envelope_fields = envelope.fields();
  combined_.resize(envelope_fields.size());
  present_.clear();
  for (FieldId id = 0; id < combined_.size(); ++id) {
    const auto own = id < syslog_path.size() && !syslog_path[id] ? body.values(id)
                                                                 : std::span<const FieldValue>();
    combined_[id] = own.empty() ? envelope_fields[id] : own;
    if (!combined_[id].empty()) present_.push_back(id);
  }
  publish(combined_, &present_);
}

int SyslogDecoder::currentYear() {
  if (fixed_year_ != 0) return fixed_year_;
  const std::time_t now = std::time(nullptr);
  if (year_ == 0 || now >= year_ends_ || now < year_ends_ - 367 * 86400) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    year_ = tm.tm_year + 1900;
    std::tm next{};
    next.tm_year = tm.tm_year + 1;
    next.tm_mday = 1;
    year_ends_ = timegm(&next);
  }
  return year_;
}

std::string_view SyslogDecoder::unescapeSd(std::string_view text) {
  if (text.find('\\') == text.npos) return text;
  scratch_.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size() &&
        (text[i + 1] == '"' || text[i + 1] == '\\' || text[i + 1] == ']')) {
      scratch_.push_back(text[++i]);
    } else {
      scratch_.push_back(c);  // section 6.3.3: any other backslash is itself
    }
  }
  return table_.keep(scratch_);
}

std::string_view SyslogDecoder::unescapeXml(std::string_view text) {
  if (text.find('&') == text.npos) return text;
  scratch_.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const std::size_t semi = c == '&' ? text.find(';', i) : text.npos;
    if (semi == text.npos || semi - i > 12) {
      scratch_.push_back(c);
      continue;
    }
    const std::string_view name = text.substr(i + 1, semi - i - 1);
    uint32_t cp = 0;
    bool ok = true;
    if (name == "lt") {
      cp = '<';
    } else if (name == "gt") {
      cp = '>';
    } else if (name == "amp") {
      cp = '&';
    } else if (name == "quot") {
      cp = '"';
    } else if (name == "apos") {
      cp = '\'';
    } else if (name.size() >= 2 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string_view digits = name.substr(hex ? 2 : 1);
      auto [ptr, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      ok = !digits.empty() && ec == std::errc() && ptr == digits.data() + digits.size() &&
           cp != 0 && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    } else {
      ok = false;
    }
    if (!ok) {
      scratch_.push_back(c);
      continue;
    }
    appendUtf8(scratch_, cp);
    i = semi;
  }
  return table_.keep(scratch_);
}

bool SyslogDecoder::parseStructuredData(std::string_view& s, DecodeError& error) {
  auto fail = [&](std::string detail) {
    error.reason = "malformed_structured_data";
    error.detail = std::move(detail);
    return false;
  };
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n && s[i] == '[') {
    const std::size_t id_start = ++i;
    while (i < n && isSdNameChar(s[i])) ++i;
    if (i == id_start) return fail("an SD-ELEMENT without SD-ID at byte " + std::to_string(i));
    const std::string_view id = s.substr(id_start, i - id_start);
    if (sd_wanted_) table_.addString("syslog.sd_id", id);
    while (true) {
      if (i >= n) return fail("unterminated SD-ELEMENT [" + std::string(id.substr(0, 64)));
      if (s[i] == ']') {
        ++i;
        break;
      }
      if (s[i] != ' ') return fail("expected a space or ] in SD-ELEMENT " + std::string(id));
      const std::size_t name_start = ++i;
      while (i < n && isSdNameChar(s[i])) ++i;
      if (i == name_start) return fail("an empty PARAM-NAME in SD-ELEMENT " + std::string(id));
      const std::string_view name = s.substr(name_start, i - name_start);
      if (i + 1 >= n || s[i] != '=' || s[i + 1] != '"') {
        return fail("PARAM-NAME " + std::string(name.substr(0, 64)) + " is not followed by =\"");
      }
      i += 2;
      const std::size_t value_start = i;
      while (i < n && s[i] != '"') i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
      if (i >= n) return fail("unterminated PARAM-VALUE of " + std::string(name.substr(0, 64)));
      const std::string_view value = s.substr(value_start, i - value_start);
      ++i;
      if (sd_wanted_) {
        path_.assign("syslog.sd.").append(id).append(".").append(name);
        if (table_.wants(path_)) table_.addString(path_, unescapeSd(value));
      }
    }
  }
  s.remove_prefix(i);
  return true;
}

bool SyslogDecoder::parse5424(std::string_view s, Envelope& env, DecodeError& error) {
  env.format = "rfc5424";
  auto field = [&](std::string_view name, std::string_view& out) {
    const std::size_t sp = s.find(' ');
    if (sp == s.npos || sp == 0) {
      error.reason = "malformed_syslog";
      error.detail = "RFC 5424 header: " + std::string(name) +
                     (sp == 0 ? " is empty (two spaces)" : " is missing");
      return false;
    }
    out = s.substr(0, sp);
    s.remove_prefix(sp + 1);
    return true;
  };
  if (!field("VERSION", env.version)) return false;
  if (env.version != "1") {
    error.reason = "malformed_syslog";
    error.detail = "unsupported syslog VERSION " + std::string(env.version);
    return false;
  }
  if (!field("TIMESTAMP", env.timestamp) || !field("HOSTNAME", env.hostname) ||
      !field("APP-NAME", env.appname) || !field("PROCID", env.procid) ||
      !field("MSGID", env.msgid)) {
    return false;
  }
  if (env.timestamp != "-") {
    if (!isRfc3339(env.timestamp)) {
      error.reason = "bad_timestamp";
      error.detail = "TIMESTAMP is not RFC 3339: " + std::string(env.timestamp.substr(0, 64));
      return false;
    }
    env.rfc3339 = env.timestamp;
  }
  if (s.empty()) {
    error.reason = "malformed_syslog";
    error.detail = "RFC 5424 header: STRUCTURED-DATA is missing";
    return false;
  }
  const std::string_view sd_start = s;
  if (s.front() == '-') {
    s.remove_prefix(1);
  } else if (s.front() == '[') {
    if (!parseStructuredData(s, error)) return false;
    env.structured_data = sd_start.substr(0, sd_start.size() - s.size());
  } else {
    error.reason = "malformed_structured_data";
    error.detail = "STRUCTURED-DATA is neither - nor [";
    return false;
  }
  if (!s.empty()) {
    if (s.front() != ' ') {
      error.reason = "malformed_structured_data";
      error.detail = "no space between STRUCTURED-DATA and MSG";
      return false;
    }
    s.remove_prefix(1);
    if (s.starts_with(kBom)) s.remove_prefix(kBom.size());
    env.msg = s;
    env.has_msg = true;
  }
  return true;
}

bool SyslogDecoder::parse3164(std::string_view s, bool has_pri, Envelope& env, DecodeError& error) {
  env.format = "rfc3164";
  int month = 0;
  std::size_t used = bsdTimestampLength(s, month);
  if (used != 0 && used < s.size() && s[used] != ' ') used = 0;
  if (used != 0) {
    env.timestamp = s.substr(0, used);
    // `YYYY-MM-DDTHH:MM:SS[.frac]Z`, the year assumed (header comment).
    char head[24];
    const int day = (s[4] == ' ' ? 0 : (s[4] - '0') * 10) + (s[5] - '0');
    std::snprintf(head, sizeof head, "%04d-%02d-%02dT", currentYear() % 10000, month, day);
    scratch_.assign(head);
    scratch_.append(s.substr(7, 8)).append(s.substr(15, used - 15)).push_back('Z');
    env.rfc3339 = table_.keep(scratch_);
  } else if (s.size() > 4 && digitsAt(s, {0, 1, 2, 3}) && s[4] == '-') {
    std::string_view rest = s;
    env.timestamp = takeWord(rest);
    if (!isRfc3339(env.timestamp)) {
      error.reason = "bad_timestamp";
      error.detail = "the time is not RFC 3339: " + std::string(env.timestamp.substr(0, 64));
      return false;
    }
    env.rfc3339 = env.timestamp;
    used = env.timestamp.size();
  } else if (has_pri) {
    // RFC 3164 section 4.3.2: no valid TIMESTAMP, so it is all CONTENT.
    env.msg = s;
    env.has_msg = !s.empty();
    return true;
  } else {
    error.reason = "malformed_syslog";
    error.detail = "neither <PRI> nor a syslog time at the start: " + std::string(s.substr(0, 32));
    return false;
  }
  s = skipSpaces(s.substr(used));
  std::string_view rest = s;
  std::string_view word = takeWord(rest);
  if (!isTagWord(word)) {
    env.hostname = word;
    s = skipSpaces(rest);
    rest = s;
    word = takeWord(rest);
  }
  if (isTagWord(word)) {
    env.tag = word.substr(0, word.size() - 1);
    const std::size_t bracket = env.tag.find('[');
    if (bracket != env.tag.npos && env.tag.back() == ']') {
      env.appname = env.tag.substr(0, bracket);
      env.procid = env.tag.substr(bracket + 1, env.tag.size() - bracket - 2);
    } else {
      env.appname = env.tag;
    }
    if (!rest.empty()) rest.remove_prefix(1);  // the space after the colon
    s = rest;
  }
  if (s.starts_with(kBom)) s.remove_prefix(kBom.size());
  env.msg = s;
  env.has_msg = !s.empty();
  return true;
}

void SyslogDecoder::addEnvelope(const Envelope& env) {
  table_.addString("syslog.format", env.format);
  if (env.pri_value >= 0) {
    table_.addNumber("log.syslog.priority", env.pri);
    table_.addNumber("log.syslog.facility.code", kNumbers[env.pri_value / 8]);
    table_.addString("log.syslog.facility.name", kFacilities[env.pri_value / 8]);
    table_.addNumber("log.syslog.severity.code", kNumbers[env.pri_value % 8]);
    table_.addString("log.syslog.severity.name", kSeverities[env.pri_value % 8]);
  }
  if (!env.version.empty()) table_.addNumber("log.syslog.version", env.version);
  if (!env.timestamp.empty() && env.timestamp != "-") {
    table_.addString("syslog.timestamp", env.timestamp);
  }
  auto present = [](std::string_view v) { return !v.empty() && v != "-"; };
  if (present(env.hostname)) {
    table_.addString("host.name", env.hostname);
    table_.addString("log.syslog.hostname", env.hostname);
  }
  if (present(env.appname)) {
    table_.addString("process.name", env.appname);
    table_.addString("log.syslog.appname", env.appname);
  }
  if (present(env.procid)) {
    table_.addString("log.syslog.procid", env.procid);
    if (allDigits(env.procid) && env.procid.size() <= 19) {
      table_.addNumber("process.pid", env.procid);
    }
  }
  if (present(env.msgid)) table_.addString("log.syslog.msgid", env.msgid);
  if (!env.tag.empty()) table_.addString("syslog.tag", env.tag);
  if (!env.structured_data.empty()) {
    table_.addString("log.syslog.structured_data", env.structured_data);
  }
  if (env.has_msg) table_.addString("message", env.msg);
}

std::string_view SyslogDecoder::decodeAtna(std::string_view x) {
  std::string_view event_time;
  bool closed = false;
  std::array<std::string_view, kAttrCount> a{};
  const std::size_t n = x.size();
  std::size_t i = 0;
  while (i < n) {
    const std::size_t lt = x.find('<', i);
    if (lt == x.npos) break;
    i = lt + 1;
    if (x.substr(i).starts_with("!--")) {
      const std::size_t end = x.find("-->", i + 3);
      i = end == x.npos ? n : end + 3;
      continue;
    }
    if (x.substr(i).starts_with("![CDATA[")) {
      const std::size_t end = x.find("]]>", i + 8);
      i = end == x.npos ? n : end + 3;
      continue;
    }
    const bool end_tag = i < n && x[i] == '/';
    if (end_tag) ++i;
    const std::size_t name_start = i;
    while (i < n && !isXmlSpace(x[i]) && x[i] != '>' && x[i] != '/' && x[i] != '<') ++i;
    const std::string_view element = localName(x.substr(name_start, i - name_start));
    if (end_tag || element.empty() || element[0] == '?' || element[0] == '!') {
      if (end_tag && element == "AuditMessage") closed = true;
      continue;
    }
    a.fill({});
    while (i < n) {
      while (i < n && isXmlSpace(x[i])) ++i;
      if (i >= n) break;
      if (x[i] == '>') {
        ++i;
        break;
      }
      if (x[i] == '<') break;  // a broken tag: scanning resumes at this '<'
      if (x[i] == '/') {
        ++i;
        continue;
      }
      const std::size_t an = i;
      while (i < n && !isXmlSpace(x[i]) && x[i] != '=' && x[i] != '>' && x[i] != '/' &&
             x[i] != '<') {
        ++i;
      }
      const std::string_view attr = localName(x.substr(an, i - an));
      while (i < n && isXmlSpace(x[i])) ++i;
      if (i >= n || x[i] != '=') continue;
      ++i;
      while (i < n && isXmlSpace(x[i])) ++i;
      if (i >= n || (x[i] != '"' && x[i] != '\'')) continue;
      const std::size_t close = x.find(x[i], i + 1);
      if (close == x.npos) {
        i = n;
        break;
      }
      const std::string_view value = x.substr(i + 1, close - i - 1);
      i = close + 1;
      for (int k = 0; k < kAttrCount; ++k) {
        if (attr == kAttrNames[k]) a[k] = value;
      }
    }

    auto add = [&](std::string_view path, Attr k) {
      if (!a[k].empty()) table_.addString(path, unescapeXml(a[k]));
    };
    if (element == "EventIdentification") {
      const std::string_view action = a[kEventActionCode];
      add("syslog.atna.event_action_code", kEventActionCode);
      std::string_view mapped;
      if (action == "C") mapped = "create";
      if (action == "R") mapped = "read";
      if (action == "U") mapped = "update";
      if (action == "D") mapped = "delete";
      if (action == "E") mapped = "execute";
      if (!mapped.empty()) table_.addString("event.action", mapped);
      const std::string_view outcome = a[kEventOutcomeIndicator];
      if (!outcome.empty()) {
        table_.addNumber("syslog.atna.event_outcome_indicator", outcome);
        table_.addString("event.outcome", outcome == "0" ? "success" : "failure");
      }
      add("syslog.atna.event_date_time", kEventDateTime);
      if (isRfc3339(a[kEventDateTime])) event_time = a[kEventDateTime];
    } else if (element == "EventID" || element == "EventTypeCode") {
      const bool id = element == "EventID";
      const std::string_view code = !a[kCsdCode].empty() ? a[kCsdCode] : a[kCode];
      const std::string_view name =
          unescapeXml(!a[kDisplayName].empty() ? a[kDisplayName] : a[kOriginalText]);
      if (!code.empty()) {
        const std::string_view v = unescapeXml(code);
        table_.addString(id ? "syslog.atna.event_id.code" : "syslog.atna.event_type_code.code", v);
        if (id) table_.addString("event.type", v);
      }
      if (!name.empty()) {
        table_.addString(
            id ? "syslog.atna.event_id.display_name" : "syslog.atna.event_type_code.display_name",
            name);
        if (id) table_.addString("event.type", name);
      }
    } else if (element == "ActiveParticipant") {
      add("syslog.atna.active_participant.user_id", kUserId);
      add("syslog.atna.active_participant.user_name", kUserName);
      add("syslog.atna.active_participant.network_access_point_id", kNetworkAccessPointId);
      const std::string_view requestor = a[kUserIsRequestor];
      if (requestor == "true" || requestor == "1") {
        add("user.id", kUserId);
        add("user.name", kUserName);
        // Type 1 is a machine name, 2 an IP address (RFC 3881 section 5.3).
        add(a[kNetworkAccessPointTypeCode] == "1" ? "source.domain" : "source.ip",
            kNetworkAccessPointId);
      }
    } else if (element == "ParticipantObjectIdentification") {
      add("syslog.atna.participant_object.id", kParticipantObjectId);
      add("syslog.atna.participant_object.type_code", kParticipantObjectTypeCode);
      add("syslog.atna.participant_object.type_code_role", kParticipantObjectTypeCodeRole);
      if (a[kParticipantObjectTypeCodeRole] == "1") add("patient.id", kParticipantObjectId);
    } else if (element == "AuditSourceIdentification") {
      add("syslog.atna.audit_source.id", kAuditSourceId);
    }
  }
  if (!closed) table_.addBool("syslog.atna.truncated", true);
  return event_time;
}

const Event* SyslogDecoder::wrap(const Event* body) {
  nested_.combine(table_, *body, syslog_path_);
  // A body decoder's raw text inside the record (a view of the body) stands
  // for the whole message; one of its own (records it joined) is its own.
  const std::string_view raw = body->raw();
  const bool inside = !record_.empty() && raw.data() >= record_.data() &&
                      raw.data() + raw.size() <= record_.data() + record_.size();
  nested_.raw_ = inside || raw.empty() ? record_ : raw;
  return &nested_;
}

const Event* SyslogDecoder::decodeBody(std::string_view msg, const Envelope& env, bool& held) {
  msg = skipSpaces(msg);
  // rsyslog's mmjsonparse cookie (Common Event Expression).
  if (msg.starts_with("@cee:")) msg = skipSpaces(msg.substr(5));
  if (msg.empty()) {
    table_.addString("syslog.body_error", "empty_body");
    return nullptr;
  }
  if (auditd_body_ && !msg.starts_with("node=") && !env.hostname.empty()) {
    body_buffer_.assign("node=").append(env.hostname).append(" ").append(msg);
    msg = body_buffer_;
  }
  DecodeError error;
  const Event* body = body_->decode(msg, error);
  if (body != nullptr) {
    body_active_ = true;
    return wrap(body);
  }
  if (error.reason.empty()) {
    held = true;
  } else {
    table_.addString("syslog.body_error", error.reason);
  }
  return nullptr;
}

const Event* SyslogDecoder::next(DecodeError& error) {
  if (!body_active_) return nullptr;
  const Event* body = body_->next(error);
  if (body == nullptr) {
    body_active_ = false;
    return nullptr;
  }
  return wrap(body);
}

const Event* SyslogDecoder::flush(DecodeError& error) {
  if (!body_) return nullptr;
  const Event* body = body_->flush(error);
  if (body == nullptr) return nullptr;
  // The last record may be gone by now: a flushed event has no envelope.
  record_ = {};
  table_.begin({});
  body_active_ = true;
  return wrap(body);
}

const Event* SyslogDecoder::decode(std::string_view record, DecodeError& error) {
  table_.begin(record);
  record_ = record;
  body_active_ = false;
  auto fail = [&]() -> const Event* {
    table_.begin(record);
    if (error.reason.empty()) error.reason = "malformed_syslog";
    return nullptr;
  };
  error = DecodeError{};
  std::string_view s = record;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == '\0')) {
    s.remove_suffix(1);
  }
  s = skipSpaces(s);
  if (s.starts_with(kBom)) s.remove_prefix(kBom.size());
  if (skipSpaces(s).empty()) {
    error.reason = "empty_record";
    error.detail = "the record is empty or only whitespace";
    return fail();
  }

  Envelope env;
  bool ok = false;
  if (s.front() == '<') {
    std::size_t j = 1;
    while (j < s.size() && j <= 3 && isDigit(s[j])) ++j;
    int pri = 0;
    std::from_chars(s.data() + 1, s.data() + j, pri);
    if (j == 1 || j >= s.size() || s[j] != '>' || pri > 191) {
      error.reason = "malformed_syslog";
      error.detail = "bad <PRI>: " + std::string(s.substr(0, 8));
      return fail();
    }
    env.pri = s.substr(1, j - 1);
    env.pri_value = pri;
    s.remove_prefix(j + 1);
    // RFC 5424 VERSION = NONZERO-DIGIT 0*2DIGIT, then SP.
    std::size_t v = 0;
    while (v < s.size() && v < 4 && isDigit(s[v])) ++v;
    if (v >= 1 && v <= 3 && s[0] != '0' && v < s.size() && s[v] == ' ') {
      ok = parse5424(s, env, error);
    } else {
      ok = parse3164(s, true, env, error);
    }
  } else {
    ok = parse3164(s, false, env, error);
  }
  if (!ok) return fail();
  addEnvelope(env);

  std::string_view timestamp = env.rfc3339;
  if (env.has_msg) {
    std::string_view body = env.msg;
    while (!body.empty() && isXmlSpace(body.front())) body.remove_prefix(1);
    const std::size_t root =
        body.starts_with("<") && atna_wanted_ ? body.find("<AuditMessage") : body.npos;
    if (root != body.npos) {
      const std::string_view atna_time = decodeAtna(body.substr(root));
      if (!atna_time.empty()) timestamp = atna_time;
    } else if (body_wanted_) {
      if (!timestamp.empty()) table_.addString("@timestamp", timestamp);
      bool held = false;
      const Event* event = decodeBody(env.msg, env, held);
      if (event != nullptr || held) return event;  // held: taken, with an empty reason
      return &table_;
    }
  }
  if (!timestamp.empty()) table_.addString("@timestamp", timestamp);
  return &table_;
}

}  // namespace trailwatch::decode
