#include "daemon/server/correlator.h"

#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "daemon/alert/alert_json.h"
#include "daemon/common/atomic_file.h"
#include "daemon/engine/correlation_sample.h"

namespace trailwatch::server {
namespace {

// Batches a shard may have queued before producers wait: enough to ride
// out a burst, small enough that back-pressure reaches the sources quickly.
constexpr size_t kQueueDepth = 64;
// Processed batches a shard keeps for producers to reuse, and the most
// slots worth keeping (~7 MiB of observations, more with their strings): a
// burst's outsized batch is freed, not held.
constexpr size_t kSpentVectors = 2;
constexpr size_t kMaxRecycledObservations = 65536;
// An idle shard follows the wall clock after this long without input.
constexpr std::chrono::milliseconds kIdleTick{1000};

int64_t wallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::string_view kStateMagic = "trailwatch-correlation-shards-1\n";

}  // namespace

enum MessageKind { kBatch, kSync, kSave, kStop };

struct Correlator::Barrier {
  std::mutex mu;
  std::condition_variable cv;
  size_t remaining = 0;
  void done() {
    std::lock_guard lock(mu);
    if (--remaining == 0) cv.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return remaining == 0; });
  }
};

// A shard's state buffers, reused from one checkpoint to the next so that
// a large state is not a large allocation (and release) every interval.
// Two: the committer may still write one while the shard fills the next.
struct Correlator::BufferPool {
  std::mutex mu;
  std::vector<std::string> spare;  // guarded by mu

  std::string take() {
    std::lock_guard lock(mu);
    if (spare.empty()) return {};
    std::string buffer = std::move(spare.back());
    spare.pop_back();
    return buffer;
  }
  void give(std::string&& buffer) {
    if (buffer.capacity() == 0) return;
    buffer.clear();
    std::lock_guard lock(mu);
    if (spare.size() < 2) spare.push_back(std::move(buffer));
  }
};

struct Correlator::Ticket {
  uint64_t number = 0;
  std::shared_ptr<Barrier> barrier = std::make_shared<Barrier>();
  std::vector<std::string> saved;                  // by shard (kSave)
  std::vector<std::shared_ptr<BufferPool>> pools;  // by shard: where `saved` goes back

  ~Ticket() {
    for (size_t i = 0; i < pools.size() && i < saved.size(); ++i)
      pools[i]->give(std::move(saved[i]));
  }
};

struct Correlator::Message {
  int kind = kBatch;
  engine::ObservationBatch observations;
  int64_t clock = 0;
  std::shared_ptr<const engine::RuleSet> rules;  // kBatch: the set the observations index
  uint64_t generation = 0;
  std::shared_ptr<Barrier> barrier;
  std::string* saved = nullptr;    // kSave: where the shard writes its state
  std::shared_ptr<Ticket> ticket;  // kSave, kSync of a checkpoint: keeps `saved` alive
};

struct Correlator::Shard {
  size_t index = 0;
  std::mutex mu;
  std::condition_variable ready, space;
  std::deque<Message> queue;  // guarded by mu
  // Emptied batches, their slots kept for submit() to hand back to
  // producers (at most kSpentVectors).
  std::vector<engine::ObservationBatch> spent;  // guarded by mu
  std::thread thread;
  Heartbeat heartbeat;  // beaten by the thread, read by the watchdog

  // Owned by the shard thread.
  std::unique_ptr<engine::CorrelationState> state;
  std::shared_ptr<const engine::RuleSet> rules;
  uint64_t generation = 0;
  std::vector<engine::StateOutput> outputs;
  std::string alert;
  metrics::CorrelationMetrics metrics;
  // The kSave being written (state->snapshotPending()), and the time spent
  // writing it so far.
  std::optional<Message> saving;
  std::chrono::steady_clock::duration save_time{};
  engine::StateCounters published;
  std::atomic<uint64_t> alerts{0};

  std::shared_ptr<BufferPool> pool = std::make_shared<BufferPool>();

  explicit Shard(metrics::CorrelationMetrics m) : metrics(m) {}

  // Queues `message`; `refill` (if given, and without slots) receives a
  // spent batch when there is one.
  void push(Message&& message, engine::ObservationBatch* refill = nullptr) {
    std::unique_lock lock(mu);
    space.wait(lock, [&] { return queue.size() < kQueueDepth || message.kind != kBatch; });
    queue.push_back(std::move(message));
    ready.notify_one();
    if (refill != nullptr && refill->slots() == 0 && !spent.empty()) {
      refill->swap(spent.back());
      spent.pop_back();
    }
  }

  // Shard thread: keeps a processed batch (emptied here) for reuse.
  void recycle(engine::ObservationBatch&& observations) {
    if (observations.slots() == 0 || observations.slots() > kMaxRecycledObservations) return;
    observations.clear();
    std::lock_guard lock(mu);
    if (spent.size() < kSpentVectors) spent.push_back(std::move(observations));
  }
};

Correlator::Correlator(CorrelatorOptions options, const RuleSetHolder& rules,
                       std::vector<AlertSink*> sinks, metrics::Metrics& metrics)
    : options_(std::move(options)), rules_(rules), sinks_(std::move(sinks)), metrics_(metrics) {
  if (options_.shards == 0) options_.shards = 1;
  engine::StateLimits per_shard = options_.limits;
  per_shard.max_keys = std::max<size_t>(1, options_.limits.max_keys / options_.shards);
  for (size_t i = 0; i < options_.shards; ++i) {
    auto shard = std::make_unique<Shard>(metrics_.correlation(i));
    shard->index = i;
    shard->rules = rules_.snapshot();
    shard->generation = rules_.generation();
    shard->state = std::make_unique<engine::CorrelationState>(shard->rules, per_shard);
    shards_.push_back(std::move(shard));
  }
}

Correlator::~Correlator() { stop(); }

Status Correlator::start() {
  if (!options_.state_file.empty()) {
    std::ifstream in(options_.state_file, std::ios::binary);
    if (in) {
      std::stringstream buffer;
      buffer << in.rdbuf();
      const std::string data = buffer.str();
      std::string_view rest(data);
      if (!rest.starts_with(kStateMagic)) {
        return Error{options_.state_file +
                     ": not a trailwatch correlation state file (delete it to start with empty "
                     "correlation state)"};
      }
      rest.remove_prefix(kStateMagic.size());
      size_t groups = 0;
      // One blob per shard of the run that saved it; every blob is offered
      // to every shard, which keeps its own keys (the shard count may differ).
      while (!rest.empty()) {
        uint64_t size = 0;
        if (rest.size() < 8) return Error{options_.state_file + ": truncated correlation state"};
        std::memcpy(&size, rest.data(), 8);
        rest.remove_prefix(8);
        if (size > rest.size()) return Error{options_.state_file + ": truncated correlation state"};
        const std::string_view blob = rest.substr(0, size);
        rest.remove_prefix(size);
        for (auto& shard : shards_) {
          if (Status s = shard->state->load(blob, shard->index, shards_.size()); !s.ok()) {
            return Error{options_.state_file + ": " + s.error() +
                         " (delete it to start with empty correlation state)"};
          }
        }
      }
      for (auto& shard : shards_) groups += shard->state->keys();
      spdlog::info("correlation state restored from {}: {} groups", options_.state_file, groups);
    }
  }
  for (auto& shard : shards_) {
    shard->thread = std::thread([this, s = shard.get()] { runShard(*s); });
  }
  return Status::Ok();
}

void Correlator::submit(std::vector<engine::ObservationBatch>& per_shard, int64_t clock,
                        const std::shared_ptr<const engine::RuleSet>& rules, uint64_t generation) {
  for (size_t i = 0; i < shards_.size(); ++i) {
    Message m;
    m.kind = kBatch;
    m.clock = clock;
    m.rules = rules;
    m.generation = generation;
    if (i < per_shard.size()) {
      m.observations.swap(per_shard[i]);
      shards_[i]->push(std::move(m), &per_shard[i]);
    } else {
      shards_[i]->push(std::move(m));
    }
  }
}

Status Correlator::checkpoint() { return completeCheckpoint(requestCheckpoint()); }

std::shared_ptr<Correlator::Ticket> Correlator::requestCheckpoint() {
  auto ticket = std::make_shared<Ticket>();
  if (stopped_) return ticket;
  const bool save = !options_.state_file.empty();
  ticket->saved.resize(shards_.size());
  if (save) {
    for (auto& shard : shards_) ticket->pools.push_back(shard->pool);
  }
  ticket->barrier->remaining = shards_.size();
  std::lock_guard lock(request_mu_);
  ticket->number = ++requested_;
  for (size_t i = 0; i < shards_.size(); ++i) {
    Message m;
    m.kind = save ? kSave : kSync;
    m.barrier = ticket->barrier;
    // The message holds the ticket's barrier; the ticket outlives the wait.
    if (save) m.saved = &ticket->saved[i];
    m.ticket = ticket;
    shards_[i]->push(std::move(m));
  }
  return ticket;
}

Status Correlator::completeCheckpoint(const std::shared_ptr<Ticket>& ticket) {
  if (ticket->number == 0) return Status::Ok();  // asked after stop()
  ticket->barrier->wait();
  if (options_.state_file.empty()) return Status::Ok();
  std::lock_guard lock(save_mu_);
  if (ticket->number <= written_) return Status::Ok();
  // Written piece by piece: the shards' blobs can be hundreds of MB, and
  // joining them first would double the memory a checkpoint takes.
  std::vector<uint64_t> sizes;
  sizes.reserve(ticket->saved.size());
  for (const auto& blob : ticket->saved) sizes.push_back(blob.size());
  std::vector<std::string_view> pieces{kStateMagic};
  for (size_t i = 0; i < ticket->saved.size(); ++i) {
    pieces.emplace_back(reinterpret_cast<const char*>(&sizes[i]), 8);
    pieces.emplace_back(ticket->saved[i]);
  }
  Status s = replaceFileAtomically(options_.state_file, pieces, "correlation state");
  if (s.ok()) written_ = ticket->number;
  return s;
}

void Correlator::stop() {
  if (stopped_) return;
  // What idle shards raised since the sources last committed (an absence, a
  // suppression summary) changed the state: save it, or a restart would
  // raise it again.
  const bool started = !shards_.empty() && shards_[0]->thread.joinable();
  if (started && !options_.state_file.empty()) {
    if (Status s = checkpoint(); !s.ok())
      spdlog::error("correlation state not saved: {}", s.error());
  }
  stopped_ = true;
  for (auto& shard : shards_) {
    if (!shard->thread.joinable()) continue;
    Message m;
    m.kind = kStop;
    shard->push(std::move(m));
  }
  for (auto& shard : shards_) {
    if (shard->thread.joinable()) shard->thread.join();
  }
}

const Heartbeat& Correlator::heartbeat(size_t shard) const { return shards_[shard]->heartbeat; }

uint64_t Correlator::alerts() const {
  uint64_t n = 0;
  for (const auto& shard : shards_) n += shard->alerts.load();
  return n;
}

void Correlator::runShard(Shard& shard) {
  // When the clock last moved (input, or an idle tick).
  auto last_move = std::chrono::steady_clock::now();
  auto adopt = [&](uint64_t generation, std::shared_ptr<const engine::RuleSet> rules) {
    shard.generation = generation;
    shard.rules = std::move(rules);
    shard.state->setRules(shard.rules);
  };
  // Batches bring newer rule sets with them; a reload that leaves no
  // stateful rule brings no batches, so the holder is looked at too.
  auto adoptReloaded = [&] {
    if (const uint64_t g = rules_.generation(); g > shard.generation) adopt(g, rules_.snapshot());
  };
  for (;;) {
    shard.heartbeat.beat(Heartbeat::steadyNanos());
    Message m;
    {
      std::unique_lock lock(shard.mu);
      if (shard.saving) {
        // A checkpoint's state is being written: no waiting while some is left.
      } else if (options_.follow_wall_clock) {
        shard.ready.wait_for(lock, kIdleTick, [&] { return !shard.queue.empty(); });
      } else {
        shard.ready.wait(lock, [&] { return !shard.queue.empty(); });
      }
      if (shard.queue.empty()) {
        lock.unlock();
        if (shard.saving) {
          writeSave(shard, 4 * options_.save_slice_bytes);
          continue;
        }
        // Idle: the clock runs on from the latest event time at the wall
        // clock's pace, so silence is noticed with no input at all, while
        // a replay of old records is not made late by a pause.
        adoptReloaded();  // a reload may have removed what would fire now
        const auto now = std::chrono::steady_clock::now();
        if (now - last_move >= kIdleTick && shard.state->clock() > INT64_MIN / 2) {
          const int64_t elapsed =
              std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_move).count();
          last_move = now;
          shard.outputs.clear();
          shard.state->advance(shard.state->clock() + elapsed, shard.outputs);
          const bool raised = !shard.outputs.empty();
          emit(shard, shard.outputs);
          // No source commit is coming to flush what silence raised.
          if (raised) flushSinks();
          publish(shard);
        }
        continue;
      }
      m = std::move(shard.queue.front());
      shard.queue.pop_front();
      shard.space.notify_one();
    }
    if (m.kind == kBatch && m.generation > shard.generation) {
      adopt(m.generation, m.rules);
    } else {
      adoptReloaded();
    }
    shard.outputs.clear();
    switch (m.kind) {
      case kBatch:
        last_move = std::chrono::steady_clock::now();
        if (m.rules != shard.rules) translate(shard, m);
        shard.state->observe(std::span(m.observations.begin(), m.observations.end()),
                             shard.outputs);
        shard.state->advance(m.clock, shard.outputs);
        emit(shard, shard.outputs);
        shard.recycle(std::move(m.observations));
        break;
      case kSync:
        publish(shard);
        m.barrier->done();
        break;
      case kSave:
        // One checkpoint's state at a time: the one before is finished first.
        writeSave(shard, SIZE_MAX);
        beginSave(shard, std::move(m));
        break;
      case kStop:
        writeSave(shard, SIZE_MAX);
        // A scan's input has ended: what the last event time makes due is
        // emitted. A daemon keeps its open windows in the saved state.
        if (options_.state_file.empty()) {
          shard.state->advance(shard.state->clock(), shard.outputs);
          shard.state->closeSuppressionWindows(shard.outputs);
          emit(shard, shard.outputs);
        }
        publish(shard);
        shard.heartbeat.finish();
        return;
    }
    // A slice between batches; a reload (setRules) may have finished it.
    if (shard.saving) writeSave(shard, options_.save_slice_bytes);
  }
}

void Correlator::beginSave(Shard& shard, Message&& m) {
  const auto start = std::chrono::steady_clock::now();
  // The state at this message (everything submitted before the request,
  // nothing after) is what the snapshot holds, however long writing takes.
  std::string& out = *m.saved;
  out = shard.pool->take();
  if (const size_t estimate = shard.state->savedBytesEstimate(); out.capacity() < estimate) {
    out.reserve(estimate + estimate / 4);
  }
  shard.state->beginSnapshot(out);
  shard.save_time = std::chrono::steady_clock::now() - start;
  shard.saving = std::move(m);
}

void Correlator::writeSave(Shard& shard, size_t budget_bytes) {
  if (!shard.saving) return;
  const auto start = std::chrono::steady_clock::now();
  const bool done = shard.state->continueSnapshot(budget_bytes);
  shard.save_time += std::chrono::steady_clock::now() - start;
  if (!done) return;
  shard.metrics.checkpoint_write_seconds.Observe(
      std::chrono::duration<double>(shard.save_time).count());
  publish(shard);
  shard.saving->barrier->done();
  shard.saving.reset();
}

void Correlator::flushSinks() {
  for (AlertSink* sink : sinks_) {
    if (Status s = sink->flush(); !s.ok()) {
      metrics_.sinkErrors(sink->name()).Increment();
      spdlog::error("sink {}: {}", sink->name(), s.error());
    }
  }
}

void Correlator::translate(Shard& shard, Message& m) {
  // A producer still on an older rule set: its rule indices are mapped to
  // the shard's set by state key; what no longer exists is dropped.
  std::unordered_map<std::string, uint32_t> current;
  for (uint32_t i = 0; i < shard.rules->size(); ++i) {
    if (std::string key = engine::stateKey(*shard.rules, i); !key.empty()) current.emplace(key, i);
  }
  size_t kept = 0;
  for (auto& o : m.observations) {
    if (o.rule >= m.rules->size()) continue;
    auto it = current.find(engine::stateKey(*m.rules, o.rule));
    if (it == current.end()) continue;
    o.rule = it->second;
    if (&m.observations[kept] != &o) std::swap(m.observations[kept], o);
    ++kept;
  }
  m.observations.truncate(kept);
}

void Correlator::emit(Shard& shard, std::vector<engine::StateOutput>& outputs) {
  const auto now = wallNanos();
  const engine::RuleSet& rules = *shard.rules;
  for (auto& o : outputs) {
    const engine::RuleInfo& info = rules.rule(o.rule);
    alert::AlertRule rule{info.id,        info.title,   info.level,     &info.tags,
                          &info.controls, &info.fields, &info.field_ids};
    if (o.kind == engine::StateOutput::Kind::kAlert) {
      shard.alert = std::move(o.samples[0]);
    } else {
      alert::StateAlert state;
      state.group = o.group;
      state.separator = engine::kGroupSeparator;
      state.figure = o.value;
      state.events = o.events;
      state.first_seen = o.first_seen;
      state.last_seen = o.last_seen;
      state.samples = &o.samples;
      if (o.kind == engine::StateOutput::Kind::kSuppressed) {
        state.section = "suppressed";
        state.type = "suppress";
        state.group_by = &info.suppress->by;
        state.timespan = info.suppress->timespan_text;
        metrics_.suppressed(info.id.empty() ? info.title : info.id).Increment(o.value);
      } else {
        const engine::Correlation& c = rules.correlations()[info.correlation];
        state.section = "correlation";
        state.type = engine::correlationTypeName(c.type);
        state.timespan = c.timespan_text;
        state.field = c.field;
        state.count = c.type != engine::CorrelationType::kValueSum &&
                      c.type != engine::CorrelationType::kValueAvg &&
                      c.type != engine::CorrelationType::kValuePercentile;
        state.group_by = &c.group_by;
        // Samples are kept compact in the state; they become JSON here.
        for (auto& sample : o.samples) {
          std::string json;
          engine::renderSample(rules, c, sample, json);
          sample = std::move(json);
        }
      }
      alert::renderStateAlert(rule, state, now, shard.alert);
    }
    if (o.kind != engine::StateOutput::Kind::kSuppressed) {
      metrics_.rule(info.id, info.title, info.level).alerts.Increment();
      for (const auto& control : info.controls) metrics_.controlAlerts(control).Increment();
    }
    shard.alerts.fetch_add(1, std::memory_order_relaxed);
    for (AlertSink* sink : sinks_) {
      if (Status s = sink->write(shard.alert); !s.ok()) {
        metrics_.sinkErrors(sink->name()).Increment();
        spdlog::error("sink {}: {}", sink->name(), s.error());
      } else {
        metrics_.sinkAlerts(sink->name()).Increment();
      }
    }
  }
  if (!outputs.empty()) {
    // Out at once (no fsync), as the pipelines do with theirs; durable at
    // the next checkpoint's flush.
    for (AlertSink* sink : sinks_) {
      if (Status s = sink->deliver(); !s.ok()) {
        metrics_.sinkErrors(sink->name()).Increment();
        spdlog::warn("sink {}: {}", sink->name(), s.error());
      }
    }
  }
  outputs.clear();
}

void Correlator::publish(Shard& shard) {
  const engine::StateCounters& now = shard.state->counters();
  auto delta = [](uint64_t a, uint64_t b) { return static_cast<double>(a - b); };
  if (now.evicted > shard.published.evicted) {
    shard.metrics.evictions.Increment(delta(now.evicted, shard.published.evicted));
  }
  if (now.late > shard.published.late) {
    shard.metrics.late_events.Increment(delta(now.late, shard.published.late));
  }
  if (now.overflow > shard.published.overflow) {
    shard.metrics.overflow_events.Increment(delta(now.overflow, shard.published.overflow));
  }
  shard.published = now;
  shard.metrics.keys.Set(static_cast<double>(shard.state->keys()));
  shard.metrics.state_bytes.Set(static_cast<double>(shard.state->memoryBytes()));
}

}  // namespace trailwatch::server
