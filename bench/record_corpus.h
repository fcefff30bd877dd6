// A benchmark corpus as the file source hands it over: newline-separated
// records in one buffer, each followed by at least kRecordPadding readable
// bytes, so decoders run on the records in place as they do in the daemon.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/source.h"

namespace trailwatch::bench {

struct RecordCorpus {
  std::string buffer;
  std::vector<std::string_view> records;  // without their newlines
  std::size_t bytes = 0;                  // of the text, newlines included
};

inline RecordCorpus splitRecords(std::string text) {
  RecordCorpus out;
  out.buffer = std::move(text);
  out.bytes = out.buffer.size();
  const std::size_t size = out.buffer.size();
  out.buffer.append(kRecordPadding, '\0');
  std::size_t pos = 0;
  while (pos < size) {
    std::size_t end = out.buffer.find('\n', pos);
    if (end == std::string::npos || end > size) end = size;
    out.records.emplace_back(out.buffer.data() + pos, end - pos);
    pos = end + 1;
  }
  return out;
}

}  // namespace trailwatch::bench
