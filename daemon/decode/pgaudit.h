// PgauditDecoder: decodes pgaudit `AUDIT:` records out of PostgreSQL server
// logs into Events, one event per audit record.
//
// Inputs it recognizes, line by line (the file source hands out one line
// per record):
// - stderr logs with a log_line_prefix: the first `SEVERITY:  ` token of the
//   line (LOG, NOTICE, WARNING, INFO, DEBUG1-5 for audit records; ERROR,
//   DETAIL, STATEMENT… are recognized and rejected) ends the prefix. From the
//   prefix it takes, when present, a leading `%m`/`%t` time
//   (`2026-11-23 10:00:00.123 UTC`), the `[%p]` process id and the user and
//   database from a trailing `%u@%d` token (Debian's default
//   '%m [%p] %q%u@%d ') or from `user=%u` / `db=%d` tokens.
// - the same message with no prefix at all (`NOTICE:  AUDIT: …`, as psql
//   prints client-side audit records and as pgaudit's regression output
//   holds them).
// - csvlog, per the PostgreSQL 15 documentation, "Using CSV-Format Log
//   Output" (runtime-config-logging.html#RUNTIME-CONFIG-LOGGING-CSVLOG):
//   log_time, user_name, database_name, process_id, connection_from, …,
//   error_severity (12th), …, message (14th) with `""` escapes and embedded
//   newlines.
//
// The AUDIT payload (pgaudit README, "Format"): AUDIT_TYPE (SESSION or
// OBJECT), STATEMENT_ID, SUBSTATEMENT_ID, CLASS, COMMAND, OBJECT_TYPE,
// OBJECT_NAME, STATEMENT, PARAMETER and, with pgaudit.log_rows, ROWS; CSV,
// a field quoted when it holds `"`, `,`, CR or LF, `"` doubled inside.
//
// Records spanning lines: a quoted statement with newlines arrives as
// several records. In a stderr log PostgreSQL starts every continuation
// line with a tab (elog.c, append_with_tabs); without a prefix and in
// csvlog the lines come as they are. The decoder holds the record
// (decode() returns nullptr with an empty reason) until the quoted field
// closes, copying the lines into its own buffer, and then returns the event.
// A stderr line without the tab while a quote is still open ends the held
// record early: decode() returns the held event (`pgaudit.truncated` true)
// and next() the event of the line just read. flush() returns a held
// record as it stands (truncated). A held record larger than kMaxHeldBytes
// is cut there.
//
// Errors (DecodeError::reason): `empty_record` (empty or whitespace-only),
// `not_an_audit_record` (a log line whose message is not a pgaudit AUDIT
// record, one per line for stderr logs, one per record for csvlog),
// `malformed_audit_record` (an AUDIT payload with fewer than 8 fields, an
// audit type other than SESSION/OBJECT, or a quote opened before the
// statement field that spans lines), `malformed_csvlog` (a csvlog record
// with fewer than 14 columns).
//
// Fields: see docs/formats/pgaudit.md. Values are views into the record,
// into the decoder's held-record buffer, or (text that had to be rewritten:
// `""` unescaped, the time made RFC 3339, the class lower-cased) into the
// FieldTable's scratch arena.
//
// Lifetime: as event.h says; every view stays valid until the next
// decode(), next(), flush() or setFields() call.
//
// Thread-safety: none; one decoder per thread (decoder.h).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "daemon/decode/field_table.h"
#include "trailwatch/decoder.h"
#include "trailwatch/event.h"

namespace trailwatch::decode {

class PgauditDecoder final : public Decoder {
 public:
  // Bound on a record held across lines: past it the record is emitted cut
  // (`pgaudit.truncated`), so a broken or hostile file cannot make the
  // decoder buffer without limit.
  static constexpr std::size_t kMaxHeldBytes = 1 << 20;

  void setFields(std::span<const std::string> paths) override;
  const Event* decode(std::string_view record, DecodeError& error) override;
  const Event* next(DecodeError& error) override;
  const Event* flush(DecodeError& error) override;

  // CSV state carried across the lines of one record: whether the text
  // seen so far ends inside a quoted field, and which field it is in.
  // Same leniency as the field parser: a quote opens a field only at its
  // start, `""` inside quotes is a quote, text after a closing quote is
  // kept literally up to the next comma.
  struct CsvScanner {
    bool at_field_start = true;
    bool in_quotes = false;
    bool quote_pending = false;  // saw `"` inside quotes: closes unless another follows
    std::size_t field = 0;
    void feed(std::string_view text);
    bool open() const { return in_quotes && !quote_pending; }
  };

 private:
  enum class Layout : unsigned char { kNone, kStderr, kPlain, kCsvlog };

  // What precedes the AUDIT payload of a log line.
  struct Head {
    std::string_view log_time, user, database, pid, severity, client;
  };

  const Event* start(std::string_view line, DecodeError& error);
  const Event* emitHeld(bool truncated, DecodeError& error);
  const Event* emitLine(std::string_view raw, std::string_view first_line, std::string_view payload,
                        bool truncated, DecodeError& error);
  const Event* emitCsvlog(std::string_view raw, bool truncated, DecodeError& error);
  const Event* fillAudit(const Head& head, std::string_view payload, bool truncated,
                         DecodeError& error);
  // Splits CSV `text` into at most `out.size()` fields (views, or kept text
  // when unescaped); returns the number of fields found.
  std::size_t splitCsv(std::string_view text, std::span<std::string_view> out);
  std::string_view rfc3339(std::string_view log_time);

  FieldTable table_;
  Layout held_ = Layout::kNone;
  std::string held_raw_;      // the held record's lines as read, joined by '\n'
  std::string held_payload_;  // stderr/plain: the AUDIT payload, continuation tabs removed
  CsvScanner held_scan_;
  bool has_pending_ = false;  // pending_ waits for next()
  std::string_view pending_;
  std::string scratch_;
};

}  // namespace trailwatch::decode
