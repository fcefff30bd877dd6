#include "daemon/common/log_limiter.h"

#include <gtest/gtest.h>

#include <chrono>

namespace trailwatch {
namespace {

using std::chrono::seconds;

TEST(LogLimiterTest, OneMessagePerIntervalCountingTheRest) {
  LogLimiter limiter(seconds(10));
  const LogLimiter::Clock::time_point t0{};  // the clock's epoch: still "first"
  uint64_t held = 99;
  ASSERT_TRUE(limiter.allow(held, t0));
  EXPECT_EQ(held, 0u);
  EXPECT_FALSE(limiter.allow(held, t0 + seconds(1)));
  EXPECT_FALSE(limiter.allow(held, t0 + seconds(9)));
  ASSERT_TRUE(limiter.allow(held, t0 + seconds(10)));
  EXPECT_EQ(held, 2u);
  ASSERT_TRUE(limiter.allow(held, t0 + seconds(30)));
  EXPECT_EQ(held, 0u);
}

}  // namespace
}  // namespace trailwatch
