// Correlator: the worker threads that own correlation state.
//
// Group keys are sharded by engine::groupHash(group) % shards; each shard is
// one engine::CorrelationState owned by one thread, so the state is never
// locked. Source pipelines (any number of threads) hand over observations in
// batches through each shard's bounded queue; a full queue blocks the
// producer, which is how a slow correlation stage pushes back on sources.
// Shards render the alerts their state emits and write them to the sinks.
//
// Delivery: a pipeline checkpoints (requestCheckpoint(), then
// completeCheckpoint() on its committer thread) before it flushes sinks and
// commits its source. checkpoint() waits until every shard has processed
// what was handed over before it (so their alerts are in the sinks) and, in
// `run`, writes the whole state to the state file (atomically) so that a
// restart resumes the windows with the source offsets committed next. A
// restart therefore alerts on a burst that straddles it once: events before
// the committed offsets are in the saved state, events after are re-read.
// A shard does not stop for the save: it takes a copy-on-write snapshot at
// the request and writes it in slices between the batches that follow (a
// group about to change is written first, as it was), and the checkpoint
// completes when the snapshot is written.
// Events re-read after a crash between a state save and a source commit are
// recognised by their identity (source, file, offset) while their window is
// open and not counted twice.
//
// Thread-safety: submit(), checkpoint() and tick() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/engine/correlation_state.h"
#include "daemon/metrics/metrics.h"
#include "daemon/server/heartbeat.h"
#include "daemon/server/snapshot_holder.h"
#include "trailwatch/alert_sink.h"
#include "trailwatch/result.h"

namespace trailwatch::server {

struct CorrelatorOptions {
  size_t shards = 1;
  engine::StateLimits limits;  // max_keys is for all shards together
  std::string state_file;      // empty: state is not saved (scan)
  // run: after a second without input a shard's clock runs on from the
  // latest event time at the wall clock's pace, so absence and suppression
  // windows close when nothing arrives at all.
  bool follow_wall_clock = false;
  // A checkpoint's state is written in slices of about this many bytes
  // between batches (four times as many while the queue is empty): small
  // enough to keep a shard's pause to a millisecond or two.
  size_t save_slice_bytes = size_t{1} << 20;
};

class Correlator {
 public:
  Correlator(CorrelatorOptions options, const RuleSetHolder& rules, std::vector<AlertSink*> sinks,
             metrics::Metrics& metrics);
  ~Correlator();  // stop()s
  Correlator(const Correlator&) = delete;
  Correlator& operator=(const Correlator&) = delete;

  // Loads the state file (if any) and starts the shard threads. A state
  // file that cannot be read is an error naming it (delete it to start
  // empty).
  Status start();

  size_t shards() const { return shards_.size(); }

  // Hands over observations, one batch per shard (emptied by the call;
  // it comes back holding the slots of a batch a shard has finished with,
  // so a steady producer neither regrows its batches nor allocates the
  // observations' strings every batch),
  // and the latest event time the producer has seen (moves every shard's
  // clock, so absence notices silence seen from other groups). `rules` is
  // the set whose indices the observations use, of holder generation
  // `generation`: around a reload, producers and shards may briefly differ,
  // and a shard translates (by state key) what an older set produced.
  void submit(std::vector<engine::ObservationBatch>& per_shard, int64_t clock,
              const std::shared_ptr<const engine::RuleSet>& rules, uint64_t generation);

  // Waits until everything submitted before the call was processed, then
  // saves the state (when there is a state file). Errors only on the save.
  // Same as completeCheckpoint(requestCheckpoint()).
  Status checkpoint();

  // The two halves of checkpoint(), so that a pipeline can go on reading
  // while the state is saved: requestCheckpoint() returns at once; each
  // shard takes its copy of the state when it reaches the request in its
  // queue, that is with everything submitted before the call and nothing
  // after. completeCheckpoint() waits for the copies and writes the state
  // file, unless the state of a later request was written already (it
  // holds everything this one does). From any thread.
  struct Ticket;
  std::shared_ptr<Ticket> requestCheckpoint();
  Status completeCheckpoint(const std::shared_ptr<Ticket>& ticket);

  // Processes what was submitted and joins the threads. Without a state
  // file (scan) it first emits what the last event time makes due and the
  // open suppression windows; with one (run) it saves the state instead.
  // Idempotent.
  void stop();

  uint64_t alerts() const;

  // Shard `i`'s thread beats this each time round its loop (at least every
  // idle tick in `run`, which follows the wall clock); for the watchdog.
  // Valid after start().
  const Heartbeat& heartbeat(size_t shard) const;

 private:
  struct Shard;
  struct Message;
  struct Barrier;
  struct BufferPool;

  void runShard(Shard& shard);
  // A kSave reached the shard: its snapshot begins (see
  // engine::CorrelationState::beginSnapshot()).
  void beginSave(Shard& shard, Message&& m);
  // Writes about `budget_bytes` more of the state being saved; when it is
  // complete, releases the checkpoint waiting for it.
  void writeSave(Shard& shard, size_t budget_bytes);
  void translate(Shard& shard, Message& m);
  void flushSinks();
  void emit(Shard& shard, std::vector<engine::StateOutput>& outputs);
  void publish(Shard& shard);

  CorrelatorOptions options_;
  const RuleSetHolder& rules_;
  std::vector<AlertSink*> sinks_;
  metrics::Metrics& metrics_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::mutex request_mu_;   // requests reach every shard's queue in one order
  uint64_t requested_ = 0;  // guarded by request_mu_: the last ticket's number
  std::mutex save_mu_;      // one state save at a time
  uint64_t written_ = 0;    // guarded by save_mu_: the ticket whose state is on disk
  bool stopped_ = false;
};

}  // namespace trailwatch::server
