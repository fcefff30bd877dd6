// StreamSource: records from a file descriptor read until end of input
// (stdin for `trailwatch scan -`, a pipe, a socket), one newline-terminated
// line per record, with the same framing, oversize handling and padding as
// FileSource. The last line ends at end of input even without a newline.
//
// A stream cannot be re-read, so there is nothing to checkpoint: commit() is
// a successful no-op. next() returns false once the input has ended and its
// last records were handed out. Record::origin is the configured label ("-"
// for stdin); Record::offset counts bytes from where reading started.
//
// Thread-safety: see Source. wake() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "daemon/source/line_buffer.h"
#include "trailwatch/source.h"

namespace trailwatch::source {

struct StreamSourceOptions {
  std::string name = "stdin";
  int fd = 0;  // read until EOF; not closed unless owns_fd
  bool owns_fd = false;
  std::string label = "-";  // Record::origin
  std::size_t max_line_bytes = 1 << 20;
  std::size_t read_size = kDefaultReadSize;  // line_buffer.h says why
  std::size_t max_batch_records = kDefaultBatchRecords;
};

class StreamSource final : public Source {
 public:
  explicit StreamSource(StreamSourceOptions options);
  ~StreamSource() override;

  StreamSource(const StreamSource&) = delete;
  StreamSource& operator=(const StreamSource&) = delete;

  const std::string& name() const override { return options_.name; }
  Status open() override;
  bool next(RecordBatch& batch, std::chrono::milliseconds timeout) override;
  Status commit() override { return Status::Ok(); }
  void wake() override;
  SourceStats stats() const override { return stats_; }

 private:
  StreamSourceOptions options_;
  LineBuffer buf_;
  int wake_fd_ = -1;
  bool input_ended_ = false;  // read() returned 0 or failed
  bool ended_ = false;        // and every record was handed out
  SourceStats stats_;
};

}  // namespace trailwatch::source
