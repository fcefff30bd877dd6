#include "daemon/decode/registry.h"

#include "daemon/decode/access_log.h"
#include "daemon/decode/auditd.h"
#include "daemon/decode/auto_decoder.h"
#include "daemon/decode/cloudtrail.h"
#include "daemon/decode/fhir_audit_event.h"
#include "daemon/decode/json_decoder.h"
#include "daemon/decode/k8s_audit.h"
#include "daemon/decode/key_value.h"
#include "daemon/decode/pgaudit.h"
#include "daemon/decode/syslog.h"

namespace trailwatch::decode {
namespace {

struct Registration {
  std::string_view name;
  std::unique_ptr<Decoder> (*make)(const DecoderOptions& options);
};

template <typename T>
std::unique_ptr<Decoder> make(const DecoderOptions&) {
  return std::make_unique<T>();
}

std::unique_ptr<Decoder> makeAccessLog(const DecoderOptions& options) {
  return std::make_unique<AccessLogDecoder>(options.extra_fields);
}

// One line per format.
constexpr Registration kDecoders[] = {
    {"json", &make<JsonDecoder>},
    {"pgaudit", &make<PgauditDecoder>},
    {"fhir", &make<FhirAuditEventDecoder>},
    {"k8s-audit", &make<K8sAuditDecoder>},
    {"cloudtrail", &make<CloudTrailDecoder>},
    {"auditd", &make<AuditdDecoder>},
    {"access-log", &makeAccessLog},
    {"kv", &make<KeyValueDecoder>},
    {"syslog", &make<SyslogDecoder>},
    {"auto", &make<AutoDecoder>},
};

constexpr std::string_view kSyslogBody = "syslog+";

}  // namespace

std::unique_ptr<Decoder> makeDecoder(std::string_view format, const DecoderOptions& options) {
  if (format.starts_with(kSyslogBody)) {
    const std::string_view body_format = format.substr(kSyslogBody.size());
    if (body_format.starts_with("syslog")) return nullptr;
    auto body = makeDecoder(body_format, options);
    if (!body) return nullptr;
    return std::make_unique<SyslogDecoder>(std::move(body), std::string(body_format));
  }
  for (const auto& r : kDecoders) {
    if (r.name == format) return r.make(options);
  }
  return nullptr;
}

bool takesExtraFields(std::string_view format) {
  if (format.starts_with(kSyslogBody)) format.remove_prefix(kSyslogBody.size());
  return format == "access-log";
}

std::string formatsHelp() {
  std::string out;
  for (const auto& r : kDecoders) out.append(out.empty() ? "" : ", ").append(r.name);
  return out + "; syslog+FORMAT for a syslog message whose body is in FORMAT";
}

std::vector<std::string> decoderNames() {
  std::vector<std::string> names;
  for (const auto& r : kDecoders) names.emplace_back(r.name);
  return names;
}

}  // namespace trailwatch::decode
