#include "daemon/decode/field_table.h"

#include <charconv>
#include <cstring>

namespace trailwatch::decode {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;

}  // namespace

void FieldTable::setFields(std::span<const std::string> paths) {
  index_.clear();
  for (FieldId id = 0; id < paths.size(); ++id) index_.emplace(paths[id], id);
  values_.reset(paths.size());
  publish(values_.table(), &values_.present());
  begin({});
}

void FieldTable::begin(std::string_view raw) {
  values_.clear();
  raw_ = raw;
  chunk_ = 0;
  used_ = 0;
  oversized_.clear();
}

void FieldTable::add(std::string_view path, const FieldValue& value) {
  auto it = index_.find(path);
  if (it == index_.end()) return;
  values_.add(it->second, value);
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

}  // namespace trailwatch::decode
