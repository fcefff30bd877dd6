// LogLimiter: keeps a message that can be flooded (a fetch failing every
// poll, a receiver down for an hour) to one line per interval, and says how
// many like it were held back in between.
//
// Thread-safety: none; the owner serialises calls (one thread, or its lock).
#pragma once

#include <chrono>
#include <cstdint>

namespace trailwatch {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogLimiter(Clock::duration every = std::chrono::seconds(10)) : every_(every) {}

  // Whether to log the message now: true for the first one and then at most
  // once per interval, with `held_back` set to the messages held back since
  // the last one logged; false (the message counted as held back) otherwise.
  bool allow(uint64_t& held_back, Clock::time_point now = Clock::now()) {
    if (logged_ && now - last_ < every_) {
      ++held_back_;
      return false;
    }
    logged_ = true;
    last_ = now;
    held_back = held_back_;
    held_back_ = 0;
    return true;
  }

 private:
  Clock::duration every_;
  bool logged_ = false;
  Clock::time_point last_{};
  uint64_t held_back_ = 0;
};

}  // namespace trailwatch
