// `trailwatch verify [--key-file F] FILE...`: checks the hash chain of alert
// logs (alert/hash_chain.h) and reports, per file, the first broken,
// deleted or inserted record.
//
// Thread-safety: a command; runs on the main thread.
#pragma once

#include <string>
#include <vector>

namespace trailwatch::server {

struct VerifyOptions {
  std::vector<std::string> files;
  std::string key_file;  // HMAC key of the logs; empty: SHA-256
};

// 0: every file's chain is whole; 1: a chain is broken; 2: usage or an
// unreadable file or key.
int runVerify(const VerifyOptions& options);

}  // namespace trailwatch::server
