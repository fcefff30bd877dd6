#include "daemon/alert/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "daemon/common/atomic_file.h"

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

// Writes `buffer` and erases what was written from it, also when a write
// fails part way (a full disk takes part of a buffer): retrying the whole
// buffer would write that part twice. What is left is retried by the next
// deliver() or flush().
Status writeOut(int fd, std::string& buffer, const std::string& path) {
  size_t done = 0;
  Status status = Status::Ok();
  while (done < buffer.size()) {
    const ssize_t n = ::write(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = Error{"cannot write alert log " + path + ": " + std::strerror(errno)};
      break;
    }
    done += static_cast<size_t>(n);
  }
  buffer.erase(0, done);
  return status;
}

// The last line of the file open at `fd` (without its newline), whether
// the file ends with a newline, or an error. Lines longer than kMaxLine are
// not alerts this sink wrote.
constexpr off_t kMaxLine = 64 << 20;

Status readLastLine(int fd, const std::string& path, std::string& line, bool& ends_with_newline) {
  line.clear();
  ends_with_newline = true;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error{"cannot stat " + path + ": " + std::strerror(errno)};
  off_t end = st.st_size;
  if (end == 0) return Status::Ok();
  char last = 0;
  if (::pread(fd, &last, 1, end - 1) != 1) {
    return Error{"cannot read " + path + ": " + std::strerror(errno)};
  }
  ends_with_newline = last == '\n';
  if (ends_with_newline) --end;
  off_t start = end;
  char chunk[8192];
  while (start > 0 && end - start < kMaxLine) {
    const off_t from = std::max<off_t>(0, start - static_cast<off_t>(sizeof chunk));
    const ssize_t n = ::pread(fd, chunk, static_cast<size_t>(start - from), from);
    if (n != start - from) return Error{"cannot read " + path + ": " + std::strerror(errno)};
    const void* nl = ::memrchr(chunk, '\n', static_cast<size_t>(n));
    if (nl != nullptr) {
      start = from + (static_cast<const char*>(nl) - chunk) + 1;
      break;
    }
    start = from;
  }
  line.resize(static_cast<size_t>(end - start));
  if (!line.empty() &&
      ::pread(fd, line.data(), line.size(), start) != static_cast<ssize_t>(line.size())) {
    return Error{"cannot read " + path + ": " + std::strerror(errno)};
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<FileSink>> FileSink::open(const std::string& path,
                                                 const FileSinkOptions& options) {
  auto fd = openAppend(path);
  if (!fd.ok()) return Error{fd.error()};
  std::unique_ptr<FileSink> sink(new FileSink(path, *fd, options));
  if (sink->chain_) {
    // The file is opened for appending only; read it through another fd.
    const int rd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (rd < 0) return Error{"cannot read alert log " + path + ": " + std::strerror(errno)};
    std::string last;
    bool newline = true;
    Status s = readLastLine(rd, path, last, newline);
    ::close(rd);
    if (!s.ok()) return Error{s.error()};
    sink->chain_->resume(last);
    if (last.empty()) {
      // An empty log (new, or rotated away): go on from the chain head left
      // beside it, so the first record links to the rotated file's last.
      std::ifstream head(path + ".chain");
      std::string text;
      if (head && std::getline(head, text)) (void)sink->chain_->resumeFromHead(text);
    }
    sink->head_seq_ = sink->chain_->seq();
    // A line torn by a crash stays as it is (verify reports it); the next
    // record starts on a line of its own.
    if (!newline) sink->buffer_.push_back('\n');
  }
  return sink;
}

FileSink::FileSink(std::string path, int fd, const FileSinkOptions& options)
    : path_(std::move(path)), name_("file:" + path_), fd_(fd) {
  if (options.hash_chain) chain_ = std::make_unique<HashChain>(options.chain_key);
}

FileSink::~FileSink() {
  (void)flush();
  if (fd_ >= 0) ::close(fd_);
}

Status FileSink::write(std::string_view alert_json) {
  std::lock_guard lock(mu_);
  if (chain_) {
    chain_->seal(alert_json, line_);
    buffer_.append(line_);
  } else {
    buffer_.append(alert_json);
  }
  buffer_.push_back('\n');
  if (buffer_.size() < kMaxBuffered) return Status::Ok();
  // The alert is taken whatever happens now: a failed write keeps the
  // buffer for the next flush(), which fails (holding checkpoints back)
  // until it can write it. So this reports nothing.
  (void)writeOut(fd_, buffer_, path_);
  return Status::Ok();
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

Status FileSink::deliver() {
  std::lock_guard lock(mu_);
  if (buffer_.empty()) return Status::Ok();
  return writeOut(fd_, buffer_, path_);  // what is left, flush() retries
}

Status FileSink::flush() {
  std::lock_guard lock(mu_);
  if (Status s = reopenIfMoved(); !s.ok()) return s;
  if (!buffer_.empty()) {
    if (Status s = writeOut(fd_, buffer_, path_); !s.ok()) return s;  // the rest is retried
  }
  if (::fdatasync(fd_) != 0) {
    return Error{"cannot sync alert log " + path_ + ": " + std::strerror(errno)};
  }
  if (chain_ && chain_->seq() != head_seq_) {
    if (Status s =
            replaceFileAtomically(path_ + ".chain", chainHead(*chain_), "alert log chain head");
        !s.ok()) {
      return s;
    }
    head_seq_ = chain_->seq();
  }
  return Status::Ok();
}

}  // namespace trailwatch::alert
