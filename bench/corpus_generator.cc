// corpus_generator: writes the whole-daemon benchmark corpus (bench/run.sh).
//
//   corpus_generator [--seed N] [--events N] [--kind ehr|fhir|access-log] --out FILE
//
// One record per line, deterministic: the same seed, size and kind give the
// same bytes on any machine (a fixed SplitMix64 stream, no std::
// distributions, whose results differ between standard libraries).
//
//  - ehr: EHR access events as compact JSON, 300-800 bytes each, with the
//    fields the shipped packs read (rules/, tests/data/ehr_sample.ndjson):
//    event.action/outcome/category, user.id/roles, source.ip, patient.id,
//    resource.type, purpose_of_use, host.name, target.user/role, @timestamp.
//    User ids u1000-u5999 and patient ids p-1000 and up, so the sample
//    lookup tables in deploy/lookups/ (staff.csv, patients.csv) find a few.
//    Mostly routine reads for treatment from internal addresses; each
//    shipped rule finds a small share (denials ~2%, bulk actions ~2%,
//    break-the-glass ~0.7%, public addresses ~0.5%, marketing ~0.1%,
//    audit-logging changes ~0.02%, role grants ~0.1%).
//  - fhir: HL7 FHIR R4 AuditEvent resources, one per line, describing the
//    same kind of accesses (docs/formats/fhir.md).
//  - access-log: Apache combined log lines of an EHR's FHIR API.
#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "daemon/common/event_time.h"
#include "daemon/common/json_writer.h"

namespace {

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified, so
// the corpus is byte-identical everywhere for a seed.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }
  // True with probability per_million / 1,000,000.
  bool chance(uint32_t per_million) { return below(1'000'000) < per_million; }
  template <typename T, size_t N>
  const T& pick(const T (&items)[N]) {
    return items[below(N)];
  }

 private:
  uint64_t state_;
};

struct Options {
  uint64_t seed = 1;
  uint64_t events = 2'000'000;
  std::string kind = "ehr";
  std::string out;
};

struct Time {
  int year;
  unsigned month, day, hour, minute, second;
};

// The fields of the access log's [dd/Mon/yyyy:hh:mm:ss +0000] date (the
// JSON corpora take formatRfc3339Millis()).
Time splitTime(int64_t unix_millis) {
  Time t{};
  const int64_t days = unix_millis / 86'400'000;
  const int64_t in_day = unix_millis % 86'400'000;
  const trailwatch::CivilDate date = trailwatch::civilFromDays(days);
  t.year = static_cast<int>(date.year);
  t.month = date.month;
  t.day = date.day;
  t.hour = static_cast<unsigned>(in_day / 3'600'000);
  t.minute = static_cast<unsigned>(in_day / 60'000 % 60);
  t.second = static_cast<unsigned>(in_day / 1000 % 60);
  return t;
}

// 2026-11-20T08:00:00Z, the start of a working day; events advance 0-19 ms
// each (about 100 events/s, so 2 million events span about 5 hours).
constexpr int64_t kStartMillis = 1'795'132'800'000 + 8 * 3'600'000;

const char* const kWords[] = {"chart",    "review",  "order",    "note",   "vitals",    "lab",
                              "result",   "imaging", "referral", "ward",   "follow-up", "dose",
                              "schedule", "consent", "summary",  "triage", "allergy",   "plan"};
const char* const kDepartments[] = {"cardiology", "oncology",  "emergency", "pediatrics",
                                    "radiology",  "pharmacy",  "billing",   "records",
                                    "surgery",    "neurology", "icu",       "outpatient"};
const char* const kRoles[] = {"nurse",     "physician", "clerk",    "billing",  "pharmacist",
                              "therapist", "resident",  "lab-tech", "registrar"};
const char* const kResourceTypes[] = {"Patient",           "Observation",       "Encounter",
                                      "MedicationRequest", "DiagnosticReport",  "Condition",
                                      "DocumentReference", "AllergyIntolerance"};
const char* const kUserAgents[] = {
    "EpicClient/10.3 (Windows NT 10.0; Win64; x64)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "ehr-mobile/4.2.1 (iPhone; iOS 17.1)",
    "python-requests/2.31.0",
    "HAPI-FHIR/6.8.0 (FHIR Client; FHIR 4.0.1/R4; apache)"};
const char* const kFirstNames[] = {"Ana",   "Ben",  "Chloe", "David", "Elif",  "Farid",
                                   "Grace", "Hiro", "Ines",  "Jonas", "Kemal", "Lena"};
const char* const kLastNames[] = {"Alvarez", "Brown",  "Chen",    "Dubois", "Evans",    "Fischer",
                                  "Garcia",  "Haddad", "Ivanova", "Jensen", "Kowalski", "Lopez"};

// What one event does; decides the fields the rules look at.
struct Access {
  const char* action;
  const char* category;
  const char* outcome;
  const char* purpose;
  const char* target_role = nullptr;  // role.grant / user.role.add only
  char ip[48];
  bool internal_ip;
};

Access pickAccess(Random& rng) {
  Access a{};
  const uint32_t r = rng.below(1'000'000);
  a.category = "phi-access";
  if (r < 700'000) {
    a.action = "read";
  } else if (r < 780'000) {
    a.action = "search";
  } else if (r < 860'000) {
    a.action = "update";
  } else if (r < 900'000) {
    a.action = "create";
  } else if (r < 910'000) {
    a.action = "export";
  } else if (r < 915'000) {
    a.action = "print";
  } else if (r < 920'000) {
    a.action = "download";
  } else if (r < 921'000) {
    a.action = "bulk-export";
  } else if (r < 998'800) {
    a.action = rng.below(2) ? "login" : "logout";
    a.category = "authentication";
  } else if (r < 999'000) {
    const char* const changes[] = {"audit.disable", "audit.pause", "audit.config.update"};
    a.action = rng.pick(changes);
    a.category = "configuration";
  } else {
    a.action = rng.below(2) ? "role.grant" : "user.role.add";
    a.category = "iam";
    const char* const granted[] = {"admin", "security-officer", "superuser",
                                   "nurse", "scheduler",        "read-only"};
    a.target_role = rng.pick(granted);
  }
  a.outcome = rng.chance(20'000) ? "failure" : "success";
  const uint32_t p = rng.below(1'000'000);
  a.purpose = p < 5'000    ? "BTG"
              : p < 7'000  ? "ETREAT"
              : p < 8'000  ? "HMARKT"
              : p < 48'000 ? "HPAYMT"
              : p < 88'000 ? "HOPERAT"
                           : "TREAT";
  a.internal_ip = !rng.chance(5'000);
  if (a.internal_ip) {
    if (rng.below(20) == 0) {
      std::snprintf(a.ip, sizeof a.ip, "fd12:3456:789a:%x::%x", rng.below(64), 1 + rng.below(4000));
    } else {
      std::snprintf(a.ip, sizeof a.ip, "10.%u.%u.%u", rng.below(4), rng.below(32),
                    1 + rng.below(254));
    }
  } else if (rng.below(4) == 0) {
    std::snprintf(a.ip, sizeof a.ip, "2001:db8:%x::%x", rng.below(4096), 1 + rng.below(60000));
  } else {
    const char* const nets[] = {"203.0.113", "198.51.100", "192.0.2"};
    std::snprintf(a.ip, sizeof a.ip, "%s.%u", rng.pick(nets), 1 + rng.below(254));
  }
  return a;
}

class Writer {
 public:
  explicit Writer(std::FILE* out) : out_(out) { line_.reserve(2048); }
  std::string& line() { return line_; }
  void append(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    char buf[1024];
    va_list args;
    va_start(args, format);
    const int n = std::vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    if (n > 0) line_.append(buf, static_cast<size_t>(n) < sizeof buf ? n : sizeof buf - 1);
  }
  bool flushLine() {
    line_.push_back('\n');
    const bool ok = std::fwrite(line_.data(), 1, line_.size(), out_) == line_.size();
    line_.clear();
    return ok;
  }

 private:
  std::FILE* out_;
  std::string line_;
};

// Words until `line` is `target` bytes long once `tail` more are added.
void appendFreeText(Random& rng, std::string& line, size_t target, size_t tail) {
  bool first = true;
  while (line.size() + tail + 1 < target) {
    if (!first) line.push_back(' ');
    first = false;
    const char* w = rng.pick(kWords);
    const size_t room = target - tail - line.size();
    line.append(w, std::min(std::strlen(w), room));
  }
}

void writeEhr(Random& rng, uint64_t seq, int64_t millis, Writer& w) {
  const Access a = pickAccess(rng);
  const std::string stamp = trailwatch::formatRfc3339Millis(millis);
  const unsigned user = 1000 + rng.below(5000);
  const unsigned patient = 1000 + rng.below(900'000);
  // Sizes 300-800 bytes, most near 550 (sum of two uniforms).
  const size_t target = 300 + rng.below(251) + rng.below(250);
  std::string& line = w.line();
  // The fields the shipped rules and their alerts read, laid out as in
  // tests/data/ehr_sample.ndjson.
  w.append(
      R"({"@timestamp":"%s","event":{"action":"%s","outcome":"%s","category":"%s","sequence":%llu},)",
      stamp.c_str(), a.action, a.outcome, a.category, static_cast<unsigned long long>(seq));
  w.append(R"("user":{"id":"u%u","roles":["%s")", user, kRoles[user % 9]);
  if (user % 7 == 0) w.append(R"(,"%s")", kRoles[(user / 7) % 9]);
  w.append(R"(]},"source":{"ip":"%s"},)", a.ip);
  if (a.target_role != nullptr) {
    w.append(R"("target":{"user":"u%u","role":"%s"},)", 1000 + rng.below(5000), a.target_role);
  }
  const char* resource = rng.pick(kResourceTypes);
  w.append(
      R"("patient":{"id":"p-%u"},"resource":{"type":"%s"},"purpose_of_use":"%s","host":{"name":"ehr-app-%u"})",
      patient, resource, a.purpose, 1 + rng.below(4));
  // Context an EHR adds, each part while it fits the drawn size; free text
  // fills the rest.
  char extra[512];
  const auto add = [&](int n) {
    if (n > 0 && line.size() + static_cast<size_t>(n) + 1 < target) line.append(extra, n);
  };
  add(std::snprintf(extra, sizeof extra,
                    R"(,"session":{"id":"%012llx","user_name":"%s %s","department":"%s"})",
                    static_cast<unsigned long long>(rng.next() >> 16), kFirstNames[user % 12],
                    kLastNames[user / 12 % 12], kDepartments[user % 12]));
  add(std::snprintf(extra, sizeof extra,
                    R"(,"url":{"path":"/fhir/r4/%s/%llx"},"http":{"request":{"id":"%016llx"}})",
                    resource, static_cast<unsigned long long>(rng.next() >> 20),
                    static_cast<unsigned long long>(rng.next())));
  add(std::snprintf(extra, sizeof extra, R"(,"user_agent":{"original":"%s"})",
                    rng.pick(kUserAgents)));
  if (line.size() + 16 < target) {
    line.append(R"(,"message":")");
    appendFreeText(rng, line, target, 2);
    line.push_back('"');
  }
  line.push_back('}');
}

void writeFhir(Random& rng, uint64_t seq, int64_t millis, Writer& w) {
  const Access a = pickAccess(rng);
  const std::string stamp = trailwatch::formatRfc3339Millis(millis);
  const unsigned user = 1000 + rng.below(5000);
  const unsigned patient = 1000 + rng.below(900'000);
  // R4 codes: action C/R/U/D/E; outcome 0 success, 4 minor failure.
  const std::string_view action = a.action;
  const char* code =
      action == "create"                                                                  ? "C"
      : action == "update"                                                                ? "U"
      : action == "read" || action == "search" || action == "login" || action == "logout" ? "R"
                                                                                          : "E";
  // Data leaving the system is DICOM "Export" (110106, IHE BALP); the rest
  // are RESTful operations.
  const bool exported =
      action == "export" || action == "print" || action == "download" || action == "bulk-export";
  const char* resource = rng.pick(kResourceTypes);
  w.append(
      R"({"resourceType":"AuditEvent","id":"ae-%llu-%08llx","type":{"system":"%s","code":"%s","display":"%s"},"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"%s"}],"action":"%s",)",
      static_cast<unsigned long long>(seq), static_cast<unsigned long long>(rng.next() >> 32),
      exported ? "http://dicom.nema.org/resources/ontology/DCM"
               : "http://terminology.hl7.org/CodeSystem/audit-event-type",
      exported ? "110106" : "rest", exported ? "Export" : "RESTful Operation", a.action, code);
  w.append(
      R"("recorded":"%s","outcome":"%s","purposeOfEvent":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"%s"}]}],)",
      stamp.c_str(), a.outcome[0] == 's' ? "0" : "4", a.purpose);
  w.append(
      R"("agent":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"role":[{"coding":[{"code":"%s"}]}],"who":{"identifier":{"value":"u%u"},"display":"%s %s"},"requestor":true,"network":{"address":"%s","type":"%s"}},)",
      kRoles[user % 9], user, kFirstNames[user % 12], kLastNames[user / 12 % 12], a.ip,
      std::strchr(a.ip, ':') != nullptr ? "3" : "2");
  w.append(
      R"({"type":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110153","display":"Source Role ID"}]},"who":{"display":"ehr-app-%u"},"requestor":false}],)",
      1 + rng.below(4));
  w.append(
      R"("source":{"site":"main-hospital","observer":{"display":"ehr-app-%u"},"type":[{"system":"http://terminology.hl7.org/CodeSystem/security-source-type","code":"4"}]},)",
      1 + rng.below(4));
  w.append(
      R"("entity":[{"what":{"reference":"Patient/p-%u"},"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"1"},"role":{"code":"1"}},{"what":{"reference":"%s/%llx"},"type":{"code":"2"},"role":{"code":"4"}}]})",
      patient, resource, static_cast<unsigned long long>(rng.next() >> 20));
}

void writeAccessLog(Random& rng, uint64_t, int64_t millis, Writer& w) {
  const Access a = pickAccess(rng);
  const Time t = splitTime(millis);
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const unsigned user = 1000 + rng.below(5000);
  const char* resource = rng.pick(kResourceTypes);
  const std::string_view action = a.action;
  const char* method = action == "create" ? "POST" : action == "update" ? "PUT" : "GET";
  const unsigned status = a.outcome[0] == 'f'                    ? (rng.below(2) ? 403 : 401)
                          : method[0] == 'P' && method[1] == 'O' ? 201
                                                                 : 200;
  w.append(R"(%s - u%u [%02u/%s/%04d:%02u:%02u:%02u +0000] ")", a.ip, user, t.day,
           kMonths[t.month - 1], t.year, t.hour, t.minute, t.second);
  if (action == "search") {
    w.append(R"(%s /fhir/r4/%s?patient=p-%u&_count=%u HTTP/1.1")", method, resource,
             1000 + rng.below(900'000), 10 + rng.below(90));
  } else if (action == "export" || action == "bulk-export") {
    w.append(R"(GET /fhir/r4/Patient/$export?_type=%s HTTP/1.1")", resource);
  } else {
    w.append(R"(%s /fhir/r4/%s/%llx HTTP/1.1")", method, resource,
             static_cast<unsigned long long>(rng.next() >> 24));
  }
  w.append(R"( %u %u "https://ehr.example.org/chart/p-%u" "%s")", status,
           status < 400 ? 300 + rng.below(20000) : 0, 1000 + rng.below(900'000),
           rng.pick(kUserAgents));
}

bool parseUnsigned(const char* text, uint64_t& out) {
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || text[0] == '-') return false;
  out = v;
  return true;
}

int usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "corpus_generator: %s\n", why);
  std::fprintf(stderr,
               "usage: corpus_generator [--seed N] [--events N] [--kind ehr|fhir|access-log] "
               "--out FILE\n  defaults: --seed 1 --events 2000000 --kind ehr\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "--help" || arg == "-h") return usage(nullptr), 0;
    if (value == nullptr) return usage("missing value after an option");
    ++i;
    if (arg == "--seed") {
      if (!parseUnsigned(value, o.seed)) return usage("--seed takes an unsigned number");
    } else if (arg == "--events") {
      if (!parseUnsigned(value, o.events)) return usage("--events takes an unsigned number");
    } else if (arg == "--kind") {
      o.kind = value;
    } else if (arg == "--out") {
      o.out = value;
    } else {
      return usage(("unknown option " + std::string(arg)).c_str());
    }
  }
  void (*write)(Random&, uint64_t, int64_t, Writer&) = nullptr;
  if (o.kind == "ehr") {
    write = writeEhr;
  } else if (o.kind == "fhir") {
    write = writeFhir;
  } else if (o.kind == "access-log") {
    write = writeAccessLog;
  } else {
    return usage("--kind is ehr, fhir or access-log");
  }
  if (o.out.empty()) return usage("--out FILE is required");
  std::FILE* out = o.out == "-" ? stdout : std::fopen(o.out.c_str(), "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "corpus_generator: %s: %s\n", o.out.c_str(), std::strerror(errno));
    return 1;
  }
  static char buffer[1 << 20];
  std::setvbuf(out, buffer, _IOFBF, sizeof buffer);
  Random rng(o.seed);
  Writer w(out);
  int64_t millis = kStartMillis;
  for (uint64_t seq = 1; seq <= o.events; ++seq) {
    millis += rng.below(20);
    write(rng, seq, millis, w);
    if (!w.flushLine()) break;
  }
  if (std::fflush(out) != 0 || std::ferror(out) || (out != stdout && std::fclose(out) != 0)) {
    std::fprintf(stderr, "corpus_generator: writing %s: %s\n", o.out.c_str(), std::strerror(errno));
    return 1;
  }
  return 0;
}
