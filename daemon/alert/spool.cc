#include "daemon/alert/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <boost/crc.hpp>

#include "daemon/common/atomic_file.h"

namespace trailwatch::alert {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kMagic = 0x31535754;  // "TWS1" little-endian
constexpr size_t kHeaderBytes = 32;
// A payload longer than this is not a record this spool wrote.
constexpr uint32_t kMaxPayload = 64u << 20;

void putU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void putU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t getU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
uint64_t getU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// CRC-32 of the header's seq and time (bytes 16..31) and the payload.
uint32_t recordCrc(const char* header, std::string_view payload) {
  boost::crc_32_type crc;
  crc.process_bytes(header + 16, 16);
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

std::string errnoText() { return std::strerror(errno); }

Status fsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error{"cannot open spool folder " + dir + ": " + errnoText()};
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) return Error{"cannot sync spool folder " + dir + ": " + std::strerror(saved)};
  return Status::Ok();
}

Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{"cannot write spool segment " + path + ": " + errnoText()};
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// "00000000000000000042.seg" -> 42; false for any other name.
bool segmentKey(const std::string& name, uint64_t& key) {
  if (name.size() != 24 || !name.ends_with(".seg")) return false;
  const char* end = name.data() + 20;
  auto [ptr, ec] = std::from_chars(name.data(), end, key);
  return ec == std::errc() && ptr == end && key > 0;
}

}  // namespace

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {}

Spool::~Spool() {
  if (active_fd_ >= 0) ::close(active_fd_);
}

Result<std::unique_ptr<Spool>> Spool::open(const SpoolOptions& options) {
  SpoolOptions o = options;
  if (o.segment_bytes == 0) {
    o.segment_bytes = std::clamp<uint64_t>(o.max_bytes / 16, 64u << 10, 16u << 20);
  }
  std::unique_ptr<Spool> spool(new Spool(std::move(o)));
  std::lock_guard lock(spool->mu_);
  if (Status s = spool->recover(); !s.ok()) return Error{s.error()};
  return spool;
}

std::string Spool::segmentPath(uint64_t first) const {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(first));
  return (fs::path(options_.dir) / name).string();
}

Status Spool::recover() {
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec) return Error{"cannot create spool folder " + options_.dir + ": " + ec.message()};

  {
    std::ifstream in(fs::path(options_.dir) / "acked");
    std::string text;
    uint64_t v = 0;
    // A missing or unreadable position means every record is sent again:
    // at least once, never lost.
    if (in && std::getline(in, text)) {
      auto [ptr, perr] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (perr == std::errc() && ptr == text.data() + text.size()) acked_ = v;
    }
    persisted_ack_ = acked_;
  }

  std::vector<uint64_t> keys;
  for (const auto& item : fs::directory_iterator(options_.dir, ec)) {
    uint64_t key = 0;
    if (item.is_regular_file() && segmentKey(item.path().filename().string(), key)) {
      keys.push_back(key);
    }
  }
  if (ec) return Error{"cannot list spool folder " + options_.dir + ": " + ec.message()};
  std::sort(keys.begin(), keys.end());

  for (uint64_t key : keys) {
    if (Status s = scanSegment(key, acked_); !s.ok()) return s;
    // An empty segment still took its first number.
    next_seq_ = std::max(next_seq_, key);
  }
  // Numbers already acknowledged are never used again, even when their
  // segments are gone.
  next_seq_ = std::max(next_seq_, acked_ + 1);

  if (!keys.empty()) {
    active_ = keys.back();
    const std::string path = segmentPath(active_);
    active_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (active_fd_ < 0) return Error{"cannot open spool segment " + path + ": " + errnoText()};
  }
  removeDeadSegments();
  return Status::Ok();
}

Status Spool::scanSegment(uint64_t first, uint64_t acked) {
  const std::string path = segmentPath(first);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Error{"cannot open spool segment " + path + ": " + errnoText()};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Error{"cannot stat spool segment " + path + ": " + errnoText()};
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);

  Segment segment;
  uint64_t prev = first - 1;
  size_t off = 0;
  while (off < data.size()) {
    const char* h = data.data() + off;
    bool good = data.size() - off >= kHeaderBytes && getU32(h) == kMagic;
    uint32_t len = 0;
    uint64_t seq = 0;
    if (good) {
      len = getU32(h + 4);
      seq = getU64(h + 16);
      good = len <= kMaxPayload && data.size() - off - kHeaderBytes >= len && seq > prev &&
             getU32(h + 8) == recordCrc(h, std::string_view(h + kHeaderBytes, len));
    }
    if (!good) {
      // A torn or damaged tail: nothing after it in this segment can be
      // trusted to be whole, so the segment ends here.
      ++counters_.torn;
      if (::ftruncate(fd, static_cast<off_t>(off)) != 0) {
        const std::string why = errnoText();
        ::close(fd);
        return Error{"cannot cut the damaged tail of spool segment " + path + ": " + why};
      }
      ::fdatasync(fd);
      break;
    }
    if (seq > acked) {
      entries_.push_back(Entry{seq, first, off, len, static_cast<int64_t>(getU64(h + 24))});
      ++segment.live;
      bytes_ += kHeaderBytes + len;
    }
    prev = seq;
    next_seq_ = std::max(next_seq_, seq + 1);
    off += kHeaderBytes + len;
  }
  ::close(fd);
  segment.bytes = off;
  segments_[first] = segment;
  return Status::Ok();
}

Status Spool::roll() {
  if (active_fd_ >= 0) {
    // The segment being left must be as durable as sync() makes the new one.
    if (!synced_ && ::fdatasync(active_fd_) != 0) {
      return Error{"cannot sync spool segment " + segmentPath(active_) + ": " + errnoText()};
    }
    ::close(active_fd_);
    active_fd_ = -1;
  }
  const uint64_t key = next_seq_;
  const std::string path = segmentPath(key);
  active_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (active_fd_ < 0) return Error{"cannot create spool segment " + path + ": " + errnoText()};
  if (Status s = fsyncDir(options_.dir); !s.ok()) return s;
  segments_[key] = Segment{};
  active_ = key;
  removeDeadSegments();
  return Status::Ok();
}

void Spool::popFront() {
  const Entry& e = entries_.front();
  auto it = segments_.find(e.segment);
  if (it != segments_.end() && it->second.live > 0) --it->second.live;
  bytes_ -= kHeaderBytes + e.size;
  acked_ = std::max(acked_, e.seq);
  entries_.pop_front();
}

void Spool::removeDeadSegments() {
  for (auto it = segments_.begin(); it != segments_.end();) {
    if (it->second.live == 0 && it->first != active_) {
      ::unlink(segmentPath(it->first).c_str());
      it = segments_.erase(it);
    } else {
      ++it;
    }
  }
}

Status Spool::persistAck() {
  if (acked_ == persisted_ack_) return Status::Ok();
  if (Status s = replaceFileAtomically((fs::path(options_.dir) / "acked").string(),
                                       std::to_string(acked_) + "\n", "spool position");
      !s.ok()) {
    return s;
  }
  persisted_ack_ = acked_;
  return Status::Ok();
}

Result<Spool::Appended> Spool::append(std::string_view payload, int64_t now_ms) {
  std::lock_guard lock(mu_);
  const uint64_t size = kHeaderBytes + payload.size();
  if (size > options_.max_bytes || payload.size() > kMaxPayload) {
    // It could never fit, whatever the policy; waiting would block forever.
    ++counters_.full;
    ++counters_.dropped_newest;
    return Appended::kDroppedNewest;
  }
  bool dropped_oldest = false;
  if (bytes_ + size > options_.max_bytes) {
    ++counters_.full;
    switch (options_.on_full) {
      case SpoolFullPolicy::kBlock:
        ++counters_.refused;
        return Appended::kRefused;
      case SpoolFullPolicy::kDropNewest:
        ++counters_.dropped_newest;
        return Appended::kDroppedNewest;
      case SpoolFullPolicy::kDropOldest:
        while (!entries_.empty() && bytes_ + size > options_.max_bytes) {
          popFront();
          ++counters_.dropped_oldest;
          dropped_oldest = true;
        }
        removeDeadSegments();
        break;
    }
  }
  if (active_fd_ < 0 || segments_[active_].bytes >= options_.segment_bytes) {
    if (Status s = roll(); !s.ok()) return Error{s.error()};
  }
  std::string record(kHeaderBytes, '\0');
  record.append(payload);
  putU32(record.data(), kMagic);
  putU32(record.data() + 4, static_cast<uint32_t>(payload.size()));
  putU64(record.data() + 16, next_seq_);
  putU64(record.data() + 24, static_cast<uint64_t>(now_ms));
  putU32(record.data() + 8, recordCrc(record.data(), payload));
  Segment& segment = segments_[active_];
  if (Status s = writeAll(active_fd_, record, segmentPath(active_)); !s.ok()) {
    // Leave no partial record behind for the next append to follow.
    (void)::ftruncate(active_fd_, static_cast<off_t>(segment.bytes));
    return Error{s.error()};
  }
  entries_.push_back(
      Entry{next_seq_, active_, segment.bytes, static_cast<uint32_t>(payload.size()), now_ms});
  segment.bytes += size;
  ++segment.live;
  bytes_ += size;
  ++next_seq_;
  synced_ = false;
  return dropped_oldest ? Appended::kDroppedOldest : Appended::kSpooled;
}

Status Spool::sync() {
  std::lock_guard lock(mu_);
  if (!synced_ && active_fd_ >= 0) {
    if (::fdatasync(active_fd_) != 0) {
      return Error{"cannot sync spool segment " + segmentPath(active_) + ": " + errnoText()};
    }
  }
  synced_ = true;
  return persistAck();
}

Result<std::vector<SpoolRecord>> Spool::peek(size_t max_records, size_t max_bytes) const {
  std::lock_guard lock(mu_);
  std::vector<SpoolRecord> out;
  size_t total = 0;
  uint64_t open_segment = 0;
  int fd = -1;
  for (const Entry& e : entries_) {
    if (out.size() >= max_records) break;
    if (!out.empty() && total + e.size > max_bytes) break;
    if (fd < 0 || open_segment != e.segment) {
      if (fd >= 0) ::close(fd);
      open_segment = e.segment;
      fd = ::open(segmentPath(e.segment).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        return Error{"cannot read spool segment " + segmentPath(e.segment) + ": " + errnoText()};
      }
    }
    SpoolRecord r{e.seq, e.appended_ms, std::string(e.size, '\0')};
    const ssize_t n =
        ::pread(fd, r.payload.data(), e.size, static_cast<off_t>(e.offset + kHeaderBytes));
    if (n != static_cast<ssize_t>(e.size)) {
      const std::string why = n < 0 ? errnoText() : "short read";
      ::close(fd);
      return Error{"cannot read spool segment " + segmentPath(e.segment) + ": " + why};
    }
    total += e.size;
    out.push_back(std::move(r));
  }
  if (fd >= 0) ::close(fd);
  return out;
}

Status Spool::ack(uint64_t through) {
  std::lock_guard lock(mu_);
  while (!entries_.empty() && entries_.front().seq <= through) popFront();
  acked_ = std::max(acked_, std::min(through, next_seq_ - 1));
  removeDeadSegments();
  return persistAck();
}

SpoolStats Spool::stats() const {
  std::lock_guard lock(mu_);
  SpoolStats s = counters_;
  s.records = entries_.size();
  s.bytes = bytes_;
  s.oldest_ms = entries_.empty() ? 0 : entries_.front().appended_ms;
  s.capacity_bytes = options_.max_bytes;
  return s;
}

}  // namespace trailwatch::alert
