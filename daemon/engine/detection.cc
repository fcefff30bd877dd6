#include "daemon/engine/detection.h"

#include <charconv>

#include "daemon/common/ascii.h"

namespace trailwatch::engine {
namespace {

bool isTextual(const FieldValue& v) {
  return v.type == FieldValue::Type::kString || v.type == FieldValue::Type::kNumber ||
         v.type == FieldValue::Type::kBool;
}

std::optional<double> numberOf(const FieldValue& v) {
  if (v.type == FieldValue::Type::kNumber) return v.number;
  if (v.type == FieldValue::Type::kString) return parseDecimal(v.text);
  return std::nullopt;
}

using ascii::equalsFolded;

}  // namespace

std::optional<double> parseDecimal(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  size_t digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    size_t exponent = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++exponent;
    if (exponent == 0) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool ValueTest::matchesOne(const FieldValue& v, const Event& event) const {
  switch (kind) {
    case Kind::kString:
      return isTextual(v) && pattern.matches(v.text);
    case Kind::kRegex:
      return isTextual(v) &&
             RE2::PartialMatch(re2::StringPiece(v.text.data(), v.text.size()), *regex);
    case Kind::kNumber: {
      const auto n = numberOf(v);
      return n && *n == number;
    }
    case Kind::kCompare: {
      const auto n = numberOf(v);
      if (!n) return false;
      switch (compare) {
        case Compare::kGt:
          return *n > number;
        case Compare::kGte:
          return *n >= number;
        case Compare::kLt:
          return *n < number;
        case Compare::kLte:
          return *n <= number;
      }
      return false;
    }
    case Kind::kBool:
      if (v.type == FieldValue::Type::kBool) return v.boolean == flag;
      return v.type == FieldValue::Type::kString && equalsFolded(v.text, flag ? "true" : "false");
    case Kind::kCidr: {
      if (v.type != FieldValue::Type::kString) return false;
      const IpNetwork::Address address = IpNetwork::address(v.text);
      if (address.length == 0) return false;
      for (const IpNetwork& network : networks) {
        if (network.contains(address)) return true;
      }
      return false;
    }
    case Kind::kFieldRef:
      if (!isTextual(v)) return false;
      for (const FieldValue& other : event.values(ref)) {
        if (!isTextual(other)) continue;
        if (anchor == SigmaPattern::Anchor::kWhole && v.type == FieldValue::Type::kNumber &&
            other.type == FieldValue::Type::kNumber) {
          if (v.number == other.number) return true;
          continue;
        }
        if (SigmaPattern::matchLiteral(v.text, other.text, anchor, cased)) return true;
      }
      return false;
    case Kind::kNull:
    case Kind::kExists:
      return false;  // decided on the whole span in matches()
    case Kind::kNever:
      return false;
  }
  return false;
}

bool ValueTest::matches(std::span<const FieldValue> values, const Event& event) const {
  if (kind == Kind::kExists) return values.empty() != flag;
  if (kind == Kind::kNull) {
    if (values.empty()) return true;
    for (const FieldValue& v : values) {
      if (v.type == FieldValue::Type::kNull) return true;
    }
    return false;
  }
  for (const FieldValue& v : values) {
    if (matchesOne(v, event)) return true;
  }
  return false;
}

bool FieldTest::matchesValues(std::span<const FieldValue> field_values, const Event& event) const {
  if (all) {
    for (const ValueTest& v : values) {
      if (!v.matches(field_values, event)) return false;
    }
    return true;
  }
  for (const ValueTest& v : values) {
    if (v.matches(field_values, event)) return true;
  }
  return false;
}

bool FieldTest::matches(const Event& event) const {
  // Keyword searches (rare) build their one value apart, so the usual
  // field test carries no stack value to set up.
  if (raw) {
    FieldValue raw_value;
    raw_value.type = FieldValue::Type::kString;
    raw_value.text = event.raw();
    return matchesValues(std::span<const FieldValue>(&raw_value, 1), event);
  }
  return matchesValues(event.values(field), event);
}

namespace {

// An event with no fields: what a test decides when its field is absent.
class NoFields final : public Event {
 public:
  std::string_view raw() const override { return {}; }
};

}  // namespace

bool FieldTest::matchesAbsent() const {
  static const NoFields none;
  return !raw && matchesValues({}, none);
}

bool Search::matches(const Event& event) const {
  for (const auto& alternative : alternatives) {
    bool all = true;
    for (const FieldTest& test : alternative) {
      if (!test.matches(event)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

FlatDetections::FlatDetections(std::span<const Detection> detections) : detections_(detections) {
  for (const Detection& d : detections) {
    first_search_.push_back(static_cast<uint32_t>(searches_.size()));
    for (const Search& search : d.searches) {
      searches_.push_back({static_cast<uint32_t>(alternatives_.size()),
                           static_cast<uint32_t>(search.alternatives.size())});
      for (const auto& alternative : search.alternatives) {
        alternatives_.push_back(
            {static_cast<uint32_t>(tests_.size()), static_cast<uint32_t>(alternative.size())});
        for (const FieldTest& test : alternative) {
          tests_.push_back({test.field, test.raw, test.matchesAbsent(), &test});
        }
      }
    }
  }
}

bool FlatDetections::searchMatches(uint32_t search, const Event& event) const {
  const Range alternatives = searches_[search];
  for (uint32_t a = alternatives.first; a < alternatives.first + alternatives.count; ++a) {
    const Range tests = alternatives_[a];
    bool all = true;
    for (uint32_t t = tests.first; t < tests.first + tests.count && all; ++t) {
      const Test& test = tests_[t];
      if (test.raw) {
        all = test.test->matches(event);
        continue;
      }
      const auto values = event.values(test.field);
      all = values.empty() ? test.on_absent : test.test->matchesValues(values, event);
    }
    if (all) return true;
  }
  return false;
}

}  // namespace trailwatch::engine
