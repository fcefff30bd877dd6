#include "daemon/source/journald_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include <spdlog/spdlog.h>

#include "daemon/common/atomic_file.h"

namespace trailwatch::source {
namespace {

constexpr std::string_view kHeader = "trailwatch-journal-cursor 1";
constexpr std::string_view kCursorPrefix = "cursor ";
constexpr std::string_view kTrailer = "end";

std::string errnoText(int err) { return std::strerror(err); }

// First few, then sampled: a journal full of oversized or unreadable
// entries must not flood the log; the counters see every one.
bool shouldLog(uint64_t n) { return n <= 10 || n % 10000 == 0; }

// A cursor is one line of printable ASCII (s=…;i=…;b=…;m=…;t=…;x=…).
bool plausibleCursor(std::string_view c) {
  return !c.empty() &&
         std::all_of(c.begin(), c.end(), [](char ch) { return ch > ' ' && ch < 127; });
}

// The saved cursor; empty when there is no checkpoint file yet.
Result<std::string> loadCursor(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::string();
    return Error{path + ": cannot open checkpoint file: " + errnoText(errno)};
  }
  std::string lines[4];
  int n = 0;
  while (n < 4 && std::getline(in, lines[n])) ++n;
  if (in.bad()) return Error{path + ": read error: " + errnoText(errno)};
  auto fail = [&](int line, const std::string& what) {
    return Error{path + ":" + std::to_string(line) + ": " + what};
  };
  if (n == 0) return fail(1, "empty checkpoint file");
  if (lines[0] != kHeader) return fail(1, "not a trailwatch journal checkpoint (bad header)");
  if (n < 2 || !std::string_view(lines[1]).starts_with(kCursorPrefix)) {
    return fail(2, "expected 'cursor <journal cursor>'");
  }
  std::string cursor = lines[1].substr(kCursorPrefix.size());
  if (!plausibleCursor(cursor)) return fail(2, "malformed journal cursor");
  if (n < 3 || lines[2] != kTrailer)
    return fail(n < 3 ? 2 : 3, "truncated checkpoint file (no end marker)");
  if (n > 3) return fail(4, "data after the end marker");
  return cursor;
}

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

std::string currentCursor(sd_journal* j) {
  char* raw = nullptr;
  if (sd_journal_get_cursor(j, &raw) < 0 || raw == nullptr) return {};
  std::unique_ptr<char, FreeDeleter> owned(raw);
  return std::string(raw);
}

}  // namespace

JournaldSource::JournaldSource(JournaldSourceOptions options) : options_(std::move(options)) {
  options_.max_batch_records = std::max<std::size_t>(options_.max_batch_records, 1);
  origin_ = options_.directory.empty() ? "journal" : options_.directory;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) spdlog::warn("source {}: eventfd failed: {}", options_.name, errnoText(errno));
}

JournaldSource::~JournaldSource() {
  if (journal_ != nullptr) sd_journal_close(journal_);  // also closes journal_fd_
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status JournaldSource::open() {
  const std::string what = options_.directory.empty()
                               ? std::string("the local journal")
                               : "the journal files in " + options_.directory;
  int r = 0;
  if (options_.directory.empty()) {
    r = sd_journal_open(&journal_, SD_JOURNAL_LOCAL_ONLY);
  } else {
    // sd_journal_open_directory succeeds on a folder it cannot read (and
    // then sees nothing), so say so now rather than stay silent forever.
    if (::access(options_.directory.c_str(), R_OK | X_OK) != 0) {
      return Error{"source " + options_.name + ": cannot read " + options_.directory + ": " +
                   errnoText(errno)};
    }
    r = sd_journal_open_directory(&journal_, options_.directory.c_str(), 0);
  }
  if (r < 0) {
    journal_ = nullptr;
    return Error{"source " + options_.name + ": cannot open " + what + ": " + errnoText(-r)};
  }
  // Asked for right away, so no change between open and the first wait is
  // missed (sd_journal_get_fd(3)).
  journal_fd_ = sd_journal_get_fd(journal_);
  if (journal_fd_ < 0) {
    spdlog::warn("source {}: no change notification for {} ({}); checking every poll interval",
                 options_.name, what, errnoText(-journal_fd_));
    journal_fd_ = -1;
  }
  // A field larger than the limit makes its entry oversized anyway; there
  // is no need to decompress more of it than that. The threshold counts the
  // field name too (at most 64 bytes), hence the margin: a value cut at the
  // threshold is still longer than the limit, so never passed on cut.
  sd_journal_set_data_threshold(journal_, options_.max_line_bytes + 128);
  for (const auto& m : options_.matches) {
    r = sd_journal_add_match(journal_, m.data(), m.size());
    if (r < 0) {
      return Error{"source " + options_.name + ": match '" + m + "' rejected: " + errnoText(-r)};
    }
  }
  std::string checkpointed;
  if (!options_.checkpoint_path.empty()) {
    auto loaded = loadCursor(options_.checkpoint_path);
    if (!loaded.ok()) return Error{loaded.error()};
    checkpointed = std::move(loaded).value();
  }
  return seekStart(checkpointed);
}

Status JournaldSource::seekStart(const std::string& checkpointed) {
  if (!checkpointed.empty()) {
    committed_cursor_ = last_cursor_ = checkpointed;
    int r = sd_journal_seek_cursor(journal_, checkpointed.c_str());
    if (r < 0) {
      return Error{"source " + options_.name + ": " + options_.checkpoint_path +
                   ": the journal rejects the saved cursor: " + errnoText(-r)};
    }
    r = sd_journal_next(journal_);
    if (r > 0 && sd_journal_test_cursor(journal_, checkpointed.c_str()) > 0) {
      spdlog::info("source {}: resuming after the checkpointed journal entry", options_.name);
      return Status::Ok();
    }
    // The entry is gone: the journal now holds r > 0 entries after where it
    // was, the first of which is current and still to be read.
    current_unread_ = r > 0;
    ++stats_.gaps;
    spdlog::warn(
        "source {}: the checkpointed journal entry is no longer in the journal (rotated and "
        "vacuumed, or no longer matching); resuming at the first entry after it: entries "
        "in between may have been lost",
        options_.name);
    return Status::Ok();
  }
  if (!options_.start_at_end) {
    sd_journal_seek_head(journal_);
    return Status::Ok();
  }
  sd_journal_seek_tail(journal_);
  // seek_tail leaves no current entry; stepping back onto the last one makes
  // the next sd_journal_next() return only what comes after it.
  if (sd_journal_previous(journal_) > 0) {
    last_cursor_ = currentCursor(journal_);
    if (!last_cursor_.empty() && !options_.checkpoint_path.empty()) {
      if (Status s = saveCursor(last_cursor_); !s.ok()) return s;
    }
  } else {
    sd_journal_seek_head(journal_);  // empty: everything that comes is new
  }
  return Status::Ok();
}

bool JournaldSource::next(RecordBatch& batch, std::chrono::milliseconds timeout) {
  batch.clear();
  arena_.clear();
  spans_.clear();
  if (journal_ == nullptr) return true;
  fill();
  if (spans_.empty()) {
    wait(timeout);
    fill();
  }
  arena_.append(kRecordPadding, '\0');
  batch.records.reserve(spans_.size());
  for (const Span& s : spans_) {
    batch.records.push_back(
        Record{std::string_view(arena_).substr(s.begin, s.size), origin_, s.realtime_usec});
  }
  return true;
}

void JournaldSource::fill() {
  while (spans_.size() < options_.max_batch_records && arena_.size() < options_.max_batch_bytes) {
    if (current_unread_) {
      current_unread_ = false;
    } else {
      const int r = sd_journal_next(journal_);
      if (r == 0) return;
      if (r < 0) {
        if (shouldLog(++read_errors_)) {
          spdlog::warn("source {}: reading the journal failed: {} ({} so far)", options_.name,
                       errnoText(-r), read_errors_);
        }
        return;
      }
    }
    readEntry();
  }
}

void JournaldSource::readEntry() {
  // The cursor moves even past an entry that is skipped: it was handled.
  last_cursor_ = currentCursor(journal_);
  uint64_t realtime = 0;
  sd_journal_get_realtime_usec(journal_, &realtime);
  const std::size_t begin = arena_.size();
  std::size_t size = 0;
  const void* data = nullptr;
  std::size_t len = 0;

  if (options_.record == JournalRecordShape::kMessage) {
    JournalField f;
    if (sd_journal_get_data(journal_, "MESSAGE", &data, &len) >= 0 &&
        splitJournalData(std::string_view(static_cast<const char*>(data), len), f)) {
      size = f.value.size();
      if (size <= options_.max_line_bytes) arena_.append(f.value);
    }
  } else {
    // Field data stays valid only until the next libsystemd call on the
    // journal, so each field is copied out before the next is read.
    field_bytes_.clear();
    field_spans_.clear();
    std::size_t total = 0;
    for (sd_journal_restart_data(journal_);
         sd_journal_enumerate_available_data(journal_, &data, &len) > 0;) {
      total += len;
      if (total > options_.max_line_bytes) break;
      field_spans_.emplace_back(field_bytes_.size(), len);
      field_bytes_.append(static_cast<const char*>(data), len);
    }
    if (total <= options_.max_line_bytes) {
      fields_.clear();
      for (const auto& [off, n] : field_spans_) {
        JournalField f;
        if (splitJournalData(std::string_view(field_bytes_).substr(off, n), f)) {
          fields_.push_back(f);
        }
      }
      JournalEntryMeta meta;
      meta.cursor = last_cursor_;
      meta.realtime_usec = realtime;
      sd_id128_t boot{};
      meta.has_monotonic =
          sd_journal_get_monotonic_usec(journal_, &meta.monotonic_usec, &boot) >= 0;
      appendJournalJson(arena_, fields_, meta);
      size = arena_.size() - begin;
    } else {
      size = total;
    }
  }
  stats_.bytes_read += size;
  if (size > options_.max_line_bytes) {
    arena_.resize(begin);
    ++stats_.oversized_skipped;
    if (shouldLog(stats_.oversized_skipped)) {
      spdlog::warn(
          "source {}: skipped a journal entry of more than {} bytes (max_line_bytes) at {}; "
          "{} skipped so far",
          options_.name, options_.max_line_bytes, formatJournalTime(realtime),
          stats_.oversized_skipped);
    }
    return;
  }
  spans_.push_back(Span{begin, size, realtime});
  ++stats_.records;
}

void JournaldSource::wait(std::chrono::milliseconds timeout) {
  int timeout_ms = static_cast<int>(std::clamp<int64_t>(timeout.count(), 0, 60'000));
  // libsystemd may want to be called back earlier (files on network file
  // systems are re-checked on a timer, sd_journal_get_timeout(3)).
  uint64_t until = 0;
  if (sd_journal_get_timeout(journal_, &until) >= 0 && until != UINT64_MAX) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const uint64_t now_usec =
        static_cast<uint64_t>(now.tv_sec) * 1'000'000 + static_cast<uint64_t>(now.tv_nsec) / 1000;
    const uint64_t left_ms = until > now_usec ? (until - now_usec + 999) / 1000 : 0;
    timeout_ms = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(timeout_ms), left_ms));
  }
  pollfd fds[2];
  nfds_t n = 0;
  if (wake_fd_ >= 0) fds[n++] = pollfd{wake_fd_, POLLIN, 0};
  if (journal_fd_ >= 0) {
    const int events = sd_journal_get_events(journal_);
    fds[n++] = pollfd{journal_fd_, static_cast<short>(events > 0 ? events : POLLIN), 0};
  }
  const int r = ::poll(fds, n, timeout_ms);
  if (r > 0 && wake_fd_ >= 0 && (fds[0].revents & POLLIN) != 0) {
    uint64_t drained = 0;
    [[maybe_unused]] ssize_t ignored = ::read(wake_fd_, &drained, sizeof(drained));
  }
  // Also after a timeout: it is how files without notification are
  // re-checked, and it is cheap when nothing changed.
  sd_journal_process(journal_);
}

Status JournaldSource::commit() {
  if (options_.checkpoint_path.empty() || last_cursor_.empty() ||
      last_cursor_ == committed_cursor_) {
    return Status::Ok();
  }
  return saveCursor(last_cursor_);
}

Status JournaldSource::saveCursor(const std::string& cursor) {
  std::string text;
  text.append(kHeader).push_back('\n');
  text.append(kCursorPrefix).append(cursor).push_back('\n');
  text.append(kTrailer).push_back('\n');
  Status s = replaceFileAtomically(options_.checkpoint_path, text, "checkpoint file");
  if (s.ok()) committed_cursor_ = cursor;
  return s;
}

void JournaldSource::wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
}

}  // namespace trailwatch::source
