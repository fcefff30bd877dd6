#include "daemon/alert/redaction.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

#include <simdjson.h>

#include "daemon/alert/hash_chain.h"
#include "daemon/common/json_writer.h"

namespace trailwatch::alert {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

enum class Action { kKeep, kDrop, kPseudonymize };

// By value: iterating `e.get_object().value_unsafe()` directly would range
// over a reference into a destroyed temporary. Callers check the type first.
simdjson::dom::object objectOf(const element& e) {
  simdjson::dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) std::abort();
  return o;
}

simdjson::dom::array arrayOf(const element& e) {
  simdjson::dom::array a;
  if (e.get_array().get(a) != simdjson::SUCCESS) std::abort();
  return a;
}

constexpr std::string_view kDroppedText = "[redacted]";

std::string join(std::string_view path, std::string_view key) {
  std::string out;
  out.reserve(path.size() + key.size() + 1);
  out.append(path);
  if (!path.empty()) out.push_back('.');
  out.append(key);
  return out;
}

// The text a scalar stands for when it is pseudonymized or searched for:
// a string's own bytes, a number's JSON text (integral numbers without a
// fraction, so 17 and 17.0 are one value), true/false.
bool scalarText(const element& e, std::string& out) {
  switch (e.type()) {
    case element_type::STRING: {
      std::string_view s;
      if (e.get_string().get(s) != simdjson::SUCCESS) return false;
      out.assign(s);
      return true;
    }
    case element_type::INT64:
      out = std::to_string(int64_t(e.get_int64().value_unsafe()));
      return true;
    case element_type::UINT64:
      out = std::to_string(uint64_t(e.get_uint64().value_unsafe()));
      return true;
    case element_type::DOUBLE: {
      const double d = e.get_double().value_unsafe();
      if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e15) {
        out = std::to_string(static_cast<int64_t>(d));
      } else {
        out = simdjson::minify(e);
      }
      return true;
    }
    case element_type::BOOL:
      out = e.get_bool().value_unsafe() ? "true" : "false";
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string pseudonym(std::string_view key, std::string_view value) {
  std::string digest = chainDigest(value, key);
  digest.resize(kPseudonymHexDigits);
  return std::string(kPseudonymPrefix) + digest;
}

bool fieldPatternMatches(std::string_view pattern, std::string_view field) {
  // Glob with `*` only; iterative with one backtrack point (linear enough
  // for field names, and no recursion on hostile patterns).
  size_t p = 0, f = 0, star = std::string_view::npos, resume = 0;
  while (f < field.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = f;
    } else if (p < pattern.size() && pattern[p] == field[f]) {
      ++p;
      ++f;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      f = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

struct Redactor::Parser {
  simdjson::dom::parser parser;
};

// One alert's redaction: first every matched field's values are collected
// (so that they can be searched for everywhere else), then the alert is
// written out.
struct Redactor::Walk {
  const RedactionPolicy& policy;
  std::string& out;
  // (value, replacement), longest value first.
  std::vector<std::pair<std::string, std::string>> found;
  std::string scratch;

  Action actionFor(std::string_view path) const {
    for (const auto& p : policy.drop) {
      if (fieldPatternMatches(p, path)) return Action::kDrop;
    }
    for (const auto& p : policy.pseudonymize) {
      if (fieldPatternMatches(p, path)) return Action::kPseudonymize;
    }
    return Action::kKeep;
  }

  // Pass 1 -----------------------------------------------------------------

  void collectValues(const element& e, Action action) {
    if (e.is_object()) {
      for (auto [k, v] : objectOf(e)) collectValues(v, action);
    } else if (e.is_array()) {
      for (element v : arrayOf(e)) collectValues(v, action);
    } else if ((e.is_string() || e.is_number()) && scalarText(e, scratch) && !scratch.empty()) {
      found.emplace_back(scratch, action == Action::kDrop ? std::string(kDroppedText)
                                                          : pseudonym(policy.key, scratch));
    }
  }

  void collect(const element& e, const std::string& path) {
    if (!path.empty()) {
      if (const Action a = actionFor(path); a != Action::kKeep) {
        collectValues(e, a);
        return;
      }
    }
    if (e.is_object()) {
      for (auto [k, v] : objectOf(e)) collect(v, join(path, k));
    } else if (e.is_array()) {
      for (element v : arrayOf(e)) collect(v, path);
    }
  }

  void sortFound() {
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return a.first.size() != b.first.size() ? a.first.size() > b.first.size() : a.first < b.first;
    });
    found.erase(std::unique(found.begin(), found.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                found.end());
  }

  // Pass 2 -----------------------------------------------------------------

  // `s` with every collected value replaced, scanning left to right and
  // taking the longest value that starts at each position.
  void appendSwept(std::string_view s) {
    if (found.empty()) {
      appendJsonString(out, s);
      return;
    }
    std::string swept;
    size_t i = 0;
    while (i < s.size()) {
      const std::pair<std::string, std::string>* hit = nullptr;
      for (const auto& f : found) {
        if (s.compare(i, f.first.size(), f.first) == 0) {
          hit = &f;
          break;
        }
      }
      if (hit != nullptr) {
        swept.append(hit->second);
        i += hit->first.size();
      } else {
        swept.push_back(s[i++]);
      }
    }
    appendJsonString(out, swept);
  }

  // Writes `e`, found at `path`. Under a pseudonymized field every key is
  // kept (swept) and every scalar replaced by its pseudonym; otherwise each
  // member takes its own action and strings are swept.
  void emit(const element& e, const std::string& path, bool pseudonymized) {
    if (e.is_object()) {
      out.push_back('{');
      bool first = true;
      for (auto [k, v] : objectOf(e)) {
        std::string child;
        Action a = Action::kPseudonymize;
        if (!pseudonymized) {
          child = join(path, k);
          a = actionFor(child);
          if (a == Action::kDrop) continue;
        }
        if (!first) out.push_back(',');
        first = false;
        appendSwept(k);
        out.push_back(':');
        emit(v, child, a == Action::kPseudonymize);
      }
      out.push_back('}');
    } else if (e.is_array()) {
      out.push_back('[');
      bool first = true;
      for (element v : arrayOf(e)) {
        if (!first) out.push_back(',');
        first = false;
        emit(v, path, pseudonymized);
      }
      out.push_back(']');
    } else if (!pseudonymized) {
      if (e.is_string()) {
        appendSwept(e.get_string().value_unsafe());
      } else {
        out.append(simdjson::minify(e));
      }
    } else if (scalarText(e, scratch)) {
      // Pass 1 computed it already (HMAC is most of the cost).
      for (const auto& [value, replacement] : found) {
        if (value == scratch && replacement.starts_with(kPseudonymPrefix)) {
          appendJsonString(out, replacement);
          return;
        }
      }
      appendJsonString(out, pseudonym(policy.key, scratch));
    } else {
      out.append("null");
    }
  }

  // A correlation or suppression section: verbatim but for its `group`.
  void emitSection(const element& e) {
    if (!e.is_object()) {
      out.append(simdjson::minify(e));
      return;
    }
    out.push_back('{');
    bool first = true;
    for (auto [k, v] : objectOf(e)) {
      if (!first) out.push_back(',');
      first = false;
      appendJsonString(out, k);
      out.push_back(':');
      if (k == "group") {
        emit(v, "", false);
      } else {
        out.append(simdjson::minify(v));
      }
    }
    out.push_back('}');
  }

  static bool isSection(std::string_view key) {
    return key == "correlation" || key == "suppressed";
  }

  Status run(const simdjson::dom::object& alert) {
    // Whether `event` is a whole record, and of which kind.
    std::string_view record;
    bool has_record = alert["record"].get_string().get(record) == simdjson::SUCCESS;
    const bool drop_record = has_record && (record != "json" || !policy.redact_records);

    for (auto [k, v] : alert) {
      if (k == "@timestamp") {
        if (actionFor(k) != Action::kKeep) collectValues(v, actionFor(k));
      } else if (k == "event") {
        if (!drop_record) collect(v, "");
      } else if (isSection(k)) {
        element group;
        if (v["group"].get(group) == simdjson::SUCCESS) collect(group, "");
      } else if (k == "sample") {
        collect(v, "");
      }
    }
    sortFound();

    out.push_back('{');
    bool first = true;
    for (auto [k, v] : alert) {
      Action a = Action::kKeep;
      if (k == "@timestamp") a = actionFor(k);
      if (a == Action::kDrop) continue;
      if (!first) out.push_back(',');
      first = false;
      appendJsonString(out, k);
      out.push_back(':');
      if (a == Action::kPseudonymize) {
        emit(v, "", true);
      } else if (k == "event") {
        if (drop_record || !v.is_object()) {
          out.append("{}");
        } else {
          emit(v, "", false);
        }
      } else if (isSection(k)) {
        emitSection(v);
      } else if (k == "sample") {
        emit(v, "", false);
      } else {
        out.append(simdjson::minify(v));
      }
    }
    out.push_back('}');
    return Status::Ok();
  }
};

Redactor::Redactor(RedactionPolicy policy)
    : policy_(std::move(policy)), parser_(std::make_unique<Parser>()) {}

Redactor::~Redactor() = default;

Status Redactor::redact(std::string_view alert_json, std::string& out) {
  out.clear();
  simdjson::dom::element root;
  if (auto error = parser_->parser.parse(alert_json.data(), alert_json.size(), true).get(root)) {
    return Error{std::string("alert is not valid JSON (") + simdjson::error_message(error) +
                 "); withheld rather than sent unredacted"};
  }
  simdjson::dom::object alert;
  if (root.get_object().get(alert) != simdjson::SUCCESS) {
    return Error{"alert is not a JSON object; withheld rather than sent unredacted"};
  }
  Walk walk{policy_, out, {}, {}};
  Status s = walk.run(alert);
  if (!s.ok()) out.clear();
  return s;
}

RedactingSink::RedactingSink(std::unique_ptr<AlertSink> inner, RedactionPolicy policy,
                             std::function<void()> on_failure)
    : inner_(std::move(inner)), on_failure_(std::move(on_failure)), redactor_(std::move(policy)) {}

Status RedactingSink::write(std::string_view alert_json) {
  std::lock_guard lock(mu_);
  if (Status s = redactor_.redact(alert_json, line_); !s.ok()) {
    if (on_failure_) on_failure_();
    return Error{"redaction: " + s.error()};
  }
  return inner_->write(line_);
}

}  // namespace trailwatch::alert
