// LookupLoader: loads the configuration's lookup tables (CSV) and
// placeholder lists, and re-reads a file when it changes.
//
// A change is a different (device, inode, size, mtime) from the last look,
// so an atomic rename, an in-place rewrite and a deletion are all seen. A
// file that fails to load keeps its previous table or list in use; the
// failure is logged once per change (spdlog::error, `path:line: message`)
// and shows in trailwatch_lookup_last_reload_success /
// trailwatch_placeholder_last_reload_success.
//
// Thread-safety: none; the main thread owns it. What it hands out (the
// LookupSet snapshot, a copy of the placeholders) is immutable.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config/config.h"
#include "daemon/engine/rule_set.h"
#include "daemon/enrich/enricher.h"
#include "daemon/metrics/metrics.h"

namespace trailwatch::server {

enrich::LookupSpec lookupSpec(const config::LookupConfig& lookup);

class LookupLoader {
 public:
  // `metrics` may be null (check, scan).
  LookupLoader(const config::Config& config, metrics::Metrics* metrics);

  // Loads every file. False when any is broken, after appending one message
  // per broken file to `errors`.
  bool loadAll(std::vector<std::string>& errors);

  // The current tables, in configuration order (never null after loadAll).
  std::shared_ptr<const enrich::LookupSet> lookupSet() const { return set_; }
  const engine::Placeholders& placeholders() const { return placeholders_; }

  struct Changes {
    bool lookups = false;       // lookupSet() is a new snapshot
    bool placeholders = false;  // placeholders() changed: rules need recompiling
  };
  // Re-reads the files that changed since the last look.
  Changes poll();

 private:
  struct Stamp {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{};
    bool operator==(const Stamp& o) const {
      return exists == o.exists && dev == o.dev && ino == o.ino && size == o.size &&
             mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
    }
  };
  static Stamp stampOf(const std::string& path);

  bool loadLookup(size_t index, std::string& error);
  bool loadPlaceholder(size_t index, std::string& error);

  std::vector<enrich::LookupSpec> specs_;
  std::vector<Stamp> lookup_stamps_;
  std::vector<std::shared_ptr<const enrich::LookupTable>> tables_;      // null until loaded
  std::vector<std::pair<std::string, std::string>> placeholder_files_;  // name, path
  std::vector<Stamp> placeholder_stamps_;
  std::shared_ptr<const enrich::LookupSet> set_;
  engine::Placeholders placeholders_;
  metrics::Metrics* metrics_;
};

}  // namespace trailwatch::server
