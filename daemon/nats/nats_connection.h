// NatsConnection: one connection to a NATS server (nats.c) and its
// JetStream context, owned together and released together.
//
// What it promises:
//  - connect() succeeds only once the server answered (a server that is
//    down at start-up is an error the caller reports); after that the
//    client reconnects on its own, forever, every reconnect_wait, and
//    JetStream calls made while it is away fail with a status the caller
//    retries.
//  - Errors come back as messages a person can act on (the nats.c status
//    text and, where the library kept one, its detail).
//
// Credentials: the URL may carry user:password (nats://u:p@host:4222);
// `creds_file` is a NATS .creds file (JWT and NKey seed). TLS is not wired
// (tls:// URLs are refused) because nothing here can test it yet.
//
// Thread-safety: the nats.c connection and JetStream context are
// thread-safe; the object is immutable after connect() but for the
// asynchronous publish failures (atomic, and mu_ for the last error).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "trailwatch/result.h"

// nats.c types, so users of this header need not include <nats.h>.
typedef struct __natsConnection natsConnection;  // NOLINT
typedef struct __jsCtx jsCtx;                    // NOLINT
typedef struct __natsMsg natsMsg;                // NOLINT

namespace trailwatch::nats {

struct NatsConnectionOptions {
  std::string url;                          // nats://host:port, comma-separated for a cluster
  std::string creds_file;                   // empty: none
  std::string name;                         // the client name the server shows (connz)
  std::chrono::milliseconds timeout{5000};  // connect and JetStream API calls
  std::chrono::milliseconds reconnect_wait{1000};
};

// A durable pull consumer as the sources want it (explicit acks).
struct PullConsumerSpec {
  std::string stream;
  std::string consumer;       // durable name
  std::string subject;        // filter; empty: the whole stream
  bool create = true;         // create it when missing
  bool start_at_end = false;  // when created: only new messages
  std::chrono::milliseconds ack_wait{30000};
  std::size_t max_ack_pending = 0;
};

class NatsConnection {
 public:
  static Result<std::unique_ptr<NatsConnection>> connect(const NatsConnectionOptions& options);
  ~NatsConnection();

  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  // `spec.consumer` exists on `spec.stream` as a pull consumer filtering
  // `spec.subject` (created when missing and allowed); an existing one with
  // another filter, or a push consumer, is an error.
  Status ensurePullConsumer(const PullConsumerSpec& spec) const;
  // Acknowledges and releases `messages`, then waits for the server to
  // answer (so it has the acknowledgements). On failure the messages come
  // back after ack_wait; the error names `what`.
  Status acknowledge(std::span<natsMsg* const> messages, std::string_view what) const;

  // Deletes `key` of key-value bucket `bucket` only while its revision is
  // still `revision` (kvStore_Delete cannot expect one): an instance that
  // held a lease and stalled never deletes the lease another took since.
  // An error when the key moved on (or the server did not answer).
  Status deleteKeyAtRevision(std::string_view bucket, std::string_view key,
                             uint64_t revision) const;

  natsConnection* connection() const { return connection_; }
  jsCtx* jetStream() const { return js_; }
  const std::string& url() const { return url_; }

  // Asynchronous publishes (js_PublishAsync) the server refused or never
  // acknowledged, since connect(), and the last reason. Compare the count
  // before and after js_PublishAsyncComplete to know whether every one
  // was stored.
  uint64_t asyncPublishFailures() const { return async_failures_.load(); }
  std::string lastAsyncPublishError() const;

 private:
  struct AsyncErrors;
  NatsConnection() = default;

  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
  std::string url_;
  std::chrono::milliseconds timeout_{5000};
  std::atomic<uint64_t> async_failures_{0};
  mutable std::mutex mu_;
  std::string last_async_error_;  // guarded by mu_
};

// "<what>: <status text>[: <library detail>][ (JetStream error <code>)]".
// `status` is a natsStatus; `js_error` a jsErrCode, 0 when none.
std::string natsError(std::string_view what, int status, int js_error = 0);

}  // namespace trailwatch::nats
