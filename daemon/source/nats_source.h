// NatsSource: records from a NATS JetStream stream through a durable pull
// consumer, one record per message.
//
// What it promises:
//  - open() connects, requires the stream to exist (it is the operator's:
//    retention, replicas and limits are decided there), and binds to the
//    durable consumer `consumer`; when the consumer is missing and
//    create_consumer is set it is created (explicit acks, the subject
//    filter, ack_wait, max_ack_pending, delivering from the stream's start
//    or only new messages per start_at_end). Every instance configured with
//    the same stream and consumer shares that consumer: JetStream hands each
//    message to one of them (a work queue), and redelivers it to any of them
//    when it is not acknowledged within ack_wait.
//  - next() fetches up to `batch` messages, waiting up to its timeout. The
//    payload of each message is one record (a trailing "\n" or "\r\n" is
//    dropped; a payload holding several lines is still one record). A
//    payload longer than max_line_bytes is skipped and counted
//    (SourceStats::oversized_skipped) and acknowledged with the rest, so it
//    is not redelivered forever.
//  - At least once: a message is acknowledged only by commit()/commitMark()
//    covering it, which the pipeline calls once the alerts of the records
//    before the mark were flushed to the sinks. The durable consumer is the
//    checkpoint: there is no checkpoint file. After a crash, or when this
//    instance stops fetching, what it had not acknowledged is redelivered
//    (to it or another instance) once ack_wait has passed since delivery.
//  - Record::origin is "nats:<stream>" and Record::offset the message's
//    stream sequence, so an alert names the message exactly, whichever
//    instance raised it.
//
// Limits: an acknowledgement lost on the way (the connection dropped after
// the ack was written) is not retried: the message comes back after
// ack_wait and its records are evaluated again (at least once, not exactly
// once). ack_wait must exceed the checkpoint interval, or messages are
// redelivered while their acknowledgement waits (config.cc enforces twice).
//
// Record views: text is valid until the next call to next() (copied out of
// the messages, with kRecordPadding after the last); origin for the
// source's life.
//
// Thread-safety: see Source. next() and mark() on the pipeline thread,
// commit()/commitMark() on one other thread at a time; the messages
// awaiting acknowledgement are guarded by mu_. The NatsSourceEvents are
// called from both threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/common/log_limiter.h"
#include "daemon/nats/nats_connection.h"
#include "trailwatch/source.h"

typedef struct __natsMsg natsMsg;                    // NOLINT
typedef struct __natsSubscription natsSubscription;  // NOLINT

namespace trailwatch::source {

// What a NatsSource reports beyond SourceStats (metrics). Called from the
// pipeline and committer threads; implementations must be thread-safe.
class NatsSourceEvents {
 public:
  virtual ~NatsSourceEvents() = default;
  // `messages` fetched, of which `redelivered` had been delivered before.
  virtual void delivered(uint64_t messages, uint64_t redelivered) = 0;
  virtual void acknowledged(uint64_t messages) = 0;
  // Messages in the stream that match the consumer and were not yet
  // delivered to it (JetStream's num_pending), as last seen.
  virtual void pending(uint64_t messages) = 0;
  // A fetch or an acknowledgement failed (logged, rate-limited).
  virtual void fetchFailed() = 0;
  virtual void ackFailed() = 0;
  // Partitioned sources (nats_partitioned_source.h): the partitions this
  // instance now consumes, and each lease `change` ("acquired", "released"
  // or "lost").
  virtual void partitionsOwned(std::size_t /*partitions*/) {}
  virtual void leaseChanged(const char* /*change*/) {}
};

struct NatsSourceOptions {
  std::string name;
  nats::NatsConnectionOptions connection;
  std::string stream;    // must exist
  std::string subject;   // the consumer's filter subject; empty: the whole stream
  std::string consumer;  // durable consumer name, shared by instances
  bool create_consumer = true;
  bool start_at_end = false;  // a created consumer delivers only new messages
  std::size_t batch = 256;    // messages per fetch
  std::chrono::milliseconds ack_wait{30'000};
  std::size_t max_ack_pending = 20'000;  // for a created consumer
  std::size_t max_line_bytes = 1 << 20;
  std::shared_ptr<NatsSourceEvents> events;  // may be null
  // Partitioned mode (PartitionedNatsSource), when partitions > 0: subject
  // is the base, partition k is `<subject>.<k>` read through the durable
  // consumer `<consumer>-<k>`; leases live in the key-value bucket
  // lease_bucket, held by `instance` for `lease` unless renewed.
  std::size_t partitions = 0;
  std::chrono::milliseconds lease{6000};
  std::string lease_bucket;
  std::string instance;
  // Partitioned mode: how far before the time of a partition's
  // acknowledgement floor a new owner replays it, state only (the longest
  // correlation or suppression timespan of the loaded rules plus the late
  // allowance); asked at each takeover, from the pipeline thread. Unset or
  // zero: no replay (no stateful rules).
  std::function<std::chrono::nanoseconds()> replay_span;
};

// The records of one batch copied out of JetStream messages (both NATS
// sources): payloads back to back in one buffer with kRecordPadding after
// the last, so the views handed out stay valid until clear().
// Thread-safety: none; the pipeline thread.
class NatsRecords {
 public:
  void clear();
  // Adds `m`'s payload (a trailing "\n" or "\r\n" dropped) as the record at
  // stream `sequence`; false, and nothing added, when it is longer than
  // `max_bytes`.
  bool add(natsMsg* m, uint64_t sequence, std::size_t max_bytes);
  // Appends the records added since clear() to `batch`, flagged
  // `state_only`; returns how many.
  std::size_t emit(RecordBatch& batch, std::string_view origin, bool state_only);

 private:
  std::string arena_;
  std::vector<std::pair<std::size_t, std::size_t>> spans_;  // (begin, size) in arena_
  std::vector<uint64_t> sequences_;                         // stream sequence per span
};

// Logs `message` as a warning of nats source `source`, at most once per
// interval of `limiter` (saying how many were held back).
void logNatsWarning(LogLimiter& limiter, const std::string& source, const std::string& message);

class NatsSource final : public Source {
 public:
  explicit NatsSource(NatsSourceOptions options);
  ~NatsSource() override;

  NatsSource(const NatsSource&) = delete;
  NatsSource& operator=(const NatsSource&) = delete;

  const std::string& name() const override { return options_.name; }

  // Connects, checks the stream, finds or creates the consumer, binds a
  // pull subscription. Fails with a message naming what is missing.
  Status open() override;
  bool next(RecordBatch& batch, std::chrono::milliseconds timeout) override;
  Status commit() override;
  std::unique_ptr<SourceMark> mark() override;
  Status commitMark(const SourceMark& mark) override;
  void wake() override {}  // a fetch returns within its timeout (the pipeline's poll)
  SourceStats stats() const override;

 private:
  Status ensureConsumer();
  Status acknowledgeThrough(uint64_t count);
  void refreshPending();
  void logLimited(const std::string& message);

  NatsSourceOptions options_;
  std::string origin_;
  std::unique_ptr<nats::NatsConnection> connection_;
  natsSubscription* subscription_ = nullptr;

  NatsRecords records_;  // the current batch

  std::mutex mu_;
  // Messages handed out and not yet acknowledged, oldest first; the first
  // is message number acked_ (counting every message fetched since open()).
  std::deque<natsMsg*> unacked_;  // guarded by mu_
  uint64_t acked_ = 0;            // guarded by mu_
  uint64_t fetched_ = 0;          // pipeline thread only

  std::chrono::steady_clock::time_point last_pending_check_{};
  LogLimiter log_limiter_;  // pipeline thread only
  std::atomic<uint64_t> lag_{0};
  SourceStats stats_;  // pipeline thread only (lag_bytes from lag_)
};

}  // namespace trailwatch::source
