// FileSink: appends alerts, one JSON object per line, to a file (the alert
// log). Writes are buffered in memory; flush() writes the buffer and
// fdatasync()s, so an alert is on disk before any checkpoint that covers
// its record moves. The file is opened O_APPEND, so rotating it with
// copytruncate keeps working; a rename-style rotation is picked up by
// reopen() (and by every flush() that finds the path gone or replaced).
//
// A full disk (or any failed write) loses no alert: what could not be
// written stays buffered, in memory and without bound, and flush() fails
// until it is written, so no checkpoint moves past it; a line cut by the
// failure is completed by the next write, never written twice.
//
// Unless told otherwise the log is hash-chained (hash_chain.h): each line
// carries its sequence number and the digest of the line before it, the
// chain goes on from the last line of an existing log and across rotations,
// and every flush() replaces `<path>.chain` with the head of the chain.
//
// Thread-safety: write() and flush() may be called from any thread; the
// buffer and descriptor are guarded by mu_.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "daemon/alert/hash_chain.h"
#include "trailwatch/alert_sink.h"

namespace trailwatch::alert {

struct FileSinkOptions {
  bool hash_chain = true;
  std::string chain_key;  // HMAC key; empty: plain SHA-256
};

class FileSink : public AlertSink {
 public:
  // Opens (creating the file and its parent folders as needed); with a
  // hash chain, reads the log's last line to continue its chain.
  static Result<std::unique_ptr<FileSink>> open(const std::string& path,
                                                const FileSinkOptions& options = {});
  ~FileSink() override;

  const std::string& name() const override { return name_; }
  Status write(std::string_view alert_json) override;
  Status flush() override;
  Status deliver() override;  // write() the buffered lines, no fsync

 private:
  FileSink(std::string path, int fd, const FileSinkOptions& options);
  Status reopenIfMoved();  // requires mu_

  // The chain, when the log has one (guarded by mu_); the head written to
  // `<path>.chain` at the last flush.
  std::unique_ptr<HashChain> chain_;
  uint64_t head_seq_ = 0;
  std::string line_;  // scratch for a sealed line (guarded by mu_)
  const std::string path_;
  const std::string name_;
  std::mutex mu_;
  int fd_;              // guarded by mu_
  std::string buffer_;  // guarded by mu_
};

}  // namespace trailwatch::alert
