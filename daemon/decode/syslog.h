// SyslogDecoder: decodes one syslog message (RFC 5424 or RFC 3164 / BSD,
// with or without its <PRI>) into an Event, and reads what the message
// carries: IHE ATNA audit XML always, and, in the `syslog+json` and
// `syslog+kv` formats, a JSON object or key=value body.
//
// Format references:
// - RFC 5424 "The Syslog Protocol", section 6 (syntax):
//     <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP MSG]
//   `-` is the NILVALUE. STRUCTURED-DATA is `-` or `[SD-ID *(SP
//   PARAM-NAME="PARAM-VALUE")]...`; inside a value `\"`, `\\` and `\]` are
//   escapes and any other backslash is itself (section 6.3.3). MSG may start
//   with a UTF-8 byte-order mark (section 6.4), which is dropped.
// - RFC 3164 "The BSD syslog Protocol", section 4.1: `<PRI>Mmm dd hh:mm:ss
//   HOSTNAME TAG[PID]: MSG`; as written to /var/log files the <PRI> is
//   absent; messages a program sends to /dev/log carry no HOSTNAME
//   (`<13>Nov 23 10:00:00 sshd[7]: ...`); rsyslog's default file format on
//   Debian replaces the time by RFC 3339 (`2026-11-23T10:00:00.123456+00:00
//   host tag[pid]: msg`). A <PRI> followed by no valid time is, as a relay
//   would read it (section 4.3.2), all message. A word after the host that
//   does not end in `:` is no tag (RFC 3164 section 5.4 example 2: `Use the
//   BFG!` is all message).
// - IHE ITI TF-2 section 3.20 (ATNA) / RFC 3881 / DICOM PS3.15 Annex A.5:
//   an `<AuditMessage>` XML document as the MSG (a byte-order mark or an
//   `<?xml ...?>` declaration before it is fine). It is read by a small
//   tolerant scanner, not an XML parser: element names (namespace prefixes
//   dropped) and their attributes, with the five predefined entities and
//   numeric character references decoded. Missing or broken parts give no
//   fields; they never reject the record.
//
// Time: RFC 5424 and RFC 3339 times are `@timestamp` as written (views into
// the record). An RFC 3164 time has no year and no zone: it is taken as the
// current year in UTC (the system clock's year when decoded; a December
// record read in January lands a year late) and written `YYYY-MM-DDTHH:MM:SS
// [.frac]Z`. An ATNA EventDateTime that is valid RFC 3339 is `@timestamp`
// instead (the event's own time); the envelope's is still `syslog.timestamp`.
//
// Fields (only those a rule reads are kept; docs/formats/syslog.md has the
// full list and an example): `@timestamp`, `host.name`, `message`,
// `process.name`, `process.pid`, `log.syslog.{priority, version, hostname,
// appname, procid, msgid, structured_data}`, `log.syslog.facility.{code,
// name}`, `log.syslog.severity.{code, name}`; own fields `syslog.format`
// (`rfc5424` / `rfc3164`), `syslog.timestamp` (as written), `syslog.tag`,
// `syslog.sd.<SD-ID>.<PARAM-NAME>` (one value per occurrence),
// `syslog.sd_id` (every SD-ID), `syslog.body_error`; ATNA: `event.action`,
// `event.outcome`, `event.type`, `user.id`, `user.name`, `source.ip`,
// `patient.id` and `syslog.atna.*`. Body formats: `syslog+json` offers the
// JSON object's fields at their own dotted paths (JsonDecoder's semantics,
// json_fields.h), `syslog+kv` each `key=value` / `key="quoted value"` pair as
// `kv.<key>` and `<key>`. A body never shadows the envelope: body paths equal
// to `@timestamp`, `host.name`, `message`, `process.name`, `process.pid` or
// under `log.syslog.`, `syslog.` are not looked up in the body. A body that
// is not what the format expects leaves the envelope decoded and sets
// `syslog.body_error` (`malformed_json`, `not_an_object`, `too_deep`,
// `empty_body`; `no_pairs` for a key=value body without one).
//
// Errors (DecodeError::reason): `empty_record`; `malformed_syslog` (bad
// <PRI>, unsupported version, a missing or empty RFC 5424 header field, a
// line with neither <PRI> nor a time); `bad_timestamp` (an RFC 5424 or
// RFC 3339 time that is not valid RFC 3339); `malformed_structured_data`
// (an RFC 5424 STRUCTURED-DATA element that does not follow section 6.3).
//
// Bytes are not checked for UTF-8: values are the record's bytes. Octet-
// counting framing (RFC 6587) is the source's business, not the decoder's.
//
// Lifetime: values point into the record, the JSON parser's string buffer or
// the decoder's scratch and stay valid until the next decode() or
// setFields() call (event.h).
//
// Thread-safety: none; one decoder per thread (decoder.h).
#pragma once

#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "daemon/decode/field_table.h"
#include "daemon/decode/json_fields.h"
#include "trailwatch/decoder.h"

namespace trailwatch::decode {

class SyslogDecoder : public Decoder {
 public:
  // What the message body is read as besides ATNA XML.
  enum class Body { kText, kJson, kKeyValue };

  explicit SyslogDecoder(Body body = Body::kText);
  SyslogDecoder(const SyslogDecoder&) = delete;
  SyslogDecoder& operator=(const SyslogDecoder&) = delete;

  void setFields(std::span<const std::string> paths) override;
  const Event* decode(std::string_view record, DecodeError& error) override;

  // The year given to RFC 3164 times; 0 (the default) means the current
  // year in UTC by the system clock. For tests and replays of old files.
  void setYear(int year) { fixed_year_ = year; }

 private:
  struct Envelope;

  bool parse5424(std::string_view s, Envelope& env, DecodeError& error);
  bool parseStructuredData(std::string_view& s, DecodeError& error);
  bool parse3164(std::string_view s, bool has_pri, Envelope& env, DecodeError& error);
  void addEnvelope(const Envelope& env);
  // Reads ATNA XML in `msg`; returns the EventDateTime when valid RFC 3339.
  std::string_view decodeAtna(std::string_view msg);
  void decodeJsonBody(std::string_view msg);
  void decodeKeyValueBody(std::string_view msg);
  // `text` with RFC 5424 SD escapes / XML entities / kv backslashes undone
  // (into the table's arena), or `text` itself when there are none.
  std::string_view unescapeSd(std::string_view text);
  std::string_view unescapeXml(std::string_view text);
  std::string_view unescapeKv(std::string_view text);
  int currentYear();

  Body body_;
  FieldTable table_;
  std::string scratch_;
  std::string path_;  // built `syslog.sd.<id>.<name>` / `kv.<key>` paths
  bool sd_wanted_ = false;
  bool atna_wanted_ = false;
  bool body_wanted_ = false;
  simdjson::dom::parser parser_;
  NativeJsonFields native_;
  int fixed_year_ = 0;
  int year_ = 0;
  std::time_t year_ends_ = 0;  // when year_ must be computed again
};

// `syslog+json`: the body is a JSON object (rsyslog's `@cee:` cookie before
// it is allowed).
class SyslogJsonDecoder final : public SyslogDecoder {
 public:
  SyslogJsonDecoder() : SyslogDecoder(Body::kJson) {}
};

// `syslog+kv`: the body is `key=value key2="quoted value"` pairs.
class SyslogKeyValueDecoder final : public SyslogDecoder {
 public:
  SyslogKeyValueDecoder() : SyslogDecoder(Body::kKeyValue) {}
};

}  // namespace trailwatch::decode
