#include "daemon/decode/json_fields.h"

#include <charconv>

namespace trailwatch::decode {
namespace {

namespace dom = simdjson::dom;

bool isJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view typeName(dom::element_type type) {
  switch (type) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
    default:
      return "a number";
  }
}

// Number of dot-separated parts of `key` that match steps[at...], or 0 when
// the key does not continue the path there.
std::size_t matchKey(std::string_view key, const std::vector<std::string>& steps, std::size_t at) {
  std::size_t used = 0;
  while (true) {
    if (at + used >= steps.size()) return 0;
    const std::size_t dot = key.find('.');
    if (key.substr(0, dot) != steps[at + used]) return 0;
    ++used;
    if (dot == std::string_view::npos) return used;
    key.remove_prefix(dot + 1);
  }
}

void resolve(dom::element element, const std::vector<std::string>& steps, std::size_t at,
             std::string_view path, FieldTable& table);

void resolveFields(dom::object object, const std::vector<std::string>& steps, std::size_t at,
                   std::string_view path, FieldTable& table) {
  for (dom::key_value_pair field : object) {
    const std::size_t used = matchKey(field.key, steps, at);
    if (used != 0) resolve(field.value, steps, at + used, path, table);
  }
}

void resolve(dom::element element, const std::vector<std::string>& steps, std::size_t at,
             std::string_view path, FieldTable& table) {
  if (at == steps.size()) {
    addJsonValue(table, path, element);
    return;
  }
  // Recursion is bounded by the parser's depth limit (kMaxJsonDepth).
  dom::array array;
  if (element.get_array().get(array) == simdjson::SUCCESS) {
    for (dom::element item : array) resolve(item, steps, at, path, table);
    return;
  }
  dom::object object;
  if (element.get_object().get(object) == simdjson::SUCCESS) {
    resolveFields(object, steps, at, path, table);
  }
}

}  // namespace

void prepareParser(dom::parser& parser) {
  // The depth limit set here survives the parser's later reallocations
  // (they reuse max_depth()).
  // On failure (no memory) parse() allocates again and fails there, counted.
  if (parser.allocate(4096, kMaxJsonDepth) != simdjson::SUCCESS) return;
}

bool parseRecordObject(dom::parser& parser, std::string_view record, dom::object& out,
                       DecodeError& error) {
  bool blank = true;
  for (char c : record) {
    if (!isJsonSpace(c)) {
      blank = false;
      break;
    }
  }
  if (blank) {
    error.reason = "empty_record";
    error.detail = "the record is empty or only whitespace";
    return false;
  }
  dom::element root;
  if (auto err = parser.parse(record.data(), record.size(), true).get(root)) {
    if (err == simdjson::DEPTH_ERROR) {
      error.reason = "too_deep";
      error.detail =
          "the record is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    } else {
      error.reason = "malformed_json";
      error.detail = simdjson::error_message(err);
    }
    return false;
  }
  if (root.get_object().get(out) != simdjson::SUCCESS) {
    error.reason = "not_an_object";
    error.detail = "the record is " + std::string(typeName(root.type())) + ", not a JSON object";
    return false;
  }
  return true;
}

std::string_view stringAt(dom::object object, std::string_view key) {
  std::string_view out;
  if (object.at_key(key).get_string().get(out) != simdjson::SUCCESS) return {};
  return out;
}

std::string_view stringAtPath(dom::object object, std::string_view path) {
  while (true) {
    const std::size_t dot = path.find('.');
    dom::element element;
    if (object.at_key(path.substr(0, dot)).get(element) != simdjson::SUCCESS) return {};
    if (dot == std::string_view::npos) {
      std::string_view out;
      if (element.get_string().get(out) != simdjson::SUCCESS) return {};
      return out;
    }
    if (element.get_object().get(object) != simdjson::SUCCESS) return {};
    path.remove_prefix(dot + 1);
  }
}

std::string_view stringAtPath(dom::element element, std::string_view path) {
  dom::object object;
  if (element.get_object().get(object) != simdjson::SUCCESS) return {};
  return stringAtPath(object, path);
}

bool objectAt(dom::object object, std::string_view key, dom::object& out) {
  return object.at_key(key).get_object().get(out) == simdjson::SUCCESS;
}

bool arrayAt(dom::object object, std::string_view key, dom::array& out) {
  return object.at_key(key).get_array().get(out) == simdjson::SUCCESS;
}

void addJsonValue(FieldTable& table, std::string_view path, dom::element value) {
  if (!table.wants(path)) return;
  FieldValue v;
  switch (value.type()) {
    case dom::element_type::ARRAY: {
      dom::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) return;
      for (dom::element item : array) addJsonValue(table, path, item);
      return;
    }
    case dom::element_type::OBJECT:
      v.type = FieldValue::Type::kComposite;
      v.text = table.keep(simdjson::minify(value));
      break;
    case dom::element_type::STRING:
      v.type = FieldValue::Type::kString;
      if (value.get_string().get(v.text) != simdjson::SUCCESS) return;
      break;
    case dom::element_type::BOOL:
      v.type = FieldValue::Type::kBool;
      if (value.get_bool().get(v.boolean) != simdjson::SUCCESS) return;
      v.text = v.boolean ? "true" : "false";
      break;
    case dom::element_type::NULL_VALUE:
      v.type = FieldValue::Type::kNull;
      v.text = "null";
      break;
    default: {
      // The DOM keeps the number, not its text: print it back (shortest
      // round-trip form) into the table's arena.
      char buffer[64];
      std::to_chars_result printed{};
      int64_t i = 0;
      uint64_t u = 0;
      double d = 0;
      if (value.get_int64().get(i) == simdjson::SUCCESS) {
        printed = std::to_chars(buffer, buffer + sizeof buffer, i);
        d = static_cast<double>(i);
      } else if (value.get_uint64().get(u) == simdjson::SUCCESS) {
        printed = std::to_chars(buffer, buffer + sizeof buffer, u);
        d = static_cast<double>(u);
      } else if (value.get_double().get(d) == simdjson::SUCCESS) {
        printed = std::to_chars(buffer, buffer + sizeof buffer, d);
      } else {
        return;
      }
      if (printed.ec != std::errc()) return;
      v.type = FieldValue::Type::kNumber;
      v.number = d;
      v.text = table.keep(std::string_view(buffer, static_cast<std::size_t>(printed.ptr - buffer)));
      break;
    }
  }
  table.add(path, v);
}

void NativeJsonFields::setFields(std::span<const std::string> paths,
                                 std::span<const std::string_view> derived) {
  wanted_.clear();
  for (const std::string& path : paths) {
    bool own = false;
    for (std::string_view d : derived) own = own || d == path;
    if (own) continue;
    Wanted w;
    w.path = path;
    std::string_view rest = path;
    while (true) {
      const std::size_t dot = rest.find('.');
      w.steps.emplace_back(rest.substr(0, dot));
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    wanted_.push_back(std::move(w));
  }
}

void NativeJsonFields::addAll(dom::object event, FieldTable& table) const {
  // A wanted path has at least one step, so the event object is never
  // itself a value.
  for (const Wanted& w : wanted_) resolveFields(event, w.steps, 0, w.path, table);
}

}  // namespace trailwatch::decode
