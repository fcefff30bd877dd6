#include "daemon/alert/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

namespace trailwatch::alert {
namespace {

// Flush early once this much is buffered, so a burst of alerts cannot grow
// memory without bound between checkpoints.
constexpr size_t kMaxBuffered = 1 << 20;

Result<int> openAppend(const std::string& path) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Error{"cannot create " + parent.string() + ": " + ec.message()};
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Error{"cannot open alert log " + path + ": " + std::strerror(errno)};
  return fd;
}

Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{"cannot write alert log " + path + ": " + std::strerror(errno)};
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<FileSink>> FileSink::open(const std::string& path) {
  auto fd = openAppend(path);
  if (!fd.ok()) return Error{fd.error()};
  return std::unique_ptr<FileSink>(new FileSink(path, *fd));
}

FileSink::FileSink(std::string path, int fd)
    : path_(std::move(path)), name_("file:" + path_), fd_(fd) {}

FileSink::~FileSink() {
  (void)flush();
  if (fd_ >= 0) ::close(fd_);
}

Status FileSink::write(std::string_view alert_json) {
  std::lock_guard lock(mu_);
  buffer_.append(alert_json);
  buffer_.push_back('\n');
  if (buffer_.size() < kMaxBuffered) return Status::Ok();
  Status s = writeAll(fd_, buffer_, path_);
  buffer_.clear();
  return s;
}

Status FileSink::reopenIfMoved() {
  struct stat by_path {};
  struct stat by_fd {};
  if (::stat(path_.c_str(), &by_path) == 0 && ::fstat(fd_, &by_fd) == 0 &&
      by_path.st_dev == by_fd.st_dev && by_path.st_ino == by_fd.st_ino) {
    return Status::Ok();
  }
  auto fd = openAppend(path_);
  if (!fd.ok()) return Error{fd.error()};
  ::fdatasync(fd_);
  ::close(fd_);
  fd_ = *fd;
  return Status::Ok();
}

Status FileSink::flush() {
  std::lock_guard lock(mu_);
  if (Status s = reopenIfMoved(); !s.ok()) return s;
  if (!buffer_.empty()) {
    Status s = writeAll(fd_, buffer_, path_);
    if (!s.ok()) return s;  // keep the buffer: the next flush retries it
    buffer_.clear();
  }
  if (::fdatasync(fd_) != 0) {
    return Error{"cannot sync alert log " + path_ + ": " + std::strerror(errno)};
  }
  return Status::Ok();
}

}  // namespace trailwatch::alert
