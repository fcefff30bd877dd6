// Source: where records come from (files, later syslog, journald, streams),
// and the checkpoint that says how far they have been handled.
//
// Delivery contract (at least once): the pipeline calls next() to get a
// batch, evaluates every record in it, hands the alerts to the sinks and
// flushes them, and only then calls commit(). commit() persists the position
// just past the last batch returned, so a crash before it re-reads at most
// the batches since the previous commit and never skips one.
//
// A source may also hand out its position as a value (mark()) and persist
// it later (commitMark()), so the pipeline can go on reading while an
// earlier position is made durable behind the alerts of the records
// before it.
//
// Thread-safety: next(), commit() and mark() are called from one pipeline
// thread; commitMark() from one other thread at a time, possibly while
// next() runs; wake() from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/result.h"

namespace trailwatch {

// Every Record::text is followed in memory by at least this many readable
// bytes (the rest of the read buffer, or slack the source reserves), so a
// decoder such as simdjson may parse the record in place without copying it.
inline constexpr std::size_t kRecordPadding = 64;

struct Record {
  std::string_view text;    // the record without its line terminator
  std::string_view origin;  // where it came from: a file path (stable for the source's life)
  uint64_t offset = 0;      // byte offset of the record's first byte in its origin
  // State only: a record already evaluated elsewhere, whose alerts were
  // raised and delivered there (a NATS partition's history replayed by the
  // instance that takes the partition over). The pipeline evaluates it so
  // that correlation and suppression state is rebuilt, but every alert it
  // would raise, directly or through the correlations and suppression
  // windows it feeds, is dropped. Not counted as an event read
  // (SourceStats::replayed instead).
  bool state_only = false;
};

// Records handed out by one next() call. The views stay valid until the next
// call to next() on the same source.
struct RecordBatch {
  std::vector<Record> records;
  // When the batch's records were read (steady clock), the start of the
  // alert latency the pipeline measures (trailwatch_alert_latency_seconds).
  // A source that queues records between reading and next() may set it to
  // when the oldest of them arrived; left at the epoch, the pipeline takes
  // the time next() returned.
  std::chrono::steady_clock::time_point read_at{};
  void clear() {
    records.clear();
    read_at = {};
  }
};

// Counters a source keeps about its input; read by the pipeline thread after
// each batch to update metrics. Monotonic except where noted.
struct SourceStats {
  uint64_t bytes_read = 0;               // bytes consumed from the input, terminators included
  uint64_t records = 0;                  // records handed out
  uint64_t oversized_skipped = 0;        // records longer than the line limit, skipped
  uint64_t lag_bytes = 0;                // gauge: bytes known to be written but not yet read
  uint64_t files_open = 0;               // gauge
  uint64_t rotations = 0;                // renames or truncations followed
  uint64_t truncations_unrecovered = 0;  // truncations whose unread tail was not found
  // Restarts that could not resume exactly at the checkpoint (a journal
  // cursor whose entry was vacuumed away): records may have been lost.
  uint64_t gaps = 0;
  // Records handed out with Record::state_only (not in `records`).
  uint64_t replayed = 0;
};

// A position taken by Source::mark(); only its source reads it.
class SourceMark {
 public:
  virtual ~SourceMark() = default;
};

class Source {
 public:
  virtual ~Source() = default;

  virtual const std::string& name() const = 0;

  // Starts reading: resolves paths, restores checkpoints. Called once.
  virtual Status open() = 0;

  // Clears `batch` and fills it with the next records, waiting up to
  // `timeout` for some to arrive. Returns false once the source has ended
  // (a scan that reached the end of its files); a live source returns true
  // with an empty batch when the timeout passes.
  virtual bool next(RecordBatch& batch, std::chrono::milliseconds timeout) = 0;

  // Persists the position just past the last batch returned (see above).
  virtual Status commit() = 0;

  // The position just past the last batch returned, for commitMark(); or
  // nullptr when this source cannot persist a position taken earlier (the
  // pipeline then commit()s, waiting).
  virtual std::unique_ptr<SourceMark> mark() { return nullptr; }

  // Persists a position mark() returned. Marks are committed in the order
  // they were taken.
  virtual Status commitMark(const SourceMark& mark) {
    (void)mark;
    return Error{"this source cannot commit a marked position"};
  }

  // Makes a next() that is waiting return early (for shutdown).
  virtual void wake() = 0;

  virtual SourceStats stats() const = 0;
};

}  // namespace trailwatch
