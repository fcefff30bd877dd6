// Spool: a bounded, append-only, on-disk queue of alerts for one network
// sink. Alerts go in at the back (append), a delivery thread reads them from
// the front in order (peek), and acknowledges them once the receiver has
// them (ack). After a crash or restart, reading resumes at the first record
// not acknowledged.
//
// On disk, under its own folder:
//   <first seq, 20 digits>.seg  segment files of records, each
//                               [magic u32][length u32][crc32 u32][0 u32]
//                               [seq u64][appended unix ms i64][payload]
//                               (little-endian; the CRC covers seq, time and
//                               payload)
//   acked                       the highest sequence number acknowledged,
//                               replaced atomically
// A record that does not check (a tail torn by a crash, or damage) ends its
// segment: the file is cut there and the loss counted (`torn`). A segment is
// deleted once every record in it is acknowledged or dropped.
//
// The bound is `max_bytes` of records not yet acknowledged (headers
// included); the disk may hold up to one more segment of acknowledged
// records. When an append does not fit, `on_full` decides:
//   kBlock       the record is refused (append says kRefused); the caller
//                must not let a checkpoint pass it (SpooledSink fails its
//                flushes from then on)
//   kDropOldest  the oldest records are dropped to make room (counted)
//   kDropNewest  the new record is dropped (counted)
//
// Durability: append() writes the record with one write(2) (it survives the
// process being killed); sync() fdatasync()s it (it survives a power cut).
//
// Thread-safety: every method may be called from any thread; the state is
// guarded by mu_. sync() holds the lock through the fdatasync.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/result.h"

namespace trailwatch::alert {

enum class SpoolFullPolicy { kBlock, kDropOldest, kDropNewest };

struct SpoolOptions {
  std::string dir;                    // created if missing
  uint64_t max_bytes = 256ull << 20;  // records not yet acknowledged, headers included
  SpoolFullPolicy on_full = SpoolFullPolicy::kBlock;
  uint64_t segment_bytes = 0;  // 0: max_bytes / 16, within [64 KiB, 16 MiB]
};

struct SpoolRecord {
  uint64_t seq = 0;
  int64_t appended_ms = 0;  // Unix ms when it was appended
  std::string payload;
};

// Counters are cumulative since open().
struct SpoolStats {
  uint64_t records = 0;   // waiting (not acknowledged)
  uint64_t bytes = 0;     // their size on disk, headers included
  int64_t oldest_ms = 0;  // append time of the oldest waiting record; 0 when empty
  uint64_t capacity_bytes = 0;
  uint64_t full = 0;            // appends that found the spool full
  uint64_t dropped_oldest = 0;  // records dropped to make room (kDropOldest)
  uint64_t dropped_newest = 0;  // records not spooled (kDropNewest, or larger than the spool)
  uint64_t refused = 0;         // records refused (kBlock)
  uint64_t torn = 0;            // damaged tails cut off at open
};

class Spool {
 public:
  // kDroppedOldest: spooled, after dropping older records to make room.
  enum class Appended { kSpooled, kDroppedOldest, kDroppedNewest, kRefused };

  static Result<std::unique_ptr<Spool>> open(const SpoolOptions& options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends one record (written, not synced). An error means an I/O
  // failure; the record is then not in the spool.
  Result<Appended> append(std::string_view payload, int64_t now_ms);
  // Makes every record appended so far, and the acknowledged position,
  // durable.
  Status sync();
  // Up to `max_records` of the oldest waiting records (at least one when
  // any waits, whatever its size, else at most `max_bytes` of payload).
  Result<std::vector<SpoolRecord>> peek(size_t max_records, size_t max_bytes) const;
  // Acknowledges every record with seq <= `through` (records already
  // dropped are skipped) and persists the position.
  Status ack(uint64_t through);

  SpoolStats stats() const;
  const std::string& dir() const { return options_.dir; }

 private:
  struct Entry {
    uint64_t seq;
    uint64_t segment;  // first seq of its segment (the segment's key)
    uint64_t offset;   // of the record header within the segment
    uint32_t size;     // payload bytes
    int64_t appended_ms;
  };
  struct Segment {
    uint64_t bytes = 0;  // file size
    uint64_t live = 0;   // records not acknowledged or dropped
  };

  explicit Spool(SpoolOptions options);
  Status recover();                                    // at open
  Status scanSegment(uint64_t first, uint64_t acked);  // at open
  std::string segmentPath(uint64_t first) const;
  Status roll();              // requires mu_: start a new active segment
  void popFront();            // requires mu_
  void removeDeadSegments();  // requires mu_
  Status persistAck();        // requires mu_

  const SpoolOptions options_;
  mutable std::mutex mu_;
  std::deque<Entry> entries_;             // guarded by mu_; waiting records, oldest first
  std::map<uint64_t, Segment> segments_;  // guarded by mu_; by first seq
  uint64_t next_seq_ = 1;                 // guarded by mu_
  uint64_t acked_ = 0;                    // guarded by mu_; highest seq acknowledged or dropped
  uint64_t persisted_ack_ = 0;            // guarded by mu_; acked_ as last written to `acked`
  uint64_t bytes_ = 0;                    // guarded by mu_; waiting bytes, headers included
  int active_fd_ = -1;                    // guarded by mu_; the last segment, open for append
  uint64_t active_ = 0;                   // guarded by mu_; its key (0: none)
  bool synced_ = true;                    // guarded by mu_; nothing appended since the last sync
  SpoolStats counters_;                   // guarded by mu_; the cumulative counters
};

}  // namespace trailwatch::alert
