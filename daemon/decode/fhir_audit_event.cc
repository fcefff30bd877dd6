#include "daemon/decode/fhir_audit_event.h"

#include "daemon/common/ascii.h"

namespace trailwatch::decode {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kDerived[] = {
    "@timestamp",    "event.action",   "event.outcome", "event.type", "event.subtype",
    "user.id",       "user.name",      "user.roles",    "source.ip",  "patient.id",
    "resource.type", "purpose_of_use", "host.name",
};

std::string_view actionName(std::string_view code) {
  if (code == "C") return "create";
  if (code == "R") return "read";
  if (code == "U") return "update";
  if (code == "D") return "delete";
  if (code == "E") return "execute";
  return code;
}

// Calls f(code) for every code of a Coding ({code}), a CodeableConcept
// ({coding: [{code}]}) or an array of either: R4 and R5 use both shapes for
// the same element, so both are accepted everywhere.
template <typename F>
void forEachCode(dom::element element, const F& f) {
  dom::array array;
  if (element.get_array().get(array) == simdjson::SUCCESS) {
    for (dom::element item : array) {
      dom::object object;
      if (item.get_object().get(object) == simdjson::SUCCESS) forEachCode(item, f);
    }
    return;
  }
  dom::object object;
  if (element.get_object().get(object) != simdjson::SUCCESS) return;
  const std::string_view code = stringAt(object, "code");
  if (!code.empty()) f(code);
  dom::array coding;
  if (arrayAt(object, "coding", coding)) {
    for (dom::element item : coding) {
      dom::object c;
      if (item.get_object().get(c) != simdjson::SUCCESS) continue;
      const std::string_view code2 = stringAt(c, "code");
      if (!code2.empty()) f(code2);
    }
  }
}

template <typename F>
void forEachCodeAt(dom::object object, std::string_view key, const F& f) {
  dom::element element;
  if (object.at_key(key).get(element) == simdjson::SUCCESS) forEachCode(element, f);
}

bool hasCode(dom::object object, std::string_view key, std::string_view wanted) {
  bool found = false;
  forEachCodeAt(object, key, [&](std::string_view code) { found = found || code == wanted; });
  return found;
}

// A FHIR reference's type and id: `Patient/123`, `Patient/123/_history/2`,
// `https://host/fhir/Patient/123`. Contained (`#x`) and type-less references
// give empty views.
struct Reference {
  std::string_view type, id;
};

Reference parseReference(std::string_view ref) {
  if (ref.empty() || ref.front() == '#') return {};
  if (const std::size_t q = ref.find('?'); q != std::string_view::npos) ref = ref.substr(0, q);
  if (const std::size_t h = ref.find("/_history/"); h != std::string_view::npos) {
    ref = ref.substr(0, h);
  }
  const std::size_t slash = ref.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == ref.size()) return {};
  const std::string_view id = ref.substr(slash + 1);
  std::string_view type = ref.substr(0, slash);
  if (const std::size_t prev = type.rfind('/'); prev != std::string_view::npos) {
    type = type.substr(prev + 1);
  }
  // Resource type names start with an upper-case letter (FHIR names).
  if (type.empty() || !ascii::isUpper(type.front())) return {};
  return {type, id};
}

}  // namespace

FhirAuditEventDecoder::FhirAuditEventDecoder() { prepareParser(parser_); }

void FhirAuditEventDecoder::setFields(std::span<const std::string> paths) {
  table_.setFields(paths);
  native_.setFields(paths, kDerived);
  pending_.clear();
  next_ = 0;
}

const Event* FhirAuditEventDecoder::decode(std::string_view record, DecodeError& error) {
  pending_.clear();
  next_ = 0;
  bundle_ = false;
  record_ = record;
  table_.begin(record);
  dom::object root;
  if (!parseRecordObject(parser_, record, root, error)) return nullptr;
  const std::string_view type = stringAt(root, "resourceType");
  if (type == "AuditEvent") return emit(root);
  if (type == "Bundle") {
    bundle_ = true;
    dom::array entries;
    if (arrayAt(root, "entry", entries)) {
      for (dom::element entry : entries) {
        dom::object resource;
        if (entry.at_key("resource").get_object().get(resource) != simdjson::SUCCESS) continue;
        if (stringAt(resource, "resourceType") == "AuditEvent") pending_.push_back(resource);
      }
    }
    if (pending_.empty()) {
      error.reason = "not_an_audit_event";
      error.detail = "the Bundle holds no AuditEvent entry";
      return nullptr;
    }
    return emit(pending_[next_++]);
  }
  error.reason = "not_an_audit_event";
  error.detail = type.empty() ? "the object has no resourceType"
                              : "resourceType is '" + std::string(type.substr(0, 64)) +
                                    "', not AuditEvent or Bundle";
  return nullptr;
}

const Event* FhirAuditEventDecoder::next(DecodeError& error) {
  (void)error;
  if (next_ >= pending_.size()) return nullptr;
  return emit(pending_[next_++]);
}

const Event* FhirAuditEventDecoder::emit(dom::object resource) {
  if (bundle_) {
    entry_raw_ = simdjson::minify(resource);
    table_.begin(entry_raw_);
  } else {
    table_.begin(record_);
  }
  given_.clear();
  fill(resource);
  native_.addAll(resource, table_);
  return &table_;
}

void FhirAuditEventDecoder::addOnce(std::string_view path, std::string_view text) {
  if (text.empty() || !table_.wants(path)) return;
  for (const auto& [p, t] : given_) {
    if (p == path && t == text) return;
  }
  given_.emplace_back(path, text);
  table_.addString(path, text);
}

void FhirAuditEventDecoder::fill(dom::object ae) {
  addOnce("@timestamp", stringAt(ae, "recorded"));
  addOnce("event.action", actionName(stringAt(ae, "action")));

  dom::element outcome;
  if (ae.at_key("outcome").get(outcome) == simdjson::SUCCESS) {
    std::string_view code;
    if (outcome.get_string().get(code) == simdjson::SUCCESS) {
      // R4 AuditEventOutcome: 0 success, 4 minor, 8 serious, 12 major failure.
      if (!code.empty()) addOnce("event.outcome", code == "0" ? "success" : "failure");
    } else {
      // R5: outcome.code is a Coding of audit-event-outcome (success,
      // minor-failure, serious-failure, major-failure).
      dom::object o;
      if (outcome.get_object().get(o) == simdjson::SUCCESS) {
        std::string_view r5;
        forEachCodeAt(o, "code", [&](std::string_view c) {
          if (r5.empty()) r5 = c;
        });
        if (!r5.empty()) addOnce("event.outcome", r5 == "success" ? "success" : "failure");
      }
    }
  }

  auto add = [this](std::string_view path) {
    return [this, path](std::string_view code) { addOnce(path, code); };
  };
  forEachCodeAt(ae, "type", add("event.type"));
  forEachCodeAt(ae, "category", add("event.type"));
  forEachCodeAt(ae, "subtype", add("event.subtype"));
  forEachCodeAt(ae, "code", add("event.subtype"));
  forEachCodeAt(ae, "purposeOfEvent", add("purpose_of_use"));
  forEachCodeAt(ae, "authorization", add("purpose_of_use"));

  dom::array agents;
  if (arrayAt(ae, "agent", agents)) {
    for (dom::element a : agents) {
      dom::object agent;
      if (a.get_object().get(agent) != simdjson::SUCCESS) continue;
      bool requestor = false;
      if (agent.at_key("requestor").get_bool().get(requestor) != simdjson::SUCCESS || !requestor) {
        continue;
      }
      std::string_view id = stringAtPath(a, "who.identifier.value");
      if (id.empty()) id = stringAtPath(a, "who.reference");
      addOnce("user.id", id);
      std::string_view name = stringAtPath(a, "who.display");
      if (name.empty()) name = stringAt(agent, "name");
      addOnce("user.name", name);
      forEachCodeAt(agent, "type", add("user.roles"));
      forEachCodeAt(agent, "role", add("user.roles"));
      std::string_view ip = stringAtPath(a, "network.address");
      if (ip.empty()) ip = stringAt(agent, "networkString");
      addOnce("source.ip", ip);
      forEachCodeAt(agent, "purposeOfUse", add("purpose_of_use"));
    }
  }

  dom::array entities;
  if (arrayAt(ae, "entity", entities)) {
    for (dom::element e : entities) {
      dom::object entity;
      if (e.get_object().get(entity) != simdjson::SUCCESS) continue;
      const Reference ref = parseReference(stringAtPath(e, "what.reference"));
      const bool patient_entity = hasCode(entity, "role", "1") || hasCode(entity, "type", "1");
      if (ref.type == "Patient") {
        addOnce("patient.id", ref.id);
      } else if (patient_entity) {
        addOnce("patient.id", ref.id.empty() ? stringAtPath(e, "what.identifier.value") : ref.id);
      }
      if (!patient_entity) addOnce("resource.type", ref.type);
    }
  }
  const Reference patient = parseReference(stringAtPath(ae, "patient.reference"));
  if (patient.type == "Patient") addOnce("patient.id", patient.id);

  std::string_view host = stringAtPath(ae, "source.observer.display");
  if (host.empty()) host = stringAtPath(ae, "source.observer.identifier.value");
  if (host.empty()) host = stringAtPath(ae, "source.site");
  if (host.empty()) host = stringAtPath(ae, "source.site.display");
  addOnce("host.name", host);
}

}  // namespace trailwatch::decode
