// K8sAuditDecoder (format `k8s-audit`): Kubernetes API-server audit events
// (audit.k8s.io/v1, and the older v1beta1 whose fields are the same for
// what is read here), one `kind: Event` per record; an `EventList` record
// gives one event per items[] element (decode() the first, next() the rest).
//
// References:
//   Auditing      https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
//   Event schema  https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/
//
// Normalized fields it fills (docs/formats/k8s-audit.md has an example):
//   @timestamp     stageTimestamp, else requestReceivedTimestamp, else the
//                  v1beta1 timestamp (RFC 3339 with microseconds)
//   event.action   verb (get, list, create, patch, delete, ...)
//   event.outcome  failure when annotations["authorization.k8s.io/decision"]
//                  is "forbid" or responseStatus.code >= 400; success when
//                  the code is below 400; absent when neither is known
//   user.name      user.username
//   user.id        user.uid
//   user.roles     user.groups[]
//   source.ip      sourceIPs[]
//   resource.type  objectRef.resource (pods, secrets, ...)
//   url.path       requestURI without its query string
// Every other wanted path is resolved against the event's own JSON with
// JsonDecoder's semantics (json_fields.h): `objectRef.namespace`,
// `requestURI`, `annotations.authorization.k8s.io/decision` (a dotted key
// matched part by part), `requestObject.spec.containers.securityContext
// .privileged`, ...
//
// raw(): the record for a lone event; for an EventList item, the item
// minified.
//
// Errors (DecodeError::reason): `empty_record`, `malformed_json`,
// `too_deep`, `not_an_object`, `not_an_audit_event` (kind is neither Event
// nor EventList, or a kind-less object without auditID and verb, or an
// EventList holding no event).
//
// Lifetime: values stay valid until the next decode(), next() or
// setFields() (event.h).
//
// Thread-safety: none; one decoder per thread (decoder.h).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "daemon/decode/field_table.h"
#include "daemon/decode/json_fields.h"
#include "trailwatch/decoder.h"

namespace trailwatch::decode {

class K8sAuditDecoder final : public Decoder {
 public:
  K8sAuditDecoder();
  K8sAuditDecoder(const K8sAuditDecoder&) = delete;
  K8sAuditDecoder& operator=(const K8sAuditDecoder&) = delete;

  void setFields(std::span<const std::string> paths) override;
  const Event* decode(std::string_view record, DecodeError& error) override;
  std::unique_ptr<Decoder> clone() const override { return std::make_unique<K8sAuditDecoder>(); }
  const Event* next(DecodeError& error) override;

 private:
  const Event* emit(simdjson::dom::object event);
  void fill(simdjson::dom::object event);

  simdjson::dom::parser parser_;
  FieldTable table_;
  NativeJsonFields native_;
  std::string_view record_;
  bool list_ = false;
  std::vector<simdjson::dom::object> pending_;  // an EventList's items
  std::size_t next_ = 0;
  std::string item_raw_;
};

}  // namespace trailwatch::decode
