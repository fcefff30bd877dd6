// FileSource: records from a set of log files named by glob patterns, one
// newline-terminated line per record.
//
// What it promises:
//  - Follow mode (`run`) tails the files forever. Patterns are re-resolved
//    when inotify reports a change in a pattern's directory (and once a
//    second as a safety net); next() otherwise sleeps in poll(2), never
//    busy-polls. The re-resolving (glob, stat, inotify watches) runs on a
//    thread of its own: a directory can be locked for a second by a rename
//    or create waiting on the filesystem journal under heavy writeback (a
//    log rotation on a busy host), and files already open keep being read
//    meanwhile.
//  - Scan mode (follow = false) reads each matched file once, in pattern
//    order and sorted within a pattern, to its end; the last line ends at
//    end of file even without a newline; then next() returns false.
//  - No loss across rotation: after rename-and-create the old file is read
//    to its end before the new one; after copytruncate the copy's unread
//    tail [offset, size) is read before the truncated file from 0 (when no
//    copy is found this is logged and counted: SourceStats::truncations_unrecovered).
//  - At least once across restarts: commit() saves, per file, the offset
//    just past the last record handed out (CheckpointStore). A file is known
//    by (dev, ino) plus a fingerprint of its first bytes, so inode reuse
//    starts over at 0 and a file rotated while the daemon was down is
//    finished before its successor.
//  - Fair: files take turns within a batch, so one busy file cannot starve
//    the others.
//  - Odd input (binary, NUL bytes, overlong lines, files that vanish or
//    cannot be read) is logged or counted, never fatal.
//
// Limitations: a copytruncate whose copy the patterns also match is read
// twice (point patterns at the live name only); a file truncated and then
// rewritten past our offset between two looks is not seen as truncated.
//
// Record views (text and origin) follow the Source contract: text is valid
// until the next call to next(); origin is valid for the source's life.
//
// Thread-safety: see Source. wake() may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "daemon/source/checkpoint_store.h"
#include "daemon/source/line_buffer.h"
#include "trailwatch/source.h"

namespace trailwatch::source {

struct FileSourceOptions {
  std::string name;
  std::vector<std::string> patterns;  // absolute glob patterns (glob(3))
  // true: tail forever (run). false: read each file to its end, then end (scan).
  bool follow = true;
  // For files present at the first open() that have no checkpoint (follow
  // mode only); files appearing later are always read from their start.
  bool start_at_end = true;
  // Longer records are skipped and counted (SourceStats::oversized_skipped).
  std::size_t max_line_bytes = 1 << 20;
  std::string checkpoint_path;               // empty: no checkpoints
  std::size_t read_size = kDefaultReadSize;  // line_buffer.h says why
  std::size_t max_batch_records = kDefaultBatchRecords;
  // Follow mode: a batch of fewer than max_batch_records / 4 records (a
  // tail keeping up with its writer) waits this long for more before it is
  // handed on, so a busy log is taken some hundreds of records at a time,
  // not an append at a time (each batch wakes the pipeline and the state
  // shards). 0: handed on at once. wake() ends the wait.
  std::chrono::milliseconds batch_wait{0};
  // Called on the scanning thread before each re-resolution after open()
  // (follow mode); tests hold a scan with it.
  std::function<void()> before_scan;
};

class FileSource final : public Source {
 public:
  explicit FileSource(FileSourceOptions options);
  ~FileSource() override;

  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  const std::string& name() const override { return options_.name; }

  // Resolves the patterns, restores checkpoints, sets up inotify. Fails on
  // an unreadable or corrupt checkpoint file (the caller decides whether to
  // start over) or when inotify cannot be set up.
  Status open() override;
  bool next(RecordBatch& batch, std::chrono::milliseconds timeout) override;
  Status commit() override;
  std::unique_ptr<SourceMark> mark() override;
  Status commitMark(const SourceMark& mark) override;
  void wake() override;
  SourceStats stats() const override;

  // Truncations for which no copy of the old content was found, so bytes
  // written just before them may have been lost.

 private:
  struct TrackedFile;
  struct Match;

  std::string_view intern(const std::string& path);
  std::vector<Match> resolvePatterns() const;
  void applyMatches(std::vector<Match> matches, bool first);
  void watchDirectories();
  void scanLoop();
  void requestScan(std::vector<std::pair<int, bool>> forget = {});
  void takeScan();
  void drainInotify();
  void checkFiles();
  void handleTruncation(TrackedFile& f);
  bool fill(RecordBatch& batch);
  // options_.batch_wait, then what the files hold by then added to `batch`.
  void waitForMore(RecordBatch& batch);
  std::size_t pump(TrackedFile& f, RecordBatch& batch, std::size_t limit);
  FileCheckpoint checkpointOf(const TrackedFile& f) const;
  const FileCheckpoint* restoredFor(uint64_t dev, uint64_t ino) const;
  bool closable(const TrackedFile& f) const;
  std::unique_ptr<TrackedFile> openFile(const std::string& path, uint64_t start_offset);
  bool nextScan(RecordBatch& batch);
  void closeFile(TrackedFile& f);

  FileSourceOptions options_;
  std::unique_ptr<CheckpointStore> store_;
  std::unordered_set<std::string> names_;  // interned origins; node-based, so views stay valid
  std::vector<std::unique_ptr<TrackedFile>> files_;
  // Closed files whose buffers may still back the last batch's views.
  std::vector<std::unique_ptr<TrackedFile>> graveyard_;
  std::size_t turn_ = 0;  // round-robin start

  // Follow mode.
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  std::unordered_set<std::string> warned_paths_;  // open failures logged once

  // Follow mode, the scanning thread (see the top). watches_ and
  // watch_warned_ are its own once it runs; the rest is guarded by scan_mu_.
  std::thread scanner_;
  std::mutex scan_mu_;
  std::condition_variable scan_cv_;
  bool scan_wanted_ = false;
  bool scanner_stop_ = false;
  bool scanned_ready_ = false;
  std::vector<Match> scanned_;                        // the newest finished scan
  std::vector<std::pair<int, bool>> forget_watches_;  // (wd, moved): gone, per inotify
  int scan_fd_ = -1;                                  // eventfd: a scan finished
  std::unordered_map<std::string, int> watches_;      // directory -> watch descriptor
  std::unordered_set<std::string> watch_warned_;      // watch failures logged once

  // Scan mode.
  std::vector<std::string> scan_queue_;
  std::size_t scan_next_ = 0;
  bool scan_done_ = false;
  std::vector<FileCheckpoint> finished_;  // scanned files, for commit()

  // Checkpoints restored at open(), by identity.
  std::vector<FileCheckpoint> restored_;
  bool opened_ = false;

  SourceStats stats_;
};

}  // namespace trailwatch::source
