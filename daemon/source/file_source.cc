#include "daemon/source/file_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include <spdlog/spdlog.h>

namespace trailwatch::source {
namespace {

using Clock = std::chrono::steady_clock;

// How often the patterns are re-resolved even without an inotify event:
// covers directories that did not exist yet and events lost to overflow.
constexpr auto kRescanInterval = std::chrono::seconds(1);

// How long a renamed-away file is kept open after its end while nothing is
// written to its successor: a writer may still append to the old file
// until it reopens (logrotate's create mode without copytruncate).
constexpr auto kRotateWait = std::chrono::seconds(5);

constexpr uint32_t kWatchMask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY |
                                IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr uint32_t kRescanMask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                 IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_Q_OVERFLOW;

std::string dirOf(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

bool hasGlobMeta(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::string joinPath(const std::string& dir, const char* name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// Reads up to `len` bytes from the start of `fd`.
bool readPrefix(int fd, std::size_t len, std::string& out) {
  out.resize(len);
  std::size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, out.data() + got, len - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return got == len;
}

bool fingerprintMatches(int fd, uint64_t size, uint64_t fp_len, uint64_t fp) {
  if (size < fp_len) return false;
  std::string prefix;
  return readPrefix(fd, fp_len, prefix) && fingerprintOf(prefix) == fp;
}

std::vector<std::string> globPaths(const std::string& pattern, int flags) {
  std::vector<std::string> out;
  glob_t g{};
  int rc = ::glob(pattern.c_str(), flags, nullptr, &g);
  if (rc == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  } else if (rc != GLOB_NOMATCH) {
    spdlog::warn("cannot resolve pattern {}: glob error {}", pattern, rc);
  }
  ::globfree(&g);
  return out;
}

// What a directory search for a truncated or rotated file turned up.
struct Found {
  int fd = -1;  // an open file matching the request, or -1
  uint64_t size = 0;
  std::string path;
  bool fingerprint_seen = false;  // some file had the fingerprint, however small
};

// Looks in `dir` for the copy logrotate's copytruncate made: a regular file
// other than (dev, ino) starting with the bytes fingerprinted by (fp_len,
// fp) and longer than `offset`. Prefers the largest such file.
Found findCopy(const std::string& dir, uint64_t dev, uint64_t ino, uint64_t fp_len, uint64_t fp,
               uint64_t offset) {
  Found best;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return best;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    std::string path = joinPath(dir, e->d_name);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat st {};
    bool keep = false;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        !(static_cast<uint64_t>(st.st_dev) == dev && static_cast<uint64_t>(st.st_ino) == ino) &&
        fingerprintMatches(fd, static_cast<uint64_t>(st.st_size), fp_len, fp)) {
      best.fingerprint_seen = true;
      auto size = static_cast<uint64_t>(st.st_size);
      if (size > offset && (best.fd < 0 || size > best.size)) {
        if (best.fd >= 0) ::close(best.fd);
        best.fd = fd;
        best.size = size;
        best.path = path;
        keep = true;
      }
    }
    if (!keep) ::close(fd);
  }
  ::closedir(d);
  return best;
}

// The name under which (dev, ino) now lives in `dir`, or "".
std::string findByInode(const std::string& dir, uint64_t dev, uint64_t ino) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return {};
  std::string found;
  while (dirent* e = ::readdir(d)) {
    if (static_cast<uint64_t>(e->d_ino) != ino) continue;
    std::string path = joinPath(dir, e->d_name);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<uint64_t>(st.st_dev) == dev && static_cast<uint64_t>(st.st_ino) == ino) {
      found = std::move(path);
      break;
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace

struct FileSource::Match {
  std::string path;
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
};

struct FileSource::TrackedFile {
  TrackedFile(std::size_t max_line_bytes, std::size_t read_size) : buf(max_line_bytes, read_size) {}

  std::string_view path;  // current name (interned)
  int fd = -1;
  uint64_t dev = 0;
  uint64_t ino = 0;
  std::string head;  // the first bytes, up to kFingerprintBytes, for the fingerprint
  LineBuffer buf;
  uint64_t size = 0;  // at the last look
  uint64_t nlink = 1;
  // No pattern matches this file any more: read it to its end, then close.
  bool draining = false;
  Clock::time_point drain_since{};
  // The file now at this path succeeded us (rotation) and waits until we
  // have been read to our end, so records come out in write order.
  std::string blocks;
  // Truncated: finish the old content first (its copy's tail from tail_fd,
  // when one was found), then read this file again from 0.
  bool restart_pending = false;
  int tail_fd = -1;
  uint64_t tail_end = 0;
  uint64_t old_fp_len = 0;  // identity of the content before the truncation
  uint64_t old_fp = 0;
  bool eof = false;   // reached the end during the current fill
  bool done = false;  // finished; close once the batch is handed out
  bool read_error_logged = false;
};

FileSource::FileSource(FileSourceOptions options) : options_(std::move(options)) {
  options_.max_batch_records = std::max<std::size_t>(options_.max_batch_records, 1);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) spdlog::warn("source {}: eventfd failed: {}", options_.name, strerror(errno));
}

FileSource::~FileSource() {
  if (scanner_.joinable()) {
    {
      std::lock_guard lock(scan_mu_);
      scanner_stop_ = true;
    }
    scan_cv_.notify_one();
    scanner_.join();
  }
  if (scan_fd_ >= 0) ::close(scan_fd_);
  for (auto& f : files_) closeFile(*f);
  for (auto& f : graveyard_) closeFile(*f);
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::string_view FileSource::intern(const std::string& path) { return *names_.insert(path).first; }

void FileSource::closeFile(TrackedFile& f) {
  if (f.fd >= 0) ::close(f.fd);
  if (f.tail_fd >= 0) ::close(f.tail_fd);
  f.fd = -1;
  f.tail_fd = -1;
}

std::vector<FileSource::Match> FileSource::resolvePatterns() const {
  std::vector<Match> out;
  std::set<std::string> seen;
  for (const auto& pattern : options_.patterns) {
    auto paths = globPaths(pattern, 0);
    if (paths.empty() && !options_.follow) {
      spdlog::warn("source {}: {} matches no file", options_.name, pattern);
    }
    for (auto& path : paths) {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (!seen.insert(path).second) continue;
      out.push_back(Match{std::move(path), static_cast<uint64_t>(st.st_dev),
                          static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size)});
    }
  }
  return out;
}

const FileCheckpoint* FileSource::restoredFor(uint64_t dev, uint64_t ino) const {
  for (const auto& cp : restored_) {
    if (cp.dev == dev && cp.ino == ino) return &cp;
  }
  return nullptr;
}

FileCheckpoint FileSource::checkpointOf(const TrackedFile& f) const {
  FileCheckpoint cp;
  cp.dev = f.dev;
  cp.ino = f.ino;
  if (f.restart_pending) {
    cp.fingerprint_len = f.old_fp_len;
    cp.fingerprint = f.old_fp;
  } else {
    cp.fingerprint_len = f.head.size();
    cp.fingerprint = fingerprintOf(f.head);
  }
  cp.offset = f.buf.consumedOffset();
  // A draining file is saved under the name its successor now has; a
  // restart finds it again by inode in the same directory.
  cp.path = f.draining && !f.blocks.empty() ? f.blocks : std::string(f.path);
  return cp;
}

std::unique_ptr<FileSource::TrackedFile> FileSource::openFile(const std::string& path,
                                                              uint64_t start_offset) {
  // O_NONBLOCK: if a FIFO took the file's place since the glob, open must
  // not hang the pipeline.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      spdlog::debug("source {}: {} vanished before it could be opened", options_.name, path);
    } else if (warned_paths_.insert(path).second) {
      spdlog::warn("source {}: cannot open {}: {} (will retry)", options_.name, path,
                   strerror(err));
    }
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return nullptr;
  }
  warned_paths_.erase(path);
  auto f = std::make_unique<TrackedFile>(options_.max_line_bytes, options_.read_size);
  f->path = intern(path);
  f->fd = fd;
  f->dev = static_cast<uint64_t>(st.st_dev);
  f->ino = static_cast<uint64_t>(st.st_ino);
  f->size = static_cast<uint64_t>(st.st_size);
  f->nlink = static_cast<uint64_t>(st.st_nlink);
  readPrefix(fd, std::min<uint64_t>(f->size, kFingerprintBytes), f->head);
  f->buf.restartAt(std::min(start_offset, f->size));
  return f;
}

Status FileSource::open() {
  if (opened_) return Error{"source " + options_.name + ": opened twice"};
  if (!options_.checkpoint_path.empty()) {
    store_ = std::make_unique<CheckpointStore>(options_.checkpoint_path);
    auto loaded = store_->load();
    if (!loaded) return Error{loaded.error()};
    restored_ = std::move(loaded).value();
  }
  if (!options_.follow) {
    for (auto& m : resolvePatterns()) scan_queue_.push_back(std::move(m.path));
    opened_ = true;
    return Status::Ok();
  }
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    return Error{"source " + options_.name + ": inotify_init1 failed: " + strerror(errno)};
  }
  scan_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (scan_fd_ < 0) {
    return Error{"source " + options_.name + ": eventfd failed: " + strerror(errno)};
  }
  opened_ = true;
  watchDirectories();
  applyMatches(resolvePatterns(), /*first=*/true);
  restored_.clear();
  scanner_ = std::thread([this] { scanLoop(); });
  return Status::Ok();
}

void FileSource::scanLoop() {
  std::unique_lock lock(scan_mu_);
  for (;;) {
    // A request, or the safety rescan when none came for a while.
    scan_cv_.wait_for(lock, kRescanInterval, [&] { return scan_wanted_ || scanner_stop_; });
    if (scanner_stop_) return;
    scan_wanted_ = false;  // a request arriving during the scan asks for another
    std::vector<std::pair<int, bool>> forget = std::move(forget_watches_);
    forget_watches_.clear();
    lock.unlock();
    for (const auto& [wd, moved] : forget) {
      // The directory is gone or moved: forget the watch so that this scan
      // watches whatever now has that name.
      for (auto it = watches_.begin(); it != watches_.end(); ++it) {
        if (it->second == wd) {
          if (moved) ::inotify_rm_watch(inotify_fd_, wd);
          watches_.erase(it);
          break;
        }
      }
    }
    if (options_.before_scan) options_.before_scan();
    watchDirectories();
    std::vector<Match> matches = resolvePatterns();
    lock.lock();
    scanned_ = std::move(matches);
    scanned_ready_ = true;
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(scan_fd_, &one, sizeof(one));
  }
}

void FileSource::requestScan(std::vector<std::pair<int, bool>> forget) {
  {
    std::lock_guard lock(scan_mu_);
    scan_wanted_ = true;
    forget_watches_.insert(forget_watches_.end(), forget.begin(), forget.end());
  }
  scan_cv_.notify_one();
}

void FileSource::takeScan() {
  std::vector<Match> matches;
  {
    std::lock_guard lock(scan_mu_);
    if (!scanned_ready_) return;
    scanned_ready_ = false;
    matches = std::move(scanned_);
    scanned_.clear();
  }
  applyMatches(std::move(matches), /*first=*/false);
}

void FileSource::watchDirectories() {
  std::set<std::string> dirs;
  for (const auto& pattern : options_.patterns) {
    std::string dir = dirOf(pattern);
    if (hasGlobMeta(dir)) {
      for (auto& d : globPaths(dir, GLOB_ONLYDIR | GLOB_NOSORT)) dirs.insert(std::move(d));
    }
    // Also the nearest existing plain ancestor, so that a directory the
    // pattern needs appearing later is an inotify event too, not a wait for
    // the safety rescan.
    while (hasGlobMeta(dir) || ::access(dir.c_str(), F_OK) != 0) {
      std::string up = dirOf(dir);
      if (up == dir) break;
      dir = std::move(up);
    }
    dirs.insert(std::move(dir));
  }
  for (const auto& dir : dirs) {
    if (watches_.count(dir) != 0) continue;
    int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kWatchMask);
    if (wd >= 0) {
      watches_.emplace(dir, wd);
    } else if (errno != ENOENT && watch_warned_.insert(dir).second) {
      spdlog::warn("source {}: cannot watch {}: {} (rescanning every {}s instead)", options_.name,
                   dir, strerror(errno), kRescanInterval.count());
    }
  }
}

void FileSource::drainInotify() {
  if (inotify_fd_ < 0) return;
  alignas(inotify_event) char buf[16 * 1024];
  bool rescan = false;
  std::vector<std::pair<int, bool>> forget;
  for (;;) {
    ssize_t n = ::read(inotify_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t pos = 0; pos < n;) {
      inotify_event event;
      std::memcpy(&event, buf + pos, sizeof(event));
      pos += static_cast<ssize_t>(sizeof(inotify_event) + event.len);
      if ((event.mask & kRescanMask) != 0) rescan = true;
      if ((event.mask & (IN_IGNORED | IN_MOVE_SELF)) != 0) {
        forget.emplace_back(event.wd, (event.mask & IN_MOVE_SELF) != 0);
      }
    }
  }
  if (rescan) requestScan(std::move(forget));
}

void FileSource::applyMatches(std::vector<Match> matches, bool first) {
  std::map<std::pair<uint64_t, uint64_t>, std::size_t> by_id;
  for (std::size_t i = 0; i < matches.size(); ++i) {
    by_id.emplace(std::make_pair(matches[i].dev, matches[i].ino), i);
  }
  std::vector<bool> taken(matches.size(), false);

  for (auto& fp : files_) {
    TrackedFile& f = *fp;
    if (f.done) continue;
    auto it = by_id.find({f.dev, f.ino});
    if (it != by_id.end()) {
      taken[it->second] = true;
      const Match& m = matches[it->second];
      if (!f.draining && m.path != f.path) {
        // Renamed to another name the patterns also match: keep reading
        // it, and hold back whatever now has the old name until we are done.
        std::string old(f.path);
        f.path = intern(m.path);
        if (f.blocks.empty()) f.blocks = std::move(old);
        ++stats_.rotations;
      }
      continue;
    }
    if (f.draining) continue;
    f.draining = true;
    f.drain_since = Clock::now();
    if (f.blocks.empty()) f.blocks = std::string(f.path);
    struct stat st {};
    if (::fstat(f.fd, &st) == 0) f.nlink = static_cast<uint64_t>(st.st_nlink);
    if (f.nlink > 0) ++stats_.rotations;  // renamed away, not deleted
  }

  for (std::size_t i = 0; i < matches.size(); ++i) {
    if (taken[i]) continue;
    const Match& m = matches[i];
    uint64_t start = 0;
    const FileCheckpoint* cp = first ? restoredFor(m.dev, m.ino) : nullptr;
    if (cp != nullptr) {
      start = cp->offset;
    } else if (first) {
      bool successor = std::any_of(restored_.begin(), restored_.end(),
                                   [&](const FileCheckpoint& c) { return c.path == m.path; });
      // A file that took the name of a checkpointed one appeared while we
      // were down: all of it is new. Anything else present at the first
      // open is old news when starting at the end.
      start = successor || !options_.start_at_end ? 0 : m.size;
    }
    auto f = openFile(m.path, start);
    if (!f) continue;
    if (!first && (f->dev != m.dev || f->ino != m.ino)) {
      // Replaced since the scan: the next scan tells what the name holds now.
      closeFile(*f);
      requestScan();
      continue;
    }
    if (cp != nullptr && (f->dev != cp->dev || f->ino != cp->ino)) {
      f->buf.restartAt(0);  // replaced between glob and open
    } else if (cp != nullptr) {
      if (fingerprintMatches(f->fd, f->size, cp->fingerprint_len, cp->fingerprint) &&
          cp->offset <= f->size) {
        if (cp->path != m.path) f->blocks = cp->path;
      } else {
        // Same inode, other content: truncated (copytruncate) while we were
        // down, or the inode was reused. A copy with our fingerprint holds
        // the unread rest; without one, start over.
        Found copy = findCopy(dirOf(m.path), f->dev, f->ino, cp->fingerprint_len, cp->fingerprint,
                              cp->offset);
        f->buf.restartAt(0);
        if (copy.fd >= 0) {
          spdlog::info("source {}: {} was truncated while stopped; reading the rest from {}",
                       options_.name, m.path, copy.path);
          f->buf.restartAt(cp->offset);
          f->restart_pending = true;
          f->tail_fd = copy.fd;
          f->tail_end = copy.size;
          f->old_fp_len = cp->fingerprint_len;
          f->old_fp = cp->fingerprint;
          f->head.clear();
          ++stats_.rotations;
        } else {
          spdlog::info("source {}: {} no longer matches its checkpoint; reading it from the start",
                       options_.name, m.path);
        }
      }
    }
    files_.push_back(std::move(f));
  }

  if (!first) return;
  // Checkpointed files the patterns no longer match: rotated while we were
  // down. Finish them (found by inode in their directory) before their
  // successors.
  for (const auto& cp : restored_) {
    bool tracked = std::any_of(files_.begin(), files_.end(),
                               [&](const auto& f) { return f->dev == cp.dev && f->ino == cp.ino; });
    if (tracked) continue;
    std::string path = findByInode(dirOf(cp.path), cp.dev, cp.ino);
    if (path.empty()) continue;
    auto f = openFile(path, cp.offset);
    if (!f || f->dev != cp.dev || f->ino != cp.ino ||
        !fingerprintMatches(f->fd, f->size, cp.fingerprint_len, cp.fingerprint) ||
        cp.offset > f->size) {
      if (f) closeFile(*f);
      continue;
    }
    f->draining = true;
    f->drain_since = Clock::now();
    f->blocks = cp.path;
    ++stats_.rotations;
    files_.push_back(std::move(f));
  }
}

void FileSource::checkFiles() {
  for (auto& fp : files_) {
    TrackedFile& f = *fp;
    if (f.fd < 0 || f.done) continue;
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) continue;
    f.size = static_cast<uint64_t>(st.st_size);
    f.nlink = static_cast<uint64_t>(st.st_nlink);
    if (!f.draining && !f.restart_pending && f.size < f.buf.readOffset()) handleTruncation(f);
  }
}

void FileSource::handleTruncation(TrackedFile& f) {
  ++stats_.rotations;
  uint64_t offset = f.buf.readOffset();
  f.old_fp_len = f.head.size();
  f.old_fp = fingerprintOf(f.head);
  f.head.clear();
  f.restart_pending = true;
  Found copy = findCopy(dirOf(f.path), f.dev, f.ino, f.old_fp_len, f.old_fp, offset);
  if (copy.fd >= 0) {
    spdlog::info("source {}: {} was truncated; reading bytes {}..{} from its copy {}",
                 options_.name, f.path, offset, copy.size, copy.path);
    f.tail_fd = copy.fd;
    f.tail_end = copy.size;
  } else if (!copy.fingerprint_seen) {
    ++stats_.truncations_unrecovered;
    spdlog::warn(
        "source {}: {} was truncated (size {} < offset {}) and no copy of it was found; "
        "bytes written just before the truncation may be lost",
        options_.name, f.path, f.size, offset);
  }
}

bool FileSource::closable(const TrackedFile& f) const {
  if (f.nlink == 0 || f.blocks.empty()) return true;
  for (const auto& g : files_) {
    if (g.get() != &f && !g->draining && g->path == f.blocks && g->size > 0) return true;
  }
  return Clock::now() - f.drain_since >= kRotateWait;
}

std::size_t FileSource::pump(TrackedFile& f, RecordBatch& batch, std::size_t limit) {
  std::size_t emitted = 0;
  std::string_view line;
  uint64_t offset = 0;
  while (emitted < limit) {
    auto r = f.buf.nextLine(line, offset);
    if (r != LineBuffer::Next::kNeedMore) {
      if (appendRecord(r, line, f.path, offset, batch, stats_)) ++emitted;
      continue;
    }
    if (f.eof || f.done) break;
    if (!f.buf.prepareWrite()) break;  // full of handed-out records; room again next call
    uint64_t at = f.buf.readOffset();
    std::size_t want = f.buf.writable();
    ssize_t n = 0;
    if (f.restart_pending) {
      if (f.tail_fd >= 0 && at < f.tail_end) {
        want = static_cast<std::size_t>(std::min<uint64_t>(want, f.tail_end - at));
        n = ::pread(f.tail_fd, f.buf.writePtr(), want, static_cast<off_t>(at));
      }
    } else {
      n = ::pread(f.fd, f.buf.writePtr(), want, static_cast<off_t>(at));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!f.read_error_logged) {
        spdlog::warn("source {}: read error on {}: {}", options_.name, f.path, strerror(errno));
        f.read_error_logged = true;
      }
      f.eof = true;
      if (!options_.follow) f.done = true;
      break;
    }
    if (n > 0) {
      auto got = static_cast<std::size_t>(n);
      if (!f.restart_pending && f.head.size() < kFingerprintBytes && at <= f.head.size() &&
          at + got > f.head.size()) {
        std::size_t from = f.head.size() - at;
        f.head.append(f.buf.writePtr() + from,
                      std::min(got - from, kFingerprintBytes - f.head.size()));
      }
      f.buf.commitWrite(got);
      stats_.bytes_read += got;
      continue;
    }
    // End of what there is to read.
    if (f.restart_pending) {
      // The old content is finished: its last line ended there.
      auto last = f.buf.finish(line, offset);
      if (appendRecord(last, line, f.path, offset, batch, stats_)) ++emitted;
      if (f.tail_fd >= 0) ::close(f.tail_fd);
      f.tail_fd = -1;
      f.restart_pending = false;
      f.buf.restartAt(0);
      continue;
    }
    f.eof = true;
    if (!options_.follow || (f.draining && closable(f))) {
      auto last = f.buf.finish(line, offset);
      if (appendRecord(last, line, f.path, offset, batch, stats_)) ++emitted;
      f.done = true;
      break;
    }
    if (!f.draining) f.blocks.clear();
    break;
  }
  return emitted;
}

bool FileSource::fill(RecordBatch& batch) {
  const std::size_t max = options_.max_batch_records;
  for (auto& f : files_) f->eof = false;
  for (;;) {
    std::map<std::string_view, int> blockers;
    for (const auto& f : files_) {
      if (!f->blocks.empty()) ++blockers[f->blocks];
    }
    // Draining files are predecessors and never wait; a successor waits
    // while any other file still holds its name.
    auto blocked = [&](const TrackedFile& f) {
      if (f.draining) return false;
      auto it = blockers.find(f.path);
      if (it == blockers.end()) return false;
      return it->second - (f.blocks == f.path ? 1 : 0) > 0;
    };
    std::size_t active = 0;
    for (const auto& f : files_) {
      if (!f->done && !blocked(*f)) ++active;
    }
    bool progress = false;
    if (active > 0) {
      std::size_t quota = std::max<std::size_t>(1, max / active);
      std::size_t n = files_.size();
      for (std::size_t k = 0; k < n && batch.records.size() < max; ++k) {
        TrackedFile& f = *files_[(turn_ + k) % n];
        if (f.done || blocked(f)) continue;
        std::size_t before = batch.records.size();
        uint64_t bytes_before = stats_.bytes_read;
        pump(f, batch, std::min(quota, max - batch.records.size()));
        if (batch.records.size() != before || stats_.bytes_read != bytes_before || f.done) {
          progress = true;
        }
      }
    }
    bool closed = false;
    for (auto it = files_.begin(); it != files_.end();) {
      if ((*it)->done) {
        closeFile(**it);
        graveyard_.push_back(std::move(*it));
        it = files_.erase(it);
        closed = true;
      } else {
        ++it;
      }
    }
    if (batch.records.size() >= max || (!progress && !closed)) break;
  }
  ++turn_;
  return !batch.records.empty();
}

bool FileSource::nextScan(RecordBatch& batch) {
  const std::size_t max = options_.max_batch_records;
  while (!scan_done_ && batch.records.size() < max) {
    if (files_.empty()) {
      if (scan_next_ >= scan_queue_.size()) {
        scan_done_ = true;
        break;
      }
      const std::string& path = scan_queue_[scan_next_++];
      auto f = openFile(path, 0);
      if (!f) continue;
      if (const FileCheckpoint* cp = restoredFor(f->dev, f->ino)) {
        if (fingerprintMatches(f->fd, f->size, cp->fingerprint_len, cp->fingerprint) &&
            cp->offset <= f->size) {
          f->buf.restartAt(cp->offset);
        }
      }
      files_.push_back(std::move(f));
      continue;
    }
    TrackedFile& f = *files_.front();
    f.eof = false;
    pump(f, batch, max - batch.records.size());
    if (!f.done) break;  // batch full, or the buffer is full of handed-out records
    finished_.push_back(checkpointOf(f));
    closeFile(f);
    graveyard_.push_back(std::move(files_.front()));
    files_.clear();
  }
  return !batch.records.empty() || !scan_done_;
}

bool FileSource::next(RecordBatch& batch, std::chrono::milliseconds timeout) {
  batch.clear();
  graveyard_.clear();  // the previous batch's views are dead now
  for (auto& f : files_) f->buf.releaseViews();
  if (!opened_) return false;
  if (!options_.follow) return nextScan(batch);

  const auto deadline = Clock::now() + timeout;
  for (;;) {
    drainInotify();
    takeScan();
    checkFiles();
    if (fill(batch)) {
      if (options_.batch_wait.count() > 0 &&
          batch.records.size() < options_.max_batch_records / 4) {
        waitForMore(batch);
      }
      return true;
    }
    auto now = Clock::now();
    if (now >= deadline) return true;
    auto wait = std::min<Clock::duration>(deadline - now, kRescanInterval);
    auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    pollfd fds[3] = {{inotify_fd_, POLLIN, 0}, {scan_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int rc = ::poll(fds, wake_fd_ >= 0 ? 3 : 2, static_cast<int>(wait_ms));
    uint64_t value = 0;
    if (rc > 0 && (fds[1].revents & POLLIN) != 0) {
      [[maybe_unused]] ssize_t n = ::read(scan_fd_, &value, sizeof(value));
    }
    if (rc > 0 && wake_fd_ >= 0 && (fds[2].revents & POLLIN) != 0) {
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &value, sizeof(value));
      return true;
    }
  }
}

namespace {

struct FileMark final : SourceMark {
  std::vector<FileCheckpoint> checkpoints;
};

}  // namespace

void FileSource::waitForMore(RecordBatch& batch) {
  // On the wake-up eventfd alone: what was appended meanwhile to the files
  // already open is read when it ends (the batch's records stay where they
  // are); new and rotated files are taken up by the next call, as usual.
  pollfd fd{wake_fd_, POLLIN, 0};
  const int rc = ::poll(&fd, wake_fd_ >= 0 ? 1 : 0, static_cast<int>(options_.batch_wait.count()));
  if (rc > 0) {
    uint64_t value = 0;
    [[maybe_unused]] ssize_t n = ::read(wake_fd_, &value, sizeof(value));
    return;
  }
  fill(batch);
}

std::unique_ptr<SourceMark> FileSource::mark() {
  auto m = std::make_unique<FileMark>();
  m->checkpoints = finished_;
  for (const auto& f : files_) {
    if (f->fd >= 0 && !f->done) m->checkpoints.push_back(checkpointOf(*f));
  }
  return m;
}

Status FileSource::commitMark(const SourceMark& mark) {
  // store_ is set once by open() and only read after.
  if (!store_) return Status::Ok();
  return store_->save(static_cast<const FileMark&>(mark).checkpoints);
}

Status FileSource::commit() { return commitMark(*mark()); }

void FileSource::wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

SourceStats FileSource::stats() const {
  SourceStats s = stats_;
  s.lag_bytes = 0;
  s.files_open = 0;
  for (const auto& f : files_) {
    if (f->fd < 0) continue;
    ++s.files_open;
    uint64_t at = f->buf.readOffset();
    if (!f->restart_pending && f->size > at) s.lag_bytes += f->size - at;
  }
  return s;
}

}  // namespace trailwatch::source
