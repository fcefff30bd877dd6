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
  for (FieldId id = 0; id < paths.size(); ++id) {
    if (provider_begin_[id] != provider_begin_[id + 1]) provided_.push_back(id);
  }
  event_.table_.assign(paths.size(), {});
}

const Event& Enricher::enrich(const Event& event) {
  bool found = false;
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
      found = true;
    } else if (looked) {
      ++counts_[t].misses;
    }
  }
  // No row, or no field any table provides: nothing to add to the record.
  if (!found || provided_.empty()) return event;
  event_.base_ = &event;
  // The record's own values, then the cells for the fields it lacks.
  auto& fields = event_.table_;
  const auto own = event.fields();
  if (fields.size() < own.size()) fields.resize(own.size());
  std::copy(own.begin(), own.end(), fields.begin());
  std::fill(fields.begin() + static_cast<std::ptrdiff_t>(own.size()), fields.end(),
            std::span<const FieldValue>());
  const std::vector<FieldId>* own_present = event.present();
  auto& present = event_.present_;
  present.clear();
  if (own_present != nullptr) present.assign(own_present->begin(), own_present->end());
  for (const FieldId id : provided_) {
    if (!fields[id].empty()) continue;
    for (uint32_t i = provider_begin_[id]; i < provider_begin_[id + 1]; ++i) {
      const Provider& p = providers_[i];
      const FieldValue* row = rows_[p.table];
      if (row != nullptr && !row[p.column].text.empty()) {
        fields[id] = {row + p.column, 1};
        present.push_back(id);
        break;
      }
    }
  }
  event_.publish(fields, own_present != nullptr ? &present : nullptr);
  return event_;
}

void Enricher::takeCounts(std::vector<LookupCounts>& out) {
  out = counts_;
  std::fill(counts_.begin(), counts_.end(), LookupCounts{});
}

}  // namespace trailwatch::enrich
