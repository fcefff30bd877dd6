// Heartbeat: a worker thread's proof of progress, read by the main thread
// to decide whether systemd's watchdog may be fed (service_notifier.h).
//
// The owner calls beat(now) each time round its loop — before it waits for
// input, and after each batch — so a thread that waits normally (a source's
// next() returns within its poll timeout, a correlator shard wakes every
// idle tick) beats at least every second, while one stuck inside a batch
// (a sink that blocks, a decoder that loops) stops beating. finish() says
// the thread ended on purpose (its source ended), so silence is not a stall.
// Times are steady-clock nanoseconds, supplied by the caller so tests can
// use a fake clock.
//
// Thread-safety: beat() and finish() from the owning thread, last() from any
// thread (relaxed atomics: a beat only has to become visible soon, it
// publishes no other data).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace trailwatch::server {

class Heartbeat {
 public:
  static constexpr int64_t kFinished = std::numeric_limits<int64_t>::max();

  explicit Heartbeat(int64_t now = steadyNanos()) : last_(now) {}

  void beat(int64_t now) { last_.store(now, std::memory_order_relaxed); }
  void finish() { last_.store(kFinished, std::memory_order_relaxed); }
  // The last beat, or kFinished.
  int64_t last() const { return last_.load(std::memory_order_relaxed); }

  static int64_t steadyNanos() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

 private:
  std::atomic<int64_t> last_;
};

}  // namespace trailwatch::server
