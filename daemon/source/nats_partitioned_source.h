// PartitionedNatsSource: records from a JetStream stream split into
// `partitions` subjects, `<subject>.<k>` for k in 0..partitions-1 (what
// `trailwatch forward` with partition_key/partitions publishes: every
// record of one correlation key lands in one partition). Each partition is
// consumed by exactly one instance at a time, so the correlation state of a
// key lives in one instance and a burst alerts once across the group.
//
// What it promises:
//  - Ownership by leases in the JetStream key-value bucket lease_bucket
//    (created when missing, with max age = lease): key `partition.<k>`
//    holds the owner's instance id. A lease is taken with a create (fails
//    while someone holds it) and renewed every lease/3 with an update that
//    expects the revision this instance wrote last; an instance that stops
//    renewing (crashed, partitioned away) loses it when the key ages out
//    after `lease`, and another instance takes it.
//  - Membership: each instance refreshes `member.<instance>` every lease/3
//    and takes at most ceil(partitions / members alive) partitions. When
//    members join, an instance above its share stops fetching the partitions
//    beyond it and releases their leases once every message it fetched from
//    them was acknowledged (at a checkpoint). A release (also at shutdown)
//    deletes the key only if it still holds the revision this instance
//    wrote last, so an instance that stalled past `lease` never deletes the
//    lease another instance has taken since.
//  - A renewal that fails (someone else holds the key, or the key is gone)
//    stops fetching that partition at once; what was fetched from it is
//    still acknowledged at the next checkpoint.
//  - Partition k is read through the durable pull consumer `<consumer>-<k>`
//    (filter `<subject>.<k>`, created when missing like NatsSource's), so a
//    new owner continues at the previous owner's acknowledgement floor;
//    messages the previous owner fetched and did not acknowledge come back
//    after ack_wait. Nothing is lost; records may be evaluated twice.
//  - Takeover replay: before the first fetch from a partition it took, an
//    instance replays the partition's acknowledged history that open
//    correlation windows may still need: from the stream time of the
//    consumer's acknowledgement floor minus options.replay_span() up to and
//    including the floor, through an ephemeral consumer (no acks) read
//    without waiting (what it replays is in the stream already). Those
//    records come out with Record::state_only (the previous owner raised
//    and delivered their alerts before acknowledging them), counted in
//    SourceStats::replayed, never acknowledged; then the durable consumer
//    continues after the floor as usual. A burst whose window straddles a
//    takeover therefore alerts once, on the new owner. Leases are renewed
//    while a replay runs (it is fetched a batch per next()).
//  - next(), mark(), commit(), commitMark() and Record views are as
//    NatsSource's (nats_source.h): at least once, acknowledged at
//    checkpoints, origin "nats:<stream>", offset the stream sequence.
//
// Limits: the replay starts by the stream's (publish) time, so records
// published more than the late allowance after their event time, out of
// order, may fall before it. Messages acknowledged above a gap in the
// acknowledgements (an acknowledgement lost, the message redelivered later)
// are neither replayed nor redelivered: their alerts were delivered, their
// share of open windows is lost. Leases age out on the NATS server's clock.
//
// Thread-safety: see Source. next() and mark() on the pipeline thread
// (lease maintenance runs there too), commit()/commitMark() on one other
// thread at a time; the messages awaiting acknowledgement and the
// per-partition counts of them are guarded by mu_.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "daemon/common/log_limiter.h"
#include "daemon/nats/nats_connection.h"
#include "daemon/source/nats_source.h"
#include "trailwatch/source.h"

typedef struct __kvStore kvStore;  // NOLINT

namespace trailwatch::source {

class PartitionedNatsSource final : public Source {
 public:
  // options.partitions > 0; options.instance and lease_bucket non-empty.
  explicit PartitionedNatsSource(NatsSourceOptions options);
  // Releases the leases held and the membership, so others take over
  // without waiting for `lease`.
  ~PartitionedNatsSource() override;

  PartitionedNatsSource(const PartitionedNatsSource&) = delete;
  PartitionedNatsSource& operator=(const PartitionedNatsSource&) = delete;

  const std::string& name() const override { return options_.name; }

  // Connects, checks the stream, opens or creates the lease bucket and
  // takes a first share of partitions.
  Status open() override;
  bool next(RecordBatch& batch, std::chrono::milliseconds timeout) override;
  Status commit() override;
  std::unique_ptr<SourceMark> mark() override;
  Status commitMark(const SourceMark& mark) override;
  void wake() override {}
  SourceStats stats() const override;

 private:
  // kReplaying: owned, its history being replayed (state only) before the
  // durable consumer is fetched from.
  enum class State { kFree, kReplaying, kOwned, kReleasing, kLost };
  struct Partition {
    std::string subject;   // <subject>.<k>
    std::string consumer;  // <consumer>-<k>
    std::string key;       // partition.<k>
    State state = State::kFree;
    uint64_t revision = 0;  // of our last write of key
    natsSubscription* subscription = nullptr;
    // The replay in progress (kReplaying): an ephemeral consumer read up to
    // and including stream sequence replay_to.
    natsSubscription* replay = nullptr;
    uint64_t replay_to = 0;
    uint64_t replay_from = 0;  // first sequence replayed (0: none yet)
    uint64_t replay_last = 0;  // last sequence replayed
    uint64_t replayed = 0;
    std::chrono::steady_clock::time_point replay_started{};
  };

  void maintainLeases(bool force);
  std::size_t membersAlive();
  bool acquire(std::size_t k);
  // Starts partition k's takeover replay; false when there is nothing to
  // replay (or it cannot be started: logged, and the partition is read
  // without it).
  bool startReplay(std::size_t k);
  // Fetches the next replay batch of partition k into `batch`; ends the
  // replay when it reached the floor (or failed).
  void replayInto(RecordBatch& batch, std::size_t k, std::chrono::milliseconds timeout);
  void finishReplay(std::size_t k, const char* how);
  static bool holds(State s) {
    return s == State::kReplaying || s == State::kOwned || s == State::kReleasing;
  }
  void dropSubscription(std::size_t k);
  // Deletes p's lease key if its last revision is still ours (p.revision).
  void releaseLease(const Partition& p);
  Status ensureConsumer(const Partition& p);
  Status acknowledgeThrough(uint64_t count);
  // Takes the `count` messages of a fetch (nulling them) from partition k.
  void fetchInto(RecordBatch& batch, natsMsg** messages, int count, std::size_t k);
  void refreshPending();
  void logLimited(const std::string& message);
  void reportOwned();

  NatsSourceOptions options_;
  std::string origin_;
  std::string member_key_;
  std::unique_ptr<nats::NatsConnection> connection_;
  kvStore* kv_ = nullptr;
  std::vector<Partition> partitions_;  // pipeline thread only
  std::size_t rotation_ = 0;           // next partition to fetch from first
  std::chrono::steady_clock::time_point next_maintenance_{};

  NatsRecords records_;  // the current batch

  std::mutex mu_;
  // Fetched and not yet acknowledged, oldest first, with their partition;
  // the first is message number acked_ counting every message fetched.
  std::deque<std::pair<natsMsg*, std::size_t>> unacked_;  // guarded by mu_
  std::vector<uint64_t> unacked_per_partition_;           // guarded by mu_
  uint64_t acked_ = 0;                                    // guarded by mu_
  uint64_t fetched_ = 0;                                  // pipeline thread only

  std::chrono::steady_clock::time_point last_pending_check_{};
  LogLimiter log_limiter_;  // pipeline thread only
  SourceStats stats_;
};

}  // namespace trailwatch::source
