#include "daemon/decode/key_value.h"

namespace trailwatch::decode {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

const Event* KeyValueDecoder::decode(std::string_view s, DecodeError& error) {
  table_.begin(s);
  const std::size_t n = s.size();
  std::size_t i = 0;
  bool any = false;
  bool blank = true;
  while (i < n) {
    while (i < n && isSpace(s[i])) ++i;
    if (i < n) blank = false;
    const std::size_t k = i;
    while (i < n && !isSpace(s[i]) && s[i] != '=') ++i;
    if (i >= n || s[i] != '=' || i == k) {
      while (i < n && !isSpace(s[i])) ++i;  // a word that is no pair
      continue;
    }
    const std::string_view key = s.substr(k, i - k);
    ++i;
    std::string_view value;
    bool quoted = false;
    if (i < n && (s[i] == '"' || s[i] == '\'')) {
      const char quote = s[i];
      const std::size_t v = ++i;
      bool escaped = false;
      while (i < n && s[i] != quote) {
        if (s[i] == '\\' && i + 1 < n) {
          escaped = true;
          i += 2;
        } else {
          ++i;
        }
      }
      value = s.substr(v, std::min(i, n) - v);  // an unclosed quote runs to the end
      if (i < n) ++i;
      if (escaped) {
        scratch_.clear();
        for (std::size_t j = 0; j < value.size(); ++j) {
          if (value[j] == '\\' && j + 1 < value.size()) ++j;
          scratch_.push_back(value[j]);
        }
        value = table_.keep(scratch_);
      }
      quoted = true;
    } else {
      const std::size_t v = i;
      while (i < n && !isSpace(s[i])) ++i;
      value = s.substr(v, i - v);
    }
    any = true;
    path_.assign("kv.").append(key);
    for (const std::string_view path : {std::string_view(path_), key}) {
      if (path == key && key.starts_with("kv.")) break;  // `kv.` names pairs by key
      if (!table_.wants(path)) continue;
      if (quoted) {
        table_.addString(path, value);
      } else {
        table_.addNumber(path, value);
      }
    }
  }
  if (any) return &table_;
  table_.begin(s);
  if (blank) {
    error.reason = "empty_record";
    error.detail = "the record is empty or only whitespace";
  } else {
    error.reason = "no_pairs";
    error.detail = "no key=value pair in the record";
  }
  return nullptr;
}

}  // namespace trailwatch::decode
