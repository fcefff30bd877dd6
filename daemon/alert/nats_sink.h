// The nats output's transport: each alert is published to a JetStream
// subject and counts as delivered once the stream acknowledged storing it
// (a PubAck). The spool, retries and ordering are SpooledSink's, as for
// every network output, so alerts wait on disk while NATS is away.
//
// Duplicates: each message carries a `Nats-Msg-Id` (alertMessageId()), the
// same for the same alert whichever instance raised it and however often
// (a redelivered record, a batch retried after a lost PubAck), so the
// stream's duplicate window drops repeats. Outside that window (2 minutes
// by default) a repeat is stored again.
//
// How a publish is classified:
//   stored (or reported a duplicate)     delivered
//   payload over the server's maximum    rejected for good (dropped, counted)
//   anything else (no stream for the     retried with backoff: the batch is
//   subject, timeout, connection down)   sent again from its first alert
//
// The connection is made on the first send (and again after it is lost for
// good), so the daemon starts while NATS is down.
//
// Thread-safety: one thread at a time (the sink's delivery thread).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "daemon/alert/spooled_sink.h"
#include "daemon/nats/nats_connection.h"

namespace trailwatch::alert {

struct NatsTransportOptions {
  nats::NatsConnectionOptions connection;
  std::string subject;
};

class NatsTransport : public Transport {
 public:
  explicit NatsTransport(NatsTransportOptions options);
  ~NatsTransport() override;
  SendResult send(const std::vector<SpoolRecord>& batch) override;

 private:
  NatsTransportOptions options_;
  std::unique_ptr<nats::NatsConnection> connection_;
};

// The alert's identity for JetStream de-duplication: SHA-256 (32 hex digits)
// of the alert JSON without its `detected_at` member, the one part that
// differs when the same event raises the same alert again.
std::string alertMessageId(std::string_view alert_json);

}  // namespace trailwatch::alert
