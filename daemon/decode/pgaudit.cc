#include "daemon/decode/pgaudit.h"

#include <array>

#include "daemon/common/ascii.h"

namespace trailwatch::decode {
namespace {

constexpr std::string_view kAuditTag = "AUDIT: ";

// PostgreSQL's severity words (elog.c, error_severity()) and the labels of
// the secondary lines a stderr log writes with the same prefix. The first
// of them followed by ":  " ends the log_line_prefix.
constexpr std::string_view kSeverities[] = {
    "LOG",   "NOTICE", "WARNING", "INFO",      "DEBUG1", "DEBUG2", "DEBUG3",  "DEBUG4", "DEBUG5",
    "ERROR", "FATAL",  "PANIC",   "STATEMENT", "DETAIL", "HINT",   "CONTEXT", "QUERY",  "LOCATION"};

// The levels pgaudit.log_level may take, plus LOG (the server-only default).
bool isAuditSeverity(std::string_view s) {
  return s == "LOG" || s == "NOTICE" || s == "WARNING" || s == "INFO" ||
         (s.size() == 6 && s.substr(0, 5) == "DEBUG" && s[5] >= '1' && s[5] <= '5');
}

using ascii::isDigit;
bool isWordChar(char c) { return ascii::isAlnum(c) || c == '_'; }

bool isBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

// `YYYY-MM-DD HH:MM:SS` at the start of `s`.
bool startsWithDateTime(std::string_view s) {
  static constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd";
  if (s.size() < kShape.size()) return false;
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !isDigit(s[i]) : s[i] != kShape[i]) return false;
  }
  return true;
}

// Length of `%m` / `%t` text at the start of `s` (date, time, optional
// fraction, a space and the zone), or 0.
std::size_t logTimeLength(std::string_view s) {
  if (!startsWithDateTime(s)) return 0;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && isDigit(s[pos])) ++pos;
  }
  if (pos + 1 >= s.size() || s[pos] != ' ') return 0;
  ++pos;
  const std::size_t zone = pos;
  while (pos < s.size() && s[pos] != ' ' && s[pos] != ',') ++pos;
  return pos > zone ? pos : 0;
}

// csvlog records start with log_time and a comma; a stderr prefix has a
// space after the zone instead.
bool isCsvlogStart(std::string_view line) {
  const std::size_t n = logTimeLength(line);
  return n > 0 && n < line.size() && line[n] == ',';
}

// Finds the severity of a stderr log line. Sets `prefix_length` (where the
// severity word starts), `head.severity` and `message` (the offset after
// "SEVERITY:  ").
bool findSeverity(std::string_view line, std::string_view& severity, std::size_t& prefix_length,
                  std::size_t& message) {
  for (std::size_t pos = line.find(":  "); pos != std::string_view::npos;
       pos = line.find(":  ", pos + 1)) {
    for (std::string_view s : kSeverities) {
      if (pos < s.size() || line.compare(pos - s.size(), s.size(), s) != 0) continue;
      const std::size_t begin = pos - s.size();
      if (begin > 0 && isWordChar(line[begin - 1])) continue;
      severity = s;
      prefix_length = begin;
      message = pos + 3;
      return true;
    }
  }
  return false;
}

// The process id in a `[%p]` or `[%p-%l]` token of the prefix.
std::string_view findPid(std::string_view prefix) {
  for (std::size_t open = prefix.find('['); open != std::string_view::npos;
       open = prefix.find('[', open + 1)) {
    std::size_t end = open + 1;
    while (end < prefix.size() && isDigit(prefix[end])) ++end;
    if (end > open + 1 && end < prefix.size() && (prefix[end] == ']' || prefix[end] == '-')) {
      return prefix.substr(open + 1, end - open - 1);
    }
  }
  return {};
}

bool known(std::string_view name) { return !name.empty() && name != "[unknown]"; }

// User and database from the prefix: `user=%u` / `db=%d` tokens, else a
// last token `%u@%d` (Debian's '%m [%p] %q%u@%d ').
void findUserAndDatabase(std::string_view prefix, std::string_view& user,
                         std::string_view& database) {
  std::size_t pos = 0;
  while (pos < prefix.size()) {
    while (pos < prefix.size() && (prefix[pos] == ' ' || prefix[pos] == ',')) ++pos;
    std::size_t end = pos;
    while (end < prefix.size() && prefix[end] != ' ' && prefix[end] != ',') ++end;
    const std::string_view token = prefix.substr(pos, end - pos);
    if (token.starts_with("user=")) user = token.substr(5);
    if (token.starts_with("db=")) database = token.substr(3);
    pos = end;
  }
  if (!user.empty() || !database.empty()) return;
  std::string_view rest = prefix;
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  const std::size_t space = rest.rfind(' ');
  const std::string_view last = space == std::string_view::npos ? rest : rest.substr(space + 1);
  const std::size_t at = last.find('@');
  if (at == std::string_view::npos) return;
  user = last.substr(0, at);
  database = last.substr(at + 1);
}

// The host of csvlog's connection_from (`host:port`, `[local]` or empty).
std::string_view clientHost(std::string_view from) {
  if (from.empty() || from.front() == '[') return {};
  const std::size_t colon = from.rfind(':');
  if (colon == std::string_view::npos) return from;
  for (std::size_t i = colon + 1; i < from.size(); ++i) {
    if (!isDigit(from[i])) return from;
  }
  return from.substr(0, colon);
}

// pgaudit's classes as event.action values (lower case).
std::string_view lowerClass(std::string_view c) {
  static constexpr std::pair<std::string_view, std::string_view> kClasses[] = {
      {"READ", "read"},         {"WRITE", "write"}, {"DDL", "ddl"},          {"ROLE", "role"},
      {"FUNCTION", "function"}, {"MISC", "misc"},   {"MISC_SET", "misc_set"}};
  for (const auto& [upper, lower] : kClasses) {
    if (c == upper) return lower;
  }
  return {};
}

}  // namespace

void PgauditDecoder::CsvScanner::feed(std::string_view text) {
  for (char c : text) {
    if (in_quotes) {
      if (!quote_pending) {
        if (c == '"') quote_pending = true;
        continue;
      }
      quote_pending = false;
      if (c == '"') continue;  // `""`: a quote inside the field
      in_quotes = false;       // the field's closing quote; `c` is outside it
    }
    if (c == ',') {
      ++field;
      at_field_start = true;
    } else if (c == '"' && at_field_start) {
      in_quotes = true;
      at_field_start = false;
    } else {
      at_field_start = false;
    }
  }
}

void PgauditDecoder::setFields(std::span<const std::string> paths) { table_.setFields(paths); }

const Event* PgauditDecoder::decode(std::string_view record, DecodeError& error) {
  has_pending_ = false;
  error.reason = {};
  if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
  if (held_ == Layout::kNone) return start(record, error);

  if (held_ == Layout::kStderr && (record.empty() || record.front() != '\t')) {
    // PostgreSQL tab-indents every continuation line of a stderr log, so
    // this line is a new message: the held one was cut short.
    pending_ = record;
    has_pending_ = true;
    return emitHeld(true, error);
  }
  held_raw_ += '\n';
  held_raw_ += record;
  held_scan_.feed("\n");
  if (held_ == Layout::kCsvlog) {
    held_scan_.feed(record);
  } else {
    const std::string_view part = held_ == Layout::kStderr ? record.substr(1) : record;
    held_payload_ += '\n';
    held_payload_ += part;
    held_scan_.feed(part);
  }
  if (!held_scan_.open()) return emitHeld(false, error);
  if (held_raw_.size() > kMaxHeldBytes) return emitHeld(true, error);
  return nullptr;  // held: the quoted field goes on in the next line
}

const Event* PgauditDecoder::next(DecodeError& error) {
  if (!has_pending_) return nullptr;
  has_pending_ = false;
  error.reason = {};
  return start(pending_, error);
}

const Event* PgauditDecoder::flush(DecodeError& error) {
  has_pending_ = false;
  if (held_ == Layout::kNone) return nullptr;
  error.reason = {};
  return emitHeld(true, error);
}

const Event* PgauditDecoder::start(std::string_view line, DecodeError& error) {
  if (isBlank(line)) {
    error.reason = "empty_record";
    error.detail = "the record is empty or only whitespace";
    return nullptr;
  }
  if (isCsvlogStart(line)) {
    CsvScanner scan;
    scan.feed(line);
    if (!scan.open()) return emitCsvlog(line, false, error);
    held_ = Layout::kCsvlog;
    held_raw_.assign(line);
    held_scan_ = scan;
    return nullptr;
  }

  Head head;
  std::size_t prefix_length = 0, message = 0;
  if (!findSeverity(line, head.severity, prefix_length, message)) {
    error.reason = "not_an_audit_record";
    error.detail = "no PostgreSQL severity (LOG:, NOTICE:, ...) in the line";
    return nullptr;
  }
  if (!isAuditSeverity(head.severity) || line.compare(message, kAuditTag.size(), kAuditTag) != 0) {
    error.reason = "not_an_audit_record";
    error.detail =
        "a " + std::string(head.severity) + " message that is not a pgaudit AUDIT record";
    return nullptr;
  }
  const std::string_view payload = line.substr(message + kAuditTag.size());
  CsvScanner scan;
  scan.feed(payload);
  if (!scan.open()) return emitLine(line, line, payload, false, error);

  // The record continues on the next lines. Only the statement and the
  // fields after it may hold newlines in what pgaudit writes; checking that
  // now means the held record can always be emitted, even cut short.
  if (scan.field < 7 || !(payload.starts_with("SESSION,") || payload.starts_with("OBJECT,"))) {
    error.reason = "malformed_audit_record";
    error.detail = "a quoted field before the statement runs past the end of the line";
    return nullptr;
  }
  held_ = prefix_length == 0 ? Layout::kPlain : Layout::kStderr;
  held_raw_.assign(line);
  held_payload_.assign(payload);
  held_scan_ = scan;
  return nullptr;
}

const Event* PgauditDecoder::emitHeld(bool truncated, DecodeError& error) {
  const Layout layout = held_;
  held_ = Layout::kNone;
  if (layout == Layout::kCsvlog) return emitCsvlog(held_raw_, truncated, error);
  const std::string_view raw = held_raw_;
  return emitLine(raw, raw.substr(0, raw.find('\n')), held_payload_, truncated, error);
}

const Event* PgauditDecoder::emitLine(std::string_view raw, std::string_view first_line,
                                      std::string_view payload, bool truncated,
                                      DecodeError& error) {
  table_.begin(raw);
  Head head;
  std::size_t prefix_length = 0, message = 0;
  findSeverity(first_line, head.severity, prefix_length, message);
  const std::string_view prefix = first_line.substr(0, prefix_length);
  if (const std::size_t n = logTimeLength(prefix); n > 0) head.log_time = prefix.substr(0, n);
  head.pid = findPid(prefix);
  findUserAndDatabase(prefix, head.user, head.database);
  return fillAudit(head, payload, truncated, error);
}

const Event* PgauditDecoder::emitCsvlog(std::string_view raw, bool truncated, DecodeError& error) {
  table_.begin(raw);
  std::array<std::string_view, 14> columns;
  if (splitCsv(raw, columns) < columns.size()) {
    error.reason = "malformed_csvlog";
    error.detail = "a csvlog record with fewer than 14 columns (message is the 14th)";
    return nullptr;
  }
  Head head{.log_time = columns[0],
            .user = columns[1],
            .database = columns[2],
            .pid = columns[3],
            .severity = columns[11],
            .client = clientHost(columns[4])};
  const std::string_view message = columns[13];
  if (!isAuditSeverity(head.severity) || !message.starts_with(kAuditTag)) {
    error.reason = "not_an_audit_record";
    error.detail = "a csvlog message that is not a pgaudit AUDIT record";
    return nullptr;
  }
  return fillAudit(head, message.substr(kAuditTag.size()), truncated, error);
}

const Event* PgauditDecoder::fillAudit(const Head& head, std::string_view payload, bool truncated,
                                       DecodeError& error) {
  std::array<std::string_view, 10> f;
  const std::size_t n = splitCsv(payload, f);
  if (n < 8) {
    error.reason = "malformed_audit_record";
    error.detail = "an AUDIT record with " + std::to_string(n) + " fields; pgaudit writes 9 or 10";
    return nullptr;
  }
  if (f[0] != "SESSION" && f[0] != "OBJECT") {
    error.reason = "malformed_audit_record";
    error.detail = "audit type is neither SESSION nor OBJECT";
    return nullptr;
  }
  FieldTable& t = table_;
  if (!head.log_time.empty()) {
    if (t.wants("@timestamp")) t.addString("@timestamp", rfc3339(head.log_time));
    t.addString("pgaudit.log_time", head.log_time);
  }
  if (known(head.user)) {
    t.addString("db.user", head.user);
    t.addString("user.name", head.user);
  }
  if (known(head.database)) t.addString("db.name", head.database);
  if (!head.client.empty()) t.addString("source.ip", head.client);
  if (!head.pid.empty()) t.addNumber("pgaudit.pid", head.pid);
  t.addString("pgaudit.severity", head.severity);
  t.addString("event.category", "database");

  std::string_view action = lowerClass(f[3]);
  if (action.empty() && t.wants("event.action")) {
    scratch_.assign(f[3]);
    ascii::lowerInPlace(scratch_);
    action = t.keep(scratch_);
  }
  t.addString("event.action", action);
  t.addString("db.command", f[4]);
  if (!f[5].empty()) t.addString("db.object_type", f[5]);
  if (!f[6].empty()) t.addString("db.object", f[6]);
  t.addString("db.statement", f[7]);

  t.addString("pgaudit.audit_type", f[0]);
  t.addNumber("pgaudit.statement_id", f[1]);
  t.addNumber("pgaudit.substatement_id", f[2]);
  t.addString("pgaudit.class", f[3]);
  t.addString("pgaudit.command", f[4]);
  t.addString("pgaudit.object_type", f[5]);
  t.addString("pgaudit.object_name", f[6]);
  t.addString("pgaudit.statement", f[7]);
  if (n > 8) t.addString("pgaudit.parameter", f[8]);
  if (n > 9) t.addNumber("pgaudit.rows", f[9]);
  t.addBool("pgaudit.truncated", truncated);
  return &table_;
}

std::size_t PgauditDecoder::splitCsv(std::string_view text, std::span<std::string_view> out) {
  std::size_t n = 0, i = 0;
  while (n < out.size()) {
    std::size_t next = std::string_view::npos;  // the comma after the field
    if (i < text.size() && text[i] == '"') {
      std::size_t j = i + 1, close = text.size();
      bool escaped = false;
      while (j < text.size()) {
        if (text[j] != '"') {
          ++j;
        } else if (j + 1 < text.size() && text[j + 1] == '"') {
          escaped = true;
          j += 2;
        } else {
          close = j;
          break;
        }
      }
      const std::size_t after = close < text.size() ? close + 1 : text.size();
      next = text.find(',', after);
      const std::size_t end = next == std::string_view::npos ? text.size() : next;
      const std::string_view inner = text.substr(i + 1, close - i - 1);
      if (!escaped && end == after) {
        out[n++] = inner;
      } else {
        scratch_.clear();
        for (std::size_t k = 0; k < inner.size(); ++k) {
          scratch_ += inner[k];
          if (inner[k] == '"' && k + 1 < inner.size() && inner[k + 1] == '"') ++k;
        }
        scratch_.append(text.substr(after, end - after));  // text after the closing quote
        out[n++] = table_.keep(scratch_);
      }
    } else {
      next = text.find(',', i);
      out[n++] = text.substr(i, next == std::string_view::npos ? std::string_view::npos : next - i);
    }
    if (next == std::string_view::npos) break;
    i = next + 1;
  }
  return n;
}

std::string_view PgauditDecoder::rfc3339(std::string_view log_time) {
  const std::size_t n = logTimeLength(log_time);
  if (n != log_time.size()) return log_time;
  const std::size_t space = log_time.find(' ', 19);
  const std::string_view zone = log_time.substr(space + 1);
  scratch_.assign(log_time.substr(0, space));
  scratch_[10] = 'T';
  if (zone == "UTC" || zone == "GMT" || zone == "UCT" || zone == "Z") {
    scratch_ += 'Z';
  } else if ((zone[0] == '+' || zone[0] == '-') && zone.size() >= 3 && isDigit(zone[1]) &&
             isDigit(zone[2])) {
    // PostgreSQL prints numeric zones as +03, +0530 or +05:30.
    const std::string_view rest = zone.substr(3);
    scratch_.append(zone.substr(0, 3));
    if (rest.empty()) {
      scratch_ += ":00";
    } else if (rest.size() == 2 && isDigit(rest[0]) && isDigit(rest[1])) {
      scratch_ += ':';
      scratch_.append(rest);
    } else if (rest.size() == 3 && rest[0] == ':' && isDigit(rest[1]) && isDigit(rest[2])) {
      scratch_.append(rest);
    } else {
      return log_time;
    }
  } else {
    return log_time;  // a zone name (CET, EST…) cannot be resolved here
  }
  return table_.keep(scratch_);
}

}  // namespace trailwatch::decode
