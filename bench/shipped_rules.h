// The rule set a benchmark measures: the configuration's rule paths (plus
// any given), compiled with the configuration's placeholder lists, as
// `trailwatch scan -c CONFIG` compiles them. The shipped packs use
// placeholders (`%phi_tables%`), so loading rules/ without the
// configuration fails.
#pragma once

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config/config.h"
#include "daemon/engine/rule_set.h"
#include "daemon/server/commands.h"
#include "daemon/server/lookup_loader.h"

namespace trailwatch::bench {

struct ShippedRules {
  std::unique_ptr<server::LookupLoader> lookups;  // loaded: tables and placeholders
  std::shared_ptr<const engine::RuleSet> rules;
};

// Loads `config_file` (none when empty; read as the daemon reads it), its
// lookups and the rules; on any error prints every message to stderr and
// returns nullopt.
inline std::optional<ShippedRules> loadShippedRules(const std::string& config_file,
                                                    std::vector<std::string> rule_paths) {
  config::Config config;
  if (!config_file.empty()) {
    auto loaded = server::loadConfigOrReport(config_file);
    if (!loaded) return std::nullopt;
    config = std::move(*loaded);
  }
  rule_paths.insert(rule_paths.begin(), config.rules.begin(), config.rules.end());
  ShippedRules out;
  out.lookups = std::make_unique<server::LookupLoader>(config, nullptr);
  std::vector<std::string> errors;
  if (!out.lookups->loadAll(errors)) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    return std::nullopt;
  }
  Diagnostics diags;
  out.rules = engine::RuleSet::load(rule_paths, diags, &out.lookups->placeholders());
  if (!out.rules || !diags.empty()) {
    for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.str().c_str());
    return std::nullopt;
  }
  return out;
}

}  // namespace trailwatch::bench
