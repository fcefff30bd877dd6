// JournaldSource: records from the systemd journal through libsystemd's
// sd_journal, one record per journal entry.
//
// What it promises:
//  - Reads the local journal (sd_journal_open with SD_JOURNAL_LOCAL_ONLY:
//    the system and user journals of this machine that the process may
//    read, as plain `journalctl` shows them), or, with `directory`, the
//    journal files in that folder (sd_journal_open_directory), e.g. what
//    systemd-journal-remote writes on a central log host. Files added to the
//    folder later, and entries appended to its files, are picked up.
//  - Matches: each "FIELD=value" is an sd_journal_add_match; values of one
//    field are OR-ed and different fields AND-ed (libsystemd groups matches
//    by field), as `journalctl FIELD=a FIELD=b OTHER=c` does.
//  - A record is the entry as one JSON object (journal_entry.h) or, with
//    kMessage, only its MESSAGE value (empty when it has none, which a
//    decoder rejects and counts as an empty record). An entry whose record
//    would be longer than max_line_bytes is skipped and counted
//    (SourceStats::oversized_skipped); non-UTF-8 bytes become U+FFFD in
//    JSON records.
//  - At least once across restarts: commit() saves the cursor of the last
//    entry handed out (atomically). open() seeks to it and, when the entry
//    is still there, continues after it. When it is gone (the journal was
//    rotated and vacuumed past it while the daemon was down) reading starts
//    at the first entry after where it was; the gap is logged and counted
//    (SourceStats::gaps), since entries between may have been lost. Without
//    a checkpoint it starts at the journal's end (start_at_end) or its
//    beginning; the end position is saved at once, so entries logged while
//    the daemon is down before its first record are not skipped.
//  - next() waits in poll(2) on the journal's inotify descriptor and an
//    eventfd that wake() writes, never busy-polls.
//
// Record views: text is valid until the next call to next(); origin
// ("journal", or the directory) for the source's life. Record::offset is
// the entry's __REALTIME_TIMESTAMP in microseconds (the journal has no byte
// offsets; `journalctl --since=@<offset/1e6>` finds the entry).
//
// Limits: entries vacuumed away while the daemon is running and behind are
// not noticed (only a checkpoint that no longer exists is); a changed set of
// matches can make the checkpointed entry look gone (it no longer matches),
// which is then counted as a gap although nothing was lost.
//
// Thread-safety: see Source; wake() may be called from any thread.
// sd-journal(3) asks that one thread use a handle for its whole life. Here
// open() creates it on the main thread, next()/commit() use it only on the
// pipeline thread started after open() returned, and the destructor frees
// it after that thread was joined: use is strictly sequenced, never
// concurrent. libsystemd's handle checks only for use across fork() (its
// origin id is per process) and, in systemd 252, keeps no thread-local
// state, so this is safe; should that change, open the handle in the first
// next() instead.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "daemon/source/journal_entry.h"
#include "trailwatch/source.h"

struct sd_journal;

namespace trailwatch::source {

enum class JournalRecordShape { kJson, kMessage };

struct JournaldSourceOptions {
  std::string name;
  std::string directory;             // empty: the local journal
  std::vector<std::string> matches;  // "FIELD=value"
  JournalRecordShape record = JournalRecordShape::kJson;
  bool start_at_end = true;  // without a checkpoint: skip what is already in the journal
  std::size_t max_line_bytes = 1 << 20;
  std::string checkpoint_path;  // empty: no checkpoints
  std::size_t max_batch_records = 1024;
  std::size_t max_batch_bytes = 4 << 20;  // a batch ends once its records pass this
};

class JournaldSource final : public Source {
 public:
  explicit JournaldSource(JournaldSourceOptions options);
  ~JournaldSource() override;

  JournaldSource(const JournaldSource&) = delete;
  JournaldSource& operator=(const JournaldSource&) = delete;

  const std::string& name() const override { return options_.name; }

  // Opens the journal, applies the matches, restores the checkpoint and
  // seeks. Fails on a journal or folder that cannot be opened, a match
  // libsystemd rejects, or an unreadable or corrupt checkpoint file.
  Status open() override;
  bool next(RecordBatch& batch, std::chrono::milliseconds timeout) override;
  Status commit() override;
  void wake() override;
  SourceStats stats() const override { return stats_; }

 private:
  Status seekStart(const std::string& checkpointed);
  void fill();
  void readEntry();
  void wait(std::chrono::milliseconds timeout);
  Status saveCursor(const std::string& cursor);

  JournaldSourceOptions options_;
  std::string origin_;
  sd_journal* journal_ = nullptr;
  int journal_fd_ = -1;  // sd_journal_get_fd; -1: poll on a timer
  int wake_fd_ = -1;
  // The journal is positioned on an entry not yet handed out (after a
  // checkpointed cursor that no longer exists).
  bool current_unread_ = false;
  std::string last_cursor_;       // of the last entry handed out or skipped
  std::string committed_cursor_;  // what the checkpoint file holds

  // The current batch: record texts back to back, then padding.
  std::string arena_;
  struct Span {
    std::size_t begin, size;
    uint64_t realtime_usec;
  };
  std::vector<Span> spans_;
  std::vector<JournalField> fields_;  // scratch for one entry, views into field_bytes_
  std::string field_bytes_;
  std::vector<std::pair<std::size_t, std::size_t>> field_spans_;

  uint64_t read_errors_ = 0;
  SourceStats stats_;
};

}  // namespace trailwatch::source
