#include "daemon/decode/registry.h"

#include "daemon/decode/access_log.h"
#include "daemon/decode/auditd.h"
#include "daemon/decode/auto_decoder.h"
#include "daemon/decode/cloudtrail.h"
#include "daemon/decode/fhir_audit_event.h"
#include "daemon/decode/json_decoder.h"
#include "daemon/decode/k8s_audit.h"
#include "daemon/decode/pgaudit.h"
#include "daemon/decode/syslog.h"

namespace trailwatch::decode {
namespace {

struct Registration {
  std::string_view name;
  std::unique_ptr<Decoder> (*make)();
};

template <typename T>
std::unique_ptr<Decoder> make() {
  return std::make_unique<T>();
}

// One line per format.
constexpr Registration kDecoders[] = {
    {"json", &make<JsonDecoder>},
    {"pgaudit", &make<PgauditDecoder>},
    {"fhir", &make<FhirAuditEventDecoder>},
    {"k8s-audit", &make<K8sAuditDecoder>},
    {"cloudtrail", &make<CloudTrailDecoder>},
    {"auditd", &make<AuditdDecoder>},
    {"access-log", &make<AccessLogDecoder>},
    {"syslog", &make<SyslogDecoder>},
    {"syslog+json", &make<SyslogJsonDecoder>},
    {"syslog+kv", &make<SyslogKeyValueDecoder>},
    {"auto", &make<AutoDecoder>},
};

}  // namespace

std::unique_ptr<Decoder> makeDecoder(std::string_view format) {
  for (const auto& r : kDecoders) {
    if (r.name == format) return r.make();
  }
  return nullptr;
}

std::vector<std::string> decoderNames() {
  std::vector<std::string> names;
  for (const auto& r : kDecoders) names.emplace_back(r.name);
  return names;
}

}  // namespace trailwatch::decode
