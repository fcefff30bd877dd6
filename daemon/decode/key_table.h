// KeyTable: the JSON decoder's map from an object key to the trie node of
// the wanted paths that continue through it, looked up once per key of
// every record.
//
// Open addressing over the key's length and first eight bytes: most keys
// are told apart there, so a lookup reads one or two slots and hashes no
// more than one word, where std::unordered_map hashed every byte of every
// key. The rest of a key is compared only on a match of length and head:
// up to 16 bytes by one load of its last word, without a memcmp call whose
// size dispatch mispredicts on keys of varying lengths.
//
// Thread-safety: none needed; a decoder and its tables belong to one
// pipeline thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace trailwatch::decode {

class KeyTable {
 public:
  // The value stored for `key`, or 0 when there is none.
  uint32_t find(std::string_view key) const {
    if (slots_.empty()) return 0;
    const uint64_t h = head(key);
    for (size_t i = slotOf(h, key.size());; i = (i + 1) & (slots_.size() - 1)) {
      const uint32_t s = slots_[i];
      if (s == 0) return 0;
      const Entry& e = entries_[s - 1];
      if (e.head == h && e.key.size() == key.size() && restEqual(e.key, key)) return e.value;
    }
  }

  // Stores `value` (not 0) for `key`, which must not be in the table yet.
  void insert(std::string_view key, uint32_t value) {
    entries_.push_back({head(key), value, std::string(key)});
    if (entries_.size() * 2 > slots_.size()) {
      rehash(slots_.empty() ? 8 : slots_.size() * 2);
    } else {
      place(entries_.size() - 1);
    }
  }

  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    uint64_t head;
    uint32_t value;
    std::string key;
  };

  // The key's first eight bytes (fewer: zero-filled), read as a word. Built
  // from fixed-size loads in registers: a variable-length memcpy into a
  // stack word stalls the word's load behind the byte stores (no store
  // forwarding), which cost more than the rest of the lookup.
  static uint64_t head(std::string_view key) {
    const auto* p = reinterpret_cast<const unsigned char*>(key.data());
    const size_t n = key.size();
    if (n >= 8) return load<uint64_t>(p);
    if (n >= 4) {
      // Two overlapping 4-byte loads; the overlap holds the same bytes.
      return uint64_t{load<uint32_t>(p)} | (uint64_t{load<uint32_t>(p + n - 4)} << (8 * (n - 4)));
    }
    if (n == 0) return 0;
    return uint64_t{p[0]} | (uint64_t{p[n / 2]} << (8 * (n / 2))) |
           (uint64_t{p[n - 1]} << (8 * (n - 1)));
  }
  // Whether the bytes after the first eight match (the heads did): up to
  // 16 bytes by the last word, which overlaps the head; longer by memcmp.
  static bool restEqual(std::string_view a, std::string_view b) {
    const size_t n = a.size();
    if (n <= 8) return true;
    if (n <= 16) {
      return load<uint64_t>(reinterpret_cast<const unsigned char*>(a.data()) + n - 8) ==
             load<uint64_t>(reinterpret_cast<const unsigned char*>(b.data()) + n - 8);
    }
    return std::memcmp(a.data() + 8, b.data() + 8, n - 8) == 0;
  }
  template <typename T>
  static T load(const unsigned char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  size_t slotOf(uint64_t h, size_t size) const {
    const uint64_t x = (h ^ (size * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL;
    return static_cast<size_t>(x >> 32) & (slots_.size() - 1);
  }
  void place(size_t entry) {
    size_t i = slotOf(entries_[entry].head, entries_[entry].key.size());
    while (slots_[i] != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = static_cast<uint32_t>(entry + 1);
  }
  void rehash(size_t size) {
    slots_.assign(size, 0);
    for (size_t e = 0; e < entries_.size(); ++e) place(e);
  }

  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;  // power of two; 0 empty, else entry index + 1
};

}  // namespace trailwatch::decode
