#include "daemon/server/pseudonym_command.h"

#include <cstdio>
#include <iostream>

#include "daemon/alert/hash_chain.h"
#include "daemon/alert/redaction.h"

namespace trailwatch::server {

int runPseudonym(const PseudonymOptions& options) {
  if (options.values.empty()) {
    std::fprintf(stderr, "trailwatch pseudonym: give the value(s), or - to read them from stdin\n");
    return 2;
  }
  // Read as the daemon reads it (one trailing newline is not part of the
  // key), so the pseudonyms are the ones it wrote.
  auto key = alert::readChainKey(options.key_file);
  if (!key.ok()) {
    std::fprintf(stderr, "trailwatch pseudonym: %s\n", key.error().c_str());
    return 2;
  }
  for (const auto& value : options.values) {
    if (value == "-") {
      std::string line;
      while (std::getline(std::cin, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::printf("%s\n", alert::pseudonym(*key, line).c_str());
      }
    } else {
      std::printf("%s\n", alert::pseudonym(*key, value).c_str());
    }
  }
  return 0;
}

}  // namespace trailwatch::server
