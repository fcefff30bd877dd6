// AuditdDecoder: decodes Linux audit records, as auditd writes them to
// /var/log/audit/audit.log, and joins the records of one event into one
// Event.
//
// Record shape (auditd(8), "Understanding Audit Log Files" in the RHEL
// Security Guide, and auparse's parser in linux-audit/audit-userspace):
//
//   [node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): key=value ...
//
// The kernel's printk form `type=1300 audit(...)` (no `msg=`) is accepted
// too. Values are "quoted" strings, bare words, or hex (auditd hex-encodes a
// string that holds a space, quote or control byte, and then writes it
// unquoted). A bare value that is all hex digits of even length is decoded
// when the field is one auditd encodes: proctitle, EXECVE's aN, name, path,
// cwd, cmd, comm, exe, data, acct, key (NULs become spaces, as auparse
// interprets proctitle). User-space records carry a nested `msg='k=v ...'`
// whose pairs are taken as the record's own (auparse does the same), and an
// enriched log (log_format=ENRICHED) appends `\x1d` and upper-case
// translations (`AUID="alice" SYSCALL=openat`), taken as fields too.
//
// Joining (auparse's rules): records with the same node and serial are one
// event. An event is complete on its EOE record; when a record arrives
// whose time is more than kEventTimeoutSeconds after the event's (auparse's
// eoe_timeout); when more than kMaxOpenEvents are open or they hold more
// than kMaxHeldBytes (the oldest goes); or on flush(). Several events may be
// open at once, because auditd interleaves the records of concurrent
// syscalls. decode() returns nullptr with an empty reason while it only
// holds records; a completed event comes out of decode() (further ones
// from next()), or from flush() at a checkpoint or the end of input.
//
// Fields: every record field as `auditd.<type lower-case>.<key>` (several
// PATH records give auditd.path.name several values), `auditd.type` (every
// record type of the event), `auditd.serial`, `auditd.node`, `auditd.auid`,
// `auditd.uid`, `auditd.key` (the rule keys; `(null)` omitted, a hex key
// list split on \x01), AVC's `auditd.avc.seresult` / `auditd.avc.seperms`;
// normalized: `@timestamp` (Unix seconds as written), `user.id` (auid unless
// unset), `user.name` (acct, else enriched AUID), `process.executable`,
// `process.command_line`, `event.action` (enriched SYSCALL name, else the
// first record's type in lower case), `event.outcome`, `source.ip`,
// `host.name`, `file.path`. docs/formats/auditd.md lists them with an
// example.
//
// Errors (DecodeError::reason): `empty_record`, `not_an_audit_record` (no
// `type=` / `audit(` header), `bad_audit_header` (a malformed type, time or
// serial).
//
// Lifetime: held records are copied (record buffers are reused); an emitted
// event's views point into the decoder's copy and stay valid until the next
// decode(), next(), flush() or setFields() call (event.h).
//
// Thread-safety: none; one decoder per thread (decoder.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/decode/field_table.h"
#include "trailwatch/decoder.h"

namespace trailwatch::decode {

class AuditdDecoder final : public Decoder {
 public:
  static constexpr std::size_t kMaxOpenEvents = 64;
  static constexpr std::size_t kMaxHeldBytes = 4u << 20;
  static constexpr std::size_t kMaxEventBytes = 1u << 20;
  static constexpr int64_t kEventTimeoutSeconds = 2;

  void setFields(std::span<const std::string> paths) override;
  const Event* decode(std::string_view record, DecodeError& error) override;
  const Event* next(DecodeError& error) override;
  const Event* flush(DecodeError& error) override;

 private:
  // One event's records, copied: `text` holds them joined by '\n' (the
  // event's raw()), `records` their offsets and lengths in it.
  struct Held {
    std::string node;
    uint64_t serial = 0;
    int64_t seconds = 0;
    std::string text;
    std::vector<std::pair<std::size_t, std::size_t>> records;
  };

  void complete(std::size_t open_index);
  const Event* emitNext();
  void buildEvent();
  void parseBody(std::string_view type, std::string_view body, bool nested);
  void addField(std::string_view type, std::string_view key, std::string_view value, bool quoted);

  std::deque<Held> open_;   // in arrival order
  std::deque<Held> ready_;  // complete, waiting to be returned
  Held current_;            // the event last returned; backs the table's views
  std::size_t held_bytes_ = 0;
  FieldTable table_;
  std::string path_;     // reused path buffer: auditd.<type>.<key>
  std::string scratch_;  // reused hex-decoding buffer

  // What the normalized fields are made from, gathered over one event.
  struct Summary {
    std::string_view auid, uid, acct, auid_name, exe, command_line, syscall_name, outcome, addr;
  } summary_;
};

}  // namespace trailwatch::decode
