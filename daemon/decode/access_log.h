// AccessLogDecoder: decodes one web server access-log line in the Common
// Log Format or the Combined Log Format (Apache httpd and nginx defaults)
// into an Event.
//
// Format references: Apache httpd mod_log_config, "Common Log Format" and
// "Combined Log Format" (https://httpd.apache.org/docs/2.4/logs.html#accesslog):
//
//   %h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-agent}i"]
//
// and nginx's `combined` log_format (ngx_http_log_module). `-` stands for a
// missing value everywhere. Quoted fields may hold escaped quotes (`\"`,
// Apache) or `\xHH` escapes (both servers); they are unescaped into scratch
// text only when they contain a backslash, otherwise values are views into
// the record. A request line that is not `METHOD TARGET [HTTP/x.y]` (a "-",
// a TLS handshake sent to a plain-text port, a scanner's garbage) is kept
// as `access_log.request` with no method or URL fields. The remote host may
// be an IPv4 or IPv6 address or a name. Text after the user agent (nginx's
// `"$http_x_forwarded_for"`, `$request_time` and other site additions) is
// kept whole as `access_log.extra`, and, when the source names them
// (`extra_fields: [http.request.forwarded_for, request_time]`), split into
// space-separated fields, each "quoted" (a string, unescaped) or bare (a
// number when it is one), offered at the given names in order; `-` as a
// value means absent, `-` as a name skips that field, missing trailing
// fields are absent and further ones are only in `access_log.extra`.
//
// Fields: `source.ip`, `user.name`, `@timestamp` (RFC 3339, converted from
// `[10/Oct/2000:13:55:36 -0700]`), `http.request.method`, `url.original`,
// `url.path`, `url.query`, `http.version`, `http.response.status_code`,
// `http.response.body.bytes`, `http.request.referrer`,
// `user_agent.original`, `event.category` (`web`), `event.outcome` (status
// below 400: `success`, else `failure`), and the raw parts under
// `access_log.*` (remote_host, ident, user, time, request, status, bytes,
// referrer, user_agent, extra). docs/formats/access-log.md has an example.
//
// Errors (DecodeError::reason): `empty_record`, `malformed_access_log` (a
// missing or malformed part; detail says which), `bad_timestamp` (the
// bracketed time is not dd/Mon/yyyy:HH:MM:SS +zzzz).
//
// Lifetime: values point into the record or the decoder's scratch and stay
// valid until the next decode() or setFields() call (event.h).
//
// Thread-safety: none; one decoder per thread (decoder.h).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/decode/field_table.h"
#include "trailwatch/decoder.h"

namespace trailwatch::decode {

class AccessLogDecoder final : public Decoder {
 public:
  // `extra_fields`: the names of the fields after the user agent.
  explicit AccessLogDecoder(std::vector<std::string> extra_fields = {})
      : extra_fields_(std::move(extra_fields)) {}

  void setFields(std::span<const std::string> paths) override;
  const Event* decode(std::string_view record, DecodeError& error) override;
  std::unique_ptr<Decoder> clone() const override {
    return std::make_unique<AccessLogDecoder>(extra_fields_);
  }

 private:
  // The text of a quoted field, unescaped into scratch when it holds a
  // backslash.
  std::string_view unescape(std::string_view quoted_body);

  // Offers the fields of `extra` under extra_fields_.
  void addExtraFields(std::string_view extra);

  std::vector<std::string> extra_fields_;
  FieldTable table_;
  std::string scratch_;
};

}  // namespace trailwatch::decode
