// CheckpointStore: the durable record of how far one source has read each of
// its files, so a restart (or a kill -9) resumes where the pipeline last
// committed instead of re-reading or skipping.
//
// A file is identified by (dev, ino) plus a fingerprint: a 64-bit hash of its
// first `fingerprint_len` bytes (at most kFingerprintBytes). The inode alone
// is not enough because inodes are reused after a delete; the fingerprint
// alone is not enough because log files often start with identical headers.
//
// save() replaces the file atomically (temp file in the same directory,
// fsync, rename, fsync of the directory), so a crash leaves either the old or
// the new checkpoint set, never a mix. load() of a missing file is an empty
// set; a corrupt or truncated file is an error naming the path and line.
//
// Thread-safety: none; a store belongs to one source's pipeline thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/result.h"

namespace trailwatch::source {

// How many leading bytes of a file its fingerprint covers, at most.
inline constexpr std::size_t kFingerprintBytes = 1024;

// FNV-1a, 64 bit: cheap, stable across builds and platforms (it is written
// to disk), and good enough to tell log files apart by their first line(s).
uint64_t fingerprintOf(std::string_view bytes);

struct FileCheckpoint {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t fingerprint_len = 0;  // min(file size, kFingerprintBytes) when taken
  uint64_t fingerprint = 0;      // fingerprintOf(first fingerprint_len bytes)
  uint64_t offset = 0;           // just past the last record handed out
  std::string path;              // where the file was last seen

  bool operator==(const FileCheckpoint&) const = default;
};

class CheckpointStore {
 public:
  // `path` is the checkpoint file, e.g. <state_dir>/checkpoints/<source>.ckpt.
  explicit CheckpointStore(std::string path);

  const std::string& path() const { return path_; }

  // The saved checkpoints; empty when the file does not exist yet.
  Result<std::vector<FileCheckpoint>> load() const;

  // Atomically replaces the saved checkpoints, creating missing parent
  // directories.
  Status save(const std::vector<FileCheckpoint>& checkpoints) const;

 private:
  std::string path_;
};

}  // namespace trailwatch::source
