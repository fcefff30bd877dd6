#include "daemon/alert/spooled_sink.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

namespace trailwatch::alert {
namespace {

enum LogKind { kFull = 0, kSend = 1, kRejected = 2, kSpoolError = 3 };
constexpr auto kPublishEvery = std::chrono::seconds(1);

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::chrono::milliseconds backoffDelay(std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max, unsigned failures,
                                       double random) {
  const int64_t cap_ms = max.count();
  int64_t ceiling = std::max<int64_t>(initial.count(), 1);
  for (unsigned i = 0; i < failures && ceiling < cap_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap_ms);
  const double r = std::clamp(random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(r * static_cast<double>(ceiling)));
}

SpooledSink::SpooledSink(std::string name, std::unique_ptr<Spool> spool,
                         std::unique_ptr<Transport> transport, DeliveryOptions options)
    : name_(std::move(name)),
      spool_(std::move(spool)),
      transport_(std::move(transport)),
      options_(std::move(options)) {
  const SpoolStats s = spool_->stats();
  if (s.torn > 0) {
    spdlog::warn(
        "sink {}: {} damaged spool tail(s) cut off in {} (a crash during a write); "
        "alerts in them are lost",
        name_, s.torn, spool_->dir());
  }
  if (s.records > 0) {
    spdlog::info("sink {}: {} alert(s) waiting in the spool {}; delivering them first", name_,
                 s.records, spool_->dir());
  }
  thread_ = std::thread([this] { run(); });
}

SpooledSink::~SpooledSink() { stop(); }

void SpooledSink::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SpooledSink::logLimited(int kind, const std::string& message) {
  uint64_t held = 0;
  {
    std::lock_guard lock(log_mu_);
    if (!log_limiters_[kind].allow(held)) return;
  }
  const std::string more =
      held == 0 ? "" : " (" + std::to_string(held) + " more like this in the last 10 s)";
  if (kind == kSend) {
    spdlog::warn("sink {}: {}{}", name_, message, more);
  } else {
    spdlog::error("sink {}: {}{}", name_, message, more);
  }
}

Status SpooledSink::write(std::string_view alert_json) {
  std::lock_guard lock(unspooled_mu_);
  // Alerts the spool could not take earlier go first, in order.
  if (!unspooled_.empty() && !respoolLocked()) return keepLocked(alert_json);
  auto appended = spool_->append(alert_json, nowMs());
  if (!appended.ok()) {
    last_spool_error_ = appended.error();
    return keepLocked(alert_json);
  }
  return taken(*appended);
}

Status SpooledSink::taken(Spool::Appended appended) {
  switch (appended) {
    case Spool::Appended::kSpooled:
      break;
    case Spool::Appended::kDroppedOldest:
      logLimited(kFull, "spool " + spool_->dir() +
                            " is full: dropped the oldest undelivered alert(s) to make room "
                            "(spool.on_full: drop_oldest)");
      break;
    case Spool::Appended::kDroppedNewest:
      logLimited(kFull, "spool " + spool_->dir() +
                            " is full (or the alert is larger than spool.max_bytes): alert "
                            "dropped (spool.on_full: drop_newest)");
      return Status::Ok();
    case Spool::Appended::kRefused:
      refused_.store(true);
      logLimited(kFull, "spool " + spool_->dir() +
                            " is full: alert refused (spool.on_full: block); checkpoints are "
                            "held back until the daemon restarts, which re-reads the sources");
      return Error{"spool full: alert refused (spool.on_full: block)"};
  }
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  wake_.notify_one();
  return Status::Ok();
}

Status SpooledSink::keepLocked(std::string_view alert_json) {
  if (unspooled_bytes_ + alert_json.size() > spool_->stats().capacity_bytes) {
    // Memory is no better than the disk: past the spool's own bound, refuse
    // as a full spool does with `block` (the sources re-read after a restart).
    refused_.store(true);
    logLimited(kSpoolError, "cannot write the spool " + spool_->dir() + " (" + last_spool_error_ +
                                ") and the alerts kept in memory reached spool.max_bytes: "
                                "alert refused; checkpoints are held back until the daemon "
                                "restarts, which re-reads the sources");
    return Error{"spool not writable (" + last_spool_error_ + "): alert refused"};
  }
  unspooled_.emplace_back(alert_json);
  unspooled_bytes_ += alert_json.size();
  logLimited(kSpoolError, "cannot write the spool " + spool_->dir() + " (" + last_spool_error_ +
                              "); alerts are kept in memory and spooled when it can be written; "
                              "checkpoints are held back until then");
  return Status::Ok();
}

bool SpooledSink::respoolLocked() {
  while (!unspooled_.empty()) {
    auto appended = spool_->append(unspooled_.front(), nowMs());
    if (!appended.ok()) {
      last_spool_error_ = appended.error();
      return false;
    }
    unspooled_bytes_ -= unspooled_.front().size();
    unspooled_.pop_front();
    (void)taken(*appended);  // a refusal sets refused_, which fails every flush
    if (unspooled_.empty()) {
      spdlog::info(
          "sink {}: the spool {} can be written again; the alerts kept in memory are "
          "spooled",
          name_, spool_->dir());
    }
  }
  return true;
}

Status SpooledSink::deliver() {
  // write() already woke the delivery thread.
  return Status::Ok();
}

Status SpooledSink::flush() {
  if (refused_.load()) {
    return Error{"an alert was refused by the full spool " + spool_->dir() +
                 " (spool.on_full: block); restart the daemon once the receiver is back"};
  }
  {
    std::lock_guard lock(unspooled_mu_);
    if (!respoolLocked()) {
      return Error{std::to_string(unspooled_.size()) + " alert(s) not yet in the spool " +
                   spool_->dir() + ": " + last_spool_error_};
    }
  }
  if (refused_.load()) return Error{"an alert was refused by the full spool " + spool_->dir()};
  return spool_->sync();
}

void SpooledSink::publish() {
  if (!options_.monitor) return;
  DeliveryStats stats;
  stats.spool = spool_->stats();
  stats.delivered = delivered_.load();
  stats.rejected = rejected_.load();
  stats.send_failures = send_failures_.load();
  options_.monitor(stats);
}

void SpooledSink::run() {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  unsigned failures = 0;
  auto waitFor = [&](std::chrono::milliseconds delay, bool wake_on_write) {
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, delay, [&] { return stopping_ || (wake_on_write && pending_); });
  };
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      pending_ = false;
    }
    auto batch = spool_->peek(std::max<size_t>(options_.batch_max, 1), options_.batch_max_bytes);
    if (!batch.ok()) {
      logLimited(kSpoolError, batch.error());
      waitFor(kPublishEvery, false);
      continue;
    }
    if (batch->empty()) {
      publish();
      waitFor(kPublishEvery, true);
      continue;
    }
    const SendResult result = transport_->send(*batch);
    const auto n = static_cast<uint64_t>(batch->size());
    if (result.kind == SendResult::Kind::kRetry) {
      send_failures_.fetch_add(1);
      const auto delay = backoffDelay(options_.retry_initial_delay, options_.retry_max_delay,
                                      failures, uniform(rng));
      ++failures;
      logLimited(kSend, "delivery failed (" + result.detail + "); " + std::to_string(n) +
                            " alert(s) kept in the spool, retry " + std::to_string(failures) +
                            " in " + std::to_string(delay.count()) + " ms");
      publish();
      waitFor(delay, false);
      continue;
    }
    failures = 0;
    if (result.kind == SendResult::Kind::kRejected) {
      rejected_.fetch_add(n);
      logLimited(kRejected, "receiver rejected " + std::to_string(n) + " alert(s) (" +
                                result.detail + "); dropped from the spool, first seq " +
                                std::to_string(batch->front().seq));
    } else {
      delivered_.fetch_add(n);
    }
    if (Status s = spool_->ack(batch->back().seq); !s.ok()) {
      logLimited(kSpoolError, s.error());
    }
    publish();
  }
  publish();
}

}  // namespace trailwatch::alert
