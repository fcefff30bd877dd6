#include "daemon/alert/alert_json.h"

#include <algorithm>

#include <simdjson.h>

#include "daemon/common/json_writer.h"

namespace trailwatch::alert {

struct AlertRenderer::Validator {
  simdjson::dom::parser parser;

  // True when `text` is one complete, valid JSON object. The DOM parser
  // validates the whole document, which the on-demand decoder does not;
  // alerts are rare, so the cost lands off the hot path.
  bool isJsonObject(std::string_view text) {
    simdjson::dom::element doc;
    if (parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(doc)) return false;
    return doc.is_object();
  }
};

AlertRenderer::AlertRenderer() : validator_(std::make_unique<Validator>()) {}
AlertRenderer::~AlertRenderer() = default;

namespace {

void appendStringArray(std::string& out, const std::vector<std::string>* items) {
  out.push_back('[');
  if (items != nullptr) {
    bool first = true;
    for (const auto& item : *items) {
      if (!first) out.push_back(',');
      first = false;
      appendJsonString(out, item);
    }
  }
  out.push_back(']');
}

void appendValue(std::string& out, const FieldValue& v) {
  switch (v.type) {
    case FieldValue::Type::kNull:
      out.append("null");
      break;
    case FieldValue::Type::kBool:
      out.append(v.boolean ? "true" : "false");
      break;
    case FieldValue::Type::kNumber:
      appendJsonNumber(out, v.number);
      break;
    case FieldValue::Type::kString:
    case FieldValue::Type::kComposite:
      appendJsonString(out, v.text);
      break;
  }
}

void appendRuleBlock(std::string& out, const AlertRule& rule) {
  out.append(",\"rule\":{\"id\":");
  appendJsonString(out, rule.id);
  out.append(",\"title\":");
  appendJsonString(out, rule.title);
  out.append(",\"level\":");
  appendJsonString(out, rule.level);
  out.append(",\"tags\":");
  appendStringArray(out, rule.tags);
  out.append("},\"controls\":");
  appendStringArray(out, rule.controls);
}

}  // namespace

void renderStateAlert(const AlertRule& rule, const StateAlert& state, int64_t detected_nanos,
                      std::string& out) {
  out.clear();
  out.append("{\"@timestamp\":");
  appendJsonString(out, formatRfc3339(state.last_seen));
  appendRuleBlock(out, rule);
  out.append(",\"");
  out.append(state.section);
  out.append("\":{\"type\":");
  appendJsonString(out, state.type);
  out.append(",\"timespan\":");
  appendJsonString(out, state.timespan);
  out.append(",\"group\":{");
  size_t start = 0;
  const size_t names = state.group_by != nullptr ? state.group_by->size() : 0;
  for (size_t i = 0; i < names; ++i) {
    if (i > 0) out.push_back(',');
    appendJsonString(out, (*state.group_by)[i]);
    out.push_back(':');
    size_t end = state.group.find(state.separator, start);
    if (end == std::string_view::npos) end = state.group.size();
    appendJsonString(out, state.group.substr(std::min(start, state.group.size()), end - start));
    start = end + 1;
  }
  out.append(state.count ? "},\"count\":" : "},\"value\":");
  appendJsonNumber(out, state.figure);
  if (!state.field.empty()) {
    out.append(",\"field\":");
    appendJsonString(out, state.field);
  }
  out.append(",\"events\":");
  out.append(std::to_string(state.events));
  out.append(",\"first_seen\":");
  appendJsonString(out, formatRfc3339(state.first_seen));
  out.append(",\"last_seen\":");
  appendJsonString(out, formatRfc3339(state.last_seen));
  out.append("},\"sample\":[");
  if (state.samples != nullptr) {
    for (size_t i = 0; i < state.samples->size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append((*state.samples)[i]);  // built as JSON objects by the pipeline
    }
  }
  out.append("],\"detected_at\":");
  appendJsonString(out, formatRfc3339(detected_nanos));
  out.push_back('}');
}

void AlertRenderer::render(const AlertRule& rule, const Event& event, int64_t timestamp_field,
                           const AlertOrigin& origin, int64_t read_time_nanos, std::string& out) {
  out.clear();
  const std::string read_time = formatRfc3339(read_time_nanos);
  out.append("{\"@timestamp\":");
  std::string_view event_time;
  if (timestamp_field >= 0) {
    for (const auto& v : event.values(static_cast<FieldId>(timestamp_field))) {
      if (v.type == FieldValue::Type::kString && !v.text.empty()) {
        event_time = v.text;
        break;
      }
    }
  }
  appendJsonString(out, event_time.empty() ? std::string_view(read_time) : event_time);
  appendRuleBlock(out, rule);

  out.append(",\"event\":");
  if (rule.field_names != nullptr && !rule.field_names->empty() && rule.field_ids != nullptr) {
    out.push_back('{');
    for (size_t i = 0; i < rule.field_names->size() && i < rule.field_ids->size(); ++i) {
      if (i > 0) out.push_back(',');
      appendJsonString(out, (*rule.field_names)[i]);
      out.push_back(':');
      const auto values = event.values((*rule.field_ids)[i]);
      if (values.empty()) {
        out.append("null");
      } else if (values.size() == 1) {
        appendValue(out, values[0]);
      } else {
        out.push_back('[');
        for (size_t k = 0; k < values.size(); ++k) {
          if (k > 0) out.push_back(',');
          appendValue(out, values[k]);
        }
        out.push_back(']');
      }
    }
    out.push_back('}');
  } else if (validator_->isJsonObject(event.raw())) {
    out.append(event.raw());
    out.append(",\"record\":\"json\"");
  } else {
    out.append("{\"message\":");
    appendJsonString(out, event.raw());
    out.append("},\"record\":\"text\"");
  }

  out.append(",\"source\":{\"name\":");
  appendJsonString(out, origin.source);
  out.append(",\"file\":");
  appendJsonString(out, origin.file);
  out.append(",\"offset\":");
  out.append(std::to_string(origin.offset));
  out.append("},\"detected_at\":");
  appendJsonString(out, read_time);
  out.push_back('}');
}

}  // namespace trailwatch::alert
