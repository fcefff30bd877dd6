#include "daemon/decode/k8s_audit.h"

namespace trailwatch::decode {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kDerived[] = {
    "@timestamp", "event.action", "event.outcome", "user.name", "user.id",
    "user.roles", "source.ip",    "resource.type", "url.path",
};

bool isEvent(dom::object object) {
  const std::string_view kind = stringAt(object, "kind");
  if (kind == "Event") return true;
  if (!kind.empty()) return false;
  // Some shippers (EKS via CloudWatch, Panther) drop kind/apiVersion.
  return !stringAt(object, "auditID").empty() && !stringAt(object, "verb").empty();
}

}  // namespace

K8sAuditDecoder::K8sAuditDecoder() { prepareParser(parser_); }

void K8sAuditDecoder::setFields(std::span<const std::string> paths) {
  table_.setFields(paths);
  native_.setFields(paths, kDerived);
  pending_.clear();
  next_ = 0;
}

const Event* K8sAuditDecoder::decode(std::string_view record, DecodeError& error) {
  pending_.clear();
  next_ = 0;
  list_ = false;
  record_ = record;
  table_.begin(record);
  dom::object root;
  if (!parseRecordObject(parser_, record, root, error)) return nullptr;
  if (stringAt(root, "kind") == "EventList") {
    list_ = true;
    dom::array items;
    if (arrayAt(root, "items", items)) {
      for (dom::element item : items) {
        dom::object event;
        if (item.get_object().get(event) == simdjson::SUCCESS && isEvent(event)) {
          pending_.push_back(event);
        }
      }
    }
    if (pending_.empty()) {
      error.reason = "not_an_audit_event";
      error.detail = "the EventList holds no audit event";
      return nullptr;
    }
    return emit(pending_[next_++]);
  }
  if (!isEvent(root)) {
    error.reason = "not_an_audit_event";
    error.detail = "kind is neither Event nor EventList, and the object has no auditID and verb";
    return nullptr;
  }
  return emit(root);
}

const Event* K8sAuditDecoder::next(DecodeError& error) {
  (void)error;
  if (next_ >= pending_.size()) return nullptr;
  return emit(pending_[next_++]);
}

const Event* K8sAuditDecoder::emit(dom::object event) {
  if (list_) {
    item_raw_ = simdjson::minify(event);
    table_.begin(item_raw_);
  } else {
    table_.begin(record_);
  }
  fill(event);
  native_.addAll(event, table_);
  return &table_;
}

void K8sAuditDecoder::fill(dom::object event) {
  auto put = [this](std::string_view path, std::string_view text) {
    if (!text.empty()) table_.addString(path, text);
  };
  std::string_view time = stringAt(event, "stageTimestamp");
  if (time.empty()) time = stringAt(event, "requestReceivedTimestamp");
  if (time.empty()) time = stringAt(event, "timestamp");
  put("@timestamp", time);
  put("event.action", stringAt(event, "verb"));

  if (table_.wants("event.outcome")) {
    // The decision annotation is one key with dots in it.
    dom::object annotations;
    const bool forbidden = objectAt(event, "annotations", annotations) &&
                           stringAt(annotations, "authorization.k8s.io/decision") == "forbid";
    int64_t code = 0;
    dom::object status;
    const bool has_code = objectAt(event, "responseStatus", status) &&
                          status.at_key("code").get_int64().get(code) == simdjson::SUCCESS;
    if (forbidden || (has_code && code >= 400)) {
      table_.addString("event.outcome", "failure");
    } else if (has_code) {
      table_.addString("event.outcome", "success");
    }
  }

  dom::object user;
  if (objectAt(event, "user", user)) {
    put("user.name", stringAt(user, "username"));
    put("user.id", stringAt(user, "uid"));
    dom::array groups;
    if (table_.wants("user.roles") && arrayAt(user, "groups", groups)) {
      for (dom::element g : groups) {
        std::string_view group;
        if (g.get_string().get(group) == simdjson::SUCCESS) put("user.roles", group);
      }
    }
  }
  dom::array ips;
  if (table_.wants("source.ip") && arrayAt(event, "sourceIPs", ips)) {
    for (dom::element i : ips) {
      std::string_view ip;
      if (i.get_string().get(ip) == simdjson::SUCCESS) put("source.ip", ip);
    }
  }
  put("resource.type", stringAtPath(event, "objectRef.resource"));
  std::string_view uri = stringAt(event, "requestURI");
  put("url.path", uri.substr(0, uri.find('?')));
}

}  // namespace trailwatch::decode
