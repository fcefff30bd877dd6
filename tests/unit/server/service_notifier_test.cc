#include "daemon/server/service_notifier.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trailwatch::server {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kSecond = 1'000'000'000;

struct Recorder {
  std::vector<std::string> sent;
  ServiceNotifier::Send send() {
    return [this](const std::string& m) { sent.push_back(m); };
  }
  int count(const std::string& message) const {
    int n = 0;
    for (const auto& m : sent) n += m == message;
    return n;
  }
};

ServiceNotifierOptions watchdogOf(std::chrono::seconds interval) {
  ServiceNotifierOptions o;
  o.watchdog = interval;
  o.status_every = 1000s;  // out of the way
  return o;
}

TEST(ServiceNotifier, PingsAtHalfTheIntervalWhileWorkersBeat) {
  Recorder rec;
  ServiceNotifier notifier(watchdogOf(10s), rec.send());
  Heartbeat source(0), shard(0);
  notifier.watch("source app", &source);
  notifier.watch("correlator shard 0", &shard);
  for (int64_t t = 0; t <= 20 * kSecond; t += kSecond) {
    source.beat(t);
    shard.beat(t);
    notifier.tick(t, {});
  }
  // t = 0, 5, 10, 15, 20.
  EXPECT_EQ(rec.count("WATCHDOG=1"), 5);
}

TEST(ServiceNotifier, StopsPingingWhileAWorkerIsStuckAndResumesWhenItMovesOn) {
  Recorder rec;
  ServiceNotifier notifier(watchdogOf(10s), rec.send());
  Heartbeat source(0), stuck(0);
  notifier.watch("source app", &source);
  notifier.watch("source audit", &stuck);
  for (int64_t t = 0; t <= 30 * kSecond; t += kSecond) {
    source.beat(t);
    notifier.tick(t, {});
  }
  // `stuck` last beat at 0: fresh until 10 s (pings at 0, 5, 10), stalled after.
  EXPECT_EQ(rec.count("WATCHDOG=1"), 3);
  EXPECT_EQ(notifier.stalled(30 * kSecond), std::vector<std::string>{"source audit"});

  // It moves on at 31 s; the next ping slot is 35 s.
  stuck.beat(31 * kSecond);
  for (int64_t t = 31 * kSecond; t <= 35 * kSecond; t += kSecond) {
    source.beat(t);
    notifier.tick(t, {});
  }
  EXPECT_EQ(rec.count("WATCHDOG=1"), 4);
  EXPECT_TRUE(notifier.stalled(35 * kSecond).empty());
}

TEST(ServiceNotifier, AFinishedWorkerIsNotAStall) {
  Recorder rec;
  ServiceNotifier notifier(watchdogOf(2s), rec.send());
  Heartbeat ended(0);
  ended.finish();
  notifier.watch("source stdin", &ended);
  notifier.tick(100 * kSecond, {});
  EXPECT_EQ(rec.count("WATCHDOG=1"), 1);
}

TEST(ServiceNotifier, StallThresholdCanBeShorterThanTheInterval) {
  Recorder rec;
  ServiceNotifierOptions o = watchdogOf(30s);
  o.stall_after = 3s;
  ServiceNotifier notifier(o, rec.send());
  Heartbeat worker(0);
  notifier.watch("source app", &worker);
  EXPECT_TRUE(notifier.stalled(3 * kSecond).empty());
  EXPECT_EQ(notifier.stalled(3 * kSecond + 1), std::vector<std::string>{"source app"});
}

TEST(ServiceNotifier, NoWatchdogNoPings) {
  Recorder rec;
  ServiceNotifierOptions o;
  o.status_every = 1000s;
  ServiceNotifier notifier(o, rec.send());
  Heartbeat worker(0);
  notifier.watch("source app", &worker);
  for (int64_t t = 0; t <= 10 * kSecond; t += kSecond) notifier.tick(t, {});
  EXPECT_TRUE(rec.sent.empty());
  EXPECT_EQ(notifier.tickInterval(), std::chrono::nanoseconds(1s));
}

TEST(ServiceNotifier, TickIntervalIsAQuarterOfAShortWatchdog) {
  Recorder rec;
  ServiceNotifier notifier(watchdogOf(2s), rec.send());
  EXPECT_EQ(notifier.tickInterval(), std::chrono::nanoseconds(500ms));
}

TEST(ServiceNotifier, StatusReportsEventsPerSecondOfTheLastInterval) {
  Recorder rec;
  ServiceNotifierOptions o;
  o.status_every = 5s;
  ServiceNotifier notifier(o, rec.send());
  notifier.tick(0, {100, 0, 3, 71});
  notifier.tick(4 * kSecond, {5000, 1, 3, 71});
  EXPECT_TRUE(rec.sent.empty());
  notifier.tick(5 * kSecond, {6100, 2, 3, 71});   // 6000 events in 5 s
  notifier.tick(10 * kSecond, {6100, 2, 3, 72});  // idle
  ASSERT_EQ(rec.sent.size(), 2u);
  EXPECT_EQ(rec.sent[0], "STATUS=1200 events/s, 2 alerts, 3 sources, 71 rules");
  EXPECT_EQ(rec.sent[1], "STATUS=0 events/s, 2 alerts, 3 sources, 72 rules");
}

}  // namespace
}  // namespace trailwatch::server
