// FhirAuditEventDecoder (format `fhir`): HL7 FHIR AuditEvent resources,
// R4 and R5, in JSON: one resource per record, or a Bundle whose entries'
// AuditEvent resources each become one event (decode() returns the first,
// next() the others; entries of other resource types are skipped).
//
// References:
//   R4 AuditEvent   https://hl7.org/fhir/R4/auditevent.html
//   R5 AuditEvent   https://hl7.org/fhir/R5/auditevent.html
//   IHE ITI Basic Audit Log Patterns (BALP)
//                   https://profiles.ihe.net/ITI/BALP/
//   Bundle          https://hl7.org/fhir/R4/bundle.html (entry[].resource)
//
// Normalized fields it fills (docs/formats/fhir.md has an example):
//   @timestamp      recorded (FHIR instant, RFC 3339)
//   event.action    action C/R/U/D/E -> create/read/update/delete/execute
//                   (another code is passed through as written)
//   event.outcome   R4 outcome "0" -> success, "4"/"8"/"12" -> failure;
//                   R5 outcome.code.code "success" -> success, else failure
//   event.type      R4 type.code; R5 category[].coding[].code
//   event.subtype   R4 subtype[].code; R5 code.coding[].code
//   user.id         the requestor agent (agent[].requestor = true):
//                   who.identifier.value, else who.reference
//   user.name       the requestor's who.display, else its R4 name
//   user.roles      the requestor's type.coding[].code and role[].coding[].code
//   source.ip       the requestor's network.address (R4) / networkString (R5)
//   patient.id      the id of a patient entity: one whose what.reference is
//                   Patient/<id> (absolute, /_history/ suffix allowed), or
//                   whose role code is "1" (Patient) or type code is "1"
//                   (BALP patient entity; what.identifier.value when it has
//                   no reference); R5 patient.reference too
//   resource.type   the resource type of the data entities' what.reference
//                   (the entities that are not patient entities), e.g. List
//   purpose_of_use  purposeOfEvent[].coding[].code (R4), authorization[]
//                   .coding[].code (R5), requestor purposeOfUse codes
//   host.name       source.observer.display, else source.observer.identifier
//                   .value, else source.site (R4 string, R5 site.display)
// Several values are kept where the resource has several (roles, purposes);
// repeated values are given once. Every other wanted path is resolved
// against the AuditEvent's own JSON with JsonDecoder's semantics
// (json_fields.h), so `agent.who.identifier.value` or `entity.what.reference`
// stay addressable; for a Bundle entry they are relative to its resource.
//
// raw(): the record for a lone resource; for a Bundle entry, the minified
// resource (so a keyword search sees that event, not its neighbours).
//
// Errors (DecodeError::reason): `empty_record`, `malformed_json`,
// `too_deep`, `not_an_object`, `not_an_audit_event` (resourceType is
// neither AuditEvent nor a Bundle holding one).
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

class FhirAuditEventDecoder final : public Decoder {
 public:
  FhirAuditEventDecoder();
  FhirAuditEventDecoder(const FhirAuditEventDecoder&) = delete;
  FhirAuditEventDecoder& operator=(const FhirAuditEventDecoder&) = delete;

  void setFields(std::span<const std::string> paths) override;
  const Event* decode(std::string_view record, DecodeError& error) override;
  std::unique_ptr<Decoder> clone() const override {
    return std::make_unique<FhirAuditEventDecoder>();
  }
  const Event* next(DecodeError& error) override;

 private:
  const Event* emit(simdjson::dom::object resource);
  void fill(simdjson::dom::object resource);
  // Adds `text` to `path` unless empty or already given for this event.
  void addOnce(std::string_view path, std::string_view text);

  simdjson::dom::parser parser_;
  FieldTable table_;
  NativeJsonFields native_;
  std::string_view record_;
  bool bundle_ = false;
  std::vector<simdjson::dom::object> pending_;  // the Bundle's AuditEvents
  std::size_t next_ = 0;
  std::string entry_raw_;  // the minified Bundle entry raw() shows
  std::vector<std::pair<std::string_view, std::string_view>> given_;
};

}  // namespace trailwatch::decode
