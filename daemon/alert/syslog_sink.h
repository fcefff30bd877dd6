// The syslog sink's transport: each alert becomes one RFC 5424 message sent
// to a SIEM over UDP (RFC 5426), TCP (RFC 6587) or TLS (RFC 5425). The
// spool, retries and ordering are SpooledSink's; this only formats and
// sends.
//
// Message (RFC 5424 §6):
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [trailwatch@32473 ...] MSG
//   PRI        facility * 8 + severity, severity from the rule level:
//              critical 2 (crit), high 3 (err), medium 4 (warning),
//              low 5 (notice), informational 6 (info); other/absent 5
//   TIMESTAMP  when the alert was spooled, UTC with milliseconds
//   MSGID      the rule id when it is 1-32 printable ASCII characters
//              (RFC 5424 §6.2.7), else "alert"
//   SD         one element `trailwatch@32473` (32473 is the private
//              enterprise number IANA reserves for documentation, RFC 5612)
//              with params rule, level and one `control` per control;
//              `truncated` (the original MSG bytes) when MSG was cut
//   MSG        the alert JSON, UTF-8 without a BOM
//
// Delivery: TCP and TLS keep one connection open and count a batch as
// delivered once it is written to the socket; neither protocol has an
// application acknowledgement, so a receiver that crashes after the write
// can lose what was in flight. A connection the receiver closed is noticed
// before the next write (and reopened). UDP sends each alert as one
// datagram on a connected socket; an ICMP refusal makes the next send fail,
// which is retried. Any error closes the connection and is reported as
// kRetry.
//
// Size: a message longer than max_message_bytes has its MSG cut (at a UTF-8
// boundary), as RFC 5426 §3.2 allows; the header and structured data are
// kept, so the SIEM still sees the rule and level.
//
// Thread-safety: one thread at a time (the sink's delivery thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/alert/spooled_sink.h"
#include "trailwatch/result.h"

namespace trailwatch::alert {

enum class SyslogOutputProtocol { kUdp, kTcp, kTls };
enum class SyslogOutputFraming { kOctetCounting, kNewline };

struct SyslogMessageOptions {
  int facility = 10;  // authpriv
  std::string hostname = "-";
  std::string app_name = "trailwatch";
  std::string procid = "-";
  std::size_t max_message_bytes = 0;  // 0: no limit
};

// RFC 5424 severity of a rule level (see above).
int syslogSeverity(std::string_view level);
// A facility name (kern, user, ..., authpriv, local0-7) as its number, or -1.
int syslogFacility(std::string_view name);
// A PARAM-VALUE escaped per RFC 5424 §6.3.3 ('"', '\' and ']' get a
// backslash); control characters become spaces so a message stays one line.
std::string escapeSdParamValue(std::string_view value);
// `value` as an RFC 5424 header field: printable ASCII only (others become
// '_'), at most `max` characters, "-" when empty.
std::string syslogHeaderField(std::string_view value, std::size_t max);

struct SyslogMessage {
  std::string text;
  bool truncated = false;
};
// The RFC 5424 message for one alert spooled at `time_ms` (Unix ms).
SyslogMessage formatSyslogMessage(const SyslogMessageOptions& options, std::string_view alert_json,
                                  int64_t time_ms);
// Appends `message` to `out` framed for a stream (RFC 6587 §3.4.1 octet
// counting, or §3.4.2 a trailing LF).
void appendSyslogFrame(SyslogOutputFraming framing, std::string_view message, std::string& out);

struct SyslogTransportOptions {
  SyslogOutputProtocol protocol = SyslogOutputProtocol::kTcp;
  std::string host;  // name or address (IPv6 without brackets)
  std::string port;
  SyslogOutputFraming framing = SyslogOutputFraming::kOctetCounting;
  std::chrono::milliseconds timeout{10'000};  // connect, handshake and each write
  // TLS: server certificate checked against ca_file (empty: the system
  // store) and server_name (empty: host), which is also sent as SNI when it
  // is not an IP address; cert_file/key_file: a client certificate.
  std::string ca_file, cert_file, key_file, server_name;
  SyslogMessageOptions message;
  std::function<void()> on_truncated;  // called per message cut; may be empty
};

class SyslogTransport : public Transport {
 public:
  // Fails when the TLS context cannot be set up (unreadable CA file,
  // certificate or key).
  static Result<std::unique_ptr<SyslogTransport>> create(SyslogTransportOptions options);
  ~SyslogTransport() override;

  SendResult send(const std::vector<SpoolRecord>& batch) override;

 private:
  struct Impl;
  explicit SyslogTransport(SyslogTransportOptions options);

  const SyslogTransportOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trailwatch::alert
