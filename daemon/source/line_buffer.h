// LineBuffer: newline framing over one input's read buffer, shared by the
// file and stream sources.
//
// Bytes are appended at the end (writePtr/commitWrite) and complete lines
// are taken from the front as views into the buffer. A line is terminated
// by '\n'; a '\r' just before it is stripped. A line longer than
// max_line_bytes is skipped whole (reported once as kSkipped) and framing
// resumes after its newline, so a buffer never needs more than
// max_line_bytes + read_size bytes.
//
// Lifetime: a view returned by nextLine()/finish() stays valid until the
// next releaseViews(). While views are out the buffer never moves its bytes
// (prepareWrite() only compacts when none are), which is what lets one
// next() call hand out many records from the same buffer. Every byte range
// handed out is followed by at least kRecordPadding readable bytes.
//
// Offsets are the input's byte offsets: consumedOffset() is just past the
// last line taken (or at the start of a line being skipped), readOffset()
// just past the last byte appended.
//
// Thread-safety: none; owned by one source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "trailwatch/source.h"

namespace trailwatch::source {

// Reads and batches of the file and stream sources. A batch of 1,024 audit
// records of a few hundred bytes each is about half a megabyte, which a
// core's L2 cache holds between framing and decoding; 4,096 records (2 MB)
// and 1 MiB reads took about 4% more time and 6% more CPU on the scan
// benchmark (bench/RESULTS.md).
inline constexpr std::size_t kDefaultReadSize = 1 << 18;
inline constexpr std::size_t kDefaultBatchRecords = 1024;

class LineBuffer {
 public:
  enum class Next {
    kLine,      // `line` and `offset` are set
    kSkipped,   // a line over the limit was dropped; count it
    kNeedMore,  // no complete line buffered
  };

  LineBuffer(std::size_t max_line_bytes, std::size_t read_size);

  // The previous batch's views are dead; the buffer may move bytes again.
  void releaseViews() { views_out_ = false; }

  // Makes room to append, compacting when no views are out. Returns false
  // when nothing can be appended now (views out and the buffer full).
  bool prepareWrite();
  char* writePtr() { return data_.get() + end_; }
  // At most read_size bytes, so one input cannot take a huge share per read.
  std::size_t writable() const;
  void commitWrite(std::size_t n) { end_ += n; }

  Next nextLine(std::string_view& line, uint64_t& offset);

  // At end of input, once nextLine() has returned kNeedMore: the
  // unterminated rest as the last line (kLine), a dropped oversized rest
  // (kSkipped), or nothing (kNeedMore). Leaves the buffer empty.
  Next finish(std::string_view& line, uint64_t& offset);

  // Drops all buffered bytes; the next byte appended is at `offset`. Safe
  // while views are out (their bytes are not overwritten until released).
  void restartAt(uint64_t offset);

  uint64_t consumedOffset() const { return skipping_ ? skip_start_offset_ : start_offset_; }
  uint64_t readOffset() const { return start_offset_ + (end_ - start_); }
  std::size_t buffered() const { return end_ - start_; }

 private:
  void allocate();
  void compact();
  std::string_view take(std::size_t begin, std::size_t len);

  std::size_t max_line_bytes_;
  std::size_t read_size_;
  std::size_t capacity_;            // data bytes, without the padding slack
  std::unique_ptr<char[]> data_;    // capacity_ + kRecordPadding; allocated on first write
  std::size_t start_ = 0;           // first unconsumed byte
  std::size_t end_ = 0;             // one past the last appended byte
  std::size_t scanned_ = 0;         // [start_, scanned_) holds no '\n'
  uint64_t start_offset_ = 0;       // input offset of data_[start_]
  bool skipping_ = false;           // inside an oversized line, dropping bytes
  uint64_t skip_start_offset_ = 0;  // where that line began
  bool views_out_ = false;
};

// Hands one outcome of LineBuffer::nextLine()/finish() to `batch`: a line
// becomes a Record from `origin` (counted in stats.records), a skipped line
// is counted in stats.oversized_skipped. Returns true when a record was added.
bool appendRecord(LineBuffer::Next outcome, std::string_view line, std::string_view origin,
                  uint64_t offset, RecordBatch& batch, SourceStats& stats);

}  // namespace trailwatch::source
