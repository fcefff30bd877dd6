// SyslogDecoder: decodes one syslog message (RFC 5424 or RFC 3164 / BSD,
// with or without its <PRI>) into an Event, and reads what the message
// carries: IHE ATNA audit XML always, and, in the `syslog+FORMAT` formats,
// the message body as FORMAT (any other registered format: `syslog+json`,
// `syslog+kv`, `syslog+pgaudit`, `syslog+auditd`, `syslog+access-log`, …).
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
// `patient.id` and `syslog.atna.*`.
//
// A nested body (`syslog+FORMAT`): the message body (after a byte-order mark
// and rsyslog's `@cee:` cookie) goes to FORMAT's decoder, and the event is
// both: `message`, `log.syslog.*` and `syslog.*` are always the envelope's;
// every other path is the body's when the body has it (its own `@timestamp`
// and `host.name` are the event's, as an ATNA EventDateTime is), else the
// envelope's. A body the nested format rejects leaves the envelope decoded
// and sets `syslog.body_error` to the nested reason (`malformed_json`,
// `no_pairs`, `not_an_audit_record`…; `empty_body` for none). A body format
// that emits several events per record (a CloudTrail `Records` file, a FHIR
// Bundle) gives each the envelope; one that joins records (auditd) returns
// nothing while it holds them, and its event carries the envelope of the
// message it came out with (the one that completed it, or none at flush()).
// auditd bodies without `node=` are given the envelope's HOSTNAME as node,
// so records of different senders are never joined into one event.
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
// Lifetime: values point into the record, the decoder's scratch or the body
// decoder's, and stay valid until the next decode(), next(), flush() or
// setFields() call (event.h).
//
// Thread-safety: none; one decoder per thread (decoder.h).
#pragma once

#include <ctime>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/decode/field_table.h"
#include "trailwatch/decoder.h"

namespace trailwatch::decode {

class SyslogDecoder final : public Decoder {
 public:
  // `body` (may be null: the body is text) decodes the message body;
  // `body_format` is its format name.
  explicit SyslogDecoder(std::unique_ptr<Decoder> body = nullptr, std::string body_format = {});
  SyslogDecoder(const SyslogDecoder&) = delete;
  SyslogDecoder& operator=(const SyslogDecoder&) = delete;

  void setFields(std::span<const std::string> paths) override;
  const Event* decode(std::string_view record, DecodeError& error) override;
  std::unique_ptr<Decoder> clone() const override;
  const Event* next(DecodeError& error) override;
  const Event* flush(DecodeError& error) override;

  // The year given to RFC 3164 times; 0 (the default) means the current
  // year in UTC by the system clock. For tests and replays of old files.
  void setYear(int year) { fixed_year_ = year; }

 private:
  struct Envelope;

  // The event of a nested body: the envelope's syslog paths, the body's
  // values elsewhere, the envelope's where the body has none.
  class Nested final : public Event {
   public:
    std::string_view raw() const override { return raw_; }
    // Publishes, per field, the values it takes from `envelope` and `body`.
    void combine(const Event& envelope, const Event& body, const std::vector<bool>& syslog_path);

    std::string_view raw_;

   private:
    std::vector<std::span<const FieldValue>> combined_;  // by FieldId
    std::vector<FieldId> present_;                       // ids with values (Event::present())
  };

  bool parse5424(std::string_view s, Envelope& env, DecodeError& error);
  bool parseStructuredData(std::string_view& s, DecodeError& error);
  bool parse3164(std::string_view s, bool has_pri, Envelope& env, DecodeError& error);
  void addEnvelope(const Envelope& env);
  // Reads ATNA XML in `msg`; returns the EventDateTime when valid RFC 3339.
  std::string_view decodeAtna(std::string_view msg);
  // Hands `msg` to the body decoder; the event to return, or nullptr with
  // `held` set when the body decoder holds the record.
  const Event* decodeBody(std::string_view msg, const Envelope& env, bool& held);
  // `body` wrapped with the envelope in table_.
  const Event* wrap(const Event* body);
  // `text` with RFC 5424 SD escapes / XML entities undone (into the table's
  // arena), or `text` itself when there are none.
  std::string_view unescapeSd(std::string_view text);
  std::string_view unescapeXml(std::string_view text);
  int currentYear();

  std::unique_ptr<Decoder> body_;
  bool auditd_body_ = false;
  FieldTable table_;
  Nested nested_;
  std::vector<bool> syslog_path_;
  std::string_view record_;  // the record decode() was given
  std::string scratch_;
  std::string path_;         // built `syslog.sd.<id>.<name>` paths
  std::string body_buffer_;  // an auditd body with `node=` put in front
  bool sd_wanted_ = false;
  bool atna_wanted_ = false;
  bool body_wanted_ = false;
  bool body_active_ = false;  // next() may have more body events
  int fixed_year_ = 0;
  int year_ = 0;
  std::time_t year_ends_ = 0;  // when year_ must be computed again
};

}  // namespace trailwatch::decode
