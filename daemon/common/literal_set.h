// LiteralSet: a set of distinct strings that a value is looked up in with
// one probe, ASCII case-insensitively unless cased (as Sigma compares a
// plain string value, sigma_pattern.h, and as lookup tables compare keys
// when told to).
//
// The rule index keys its gates on it (one lookup per value of a gated
// field, however many literals the rules compare it with), and a lookup
// table its rows' keys.
//
// A value whose length no literal has is turned away at once. Otherwise a
// lookup works from its first and last eight bytes (overlapping; four and
// four below 8; first, middle and last byte below 4), folded eight bytes at
// a time. Those words and the length tell literals of up to 16 bytes apart
// exactly; a longer value's other words are mixed into the hash and
// compared, folded the same way, on a match of both. Only bytes of the
// value are read.
//
// Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace trailwatch {

class LiteralSet {
 public:
  LiteralSet() = default;
  // `literals` are folded already unless `cased` (SigmaPattern::literal()),
  // and distinct.
  LiteralSet(std::span<const std::string> literals, bool cased);

  // The index in `literals` of the one `value` equals, or -1.
  int32_t find(std::string_view value) const;

  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    uint64_t head = 0, tail = 0;
    uint32_t size = 0;
    uint32_t text = 0;  // offset in text_ (longer than 16 bytes)
  };
  // Bit n set: some literal has n bytes (bit 63: 63 or more). Most values
  // looked up are of no literal's length, and this turns them away first.
  static size_t lengthBit(size_t n) { return n < 63 ? n : 63; }
  bool cased_ = false;
  uint64_t lengths_ = 0;
  std::vector<Entry> entries_;   // by literal index
  std::vector<uint32_t> slots_;  // open addressing: literal index + 1, 0 empty
  std::string text_;             // the literals longer than 16 bytes
};

}  // namespace trailwatch
