#include "daemon/decode/field_table.h"

#include <charconv>
#include <cstring>

namespace trailwatch::decode {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;

}  // namespace

void FieldTable::setFields(std::span<const std::string> paths) {
  index_.clear();
  values_.assign(paths.size(), {});
  for (FieldId id = 0; id < paths.size(); ++id) index_.emplace(paths[id], id);
  touched_.clear();
  begin({});
}

void FieldTable::begin(std::string_view raw) {
  for (FieldId id : touched_) values_[id].clear();
  touched_.clear();
  raw_ = raw;
  chunk_ = 0;
  used_ = 0;
  oversized_.clear();
}

void FieldTable::add(std::string_view path, const FieldValue& value) {
  auto it = index_.find(path);
  if (it == index_.end()) return;
  auto& slot = values_[it->second];
  if (slot.empty()) touched_.push_back(it->second);
  slot.push_back(value);
}

void FieldTable::addString(std::string_view path, std::string_view text) {
  FieldValue v;
  v.type = FieldValue::Type::kString;
  v.text = text;
  add(path, v);
}

void FieldTable::addNumber(std::string_view path, std::string_view text) {
  FieldValue v;
  v.text = text;
  double number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size()) {
    v.type = FieldValue::Type::kNumber;
    v.number = number;
  } else {
    v.type = FieldValue::Type::kString;
  }
  add(path, v);
}

void FieldTable::addBool(std::string_view path, bool value) {
  FieldValue v;
  v.type = FieldValue::Type::kBool;
  v.boolean = value;
  v.text = value ? "true" : "false";
  add(path, v);
}

std::string_view FieldTable::keep(std::string_view text) {
  if (text.size() > kChunkBytes) {
    oversized_.emplace_back(text);
    return oversized_.back();
  }
  if (chunk_ < chunks_.size() && used_ + text.size() > kChunkBytes) {
    ++chunk_;
    used_ = 0;
  }
  if (chunk_ == chunks_.size()) chunks_.push_back(std::make_unique<char[]>(kChunkBytes));
  char* at = chunks_[chunk_].get() + used_;
  if (!text.empty()) std::memcpy(at, text.data(), text.size());
  used_ += text.size();
  return {at, text.size()};
}

std::span<const FieldValue> FieldTable::values(FieldId id) const {
  if (id >= values_.size()) return {};
  return values_[id];
}

}  // namespace trailwatch::decode
