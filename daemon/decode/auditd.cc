#include "daemon/decode/auditd.h"

#include <algorithm>
#include <charconv>

#include "daemon/common/ascii.h"

namespace trailwatch::decode {
namespace {

struct Header {
  std::string_view node;
  std::string_view type;
  std::string_view time;  // "SECONDS.MILLIS" as written
  std::string_view serial_text;
  std::string_view body;
  int64_t seconds = 0;
  uint64_t serial = 0;
};

constexpr std::size_t kMaxTypeLength = 64;
constexpr std::size_t kMaxNodeLength = 255;

bool isSeparator(char c) { return c == ' ' || c == '\t' || c == '\x1d'; }
using ascii::equalsFolded;
using ascii::hexValue;
using ascii::isDigit;
using ascii::isHexDigit;

std::string_view skipSpaces(std::string_view s) {
  while (!s.empty() && isSeparator(s.front())) s.remove_prefix(1);
  return s;
}

// The word up to the next separator.
std::string_view word(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && !isSeparator(s[n])) ++n;
  return s.substr(0, n);
}

std::size_t digitRun(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && isDigit(s[n])) ++n;
  return n;
}

// Parses `[node=N ]type=T (msg=)?audit(S.MS:SERIAL):` and leaves the rest in
// body. On failure returns the reason word and fills detail.
std::string_view parseHeader(std::string_view record, Header& h, std::string& detail) {
  std::string_view s = skipSpaces(record);
  if (s.empty()) {
    detail = "the record is empty or only whitespace";
    return "empty_record";
  }
  if (s.starts_with("node=")) {
    h.node = word(s.substr(5));
    s = skipSpaces(s.substr(5 + h.node.size()));
    if (h.node.empty() || h.node.size() > kMaxNodeLength) {
      detail = "the node= name is empty or longer than 255 bytes";
      return "bad_audit_header";
    }
  }
  if (!s.starts_with("type=")) {
    detail = "the record does not start with [node=...] type=...";
    return "not_an_audit_record";
  }
  h.type = word(s.substr(5));
  s = skipSpaces(s.substr(5 + h.type.size()));
  if (s.starts_with("msg=")) s.remove_prefix(4);
  if (!s.starts_with("audit(")) {
    detail = "no msg=audit(time:serial) after the record type";
    return "not_an_audit_record";
  }
  const bool type_ok = !h.type.empty() && h.type.size() <= kMaxTypeLength &&
                       std::all_of(h.type.begin(), h.type.end(),
                                   [](char c) { return ascii::isAlnum(c) || c == '_'; });
  if (!type_ok) {
    detail = "the record type is empty, too long or not a word";
    return "bad_audit_header";
  }
  s.remove_prefix(6);
  const std::size_t secs = digitRun(s);
  std::size_t at = secs;
  if (at < s.size() && s[at] == '.') at += 1 + digitRun(s.substr(at + 1));
  if (secs == 0 || secs > 18 || at >= s.size() || s[at] != ':') {
    detail = "malformed time in audit(SECONDS.MILLIS:SERIAL)";
    return "bad_audit_header";
  }
  h.time = s.substr(0, at);
  std::from_chars(s.data(), s.data() + secs, h.seconds);
  s.remove_prefix(at + 1);
  const std::size_t serial = digitRun(s);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + serial, h.serial);
  if (serial == 0 || ec != std::errc() || serial >= s.size() || s[serial] != ')') {
    detail = "malformed serial in audit(SECONDS.MILLIS:SERIAL)";
    return "bad_audit_header";
  }
  (void)ptr;
  h.serial_text = s.substr(0, serial);
  s.remove_prefix(serial + 1);
  if (!s.empty() && s.front() == ':') s.remove_prefix(1);
  h.body = s;
  return {};
}

// Fields auditd writes through audit_encode_value / audit_log_untrustedstring:
// hex when the text holds a space, quote or control byte.
bool isEncodedField(std::string_view type, std::string_view key) {
  static constexpr std::string_view kEncoded[] = {"proctitle", "name", "path", "cwd",  "cmd",
                                                  "comm",      "exe",  "data", "acct", "key"};
  if (std::find(std::begin(kEncoded), std::end(kEncoded), key) != std::end(kEncoded)) return true;
  // EXECVE's arguments: a0, a1, ... (not SYSCALL's a0..a3, which are numbers).
  if (key.size() >= 2 && key[0] == 'a' &&
      std::all_of(key.begin() + 1, key.end(), [](char c) { return isDigit(c); })) {
    return equalsFolded(type, "execve");
  }
  return false;
}

bool isHexText(std::string_view v) {
  return !v.empty() && v.size() % 2 == 0 && std::all_of(v.begin(), v.end(), isHexDigit);
}

}  // namespace

void AuditdDecoder::setFields(std::span<const std::string> paths) { table_.setFields(paths); }

const Event* AuditdDecoder::decode(std::string_view record, DecodeError& error) {
  Header h;
  std::string detail;
  if (std::string_view reason = parseHeader(record, h, detail); !reason.empty()) {
    error.reason = reason;
    error.detail = std::move(detail);
    return nullptr;
  }
  // Events left behind by the time the log has moved on are complete.
  for (std::size_t i = 0; i < open_.size();) {
    if (h.seconds - open_[i].seconds > kEventTimeoutSeconds) {
      complete(i);
    } else {
      ++i;
    }
  }
  std::size_t index = open_.size();
  for (std::size_t i = 0; i < open_.size(); ++i) {
    if (open_[i].serial == h.serial && open_[i].node == h.node) {
      index = i;
      break;
    }
  }
  if (index < open_.size() && open_[index].text.size() + record.size() > kMaxEventBytes) {
    complete(index);
    index = open_.size();
  }
  if (index == open_.size()) {
    Held& held = open_.emplace_back();
    held.node = h.node;
    held.serial = h.serial;
    held.seconds = h.seconds;
  }
  Held& held = open_[index];
  if (!held.text.empty()) held.text.push_back('\n');
  held.records.emplace_back(held.text.size(), record.size());
  held.text.append(record);
  held_bytes_ += record.size() + 1;

  if (equalsFolded(h.type, "eoe")) {
    complete(index);
  }
  while (!open_.empty() && (open_.size() > kMaxOpenEvents || held_bytes_ > kMaxHeldBytes)) {
    complete(0);
  }
  return emitNext();
}

const Event* AuditdDecoder::next(DecodeError& error) {
  (void)error;
  return emitNext();
}

const Event* AuditdDecoder::flush(DecodeError& error) {
  (void)error;
  while (!open_.empty()) complete(0);
  return emitNext();
}

void AuditdDecoder::complete(std::size_t open_index) {
  held_bytes_ -= std::min(held_bytes_, open_[open_index].text.size() + 1);
  ready_.push_back(std::move(open_[open_index]));
  open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(open_index));
}

const Event* AuditdDecoder::emitNext() {
  if (ready_.empty()) return nullptr;
  current_ = std::move(ready_.front());
  ready_.pop_front();
  buildEvent();
  return &table_;
}

void AuditdDecoder::buildEvent() {
  table_.begin(current_.text);
  summary_ = Summary{};
  std::string_view first_type;
  bool first = true;
  for (auto [offset, length] : current_.records) {
    const std::string_view record(current_.text.data() + offset, length);
    Header h;
    std::string detail;
    if (!parseHeader(record, h, detail).empty()) continue;  // checked when it was held
    if (first) {
      first = false;
      first_type = h.type;
      table_.addString("@timestamp", h.time);
      table_.addNumber("auditd.serial", h.serial_text);
      if (!h.node.empty()) {
        table_.addString("host.name", h.node);
        table_.addString("auditd.node", h.node);
      }
    }
    table_.addString("auditd.type", h.type);
    if (equalsFolded(h.type, "avc")) {
      // `avc:  denied  { read write } for  pid=...`: the result and the
      // permissions are bare words, not key=value pairs (auparse names them
      // seresult and seperms).
      std::string_view s = skipSpaces(h.body);
      if (s.starts_with("avc:")) {
        s = skipSpaces(s.substr(4));
        const std::string_view result = word(s);
        if (!result.empty() && result != "{") table_.addString("auditd.avc.seresult", result);
        const std::size_t open = s.find('{');
        const std::size_t close = s.find('}');
        if (open != std::string_view::npos && close != std::string_view::npos && open < close) {
          scratch_.clear();
          std::string_view perms = s.substr(open + 1, close - open - 1);
          while (!(perms = skipSpaces(perms)).empty()) {
            const std::string_view perm = word(perms);
            if (!scratch_.empty()) scratch_.push_back(',');
            scratch_.append(perm);
            perms.remove_prefix(perm.size());
          }
          table_.addString("auditd.avc.seperms", table_.keep(scratch_));
        }
      }
    }
    parseBody(h.type, h.body, false);
  }
  const Summary& s = summary_;
  if (!s.auid.empty()) {
    table_.addNumber("auditd.auid", s.auid);
    if (s.auid != "4294967295" && s.auid != "-1") table_.addString("user.id", s.auid);
  }
  if (!s.uid.empty()) table_.addNumber("auditd.uid", s.uid);
  if (!s.acct.empty()) {
    table_.addString("user.name", s.acct);
  } else if (!s.auid_name.empty() && s.auid_name != "unset") {
    table_.addString("user.name", s.auid_name);
  }
  if (!s.exe.empty()) table_.addString("process.executable", s.exe);
  if (!s.command_line.empty()) table_.addString("process.command_line", s.command_line);
  if (!s.syscall_name.empty()) {
    table_.addString("event.action", s.syscall_name);
  } else if (!first_type.empty()) {
    scratch_.assign(first_type);
    ascii::lowerInPlace(scratch_);
    table_.addString("event.action", table_.keep(scratch_));
  }
  if (!s.outcome.empty()) table_.addString("event.outcome", s.outcome);
  if (!s.addr.empty()) table_.addString("source.ip", s.addr);
}

void AuditdDecoder::parseBody(std::string_view type, std::string_view body, bool nested) {
  std::string_view s = body;
  while (true) {
    s = skipSpaces(s);
    while (!s.empty() && (s.front() == '(' || s.front() == ',')) s.remove_prefix(1);
    if (s.empty()) return;
    // A key runs to '=' or a separator; a token without '=' (`user`,
    // `PAM:`, `avc:`, `{ read }`) is not a field.
    std::size_t k = 0;
    while (k < s.size() && s[k] != '=' && !isSeparator(s[k])) ++k;
    if (k == s.size() || s[k] != '=' || k == 0) {
      s.remove_prefix(k == 0 ? 1 : k);
      continue;
    }
    const std::string_view key = s.substr(0, k);
    s.remove_prefix(k + 1);
    if (!s.empty() && s.front() == '"') {
      // auditd never escapes inside quotes: anything with a quote is hex.
      const std::size_t end = s.find('"', 1);
      const std::size_t stop = end == std::string_view::npos ? s.size() : end;
      addField(type, key, s.substr(1, stop - 1), true);
      s.remove_prefix(std::min(s.size(), stop + 1));
      continue;
    }
    if (!s.empty() && s.front() == '\'' && !nested) {
      // User-space records: msg='op=... acct="alice" res=success'.
      const std::size_t end = s.find('\'', 1);
      const std::size_t stop = end == std::string_view::npos ? s.size() : end;
      const std::string_view inner = s.substr(1, stop - 1);
      addField(type, key, inner, true);
      parseBody(type, inner, true);
      s.remove_prefix(std::min(s.size(), stop + 1));
      continue;
    }
    std::string_view value = word(s);
    s.remove_prefix(value.size());
    // `(hostname=?, addr=?, terminal=cron res=success)`: auparse drops the
    // list punctuation around bare values.
    while (!value.empty() && value.back() == ',') value.remove_suffix(1);
    if (!value.empty() && value.back() == ')' && value.find('(') == std::string_view::npos) {
      value.remove_suffix(1);
    }
    addField(type, key, value, false);
  }
}

void AuditdDecoder::addField(std::string_view type, std::string_view key, std::string_view value,
                             bool quoted) {
  if (!quoted && isEncodedField(type, key) && isHexText(value)) {
    scratch_.clear();
    for (std::size_t i = 0; i + 1 < value.size(); i += 2) {
      const char c = static_cast<char>(hexValue(value[i]) * 16 + hexValue(value[i + 1]));
      scratch_.push_back(c);
    }
    // A command line's arguments are NUL-separated; auparse shows spaces.
    while (!scratch_.empty() && scratch_.back() == '\0') scratch_.pop_back();
    if (key != "key") std::replace(scratch_.begin(), scratch_.end(), '\0', ' ');
    value = table_.keep(scratch_);
    quoted = true;
  }

  path_.assign("auditd.");
  for (char c : type) path_.push_back(ascii::toLower(c));
  path_.push_back('.');
  path_.append(key);
  if (quoted) {
    table_.addString(path_, value);
  } else {
    table_.addNumber(path_, value);
  }

  Summary& s = summary_;
  const bool known = !value.empty() && value != "?" && value != "(null)" && value != "(none)";
  if (key == "auid") {
    if (s.auid.empty() && known) s.auid = value;
  } else if (key == "uid") {
    if (s.uid.empty() && known) s.uid = value;
  } else if (key == "acct") {
    if (s.acct.empty() && known) s.acct = value;
  } else if (key == "AUID") {
    if (s.auid_name.empty() && known) s.auid_name = value;
  } else if (key == "exe") {
    if (s.exe.empty() && known) s.exe = value;
  } else if (key == "proctitle") {
    if (s.command_line.empty() && known) s.command_line = value;
  } else if (key == "SYSCALL") {
    if (s.syscall_name.empty() && known) s.syscall_name = value;
  } else if (key == "addr") {
    if (s.addr.empty() && known) s.addr = value;
  } else if (key == "success" || key == "res") {
    if (s.outcome.empty()) {
      if (value == "yes" || value == "success" || value == "1") {
        s.outcome = "success";
      } else if (value == "no" || value == "failed" || value == "failure" || value == "0") {
        s.outcome = "failure";
      }
    }
  } else if (key == "name" && equalsFolded(type, "path")) {
    if (known) table_.addString("file.path", value);
  } else if (key == "key" && known) {
    // Several rule keys are one hex value joined by \x01 (AUDIT_KEY_SEPARATOR).
    std::string_view keys = value;
    while (!keys.empty()) {
      const std::size_t sep = keys.find('\x01');
      const std::string_view one = keys.substr(0, sep);
      if (!one.empty()) table_.addString("auditd.key", one);
      if (sep == std::string_view::npos) break;
      keys.remove_prefix(sep + 1);
    }
  }
}

}  // namespace trailwatch::decode
