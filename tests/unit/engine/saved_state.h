// SavedState: what CorrelationState::save() (or a snapshot) wrote, as its
// clock and its group records by (rule key, group), so that two saves that
// list the groups in other orders compare equal. Test-only; not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <ostream>
#include <string>
#include <string_view>

namespace trailwatch::engine {

struct SavedState {
  uint64_t clock = 0;
  uint64_t groups = 0;
  std::map<std::string, std::string> records;
  bool operator==(const SavedState&) const = default;
};

inline SavedState parseSaved(std::string_view data) {
  SavedState saved;
  constexpr std::string_view kMagic = "trailwatch-correlation-state-3\n";
  if (!data.starts_with(kMagic)) {
    ADD_FAILURE() << "no magic";
    return saved;
  }
  data.remove_prefix(kMagic.size());
  bool ok = true;
  auto u64 = [&] {
    uint64_t v = 0;
    if (data.size() < 8) {
      ok = false;
      return v;
    }
    std::memcpy(&v, data.data(), 8);
    data.remove_prefix(8);
    return v;
  };
  auto varint = [&] {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && !data.empty(); shift += 7) {
      const auto byte = static_cast<unsigned char>(data.front());
      data.remove_prefix(1);
      v |= uint64_t{byte & 0x7Fu} << shift;
      if ((byte & 0x80) == 0) return v;
    }
    ok = false;
    return v;
  };
  auto bytes = [&](uint64_t n) {
    if (n > data.size()) {
      ok = false;
      n = data.size();
    }
    std::string_view s = data.substr(0, n);
    data.remove_prefix(n);
    return s;
  };
  saved.clock = u64();
  saved.groups = u64();
  for (uint64_t n = 0; n < saved.groups && ok; ++n) {
    const std::string_view start = data;
    const std::string_view stable = bytes(u64());
    const std::string_view group = bytes(u64());
    for (int field = 0; field < 5; ++field) u64();
    const uint64_t entries = u64();
    for (uint64_t e = 0; e < entries && ok; ++e) {
      varint();                             // time, from the entry before
      bytes((varint() & 1) != 0 ? 12 : 4);  // input and a value flag; value, identity
    }
    bytes(u64());
    std::string key = std::string(stable) + '\0' + std::string(group);
    const bool fresh =
        saved.records.emplace(std::move(key), start.substr(0, start.size() - data.size())).second;
    EXPECT_TRUE(fresh) << "group saved twice: " << group;
  }
  EXPECT_TRUE(ok && data.empty()) << "malformed state";
  return saved;
}

inline std::string describe(const SavedState& s) {
  std::string text =
      "clock " + std::to_string(s.clock) + ", " + std::to_string(s.groups) + " groups:";
  for (const auto& [key, record] : s.records) {
    text += " " + key.substr(key.find('\0') + 1) + "(" + std::to_string(record.size()) + ")";
  }
  return text;
}

// gtest prints a SavedState this way when an expectation fails.
inline void PrintTo(const SavedState& s, std::ostream* os) { *os << describe(s); }

}  // namespace trailwatch::engine
