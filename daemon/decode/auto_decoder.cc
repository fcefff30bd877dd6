#include "daemon/decode/auto_decoder.h"

#include <algorithm>

#include "daemon/decode/log_time.h"
#include "daemon/decode/registry.h"
#include "daemon/decode/syslog.h"

namespace trailwatch::decode {
namespace {

bool has(const std::vector<std::string>& known, std::string_view name) {
  return std::find(known.begin(), known.end(), name) != known.end();
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

std::string_view trimLeft(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  // A UTF-8 byte-order mark (some syslog senders write one).
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  return s;
}

bool looksLikeAuditd(std::string_view s) {
  if (s.starts_with("node=")) {
    const size_t space = s.find(' ');
    if (space == std::string_view::npos) return false;
    s.remove_prefix(space + 1);
  }
  return s.starts_with("type=") && contains(s.substr(0, 128), " msg=audit(");
}

bool looksLikeSyslog(std::string_view s) {
  if (s.size() < 3 || s[0] != '<') return false;
  size_t i = 1;
  while (i < s.size() && i <= 4 && s[i] >= '0' && s[i] <= '9') ++i;
  return i > 1 && i < s.size() && s[i] == '>';
}

// Syslog as written to files: `Mmm dd hh:mm:ss host tag…` (BSD) or an
// RFC 3339 time (`2026-11-23T10:00:00.123+00:00 host tag…`, rsyslog's
// default on Debian).
bool looksLikeSyslogFile(std::string_view s) {
  int month = 0;
  const std::size_t bsd = bsdTimestampLength(s, month);
  if (bsd > 0) return bsd < s.size() && s[bsd] == ' ';
  auto digit = [&](size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; };
  return s.size() > 20 && digit(0) && digit(1) && digit(2) && digit(3) && s[4] == '-' &&
         s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
         s.find(' ') != std::string_view::npos && s.find(' ') < 40;
}

// `host ident user [dd/Mon/yyyy:hh:mm:ss zone] "` (common and combined logs).
bool looksLikeAccessLog(std::string_view s) {
  size_t pos = 0;
  for (int field = 0; field < 3; ++field) {
    const size_t space = s.find(' ', pos);
    if (space == std::string_view::npos || space == pos) return false;
    pos = space + 1;
  }
  if (pos >= s.size() || s[pos] != '[') return false;
  const size_t close = s.find("] \"", pos);
  return close != std::string_view::npos && close - pos >= 20 && close - pos <= 40;
}

// The MSG of a syslog record, or "" when it has none or does not decode.
std::string syslogMessage(std::string_view record) {
  SyslogDecoder decoder;
  static const std::vector<std::string> kMessage = {"message"};
  decoder.setFields(kMessage);
  DecodeError error;
  const Event* event = decoder.decode(record, error);
  if (event == nullptr || event->values(0).empty()) return {};
  return std::string(event->values(0)[0].text);
}

}  // namespace

std::string detectFormat(std::string_view record, const std::vector<std::string>& known) {
  const std::string_view s = trimLeft(record);
  auto pick = [&](std::string_view name) -> std::string {
    return has(known, name) ? std::string(name) : std::string();
  };
  std::string chosen;
  if (s.starts_with("{")) {
    const std::string_view head = s.substr(0, 4096);
    if (contains(head, "\"resourceType\"") &&
        (contains(head, "\"AuditEvent\"") || contains(head, "\"Bundle\""))) {
      chosen = pick("fhir");
    } else if (contains(head, "\"auditID\"") && contains(head, "audit.k8s.io")) {
      chosen = pick("k8s-audit");
    } else if (contains(head, "\"Records\"") ||
               (contains(head, "\"eventSource\"") && contains(head, "\"awsRegion\""))) {
      chosen = pick("cloudtrail");
    }
  } else if (looksLikeAuditd(s)) {
    chosen = pick("auditd");
  } else if ((looksLikeSyslog(s) || looksLikeSyslogFile(s)) && has(known, "syslog")) {
    // A body in a recognised format (a JSON object, pgaudit, auditd, an
    // access log…) is read as that format; text stays syslog's `message`.
    chosen = "syslog";
    std::string body = syslogMessage(s);
    if (body.starts_with("@cee:")) body.erase(0, 5);  // rsyslog's JSON cookie
    const std::string inner = body.empty() ? std::string() : detectFormat(body, known);
    if (!inner.empty() && !inner.starts_with("syslog") &&
        (inner != "json" || trimLeft(body).starts_with("{"))) {
      chosen += "+" + inner;
    }
  } else if (contains(s, "AUDIT: SESSION,") || contains(s, "AUDIT: OBJECT,")) {
    chosen = pick("pgaudit");
  } else if (looksLikeAccessLog(s)) {
    chosen = pick("access-log");
  }
  return chosen.empty() ? std::string("json") : chosen;
}

void AutoDecoder::setFields(std::span<const std::string> paths) {
  paths_.assign(paths.begin(), paths.end());
  if (inner_) inner_->setFields(paths_);
}

const Event* AutoDecoder::decode(std::string_view record, DecodeError& error) {
  if (!settled_) {
    if (trimLeft(record).empty()) {
      error.reason = "empty_record";
      error.detail = "empty record (the format is picked from the first non-empty ones)";
      return nullptr;
    }
    std::vector<std::string> known = decoderNames();
    known.erase(std::remove(known.begin(), known.end(), "auto"), known.end());
    std::string format = detectFormat(record, known);
    // A log may open with lines of no format (a psql echo before pgaudit's
    // records): until a record is recognised, records are read as JSON.
    if (format != "json" || ++unrecognised_ >= kLookahead) {
      settled_ = true;
      if (format != chosen_) {
        chosen_ = std::move(format);
        inner_ = makeDecoder(chosen_);
        inner_->setFields(paths_);
      }
    } else if (!inner_) {
      chosen_ = "json";
      inner_ = makeDecoder(chosen_);
      inner_->setFields(paths_);
    }
  }
  return inner_->decode(record, error);
}

const Event* AutoDecoder::next(DecodeError& error) {
  return inner_ ? inner_->next(error) : nullptr;
}

const Event* AutoDecoder::flush(DecodeError& error) {
  return inner_ ? inner_->flush(error) : nullptr;
}

std::unique_ptr<Decoder> AutoDecoder::clone() const {
  return settled_ && inner_ ? inner_->clone() : nullptr;
}

}  // namespace trailwatch::decode
