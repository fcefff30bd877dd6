// FileSink: appends alerts, one JSON object per line, to a file (the alert
// log). Writes are buffered in memory; flush() writes the buffer and
// fdatasync()s, so an alert is on disk before any checkpoint that covers
// its record moves. The file is opened O_APPEND, so rotating it with
// copytruncate keeps working; a rename-style rotation is picked up by
// reopen() (and by every flush() that finds the path gone or replaced).
//
// Thread-safety: write() and flush() may be called from any thread; the
// buffer and descriptor are guarded by mu_.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "trailwatch/alert_sink.h"

namespace trailwatch::alert {

class FileSink : public AlertSink {
 public:
  // Opens (creating the file and its parent folders as needed).
  static Result<std::unique_ptr<FileSink>> open(const std::string& path);
  ~FileSink() override;

  const std::string& name() const override { return name_; }
  Status write(std::string_view alert_json) override;
  Status flush() override;

 private:
  explicit FileSink(std::string path, int fd);
  Status reopenIfMoved();  // requires mu_

  const std::string path_;
  const std::string name_;
  std::mutex mu_;
  int fd_;              // guarded by mu_
  std::string buffer_;  // guarded by mu_
};

}  // namespace trailwatch::alert
