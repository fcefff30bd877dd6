#include "daemon/source/line_buffer.h"

#include <algorithm>
#include <cstring>

#include "trailwatch/source.h"

namespace trailwatch::source {

LineBuffer::LineBuffer(std::size_t max_line_bytes, std::size_t read_size)
    : max_line_bytes_(std::max<std::size_t>(max_line_bytes, 1)),
      read_size_(std::max<std::size_t>(read_size, 1)),
      // A partial line is at most max_line_bytes + 1 ('\r') bytes before it
      // is declared oversized, so this always leaves read_size free after a
      // compaction.
      capacity_(max_line_bytes_ + 2 + read_size_) {}

void LineBuffer::allocate() {
  // Default-initialized: large allocations are lazily backed by the kernel,
  // so an idle file costs address space, not memory.
  data_.reset(new char[capacity_ + kRecordPadding]);
  std::memset(data_.get() + capacity_, 0, kRecordPadding);
}

void LineBuffer::compact() {
  if (start_ == 0) return;
  std::size_t n = end_ - start_;
  if (n > 0) std::memmove(data_.get(), data_.get() + start_, n);
  scanned_ -= start_;
  start_ = 0;
  end_ = n;
}

bool LineBuffer::prepareWrite() {
  if (!data_) allocate();
  if (!views_out_ && capacity_ - end_ < read_size_) compact();
  return end_ < capacity_;
}

std::size_t LineBuffer::writable() const {
  if (!data_) return 0;
  return std::min(capacity_ - end_, read_size_);
}

std::string_view LineBuffer::take(std::size_t begin, std::size_t len) {
  views_out_ = true;
  return std::string_view(data_.get() + begin, len);
}

LineBuffer::Next LineBuffer::nextLine(std::string_view& line, uint64_t& offset) {
  for (;;) {
    if (start_ == end_) return Next::kNeedMore;
    const char* base = data_.get();
    scanned_ = std::max(scanned_, start_);
    const void* nl = std::memchr(base + scanned_, '\n', end_ - scanned_);
    if (nl == nullptr) {
      scanned_ = end_;
      if (skipping_) {
        start_offset_ += end_ - start_;
        start_ = end_;
        return Next::kNeedMore;
      }
      if (end_ - start_ > max_line_bytes_ + 1) {
        // Too long already: drop what we have and keep dropping up to the
        // newline, so the buffer never has to hold the whole line.
        skipping_ = true;
        skip_start_offset_ = start_offset_;
        start_offset_ += end_ - start_;
        start_ = end_;
        return Next::kSkipped;
      }
      return Next::kNeedMore;
    }
    std::size_t pos = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
    std::size_t begin = start_;
    uint64_t begin_offset = start_offset_;
    start_offset_ += pos + 1 - start_;
    start_ = pos + 1;
    scanned_ = start_;
    if (skipping_) {
      skipping_ = false;  // already counted when the skip began
      continue;
    }
    std::size_t len = pos - begin;
    if (len > 0 && base[pos - 1] == '\r') --len;
    if (len > max_line_bytes_) return Next::kSkipped;
    line = take(begin, len);
    offset = begin_offset;
    return Next::kLine;
  }
}

LineBuffer::Next LineBuffer::finish(std::string_view& line, uint64_t& offset) {
  Next r = nextLine(line, offset);
  if (r != Next::kNeedMore) return r;
  if (skipping_) {
    skipping_ = false;
    return Next::kNeedMore;
  }
  if (start_ == end_) return Next::kNeedMore;
  std::size_t begin = start_;
  std::size_t len = end_ - start_;
  offset = start_offset_;
  start_offset_ += len;
  start_ = end_;
  scanned_ = end_;
  if (data_[begin + len - 1] == '\r') --len;
  if (len > max_line_bytes_) return Next::kSkipped;
  line = take(begin, len);
  return Next::kLine;
}

void LineBuffer::restartAt(uint64_t offset) {
  start_ = end_;
  scanned_ = end_;
  skipping_ = false;
  start_offset_ = offset;
}

bool appendRecord(LineBuffer::Next outcome, std::string_view line, std::string_view origin,
                  uint64_t offset, RecordBatch& batch, SourceStats& stats) {
  if (outcome == LineBuffer::Next::kSkipped) {
    ++stats.oversized_skipped;
    return false;
  }
  if (outcome != LineBuffer::Next::kLine) return false;
  batch.records.push_back(Record{line, origin, offset});
  ++stats.records;
  return true;
}

}  // namespace trailwatch::source
