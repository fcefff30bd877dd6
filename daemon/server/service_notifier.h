// ServiceNotifier: what `trailwatch run` tells its service manager besides
// READY/RELOADING/STOPPING — watchdog pings and a STATUS line — decided on
// the main thread from the workers' heartbeats and the pipelines' totals.
//
// Watchdog: with an interval W (systemd's WatchdogSec, read by the caller
// with sd_watchdog_enabled), tick() sends WATCHDOG=1 every W/2, but only
// while every watched heartbeat beat within `stall_after` (W unless set). A
// worker that stopped beating is logged once by name, and the pings stop
// until it beats again, so systemd kills and restarts the service at most
// stall_after + W after the worker stuck. Finished heartbeats are ignored.
//
// Status: every `status_every`, a line such as
// `STATUS=1234 events/s, 56 alerts, 7 sources, 71 rules`, events/s being
// the events evaluated since the previous line over the time between them.
//
// Sending goes through a function given at construction (sd_notify in the
// daemon, a recorder in tests); times are steady-clock nanoseconds from the
// caller, so tests drive a fake clock.
//
// Thread-safety: one thread (the main loop) calls everything; the watched
// heartbeats are read from it (heartbeat.h) and must outlive the notifier.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "daemon/server/heartbeat.h"

namespace trailwatch::server {

struct ServiceNotifierOptions {
  std::chrono::microseconds watchdog{0};    // 0: no watchdog pings
  std::chrono::nanoseconds stall_after{0};  // 0: the watchdog interval
  std::chrono::nanoseconds status_every{std::chrono::seconds(5)};
};

// What the STATUS line reports; events and alerts are running totals.
struct ServiceCounts {
  uint64_t events = 0;
  uint64_t alerts = 0;
  size_t sources = 0;
  size_t rules = 0;
};

std::string statusLine(double events_per_second, const ServiceCounts& counts);

class ServiceNotifier {
 public:
  using Send = std::function<void(const std::string&)>;

  ServiceNotifier(ServiceNotifierOptions options, Send send);

  // `name` says what the worker is in the log ("source app", "correlator
  // shard 0").
  void watch(std::string name, const Heartbeat* heartbeat);

  // Sends what is due at `now`. Call at least every tickInterval().
  void tick(int64_t now, const ServiceCounts& counts);

  // How often the main loop should call tick(): a quarter of the watchdog
  // interval (so a ping is never late by more than that), at most a second.
  std::chrono::nanoseconds tickInterval() const;

  // The names of the workers that have not beaten within stall_after.
  std::vector<std::string> stalled(int64_t now) const;

  bool watchdogEnabled() const { return options_.watchdog.count() > 0; }

 private:
  struct Watched {
    std::string name;
    const Heartbeat* heartbeat;
    bool reported = false;  // its stall was logged
  };

  void checkWatchdog(int64_t now);

  ServiceNotifierOptions options_;
  Send send_;
  std::vector<Watched> watched_;
  bool started_ = false;
  int64_t next_ping_ = 0;
  int64_t last_status_ = 0;
  uint64_t last_events_ = 0;
};

}  // namespace trailwatch::server
