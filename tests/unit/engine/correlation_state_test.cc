#include "daemon/engine/correlation_state.h"
#include "daemon/engine/correlation_sample.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/engine/rule_set.h"
#include "tests/unit/engine/saved_state.h"

namespace trailwatch::engine {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t sec(int64_t seconds) { return seconds * kSecond; }
constexpr int64_t kAllowance = 60;  // StateLimits' default late allowance, in seconds

// Three detection rules (indices 0, 1, 2) that the correlations below refer to.
constexpr const char* kBase = R"(title: Failed login
name: failed_login
logsource: {product: ehr}
detection: {s: {outcome: failure}, condition: s}
---
title: Successful login
name: successful_login
logsource: {product: ehr}
detection: {s: {outcome: success}, condition: s}
---
title: Export
name: export
logsource: {product: ehr}
detection: {s: {action: export}, condition: s}
)";

// kBase plus one correlation rule titled "C" (name c) whose `correlation:` map is `body`.
std::string withCorrelation(const std::string& body) {
  return std::string(kBase) + "---\ntitle: C\nname: c\ncorrelation:\n" + body;
}

std::string eventCount(const std::string& condition, const std::string& timespan = "10m") {
  return withCorrelation(
      "  type: event_count\n  rules: failed_login\n  group-by: user\n"
      "  timespan: " +
      timespan + "\n  condition: " + condition + "\n");
}

std::string valued(const std::string& type, const std::string& condition) {
  return withCorrelation("  type: " + type + "\n  rules: export\n  group-by: user\n" +
                         "  timespan: 10m\n  condition: " + condition + "\n");
}

constexpr const char* kChain = R"(---
title: Many failed logins
name: many_failed_logins
correlation:
  type: event_count
  rules: failed_login
  group-by: user
  timespan: 10m
  condition: {gte: 3}
---
title: Success after many failed logins
correlation:
  type: temporal_ordered
  rules: [many_failed_logins, successful_login]
  group-by: user
  timespan: 1h
)";

constexpr const char* kSuppressed = R"(---
title: Noisy
logsource: {product: ehr}
detection: {s: {action: print}, condition: s}
suppress: {timespan: 10m, by: user}
)";

std::shared_ptr<const RuleSet> build(const std::string& yaml) {
  Diagnostics diags;
  auto set = RuleSet::parse(yaml, "test.yml", diags);
  for (const auto& d : diags) ADD_FAILURE() << d.str();
  if (!set) set = RuleSet::parse("", "empty.yml", diags);  // keeps the state constructible
  return set;
}

uint32_t indexOf(const RuleSet& rules, std::string_view title) {
  for (uint32_t i = 0; i < rules.size(); ++i) {
    if (rules.rule(i).title == title) return i;
  }
  ADD_FAILURE() << "no rule titled " << title;
  return static_cast<uint32_t>(rules.size());  // observe() ignores it
}

Observation obs(uint32_t rule, int64_t seconds, std::string group = "g", uint32_t input = 0) {
  Observation o;
  o.rule = rule;
  o.input = input;
  o.time = sec(seconds);
  o.group = std::move(group);
  return o;
}

Observation withValue(Observation o, double value) {
  o.value = value;
  return o;
}

Observation withHash(Observation o, uint64_t hash) {
  o.value_hash = hash;
  return o;
}

Observation withSample(Observation o, std::string sample) {
  o.sample = std::move(sample);
  return o;
}

// A rule set and one state over it; `c` is the rule titled "C", if any.
class Harness {
 public:
  explicit Harness(const std::string& yaml, StateLimits limits = {})
      : rules_(build(yaml)), state_(rules_, limits) {
    for (uint32_t i = 0; i < rules_->size(); ++i) {
      if (rules_->rule(i).title == "C") c = i;
    }
  }

  uint32_t rule(std::string_view title) const { return indexOf(*rules_, title); }
  std::vector<StateOutput> observe(Observation o) {
    std::vector<StateOutput> out;
    state_.observe(std::move(o), out);
    return out;
  }
  std::vector<StateOutput> advance(int64_t seconds) {
    std::vector<StateOutput> out;
    state_.advance(sec(seconds), out);
    return out;
  }
  CorrelationState& state() { return state_; }
  const std::shared_ptr<const RuleSet>& rules() const { return rules_; }

  uint32_t c = 0;

 private:
  std::shared_ptr<const RuleSet> rules_;
  CorrelationState state_;
};

// Feeds one event per second from 1s on, until one produces output or
// `limit` events were fed; returns how many were fed (limit + 1: never fired).
int eventsUntilFired(Harness& h, int limit, std::vector<StateOutput>& out,
                     const std::string& group = "g") {
  for (int n = 1; n <= limit; ++n) {
    out = h.observe(obs(h.c, n, group));
    if (!out.empty()) return n;
  }
  return limit + 1;
}

std::string describe(const std::vector<StateOutput>& out) {
  std::string s;
  for (const auto& o : out) {
    s += "{kind " + std::to_string(static_cast<int>(o.kind)) + " rule " + std::to_string(o.rule) +
         " value " + std::to_string(o.value) + " events " + std::to_string(o.events) + "} ";
  }
  return s;
}

// --- event_count and the operators ---

TEST(CorrelationState, EventCountFiresOnTheNthEventNotBefore) {
  Harness h(eventCount("{gte: 3}"));
  EXPECT_TRUE(h.observe(obs(h.c, 0)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 1)).empty());
  const auto out = h.observe(obs(h.c, 2));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, StateOutput::Kind::kCorrelation);
  EXPECT_EQ(out[0].rule, h.c);
  EXPECT_EQ(out[0].group, "g");
  EXPECT_EQ(out[0].value, 3);
  EXPECT_EQ(out[0].events, 3u);
  EXPECT_EQ(out[0].first_seen, sec(0));
  EXPECT_EQ(out[0].last_seen, sec(2));
  EXPECT_EQ(h.state().counters().fired, 1u);
}

TEST(CorrelationState, EventCountStartsOverAfterFiring) {
  Harness h(eventCount("{gte: 3}"));
  for (int t : {0, 1}) EXPECT_TRUE(h.observe(obs(h.c, t)).empty());
  ASSERT_EQ(h.observe(obs(h.c, 2)).size(), 1u);
  EXPECT_TRUE(h.observe(obs(h.c, 3)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 4)).empty());
  const auto out = h.observe(obs(h.c, 5));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 3);
  EXPECT_EQ(out[0].first_seen, sec(3));
  EXPECT_EQ(h.state().counters().fired, 2u);
}

TEST(CorrelationState, EachOperatorFiresOnTheEventThatSatisfiesIt) {
  struct Case {
    const char* condition;
    int fires_on;  // the event count at which the condition first holds
  };
  const Case cases[] = {
      {"{gt: 2}", 3},
      {"{gte: 3}", 3},
      {"{eq: 3}", 3},
      {"{gt: 2, lte: 4}", 3},
      {"{gte: 4, lt: 10}", 4},
      {"{gt: 4, lt: 6}", 5},
      // Windows are judged at each event, so an upper bound alone holds at the first.
      {"{lt: 3}", 1},
      {"{lte: 2}", 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.condition);
    Harness h(eventCount(c.condition));
    std::vector<StateOutput> out;
    EXPECT_EQ(eventsUntilFired(h, 20, out), c.fires_on);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].value, c.fires_on);
    EXPECT_EQ(out[0].events, static_cast<uint64_t>(c.fires_on));
  }
}

TEST(CorrelationState, ConditionThatCanNoLongerHoldNeverFires) {
  // {eq: 0} can never hold for a window that contains the event being judged.
  Harness h(eventCount("{eq: 0}"));
  std::vector<StateOutput> out;
  EXPECT_EQ(eventsUntilFired(h, 10, out), 11);
  EXPECT_EQ(h.state().counters().fired, 0u);
}

// --- the window ---

TEST(CorrelationState, WindowIsHalfOpenOneTimespanLong) {
  Harness h(eventCount("{gte: 2}", "10m"));
  EXPECT_TRUE(h.observe(obs(h.c, 0, "a")).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 0, "b")).empty());
  // One second less than the timespan apart: together.
  auto out = h.observe(obs(h.c, 599, "b"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].group, "b");
  EXPECT_EQ(out[0].value, 2);
  EXPECT_EQ(out[0].first_seen, sec(0));
  EXPECT_EQ(out[0].last_seen, sec(599));
  // Exactly one timespan apart: not in the same window.
  EXPECT_TRUE(h.observe(obs(h.c, 600, "a")).empty());
  // The event at 600 of "a" still counts with the next one.
  out = h.observe(obs(h.c, 601, "a"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].group, "a");
  EXPECT_EQ(out[0].value, 2);
  EXPECT_EQ(out[0].first_seen, sec(600));
  EXPECT_EQ(out[0].last_seen, sec(601));
}

TEST(CorrelationState, OutOfOrderEventWithinTheAllowanceCompletesAWindow) {
  Harness h(eventCount("{gte: 3}", "5s"));
  EXPECT_TRUE(h.observe(obs(h.c, 10)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 12)).empty());
  const auto out = h.observe(obs(h.c, 11));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 3);
  EXPECT_EQ(out[0].first_seen, sec(10));
  EXPECT_EQ(out[0].last_seen, sec(12));
  EXPECT_EQ(h.state().counters().late, 0u);
  EXPECT_EQ(h.state().clock(), sec(12));
}

TEST(CorrelationState, OutOfOrderEventJudgesTheLaterWindowsThatContainIt) {
  Harness h(eventCount("{gte: 3}", "5s"));
  // 10 and 14 are 4s apart; 16 is too far from 10. Then 13 arrives late:
  // the window ending at 14 holds 10, 13, 14.
  for (int t : {10, 14, 16}) EXPECT_TRUE(h.observe(obs(h.c, t)).empty()) << t;
  const auto out = h.observe(obs(h.c, 13));
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].value, 3);
  EXPECT_EQ(out[0].first_seen, sec(10));
  EXPECT_EQ(out[0].last_seen, sec(14));
  // The group starts over with the event after the fired window.
  EXPECT_TRUE(h.observe(obs(h.c, 17)).empty());
  ASSERT_EQ(h.observe(obs(h.c, 18)).size(), 1u);
}

TEST(CorrelationState, LateObservationIsCountedAndLeftOut) {
  StateLimits limits;
  limits.late_allowance_nanos = sec(5);
  Harness h(eventCount("{gte: 2}"), limits);
  EXPECT_TRUE(h.observe(obs(h.c, 100)).empty());
  EXPECT_EQ(h.state().watermark(), sec(95));
  EXPECT_TRUE(h.observe(obs(h.c, 94)).empty());
  EXPECT_EQ(h.state().counters().late, 1u);
  EXPECT_EQ(h.state().clock(), sec(100));
  // Exactly at the watermark is not late.
  const auto out = h.observe(obs(h.c, 95));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 2);
  EXPECT_EQ(out[0].first_seen, sec(95));
  EXPECT_EQ(out[0].last_seen, sec(100));
  EXPECT_EQ(h.state().counters().late, 1u);
}

TEST(CorrelationState, GroupsOfSeveralFieldsDoNotMix) {
  Harness h(
      withCorrelation("  type: event_count\n  rules: failed_login\n  group-by: [user, host]\n"
                      "  timespan: 10m\n  condition: {gte: 2}\n"));
  const std::string alice_h1 = std::string("alice") + kGroupSeparator + "h1";
  const std::string alice_h2 = std::string("alice") + kGroupSeparator + "h2";
  const std::string bob_h1 = std::string("bob") + kGroupSeparator + "h1";
  EXPECT_TRUE(h.observe(obs(h.c, 0, alice_h1)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 1, alice_h2)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 2, bob_h1)).empty());
  EXPECT_EQ(h.state().keys(), 3u);
  const auto out = h.observe(obs(h.c, 3, alice_h1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].group, alice_h1);
  EXPECT_EQ(out[0].value, 2);
  EXPECT_EQ(out[0].first_seen, sec(0));
}

TEST(CorrelationState, AdvanceFreesGroupsNoWindowCanReachAnyMore) {
  Harness h(eventCount("{gte: 5}"));
  h.observe(obs(h.c, 0, "a"));
  h.observe(obs(h.c, 100, "b"));
  EXPECT_EQ(h.state().keys(), 2u);
  EXPECT_GT(h.state().memoryBytes(), 0u);
  EXPECT_TRUE(h.advance(600 + kAllowance - 1).empty());
  EXPECT_EQ(h.state().keys(), 2u);
  EXPECT_TRUE(h.advance(600 + kAllowance).empty());
  EXPECT_EQ(h.state().keys(), 1u);
  EXPECT_TRUE(h.advance(700 + kAllowance).empty());
  EXPECT_EQ(h.state().keys(), 0u);
}

// --- value types ---

TEST(CorrelationState, ValueCountCountsDistinctValues) {
  Harness h(valued("value_count", "{field: patient, gte: 3}"));
  int t = 0;
  for (uint64_t hash : {1, 1, 2, 2}) {
    EXPECT_TRUE(h.observe(withHash(obs(h.c, t++), hash)).empty()) << hash;
  }
  const auto out = h.observe(withHash(obs(h.c, t), 3));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 3);
  EXPECT_EQ(out[0].events, 5u);
}

// A naive model of one group's sliding windows, to check the state against:
// it keeps every event until no future window can reach it, and judges each
// window by counting it afresh.
struct ReferenceGroup {
  struct Event {
    int64_t time;
    uint64_t value;  // value_count: the value; temporal*: the input
  };
  std::vector<Event> events;  // by time
  int64_t clock = INT64_MIN / 2;

  struct Fired {
    double value;
    uint64_t events;
    int64_t first_seen, last_seen;
  };

  // Inserts the event, then judges every window that ends at an event time x
  // with time <= x < time + span, oldest first; a firing clears the group up
  // to the window's end. `judge` gives a window's figure.
  template <typename Judge>
  std::optional<Fired> observe(int64_t time, uint64_t value, int64_t span, double threshold,
                               Judge judge) {
    clock = std::max(clock, time);
    auto pos = std::upper_bound(events.begin(), events.end(), time,
                                [](int64_t v, const Event& e) { return v < e.time; });
    events.insert(pos, {time, value});
    std::optional<Fired> fired;
    for (size_t k = 0; k < events.size(); ++k) {
      const int64_t end = events[k].time;
      if (end < time || end >= time + span) continue;
      if (k + 1 < events.size() && events[k + 1].time == end) continue;  // ends after ties
      std::vector<Event> window;
      for (const auto& e : events) {
        if (e.time > end - span && e.time <= end) window.push_back(e);
      }
      const double figure = judge(window);
      if (figure >= threshold) {
        fired = Fired{figure, window.size(), window.front().time, end};
        events.erase(events.begin(), events.begin() + static_cast<ptrdiff_t>(k) + 1);
        break;
      }
    }
    // What the state may forget: events no future window can reach.
    const int64_t horizon = clock - sec(kAllowance) - span;
    while (!events.empty() && events.front().time <= horizon) events.erase(events.begin());
    return fired;
  }
};

// Feeds `n` random events (times about `gap` seconds apart, one in ten late
// within the allowance; `value(random)` gives the value or input) to `h` and
// to the reference, and checks that both fire on the same events with the
// same figure. The state forgets events before the watermark that no window
// can need (compact()), so its `events` and `first_seen` may count fewer.
template <typename Value, typename Judge>
int checkAgainstReference(Harness& h, int n, int gap, double threshold, bool by_input, Value value,
                          Judge judge) {
  const int64_t span = sec(600);
  ReferenceGroup ref;
  uint64_t seed = 12345;
  auto random = [&](uint64_t k) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % k;
  };
  int64_t t = sec(1000);
  int fired = 0;
  for (int i = 0; i < n; ++i) {
    t += sec(static_cast<int64_t>(random(static_cast<uint64_t>(gap))));
    int64_t time = t;
    if (random(10) == 0) time -= sec(static_cast<int64_t>(random(kAllowance)));  // late, allowed
    const uint64_t v = value(random);
    Observation o = obs(h.c, time / kSecond, "g", by_input ? static_cast<uint32_t>(v) : 0);
    if (!by_input) o.value_hash = v;
    const auto out = h.observe(std::move(o));
    const auto expected = ref.observe(time / kSecond * kSecond, v, span, threshold, judge);
    if (::testing::Test::HasFailure()) return fired;
    EXPECT_EQ(out.size(), expected ? 1u : 0u) << "event " << i << " at " << time / kSecond;
    if (out.size() != (expected ? 1u : 0u)) return fired;
    if (expected) {
      ++fired;
      EXPECT_EQ(out[0].value, expected->value) << "event " << i;
      EXPECT_LE(out[0].events, expected->events) << "event " << i;
      EXPECT_GE(out[0].first_seen, expected->first_seen) << "event " << i;
      EXPECT_EQ(out[0].last_seen, expected->last_seen) << "event " << i;
    }
  }
  return fired;
}

// value_count's figure for a window, counted afresh.
double distinctValues(const std::vector<ReferenceGroup::Event>& window) {
  std::vector<uint64_t> values;
  for (const auto& e : window) values.push_back(e.value);
  std::sort(values.begin(), values.end());
  return static_cast<double>(std::unique(values.begin(), values.end()) - values.begin());
}

// value_count keeps the latest window counted from one in-order event to
// the next and forgets repeats before the watermark; late events, firings
// and the sliding window's start must give exactly what counting each
// window afresh gives.
TEST(CorrelationState, ValueCountKeptCountsAgreeWithCountingEachWindowAfresh) {
  Harness h(valued("value_count", "{field: patient, gte: 7}"));
  // Four common values and rare ones: a window fires only when three rare
  // ones fall in it, so windows slide a long way between firings.
  auto value = [](auto& random) { return random(15) == 0 ? 100 + random(1000) : random(4); };
  // About 30 events a window, then about 300 (many repeats to forget).
  EXPECT_GT(checkAgainstReference(h, 20000, 40, 7, false, value, distinctValues), 50);
  Harness dense(valued("value_count", "{field: patient, gte: 7}"));
  EXPECT_GT(checkAgainstReference(dense, 20000, 4, 7, false, value, distinctValues), 20);
}

// Hundreds of distinct values a window, nearly all unique (so no
// compaction drops them): the counts' table holds long probe runs, and
// values leaving the sliding window take slots out of the middle of them
// (backward-shift deletion) while later ones are looked up and added.
TEST(CorrelationState, ValueCountAgreesWithCountingAfreshOverManyDistinctValues) {
  Harness h(valued("value_count", "{field: patient, gte: 430}"));
  auto value = [](auto& random) { return random(uint64_t{1} << 40); };
  // About 400 events a window.
  EXPECT_GT(checkAgainstReference(h, 30000, 4, 430, false, value, distinctValues), 5);
}

TEST(CorrelationState, TemporalAgreesWithJudgingEachWindowAfresh) {
  Harness h(
      withCorrelation("  type: temporal\n  rules: [failed_login, successful_login, export]\n"
                      "  group-by: user\n  timespan: 10m\n"));
  // Input 2 is rare: windows fill with the other two before it comes.
  auto input = [](auto& random) { return random(40) == 0 ? 2 : random(2); };
  auto inputs = [](const std::vector<ReferenceGroup::Event>& w) {
    uint64_t seen = 0;
    for (const auto& e : w) seen |= uint64_t{1} << e.value;
    return static_cast<double>(std::popcount(seen));
  };
  EXPECT_GT(checkAgainstReference(h, 20000, 4, 3, true, input, inputs), 20);
}

TEST(CorrelationState, TemporalOrderedAgreesWithJudgingEachWindowAfresh) {
  Harness h(withCorrelation(
      "  type: temporal_ordered\n  rules: [failed_login, successful_login, export]\n"
      "  group-by: user\n  timespan: 10m\n"));
  // Input 1 is common, 0 and 2 rare: most 1s can never continue a sequence
  // (no 0 before them), and a sequence's 2 often comes minutes after its
  // 1, long after that 1 passed the watermark.
  auto input = [](auto& random) {
    const uint64_t r = random(100);
    return r == 0 ? 0 : r == 1 ? 2 : 1;
  };
  auto inOrder = [](const std::vector<ReferenceGroup::Event>& w) {
    uint64_t next = 0;
    for (const auto& e : w) {
      if (next < 3 && e.value == next) ++next;
    }
    return static_cast<double>(next);
  };
  EXPECT_GT(checkAgainstReference(h, 20000, 4, 3, true, input, inOrder), 20);
  // Input 0 common, 1 and 2 rare: a sequence's 1 is usually minutes before
  // its 2, behind the watermark when the 2 comes, and must still be there.
  Harness rare(withCorrelation(
      "  type: temporal_ordered\n  rules: [failed_login, successful_login, export]\n"
      "  group-by: user\n  timespan: 10m\n"));
  auto rareLater = [](auto& random) {
    const uint64_t r = random(50);
    return r == 0 ? 1 : r == 1 ? 2 : 0;
  };
  EXPECT_GT(checkAgainstReference(rare, 20000, 4, 3, true, rareLater, inOrder), 20);
}

// Repeats before the watermark are forgotten: a group's memory follows its
// distinct values (and the late allowance), not how many events it sees.
TEST(CorrelationState, ValueCountMemoryFollowsDistinctValuesNotEvents) {
  Harness h(valued("value_count", "{field: patient, gte: 50}"));
  size_t after_warmup = 0;
  for (int i = 0; i < 200000; ++i) {  // ten events a second for 20000 s, 10 values
    h.observe(withHash(obs(h.c, 1000 + i / 10), static_cast<uint64_t>(i % 10)));
    if (i == 20000) after_warmup = h.state().memoryBytes();
  }
  EXPECT_TRUE(h.state().counters().overflow == 0);
  // One window is 6000 events; the allowance alone holds 600 of them.
  EXPECT_LE(h.state().memoryBytes(), after_warmup + 4096);
  EXPECT_LT(h.state().memoryBytes(), 64 * 1024);
}

// A temporal_ordered group fed only events that cannot start its sequence
// keeps no more than the late allowance's worth of them.
TEST(CorrelationState, TemporalOrderedForgetsEventsThatCannotContinueASequence) {
  Harness h(
      withCorrelation("  type: temporal_ordered\n  rules: [failed_login, successful_login]\n"
                      "  group-by: user\n  timespan: 1h\n"));
  for (int i = 0; i < 100000; ++i) h.observe(obs(h.c, 1000 + i / 10, "g", 1));
  // An hour is 36000 events; the allowance 600.
  EXPECT_LT(h.state().memoryBytes(), 64 * 1024);
  // The sequence still completes with events inside the allowance.
  EXPECT_TRUE(h.observe(obs(h.c, 1000 + 10000, "g", 0)).empty());
  EXPECT_EQ(h.observe(obs(h.c, 1000 + 10001, "g", 1)).size(), 1u);
}

TEST(CorrelationState, ValueCountRangeExcludesTooManyValues) {
  Harness h(valued("value_count", "{field: patient, gte: 2, lte: 2}"));
  EXPECT_TRUE(h.observe(withHash(obs(h.c, 0), 7)).empty());
  const auto out = h.observe(withHash(obs(h.c, 1), 8));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 2);
}

TEST(CorrelationState, ValueSumAddsTheWindowsValues) {
  Harness h(valued("value_sum", "{field: bytes, gte: 100}"));
  EXPECT_TRUE(h.observe(withValue(obs(h.c, 0), 40)).empty());
  EXPECT_TRUE(h.observe(withValue(obs(h.c, 1), 50)).empty());
  auto out = h.observe(withValue(obs(h.c, 2), 20));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 110);
  EXPECT_EQ(out[0].events, 3u);
  // Values leave the sum as the window slides past them.
  EXPECT_TRUE(h.observe(withValue(obs(h.c, 100), 90)).empty());
  EXPECT_TRUE(h.observe(withValue(obs(h.c, 700), 60)).empty());  // 90 at 100 is outside
  out = h.observe(withValue(obs(h.c, 701), 40));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 100);
  EXPECT_EQ(out[0].first_seen, sec(700));
}

TEST(CorrelationState, ValueSumEqualsAndRanges) {
  Harness eq(valued("value_sum", "{field: bytes, eq: 10}"));
  EXPECT_TRUE(eq.observe(withValue(obs(eq.c, 0), 4)).empty());
  EXPECT_TRUE(eq.observe(withValue(obs(eq.c, 1), 7)).empty());  // 11
  auto out = eq.observe(withValue(obs(eq.c, 2), -1));           // 10
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 10);

  Harness range(valued("value_sum", "{field: bytes, gt: 10, lt: 20}"));
  EXPECT_TRUE(range.observe(withValue(obs(range.c, 0, "a"), 25)).empty());
  EXPECT_TRUE(range.observe(withValue(obs(range.c, 1, "a"), 1)).empty());
  EXPECT_TRUE(range.observe(withValue(obs(range.c, 2, "b"), 10)).empty());
  out = range.observe(withValue(obs(range.c, 3, "b"), 9.5));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].group, "b");
  EXPECT_EQ(out[0].value, 19.5);
}

TEST(CorrelationState, ValueAvgIsTheMean) {
  Harness h(valued("value_avg", "{field: bytes, gt: 10}"));
  EXPECT_TRUE(h.observe(withValue(obs(h.c, 0), 5)).empty());
  const auto out = h.observe(withValue(obs(h.c, 1), 20));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 12.5);
  EXPECT_EQ(out[0].events, 2u);
}

TEST(CorrelationState, ValuePercentileIsNearestRank) {
  Harness h(valued("value_percentile", "{field: bytes, percentile: 50, gte: 30}"));
  EXPECT_TRUE(h.observe(withValue(obs(h.c, 0), 10)).empty());
  // Nearest rank of [10, 50] at 50%: rank 1, so 10 (interpolation would say 30).
  EXPECT_TRUE(h.observe(withValue(obs(h.c, 1), 50)).empty());
  // [10, 40, 50]: rank ceil(1.5) = 2, so 40.
  const auto out = h.observe(withValue(obs(h.c, 2), 40));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 40);
  EXPECT_EQ(out[0].events, 3u);
}

TEST(CorrelationState, ValuePercentileExtremes) {
  Harness top(valued("value_percentile", "{field: bytes, percentile: 100, gte: 50}"));
  EXPECT_TRUE(top.observe(withValue(obs(top.c, 0), 10)).empty());
  auto out = top.observe(withValue(obs(top.c, 1), 60));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 60);

  Harness bottom(valued("value_percentile", "{field: bytes, percentile: 0, gte: 50}"));
  EXPECT_TRUE(bottom.observe(withValue(obs(bottom.c, 0), 60)).size() == 1u);
  EXPECT_TRUE(bottom.observe(withValue(obs(bottom.c, 1), 70)).size() == 1u);
  EXPECT_TRUE(bottom.observe(withValue(obs(bottom.c, 2), 10)).empty());
  out = bottom.observe(withValue(obs(bottom.c, 3), 55));
  EXPECT_TRUE(out.empty()) << "min of [10, 55] is 10: " << describe(out);
}

// --- temporal ---

TEST(CorrelationState, TemporalFiresWhenEveryRuleMatchedInAnyOrder) {
  Harness h(
      withCorrelation("  type: temporal\n  rules: [failed_login, successful_login, export]\n"
                      "  group-by: user\n  timespan: 10m\n"));
  EXPECT_TRUE(h.observe(obs(h.c, 0, "g", 2)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 1, "g", 0)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 2, "g", 0)).empty());  // the same rule again is not another
  const auto out = h.observe(obs(h.c, 3, "g", 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 3);
  EXPECT_EQ(out[0].events, 4u);
  EXPECT_EQ(out[0].first_seen, sec(0));
}

TEST(CorrelationState, TemporalNeedsEveryRuleInsideOneWindow) {
  Harness h(
      withCorrelation("  type: temporal\n  rules: [failed_login, successful_login, export]\n"
                      "  group-by: user\n  timespan: 10m\n"));
  EXPECT_TRUE(h.observe(obs(h.c, 0, "g", 2)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 300, "g", 0)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 600, "g", 1)).empty());  // export at 0 just left
  const auto out = h.observe(obs(h.c, 601, "g", 2));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first_seen, sec(300));
}

TEST(CorrelationState, TemporalWithAConditionNeedsThatManyRules) {
  Harness h(
      withCorrelation("  type: temporal\n  rules: [failed_login, successful_login, export]\n"
                      "  group-by: user\n  timespan: 10m\n  condition: {gte: 2}\n"));
  EXPECT_TRUE(h.observe(obs(h.c, 0, "g", 1)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 1, "g", 1)).empty());
  const auto out = h.observe(obs(h.c, 2, "g", 2));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 2);
}

TEST(CorrelationState, TemporalOrderedFiresOnlyInOrder) {
  Harness h(
      withCorrelation("  type: temporal_ordered\n  rules: [failed_login, successful_login]\n"
                      "  group-by: user\n  timespan: 10m\n"));
  EXPECT_TRUE(h.observe(obs(h.c, 0, "g", 1)).empty());  // success first: not the order
  EXPECT_TRUE(h.observe(obs(h.c, 1, "g", 0)).empty());
  const auto out = h.observe(obs(h.c, 2, "g", 1));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 2);
  EXPECT_EQ(out[0].events, 3u);
  EXPECT_EQ(out[0].last_seen, sec(2));

  // Order is event time, not arrival: success at 5 arrives before failure at 3.
  EXPECT_TRUE(h.observe(obs(h.c, 5, "b", 1)).empty());
  ASSERT_EQ(h.observe(obs(h.c, 3, "b", 0)).size(), 1u);

  // Failure after success only.
  EXPECT_TRUE(h.observe(obs(h.c, 10, "x", 1)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 11, "x", 0)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 12, "x", 0)).empty());
  EXPECT_EQ(h.state().counters().fired, 2u);
}

// --- chains ---

TEST(CorrelationState, ChainOnlyTheOuterCorrelationAlerts) {
  Harness h(std::string(kBase) + kChain);
  const uint32_t inner = h.rule("Many failed logins");
  const uint32_t outer = h.rule("Success after many failed logins");
  const uint32_t success = 1;  // position of successful_login in the outer's rules
  EXPECT_TRUE(h.observe(obs(outer, 0, "alice", success)).empty());
  EXPECT_TRUE(h.observe(obs(inner, 10, "alice")).empty());
  EXPECT_TRUE(h.observe(obs(inner, 11, "alice")).empty());
  EXPECT_TRUE(h.observe(obs(inner, 12, "alice")).empty()) << "the inner one does not alert";
  EXPECT_EQ(h.state().counters().fired, 1u);
  // bob: failures but no success after them.
  EXPECT_TRUE(h.observe(obs(inner, 13, "bob")).empty());
  EXPECT_TRUE(h.observe(obs(inner, 14, "bob")).empty());
  EXPECT_TRUE(h.observe(obs(inner, 15, "bob")).empty());
  EXPECT_EQ(h.state().counters().fired, 2u);

  const auto out = h.observe(obs(outer, 20, "alice", success));
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].kind, StateOutput::Kind::kCorrelation);
  EXPECT_EQ(out[0].rule, outer);
  EXPECT_EQ(out[0].group, "alice");
  EXPECT_EQ(out[0].value, 2);
  EXPECT_EQ(out[0].last_seen, sec(20));
  ASSERT_EQ(out[0].samples.size(), 1u);
  // The sample is kept compact; rendered, it names the firing that fed the chain.
  std::string json;
  const auto& rules = *h.rules();
  renderSample(rules, rules.correlations()[rules.rule(outer).correlation], out[0].samples[0], json);
  EXPECT_EQ(json, R"({"@timestamp":"1970-01-01T00:00:12.000Z","rule":"many_failed_logins",)"
                  R"("value":3})");
  EXPECT_EQ(h.state().counters().fired, 3u);
}

TEST(CorrelationState, ChainWithGenerateAlertsTheInnerCorrelationToo) {
  std::string yaml = std::string(kBase) + kChain + "  generate: true\n";
  Harness h(yaml);
  const uint32_t inner = h.rule("Many failed logins");
  EXPECT_TRUE(h.observe(obs(inner, 10, "alice")).empty());
  EXPECT_TRUE(h.observe(obs(inner, 11, "alice")).empty());
  const auto out = h.observe(obs(inner, 12, "alice"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule, inner);
  EXPECT_EQ(out[0].value, 3);
}

// --- state-only observations (a takeover replay, Observation::state_only) ---

Observation stateOnly(Observation o) {
  o.state_only = true;
  return o;
}

TEST(CorrelationState, StateOnlyObservationsFireNothingYetALiveEventCompletesTheWindow) {
  Harness h(eventCount("{gte: 3}"));
  EXPECT_TRUE(h.observe(stateOnly(obs(h.c, 1))).empty());
  EXPECT_TRUE(h.observe(stateOnly(obs(h.c, 2))).empty());
  const auto out = h.observe(obs(h.c, 3));
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].value, 3);
  EXPECT_EQ(out[0].first_seen, sec(1));
  EXPECT_EQ(h.state().counters().state_only_dropped, 0u);
}

TEST(CorrelationState, AStateOnlyWindowThatFiresStartsOverSilently) {
  // A burst the previous owner alerted on: replayed, it fires (dropped) and
  // the group starts over, so live events after it do not alert it again.
  Harness h(eventCount("{gte: 3}"));
  for (int t : {1, 2, 3}) EXPECT_TRUE(h.observe(stateOnly(obs(h.c, t))).empty()) << t;
  EXPECT_EQ(h.state().counters().fired, 1u);
  EXPECT_EQ(h.state().counters().state_only_dropped, 1u);
  EXPECT_TRUE(h.observe(obs(h.c, 4)).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 5)).empty());
  const auto out = h.observe(obs(h.c, 6));
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].first_seen, sec(4));
}

TEST(CorrelationState, StateOnlyObservationsAreNeverLate) {
  // The new owner's clock is ahead (its other partitions); the replayed
  // history is older than its watermark and still counts.
  Harness h(eventCount("{gte: 3}"));
  h.advance(1000);
  EXPECT_TRUE(h.observe(stateOnly(obs(h.c, 900))).empty());
  EXPECT_TRUE(h.observe(stateOnly(obs(h.c, 910))).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 100)).empty()) << "a live one that old is late";
  EXPECT_EQ(h.state().counters().late, 1u);
  const auto out = h.observe(obs(h.c, 1000));
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].first_seen, sec(900));
}

TEST(CorrelationState, WhatAStateOnlyFiringFeedsIsStateOnlyToo) {
  // generate: true, so the inner correlation alerts on its own when live.
  Harness h(std::string(kBase) + kChain + "  generate: true\n");
  const uint32_t inner = h.rule("Many failed logins");
  const uint32_t outer = h.rule("Success after many failed logins");
  const uint32_t success = 1;
  for (int t : {10, 11, 12}) {
    EXPECT_TRUE(h.observe(stateOnly(obs(inner, t, "alice"))).empty()) << t;
  }
  EXPECT_EQ(h.state().counters().fired, 1u);
  EXPECT_EQ(h.state().counters().state_only_dropped, 1u) << "the inner firing (generate)";
  // The chain fires from replayed events only: nothing comes out.
  EXPECT_TRUE(h.observe(stateOnly(obs(outer, 13, "alice", success))).empty());
  EXPECT_EQ(h.state().counters().fired, 2u);
  EXPECT_EQ(h.state().counters().state_only_dropped, 2u);

  // bob: the inner fires on replayed events, the outer completes live.
  for (int t : {20, 21, 22}) EXPECT_TRUE(h.observe(stateOnly(obs(inner, t, "bob"))).empty());
  const auto out = h.observe(obs(outer, 30, "bob", success));
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].rule, outer);
  EXPECT_EQ(out[0].group, "bob");
}

TEST(CorrelationState, AStateOnlyMatchOpensASuppressionWindowSilently) {
  Harness h(std::string(kBase) + kSuppressed);
  const uint32_t noisy = h.rule("Noisy");
  EXPECT_TRUE(h.observe(stateOnly(withSample(obs(noisy, 0, "alice"), "{}"))).empty());
  EXPECT_TRUE(h.observe(withSample(obs(noisy, 100, "alice"), "{}")).empty())
      << "held back: the previous owner let the window's first alert through";
  EXPECT_EQ(h.state().counters().suppressed, 1u);
}

// --- absence ---

std::string absence() {
  return withCorrelation("  type: absence\n  rules: export\n  group-by: user\n  timespan: 10m\n");
}

TEST(CorrelationState, AbsenceFiresWhenTheWatermarkReachesLastSeenPlusTimespan) {
  Harness h(absence());
  EXPECT_TRUE(h.observe(withSample(obs(h.c, 0, "alice"), R"({"n":1})")).empty());
  EXPECT_TRUE(h.advance(600 + kAllowance - 1).empty());
  EXPECT_EQ(h.state().watermark(), sec(599));
  const auto out = h.advance(600 + kAllowance);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, StateOutput::Kind::kCorrelation);
  EXPECT_EQ(out[0].rule, h.c);
  EXPECT_EQ(out[0].group, "alice");
  EXPECT_EQ(out[0].value, 0);
  EXPECT_EQ(out[0].events, 0u);
  EXPECT_EQ(out[0].first_seen, sec(0));
  EXPECT_EQ(out[0].last_seen, sec(0));
  EXPECT_EQ(out[0].samples, (std::vector<std::string>{R"({"n":1})"}));
  EXPECT_EQ(h.state().keys(), 0u);
  EXPECT_TRUE(h.advance(100000).empty()) << "fires once";
  EXPECT_EQ(h.state().counters().fired, 1u);
}

TEST(CorrelationState, AbsenceIsPutOffByEachNewEvent) {
  Harness h(absence());
  EXPECT_TRUE(h.observe(obs(h.c, 0, "alice")).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 300, "alice")).empty());
  EXPECT_TRUE(h.advance(600 + kAllowance).empty());
  EXPECT_TRUE(h.advance(900 + kAllowance - 1).empty());
  const auto out = h.advance(900 + kAllowance);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].last_seen, sec(300));
  // The group comes back with its next event.
  EXPECT_TRUE(h.observe(obs(h.c, 2000, "alice")).empty());
  EXPECT_EQ(h.state().keys(), 1u);
  EXPECT_EQ(h.advance(2600 + kAllowance).size(), 1u);
}

TEST(CorrelationState, AbsenceOfAnOutOfOrderGroupCountsFromItsOwnLastEvent) {
  Harness h(absence());
  // bob moves the clock to 100; alice's event at 50 arrives after it (not late).
  EXPECT_TRUE(h.observe(obs(h.c, 100, "bob")).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 50, "alice")).empty());
  EXPECT_TRUE(h.advance(650 + kAllowance - 1).empty());
  auto out = h.advance(650 + kAllowance);
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].group, "alice");
  EXPECT_EQ(out[0].last_seen, sec(50));
  EXPECT_EQ(h.state().keys(), 1u);
  out = h.advance(700 + kAllowance);
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].group, "bob");
  EXPECT_EQ(h.state().keys(), 0u);
}

TEST(CorrelationState, AnInOrderEventEndingASilenceReportsIt) {
  // The watermark trails the clock by the allowance, so a silence that ends
  // before the watermark passes it is reported by the event that ends it.
  Harness h(absence());
  EXPECT_TRUE(h.observe(obs(h.c, 0, "alice")).empty());
  EXPECT_TRUE(h.observe(obs(h.c, 599, "alice")).empty()) << "a gap shorter than the timespan";
  const auto out = h.observe(obs(h.c, 1199, "alice"));
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].last_seen, sec(599));
  EXPECT_TRUE(h.advance(1199 + kAllowance).empty()) << "the same silence is not reported twice";
}

TEST(CorrelationState, AnEventReadTwiceCountsOnce) {
  Harness h(eventCount("{gte: 3}"));
  auto id = [](Observation o, uint64_t event_id) {
    o.event_id = event_id;
    return o;
  };
  EXPECT_TRUE(h.observe(id(obs(h.c, 1, "alice"), 11)).empty());
  EXPECT_TRUE(h.observe(id(obs(h.c, 2, "alice"), 12)).empty());
  // A restart re-reads the second event: same time, same identity.
  EXPECT_TRUE(h.observe(id(obs(h.c, 2, "alice"), 12)).empty());
  EXPECT_EQ(h.state().counters().duplicates, 1u);
  // Another event at the same time is not a duplicate.
  EXPECT_EQ(h.observe(id(obs(h.c, 2, "alice"), 13)).size(), 1u);
}

TEST(CorrelationState, EndOfInputClosesSuppressionWindowsThatHeldMatchesBack) {
  Harness h(std::string(kBase) + kSuppressed);
  const uint32_t noisy = h.rule("Noisy");
  h.observe(obs(noisy, 0, "alice"));
  h.observe(obs(noisy, 1, "alice"));
  h.observe(obs(noisy, 2, "bob"));  // a window with nothing held back
  std::vector<StateOutput> out;
  h.state().closeSuppressionWindows(out);
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].kind, StateOutput::Kind::kSuppressed);
  EXPECT_EQ(out[0].group, "alice");
  EXPECT_EQ(out[0].value, 1);
  EXPECT_EQ(h.state().keys(), 0u);
}

// --- suppression ---

TEST(CorrelationState, SuppressionLetsTheFirstAlertThroughAndSummarisesTheRest) {
  Harness h(std::string(kBase) + kSuppressed);
  const uint32_t noisy = h.rule("Noisy");
  auto out = h.observe(withSample(obs(noisy, 0, "alice"), R"({"alert":1})"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, StateOutput::Kind::kAlert);
  EXPECT_EQ(out[0].rule, noisy);
  EXPECT_EQ(out[0].group, "alice");
  EXPECT_EQ(out[0].samples, (std::vector<std::string>{R"({"alert":1})"}));

  for (int t : {100, 200, 599}) {
    EXPECT_TRUE(h.observe(withSample(obs(noisy, t, "alice"), R"({"alert":2})")).empty()) << t;
  }
  EXPECT_EQ(h.state().counters().suppressed, 3u);

  // The next match after the window closes it and opens the next one.
  out = h.observe(withSample(obs(noisy, 600, "alice"), R"({"alert":5})"));
  ASSERT_EQ(out.size(), 2u) << describe(out);
  EXPECT_EQ(out[0].kind, StateOutput::Kind::kSuppressed);
  EXPECT_EQ(out[0].rule, noisy);
  EXPECT_EQ(out[0].group, "alice");
  EXPECT_EQ(out[0].value, 3);
  EXPECT_EQ(out[0].events, 3u);
  EXPECT_EQ(out[0].first_seen, sec(0));
  EXPECT_EQ(out[0].last_seen, sec(599));
  EXPECT_EQ(out[1].kind, StateOutput::Kind::kAlert);
  EXPECT_EQ(out[1].samples, (std::vector<std::string>{R"({"alert":5})"}));

  // The window closed by advance(): once the watermark passes touched + timespan.
  EXPECT_TRUE(h.observe(obs(noisy, 700, "alice")).empty());
  EXPECT_EQ(h.state().counters().suppressed, 4u);
  EXPECT_TRUE(h.advance(1300 + kAllowance - 1).empty());
  out = h.advance(1300 + kAllowance);
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].kind, StateOutput::Kind::kSuppressed);
  EXPECT_EQ(out[0].value, 1);
  EXPECT_EQ(out[0].first_seen, sec(600));
  EXPECT_EQ(out[0].last_seen, sec(700));
  EXPECT_EQ(h.state().keys(), 0u);

  // Afterwards the key alerts again straight away.
  out = h.observe(obs(noisy, 1400, "alice"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, StateOutput::Kind::kAlert);
}

TEST(CorrelationState, SuppressionKeysAreIndependent) {
  Harness h(std::string(kBase) + kSuppressed);
  const uint32_t noisy = h.rule("Noisy");
  EXPECT_EQ(h.observe(obs(noisy, 0, "alice")).size(), 1u);
  EXPECT_EQ(h.observe(obs(noisy, 1, "bob")).size(), 1u);
  EXPECT_TRUE(h.observe(obs(noisy, 2, "alice")).empty());
  EXPECT_TRUE(h.observe(obs(noisy, 3, "bob")).empty());
  EXPECT_EQ(h.state().counters().suppressed, 2u);
}

TEST(CorrelationState, SuppressionWindowWithNothingHeldBackClosesSilently) {
  Harness h(std::string(kBase) + kSuppressed);
  const uint32_t noisy = h.rule("Noisy");
  EXPECT_EQ(h.observe(obs(noisy, 0, "alice")).size(), 1u);
  EXPECT_TRUE(h.advance(600 + kAllowance).empty());
  EXPECT_EQ(h.state().keys(), 0u);
  auto out = h.observe(obs(noisy, 601 + kAllowance, "alice"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, StateOutput::Kind::kAlert);
}

// --- bounds ---

TEST(CorrelationState, EvictsTheLeastRecentlyUpdatedGroupBeyondMaxKeys) {
  StateLimits limits;
  limits.max_keys = 2;
  Harness h(eventCount("{gte: 5}"), limits);
  h.observe(obs(h.c, 1, "a"));
  h.observe(obs(h.c, 2, "b"));
  EXPECT_EQ(h.state().counters().evicted, 0u);
  h.observe(obs(h.c, 3, "c"));
  EXPECT_EQ(h.state().keys(), 2u);
  EXPECT_EQ(h.state().counters().evicted, 1u);
  // "a" was the one dropped: it starts from one again (and pushes "b" out).
  for (int t = 4; t <= 7; ++t) EXPECT_TRUE(h.observe(obs(h.c, t, "a")).empty()) << t;
  EXPECT_EQ(h.state().counters().evicted, 2u);
  EXPECT_EQ(h.state().keys(), 2u);
  // "c" kept its event.
  for (int t = 8; t <= 10; ++t) EXPECT_TRUE(h.observe(obs(h.c, t, "c")).empty()) << t;
  const auto out = h.observe(obs(h.c, 11, "c"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, 5);
  EXPECT_EQ(out[0].first_seen, sec(3));
}

// Among thousands of groups, with one evicted for nearly every
// observation: the state holds exactly the max_keys most recently updated
// groups, each once. (A group its lookup missed would be held twice, or a
// kept one lost.)
TEST(CorrelationState, HoldsExactlyTheMostRecentlyUpdatedGroupsAmongMany) {
  StateLimits limits;
  limits.max_keys = 300;
  Harness h(eventCount("{gte: 1000000}"), limits);
  std::mt19937 random(7);
  std::map<std::string, int64_t> last_update;  // the model: every group ever seen
  for (int64_t t = 1; t <= 20'000; ++t) {
    const std::string group = "user" + std::to_string(random() % 2'000);
    last_update[group] = t;
    h.observe(obs(h.c, t, group));
    if (t % 997 != 0) continue;
    std::vector<std::pair<int64_t, std::string>> by_time;
    for (const auto& [g, when] : last_update) by_time.emplace_back(when, g);
    std::sort(by_time.rbegin(), by_time.rend());
    std::set<std::string> want;
    for (size_t i = 0; i < limits.max_keys && i < by_time.size(); ++i)
      want.insert(by_time[i].second);
    std::string saved;
    h.state().save(saved);
    std::set<std::string> got;
    for (const auto& [key, record] : parseSaved(saved).records)
      got.insert(key.substr(key.find('\0') + 1));
    ASSERT_EQ(got, want) << "after " << t << " observations";
    ASSERT_EQ(h.state().keys(), limits.max_keys);
  }
  EXPECT_GT(h.state().counters().evicted, 15'000u);
}

TEST(CorrelationState, DropsTheOldestEventsBeyondMaxEventsPerGroup) {
  StateLimits limits;
  limits.max_events_per_group = 3;
  Harness h(eventCount("{gte: 4}"), limits);
  std::vector<StateOutput> out;
  EXPECT_EQ(eventsUntilFired(h, 5, out), 6);
  EXPECT_EQ(h.state().counters().overflow, 2u);

  Harness at_cap(eventCount("{gte: 3}"), limits);
  EXPECT_EQ(eventsUntilFired(at_cap, 5, out), 3);
  EXPECT_EQ(at_cap.state().counters().overflow, 0u);
}

TEST(CorrelationState, SamplesAreBoundedBySampleSize) {
  StateLimits limits;
  limits.sample_size = 2;
  Harness h(eventCount("{gte: 4}"), limits);
  std::vector<StateOutput> out;
  for (int n = 1; n <= 4; ++n) {
    out = h.observe(withSample(obs(h.c, n), "{\"n\":" + std::to_string(n) + "}"));
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].samples, (std::vector<std::string>{R"({"n":3})", R"({"n":4})"}));
  // A firing takes its samples with it.
  for (int n = 5; n <= 8; ++n) {
    out = h.observe(withSample(obs(h.c, n), "{\"n\":" + std::to_string(n) + "}"));
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].samples, (std::vector<std::string>{R"({"n":7})", R"({"n":8})"}));

  limits.sample_size = 0;
  Harness none(eventCount("{gte: 2}"), limits);
  none.observe(withSample(obs(none.c, 1), R"({"n":1})"));
  out = none.observe(withSample(obs(none.c, 2), R"({"n":2})"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].samples.empty());
}

// --- save / load / reload ---

TEST(CorrelationState, SaveAndLoadContinueAWindow) {
  Harness before(eventCount("{gte: 3}"));
  before.observe(withSample(obs(before.c, 0, "alice"), R"({"n":1})"));
  before.observe(obs(before.c, 1, "alice"));
  before.observe(obs(before.c, 1, "bob"));
  std::string data;
  before.state().save(data);

  // A fresh rule set with one more rule in front: indices differ, keys do not.
  Harness after("title: New\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n---\n" +
                eventCount("{gte: 3}"));
  ASSERT_NE(after.c, before.c);
  ASSERT_TRUE(after.state().load(data, 0, 1).ok());
  EXPECT_EQ(after.state().keys(), 2u);
  EXPECT_EQ(after.state().clock(), sec(1));
  const auto out = after.observe(obs(after.c, 2, "alice"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule, after.c);
  EXPECT_EQ(out[0].value, 3);
  EXPECT_EQ(out[0].first_seen, sec(0));
  EXPECT_EQ(out[0].samples, (std::vector<std::string>{R"({"n":1})"}));
  EXPECT_TRUE(after.observe(obs(after.c, 3, "bob")).empty());
  EXPECT_EQ(after.observe(obs(after.c, 4, "bob")).size(), 1u);
}

TEST(CorrelationState, SaveAndLoadKeepASuppressionWindowAndAnAbsence) {
  Harness before(absence() + kSuppressed);
  const uint32_t noisy = before.rule("Noisy");
  before.observe(obs(noisy, 0, "alice"));
  before.observe(obs(noisy, 10, "alice"));
  before.observe(obs(before.c, 20, "bob"));
  std::string data;
  before.state().save(data);

  Harness after(absence() + kSuppressed);
  ASSERT_TRUE(after.state().load(data, 0, 1).ok());
  EXPECT_TRUE(after.observe(obs(noisy, 30, "alice")).empty()) << "still suppressed";
  auto out = after.advance(620 + kAllowance);
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].rule, after.c);
  EXPECT_EQ(out[0].group, "bob");
  out = after.advance(630 + kAllowance);
  ASSERT_EQ(out.size(), 1u) << describe(out);
  EXPECT_EQ(out[0].kind, StateOutput::Kind::kSuppressed);
  EXPECT_EQ(out[0].value, 2);
}

TEST(CorrelationState, LoadKeepsOnlyTheGroupsOfItsShard) {
  Harness before(eventCount("{gte: 3}"));
  std::vector<std::string> groups;
  for (int i = 0; i < 8; ++i) groups.push_back("user" + std::to_string(i));
  for (const auto& g : groups) {
    before.observe(obs(before.c, 0, g));
    before.observe(obs(before.c, 1, g));
  }
  std::string data;
  before.state().save(data);

  Harness shard0(eventCount("{gte: 3}"));
  Harness shard1(eventCount("{gte: 3}"));
  ASSERT_TRUE(shard0.state().load(data, 0, 2).ok());
  ASSERT_TRUE(shard1.state().load(data, 1, 2).ok());
  size_t in0 = 0;
  for (const auto& g : groups) in0 += groupHash(g) % 2 == 0 ? 1 : 0;
  ASSERT_GT(in0, 0u);
  ASSERT_LT(in0, groups.size());
  EXPECT_EQ(shard0.state().keys(), in0);
  EXPECT_EQ(shard1.state().keys(), groups.size() - in0);
  for (const auto& g : groups) {
    SCOPED_TRACE(g);
    Harness& home = groupHash(g) % 2 == 0 ? shard0 : shard1;
    Harness& other = groupHash(g) % 2 == 0 ? shard1 : shard0;
    EXPECT_EQ(home.observe(obs(home.c, 2, g)).size(), 1u);
    EXPECT_TRUE(other.observe(obs(other.c, 2, g)).empty());
  }
}

// A state file of the previous version (entries as four 8-byte numbers)
// still loads, so an upgrade keeps the windows open.
TEST(CorrelationState, LoadsAVersion2StateFile) {
  Harness after(eventCount("{gte: 3}"));
  std::string data = "trailwatch-correlation-state-2\n";
  const auto u64 = [&](uint64_t v) { data.append(reinterpret_cast<const char*>(&v), 8); };
  const auto str = [&](std::string_view s) {
    u64(s.size());
    data.append(s);
  };
  u64(static_cast<uint64_t>(sec(1)));  // clock
  u64(1);                              // groups
  str(after.rules()->correlations()[0].key);
  str("alice");
  for (int64_t field : {sec(1), int64_t{0}, sec(1), int64_t{0}, int64_t{0}}) {
    u64(static_cast<uint64_t>(field));  // touched, first_seen, last_seen, suppressed, active
  }
  u64(2);  // entries: time, value, identity, input
  for (int64_t t : {sec(0), sec(1)}) {
    u64(static_cast<uint64_t>(t));
    u64(0);
    u64(0);
    u64(0);
  }
  str("");  // samples
  ASSERT_TRUE(after.state().load(data, 0, 1).ok());
  EXPECT_EQ(after.state().keys(), 1u);
  EXPECT_EQ(after.state().clock(), sec(1));
  const auto out = after.observe(obs(after.c, 2, "alice"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first_seen, sec(0));
  data.pop_back();
  EXPECT_FALSE(after.state().load(data, 0, 1).ok()) << "truncated";
}

TEST(CorrelationState, LoadRejectsWhatSaveDidNotWrite) {
  Harness before(eventCount("{gte: 3}"));
  before.observe(obs(before.c, 0, "alice"));
  std::string data;
  before.state().save(data);

  Harness after(eventCount("{gte: 3}"));
  EXPECT_FALSE(after.state().load("not a state file", 0, 1).ok());
  EXPECT_FALSE(after.state().load(std::string_view(data).substr(0, data.size() - 1), 0, 1).ok());
  EXPECT_TRUE(after.state().load(data, 0, 1).ok());
  EXPECT_EQ(after.state().keys(), 1u);
}

TEST(CorrelationState, LoadSkipsGroupsOfRulesNoLongerLoaded) {
  Harness before(eventCount("{gte: 3}"));
  before.observe(obs(before.c, 0, "alice"));
  std::string data;
  before.state().save(data);
  // Same name, other type: not the same correlation.
  Harness after(valued("value_sum", "{field: bytes, gte: 3}"));
  ASSERT_TRUE(after.state().load(data, 0, 1).ok());
  EXPECT_EQ(after.state().keys(), 0u);
}

TEST(CorrelationState, SetRulesKeepsTheStateOfTheSameRule) {
  Harness h(eventCount("{gte: 3}"));
  h.observe(obs(h.c, 0, "alice"));
  h.observe(obs(h.c, 1, "alice"));
  auto reloaded = build("title: New\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n---\n" +
                        eventCount("{gte: 3}"));
  const uint32_t c = indexOf(*reloaded, "C");
  ASSERT_NE(c, h.c);
  h.state().setRules(reloaded);
  EXPECT_EQ(h.state().keys(), 1u);
  auto out = h.observe(obs(c, 2, "alice"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule, c);
  EXPECT_EQ(out[0].value, 3);
  EXPECT_EQ(out[0].first_seen, sec(0));
  // The reloaded state still expires groups.
  EXPECT_TRUE(h.advance(602 + kAllowance).empty());
  EXPECT_EQ(h.state().keys(), 0u);
}

std::string temporal(const std::string& rules) {
  return withCorrelation("  type: temporal\n  rules: " + rules +
                         "\n  group-by: user\n  timespan: 10m\n");
}

TEST(CorrelationState, SetRulesDropsTheStateOfACorrelationWhoseRulesChanged) {
  // Events are kept by their position in `rules:`; with another list they
  // would be credited to the wrong rule, so the state starts over.
  Harness h(temporal("[failed_login, successful_login, export]"));
  EXPECT_TRUE(h.observe(obs(h.c, 0, "g", 2)).empty());
  h.state().setRules(build(temporal("[failed_login, successful_login]")));
  EXPECT_EQ(h.state().keys(), 0u);
  EXPECT_TRUE(h.observe(obs(h.c, 2, "g", 1)).empty()) << "the export event is gone";
}

// A temporal group keeps the latest time of each input to judge its windows
// by: counted in memoryBytes() while the group lives, not after it is gone.
TEST(CorrelationState, TemporalGroupsMemoryGoesWithThem) {
  Harness h(temporal("[failed_login, successful_login, export]"));
  const auto round = [&](int64_t t) {
    EXPECT_TRUE(h.observe(obs(h.c, t, "a", 0)).empty());
    EXPECT_TRUE(h.observe(obs(h.c, t + 1, "b", 1)).empty());
    const size_t held = h.state().memoryBytes();
    h.advance(t + 1 + 600 + kAllowance);
    EXPECT_EQ(h.state().keys(), 0u);
    EXPECT_LT(h.state().memoryBytes(), held);
    return h.state().memoryBytes();
  };
  const size_t empty = round(0);
  EXPECT_EQ(round(10'000), empty);
  EXPECT_EQ(round(20'000), empty);
}

TEST(CorrelationState, LoadedEventOfAnUnknownInputIsLeftOut) {
  Harness before(temporal("[failed_login, successful_login]"));
  before.observe(obs(before.c, 0, "g", 1));
  std::string data;
  before.state().save(data);
  // The one group's last entry ends with its input (a varint: the input
  // shifted left by one, the low bit 0 as no value follows) and its 4-byte
  // identity, then the (empty) samples' 8-byte length.
  ASSERT_GE(data.size(), 13u);
  ASSERT_EQ(data[data.size() - 13], 2) << "input 1";
  data[data.size() - 13] = 50 << 1;  // input 50

  Harness after(temporal("[failed_login, successful_login]"));
  ASSERT_TRUE(after.state().load(data, 0, 1).ok());
  EXPECT_EQ(after.state().keys(), 1u);
  EXPECT_TRUE(after.observe(obs(after.c, 1, "g", 0)).empty());
  EXPECT_EQ(after.observe(obs(after.c, 2, "g", 1)).size(), 1u);
}

TEST(CorrelationState, SetRulesDropsTheStateOfAChangedOrRemovedRule) {
  Harness h(eventCount("{gte: 3}"));
  h.observe(obs(h.c, 0, "alice"));
  h.state().setRules(build(valued("value_sum", "{field: bytes, gte: 3}")));
  EXPECT_EQ(h.state().keys(), 0u);

  Harness removed(eventCount("{gte: 3}"));
  removed.observe(obs(removed.c, 0, "alice"));
  removed.state().setRules(build(kBase));
  EXPECT_EQ(removed.state().keys(), 0u);
}

// --- snapshots (beginSnapshot / continueSnapshot) ---

// One correlation of every kind, a chain and a suppressed rule, over kBase.
std::string everyKind(bool with_distinct = true) {
  std::string yaml = std::string(kBase) + R"(---
title: Count
name: count
correlation: {type: event_count, rules: failed_login, group-by: user, timespan: 10m, condition: {gte: 30}}
---
title: Seq
name: seq
correlation: {type: temporal, rules: [failed_login, successful_login], group-by: user, timespan: 2m}
---
title: Ordered
name: ordered
correlation: {type: temporal_ordered, rules: [failed_login, successful_login, export], group-by: user, timespan: 3m}
---
title: Quiet
name: quiet
correlation: {type: absence, rules: export, group-by: user, timespan: 2m}
---
title: Sum
name: sum
correlation: {type: value_sum, rules: export, group-by: user, timespan: 2m, condition: {field: bytes, gte: 5000}}
)";
  if (with_distinct) {
    yaml += R"(---
title: Distinct
name: distinct
correlation: {type: value_count, rules: export, group-by: user, timespan: 5m, condition: {field: patient, gte: 6}}
)";
  }
  return yaml + kChain + kSuppressed;
}

// Drives a state with random observations (out of order, late, repeated,
// over the group and event caps), clock moves and reloads. `batched`: the
// observations between two other steps are handed over at once
// (observe(span), as a shard does), when the next other step comes or at
// flush(); the same seed makes the same calls either way.
class RandomDriver {
 public:
  RandomDriver(uint32_t seed, CorrelationState& state, bool batched = false)
      : random_(seed), state_(state), rules_(variants()[0]), batched_(batched) {
    state_.setRules(rules_);
  }

  void step(std::vector<StateOutput>& out) {
    const int dice = pick(0, 99);
    if (dice < 80) {
      observe(out);
      return;
    }
    flush(out);
    if (dice < 94) {
      now_ += pick(0, 30);
      state_.advance(sec(now_), out);
    } else if (dice < 98) {
      // Reload: the same rules in front of another (indices move), or
      // without one correlation (its groups go).
      rules_ = variants()[pick(0, 2)];
      state_.setRules(rules_);
    } else {
      state_.closeSuppressionWindows(out);
    }
  }

  void flush(std::vector<StateOutput>& out) {
    if (pending_.empty()) return;
    state_.observe(std::span(pending_), out);
    pending_.clear();
  }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random_); }

  // The rule sets a reload swaps between, compiled once for all seeds.
  static const std::vector<std::shared_ptr<const RuleSet>>& variants() {
    static const std::vector<std::shared_ptr<const RuleSet>> sets{
        build(everyKind()),
        build("title: New\nlogsource: {}\ndetection: {s: {f: x}, condition: s}\n---\n" +
              everyKind()),
        build(everyKind(false))};
    return sets;
  }

 private:
  void observe(std::vector<StateOutput>& out) {
    static constexpr const char* kTargets[] = {"Count",
                                               "Seq",
                                               "Ordered",
                                               "Quiet",
                                               "Sum",
                                               "Distinct",
                                               "Noisy",
                                               "Many failed logins",
                                               "Success after many failed logins"};
    const std::string_view title = kTargets[pick(0, std::size(kTargets) - 1)];
    uint32_t rule = static_cast<uint32_t>(rules_->size());
    for (uint32_t i = 0; i < rules_->size(); ++i) {
      if (rules_->rule(i).title == title) rule = i;
    }
    if (rule == rules_->size()) return;  // not in this reload
    now_ += pick(0, 4);
    // Mostly in order; some within the allowance, some late. Half go to
    // three busy users (their groups overflow, events repeat).
    const int64_t at = now_ - (pick(0, 9) == 0 ? pick(0, 90) : 0);
    Observation o =
        obs(rule, at, "user" + std::to_string(pick(0, 1) == 0 ? pick(0, 2) : pick(0, 40)),
            static_cast<uint32_t>(pick(0, 2)));
    if (title == "Success after many failed logins") o.input = 1;
    o.event_id = static_cast<uint64_t>(pick(0, 3) == 0 ? 0 : pick(1, 5));
    o.value_hash = static_cast<uint64_t>(pick(0, 12));
    o.value = pick(0, 3000);
    if (pick(0, 1) == 0) o.sample = "{\"n\":" + std::to_string(pick(0, 999)) + "}";
    if (batched_) {
      pending_.push_back(std::move(o));
    } else {
      state_.observe(std::move(o), out);
    }
  }

  std::mt19937 random_;
  CorrelationState& state_;
  std::shared_ptr<const RuleSet> rules_;
  int64_t now_ = 1000;
  bool batched_;
  std::vector<Observation> pending_;
};

StateLimits tightLimits() {
  StateLimits limits;
  limits.max_keys = 25;             // below the groups the driver makes: evictions happen
  limits.max_events_per_group = 5;  // below Count's condition: overflows happen
  limits.late_allowance_nanos = sec(30);
  return limits;
}

// The snapshot holds exactly the state at beginSnapshot(), however the
// state changes while it is written: every way a group changes or goes
// (observe, compact, expiry, absence, eviction, suppression windows,
// reloads) must write the group's pre-image first.
TEST(CorrelationState, SnapshotHoldsTheStateAtItsBeginWhateverHappensMeanwhile) {
  StateCounters seen;   // over all seeds: every way a group changes happened
  int interleaved = 0;  // snapshots that spanned ten changes or more
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    CorrelationState state(build(kBase), tightLimits());
    RandomDriver driver(seed, state);
    std::vector<StateOutput> out;
    const int before = driver.pick(0, 400);
    for (int i = 0; i < before; ++i) driver.step(out);

    std::string expected;
    state.save(expected);
    std::string snapshot = "kept";  // appended to
    state.beginSnapshot(snapshot);
    const int during = driver.pick(0, 300);
    for (int i = 0; i < during && state.snapshotPending(); ++i) {
      driver.step(out);
      state.continueSnapshot(static_cast<size_t>(driver.pick(1, 400)));
      if (i == 10) ++interleaved;
    }
    state.finishSnapshot();
    EXPECT_FALSE(state.snapshotPending());
    ASSERT_TRUE(snapshot.starts_with("kept"));
    const SavedState want = parseSaved(expected);
    const SavedState got = parseSaved(std::string_view(snapshot).substr(4));
    ASSERT_EQ(got, want) << "snapshot: " << describe(got) << "\nstate at begin: " << describe(want);

    // The next snapshot, begun with nothing pending, sees the state as it is now.
    std::string now;
    state.save(now);
    std::string again;
    state.beginSnapshot(again);
    driver.step(out);
    state.finishSnapshot();
    ASSERT_EQ(parseSaved(again), parseSaved(now));
    const StateCounters& c = state.counters();
    seen.evicted += c.evicted;
    seen.overflow += c.overflow;
    seen.late += c.late;
    seen.fired += c.fired;
    seen.suppressed += c.suppressed;
    seen.duplicates += c.duplicates;
  }
  EXPECT_GT(seen.evicted, 0u);
  EXPECT_GT(seen.overflow, 0u);
  EXPECT_GT(seen.late, 0u);
  EXPECT_GT(seen.fired, 0u);
  EXPECT_GT(seen.suppressed, 0u);
  EXPECT_GT(seen.duplicates, 0u);
  EXPECT_GT(interleaved, 50);
}

// observe(span) reads ahead in the batch; what it does must be what
// observing one by one does: same outputs, same state, with evictions
// (index deletions) and without (the index grows).
TEST(CorrelationState, ABatchIsObservedAsItsObservationsOneByOne) {
  StateLimits roomy = tightLimits();
  roomy.max_keys = 1'000'000;
  size_t batched_groups = 0;
  for (const StateLimits& limits : {tightLimits(), roomy}) {
    for (uint32_t seed = 1; seed <= 100; ++seed) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ", max_keys " +
                   std::to_string(limits.max_keys));
      CorrelationState single(build(kBase), limits), batched(build(kBase), limits);
      RandomDriver one(seed, single), many(seed, batched, true);
      std::vector<StateOutput> want, got;
      for (int i = 0; i < 600; ++i) {
        one.step(want);
        many.step(got);
      }
      many.flush(got);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[i].kind, want[i].kind);
        EXPECT_EQ(got[i].rule, want[i].rule);
        EXPECT_EQ(got[i].group, want[i].group);
        EXPECT_EQ(got[i].value, want[i].value);
        EXPECT_EQ(got[i].first_seen, want[i].first_seen);
        EXPECT_EQ(got[i].last_seen, want[i].last_seen);
        EXPECT_EQ(got[i].samples, want[i].samples);
      }
      std::string a, b;
      single.save(a);
      batched.save(b);
      ASSERT_EQ(parseSaved(b), parseSaved(a));
      EXPECT_EQ(batched.keys(), single.keys());
      EXPECT_EQ(batched.memoryBytes(), single.memoryBytes());
      batched_groups = std::max(batched_groups, batched.keys());
    }
  }
  EXPECT_GT(batched_groups, 64u);  // the roomy runs grew the index from 16 slots to 256
}

// A state saved and loaded again saves the same records: every kind of
// correlation and suppression, values or none, identities or none.
TEST(CorrelationState, LoadReadsBackWhatSaveWrote) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    CorrelationState state(RandomDriver::variants()[0], tightLimits());
    RandomDriver driver(seed, state);
    std::vector<StateOutput> out;
    for (int i = 0; i < 400; ++i) driver.step(out);
    driver.flush(out);
    std::string first;
    state.save(first);
    CorrelationState loaded(RandomDriver::variants()[0], tightLimits());
    ASSERT_TRUE(loaded.load(first, 0, 1).ok()) << "seed " << seed;
    std::string second;
    loaded.save(second);
    EXPECT_EQ(parseSaved(second), parseSaved(first)) << "seed " << seed;
  }
  // Times before 1970: entries are written as distances from the one before.
  Harness before(eventCount("{gte: 3}"));
  before.observe(obs(before.c, -100, "alice"));
  before.observe(obs(before.c, -99, "alice"));
  std::string data;
  before.state().save(data);
  Harness after(eventCount("{gte: 3}"));
  ASSERT_TRUE(after.state().load(data, 0, 1).ok());
  const auto out = after.observe(obs(after.c, -98, "alice"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first_seen, sec(-100));
}

TEST(CorrelationState, SnapshotLoadsLikeASave) {
  Harness before(eventCount("{gte: 3}"));
  for (int i = 0; i < 50; ++i) before.observe(obs(before.c, i, "user" + std::to_string(i % 10)));
  std::string snapshot;
  before.state().beginSnapshot(snapshot);
  before.observe(obs(before.c, 60, "user1"));  // fires user1 and starts it over
  before.state().finishSnapshot();

  Harness after(eventCount("{gte: 3}"));
  ASSERT_TRUE(after.state().load(snapshot, 0, 1).ok());
  EXPECT_EQ(after.state().keys(), 10u);
  EXPECT_EQ(after.state().clock(), sec(49));
  // user1 held two events (31s, 41s) at the snapshot, none after the firing.
  const auto out = after.observe(obs(after.c, 61, "user1"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first_seen, sec(31));
}

TEST(CorrelationState, SnapshotIsWrittenInSlicesOfAboutTheBudget) {
  Harness h(eventCount("{gte: 1000}"));
  for (int i = 0; i < 400; ++i) h.observe(obs(h.c, i % 50, "user" + std::to_string(i % 100)));
  std::string snapshot;
  h.state().beginSnapshot(snapshot);
  const size_t header = snapshot.size();
  ASSERT_TRUE(h.state().snapshotPending());
  EXPECT_FALSE(h.state().continueSnapshot(1000));
  // A slice stops at the first group that reaches the budget.
  EXPECT_GE(snapshot.size() - header, 500u);
  EXPECT_LT(snapshot.size() - header, 1400u);
  int slices = 1;
  while (!h.state().continueSnapshot(1000)) ++slices;
  EXPECT_GT(slices, 10);
  std::string full;
  h.state().save(full);
  EXPECT_EQ(parseSaved(snapshot), parseSaved(full));
  EXPECT_LE(full.size(), h.state().savedBytesEstimate());
}

TEST(CorrelationState, SnapshotOfAnEmptyStateIsCompleteAtOnce) {
  Harness h(eventCount("{gte: 3}"));
  std::string snapshot;
  h.state().beginSnapshot(snapshot);
  EXPECT_FALSE(h.state().snapshotPending());
  h.observe(obs(h.c, 1, "alice"));  // after the snapshot's moment
  EXPECT_EQ(parseSaved(snapshot).groups, 0u);
}

}  // namespace
}  // namespace trailwatch::engine
