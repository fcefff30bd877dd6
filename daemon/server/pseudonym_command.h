// `trailwatch pseudonym --key-file K VALUE... | -`: the pseudonym a redacting
// output writes for each value (alert/redaction.h), so an investigator who
// holds the key can search a redacted channel for a known identifier.
//
// Thread-safety: a command; runs on the main thread.
#pragma once

#include <string>
#include <vector>

namespace trailwatch::server {

struct PseudonymOptions {
  std::string key_file;             // the output's redact.key_file
  std::vector<std::string> values;  // "-": one value per line on stdin
};

// Prints one pseudonym per value, in order. 0: done; 2: usage or an
// unreadable key.
int runPseudonym(const PseudonymOptions& options);

}  // namespace trailwatch::server
