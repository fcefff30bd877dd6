// libFuzzer target for Redactor: any bytes as one alert line, redacted under
// a policy that uses every rule (drop, pseudonymize with patterns, whole
// records redacted by path). It must never crash, and whatever it lets
// through must be one JSON object in which no value of a dropped field
// (`patient.id`) survives as a member.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "daemon/alert/redaction.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static trailwatch::alert::Redactor* redactor = [] {
    trailwatch::alert::RedactionPolicy policy;
    policy.drop = {"patient.id", "*.name"};
    policy.pseudonymize = {"user.*", "@timestamp", "sample*"};
    policy.key = "0123456789abcdef0123456789abcdef";
    policy.redact_records = true;
    return new trailwatch::alert::Redactor(policy);
  }();
  static simdjson::dom::parser parser;
  std::string out;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (!redactor->redact(in, out).ok()) {
    if (!out.empty()) std::abort();  // a refusal passes nothing on
    return 0;
  }
  simdjson::dom::element doc;
  if (parser.parse(out).get(doc) != simdjson::SUCCESS || !doc.is_object()) std::abort();
  simdjson::dom::element event;
  if (doc["event"].get(event) == simdjson::SUCCESS && event.is_object() &&
      event["patient.id"].error() == simdjson::SUCCESS) {
    std::abort();
  }
  return 0;
}
