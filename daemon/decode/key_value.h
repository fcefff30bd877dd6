// KeyValueDecoder (format `kv`): decodes a line of `key=value` pairs, the
// shape many appliances, firewalls and applications log in (and the usual
// body of their syslog messages: `syslog+kv`).
//
// Syntax: pairs separated by spaces or tabs; a key is a run of bytes up to
// `=` (no space); a value is a bare word up to the next space, or a
// "double" or 'single' quoted string in which a backslash escapes the next
// byte (an unclosed quote runs to the end of the line). Words that are not
// pairs (free text between pairs, a lone `=`) are skipped. Values are views
// into the record unless they held an escape.
//
// Fields: each pair as `kv.<key>` and as `<key>` itself, so a log written
// with ECS names (`user.name=alice`) meets the shipped rules directly (a
// key that itself starts with `kv.` is only `kv.<key>`). A
// bare value that is a number is a number (as written); a quoted one is a
// string. A key written twice has two values.
//
// Errors (DecodeError::reason): `empty_record`; `no_pairs` (a record with
// no key=value pair).
//
// Lifetime: values point into the record or the table's arena and stay valid
// until the next decode() or setFields() call (event.h).
//
// Thread-safety: none; one decoder per thread (decoder.h).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "daemon/decode/field_table.h"
#include "trailwatch/decoder.h"

namespace trailwatch::decode {

class KeyValueDecoder final : public Decoder {
 public:
  void setFields(std::span<const std::string> paths) override { table_.setFields(paths); }
  const Event* decode(std::string_view record, DecodeError& error) override;
  std::unique_ptr<Decoder> clone() const override { return std::make_unique<KeyValueDecoder>(); }

 private:
  FieldTable table_;
  std::string scratch_;
  std::string path_;  // `kv.<key>`
};

}  // namespace trailwatch::decode
