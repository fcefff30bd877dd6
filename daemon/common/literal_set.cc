#include "daemon/common/literal_set.h"

#include <algorithm>
#include <cstring>

namespace trailwatch {
namespace {

template <typename T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

constexpr uint64_t kBytes = 0x0101010101010101ULL;

// `word` with the bytes 'A'..'Z' lower-cased, all eight at once; any other
// byte (0x80 and up included) is left alone, as SigmaPattern folds.
uint64_t fold8(uint64_t word) {
  const uint64_t low7 = word & (0x7F * kBytes);
  const uint64_t at_least_a = low7 + (0x80 - 'A') * kBytes;  // top bit: >= 'A'
  const uint64_t past_z = low7 + (0x80 - 'Z' - 1) * kBytes;  // top bit: > 'Z'
  const uint64_t upper = (at_least_a ^ past_z) & ~word & (0x80 * kBytes);
  return word | (upper >> 2);
}

// The key words of `value` (literal_set.h), folded unless `cased`.
inline void keyOf(std::string_view value, bool cased, uint64_t& head, uint64_t& tail) {
  const char* p = value.data();
  const size_t n = value.size();
  if (n >= 8) {
    head = load<uint64_t>(p);
    tail = load<uint64_t>(p + n - 8);
  } else if (n >= 4) {
    head = load<uint32_t>(p);
    tail = load<uint32_t>(p + n - 4);
  } else if (n > 0) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    head = uint64_t{u[0]} | uint64_t{u[n / 2]} << 8 | uint64_t{u[n - 1]} << 16;
    tail = 0;
  } else {
    head = tail = 0;
  }
  if (!cased) {
    head = fold8(head);
    tail = fold8(tail);
  }
}

// The slot a key starts probing at. Up to 16 bytes the key words are the
// whole value; beyond, every further word is mixed in too (folded like the
// key), so that values differing only in the middle (`employee-00017-active`)
// spread over the table instead of piling onto one probe chain.
size_t slotOf(std::string_view value, bool cased, uint64_t head, uint64_t tail, size_t mask) {
  const size_t n = value.size();
  uint64_t h = head * 0x9E3779B97F4A7C15ULL ^ tail * 0xC2B2AE3D27D4EB4FULL ^ n;
  for (size_t at = 8; n > 16 && at < n - 8; at += 8) {
    uint64_t word = load<uint64_t>(value.data() + std::min(at, n - 16));
    if (!cased) word = fold8(word);
    h = (h ^ word) * 0x9E3779B97F4A7C15ULL;
  }
  h ^= h >> 32;
  return static_cast<size_t>(h) & mask;
}

}  // namespace

LiteralSet::LiteralSet(std::span<const std::string> literals, bool cased) : cased_(cased) {
  size_t slots = 8;
  while (slots < 2 * literals.size()) slots *= 2;  // at most half full
  slots_.assign(slots, 0);
  for (const std::string& literal : literals) {
    Entry e;
    keyOf(literal, cased, e.head, e.tail);  // folded already: folding again keeps it
    e.size = static_cast<uint32_t>(literal.size());
    if (literal.size() > 16) {
      e.text = static_cast<uint32_t>(text_.size());
      text_.append(literal);
    }
    lengths_ |= uint64_t{1} << lengthBit(literal.size());
    entries_.push_back(e);
    size_t at = slotOf(literal, cased, e.head, e.tail, slots - 1);
    while (slots_[at] != 0) at = (at + 1) & (slots - 1);
    slots_[at] = static_cast<uint32_t>(entries_.size());
  }
}

int32_t LiteralSet::find(std::string_view value) const {
  const size_t n = value.size();
  if ((lengths_ >> lengthBit(n) & 1) == 0) return -1;
  uint64_t head = 0, tail = 0;
  keyOf(value, cased_, head, tail);
  const size_t mask = slots_.size() - 1;
  for (size_t i = slotOf(value, cased_, head, tail, mask);; i = (i + 1) & mask) {
    const uint32_t s = slots_[i];
    if (s == 0) return -1;
    const Entry& e = entries_[s - 1];
    if (e.head != head || e.tail != tail || e.size != n) continue;
    // Longer than 16 bytes: the first and last eight matched; compare the
    // middle, eight at a time (the last chunk overlaps the tail).
    bool same = true;
    for (size_t at = 8; n > 16 && at < n - 8 && same; at += 8) {
      const size_t from = std::min(at, n - 16);
      uint64_t word = load<uint64_t>(value.data() + from);
      if (!cased_) word = fold8(word);
      same = word == load<uint64_t>(text_.data() + e.text + from);
    }
    if (same) return static_cast<int32_t>(s - 1);
  }
}

}  // namespace trailwatch
