#include "daemon/alert/alertmanager_sink.h"

#include <map>

#include <simdjson.h>

#include "daemon/alert/webhook_sink.h"
#include "daemon/common/ascii.h"
#include "daemon/common/json_writer.h"

namespace trailwatch::alert {
namespace {

constexpr size_t kMaxFields = 32;
constexpr size_t kMaxValueBytes = 1024;
constexpr std::string_view kOwnLabels[] = {"alertname", "severity", "rule_id", "control"};
constexpr std::string_view kOwnAnnotations[] = {
    "summary", "description", "detected_at", "event_time", "correlation_type", "timespan",
    "count",   "value",       "events",      "first_seen", "last_seen"};

// A Prometheus label name: [A-Za-z_][A-Za-z0-9_]*.
std::string sanitizeName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) {
    out.push_back(ascii::isAlnum(c) ? c : '_');
  }
  if (out.empty() || ascii::isDigit(out[0])) out.insert(out.begin(), '_');
  return out;
}

template <typename List>
bool listed(const List& list, std::string_view name) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

// A JSON value as annotation/label text: strings as they are, anything
// else as compact JSON; cut at kMaxValueBytes.
std::string valueText(simdjson::dom::element value) {
  std::string_view s;
  std::string out = value.get(s) == simdjson::SUCCESS ? std::string(s) : simdjson::minify(value);
  if (out.size() > kMaxValueBytes) {
    out.resize(kMaxValueBytes);
    out += "...";
  }
  return out;
}

std::string_view stringAt(simdjson::dom::object obj, std::string_view key) {
  std::string_view s;
  if (obj[key].get(s) != simdjson::SUCCESS) return {};
  return s;
}

void appendMap(std::string& out, const std::map<std::string, std::string>& m) {
  out.push_back('{');
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out.push_back(',');
    first = false;
    appendJsonString(out, k);
    out.push_back(':');
    appendJsonString(out, v);
  }
  out.push_back('}');
}

}  // namespace

std::string alertmanagerAlertsPath(const std::string& base_target) {
  std::string path = base_target.substr(0, base_target.find('?'));
  if (path.empty() || path.back() != '/') path.push_back('/');
  return path + "api/v2/alerts";
}

Result<std::string> toAlertmanagerAlert(std::string_view alert_json, int64_t now_ms,
                                        std::chrono::milliseconds resolve_after) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(alert_json.data(), alert_json.size(), true).get(doc) != simdjson::SUCCESS) {
    return Error{"the alert is not valid JSON"};
  }
  simdjson::dom::object alert;
  simdjson::dom::object rule;
  if (doc.get(alert) != simdjson::SUCCESS || alert["rule"].get(rule) != simdjson::SUCCESS) {
    return Error{"the alert is not a JSON object with a rule"};
  }
  const std::string_view id = stringAt(rule, "id");
  const std::string_view title = stringAt(rule, "title");
  const std::string_view level = stringAt(rule, "level");

  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  labels["alertname"] = std::string(title.empty() ? id : title);
  if (!level.empty()) labels["severity"] = std::string(level);
  if (!id.empty()) labels["rule_id"] = std::string(id);
  std::string controls;
  simdjson::dom::array control_list;
  if (alert["controls"].get(control_list) == simdjson::SUCCESS) {
    for (simdjson::dom::element c : control_list) {
      std::string_view s;
      if (c.get(s) != simdjson::SUCCESS || s.empty()) continue;
      if (!controls.empty()) controls.push_back(',');
      controls.append(s);
    }
  }
  if (!controls.empty()) labels["control"] = controls;

  std::string summary(title.empty() ? id : title);
  std::string key_values;
  auto addKeyValue = [&](std::string_view name, const std::string& value) {
    if (key_values.size() > 200) return;
    if (!key_values.empty()) key_values += ", ";
    key_values += std::string(name) + "=" + value;
  };

  // Correlation or suppression state: group values become labels.
  simdjson::dom::object state;
  std::string_view section;
  for (std::string_view s : {"correlation", "suppressed"}) {
    if (alert[s].get(state) == simdjson::SUCCESS) {
      section = s;
      break;
    }
  }
  if (!section.empty()) {
    simdjson::dom::object group;
    if (state["group"].get(group) == simdjson::SUCCESS) {
      for (auto [key, value] : group) {
        std::string name = sanitizeName(key);
        if (listed(kOwnLabels, name)) name = "group_" + name;
        const std::string text = valueText(value);
        if (!text.empty()) labels[name] = text;
        addKeyValue(key, text);
      }
    }
    annotations["correlation_type"] =
        std::string(section) + ":" + std::string(stringAt(state, "type"));
    annotations["timespan"] = std::string(stringAt(state, "timespan"));
    for (std::string_view k : {"count", "value", "events"}) {
      simdjson::dom::element v;
      if (state[k].get(v) == simdjson::SUCCESS) annotations[std::string(k)] = valueText(v);
    }
    annotations["first_seen"] = std::string(stringAt(state, "first_seen"));
    annotations["last_seen"] = std::string(stringAt(state, "last_seen"));
    const auto count = annotations.find("count");
    summary +=
        ": " +
        (count != annotations.end() ? count->second + " events" : "value " + annotations["value"]) +
        " in " + annotations["timespan"];
    if (!key_values.empty()) summary += " for " + key_values;
  } else {
    simdjson::dom::object event;
    if (alert["event"].get(event) == simdjson::SUCCESS) {
      size_t n = 0;
      for (auto [key, value] : event) {
        if (n++ >= kMaxFields) break;
        std::string name = sanitizeName(key);
        if (listed(kOwnAnnotations, name)) name = "event_" + name;
        const std::string text = valueText(value);
        annotations[name] = text;
        if (n <= 5) addKeyValue(key, text);
      }
    }
    if (!key_values.empty()) summary += ": " + key_values;
  }
  annotations["summary"] = summary;

  const std::string_view detected_at = stringAt(alert, "detected_at");
  const std::string_view event_time = stringAt(alert, "@timestamp");
  std::string description = "trailwatch rule " + std::string(id);
  if (!level.empty()) description += " (level " + std::string(level) + ")";
  if (!controls.empty()) description += ", controls " + controls;
  simdjson::dom::object source;
  if (alert["source"].get(source) == simdjson::SUCCESS) {
    description += ", source " + std::string(stringAt(source, "name"));
    const std::string_view file = stringAt(source, "file");
    if (!file.empty()) {
      description += " (" + std::string(file);
      uint64_t offset = 0;
      if (source["offset"].get(offset) == simdjson::SUCCESS) {
        description += " at byte " + std::to_string(offset);
      }
      description += ")";
    }
  }
  annotations["description"] = description;
  if (!detected_at.empty()) annotations["detected_at"] = std::string(detected_at);
  if (!event_time.empty()) annotations["event_time"] = std::string(event_time);
  for (auto it = annotations.begin(); it != annotations.end();) {
    it = it->second.empty() ? annotations.erase(it) : std::next(it);
  }

  std::string out = "{\"labels\":";
  appendMap(out, labels);
  out += ",\"annotations\":";
  appendMap(out, annotations);
  out += ",\"startsAt\":";
  appendJsonString(out, detected_at.empty() ? formatRfc3339Millis(now_ms) : detected_at);
  out += ",\"endsAt\":";
  appendJsonString(out, formatRfc3339Millis(now_ms + resolve_after.count()));
  out += "}";
  return out;
}

AlertmanagerTransport::AlertmanagerTransport(std::unique_ptr<HttpPoster> poster,
                                             std::chrono::milliseconds resolve_after)
    : poster_(std::move(poster)), resolve_after_(resolve_after) {}

SendResult AlertmanagerTransport::send(const std::vector<SpoolRecord>& batch) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::string body = "[";
  size_t mapped = 0;
  std::string unusable;
  for (const auto& record : batch) {
    auto am = toAlertmanagerAlert(record.payload, now_ms, resolve_after_);
    if (!am.ok()) {
      unusable = "spool record " + std::to_string(record.seq) + ": " + am.error();
      continue;
    }
    if (mapped++ > 0) body.push_back(',');
    body += *am;
  }
  body.push_back(']');
  if (mapped == 0) return SendResult{SendResult::Kind::kRejected, unusable};
  return classifyHttpReply(poster_->post(body, "application/json"));
}

}  // namespace trailwatch::alert
