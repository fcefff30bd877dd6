#include "daemon/enrich/enricher.h"

#include <algorithm>

namespace trailwatch::enrich {

std::vector<std::string> LookupSet::matchPaths() const {
  std::vector<std::string> out;
  for (const auto& t : tables_) {
    if (std::find(out.begin(), out.end(), t->spec().match) == out.end()) {
      out.push_back(t->spec().match);
    }
  }
  return out;
}

Enricher::Enricher(std::shared_ptr<const LookupSet> set, std::span<const std::string> paths)
    : set_(std::move(set)) {
  const size_t tables = set_ ? set_->size() : 0;
  match_ids_.assign(tables, -1);
  rows_.assign(tables, nullptr);
  counts_.assign(tables, {});
  provider_begin_.assign(paths.size() + 1, 0);
  for (size_t id = 0; id < paths.size(); ++id) {
    provider_begin_[id] = static_cast<uint32_t>(providers_.size());
    for (size_t t = 0; t < tables; ++t) {
      const LookupTable& table = set_->table(t);
      const std::string& prefix = table.spec().prefix;
      if (paths[id] == table.spec().match && match_ids_[t] < 0) {
        match_ids_[t] = static_cast<int64_t>(id);
      }
      if (!std::string_view(paths[id]).starts_with(prefix)) continue;
      const std::string_view column = std::string_view(paths[id]).substr(prefix.size());
      for (size_t c = 0; c < table.columns().size(); ++c) {
        if (c != table.keyColumn() && table.columns()[c] == column) {
          providers_.push_back(Provider{static_cast<uint32_t>(t), static_cast<uint32_t>(c)});
        }
      }
    }
  }
  provider_begin_[paths.size()] = static_cast<uint32_t>(providers_.size());
  event_.enricher_ = this;
  event_.resolved_at_.assign(paths.size(), 0);
  event_.resolved_.assign(paths.size(), {});
}

const Event& Enricher::enrich(const Event& event) {
  for (size_t t = 0; t < rows_.size(); ++t) {
    rows_[t] = nullptr;
    if (match_ids_[t] < 0) continue;
    const auto values = event.values(static_cast<FieldId>(match_ids_[t]));
    bool looked = false;
    for (const FieldValue& v : values) {
      if (v.type != FieldValue::Type::kString && v.type != FieldValue::Type::kNumber) continue;
      looked = true;
      rows_[t] = set_->table(t).find(v.text);
      if (rows_[t] != nullptr) break;
    }
    if (rows_[t] != nullptr) {
      ++counts_[t].hits;
    } else if (looked) {
      ++counts_[t].misses;
    }
  }
  event_.base_ = &event;
  if (++event_.generation_ == 0) {
    // Wrapped after 2^32 events: stamps from the previous round could look
    // current, so forget them all once.
    std::fill(event_.resolved_at_.begin(), event_.resolved_at_.end(), 0);
    event_.generation_ = 1;
  }
  return event_;
}

void Enricher::takeCounts(std::vector<LookupCounts>& out) {
  out = counts_;
  std::fill(counts_.begin(), counts_.end(), LookupCounts{});
}

std::span<const FieldValue> EnrichedEvent::values(FieldId id) const {
  if (id >= resolved_at_.size()) return base_->values(id);
  // A field no table provides is the event's own: nothing to remember.
  const auto& begin = enricher_->provider_begin_;
  if (begin[id] == begin[id + 1]) return base_->values(id);
  if (resolved_at_[id] != generation_) {
    resolved_[id] = resolve(id);
    resolved_at_[id] = generation_;
  }
  return resolved_[id];
}

std::span<const FieldValue> EnrichedEvent::resolve(FieldId id) const {
  const auto own = base_->values(id);
  if (!own.empty()) return own;
  const Enricher& e = *enricher_;
  if (id + 1 >= e.provider_begin_.size()) return {};
  for (uint32_t i = e.provider_begin_[id]; i < e.provider_begin_[id + 1]; ++i) {
    const auto& p = e.providers_[i];
    const FieldValue* row = e.rows_[p.table];
    if (row != nullptr && !row[p.column].text.empty()) return {row + p.column, 1};
  }
  return {};
}

}  // namespace trailwatch::enrich
