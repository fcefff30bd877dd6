// CorrelationState: the memory behind correlation rules and suppression, for
// one shard of group keys.
//
// Input is Observations: "an event matched rule R (feeding correlation C as
// its input I), at event time T, for group G". Output is StateOutputs:
// correlation alerts, suppressed-rule alerts let through, and suppression
// summaries. Nothing here reads events, renders JSON or takes locks: a shard
// is owned by one worker thread, and every key of a group lives in exactly
// one shard (routing by groupHash()).
//
// Time is event time. The shard's clock is the latest event time it has
// seen (observations and advance()); its watermark is that clock minus the
// late allowance. An observation older than the watermark is late: counted
// and left out, because windows it belonged to may already have been judged.
//
// Windows slide; they are not fixed buckets. A correlation is judged on the
// window that ends at each event: the events of the group whose time t
// satisfies end - timespan < t <= end (half-open: an event exactly one
// timespan older than the last is outside). An out-of-order event (within the
// allowance) is inserted at its time and every window that contains it is
// judged again. When a window satisfies the condition the correlation fires
// once, with that window's figures, and the group starts over with the events
// after it. `absence` fires when the watermark passes a group's last event
// time plus the timespan (the group is then forgotten until it reappears).
//
// Bounds: at most `max_keys` groups (least recently updated evicted first,
// counted), at most `max_events_per_group` events per group (oldest dropped,
// counted), at most `sample_size` sample events per group.
//
// Thread-safety: none; one owner thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "daemon/engine/rule_set.h"
#include "trailwatch/result.h"

namespace trailwatch::engine {

// Separates the values of a multi-field group key.
inline constexpr char kGroupSeparator = '\x1f';

// Which shard a group key belongs to: groupHash(group) % shards. Chained
// correlations share their grouping, hence their shard.
uint64_t groupHash(std::string_view group);

// The identity of a stateful rule (a correlation, or a rule with
// `suppress`) that survives reloads: two rule sets give the same key to the
// same unchanged rule. Empty for other rules.
std::string stateKey(const RuleSet& rules, uint32_t index);

struct Observation {
  uint32_t rule = 0;   // RuleInfo index of the target: a correlation, or a rule with `suppress`
  uint32_t input = 0;  // correlations: position of the contributing rule in `rules:`
  int64_t time = 0;    // event time, Unix ns
  std::string group;   // the group-by values (suppression: the `by` values), kGroupSeparator-joined
  // Identity of the event (source, file, offset), so an event read twice
  // (after a crash between the state save and the source's commit) counts
  // once while its window is open; 0 when it has none.
  uint64_t event_id = 0;
  uint64_t value_hash = 0;  // value_count: hash of the field's value
  double value = 0;         // value_sum / value_avg / value_percentile: the field's value
  // Correlations: the event's sample (correlation_sample.h), kept for the
  // alert. Suppression: the alert JSON to let through.
  std::string sample;
  // State only (Record::state_only): the event was evaluated and its alerts
  // delivered elsewhere; it rebuilds state. observe() applies it like any
  // other (windows fire and start over, suppression windows open) but emits
  // nothing for it, nor for what its firings feed (chained correlations).
  // It is never late: it rebuilds windows judged elsewhere, so the
  // watermark does not apply (what lies outside every window still to be
  // judged is dropped at once, as usual).
  bool state_only = false;
  // (ObservationBatch::reset() resets each field.)
};

// Observations on their way to a shard, in slots that are reused: clear()
// keeps the observations with their strings' capacity, and add() hands out
// the next slot, reset. A producer that writes each observation into a
// slot of a batch the shard returns after use allocates nothing per
// observation, and no string allocated by one thread is freed by another.
class ObservationBatch {
 public:
  ObservationBatch() = default;
  ObservationBatch(ObservationBatch&& other) noexcept
      : slots_(std::move(other.slots_)), size_(std::exchange(other.size_, 0)) {}
  ObservationBatch& operator=(ObservationBatch&& other) noexcept {
    slots_ = std::move(other.slots_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Slots held, in use or not.
  size_t slots() const { return slots_.size(); }
  Observation* begin() { return slots_.data(); }
  Observation* end() { return slots_.data() + size_; }
  Observation& operator[](size_t i) { return slots_[i]; }

  // The next slot, reset(): every field as in a default Observation, the
  // strings empty with their capacity kept.
  Observation& add() {
    if (size_ == slots_.size()) {
      slots_.emplace_back();
    } else {
      reset(slots_[size_]);
    }
    return slots_[size_++];
  }
  void push_back(const Observation& o) { add() = o; }

  // Keeps the first `n` observations; the rest become free slots.
  void truncate(size_t n) { size_ = std::min(n, size_); }
  void clear() { size_ = 0; }
  void swap(ObservationBatch& other) {
    slots_.swap(other.slots_);
    std::swap(size_, other.size_);
  }

  // Field by field, so that the strings keep their buffers (up to
  // kKeptCapacity, so one outsized alert does not stay in a slot). A field
  // added to Observation must be reset here too.
  static void reset(Observation& o) {
    o.rule = 0;
    o.input = 0;
    o.time = 0;
    o.event_id = 0;
    o.value_hash = 0;
    o.value = 0;
    o.state_only = false;
    if (o.group.capacity() > kKeptCapacity) std::string().swap(o.group);
    if (o.sample.capacity() > kKeptCapacity) std::string().swap(o.sample);
    o.group.clear();
    o.sample.clear();
  }
  static constexpr size_t kKeptCapacity = 4096;

 private:
  std::vector<Observation> slots_;
  size_t size_ = 0;
};

struct StateOutput {
  enum class Kind : uint8_t {
    kCorrelation,  // a correlation fired (absence included)
    kAlert,        // a suppressed rule's alert that opens a window: samples[0] is the alert JSON
    kSuppressed,   // a suppression window closed with `value` matches held back
  };
  Kind kind = Kind::kCorrelation;
  uint32_t rule = 0;  // RuleInfo index
  std::string group;
  double value = 0;     // count, distinct count, sum, average, percentile; kSuppressed: count
  uint64_t events = 0;  // events in the window
  int64_t first_seen = 0, last_seen = 0;  // event times, Unix ns
  std::vector<std::string> samples;
};

struct StateLimits {
  size_t max_keys = 1'000'000;
  int64_t late_allowance_nanos = 60'000'000'000;
  size_t sample_size = 3;
  size_t max_events_per_group = 100'000;
};

struct StateCounters {
  uint64_t late = 0;      // observations older than the watermark, left out
  uint64_t evicted = 0;   // groups dropped for max_keys
  uint64_t overflow = 0;  // events dropped for max_events_per_group
  uint64_t suppressed = 0;
  uint64_t fired = 0;       // correlation firings (alerting or feeding a chain)
  uint64_t duplicates = 0;  // observations of an event already in its window, left out
  // Outputs (firings, alerts, summaries) of state-only observations, dropped.
  uint64_t state_only_dropped = 0;
};

class CorrelationState {
 public:
  CorrelationState(std::shared_ptr<const RuleSet> rules, StateLimits limits);
  ~CorrelationState();
  CorrelationState(const CorrelationState&) = delete;
  CorrelationState& operator=(const CorrelationState&) = delete;

  // Adopts a reloaded rule set: groups of correlations / suppressed rules
  // that still exist with the same key (id, else name, else title) and type
  // are kept; the others are dropped.
  void setRules(std::shared_ptr<const RuleSet> rules);

  void observe(Observation&& observation, std::vector<StateOutput>& out);
  // The same for each observation of `batch` in turn (moved from). Reads
  // ahead: the groups of the observations a few places on are loaded while
  // the current one is observed, so that a state of many groups costs
  // fewer waits for memory.
  void observe(std::span<Observation> batch, std::vector<StateOutput>& out);

  // End of input (a scan): emits the summaries of suppression windows that
  // still hold matches back, and closes them.
  void closeSuppressionWindows(std::vector<StateOutput>& out);

  // Moves the clock to `time` if later (events seen elsewhere, or the wall
  // clock when idle) and emits what the new watermark makes due: absence
  // alerts, suppression summaries; expired groups are freed.
  void advance(int64_t time, std::vector<StateOutput>& out);

  int64_t clock() const { return clock_; }
  int64_t watermark() const { return clock_ - limits_.late_allowance_nanos; }
  size_t keys() const { return groups_; }
  // Estimated heap bytes held by the groups (keys, events, samples).
  size_t memoryBytes() const;
  const StateCounters& counters() const { return counters_; }

  // Appends every group (with the clock) to `out`, in a binary form that
  // load() reads back, also into a state with other shard counts.
  void save(std::string& out) const;
  // Adds the groups of `data` (written by save()) whose groupHash() %
  // `shards` == `shard`; groups of rules no longer loaded are skipped.
  // Finishes a snapshot in progress first.
  Status load(std::string_view data, uint64_t shard, uint64_t shards);

  // A save() taken in slices, so that a large state is saved without
  // holding its owner thread for the whole of it. beginSnapshot() fixes the
  // moment: what the snapshot holds in the end is the state (clock and
  // groups) as it was at that call, in save()'s format (groups in another
  // order), whatever observe(), advance(), setRules() etc. do meanwhile. It
  // costs O(1): the groups are written by continueSnapshot(), and a group
  // about to change or go is written first, as it was (copy on write).
  //
  // `out` is appended to and must stay alive (and untouched by others)
  // until snapshotPending() is false. A snapshot in progress is finished
  // before the next one begins.
  void beginSnapshot(std::string& out);
  // Writes groups until about `budget_bytes` were appended; true when the
  // snapshot is complete (then `out` holds all of it).
  bool continueSnapshot(size_t budget_bytes);
  void finishSnapshot();
  bool snapshotPending() const { return snapshot_out_ != nullptr; }
  // About how many bytes save() would write now: to size a buffer once.
  size_t savedBytesEstimate() const;

 private:
  // 24 bytes: a million groups hold at least one each.
  struct Entry {
    int64_t time;
    uint64_t value;  // value hash, or the bits of a double
    uint32_t id;     // Observation::event_id folded to 32 bits (0: none); compared at equal times
    uint32_t input;
  };
  struct Group;
  // The index of groups by (rule, group key): open addressing with linear
  // probing, at most half full. A slot holds its key's hash, so a lookup
  // reads one slot and then only the group it names, and a batch can start
  // loading both ahead (observe(span)).
  struct Slot {
    uint64_t hash = 0;
    std::unique_ptr<Group> group;  // nullptr: empty
  };
  struct List {
    Group* head = nullptr;  // most recently updated
    Group* tail = nullptr;
  };

  static uint64_t keyHash(uint32_t rule, std::string_view group);
  // The slot of (rule, group) of hash `hash`, else the empty slot where it
  // would go. Needs a slot array.
  Slot& slotOf(uint64_t hash, uint32_t rule, std::string_view group);
  Group* find(uint64_t hash, uint32_t rule, std::string_view group);
  // Adds `g` (not in the index) under its rule and group, of keyHash() `hash`.
  Group& insert(std::unique_ptr<Group> g, uint64_t hash);
  // The one way to a group that is about to change: writes the group's
  // pre-image to a snapshot in progress first (see preserve()).
  Group& findOrCreate(uint32_t rule, std::string_view group, uint64_t hash);
  // Writes `g` as it is now to the snapshot in progress, if it belongs to
  // the snapshot and is not written yet. Every change of an existing group
  // goes through findOrCreate() or erase(), which call this; setRules() and
  // load(), which rebuild the map, finish the snapshot instead.
  void preserve(Group& g);
  // One group in save()'s format; `stable` is stateKey() of its rule.
  void saveGroup(std::string& out, const Group& g, std::string_view stable) const;
  std::vector<std::string> stableKeys() const;  // stateKey() by rule index
  void touch(Group& g);
  void unlink(Group& g);
  void erase(Group& g);
  void evictBeyondLimit(const Group* keep);
  // observe() of an observation whose keyHash() is `hash`.
  void observeHashed(Observation& o, uint64_t hash, std::vector<StateOutput>& out);
  // One observation, or one a firing fed to a chained correlation; returns
  // its group, or nullptr when it was left out (late, unknown rule).
  Group* observeOne(Observation& o, uint64_t hash, std::vector<StateOutput>& out,
                    std::vector<Observation>& chained);
  void observeSuppressed(Group& g, Observation& o, std::vector<StateOutput>& out);
  // Group::input_latest of a temporal or temporal_ordered group, from its
  // first input on; built from the entries when the group has none.
  const int64_t* inputLatest(Group& g, const Correlation& c);
  void dropInputLatest(Group& g);
  static size_t inputLatestBytes(const Group& g);
  void observeCorrelation(Group& g, Observation& o, std::vector<StateOutput>& out,
                          std::vector<Observation>& chained);
  // Records a firing and queues the observations it feeds to chained correlations.
  void fire(const Group& g, StateOutput&& output, std::vector<StateOutput>& out,
            std::vector<Observation>& chained);
  // Forgets the entries before the watermark that no window still to be
  // judged can need (value_count, temporal, temporal_ordered), so that a
  // group's memory follows its distinct values, not its event rate.
  void compact(Group& g, const Correlation& c);
  void addSample(Group& g, std::string&& sample);
  std::vector<std::string> samplesOf(const Group& g) const;
  void rebuildLists();

  std::shared_ptr<const RuleSet> rules_;
  StateLimits limits_;
  int64_t clock_ = INT64_MIN / 2;
  std::vector<Slot> slots_;  // power of two, or empty
  size_t groups_ = 0;        // slots in use
  std::vector<List> lists_;  // by rule index
  StateCounters counters_;
  size_t entries_ = 0;             // events held, all groups
  size_t sample_bytes_ = 0;        // sample heap bytes held, all groups
  size_t key_bytes_ = 0;           // heap bytes of group keys too long to live inside the string
  size_t distinct_values_ = 0;     // values counted in value_count groups' DistinctCounts
  size_t input_latest_bytes_ = 0;  // Group::input_latest heap bytes, all groups
  // Snapshot in progress (see beginSnapshot()). A group belongs to it and
  // is still to be written while its `snapshot_parity` differs from
  // snapshot_parity_: beginSnapshot() flips the state's parity, writing a
  // group (or creating one) sets the group's to it. The remaining groups
  // are walked along lists_, head to tail: a group that changes moves to
  // the head (behind the walk) only after preserve() wrote it.
  std::string* snapshot_out_ = nullptr;
  bool snapshot_parity_ = false;
  uint32_t snapshot_rule_ = 0;                // the list being walked
  Group* snapshot_next_ = nullptr;            // the walk's next group in it
  uint64_t snapshot_left_ = 0;                // groups still to be written
  std::vector<std::string> snapshot_stable_;  // stableKeys() at beginSnapshot()
  std::vector<uint64_t> scratch_;
  std::vector<double> scratch_values_;
  std::vector<bool> scratch_keep_;
  std::unordered_set<uint64_t> scratch_seen_;
};

}  // namespace trailwatch::engine
