// The body every single-record decoder fuzz target shares: any bytes as one
// record, copied into a buffer with exactly kRecordPadding bytes after it
// (so AddressSanitizer catches a read past the padding sources promise),
// decoded, every event of the record drained through next(), every value of
// every wanted field read. A failure must carry a reason (a metric label).
// Formats that hold records across lines (pgaudit, auditd) drive their own
// line-by-line loop instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "trailwatch/decoder.h"
#include "trailwatch/source.h"

namespace trailwatch::fuzz {

inline void decodeOneRecord(Decoder& decoder, size_t fields, const uint8_t* data, size_t size) {
  std::vector<char> buffer(size + kRecordPadding);
  if (size > 0) std::memcpy(buffer.data(), data, size);
  DecodeError error;
  const Event* event = decoder.decode(std::string_view(buffer.data(), size), error);
  if (event == nullptr && error.reason.empty()) __builtin_trap();
  volatile std::size_t sink = 0;
  while (event != nullptr) {
    sink = sink + event->raw().size();
    for (FieldId id = 0; id < fields; ++id) {
      for (const auto& v : event->values(id)) {
        for (char c : v.text) sink = sink + static_cast<unsigned char>(c);
        sink = sink + static_cast<std::size_t>(v.number != 0) + v.boolean;
      }
    }
    event = decoder.next(error);
  }
  (void)sink;
}

}  // namespace trailwatch::fuzz
