#include "daemon/source/stream_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace trailwatch::source {

StreamSource::StreamSource(StreamSourceOptions options)
    : options_(std::move(options)), buf_(options_.max_line_bytes, options_.read_size) {
  options_.max_batch_records = std::max<std::size_t>(options_.max_batch_records, 1);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) spdlog::warn("source {}: eventfd failed: {}", options_.name, strerror(errno));
}

StreamSource::~StreamSource() {
  if (options_.owns_fd && options_.fd >= 0) ::close(options_.fd);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status StreamSource::open() {
  if (options_.fd < 0) return Error{"source " + options_.name + ": no input descriptor"};
  stats_.files_open = 1;
  return Status::Ok();
}

bool StreamSource::next(RecordBatch& batch, std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  batch.clear();
  buf_.releaseViews();
  if (ended_) return false;
  const auto deadline = Clock::now() + timeout;
  const std::size_t max = options_.max_batch_records;
  std::string_view line;
  uint64_t offset = 0;
  while (batch.records.size() < max) {
    auto r = buf_.nextLine(line, offset);
    if (r != LineBuffer::Next::kNeedMore) {
      appendRecord(r, line, options_.label, offset, batch, stats_);
      continue;
    }
    if (input_ended_) {
      auto last = buf_.finish(line, offset);
      appendRecord(last, line, options_.label, offset, batch, stats_);
      ended_ = true;
      stats_.files_open = 0;
      break;
    }
    if (!buf_.prepareWrite()) break;  // full of handed-out records
    // Hand out what we have rather than wait for more.
    auto wait = batch.records.empty()
                    ? std::max<Clock::duration>(deadline - Clock::now(), Clock::duration::zero())
                    : Clock::duration::zero();
    pollfd fds[2] = {{options_.fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int rc = ::poll(fds, wake_fd_ >= 0 ? 2 : 1,
                    static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) break;
    if (rc > 0 && wake_fd_ >= 0 && (fds[1].revents & POLLIN) != 0) {
      uint64_t value = 0;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &value, sizeof(value));
      break;
    }
    ssize_t n = ::read(options_.fd, buf_.writePtr(), buf_.writable());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      spdlog::warn("source {}: read error on {}: {}", options_.name, options_.label,
                   strerror(errno));
      input_ended_ = true;
      continue;
    }
    if (n == 0) {
      input_ended_ = true;
      continue;
    }
    buf_.commitWrite(static_cast<std::size_t>(n));
    stats_.bytes_read += static_cast<uint64_t>(n);
  }
  return !batch.records.empty() || !ended_;
}

void StreamSource::wake() {
  if (wake_fd_ < 0) return;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

}  // namespace trailwatch::source
