#include "daemon/common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace trailwatch {
namespace {

std::string errnoText(int err) { return std::strerror(err); }

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

Status replaceFileAtomically(const std::string& path, std::string_view data,
                             std::string_view what) {
  return replaceFileAtomically(path, std::span<const std::string_view>(&data, 1), what);
}

Status replaceFileAtomically(const std::string& path, std::span<const std::string_view> pieces,
                             std::string_view what) {
  const std::string label(what);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Error{dir.string() + ": cannot create directory for " + label + ": " + ec.message()};

  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Error{tmp + ": cannot create temporary " + label + ": " + errnoText(errno)};
  auto cleanup = [&](const std::string& step) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error{tmp + ": " + step + ": " + errnoText(err)};
  };
  for (std::string_view data : pieces) {
    if (!writeAll(fd, data)) return cleanup("write failed");
  }
  if (::fsync(fd) != 0) return cleanup("fsync failed");
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Error{tmp + ": close failed: " + errnoText(err)};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Error{path + ": cannot replace " + label + ": " + errnoText(err)};
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Error{dir.string() + ": cannot open directory to fsync: " + errnoText(errno)};
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) return Error{dir.string() + ": directory fsync failed: " + errnoText(err)};
  return Status::Ok();
}

}  // namespace trailwatch
