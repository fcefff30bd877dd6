#include "daemon/source/nats_source.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>
#include <thread>

namespace trailwatch::source {
namespace {

struct NatsMark final : SourceMark {
  explicit NatsMark(uint64_t c) : count(c) {}
  uint64_t count;  // messages fetched before the mark
};

constexpr std::chrono::seconds kPendingCheckInterval{5};

}  // namespace

void NatsRecords::clear() {
  arena_.clear();
  spans_.clear();
  sequences_.clear();
}

bool NatsRecords::add(natsMsg* m, uint64_t sequence, std::size_t max_bytes) {
  std::string_view text(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
  if (text.ends_with('\n')) text.remove_suffix(1);
  if (text.ends_with('\r')) text.remove_suffix(1);
  if (text.size() > max_bytes) return false;
  spans_.emplace_back(arena_.size(), text.size());
  sequences_.push_back(sequence);
  arena_.append(text);
  return true;
}

std::size_t NatsRecords::emit(RecordBatch& batch, std::string_view origin, bool state_only) {
  arena_.append(kRecordPadding, '\0');
  batch.records.reserve(batch.records.size() + spans_.size());
  for (std::size_t i = 0; i < spans_.size(); ++i) {
    Record r{std::string_view(arena_).substr(spans_[i].first, spans_[i].second), origin,
             sequences_[i]};
    r.state_only = state_only;
    batch.records.push_back(r);
  }
  return spans_.size();
}

void logNatsWarning(LogLimiter& limiter, const std::string& source, const std::string& message) {
  uint64_t held_back = 0;
  if (!limiter.allow(held_back)) return;
  if (held_back > 0) {
    spdlog::warn("nats source {}: {} ({} similar messages held back)", source, message, held_back);
  } else {
    spdlog::warn("nats source {}: {}", source, message);
  }
}

NatsSource::NatsSource(NatsSourceOptions options)
    : options_(std::move(options)), origin_("nats:" + options_.stream) {}

NatsSource::~NatsSource() {
  // Messages not acknowledged are redelivered after ack_wait.
  for (natsMsg* m : unacked_) natsMsg_Destroy(m);
  if (subscription_ != nullptr) natsSubscription_Destroy(subscription_);
}

Status NatsSource::open() {
  auto connection = nats::NatsConnection::connect(options_.connection);
  if (!connection.ok()) return Error{"nats source " + options_.name + ": " + connection.error()};
  connection_ = std::move(connection).value();
  if (Status s = ensureConsumer(); !s.ok()) {
    return Error{"nats source " + options_.name + ": " + s.error()};
  }
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options_.stream.c_str();
  so.Consumer = options_.consumer.c_str();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_PullSubscribe(&subscription_, connection_->jetStream(),
                                  options_.subject.empty() ? nullptr : options_.subject.c_str(),
                                  options_.consumer.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) {
    subscription_ = nullptr;
    return Error{"nats source " + options_.name + ": " +
                 nats::natsError("binding to consumer " + options_.consumer, s, jerr)};
  }
  spdlog::info("nats source {}: consuming stream {} through durable consumer {} at {}",
               options_.name, options_.stream, options_.consumer, connection_->url());
  return Status::Ok();
}

Status NatsSource::ensureConsumer() {
  jsCtx* js = connection_->jetStream();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  natsStatus s = js_GetStreamInfo(&si, js, options_.stream.c_str(), nullptr, &jerr);
  if (s != NATS_OK) {
    if (jerr == JSStreamNotFoundErr) {
      return Error{"stream '" + options_.stream +
                   "' does not exist (create it first, e.g. nats stream add)"};
    }
    return Error{nats::natsError("looking up stream " + options_.stream, s, jerr)};
  }
  jsStreamInfo_Destroy(si);

  return connection_->ensurePullConsumer({options_.stream, options_.consumer, options_.subject,
                                          options_.create_consumer, options_.start_at_end,
                                          options_.ack_wait, options_.max_ack_pending});
}

bool NatsSource::next(RecordBatch& batch, std::chrono::milliseconds timeout) {
  batch.clear();
  records_.clear();
  natsMsgList list{};
  jsErrCode jerr = static_cast<jsErrCode>(0);
  const int64_t wait_ms = std::max<int64_t>(1, timeout.count());
  natsStatus s = natsSubscription_Fetch(&list, subscription_, static_cast<int>(options_.batch),
                                        wait_ms, &jerr);
  if (s != NATS_OK && s != NATS_TIMEOUT) {
    if (options_.events) options_.events->fetchFailed();
    logLimited(nats::natsError("fetch", s, jerr));
    natsMsgList_Destroy(&list);
    // A failure can come back at once (disconnected, reconnecting): wait
    // out the poll rather than spin through the pipeline's loop.
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    return true;
  }
  if (list.Count == 0) {
    natsMsgList_Destroy(&list);
    refreshPending();
    return true;
  }
  uint64_t redelivered = 0;
  std::vector<natsMsg*> taken;
  taken.reserve(static_cast<std::size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    natsMsg* m = list.Msgs[i];
    list.Msgs[i] = nullptr;  // ours now
    taken.push_back(m);
    stats_.bytes_read += static_cast<uint64_t>(natsMsg_GetDataLength(m));
    uint64_t sequence = 0;
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
      sequence = meta->Sequence.Stream;
      if (meta->NumDelivered > 1) ++redelivered;
      lag_.store(meta->NumPending, std::memory_order_relaxed);
      jsMsgMetaData_Destroy(meta);
    }
    if (!records_.add(m, sequence, options_.max_line_bytes)) ++stats_.oversized_skipped;
  }
  natsMsgList_Destroy(&list);
  stats_.records += records_.emit(batch, origin_, false);
  fetched_ += taken.size();
  {
    std::lock_guard lock(mu_);
    unacked_.insert(unacked_.end(), taken.begin(), taken.end());
  }
  if (options_.events) {
    options_.events->delivered(taken.size(), redelivered);
    options_.events->pending(lag_.load(std::memory_order_relaxed));
  }
  return true;
}

void NatsSource::refreshPending() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_pending_check_ < kPendingCheckInterval) return;
  last_pending_check_ = now;
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  if (js_GetConsumerInfo(&ci, connection_->jetStream(), options_.stream.c_str(),
                         options_.consumer.c_str(), nullptr, &jerr) != NATS_OK) {
    return;
  }
  lag_.store(ci->NumPending, std::memory_order_relaxed);
  jsConsumerInfo_Destroy(ci);
  if (options_.events) options_.events->pending(lag_.load(std::memory_order_relaxed));
}

std::unique_ptr<SourceMark> NatsSource::mark() { return std::make_unique<NatsMark>(fetched_); }

Status NatsSource::commit() { return acknowledgeThrough(fetched_); }

Status NatsSource::commitMark(const SourceMark& mark) {
  return acknowledgeThrough(static_cast<const NatsMark&>(mark).count);
}

Status NatsSource::acknowledgeThrough(uint64_t count) {
  std::vector<natsMsg*> due;
  {
    std::lock_guard lock(mu_);
    while (acked_ < count && !unacked_.empty()) {
      due.push_back(unacked_.front());
      unacked_.pop_front();
      ++acked_;
    }
  }
  if (due.empty()) return Status::Ok();
  if (Status s = connection_->acknowledge(due, "nats source " + options_.name); !s.ok()) {
    if (options_.events) options_.events->ackFailed();
    return s;  // the messages come back after ack_wait; their records are evaluated again
  }
  if (options_.events) options_.events->acknowledged(due.size());
  return Status::Ok();
}

SourceStats NatsSource::stats() const { return stats_; }

void NatsSource::logLimited(const std::string& message) {
  logNatsWarning(log_limiter_, options_.name, message);
}

}  // namespace trailwatch::source
