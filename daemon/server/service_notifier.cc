#include "daemon/server/service_notifier.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include <spdlog/spdlog.h>

namespace trailwatch::server {

std::string statusLine(double events_per_second, const ServiceCounts& counts) {
  char line[160];
  std::snprintf(line, sizeof line,
                "STATUS=%.0f events/s, %" PRIu64 " alerts, %zu sources, %zu rules",
                events_per_second, counts.alerts, counts.sources, counts.rules);
  return line;
}

ServiceNotifier::ServiceNotifier(ServiceNotifierOptions options, Send send)
    : options_(options), send_(std::move(send)) {
  if (options_.stall_after.count() <= 0) options_.stall_after = options_.watchdog;
}

void ServiceNotifier::watch(std::string name, const Heartbeat* heartbeat) {
  watched_.push_back({std::move(name), heartbeat});
}

std::chrono::nanoseconds ServiceNotifier::tickInterval() const {
  const std::chrono::nanoseconds second = std::chrono::seconds(1);
  if (!watchdogEnabled()) return second;
  return std::clamp<std::chrono::nanoseconds>(options_.watchdog / 4, std::chrono::milliseconds(1),
                                              second);
}

std::vector<std::string> ServiceNotifier::stalled(int64_t now) const {
  std::vector<std::string> names;
  for (const auto& w : watched_) {
    const int64_t last = w.heartbeat->last();
    if (last != Heartbeat::kFinished && now - last > options_.stall_after.count()) {
      names.push_back(w.name);
    }
  }
  return names;
}

void ServiceNotifier::checkWatchdog(int64_t now) {
  bool healthy = true;
  for (auto& w : watched_) {
    const int64_t last = w.heartbeat->last();
    const bool stuck = last != Heartbeat::kFinished && now - last > options_.stall_after.count();
    if (stuck) {
      healthy = false;
      if (!w.reported) {
        spdlog::error(
            "watchdog: {} has made no progress for {:.1f}s (stuck inside a batch: a sink or "
            "decoder that does not return?); watchdog pings stop so that the service manager "
            "restarts trailwatch",
            w.name, static_cast<double>(now - last) / 1e9);
        w.reported = true;
      }
    } else if (w.reported) {
      spdlog::warn("watchdog: {} makes progress again", w.name);
      w.reported = false;
    }
  }
  if (healthy) send_("WATCHDOG=1");
}

void ServiceNotifier::tick(int64_t now, const ServiceCounts& counts) {
  if (!started_) {
    started_ = true;
    next_ping_ = now;
    last_status_ = now;
    last_events_ = counts.events;
  }
  if (watchdogEnabled() && now >= next_ping_) {
    checkWatchdog(now);
    const auto half = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.watchdog) / 2;
    next_ping_ = now + half.count();
  }
  if (now - last_status_ >= options_.status_every.count()) {
    const double seconds = static_cast<double>(now - last_status_) / 1e9;
    const uint64_t events = counts.events >= last_events_ ? counts.events - last_events_ : 0;
    send_(statusLine(static_cast<double>(events) / seconds, counts));
    last_status_ = now;
    last_events_ = counts.events;
  }
}

}  // namespace trailwatch::server
