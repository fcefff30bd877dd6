#include "daemon/decode/cloudtrail.h"

namespace trailwatch::decode {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kDerived[] = {
    "@timestamp", "event.action", "event.provider", "event.outcome",    "user.id",
    "user.name",  "source.ip",    "cloud.region",   "cloud.account.id", "user_agent.original",
};

bool isEvent(dom::object object) {
  for (std::string_view key : {"eventName", "eventSource", "eventVersion"}) {
    dom::element e;
    if (object.at_key(key).get(e) == simdjson::SUCCESS) return true;
  }
  return false;
}

}  // namespace

CloudTrailDecoder::CloudTrailDecoder() { prepareParser(parser_); }

void CloudTrailDecoder::setFields(std::span<const std::string> paths) {
  table_.setFields(paths);
  native_.setFields(paths, kDerived);
  pending_.clear();
  next_ = 0;
}

const Event* CloudTrailDecoder::decode(std::string_view record, DecodeError& error) {
  pending_.clear();
  next_ = 0;
  file_shape_ = false;
  record_ = record;
  table_.begin(record);
  dom::object root;
  if (!parseRecordObject(parser_, record, root, error)) return nullptr;
  dom::array records;
  if (arrayAt(root, "Records", records)) {
    file_shape_ = true;
    for (dom::element r : records) {
      dom::object event;
      if (r.get_object().get(event) == simdjson::SUCCESS && isEvent(event)) {
        pending_.push_back(event);
      }
    }
    if (pending_.empty()) {
      error.reason = "not_an_audit_event";
      error.detail = "the Records array holds no CloudTrail event";
      return nullptr;
    }
    return emit(pending_[next_++]);
  }
  if (!isEvent(root)) {
    error.reason = "not_an_audit_event";
    error.detail = "the object has none of eventName, eventSource, eventVersion, Records";
    return nullptr;
  }
  return emit(root);
}

const Event* CloudTrailDecoder::next(DecodeError& error) {
  (void)error;
  if (next_ >= pending_.size()) return nullptr;
  return emit(pending_[next_++]);
}

const Event* CloudTrailDecoder::emit(dom::object event) {
  if (file_shape_) {
    element_raw_ = simdjson::minify(event);
    table_.begin(element_raw_);
  } else {
    table_.begin(record_);
  }
  fill(event);
  native_.addAll(event, table_);
  return &table_;
}

void CloudTrailDecoder::fill(dom::object event) {
  auto put = [this](std::string_view path, std::string_view text) {
    if (!text.empty()) table_.addString(path, text);
  };
  put("@timestamp", stringAt(event, "eventTime"));
  put("event.action", stringAt(event, "eventName"));
  put("event.provider", stringAt(event, "eventSource"));
  if (table_.wants("event.outcome")) {
    // errorCode is absent on success; some producers write null or "".
    std::string_view error_code;
    dom::element e;
    const bool failed =
        event.at_key("errorCode").get(e) == simdjson::SUCCESS && !e.is_null() &&
        !(e.get_string().get(error_code) == simdjson::SUCCESS && error_code.empty());
    table_.addString("event.outcome", failed ? "failure" : "success");
  }
  std::string_view id = stringAtPath(event, "userIdentity.arn");
  if (id.empty()) id = stringAtPath(event, "userIdentity.principalId");
  put("user.id", id);
  std::string_view name = stringAtPath(event, "userIdentity.userName");
  if (name.empty())
    name = stringAtPath(event, "userIdentity.sessionContext.sessionIssuer.userName");
  put("user.name", name);
  put("source.ip", stringAt(event, "sourceIPAddress"));
  put("cloud.region", stringAt(event, "awsRegion"));
  put("cloud.account.id", stringAt(event, "recipientAccountId"));
  put("user_agent.original", stringAt(event, "userAgent"));
}

}  // namespace trailwatch::decode
