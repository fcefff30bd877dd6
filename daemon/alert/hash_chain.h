// The alert log's hash chain: tamper evidence for the file an auditor is
// shown.
//
// Every record (one alert, one line) ends with a `chain` member holding its
// sequence number and the digest of the line before it:
//
//   {"@timestamp":…,"rule":{…},…,"chain":{"seq":42,"prev":"<64 hex digits>"}}
//
// The digest is SHA-256 of the previous line's bytes (without its newline),
// or HMAC-SHA256 of them under a secret key when the log is configured with
// one (`chain_key_file:`): without the key nobody can rebuild a consistent
// chain after editing the file. The first record of a new log has seq 1 and
// a `prev` of 64 zeros; a log that is rotated goes on with the same chain in
// the new file (its first record points at the old file's last line).
//
// Next to the log, `<log>.chain` holds `seq digest` of the last line
// written, replaced atomically at every flush: it lets verify() see records
// cut off the end, or a last record edited, which the chain alone cannot.
//
// verifyChain() reads a log and reports the first broken link: a record
// whose `prev` does not match the line before it (that line was edited, or a
// record was inserted or deleted there), a sequence number that jumps (a
// deleted record) or goes back (an inserted or repeated one), a record
// without a chain after the chain began, or a mismatch with the `.chain`
// head.
//
// Thread-safety: HashChain is used under its sink's lock; verifyChain() is
// a free function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "trailwatch/result.h"

namespace trailwatch::alert {

// Hex SHA-256 of `data`, or hex HMAC-SHA256 under `key` when it is not empty.
std::string chainDigest(std::string_view data, std::string_view key);

// Reads a key file: its bytes, without one trailing newline. An empty or
// unreadable file is an error.
Result<std::string> readChainKey(const std::string& path);

class HashChain {
 public:
  explicit HashChain(std::string key = {}) : key_(std::move(key)) {}

  // Continues after `last_line`, the last line of an existing log (empty:
  // a new log). A last line without a chain starts a new chain at seq 1
  // that points at it.
  void resume(std::string_view last_line);
  // Continues from a `.chain` head ("seq digest"): a log rotated away and
  // replaced by an empty file. False (and no change) if `head` is not one.
  bool resumeFromHead(std::string_view head);

  // Writes `alert_json` (one JSON object) with the chain member added into
  // `line`, and advances the chain.
  void seal(std::string_view alert_json, std::string& line);

  uint64_t seq() const { return seq_; }
  // Digest of the last line sealed (or resumed from); the `.chain` head.
  const std::string& last() const { return prev_; }

 private:
  std::string key_;
  uint64_t seq_ = 0;
  std::string prev_ = std::string(64, '0');
};

// The head file's content for `chain`: "seq digest\n".
std::string chainHead(const HashChain& chain);

struct ChainReport {
  uint64_t records = 0;                // lines read
  uint64_t chained = 0;                // lines with a chain member
  uint64_t first_seq = 0;              // seq of the first chained record
  bool continues = false;              // the first record points at a line not in this file
  std::optional<std::string> problem;  // the first broken link, with its line number
  bool head_checked = false;           // a `.chain` head file was found and compared
  uint64_t rotated_head_seq = 0;       // empty log whose `.chain` head is at this seq
};

// Verifies the log at `path` (and `<path>.chain` when present) under `key`
// (empty: SHA-256). An unreadable file is an error; a broken chain is a
// report with `problem` set.
Result<ChainReport> verifyChain(const std::string& path, std::string_view key);

}  // namespace trailwatch::alert
