#include "daemon/alert/stdout_sink.h"

#include <cerrno>
#include <cstring>

namespace trailwatch::alert {

Status StdoutSink::write(std::string_view alert_json) {
  std::lock_guard lock(mu_);
  if (std::fwrite(alert_json.data(), 1, alert_json.size(), out_) != alert_json.size() ||
      std::fputc('\n', out_) == EOF) {
    return Error{std::string("cannot write alert to stdout: ") + std::strerror(errno)};
  }
  return Status::Ok();
}

Status StdoutSink::flush() {
  std::lock_guard lock(mu_);
  if (std::fflush(out_) != 0) {
    return Error{std::string("cannot flush stdout: ") + std::strerror(errno)};
  }
  return Status::Ok();
}

}  // namespace trailwatch::alert
