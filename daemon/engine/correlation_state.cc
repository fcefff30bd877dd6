#include "daemon/engine/correlation_state.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "daemon/common/json_writer.h"
#include "daemon/engine/correlation_sample.h"

namespace trailwatch::engine {
namespace {

// Backward-shift deletion from a table with linear probing, of a power of
// two slots: `hole` was just emptied, and each slot after it (up to an
// empty one) whose probe from its home slot would not pass the hole moves
// into it, leaving its own place empty (a default Slot). Lookups then
// need no tombstones.
template <typename Slot, typename Home, typename Empty>
void closeHole(std::vector<Slot>& slots, size_t hole, Home home_of, Empty empty) {
  const size_t mask = slots.size() - 1;
  for (size_t j = (hole + 1) & mask; !empty(slots[j]); j = (j + 1) & mask) {
    const size_t home = home_of(slots[j]);
    const bool stays = hole <= j ? (hole < home && home <= j) : (home > hole || home <= j);
    if (stays) continue;
    slots[hole] = std::move(slots[j]);
    slots[j] = Slot{};
    hole = j;
  }
}

}  // namespace

// value_count over in-order events: how many times each value occurs in
// entries[begin, end), the window of the latest event, so that the next
// in-order event costs a hash update instead of a sort of its whole window.
// Dropped whenever the entries change otherwise than by an append or a
// front erase before `begin` (a late event, a firing, an overflow), and
// rebuilt by the next in-order event.
struct DistinctCounts {
  size_t begin = 0;  // index of the first entry counted
  size_t distinct = 0;

  void add(uint64_t value) {
    if ((distinct + 1) * 2 > slots_.size()) grow();
    Slot& s = slots_[find(value)];
    if (s.count++ == 0) {
      s.value = value;
      ++distinct;
    }
  }
  // Starts loading the slot of `value`.
  void prefetch(uint64_t value) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slotOf(value)]);
  }
  void remove(uint64_t value) {
    if (slots_.empty()) return;
    size_t i = find(value);
    if (slots_[i].count == 0 || --slots_[i].count > 0) return;
    --distinct;
    closeHole(
        slots_, i, [&](const Slot& s) { return slotOf(s.value); },
        [](const Slot& s) { return s.count == 0; });
  }

 private:
  // Open addressing with linear probing, at most half full: a count
  // changes in the slot's cache line, and dropping the table frees one
  // block, where std::unordered_map freed a node per value (a cache miss
  // each, when a group's window starts over).
  struct Slot {
    uint64_t value = 0;
    uint32_t count = 0;  // 0: empty
  };
  size_t slotOf(uint64_t value) const {
    value ^= value >> 33;
    value *= 0xFF51AFD7ED558CCDULL;
    value ^= value >> 33;
    return static_cast<size_t>(value) & (slots_.size() - 1);
  }
  // The slot holding `value`, else the empty slot where it would go.
  size_t find(uint64_t value) const {
    const size_t mask = slots_.size() - 1;
    size_t i = slotOf(value);
    while (slots_[i].count != 0 && slots_[i].value != value) i = (i + 1) & mask;
    return i;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 8 : old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.count != 0) slots_[find(s.value)] = s;
    }
  }

  std::vector<Slot> slots_;  // power of two
};

// Laid out to stay small (136 bytes, a group key of up to 15 bytes inside
// it): a million of them is the sizing target.
struct CorrelationState::Group {
  Group* prev = nullptr;   // toward the head (more recent)
  Group* next = nullptr;   // toward the tail (older)
  std::string group;       // the group-by values, kGroupSeparator-joined
  int64_t touched = 0;     // the clock when last observed; non-decreasing from tail to head
  int64_t first_seen = 0;  // suppression: window start
  int64_t last_seen = 0;   // latest event time
  uint32_t rule = 0;
  uint32_t suppressed = 0;     // suppression: matches held back in the window (saturates)
  std::vector<Entry> entries;  // sorted by time
  std::unique_ptr<DistinctCounts> distinct;  // value_count: see DistinctCounts
  // temporal, temporal_ordered: [0] the number of inputs n, then for each
  // input a time at or after its latest entry (kNoEntry: none), so that
  // judging a window passes over the inputs it cannot hold without reading
  // entries. Built from the entries when first needed (inputLatest()), then
  // raised by each entry added; entries dropped leave it as it is, which
  // keeps it at or after. Not saved: load() and setRules() start without.
  std::unique_ptr<int64_t[]> input_latest;
  // Up to sample_size samples, each after its 2-byte length, in one block
  // of samplesBlock(samples_size) bytes (a std::string would cost 32 bytes
  // in every group).
  std::unique_ptr<char[]> samples;
  uint32_t samples_size = 0;
  uint8_t sample_count = 0;
  bool active : 1 = false;  // suppression: a window is open
  // See CorrelationState::snapshot_parity_.
  bool snapshot_parity : 1 = false;
  // Entries before the watermark left by the last compaction (saturates):
  // the next one waits until there are twice as many, so that compacting
  // costs O(1) per event over time.
  uint16_t compacted = 0;

  std::string_view sampleBytes() const { return {samples.get(), samples_size}; }
  // Sizes are rounded up to 32 bytes, so that a new sample a few bytes
  // longer or shorter than the one it replaces reuses the block.
  static size_t samplesBlock(size_t size) { return (size + 31) & ~size_t{31}; }
  void setSamples(std::string_view bytes) {
    if (bytes.empty()) {
      samples.reset();
    } else {
      auto block = std::make_unique_for_overwrite<char[]>(samplesBlock(bytes.size()));
      std::memcpy(block.get(), bytes.data(), bytes.size());
      samples = std::move(block);
    }
    samples_size = static_cast<uint32_t>(bytes.size());
  }
};

namespace {

// What a string holds on the heap (nothing while it fits in the object).
size_t heapBytes(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }

// Rough heap cost of a block beside its size (malloc's header, rounding).
constexpr size_t kAllocOverhead = 16;
// Group::input_latest of an input with no entry.
constexpr int64_t kNoEntry = INT64_MIN;
// Rough heap cost of one value counted in a DistinctCounts (node and bucket).
constexpr size_t kDistinctValueBytes = 40;

double asDouble(uint64_t bits) { return std::bit_cast<double>(bits); }

// Serialisation helpers: little-endian host order, this is a local state
// file read back by the same build family.
void putU64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void putU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
// LEB128: 7 bits a byte, low first, the top bit set on all but the last.
void putVarint(std::string& out, uint64_t v) {
  char bytes[10];
  size_t n = 0;
  while (v >= 0x80) {
    bytes[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  bytes[n++] = static_cast<char>(v);
  out.append(bytes, n);
}
void putStr(std::string& out, std::string_view s) {
  putU64(out, s.size());
  out.append(s);
}
struct Reader {
  std::string_view data;
  bool ok = true;
  template <typename T>
  T fixed() {
    if (data.size() < sizeof(T)) {
      ok = false;
      return 0;
    }
    T v;
    std::memcpy(&v, data.data(), sizeof(T));
    data.remove_prefix(sizeof(T));
    return v;
  }
  uint64_t u64() { return fixed<uint64_t>(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (data.empty()) break;
      const auto byte = static_cast<unsigned char>(data.front());
      data.remove_prefix(1);
      v |= uint64_t{byte & 0x7Fu} << shift;
      if ((byte & 0x80) == 0) return v;
    }
    ok = false;  // cut short, or longer than 10 bytes
    return 0;
  }
  std::string_view str() {
    const uint64_t n = u64();
    if (!ok || n > data.size()) {
      ok = false;
      return {};
    }
    std::string_view s = data.substr(0, n);
    data.remove_prefix(n);
    return s;
  }
};
// Version 3 writes each group's entries compactly (see saveGroup());
// load() still reads version 2, whose entries are four 8-byte numbers.
constexpr std::string_view kMagic = "trailwatch-correlation-state-3\n";
constexpr std::string_view kMagicV2 = "trailwatch-correlation-state-2\n";
// The fewest bytes an entry takes in each version.
constexpr size_t kMinEntryBytes = 6, kEntryBytesV2 = 32;
static_assert(kMagic.size() == kMagicV2.size());

}  // namespace

std::string stateKey(const RuleSet& rules, uint32_t index) {
  const RuleInfo& info = rules.rule(index);
  if (info.correlation >= 0) return rules.correlations()[info.correlation].key;
  if (!info.suppress) return {};
  return "suppress:" + (!info.id.empty() ? info.id : !info.name.empty() ? info.name : info.title);
}

uint64_t groupHash(std::string_view group) { return std::hash<std::string_view>{}(group); }

CorrelationState::CorrelationState(std::shared_ptr<const RuleSet> rules, StateLimits limits)
    : rules_(std::move(rules)), limits_(limits) {
  lists_.assign(rules_->size(), List{});
}

CorrelationState::~CorrelationState() = default;

size_t CorrelationState::memoryBytes() const {
  return groups_ * (sizeof(Group) + kAllocOverhead) + slots_.size() * sizeof(Slot) +
         entries_ * sizeof(Entry) + sample_bytes_ + key_bytes_ +
         distinct_values_ * kDistinctValueBytes + input_latest_bytes_;
}

const int64_t* CorrelationState::inputLatest(Group& g, const Correlation& c) {
  if (!g.input_latest) {
    const size_t n = c.inputs.size();
    g.input_latest = std::make_unique<int64_t[]>(n + 1);
    g.input_latest[0] = static_cast<int64_t>(n);
    std::fill_n(g.input_latest.get() + 1, n, kNoEntry);
    for (const Entry& e : g.entries) {
      if (e.input < n) g.input_latest[1 + e.input] = std::max(g.input_latest[1 + e.input], e.time);
    }
    input_latest_bytes_ += inputLatestBytes(g);
  }
  return g.input_latest.get() + 1;
}

void CorrelationState::dropInputLatest(Group& g) {
  input_latest_bytes_ -= inputLatestBytes(g);
  g.input_latest.reset();
}

size_t CorrelationState::inputLatestBytes(const Group& g) {
  if (!g.input_latest) return 0;
  return (static_cast<size_t>(g.input_latest[0]) + 1) * sizeof(int64_t) + kAllocOverhead;
}

uint64_t CorrelationState::keyHash(uint32_t rule, std::string_view group) {
  // Mixed, so that the slot bits do not follow the shard (groupHash() % shards).
  uint64_t h = groupHash(group) ^ ((uint64_t{rule} + 1) * 0x9E3779B97F4A7C15ULL);
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  return h;
}

CorrelationState::Slot& CorrelationState::slotOf(uint64_t hash, uint32_t rule,
                                                 std::string_view group) {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.group == nullptr ||
        (slot.hash == hash && slot.group->rule == rule && slot.group->group == group)) {
      return slot;
    }
  }
}

CorrelationState::Group* CorrelationState::find(uint64_t hash, uint32_t rule,
                                                std::string_view group) {
  return slots_.empty() ? nullptr : slotOf(hash, rule, group).group.get();
}

CorrelationState::Group& CorrelationState::insert(std::unique_ptr<Group> g, uint64_t hash) {
  if ((groups_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    slots_.clear();
    slots_.resize(old.empty() ? 16 : old.size() * 2);
    for (Slot& slot : old) {
      if (slot.group) slotOf(slot.hash, slot.group->rule, slot.group->group) = std::move(slot);
    }
  }
  Slot& slot = slotOf(hash, g->rule, g->group);
  slot.hash = hash;
  slot.group = std::move(g);
  ++groups_;
  key_bytes_ += heapBytes(slot.group->group);
  return *slot.group;
}

void CorrelationState::unlink(Group& g) {
  if (snapshot_next_ == &g) snapshot_next_ = g.next;
  List& list = lists_[g.rule];
  if (g.prev)
    g.prev->next = g.next;
  else
    list.head = g.next;
  if (g.next)
    g.next->prev = g.prev;
  else
    list.tail = g.prev;
  g.prev = g.next = nullptr;
}

void CorrelationState::touch(Group& g) {
  List& list = lists_[g.rule];
  if (list.head != &g) {
    if (g.prev != nullptr || g.next != nullptr || list.tail == &g) unlink(g);
    g.next = list.head;
    g.prev = nullptr;
    if (list.head) list.head->prev = &g;
    list.head = &g;
    if (list.tail == nullptr) list.tail = &g;
  }
  g.touched = clock_;
}

void CorrelationState::erase(Group& g) {
  preserve(g);
  unlink(g);
  entries_ -= g.entries.size();
  if (g.distinct) distinct_values_ -= g.distinct->distinct;
  dropInputLatest(g);
  sample_bytes_ -= g.samples_size;
  key_bytes_ -= heapBytes(g.group);
  const size_t mask = slots_.size() - 1;
  // Groups do not keep their hash (8 bytes each): erasing, much rarer than
  // observing, computes it again.
  size_t i = keyHash(g.rule, g.group) & mask;
  while (slots_[i].group.get() != &g) i = (i + 1) & mask;
  slots_[i] = Slot{};  // g is gone
  --groups_;
  closeHole(
      slots_, i, [&](const Slot& s) { return s.hash & mask; },
      [](const Slot& s) { return s.group == nullptr; });
}

CorrelationState::Group& CorrelationState::findOrCreate(uint32_t rule, std::string_view group,
                                                        uint64_t hash) {
  if (Group* g = find(hash, rule, group)) {
    preserve(*g);
    return *g;
  }
  auto g = std::make_unique<Group>();
  g->group = group;
  g->rule = rule;
  g->snapshot_parity = snapshot_parity_;  // not in a snapshot in progress
  return insert(std::move(g), hash);
}

void CorrelationState::evictBeyondLimit(const Group* keep) {
  while (groups_ > limits_.max_keys) {
    Group* oldest = nullptr;
    for (const List& list : lists_) {
      Group* candidate = list.tail;
      if (candidate == keep) candidate = candidate->prev;
      if (candidate != nullptr && (oldest == nullptr || candidate->touched < oldest->touched)) {
        oldest = candidate;
      }
    }
    if (oldest == nullptr) return;
    erase(*oldest);
    ++counters_.evicted;
  }
}

namespace {

uint16_t sampleLength(std::string_view samples, size_t at) {
  uint16_t n;
  std::memcpy(&n, samples.data() + at, 2);
  return n;
}

}  // namespace

void CorrelationState::addSample(Group& g, std::string&& sample) {
  if (limits_.sample_size == 0 || sample.empty()) return;
  std::string_view kept = g.sampleBytes();
  size_t count = g.sample_count + 1;
  while (count > limits_.sample_size) {
    kept.remove_prefix(2 + sampleLength(kept, 0));
    --count;
  }
  const uint16_t n = static_cast<uint16_t>(std::min<size_t>(sample.size(), UINT16_MAX));
  // One block: the kept samples, then the new one. While the block size
  // stays the same (the usual case) they are shifted in place.
  const size_t size = kept.size() + 2 + n;
  char* block = g.samples.get();
  std::unique_ptr<char[]> fresh;
  if (block == nullptr || Group::samplesBlock(size) != Group::samplesBlock(g.samples_size)) {
    fresh = std::make_unique_for_overwrite<char[]>(Group::samplesBlock(size));
    block = fresh.get();
  }
  if (!kept.empty()) std::memmove(block, kept.data(), kept.size());
  std::memcpy(block + kept.size(), &n, 2);
  std::memcpy(block + kept.size() + 2, sample.data(), n);
  if (fresh) g.samples = std::move(fresh);
  sample_bytes_ = sample_bytes_ - g.samples_size + size;
  g.samples_size = static_cast<uint32_t>(size);
  g.sample_count = static_cast<uint8_t>(count);
}

std::vector<std::string> CorrelationState::samplesOf(const Group& g) const {
  std::vector<std::string> out;
  size_t at = 0;
  const std::string_view bytes = g.sampleBytes();
  while (at + 2 <= bytes.size()) {
    const uint16_t n = sampleLength(bytes, at);
    out.emplace_back(bytes.substr(at + 2, n));
    at += 2 + n;
  }
  return out;
}

void CorrelationState::observe(Observation&& observation, std::vector<StateOutput>& out) {
  observeHashed(observation, keyHash(observation.rule, observation.group), out);
}

void CorrelationState::observe(std::span<Observation> batch, std::vector<StateOutput>& out) {
  // What observing reads, in the order each is found: the group's slot, the
  // group, then its newest entry, samples and list neighbours, then (for
  // value_count) its count of the value. Each stage is started this many
  // observations ahead, from what the stage before loaded; a stage looks
  // its group up again (cached by then), since observing may have moved or
  // freed what an earlier lookup found. A hint needs no certainty, so it
  // takes the group of the first slot with the same hash.
  constexpr size_t kSlot = 12, kGroup = 8, kData = 4, kCount = 2;
  constexpr size_t kRing = 16;  // hashes of observations [i, i + kSlot]
  static_assert(kSlot < kRing && kGroup < kSlot && kData < kGroup && kCount < kData);
  uint64_t hashes[kRing];
  const size_t n = batch.size();
  auto hashAt = [&](size_t j) -> uint64_t& { return hashes[j % kRing]; };
  auto groupAt = [&](size_t j) -> const Group* {
    const uint64_t hash = hashAt(j);
    const size_t mask = slots_.size() - 1;
    for (size_t k = hash & mask; slots_[k].group != nullptr; k = (k + 1) & mask) {
      if (slots_[k].hash == hash) return slots_[k].group.get();
    }
    return nullptr;
  };
  for (size_t j = 0; j < std::min(n, kSlot); ++j) {
    hashAt(j) = keyHash(batch[j].rule, batch[j].group);
  }
  for (size_t i = 0; i < n; ++i) {
    if (const size_t j = i + kSlot; j < n) {
      hashAt(j) = keyHash(batch[j].rule, batch[j].group);
      if (!slots_.empty()) __builtin_prefetch(&slots_[hashAt(j) & (slots_.size() - 1)]);
    }
    if (!slots_.empty()) {
      if (const size_t j = i + kGroup; j < n) {
        // The slot's line is loaded: this takes the group's address from it.
        if (const Group* g = groupAt(j)) {
          __builtin_prefetch(g);
          __builtin_prefetch(reinterpret_cast<const char*>(g) + 64);
        }
      }
      if (const size_t j = i + kData; j < n) {
        if (const Group* g = groupAt(j)) {
          if (!g->entries.empty()) {
            // Its newest entry (where the event goes) and its oldest (the
            // first that may have fallen out of every window).
            __builtin_prefetch(&g->entries.back());
            __builtin_prefetch(&g->entries.front());
          }
          if (g->samples) {
            __builtin_prefetch(g->samples.get());
            __builtin_prefetch(g->samples.get() + g->samples_size - 1);
          }
          if (g->prev != nullptr) __builtin_prefetch(g->prev);
          if (g->next != nullptr) __builtin_prefetch(g->next);
          if (g->distinct) __builtin_prefetch(g->distinct.get());
        }
      }
      if (const size_t j = i + kCount; j < n) {
        if (const Group* g = groupAt(j); g != nullptr && g->distinct) {
          g->distinct->prefetch(batch[j].value_hash);
        }
      }
    }
    observeHashed(batch[i], hashAt(i), out);
  }
}

void CorrelationState::observeHashed(Observation& observation, uint64_t hash,
                                     std::vector<StateOutput>& out) {
  const bool state_only = observation.state_only;
  const size_t emitted = out.size();
  // The observation is handled in place; only firings that feed chained
  // correlations fill `chained`, so the usual observation allocates nothing
  // here. A firing can feed chained correlations, which can fire in turn;
  // the rule set has no cycles, so this ends.
  std::vector<Observation> chained;
  Group* first = observeOne(observation, hash, out, chained);
  for (size_t i = 0; i < chained.size(); ++i) {
    // Moved out first: observing may queue more and reallocate the queue.
    Observation o = std::move(chained[i]);
    o.state_only = state_only;  // what a state-only event causes is state only too
    observeOne(o, keyHash(o.rule, o.group), out, chained);
  }
  evictBeyondLimit(first);
  if (state_only) {
    counters_.state_only_dropped += out.size() - emitted;
    out.resize(emitted);
  }
}

CorrelationState::Group* CorrelationState::observeOne(Observation& o, uint64_t hash,
                                                      std::vector<StateOutput>& out,
                                                      std::vector<Observation>& chained) {
  if (o.rule >= rules_->size()) return nullptr;
  if (o.time < watermark() && !o.state_only) {
    ++counters_.late;
    return nullptr;
  }
  if (rules_->rule(o.rule).correlation < 0 && !rules_->rule(o.rule).suppress) return nullptr;
  clock_ = std::max(clock_, o.time);
  const RuleInfo& info = rules_->rule(o.rule);
  Group& g = findOrCreate(o.rule, o.group, hash);
  touch(g);
  if (info.correlation >= 0) {
    observeCorrelation(g, o, out, chained);
  } else if (info.suppress) {
    observeSuppressed(g, o, out);
  }
  return &g;
}

void CorrelationState::observeSuppressed(Group& g, Observation& o, std::vector<StateOutput>& out) {
  const int64_t span = rules_->rule(g.rule).suppress->timespan_nanos;
  if (g.active && o.time < g.first_seen + span) {
    if (g.suppressed < UINT32_MAX) ++g.suppressed;
    ++counters_.suppressed;
    g.last_seen = std::max(g.last_seen, o.time);
    return;
  }
  if (g.active && g.suppressed > 0) {
    StateOutput s{StateOutput::Kind::kSuppressed,
                  g.rule,
                  g.group,
                  static_cast<double>(g.suppressed),
                  g.suppressed,
                  g.first_seen,
                  g.last_seen,
                  {}};
    out.push_back(std::move(s));
  }
  g.active = true;
  g.first_seen = g.last_seen = o.time;
  g.suppressed = 0;
  StateOutput alert{
      StateOutput::Kind::kAlert, g.rule, std::move(o.group), 1, 1, o.time, o.time, {}};
  alert.samples.push_back(std::move(o.sample));
  out.push_back(std::move(alert));
}

void CorrelationState::fire(const Group& g, StateOutput&& output, std::vector<StateOutput>& out,
                            std::vector<Observation>& chained) {
  ++counters_.fired;
  const RuleInfo& info = rules_->rule(g.rule);
  for (const auto& [k, input] : info.feeds) {
    Observation next;
    next.rule = rules_->correlations()[k].rule_index;
    next.input = input;
    // An absence fires after its group's last event; what it feeds happens now.
    next.time = std::max(output.last_seen, watermark());
    next.group = output.group;
    // The chained correlation's sample is the figure of the firing that fed it.
    std::string figure;
    appendJsonNumber(figure, output.value);
    const std::string_view value(figure);
    const std::string_view* values[] = {&value};
    encodeSample(next.sample, input, output.last_seen, values);
    chained.push_back(std::move(next));
  }
  if (info.alerts) out.push_back(std::move(output));
}

void CorrelationState::observeCorrelation(Group& g, Observation& o, std::vector<StateOutput>& out,
                                          std::vector<Observation>& chained) {
  const RuleInfo& info = rules_->rule(g.rule);
  const Correlation& c = rules_->correlations()[info.correlation];
  if (c.type == CorrelationType::kAbsence) {
    // An in-order event that ends a silence of a timespan or more reports
    // it, even when the watermark (held back by the late allowance) had not
    // reached the end of the silence yet.
    if (g.last_seen != 0 && o.time == clock_ && o.time - g.last_seen >= c.timespan_nanos) {
      StateOutput silent{StateOutput::Kind::kCorrelation,
                         g.rule,
                         g.group,
                         0,
                         0,
                         g.last_seen,
                         g.last_seen,
                         samplesOf(g)};
      fire(g, std::move(silent), out, chained);
    }
    g.last_seen = std::max(g.last_seen, o.time);
    addSample(g, std::move(o.sample));
    return;
  }
  // Keeps distinct_values_ (memoryBytes()) in step with g.distinct on every way out.
  struct DistinctTally {
    size_t& total;
    const Group& g;
    size_t before = g.distinct ? g.distinct->distinct : 0;
    ~DistinctTally() { total = total + (g.distinct ? g.distinct->distinct : 0) - before; }
  } tally{distinct_values_, g};
  const bool numeric = c.type == CorrelationType::kValueSum ||
                       c.type == CorrelationType::kValueAvg ||
                       c.type == CorrelationType::kValuePercentile;
  uint32_t id = static_cast<uint32_t>(o.event_id ^ (o.event_id >> 32));
  if (id == 0 && o.event_id != 0) id = 1;
  Entry entry{o.time, numeric ? std::bit_cast<uint64_t>(o.value) : o.value_hash, id, o.input};
  auto byTime = [](int64_t t, const Entry& e) { return t < e.time; };
  // Events mostly arrive in time order: then the new entry goes last, and
  // only the last entry's cache line is read, not a binary search's.
  auto pos = g.entries.empty() || g.entries.back().time <= o.time
                 ? g.entries.end()
                 : std::upper_bound(g.entries.begin(), g.entries.end(), o.time, byTime);
  if (id != 0) {
    // An event read again after a restart has the same time and identity.
    for (auto same = pos; same != g.entries.begin() && (same - 1)->time == o.time; --same) {
      if ((same - 1)->id == id && (same - 1)->input == o.input) {
        ++counters_.duplicates;
        return;
      }
    }
  }
  const bool in_order = pos == g.entries.end();
  g.entries.insert(pos, entry);
  ++entries_;
  if (g.input_latest && o.input < c.inputs.size()) {
    int64_t& latest = g.input_latest[1 + o.input];
    latest = std::max(latest, o.time);
  }
  if (g.distinct) {
    if (in_order) {
      g.distinct->add(entry.value);
    } else {
      g.distinct.reset();
    }
  }
  g.last_seen = std::max(g.last_seen, o.time);
  addSample(g, std::move(o.sample));

  // Events at or before watermark - timespan are outside every window a
  // future (non-late) event can end; so are events over the per-group cap.
  const int64_t horizon = watermark() - c.timespan_nanos;
  size_t drop = 0;
  while (drop < g.entries.size() && g.entries[drop].time <= horizon) ++drop;
  if (g.entries.size() - drop > limits_.max_events_per_group) {
    const size_t over = g.entries.size() - drop - limits_.max_events_per_group;
    counters_.overflow += over;
    drop += over;
  }
  if (drop > 0) {
    g.entries.erase(g.entries.begin(), g.entries.begin() + static_cast<ptrdiff_t>(drop));
    entries_ -= drop;
    g.compacted = static_cast<uint16_t>(g.compacted - std::min<size_t>(g.compacted, drop));
    if (g.distinct) {
      if (drop <= g.distinct->begin) {
        g.distinct->begin -= drop;
      } else {
        g.distinct.reset();
      }
    }
  }
  compact(g, c);

  // Judge every window that contains the new event: those ending at an
  // event time x with o.time <= x < o.time + timespan.
  // An in-order event's entry is the last (or among the last at its time):
  // found from the end, so that a group's entries are read near their ends,
  // not along a binary search through all of them.
  const auto& entries = g.entries;
  auto it = entries.end();
  if (in_order) {
    while (it != entries.begin() && (it - 1)->time >= o.time) --it;
  } else {
    it = std::lower_bound(entries.begin(), entries.end(), o.time,
                          [](const Entry& e, int64_t t) { return e.time < t; });
  }
  while (it != entries.end() && it->time < o.time + c.timespan_nanos) {
    const int64_t end_time = it->time;
    const int64_t start = end_time - c.timespan_nanos;
    const auto hi = std::upper_bound(it, entries.end(), end_time, byTime);
    // value_count keeps the latest window counted from its first entry on;
    // windows only move forward, so the new one starts at or after it.
    auto lo = entries.begin();
    const size_t counted = g.distinct ? g.distinct->begin : 0;
    if (g.distinct && in_order && hi == entries.end() && counted <= entries.size() &&
        (counted == 0 || entries[counted - 1].time <= start)) {
      lo += static_cast<ptrdiff_t>(counted);
      while (lo != hi && lo->time <= start) ++lo;
    } else {
      lo = std::upper_bound(entries.begin(), hi, start, byTime);
    }
    double value = 0;
    switch (c.type) {
      case CorrelationType::kEventCount:
        value = static_cast<double>(hi - lo);
        break;
      case CorrelationType::kValueCount: {
        if (in_order && hi == entries.end()) {
          // The latest event's window: kept counted from one event to the next.
          const auto first = static_cast<size_t>(lo - entries.begin());
          if (!g.distinct || g.distinct->begin > first) {
            g.distinct = std::make_unique<DistinctCounts>();
            g.distinct->begin = first;
            for (auto e = lo; e != hi; ++e) g.distinct->add(e->value);
          }
          for (; g.distinct->begin < first; ++g.distinct->begin) {
            g.distinct->remove(entries[g.distinct->begin].value);
          }
          value = static_cast<double>(g.distinct->distinct);
          break;
        }
        scratch_.clear();
        for (auto e = lo; e != hi; ++e) scratch_.push_back(e->value);
        std::sort(scratch_.begin(), scratch_.end());
        value =
            static_cast<double>(std::unique(scratch_.begin(), scratch_.end()) - scratch_.begin());
        break;
      }
      case CorrelationType::kTemporal: {
        // Only inputs with an entry after the window's start can be in it;
        // the entries are read from the window's end until all of those
        // are found, so a busy input does not make every judgement read
        // the whole window. An input beyond the rule's list comes from an
        // older version of the rule (setRules(), load()): that rule is no
        // longer one of its inputs.
        const int64_t* latest = inputLatest(g, c);
        uint64_t possible = 0;
        for (size_t k = 0; k < c.inputs.size(); ++k) {
          if (latest[k] > start) possible |= uint64_t{1} << k;
        }
        uint64_t seen = 0;
        for (auto e = hi; e != lo && seen != possible;) {
          --e;
          if (e->input < c.inputs.size()) seen |= uint64_t{1} << e->input;
        }
        value = std::popcount(seen);
        break;
      }
      case CorrelationType::kTemporalOrdered: {
        // Inputs matched in order so far; the walk stops at an input with
        // no entry after the window's start (none of the rest can follow).
        const int64_t* latest = inputLatest(g, c);
        uint32_t next = 0;
        for (auto e = lo; e != hi && next < c.inputs.size() && latest[next] > start; ++e) {
          if (e->input == next) ++next;
        }
        value = next;
        break;
      }
      case CorrelationType::kValueSum:
      case CorrelationType::kValueAvg: {
        double sum = 0;
        for (auto e = lo; e != hi; ++e) sum += asDouble(e->value);
        value = c.type == CorrelationType::kValueSum ? sum : sum / static_cast<double>(hi - lo);
        break;
      }
      case CorrelationType::kValuePercentile: {
        // Nearest rank: the smallest value with at least p% of the values at or below it.
        scratch_values_.clear();
        for (auto e = lo; e != hi; ++e) scratch_values_.push_back(asDouble(e->value));
        const size_t n = scratch_values_.size();
        size_t rank = static_cast<size_t>(std::ceil(c.percentile / 100.0 * static_cast<double>(n)));
        rank = std::clamp<size_t>(rank, 1, n);
        std::nth_element(scratch_values_.begin(), scratch_values_.begin() + (rank - 1),
                         scratch_values_.end());
        value = scratch_values_[rank - 1];
        break;
      }
      case CorrelationType::kAbsence:
        break;
    }
    if (c.condition.test(value)) {
      StateOutput fired{.kind = StateOutput::Kind::kCorrelation,
                        .rule = g.rule,
                        .group = g.group,
                        .value = value,
                        .events = static_cast<uint64_t>(hi - lo),
                        .first_seen = lo->time,
                        .last_seen = (hi - 1)->time,
                        .samples = samplesOf(g)};
      // The group starts over after the window that fired.
      const size_t consumed = static_cast<size_t>(hi - entries.begin());
      g.entries.erase(g.entries.begin(), g.entries.begin() + static_cast<ptrdiff_t>(consumed));
      entries_ -= consumed;
      g.compacted = 0;  // the window ends at or after the watermark
      g.distinct.reset();
      sample_bytes_ -= g.samples_size;
      g.setSamples({});
      g.sample_count = 0;
      fire(g, std::move(fired), out, chained);
      return;
    }
    it = hi;
  }
}

void CorrelationState::compact(Group& g, const Correlation& c) {
  const bool by_value = c.type == CorrelationType::kValueCount;
  const bool by_input = c.type == CorrelationType::kTemporal;
  const bool ordered = c.type == CorrelationType::kTemporalOrdered;
  if (!by_value && !by_input && !ordered) return;
  // Entries before the watermark are fixed: a later event that is not late
  // is inserted after them. Every window still to be judged ends at or
  // after the watermark, so of these entries it only ever asks:
  // - value_count: does a value occur after the window's start? The latest
  //   occurrence of each value answers that.
  // - temporal: does an input occur after the window's start? Likewise the
  //   latest occurrence of each input.
  // - temporal_ordered: an entry of input k > 0 with no entry of input k - 1
  //   before it can never continue a sequence, in any window.
  // Nothing to do until the entries before the watermark are twice those
  // kept last time (and those are at most all the entries).
  if (g.entries.size() < 2 * size_t{g.compacted} + 16) return;
  const int64_t mark = watermark();
  const auto fixed_end = std::lower_bound(g.entries.begin(), g.entries.end(), mark,
                                          [](const Entry& e, int64_t t) { return e.time < t; });
  const size_t fixed = static_cast<size_t>(fixed_end - g.entries.begin());
  if (fixed < 2 * size_t{g.compacted} + 16) return;
  std::vector<bool>& keep = scratch_keep_;
  keep.assign(fixed, false);
  if (ordered) {
    uint64_t seen = 0;  // inputs with an entry so far
    for (size_t i = 0; i < fixed; ++i) {
      const uint32_t input = g.entries[i].input;
      keep[i] = input == 0 || (input < 64 && (seen & (uint64_t{1} << (input - 1))) != 0);
      if (input < 64) seen |= uint64_t{1} << input;
    }
  } else {
    scratch_seen_.clear();
    for (size_t i = fixed; i-- > 0;) {
      const Entry& e = g.entries[i];
      keep[i] = scratch_seen_.insert(by_value ? e.value : e.input).second;
    }
  }
  size_t out = 0;
  for (size_t i = 0; i < fixed; ++i) {
    if (keep[i]) g.entries[out++] = g.entries[i];
  }
  const size_t removed = fixed - out;
  g.compacted = static_cast<uint16_t>(std::min<size_t>(out, UINT16_MAX));
  if (removed == 0) return;
  g.entries.erase(g.entries.begin() + static_cast<ptrdiff_t>(out), fixed_end);
  entries_ -= removed;
  g.distinct.reset();  // its indices moved; the next in-order event recounts
  if (g.entries.capacity() > 2 * g.entries.size() + 64) g.entries.shrink_to_fit();
}

void CorrelationState::closeSuppressionWindows(std::vector<StateOutput>& out) {
  for (uint32_t rule = 0; rule < lists_.size(); ++rule) {
    if (!rules_->rule(rule).suppress) continue;
    while (Group* g = lists_[rule].tail) {
      if (g->active && g->suppressed > 0) {
        out.push_back(StateOutput{StateOutput::Kind::kSuppressed,
                                  rule,
                                  g->group,
                                  static_cast<double>(g->suppressed),
                                  g->suppressed,
                                  g->first_seen,
                                  g->last_seen,
                                  {}});
      }
      erase(*g);
    }
  }
}

void CorrelationState::advance(int64_t time, std::vector<StateOutput>& out) {
  clock_ = std::max(clock_, time);
  const int64_t mark = watermark();
  std::vector<Observation> chained;
  for (uint32_t rule = 0; rule < lists_.size(); ++rule) {
    const RuleInfo& info = rules_->rule(rule);
    int64_t span = 0;
    bool absence = false;
    if (info.correlation >= 0) {
      const Correlation& c = rules_->correlations()[info.correlation];
      span = c.timespan_nanos;
      absence = c.type == CorrelationType::kAbsence;
    } else if (info.suppress) {
      span = info.suppress->timespan_nanos;
    } else {
      continue;
    }
    // Touch times grow from tail to head, and every event of a group is at
    // or before its touch time: the first group not yet due ends the sweep.
    // An absence is due by its last event time instead, which an out-of-order
    // event can put up to the late allowance before its touch time; so that
    // sweep reaches that much further and passes over groups not yet due.
    const int64_t reach = absence ? limits_.late_allowance_nanos : 0;
    for (Group* g = lists_[rule].tail; g != nullptr;) {
      Group* const newer = g->prev;
      if (g->touched - reach > mark - span) break;
      if (absence && g->last_seen > mark - span) {
        g = newer;
        continue;
      }
      if (absence) {
        StateOutput silent{StateOutput::Kind::kCorrelation,
                           rule,
                           g->group,
                           0,
                           0,
                           g->last_seen,
                           g->last_seen,
                           samplesOf(*g)};
        fire(*g, std::move(silent), out, chained);
      } else if (info.suppress && g->active && g->suppressed > 0) {
        out.push_back(StateOutput{StateOutput::Kind::kSuppressed,
                                  rule,
                                  g->group,
                                  static_cast<double>(g->suppressed),
                                  g->suppressed,
                                  g->first_seen,
                                  g->last_seen,
                                  {}});
      }
      erase(*g);
      g = newer;
    }
  }
  for (auto& o : chained) observe(std::move(o), out);
}

void CorrelationState::setRules(std::shared_ptr<const RuleSet> rules) {
  // Groups move to a new map (and rule indices change): a snapshot's walk
  // would lose its place, so it is finished first. Reloads are rare.
  finishSnapshot();
  std::unordered_map<std::string, uint32_t> new_index;
  for (uint32_t i = 0; i < rules->size(); ++i) {
    const RuleInfo& info = rules->rule(i);
    if (info.correlation >= 0 || info.suppress) new_index.emplace(stateKey(*rules, i), i);
  }
  std::vector<Slot> old = std::move(slots_);
  slots_.clear();
  groups_ = 0;
  key_bytes_ = 0;
  for (Slot& slot : old) {
    if (!slot.group) continue;
    Group& g = *slot.group;
    auto it = new_index.find(stateKey(*rules_, g.rule));
    if (g.distinct) distinct_values_ -= g.distinct->distinct;
    dropInputLatest(g);  // built again from the entries, for the rule's inputs now
    const uint64_t hash = it == new_index.end() ? 0 : keyHash(it->second, g.group);
    // Gone with its rule (or a second group of the same key, should two old
    // rules have shared one).
    if (it == new_index.end() || find(hash, it->second, g.group) != nullptr) {
      entries_ -= g.entries.size();
      sample_bytes_ -= g.samples_size;
      continue;
    }
    // The rule may count another field now: counts are rebuilt from the entries.
    g.distinct.reset();
    g.rule = it->second;
    g.prev = g.next = nullptr;
    insert(std::move(slot.group), hash);
  }
  rules_ = std::move(rules);
  rebuildLists();
}

void CorrelationState::rebuildLists() {
  lists_.assign(rules_->size(), List{});
  std::vector<Group*> order;
  order.reserve(groups_);
  for (Slot& slot : slots_) {
    if (!slot.group) continue;
    slot.group->prev = slot.group->next = nullptr;
    order.push_back(slot.group.get());
  }
  std::sort(order.begin(), order.end(),
            [](const Group* a, const Group* b) { return a->touched < b->touched; });
  const int64_t saved = clock_;
  for (Group* g : order) {
    clock_ = g->touched;
    touch(*g);
  }
  clock_ = saved;
}

void CorrelationState::saveGroup(std::string& out, const Group& g, std::string_view stable) const {
  putStr(out, stable);
  putStr(out, g.group);
  putU64(out, static_cast<uint64_t>(g.touched));
  putU64(out, static_cast<uint64_t>(g.first_seen));
  putU64(out, static_cast<uint64_t>(g.last_seen));
  putU64(out, g.suppressed);
  putU64(out, g.active ? 1 : 0);
  putU64(out, g.entries.size());
  // Each entry: its time as the distance from the entry before (the first
  // from 0; modulo 2^64, so any times read back exactly; sorted, the
  // distances are small), its input with a bit that says whether a value
  // follows (event_count and temporal entries have none), the value, and
  // the event's identity. About 8 bytes an entry, or 16 with a value,
  // where version 2 took 32: the file is written whole at each checkpoint.
  uint64_t previous = 0;
  for (const Entry& e : g.entries) {
    putVarint(out, static_cast<uint64_t>(e.time) - previous);
    previous = static_cast<uint64_t>(e.time);
    putVarint(out, uint64_t{e.input} << 1 | (e.value != 0 ? 1 : 0));
    if (e.value != 0) putU64(out, e.value);
    putU32(out, e.id);
  }
  putStr(out, g.sampleBytes());
}

std::vector<std::string> CorrelationState::stableKeys() const {
  std::vector<std::string> keys(rules_->size());
  for (uint32_t i = 0; i < rules_->size(); ++i) keys[i] = stateKey(*rules_, i);
  return keys;
}

void CorrelationState::save(std::string& out) const {
  const std::vector<std::string> stable = stableKeys();
  out.append(kMagic);
  putU64(out, static_cast<uint64_t>(clock_));
  putU64(out, groups_);
  for (const Slot& slot : slots_) {
    if (slot.group) saveGroup(out, *slot.group, stable[slot.group->rule]);
  }
}

size_t CorrelationState::savedBytesEstimate() const {
  // Per group: 8 length or number fields, its rule's key (at most the
  // longest) and its group key (short ones live in the string, uncounted
  // by key_bytes_); per event at most 32 bytes (saveGroup() takes 6 to 27).
  size_t longest = 0;
  for (uint32_t i = 0; i < rules_->size(); ++i)
    longest = std::max(longest, stateKey(*rules_, i).size());
  return kMagic.size() + 16 + groups_ * (8 * 8 + longest + 16) + key_bytes_ +
         entries_ * 4 * sizeof(uint64_t) + sample_bytes_;
}

void CorrelationState::beginSnapshot(std::string& out) {
  finishSnapshot();
  out.append(kMagic);
  putU64(out, static_cast<uint64_t>(clock_));
  putU64(out, groups_);
  if (groups_ == 0) return;
  snapshot_stable_ = stableKeys();
  snapshot_parity_ = !snapshot_parity_;  // every group is now still to be written
  snapshot_left_ = groups_;
  snapshot_rule_ = 0;
  snapshot_next_ = lists_.empty() ? nullptr : lists_[0].head;
  snapshot_out_ = &out;
}

void CorrelationState::preserve(Group& g) {
  if (snapshot_out_ == nullptr || g.snapshot_parity == snapshot_parity_) return;
  saveGroup(*snapshot_out_, g, snapshot_stable_[g.rule]);
  g.snapshot_parity = snapshot_parity_;
  if (--snapshot_left_ == 0) {
    snapshot_out_ = nullptr;
    snapshot_next_ = nullptr;
  }
}

bool CorrelationState::continueSnapshot(size_t budget_bytes) {
  if (snapshot_out_ == nullptr) return true;
  const size_t start = snapshot_out_->size();
  // Groups passed over (written already by preserve()) count for a little.
  constexpr size_t kVisitBytes = 64;
  size_t visited = 0;
  while (snapshot_out_ != nullptr) {
    while (snapshot_next_ == nullptr) {
      // Every group of the snapshot is in a list until it is written: a
      // walk that ends with groups left means a change that bypassed
      // preserve(), and the saved state would be wrong.
      if (++snapshot_rule_ >= lists_.size()) {
        std::fputs("trailwatch: correlation state snapshot lost track of groups\n", stderr);
        std::abort();
      }
      snapshot_next_ = lists_[snapshot_rule_].head;
    }
    Group& g = *snapshot_next_;
    snapshot_next_ = g.next;
    preserve(g);  // ends the snapshot with the last group
    if (snapshot_out_ != nullptr &&
        snapshot_out_->size() - start + ++visited * kVisitBytes >= budget_bytes) {
      return false;
    }
  }
  return true;
}

void CorrelationState::finishSnapshot() {
  while (!continueSnapshot(SIZE_MAX)) {
  }
}

Status CorrelationState::load(std::string_view data, uint64_t shard, uint64_t shards) {
  finishSnapshot();
  const bool v2 = data.starts_with(kMagicV2);
  if (!v2 && !data.starts_with(kMagic)) return Error{"not a trailwatch correlation state file"};
  Reader in{data.substr(kMagic.size())};  // both magics are as long
  const int64_t clock = static_cast<int64_t>(in.u64());
  const uint64_t count = in.u64();
  std::unordered_map<std::string, uint32_t> index;
  for (uint32_t i = 0; i < rules_->size(); ++i) {
    const RuleInfo& info = rules_->rule(i);
    if (info.correlation >= 0 || info.suppress) index.emplace(stateKey(*rules_, i), i);
  }
  for (uint64_t n = 0; n < count && in.ok; ++n) {
    const std::string_view stable = in.str();
    const std::string_view group = in.str();
    Group g;
    g.touched = static_cast<int64_t>(in.u64());
    g.first_seen = static_cast<int64_t>(in.u64());
    g.last_seen = static_cast<int64_t>(in.u64());
    g.suppressed = static_cast<uint32_t>(std::min<uint64_t>(in.u64(), UINT32_MAX));
    g.active = in.u64() != 0;
    const uint64_t entries = in.u64();
    if (!in.ok || entries > in.data.size() / (v2 ? kEntryBytesV2 : kMinEntryBytes)) {
      in.ok = false;
      break;
    }
    g.entries.reserve(entries);
    uint64_t previous = 0;
    for (uint64_t e = 0; e < entries && in.ok; ++e) {
      Entry entry;
      if (v2) {
        entry.time = static_cast<int64_t>(in.u64());
        entry.value = in.u64();
        entry.id = static_cast<uint32_t>(in.u64());
        entry.input = static_cast<uint32_t>(in.u64());
      } else {
        previous += in.varint();
        entry.time = static_cast<int64_t>(previous);
        const uint64_t input = in.varint();
        entry.input = static_cast<uint32_t>(input >> 1);
        entry.value = (input & 1) != 0 ? in.u64() : 0;
        entry.id = in.fixed<uint32_t>();
      }
      g.entries.push_back(entry);
    }
    const std::string_view samples = in.str();
    g.setSamples(samples);
    for (size_t at = 0; at + 2 <= samples.size(); at += 2 + sampleLength(samples, at)) {
      ++g.sample_count;
    }
    if (!in.ok) break;
    auto it = index.find(std::string(stable));
    if (it == index.end() || groupHash(group) % shards != shard) continue;
    g.rule = it->second;
    g.group = group;
    const uint64_t hash = keyHash(g.rule, group);
    g.snapshot_parity = snapshot_parity_;
    if (Group* old = find(hash, g.rule, group)) erase(*old);
    entries_ += g.entries.size();
    sample_bytes_ += g.samples_size;
    insert(std::make_unique<Group>(std::move(g)), hash);
  }
  if (!in.ok) return Error{"correlation state file is truncated or corrupt"};
  clock_ = std::max(clock_, clock);
  rebuildLists();
  return {};
}

}  // namespace trailwatch::engine
