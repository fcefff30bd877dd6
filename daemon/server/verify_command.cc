#include "daemon/server/verify_command.h"

#include <cstdio>

#include "daemon/alert/hash_chain.h"

namespace trailwatch::server {

int runVerify(const VerifyOptions& options) {
  if (options.files.empty()) {
    std::fprintf(stderr, "trailwatch verify: give the alert log file(s) to check\n");
    return 2;
  }
  std::string key;
  if (!options.key_file.empty()) {
    auto k = alert::readChainKey(options.key_file);
    if (!k.ok()) {
      std::fprintf(stderr, "trailwatch verify: %s\n", k.error().c_str());
      return 2;
    }
    key = std::move(k).value();
  }
  int exit_code = 0;
  for (const auto& file : options.files) {
    auto report = alert::verifyChain(file, key);
    if (!report.ok()) {
      std::fprintf(stderr, "trailwatch verify: %s\n", report.error().c_str());
      exit_code = 2;
      continue;
    }
    const alert::ChainReport& r = *report;
    if (r.problem) {
      std::printf("%s: BROKEN: %s\n", file.c_str(), r.problem->c_str());
      if (exit_code == 0) exit_code = 1;
      continue;
    }
    if (r.records == 0) {
      if (r.rotated_head_seq > 0) {
        std::printf(
            "%s: OK: empty; its .chain head is at seq %llu, the records up to it must be "
            "in the rotated log (if it was not rotated, they were deleted)\n",
            file.c_str(), static_cast<unsigned long long>(r.rotated_head_seq));
      } else {
        std::printf("%s: OK: empty\n", file.c_str());
      }
      continue;
    }
    if (r.chained == 0) {
      std::printf("%s: BROKEN: no chained record in %llu line(s)\n", file.c_str(),
                  static_cast<unsigned long long>(r.records));
      if (exit_code == 0) exit_code = 1;
      continue;
    }
    std::printf("%s: OK: %llu record(s), seq %llu to %llu%s%s%s\n", file.c_str(),
                static_cast<unsigned long long>(r.chained),
                static_cast<unsigned long long>(r.first_seq),
                static_cast<unsigned long long>(r.first_seq + r.chained - 1),
                r.continues ? ", continuing a rotated log" : "",
                r.records > r.chained ? ", after unchained older lines" : "",
                r.head_checked ? ", head matches" : ", no .chain head beside it");
  }
  return exit_code;
}

}  // namespace trailwatch::server
