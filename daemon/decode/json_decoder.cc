#include "daemon/decode/json_decoder.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

#include "trailwatch/source.h"

namespace trailwatch::decode {
namespace {

namespace od = simdjson::ondemand;

// In-place parsing relies on the source's slack being at least what simdjson
// reads past the end of a document.
static_assert(kRecordPadding >= simdjson::SIMDJSON_PADDING,
              "records must carry the padding simdjson reads past their end");

bool isJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Bit 7 of each byte of `word` that equals `c`. Exact for the lowest such
// byte; bytes above it may show falsely (a borrow), which callers ignore.
inline uint64_t bytesEqual(uint64_t word, char c) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  const uint64_t x = word ^ (kOnes * static_cast<unsigned char>(c));
  return (x - kOnes) & ~x & (kOnes << 7);
}

// Where a key that starts at `begin` ends: its closing quote or its first
// backslash, or `end` when there is neither before it. `dotted` tells
// whether the key has a '.' before that point. Reads eight bytes at a time
// (the record is followed by kRecordPadding readable bytes), which keeps
// the scan of an object's keys off the byte-at-a-time path.
inline const char* keyEnd(const char* begin, const char* end, bool& dotted) {
  if constexpr (std::endian::native == std::endian::little) {
    for (const char* p = begin; p < end; p += 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      const uint64_t stop = bytesEqual(word, '"') | bytesEqual(word, '\\');
      const uint64_t dots = bytesEqual(word, '.');
      if (stop == 0) {
        dotted |= dots != 0;
        continue;
      }
      const int at = std::countr_zero(stop);
      dotted |= dots != 0 && std::countr_zero(dots) < at;
      const char* found = p + at / 8;
      return found < end ? found : end;
    }
    return end;
  } else {
    const char* p = begin;
    while (p < end && *p != '"' && *p != '\\') dotted |= *p++ == '.';
    return p;
  }
}

std::string_view typeName(od::json_type type) {
  switch (type) {
    case od::json_type::array:
      return "an array";
    case od::json_type::object:
      return "an object";
    case od::json_type::number:
      return "a number";
    case od::json_type::string:
      return "a string";
    case od::json_type::boolean:
      return "a boolean";
    case od::json_type::null:
      return "null";
  }
  return "an unknown value";
}

}  // namespace

JsonDecoder::JsonDecoder() : trie_(1), event_(*this) {}

void JsonDecoder::setFields(std::span<const std::string> paths) {
  trie_.assign(1, TrieNode{});
  values_.reset(paths.size());
  event_.publish(values_.table(), &values_.present());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    uint32_t node = 0;
    std::string_view rest = paths[i];
    while (true) {
      const std::size_t dot = rest.find('.');
      const std::string_view part = rest.substr(0, dot);
      const uint32_t found = trie_[node].children.find(part);
      if (found == 0) {
        const auto child = static_cast<uint32_t>(trie_.size());
        // Index, not reference: emplace_back may move the nodes.
        trie_[node].children.insert(part, child);
        trie_.emplace_back();
        node = child;
      } else {
        node = found;
      }
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    trie_[node].ids.push_back(static_cast<FieldId>(i));
  }
}

const Event* JsonDecoder::decode(std::string_view record, DecodeError& error) {
  values_.clear();
  raw_ = record;

  auto fail = [&](std::string_view reason, std::string detail) -> const Event* {
    values_.clear();
    error.reason = reason;
    error.detail = std::move(detail);
    return nullptr;
  };
  auto failWith = [&](simdjson::error_code code) {
    if (code == simdjson::DEPTH_ERROR) {
      return fail("too_deep",
                  "a wanted field is nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    return fail("malformed_json", simdjson::error_message(code));
  };

  bool blank = true;
  for (char c : record) {
    if (!isJsonSpace(c)) {
      blank = false;
      break;
    }
  }
  if (blank) return fail("empty_record", "the record is empty or only whitespace");

  // The source guarantees kRecordPadding readable bytes after the record,
  // so simdjson may parse in place; no copy.
  od::document doc;
  if (auto err =
          parser_.iterate(record.data(), record.size(), record.size() + kRecordPadding).get(doc)) {
    return failWith(err);
  }
  od::json_type type{};
  if (auto err = doc.type().get(type)) return failWith(err);
  if (type != od::json_type::object) {
    return fail("not_an_object",
                "the record is " + std::string(typeName(type)) + ", not a JSON object");
  }
  od::object root;
  if (auto err = doc.get_object().get(root)) return failWith(err);
  if (auto err = walkObject(root, 0, 1)) return failWith(err);
  // simdjson 3.0 has no document::at_end(); current_location() reports
  // OUT_OF_BOUNDS exactly when every token has been consumed.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    return fail("malformed_json", "trailing content after the JSON object at byte " +
                                      std::to_string(trailing - record.data()));
  }
  return &event_;
}

simdjson::error_code JsonDecoder::walkObject(od::object& object, uint32_t node, int depth) {
  const char* const end = raw_.data() + raw_.size();
  for (auto field_result : object) {
    if (auto err = field_result.error()) return err;
    od::field& field = field_result.value_unsafe();
    // Fast path: an unescaped key is the raw bytes up to the closing quote
    // (the string was validated when the record was indexed). A key with a
    // backslash is unescaped into the parser's buffer instead.
    const char* const key_begin = field.key().raw();
    bool dotted = false;
    const char* const key_end = keyEnd(key_begin, end, dotted);
    std::string_view key;
    if (key_end < end && *key_end == '"') {
      key = std::string_view(key_begin, static_cast<std::size_t>(key_end - key_begin));
    } else if (auto err = field.unescaped_key().get(key)) {
      return err;
    } else {
      dotted = key.find('.') != std::string_view::npos;
    }
    // Most keys hold no dot: their lookup is inlined here.
    const uint32_t child = dotted ? childFor(node, key) : trie_[node].children.find(key);
    // An unwanted value is skipped by the iterator when it moves on.
    if (child == 0) continue;
    if (auto err = walkValue(field.value(), child, depth + 1)) return err;
  }
  return simdjson::SUCCESS;
}

simdjson::error_code JsonDecoder::walkValue(Value& value, uint32_t node, int depth) {
  od::json_type type{};
  if (auto err = value.type().get(type)) return err;
  const TrieNode& n = trie_[node];
  switch (type) {
    case od::json_type::array: {
      if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
      od::array array;
      if (auto err = value.get_array().get(array)) return err;
      for (auto element_result : array) {
        if (auto err = element_result.error()) return err;
        if (auto err = walkValue(element_result.value_unsafe(), node, depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::object: {
      if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
      if (n.children.empty()) {
        // Only the object itself is wanted: take its text without walking it.
        od::object object;
        if (auto err = value.get_object().get(object)) return err;
        std::string_view text;
        if (auto err = object.raw_json().get(text)) return err;
        addValue(n, FieldValue{.type = FieldValue::Type::kComposite,
                               .text = trimTrailingSpace(text.data(), text.data() + text.size())});
        return simdjson::SUCCESS;
      }
      const char* const begin = value.raw_json_token().data();
      od::object object;
      if (auto err = value.get_object().get(object)) return err;
      if (auto err = walkObject(object, node, depth)) return err;
      if (!n.ids.empty()) {
        // The walk consumed the object, so the iterator now sits on the token
        // after it: that is where the object's text ends.
        const char* end = nullptr;
        if (value.current_location().get(end)) end = raw_.data() + raw_.size();
        addValue(n, FieldValue{.type = FieldValue::Type::kComposite,
                               .text = trimTrailingSpace(begin, end)});
      }
      return simdjson::SUCCESS;
    }
    default:
      // A scalar where a path only passes through: nothing to take, and
      // the iterator skips it.
      if (n.ids.empty()) return simdjson::SUCCESS;
      return recordLeaf(value, type, n);
  }
}

simdjson::error_code JsonDecoder::recordLeaf(Value& value, od::json_type type,
                                             const TrieNode& node) {
  FieldValue v;
  switch (type) {
    case od::json_type::string: {
      v.type = FieldValue::Type::kString;
      if (auto err = value.get_string().get(v.text)) return err;
      break;
    }
    case od::json_type::number: {
      v.type = FieldValue::Type::kNumber;
      const std::string_view token = value.raw_json_token();
      v.text = trimTrailingSpace(token.data(), token.data() + token.size());
      if (auto err = value.get_double().get(v.number)) return err;
      break;
    }
    case od::json_type::boolean: {
      v.type = FieldValue::Type::kBool;
      if (auto err = value.get_bool().get(v.boolean)) return err;
      v.text = v.boolean ? "true" : "false";
      break;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = value.is_null().get(is_null)) return err;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      v.type = FieldValue::Type::kNull;
      v.text = "null";
      break;
    }
    default:
      return simdjson::INCORRECT_TYPE;
  }
  addValue(node, v);
  return simdjson::SUCCESS;
}

uint32_t JsonDecoder::childFor(uint32_t node, std::string_view key) const {
  // Trie edges never contain dots (paths are split on them), so a dotted
  // key is followed one part at a time.
  while (true) {
    const std::size_t dot = key.find('.');
    node = trie_[node].children.find(key.substr(0, dot));
    if (node == 0 || dot == std::string_view::npos) return node;
    key.remove_prefix(dot + 1);
  }
}

void JsonDecoder::addValue(const TrieNode& node, const FieldValue& value) {
  for (FieldId id : node.ids) values_.add(id, value);
}

std::string_view JsonDecoder::trimTrailingSpace(const char* begin, const char* end) const {
  while (end > begin && isJsonSpace(end[-1])) --end;
  return std::string_view(begin, static_cast<std::size_t>(end - begin));
}

}  // namespace trailwatch::decode
