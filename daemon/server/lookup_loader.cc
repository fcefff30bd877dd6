#include "daemon/server/lookup_loader.h"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "daemon/enrich/placeholder_list.h"

namespace trailwatch::server {

enrich::LookupSpec lookupSpec(const config::LookupConfig& lookup) {
  return enrich::LookupSpec{lookup.name,  lookup.path,   lookup.key,
                            lookup.match, lookup.prefix, lookup.case_insensitive};
}

LookupLoader::LookupLoader(const config::Config& config, metrics::Metrics* metrics)
    : metrics_(metrics) {
  for (const auto& lookup : config.lookups) specs_.push_back(lookupSpec(lookup));
  lookup_stamps_.resize(specs_.size());
  tables_.resize(specs_.size());
  placeholder_files_.assign(config.placeholders.begin(), config.placeholders.end());
  placeholder_stamps_.resize(placeholder_files_.size());
  set_ = std::make_shared<const enrich::LookupSet>(
      std::vector<std::shared_ptr<const enrich::LookupTable>>{});
}

LookupLoader::Stamp LookupLoader::stampOf(const std::string& path) {
  struct stat st {};
  Stamp s;
  if (::stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime = st.st_mtim;
  return s;
}

bool LookupLoader::loadLookup(size_t i, std::string& error) {
  // Stamp before reading: a write racing the read changes the stamp again,
  // so the next poll reads the file once more.
  lookup_stamps_[i] = stampOf(specs_[i].path);
  auto table = enrich::LookupTable::load(specs_[i]);
  if (metrics_ != nullptr) {
    auto m = metrics_->lookup(specs_[i].name);
    m.last_reload_success.Set(table.ok() ? 1 : 0);
    if (table.ok()) m.rows.Set(static_cast<double>((*table)->rows()));
  }
  if (!table.ok()) {
    error = table.error();
    return false;
  }
  tables_[i] = std::move(table).value();
  return true;
}

bool LookupLoader::loadPlaceholder(size_t i, std::string& error) {
  const auto& [name, path] = placeholder_files_[i];
  placeholder_stamps_[i] = stampOf(path);
  auto list = enrich::loadPlaceholderList(path);
  if (metrics_ != nullptr) metrics_->placeholderReloadSuccess(name).Set(list.ok() ? 1 : 0);
  if (!list.ok()) {
    error = list.error();
    return false;
  }
  placeholders_[name] = std::move(list).value();
  return true;
}

bool LookupLoader::loadAll(std::vector<std::string>& errors) {
  bool ok = true;
  std::string error;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (!loadLookup(i, error)) {
      errors.push_back(error);
      ok = false;
    }
  }
  for (size_t i = 0; i < placeholder_files_.size(); ++i) {
    if (!loadPlaceholder(i, error)) {
      errors.push_back(error);
      ok = false;
    }
  }
  if (ok) set_ = std::make_shared<const enrich::LookupSet>(tables_);
  return ok;
}

LookupLoader::Changes LookupLoader::poll() {
  Changes changes;
  std::string error;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (stampOf(specs_[i].path) == lookup_stamps_[i]) continue;
    if (loadLookup(i, error)) {
      spdlog::info("lookup {}: reloaded {} rows from {}", specs_[i].name, tables_[i]->rows(),
                   specs_[i].path);
      changes.lookups = true;
    } else {
      spdlog::error("lookup {}: reload rejected, the previous table stays in use: {}",
                    specs_[i].name, error);
    }
  }
  for (size_t i = 0; i < placeholder_files_.size(); ++i) {
    if (stampOf(placeholder_files_[i].second) == placeholder_stamps_[i]) continue;
    const auto previous = placeholders_[placeholder_files_[i].first];
    if (loadPlaceholder(i, error)) {
      const auto& now = placeholders_[placeholder_files_[i].first];
      spdlog::info("placeholder {}: reloaded {} values from {}", placeholder_files_[i].first,
                   now.size(), placeholder_files_[i].second);
      changes.placeholders = changes.placeholders || now != previous;
    } else {
      spdlog::error("placeholder {}: reload rejected, the previous values stay in use: {}",
                    placeholder_files_[i].first, error);
    }
  }
  if (changes.lookups) set_ = std::make_shared<const enrich::LookupSet>(tables_);
  return changes;
}

}  // namespace trailwatch::server
