#include "daemon/source/nats_partitioned_source.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <string_view>
#include <thread>

namespace trailwatch::source {
namespace {

struct PartitionMark final : SourceMark {
  explicit PartitionMark(uint64_t c) : count(c) {}
  uint64_t count;
};

constexpr std::chrono::seconds kPendingCheckInterval{5};

int64_t nanos(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

}  // namespace

PartitionedNatsSource::PartitionedNatsSource(NatsSourceOptions options)
    : options_(std::move(options)),
      origin_("nats:" + options_.stream),
      member_key_("member." + options_.instance) {
  partitions_.resize(options_.partitions);
  for (std::size_t k = 0; k < partitions_.size(); ++k) {
    partitions_[k].subject = options_.subject + "." + std::to_string(k);
    partitions_[k].consumer = options_.consumer + "-" + std::to_string(k);
    partitions_[k].key = "partition." + std::to_string(k);
  }
  unacked_per_partition_.assign(options_.partitions, 0);
}

PartitionedNatsSource::~PartitionedNatsSource() {
  for (auto& [m, k] : unacked_) natsMsg_Destroy(m);  // redelivered after ack_wait
  if (kv_ != nullptr) {
    for (const Partition& p : partitions_) {
      if (holds(p.state)) releaseLease(p);
    }
    kvStore_Delete(kv_, member_key_.c_str());
  }
  for (Partition& p : partitions_) {
    if (p.subscription != nullptr) natsSubscription_Destroy(p.subscription);
    if (p.replay != nullptr) {
      natsSubscription_Unsubscribe(p.replay);  // deletes the ephemeral consumer
      natsSubscription_Destroy(p.replay);
    }
  }
  if (kv_ != nullptr) kvStore_Destroy(kv_);
}

Status PartitionedNatsSource::open() {
  const std::string what = "nats source " + options_.name + ": ";
  auto connection = nats::NatsConnection::connect(options_.connection);
  if (!connection.ok()) return Error{what + connection.error()};
  connection_ = std::move(connection).value();
  jsCtx* js = connection_->jetStream();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  natsStatus s = js_GetStreamInfo(&si, js, options_.stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    if (jerr == JSStreamNotFoundErr) {
      return Error{what + "stream '" + options_.stream +
                   "' does not exist (create it first, e.g. nats stream add)"};
    }
    return Error{what + nats::natsError("looking up stream " + options_.stream, s, jerr)};
  }
  jsStreamInfo_Destroy(si);

  s = js_KeyValue(&kv_, js, options_.lease_bucket.c_str());
  if (s != NATS_OK) {
    kv_ = nullptr;
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = options_.lease_bucket.c_str();
    kc.Description = "trailwatch partition leases";
    kc.History = 1;
    kc.TTL = nanos(options_.lease);
    // Instances starting together may race: the same configuration
    // succeeds for each.
    s = js_CreateKeyValue(&kv_, js, &kc);
    if (s != NATS_OK) {
      kv_ = nullptr;
      return Error{what + nats::natsError("creating lease bucket " + options_.lease_bucket, s)};
    }
  }
  spdlog::info(
      "nats source {}: instance {} sharing {} partitions of {}.* on stream {} (leases in "
      "bucket {}, {} ms)",
      options_.name, options_.instance, options_.partitions, options_.subject, options_.stream,
      options_.lease_bucket, options_.lease.count());
  maintainLeases(true);
  return Status::Ok();
}

std::size_t PartitionedNatsSource::membersAlive() {
  kvKeysList list{};
  kvWatchOptions wo;
  kvWatchOptions_Init(&wo);
  wo.Timeout = options_.connection.timeout.count();
  std::size_t members = 0;
  if (kvStore_Keys(&list, kv_, &wo) == NATS_OK) {
    for (int i = 0; i < list.Count; ++i) {
      if (std::string_view(list.Keys[i]).starts_with("member.")) ++members;
    }
  }
  kvKeysList_Destroy(&list);
  return std::max<std::size_t>(1, members);  // at least this instance
}

void PartitionedNatsSource::maintainLeases(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && now < next_maintenance_) return;
  next_maintenance_ = now + options_.lease / 3;

  if (natsStatus s = kvStore_PutString(nullptr, kv_, member_key_.c_str(), "alive"); s != NATS_OK) {
    logLimited(nats::natsError("refreshing membership " + member_key_, s));
  }
  const std::size_t members = membersAlive();
  const std::size_t share = (partitions_.size() + members - 1) / members;

  std::vector<uint64_t> unacked;
  {
    std::lock_guard lock(mu_);
    unacked = unacked_per_partition_;
  }
  std::size_t owned = 0;
  for (std::size_t k = 0; k < partitions_.size(); ++k) {
    Partition& p = partitions_[k];
    if (holds(p.state)) {
      uint64_t rev = 0;
      const natsStatus s =
          kvStore_UpdateString(&rev, kv_, p.key.c_str(), options_.instance.c_str(), p.revision);
      if (s != NATS_OK) {
        spdlog::warn("nats source {}: lost the lease of partition {} ({}); stopped fetching it",
                     options_.name, k, nats::natsError("renewing", s));
        if (p.state == State::kReplaying) finishReplay(k, "lease lost");
        p.state = State::kLost;
        if (options_.events) options_.events->leaseChanged("lost");
      } else {
        p.revision = rev;
      }
    }
    if (p.state == State::kReleasing && unacked[k] == 0) {
      releaseLease(p);
      dropSubscription(k);
      p.state = State::kFree;
      spdlog::info("nats source {}: released partition {} ({} members alive)", options_.name, k,
                   members);
      if (options_.events) options_.events->leaseChanged("released");
    }
    if (p.state == State::kLost && unacked[k] == 0) {
      dropSubscription(k);
      p.state = State::kFree;
    }
    if (p.state == State::kOwned || p.state == State::kReplaying) ++owned;
  }
  // Above the share: stop fetching the highest ones; their leases go once
  // what was fetched from them is acknowledged.
  for (std::size_t k = partitions_.size(); k-- > 0 && owned > share;) {
    if (partitions_[k].state == State::kReplaying) finishReplay(k, "released");
    if (partitions_[k].state == State::kOwned) {
      partitions_[k].state = State::kReleasing;
      --owned;
      spdlog::info(
          "nats source {}: releasing partition {} ({} members alive, share {}) once its "
          "messages are acknowledged",
          options_.name, k, members, share);
    }
  }
  // Below the share: try the free ones, starting at a place of our own so
  // instances starting together do not all contend for partition 0.
  if (owned < share) {
    const std::size_t start = std::hash<std::string>{}(options_.instance) % partitions_.size();
    for (std::size_t i = 0; i < partitions_.size() && owned < share; ++i) {
      const std::size_t k = (start + i) % partitions_.size();
      if (partitions_[k].state == State::kFree && acquire(k)) ++owned;
    }
  }
  reportOwned();
}

bool PartitionedNatsSource::acquire(std::size_t k) {
  Partition& p = partitions_[k];
  uint64_t rev = 0;
  if (kvStore_CreateString(&rev, kv_, p.key.c_str(), options_.instance.c_str()) != NATS_OK) {
    return false;  // held by another instance (or the server is away)
  }
  p.revision = rev;
  if (Status st = ensureConsumer(p); !st.ok()) {
    logLimited("partition " + std::to_string(k) + ": " + st.error());
    releaseLease(p);
    return false;
  }
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options_.stream.c_str();
  so.Consumer = p.consumer.c_str();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsSubscription* sub = nullptr;
  const natsStatus s = js_PullSubscribe(&sub, connection_->jetStream(), p.subject.c_str(),
                                        p.consumer.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) {
    logLimited(nats::natsError("binding to consumer " + p.consumer, s, jerr));
    releaseLease(p);
    return false;
  }
  if (p.subscription != nullptr) natsSubscription_Destroy(p.subscription);
  p.subscription = sub;
  p.state = State::kOwned;
  spdlog::info("nats source {}: took partition {} ({} through consumer {})", options_.name, k,
               p.subject, p.consumer);
  if (options_.events) options_.events->leaseChanged("acquired");
  if (startReplay(k)) p.state = State::kReplaying;
  return true;
}

void PartitionedNatsSource::releaseLease(const Partition& p) {
  if (Status s = connection_->deleteKeyAtRevision(options_.lease_bucket, p.key, p.revision);
      !s.ok()) {
    // Taken over since, or the server is away: if it is still ours, the key
    // ages out after `lease`.
    spdlog::info("nats source {}: lease {} not released: {}", options_.name, p.key, s.error());
  }
}

bool PartitionedNatsSource::startReplay(std::size_t k) {
  // Without a replay the partition is read on as before: its windows open
  // at the takeover start over.
  auto noReplay = [&](const std::string& why) {
    spdlog::warn(
        "nats source {}: partition {}: no takeover replay, correlation windows start over: {}",
        options_.name, k, why);
    return false;
  };
  Partition& p = partitions_[k];
  const std::chrono::nanoseconds span =
      options_.replay_span ? options_.replay_span() : std::chrono::nanoseconds(0);
  if (span.count() <= 0) return false;  // no correlation state to rebuild
  jsCtx* js = connection_->jetStream();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsConsumerInfo* ci = nullptr;
  natsStatus s =
      js_GetConsumerInfo(&ci, js, options_.stream.c_str(), p.consumer.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    return noReplay(nats::natsError("reading consumer " + p.consumer, s, jerr));
  }
  const uint64_t floor = ci->AckFloor.Stream;
  const int64_t acknowledged_at = ci->AckFloor.Last;
  jsConsumerInfo_Destroy(ci);
  if (floor == 0) return false;  // nothing acknowledged: the durable consumer has it all
  // The floor message's stream time anchors the replay.
  natsMsg* m = nullptr;
  jerr = static_cast<jsErrCode>(0);
  s = js_GetMsg(&m, js, options_.stream.c_str(), floor, nullptr, &jerr);
  int64_t floor_time = 0;
  if (s == NATS_OK) {
    floor_time = natsMsg_GetTime(m);
    natsMsg_Destroy(m);
  } else if (acknowledged_at > 0) {
    // The floor's message is gone (deleted, or the stream's limits): when
    // it was acknowledged is the next best anchor, later by the previous
    // owner's lag.
    floor_time = acknowledged_at;
    spdlog::warn(
        "nats source {}: partition {}: {}; the replay starts from when it was "
        "acknowledged instead",
        options_.name, k, nats::natsError("reading message " + std::to_string(floor), s, jerr));
  } else {
    return noReplay(nats::natsError(
        "reading message " + std::to_string(floor) + " (removed by the stream's limits?)", s,
        jerr));
  }
  const int64_t start = floor_time - span.count();

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options_.stream.c_str();
  so.Config.AckPolicy = js_AckNone;
  so.Config.DeliverPolicy = start > 0 ? js_DeliverByStartTime : js_DeliverAll;
  if (start > 0) so.Config.OptStartTime = start;
  // An instance killed during a replay leaves the consumer to the server.
  so.Config.InactiveThreshold =
      nanos(std::max<std::chrono::milliseconds>(options_.lease, std::chrono::milliseconds(30'000)));
  natsSubscription* sub = nullptr;
  jerr = static_cast<jsErrCode>(0);
  s = js_PullSubscribe(&sub, js, p.subject.c_str(), nullptr, nullptr, &so, &jerr);
  if (s != NATS_OK) {
    return noReplay(nats::natsError("replay consumer on " + p.subject, s, jerr));
  }
  p.replay = sub;
  p.replay_to = floor;
  p.replay_from = p.replay_last = 0;
  p.replayed = 0;
  p.replay_started = std::chrono::steady_clock::now();
  spdlog::info(
      "nats source {}: partition {}: replaying its history up to the acknowledged sequence {} "
      "from {} s before that message's time, for correlation state only",
      options_.name, k, floor, std::chrono::duration<double>(span).count());
  return true;
}

void PartitionedNatsSource::replayInto(RecordBatch& batch, std::size_t k,
                                       std::chrono::milliseconds timeout) {
  Partition& p = partitions_[k];
  jsFetchRequest req;
  jsFetchRequest_Init(&req);
  req.Batch = static_cast<int>(options_.batch);
  // What is replayed is in the stream already: take what is there, never
  // wait for more.
  req.NoWait = true;
  req.Expires = nanos(std::max(timeout, options_.connection.timeout));
  natsMsgList list{};
  const natsStatus s = natsSubscription_FetchRequest(&list, p.replay, &req);
  if (s != NATS_OK && s != NATS_TIMEOUT && s != NATS_NOT_FOUND) {
    natsMsgList_Destroy(&list);
    if (options_.events) options_.events->fetchFailed();
    logLimited(nats::natsError("replay fetch from " + p.subject, s));
    finishReplay(k, "ended early by a failed fetch; windows open at the takeover may be short");
    return;
  }
  // Ends at the floor, past it, or at the partition's last message: the
  // floor of a filtered consumer may be the sequence of a message of
  // another subject (the server moves it over those).
  bool reached = list.Count == 0;
  for (int i = 0; i < list.Count && !reached; ++i) {
    natsMsg* m = list.Msgs[i];
    uint64_t sequence = 0;
    uint64_t pending = 0;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      sequence = meta->Sequence.Stream;
      pending = meta->NumPending;
      jsMsgMetaData_Destroy(meta);
    }
    if (sequence > p.replay_to) {
      reached = true;  // the durable consumer delivers it
      break;
    }
    if (p.replay_from == 0) p.replay_from = sequence;
    p.replay_last = sequence;
    reached = sequence == p.replay_to || pending == 0;
    // An oversized payload was skipped (and counted) when first read.
    records_.add(m, sequence, options_.max_line_bytes);
  }
  natsMsgList_Destroy(&list);  // no acknowledgements: the consumer takes none
  const std::size_t replayed = records_.emit(batch, origin_, true);
  p.replayed += replayed;
  stats_.replayed += replayed;
  if (reached) finishReplay(k, "done");
}

void PartitionedNatsSource::finishReplay(std::size_t k, const char* how) {
  Partition& p = partitions_[k];
  if (p.replay != nullptr) {
    natsSubscription_Unsubscribe(p.replay);  // deletes the ephemeral consumer
    natsSubscription_Destroy(p.replay);
    p.replay = nullptr;
  }
  if (p.state == State::kReplaying) p.state = State::kOwned;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - p.replay_started);
  spdlog::info(
      "nats source {}: partition {}: replay {}: {} records (sequences {} to {}) in {} ms, state "
      "only; reading on after the acknowledgement floor {}",
      options_.name, k, how, p.replayed, p.replay_from, p.replay_last, took.count(), p.replay_to);
}

void PartitionedNatsSource::dropSubscription(std::size_t k) {
  Partition& p = partitions_[k];
  if (p.subscription != nullptr) {
    natsSubscription_Destroy(p.subscription);  // the durable consumer stays
    p.subscription = nullptr;
  }
}

Status PartitionedNatsSource::ensureConsumer(const Partition& p) {
  return connection_->ensurePullConsumer({options_.stream, p.consumer, p.subject,
                                          options_.create_consumer, options_.start_at_end,
                                          options_.ack_wait, options_.max_ack_pending});
}

bool PartitionedNatsSource::next(RecordBatch& batch, std::chrono::milliseconds timeout) {
  batch.clear();
  records_.clear();
  maintainLeases(false);

  // A partition taken over is replayed before anything else is read, so
  // its windows are rebuilt before its live records reach them.
  for (std::size_t k = 0; k < partitions_.size(); ++k) {
    if (partitions_[k].state == State::kReplaying) {
      replayInto(batch, k, timeout);
      if (!batch.records.empty()) return true;
    }
  }

  std::vector<std::size_t> owned;
  for (std::size_t i = 0; i < partitions_.size(); ++i) {
    const std::size_t k = (rotation_ + i) % partitions_.size();
    if (partitions_[k].state == State::kOwned) owned.push_back(k);
  }
  rotation_ = (rotation_ + 1) % partitions_.size();
  if (owned.empty()) {
    // Nothing to read until a lease comes free: wait out the poll.
    std::this_thread::sleep_for(std::min(timeout, options_.lease / 3));
    refreshPending();
    return true;
  }
  // First whatever is ready in any owned partition, then wait on one.
  for (std::size_t i = 0; i <= owned.size(); ++i) {
    const bool last = i == owned.size();
    const std::size_t k = owned[last ? 0 : i];
    jsFetchRequest req;
    jsFetchRequest_Init(&req);
    req.Batch = static_cast<int>(options_.batch);
    req.NoWait = !last;
    req.Expires = nanos(std::max(timeout, std::chrono::milliseconds(1)));
    natsMsgList list{};
    const natsStatus s = natsSubscription_FetchRequest(&list, partitions_[k].subscription, &req);
    if (s != NATS_OK && s != NATS_TIMEOUT && s != NATS_NOT_FOUND) {
      natsMsgList_Destroy(&list);
      if (options_.events) options_.events->fetchFailed();
      logLimited(nats::natsError("fetch from " + partitions_[k].consumer, s));
      if (last) std::this_thread::sleep_for(timeout);
      continue;
    }
    if (list.Count > 0) {
      fetchInto(batch, list.Msgs, list.Count, k);
      natsMsgList_Destroy(&list);
      return true;
    }
    natsMsgList_Destroy(&list);
  }
  refreshPending();
  return true;
}

void PartitionedNatsSource::fetchInto(RecordBatch& batch, natsMsg** messages, int count,
                                      std::size_t k) {
  uint64_t redelivered = 0;
  std::vector<natsMsg*> taken;
  taken.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    natsMsg* m = messages[i];
    messages[i] = nullptr;
    taken.push_back(m);
    stats_.bytes_read += static_cast<uint64_t>(natsMsg_GetDataLength(m));
    uint64_t sequence = 0;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      sequence = meta->Sequence.Stream;
      if (meta->NumDelivered > 1) ++redelivered;
      jsMsgMetaData_Destroy(meta);
    }
    if (!records_.add(m, sequence, options_.max_line_bytes)) ++stats_.oversized_skipped;
  }
  stats_.records += records_.emit(batch, origin_, false);
  fetched_ += taken.size();
  {
    std::lock_guard lock(mu_);
    for (natsMsg* m : taken) unacked_.emplace_back(m, k);
    unacked_per_partition_[k] += taken.size();
  }
  if (options_.events) options_.events->delivered(taken.size(), redelivered);
}

void PartitionedNatsSource::refreshPending() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_pending_check_ < kPendingCheckInterval) return;
  last_pending_check_ = now;
  uint64_t pending = 0;
  for (const Partition& p : partitions_) {
    if (p.state != State::kOwned && p.state != State::kReplaying) continue;
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (js_GetConsumerInfo(&ci, connection_->jetStream(), options_.stream.c_str(),
                           p.consumer.c_str(), nullptr, &jerr) != NATS_OK) {
      return;
    }
    pending += ci->NumPending;
    jsConsumerInfo_Destroy(ci);
  }
  if (options_.events) options_.events->pending(pending);
}

std::unique_ptr<SourceMark> PartitionedNatsSource::mark() {
  return std::make_unique<PartitionMark>(fetched_);
}

Status PartitionedNatsSource::commit() { return acknowledgeThrough(fetched_); }

Status PartitionedNatsSource::commitMark(const SourceMark& mark) {
  return acknowledgeThrough(static_cast<const PartitionMark&>(mark).count);
}

Status PartitionedNatsSource::acknowledgeThrough(uint64_t count) {
  std::vector<std::pair<natsMsg*, std::size_t>> due;
  {
    std::lock_guard lock(mu_);
    while (acked_ < count && !unacked_.empty()) {
      due.push_back(unacked_.front());
      unacked_.pop_front();
      ++acked_;
    }
  }
  if (due.empty()) return Status::Ok();
  std::vector<natsMsg*> messages;
  messages.reserve(due.size());
  for (auto& [m, k] : due) messages.push_back(m);
  const Status acked = connection_->acknowledge(messages, "nats source " + options_.name);
  {
    // Acknowledged or not, they are no longer ours to wait for: what failed
    // comes back after ack_wait to whoever owns the partition then.
    std::lock_guard lock(mu_);
    for (auto& [m, k] : due) --unacked_per_partition_[k];
  }
  if (!acked.ok()) {
    if (options_.events) options_.events->ackFailed();
    return acked;
  }
  if (options_.events) options_.events->acknowledged(due.size());
  return Status::Ok();
}

SourceStats PartitionedNatsSource::stats() const { return stats_; }

void PartitionedNatsSource::reportOwned() {
  std::size_t owned = 0;
  for (const Partition& p : partitions_) {
    owned += p.state == State::kOwned || p.state == State::kReplaying ? 1 : 0;
  }
  if (options_.events) options_.events->partitionsOwned(owned);
}

void PartitionedNatsSource::logLimited(const std::string& message) {
  logNatsWarning(log_limiter_, options_.name, message);
}

}  // namespace trailwatch::source
