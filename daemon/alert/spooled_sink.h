// SpooledSink: the one delivery mechanism under every network sink
// (webhook, Alertmanager, syslog). write() appends the alert to the
// sink's on-disk Spool; flush() fdatasync()s it, so the pipeline's
// checkpoint moves only past alerts that survive a power cut. A delivery
// thread owned by the sink reads the spool in order and hands batches to a
// Transport; what the receiver accepts is acknowledged (and leaves the
// spool), so a receiver that is down loses nothing and gets everything, in
// order, when it comes back, across daemon restarts too.
//
// What a Transport reports decides what happens to a batch:
//   kDelivered  acknowledged
//   kRetry      kept; tried again after an exponential backoff with full
//               jitter (a random delay in [0, min(max_delay,
//               initial_delay * 2^failures)]), counted as a send failure
//   kRejected   the receiver refused this content for good (e.g. HTTP 400):
//               logged, counted, and acknowledged, since retrying it would
//               hold every later alert back forever
//
// Spool full (SpoolFullPolicy): with kBlock, write() fails and so does every
// flush() after it until the daemon restarts, so no checkpoint passes an
// alert that is not spooled: the sources read it again after the restart.
// Drops are counted; every case is logged (at most every 10 s per sink).
//
// A spool that cannot be written (a full disk under state_dir, an I/O
// error) loses nothing either: write() keeps the alert in memory, in order,
// and every later write() and flush() tries to spool those first; flush()
// fails until they are all in the spool, so no checkpoint passes them.
// Once more than spool.max_bytes wait in memory, write() refuses as kBlock
// does (the sources re-read them after a restart).
//
// The sink never waits for the network: the delivery thread does, and
// stop()/the destructor wait at most for one send in flight (its timeout).
//
// Thread-safety: write(), flush(), deliver() from any thread. The Transport
// is used only by the delivery thread. The monitor is called from the
// delivery thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/alert/spool.h"
#include "daemon/common/log_limiter.h"
#include "trailwatch/alert_sink.h"

namespace trailwatch::alert {

struct SendResult {
  enum class Kind { kDelivered, kRetry, kRejected };
  Kind kind = Kind::kRetry;
  std::string detail;  // for the log: status line or error
};

// Hands a batch of alerts (JSON objects as the pipeline wrote them, oldest
// first) to a receiver. Thread-safety: called from one thread at a time.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual SendResult send(const std::vector<SpoolRecord>& batch) = 0;
};

// Delivery counters, cumulative since start.
struct DeliveryStats {
  SpoolStats spool;
  uint64_t delivered = 0;      // alerts the receiver acknowledged
  uint64_t rejected = 0;       // alerts dropped because the receiver refused them
  uint64_t send_failures = 0;  // send attempts that failed (and were retried)
};

struct DeliveryOptions {
  size_t batch_max = 1;
  size_t batch_max_bytes = 4u << 20;
  std::chrono::milliseconds retry_initial_delay{1000};
  std::chrono::milliseconds retry_max_delay{60'000};
  // Called by the delivery thread with the stats after each step and at
  // least once a second (metrics). May be empty.
  std::function<void(const DeliveryStats&)> monitor;
};

class SpooledSink : public AlertSink {
 public:
  // Starts the delivery thread.
  SpooledSink(std::string name, std::unique_ptr<Spool> spool, std::unique_ptr<Transport> transport,
              DeliveryOptions options);
  ~SpooledSink() override;  // stop()

  const std::string& name() const override { return name_; }
  Status write(std::string_view alert_json) override;
  Status flush() override;
  Status deliver() override;

  // Stops the delivery thread (after the send in flight, if any); what is
  // not delivered stays spooled for the next start.
  void stop();

 private:
  void run();
  void publish();
  // Logs at most once per 10 s per `kind` slot, with how many were held back.
  void logLimited(int kind, const std::string& message);
  // What happens to an alert the spool took (or dropped, or refused).
  Status taken(Spool::Appended appended);
  // Keeps an alert the spool could not take (requires unspooled_mu_).
  Status keepLocked(std::string_view alert_json);
  // Spools the kept alerts, oldest first; false when the spool still fails
  // (requires unspooled_mu_).
  bool respoolLocked();

  const std::string name_;
  const std::unique_ptr<Spool> spool_;
  const std::unique_ptr<Transport> transport_;
  const DeliveryOptions options_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  bool pending_ = false;   // guarded by mu_; something was written since the thread looked
  // Set once write() refused an alert (kBlock): from then on flush() fails.
  std::atomic<bool> refused_{false};
  std::atomic<uint64_t> delivered_{0}, rejected_{0}, send_failures_{0};

  // Serialises write() and the spooling of kept alerts, so they keep their order.
  std::mutex unspooled_mu_;
  std::deque<std::string> unspooled_;  // guarded by unspooled_mu_: not yet spooled, oldest first
  uint64_t unspooled_bytes_ = 0;       // guarded by unspooled_mu_
  std::string last_spool_error_;       // guarded by unspooled_mu_

  std::mutex log_mu_;
  LogLimiter log_limiters_[4];  // by kind; guarded by log_mu_

  std::thread thread_;
};

// Full-jitter backoff: a uniformly random delay in [0, min(max, initial *
// 2^failures)], `random` giving uniform values in [0, 1).
std::chrono::milliseconds backoffDelay(std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max, unsigned failures,
                                       double random);

}  // namespace trailwatch::alert
