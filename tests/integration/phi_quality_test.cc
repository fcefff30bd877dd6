// The HIPAA PHI pack against a generated hospital day (issue 5, "Quality
// bar"): every injected case of misuse must raise the rule of its kind, and
// the ordinary traffic around the cases must raise fewer than one alert per
// 10,000 events. The day is four logs: the EHR's own audit log and, behind
// it, the PostgreSQL server log with pgaudit, the auditd log of the eight
// hosts and the CloudTrail log of the AWS account. The real binary scans
// each log once with its format, with the shipped rules and the generated
// site's lookup tables and lists (`scan` given files applies every rule to
// every log; the sources' logsource play no part); the figures go to stdout
// so that they can be quoted (rules/README.md, "Quality measurement").
//
// Everything is drawn from kSeed with std::mt19937_64 and modulo arithmetic
// only: std::*_distribution and std::shuffle are left to each standard
// library, and the day must be the same everywhere (nor may one expression
// draw twice: the order C++ evaluates operands in is not fixed). The
// servers' logs have a generator of their own (seeded from the same seed),
// so the EHR log is the same as before they were added.
//
// The EHR log:
// - Staff: 292 accounts u1000..u1291 (ids of one width, so that a care-team
//   list never finds one id inside another): ward and emergency nurses and
//   physicians, clinic physicians, registration and emergency clerks,
//   billing, research; 6 terminated or disabled accounts. About 40% of the
//   nurses and 20% of the hospital physicians work nights.
// - Family names: the 50 commonest US surnames at their 2010 census
//   frequencies (12% of people), ranks 51..1000 falling as 1/rank (19%), and
//   a tail of 26,000 rarer names (69%): two people picked at random share a
//   name about once in 1,800 pairs, as in the US population.
// - Patients: 20,000 (p-100000..p-119999). About a third of the staff are
//   patients too (`employee: yes`, the staff member's family name) and a
//   third have 1-3 relatives among the patients (same family name). 20
//   patients are restricted (VIP), each with a care team of 2-4 staff.
// - The day (2026-11-20, 00:00-24:00 UTC): about 60% of clinical and 75% of
//   office staff are rostered (a member of staff who is an inpatient is
//   not). Ward inpatients are shared out among the ward's nurses and
//   physicians; a VIP inpatient's care team is exactly the staff assigned
//   to them. Emergency arrivals are registered, triaged, seen and revisited;
//   clinic appointments are checked in and seen; registration clerks check
//   people in, billing works through accounts, research reads its cohorts.
//   Day staff work days, night staff nights (the night shift that ends at
//   07:00 and the one that starts at 19:00). Patients outside the ward
//   census are drawn from the whole index except the VIPs, so employees
//   and staff's relatives turn up as often as chance makes them. A visit to
//   a chart is a burst of reads, searches and updates a few seconds apart;
//   1 visit in kDenialOneInVisits starts with a denial on a mistyped
//   (neighbouring) record number. Nobody exports; every purpose of use is
//   TREAT. Visits go round robin through six application hosts.
//
// The servers' logs (ServerDay; the site's pgaudit, auditd and trail
// settings are listed there):
// - PostgreSQL: every EHR event is one statement of the application role
//   ehr_app (deploy/lookups/phi_app_db_roles.txt) from its host's connection
//   pool on the PHI tables (deploy/lookups/phi_tables.txt), SELECT with the
//   patient id as a parameter, UPDATE and INSERT inside BEGIN/COMMIT; the
//   application's outbox and session jobs; ehr_reporting's bed census every
//   five minutes and nightly extract; the monitoring agent's
//   pg_stat_statements reads; postgres' nightly ANALYZE; the DBAs' psql
//   sessions on non-PHI tables, VACUUM/ANALYZE, settings and sizes.
// - auditd on ehr-app-1..6, ehr-db-1, ehr-db-2: cron (sysstat every ten
//   minutes, hourly and daily jobs, whose sysstat cleanup removes week-old
//   files under /var/log/sysstat), logrotate after midnight, apt and
//   unattended-upgrades, journald, the 05:00 ansible run (deploy, sudo), the
//   administrators' and DBAs' ssh sessions; one night in four, an
//   application host rebooted after a kernel update (auditd stops and
//   starts).
// - CloudTrail: the SSM agents and instance credentials, S3 data events for
//   every document the EHR reads or writes and for WAL archiving and the
//   base backup, AWS Backup's snapshots, AWS Config, the administrators'
//   console sessions, the pipeline's nightly terraform plan.
//
// Misuse: kCasesPerKind cases of each kind the pack detects (rules/README.md,
// rules 1-14): in the EHR log, rules 1-10, 12, 13 and 14's silent host, by
// known users on known charts at known times; in the servers' logs, direct
// reads of PHI tables (11) and pgaudit, auditd and CloudTrail switched off
// or narrowed and logs deleted (14), by known roles, login users and
// principals on known hosts. What an attack switches off is then missing
// from the ordinary traffic too. An alert is ordinary when no case explains
// it (explains()); ordinary events are the ordinary records of all four
// logs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kSeed = 20261120;

// kSeed, or TRAILWATCH_QUALITY_SEED when set (to measure other days by hand).
uint64_t seed() {
  const char* s = std::getenv("TRAILWATCH_QUALITY_SEED");
  return s != nullptr && *s != '\0' ? std::strtoull(s, nullptr, 10) : kSeed;
}
constexpr const char* kDate = "2026-11-20";
constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int kHosts = 6;
constexpr int kPatients = 20000;
constexpr int kRestrictedPatients = 20;
constexpr int kCasesPerKind = 5;
constexpr int kDenialOneInVisits = 400;
constexpr int kWards = 8;
constexpr const char* kWardNames[kWards] = {"Medicine A", "Medicine B", "Surgery",  "Cardiology",
                                            "ICU",        "Pediatrics", "Oncology", "Maternity"};

constexpr int64_t at(int hour, int minute) { return hour * kHour + minute * kMinute; }

// mt19937_64's sequence is fixed by the standard; reducing it modulo n is
// ours, so the same seed gives the same day with every standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t below(uint64_t n) { return engine_() % n; }
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool percent(int p) { return below(100) < static_cast<uint64_t>(p); }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::mt19937_64 engine_;
};

// Frequencies per 100,000 people, US census 2010 (rounded).
struct CensusName {
  const char* name;
  int per_100k;
};
constexpr CensusName kCommonFamilyNames[] = {
    {"Smith", 828},     {"Johnson", 655},  {"Williams", 550}, {"Brown", 487},     {"Jones", 483},
    {"Garcia", 394},    {"Miller", 374},   {"Davis", 372},    {"Rodriguez", 363}, {"Martinez", 352},
    {"Hernandez", 345}, {"Lopez", 305},    {"Gonzalez", 290}, {"Wilson", 268},    {"Anderson", 264},
    {"Thomas", 260},    {"Taylor", 252},   {"Moore", 241},    {"Jackson", 236},   {"Martin", 234},
    {"Lee", 229},       {"Perez", 222},    {"Thompson", 218}, {"White", 216},     {"Harris", 203},
    {"Sanchez", 200},   {"Clark", 188},    {"Ramirez", 186},  {"Lewis", 179},     {"Robinson", 178},
    {"Walker", 175},    {"Young", 168},    {"Allen", 165},    {"King", 164},      {"Wright", 163},
    {"Scott", 153},     {"Torres", 146},   {"Nguyen", 145},   {"Hill", 145},      {"Flores", 144},
    {"Green", 142},     {"Adams", 141},    {"Nelson", 138},   {"Baker", 136},     {"Hall", 134},
    {"Rivera", 132},    {"Campbell", 129}, {"Mitchell", 128}, {"Carter", 127},    {"Roberts", 126}};

constexpr const char* kGivenNames[] = {
    "Ana",  "Ben",    "Carla", "Dan",    "Eve",   "Farid", "Gil",   "Hana", "Ivan",  "Jia",
    "Kofi", "Lena",   "Marco", "Nadia",  "Omar",  "Priya", "Quinn", "Rosa", "Sam",   "Tara",
    "Uma",  "Victor", "Wen",   "Ximena", "Yusuf", "Zoe",   "Aaron", "Beth", "Chidi", "Dara"};

// Who people are called: census frequencies for the commonest names, then a
// long tail of made-up (three-syllable) names.
class FamilyNames {
 public:
  FamilyNames() {
    for (const auto& n : kCommonFamilyNames) add(n.name, static_cast<uint64_t>(n.per_100k) * 100);
    for (int rank = 51; rank <= 1000; ++rank) add(madeUp(rank - 51), 640000 / rank);
  }
  std::string draw(Rng& rng) const {
    const uint64_t u = rng.below(kPopulation);
    if (u < cumulative_.back()) {
      const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
      return names_[static_cast<size_t>(it - cumulative_.begin())];
    }
    return madeUp(950 + rng.below(kTailNames));
  }

 private:
  static constexpr uint64_t kPopulation = 10'000'000;  // weights are in these units
  static constexpr uint64_t kTailNames = 26000;

  static std::string madeUp(uint64_t k) {
    static constexpr const char* kA[] = {"Al",   "Bar",  "Cal", "Dor", "El",   "Fen", "Gar", "Hal",
                                         "Ing",  "Jor",  "Kel", "Lan", "Mar",  "Nor", "Os",  "Pem",
                                         "Quin", "Ros",  "Sal", "Tor", "Ul",   "Van", "Wes", "Yar",
                                         "Zel",  "Brin", "Cor", "Dal", "Ever", "Fal"};
    static constexpr const char* kB[] = {
        "a",  "e",  "i",  "o",  "u",  "ar", "en", "in", "or", "ur", "el", "an", "er", "on", "is",
        "ad", "em", "ol", "ir", "ab", "ec", "id", "ob", "ul", "av", "es", "it", "om", "us", "ay"};
    static constexpr const char* kC[] = {
        "ton",  "ford", "ley",   "wick", "by",    "field",  "worth", "ham",   "stead", "more",
        "dale", "well", "bury",  "land", "son",   "croft",  "shaw",  "ridge", "brook", "wood",
        "holm", "mere", "combe", "gate", "hurst", "thorpe", "lock",  "man",   "ner",   "vik"};
    return std::string(kA[k % 30]) + kB[(k / 30) % 30] + kC[(k / 900) % 30];
  }
  void add(std::string name, uint64_t weight) {
    names_.push_back(std::move(name));
    cumulative_.push_back((cumulative_.empty() ? 0 : cumulative_.back()) + weight);
  }

  std::vector<std::string> names_;
  std::vector<uint64_t> cumulative_;
};

enum class Role { kNurse, kPhysician, kClerk, kBilling, kResearcher };
const char* roleName(Role r) {
  switch (r) {
    case Role::kNurse:
      return "nurse";
    case Role::kPhysician:
      return "physician";
    case Role::kClerk:
      return "clerk";
    case Role::kBilling:
      return "billing";
    case Role::kResearcher:
      return "researcher";
  }
  return "?";
}

// Where someone works: a ward (0..kWards-1) or one of these.
enum Unit : int { kEmergency = 100, kClinic, kRegistration, kFinance, kResearch };

struct Span {
  int64_t start = 0, end = 0;  // ms since midnight, [start, end)
};

struct Staff {
  std::string id, given, family;
  Role role = Role::kNurse;
  int unit = 0;
  bool night = false;
  std::string status = "active";
  int own_patient = -1;        // index into patients, or -1
  std::vector<int> relatives;  // patients sharing the family name
  bool rostered = false;
  std::vector<Span> shifts;
  std::string ip;

  bool active() const { return status == "active"; }
  bool onShift(int64_t t) const {
    for (const auto& s : shifts)
      if (t >= s.start && t < s.end) return true;
    return false;
  }
  std::string department() const {
    if (unit >= 0 && unit < kWards) return kWardNames[unit];
    switch (unit) {
      case kEmergency:
        return "Emergency";
      case kClinic:
        return "Outpatient Clinic";
      case kRegistration:
        return "Registration";
      case kFinance:
        return "Finance";
      default:
        return "Research";
    }
  }
};

struct Patient {
  std::string id, family;
  bool restricted = false;
  bool employee = false;
  int employee_of = -1;   // the member of staff this patient is
  bool relative = false;  // a relative of some member of staff
  bool inpatient = false;
  std::vector<int> care_team;  // staff indices
};

struct AuditEvent {
  int64_t t = 0;
  int staff = 0;
  int patient = 0;
  const char* action = "read";
  bool success = true;
  const char* resource = "Patient";
  const char* purpose = "TREAT";
  std::string ip;  // empty: the member of staff's workstation
  int64_t visit = 0;
  bool injected = false;
};

enum class Kind {
  kBulkBrowsing,
  kBulkExport,
  kTerminatedAccount,
  kRestrictedOutsideCareTeam,
  kRelativeSnooping,
  kOwnRecord,
  kCoworkerRecord,
  kAfterHours,
  kBreakTheGlass,
  kNonTreatmentDisclosure,
  kDeniedThenSuccess,
  kOutsideNetwork,
  kSourceSilent,
  kDirectDbPhiRead,
  kPgauditSettingsChanged,
  kAuditdDisabled,
  kAuditLogTampered,
  kCloudTrailLoggingStopped,
};
// The kinds injected into the EHR's own audit log (HospitalDay) and into the
// servers' logs (ServerDay).
constexpr Kind kEhrKinds[] = {Kind::kBulkBrowsing,      Kind::kBulkExport,
                              Kind::kTerminatedAccount, Kind::kRestrictedOutsideCareTeam,
                              Kind::kRelativeSnooping,  Kind::kOwnRecord,
                              Kind::kCoworkerRecord,    Kind::kAfterHours,
                              Kind::kBreakTheGlass,     Kind::kNonTreatmentDisclosure,
                              Kind::kDeniedThenSuccess, Kind::kOutsideNetwork,
                              Kind::kSourceSilent};
constexpr Kind kServerKinds[] = {Kind::kDirectDbPhiRead, Kind::kPgauditSettingsChanged,
                                 Kind::kAuditdDisabled, Kind::kAuditLogTampered,
                                 Kind::kCloudTrailLoggingStopped};

struct KindInfo {
  const char* rule_file;  // under rules/hipaa-phi-access/
  const char* rule_id;
  bool correlation;  // the alert names its group, not an event
};
KindInfo info(Kind k) {
  switch (k) {
    case Kind::kBulkBrowsing:
      return {"bulk_browsing", "8ee36761-c1e0-40d9-8b86-260817a6130f", true};
    case Kind::kBulkExport:
      return {"bulk_export", "2a9d7c3e-5f1b-4e2a-8c6d-1b3e5f7a9c02", false};
    case Kind::kTerminatedAccount:
      return {"terminated_account_access", "86189df2-25c9-45cc-9d01-fb6996add056", false};
    case Kind::kRestrictedOutsideCareTeam:
      return {"restricted_patient_outside_care_team", "ff4019a8-521a-4811-ae94-7cc4ee90c15b",
              false};
    case Kind::kRelativeSnooping:
      return {"relative_snooping", "12ee9b70-38d9-40d4-9ff3-faf456957ceb", false};
    case Kind::kOwnRecord:
      return {"own_record", "26b85b2f-b1e6-4bba-9190-8404a62ad937", false};
    case Kind::kCoworkerRecord:
      return {"coworker_record", "85c76489-64cd-421c-a396-669160a40f13", false};
    case Kind::kAfterHours:
      return {"after_hours_access", "0236c044-49a8-47dd-a409-3dd2cf118618", false};
    case Kind::kBreakTheGlass:
      return {"break_the_glass", "6f1c2a4e-3b5d-4c8e-9a71-0d2e4f6b8c01", false};
    case Kind::kNonTreatmentDisclosure:
      return {"non_treatment_disclosure", "8c4b1e7a-2d6f-4a3c-b5e9-3f7a1c9e5d03", false};
    case Kind::kDeniedThenSuccess:
      return {"denied_then_success", "749f9b3f-c67e-4b79-ab15-b9d2547e215e", true};
    case Kind::kOutsideNetwork:
      return {"access_outside_network", "4e7a2c9b-6d1f-4b8e-a3c5-5d9b3e1f7a04", false};
    case Kind::kSourceSilent:
      return {"audit_source_silent", "f474740c-37e8-476e-9e15-0bc452046c3a", true};
    case Kind::kDirectDbPhiRead:
      return {"direct_db_phi_read", "d6f2a02a-f961-4e6a-b043-0742239214f5", false};
    case Kind::kPgauditSettingsChanged:
      return {"pgaudit_settings_changed", "22ebd27d-3bc1-4afa-aa71-9bce35995dd6", false};
    case Kind::kAuditdDisabled:
      return {"auditd_disabled", "b5e1f61d-944c-4082-899e-e2e5a700a058", false};
    case Kind::kAuditLogTampered:
      return {"audit_log_tampered", "19877061-60c1-4fe4-a529-d6b039d7072a", false};
    case Kind::kCloudTrailLoggingStopped:
      return {"cloudtrail_logging_stopped", "38554e28-6507-40f5-83cb-ce34ade157e5", false};
  }
  return {"?", "?", false};
}

// The day's logs, each scanned with its own --format.
enum LogId : int { kEhrLog, kDbLog, kHostLog, kCloudLog, kLogCount };
struct LogInfo {
  const char* name;    // in the [quality] lines
  const char* format;  // scan --format
  const char* file;
};
constexpr LogInfo kLogInfo[kLogCount] = {
    {"ehr-audit", "json", "ehr-audit.ndjson"},
    {"postgresql", "pgaudit", "postgresql-15-main.log"},
    {"auditd", "auditd", "audit.log"},
    {"cloudtrail", "cloudtrail", "cloudtrail.ndjson"},
};

struct InjectedCase {
  Kind kind;
  LogId log = kEhrLog;             // the log its records are in
  std::string user;                // empty for a silent host; a database role, an auid, an ARN
  std::set<std::string> patients;  // the charts it touched
  std::string host;                // a silent host; the host of an auditd case
  std::string ip;                  // where a CloudTrail case's calls came from
  int64_t start = 0, end = 0;
};

std::string hostName(int h) { return "ehr-app-" + std::to_string(h + 1); }

std::string timestamp(int64_t t) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d.%03dZ", kDate, static_cast<int>(t / kHour),
                static_cast<int>(t / kMinute % 60), static_cast<int>(t / kSecond % 60),
                static_cast<int>(t % 1000));
  return buf;
}

std::string hhmmss(int64_t t) { return timestamp(t).substr(11, 8); }

// The generated hospital and its day. generate() builds everything; the
// accessors write it out.
class HospitalDay {
 public:
  explicit HospitalDay(uint64_t seed) : rng_(seed) {}

  void generate() {
    makeStaff();
    makePatients();
    makeCensusAndRoster();
    ordinaryTraffic();
    ordinary_events_ = events_.size();
    injectMisuse();
    finish();
  }

  size_t ordinaryEvents() const { return ordinary_events_; }
  size_t events() const { return events_.size(); }
  // The day's events in time order, and what they name: for the servers
  // behind the EHR (ServerDay), whose work follows the charts'.
  const std::vector<AuditEvent>& auditEvents() const { return events_; }
  const std::string& staffId(int s) const { return staff_[static_cast<size_t>(s)].id; }
  const std::string& patientId(int p) const { return patients_[static_cast<size_t>(p)].id; }
  int hostIndex(const AuditEvent& e) const { return hostOf(e); }
  const std::vector<InjectedCase>& cases() const { return cases_; }
  size_t staffCount() const { return staff_.size(); }
  size_t rosteredCount() const {
    return static_cast<size_t>(
        std::count_if(staff_.begin(), staff_.end(), [](const Staff& s) { return s.rostered; }));
  }
  size_t inpatientCount() const {
    return static_cast<size_t>(std::count_if(patients_.begin(), patients_.end(),
                                             [](const Patient& p) { return p.inpatient; }));
  }
  size_t employeePatients() const {
    return static_cast<size_t>(std::count_if(patients_.begin(), patients_.end(),
                                             [](const Patient& p) { return p.employee; }));
  }

  // Ordinary traffic's distinct (user, chart) pairs, those in which user
  // and patient share a family name (the user's own chart aside) against
  // what the index's name frequencies predict, and those on an employee's
  // chart (ditto).
  struct ChancePairs {
    size_t pairs = 0, same_name = 0, employee_charts = 0;
    double same_name_expected = 0;
  };
  ChancePairs chancePairs() const {
    std::map<std::string, size_t> family_count;
    for (const auto& p : patients_) ++family_count[p.family];
    std::set<std::pair<int, int>> pairs;
    for (const auto& e : events_)
      if (!e.injected) pairs.insert({e.staff, e.patient});
    ChancePairs c;
    c.pairs = pairs.size();
    for (const auto& [s, p] : pairs) {
      const Staff& st = staff_[static_cast<size_t>(s)];
      const Patient& pt = patients_[static_cast<size_t>(p)];
      if (st.own_patient == p) continue;
      if (st.family == pt.family) ++c.same_name;
      if (pt.employee) ++c.employee_charts;
      c.same_name_expected += static_cast<double>(family_count[st.family]) / kPatients;
    }
    return c;
  }

  std::string staffCsv() const {
    std::string csv = "user_id,name,family_name,status,role,department,night_shift,patient_id\n";
    for (const auto& s : staff_) {
      csv += s.id + "," + s.given + " " + s.family + "," + s.family + "," + s.status + "," +
             roleName(s.role) + "," + s.department() + "," + (s.night ? "yes" : "no") + "," +
             (s.own_patient >= 0 ? patients_[static_cast<size_t>(s.own_patient)].id : "") + "\n";
    }
    return csv;
  }

  std::string patientsCsv() const {
    std::string csv = "patient_id,family_name,restricted,care_team,employee,department\n";
    for (const auto& p : patients_) {
      std::string team;
      if (!p.care_team.empty()) {
        team = ";";
        for (int s : p.care_team) team += staff_[static_cast<size_t>(s)].id + ";";
      }
      csv += p.id + "," + p.family + "," + (p.restricted ? "yes" : "no") + "," + team + "," +
             (p.employee ? "yes" : "no") + "," +
             (p.employee_of >= 0 ? staff_[static_cast<size_t>(p.employee_of)].department() : "") +
             "\n";
    }
    return csv;
  }

  // The day's events as JSON lines in time order, numbered by event.sequence.
  std::string ndjson() const {
    std::string out;
    out.reserve(events_.size() * 340);
    int64_t sequence = 0;
    for (const auto& e : events_) {
      const Staff& s = staff_[static_cast<size_t>(e.staff)];
      out += "{\"@timestamp\":\"" + timestamp(e.t) + "\",\"event\":{\"action\":\"" + e.action +
             "\",\"outcome\":\"" + (e.success ? "success" : "failure") +
             "\",\"category\":\"phi-access\",\"sequence\":" + std::to_string(++sequence) +
             "},\"user\":{\"id\":\"" + s.id + "\",\"roles\":[\"" + roleName(s.role) +
             "\"]},\"source\":{\"ip\":\"" + (e.ip.empty() ? s.ip : e.ip) +
             "\"},\"patient\":{\"id\":\"" + patients_[static_cast<size_t>(e.patient)].id +
             "\"},\"resource\":{\"type\":\"" + e.resource + "\"},\"purpose_of_use\":\"" +
             e.purpose + "\",\"host\":{\"name\":\"" + hostName(hostOf(e)) + "\"}}\n";
    }
    return out;
  }

 private:
  // ---- the directory and the index -------------------------------------

  void addStaff(Role role, int unit, bool night, int count) {
    for (int i = 0; i < count; ++i) {
      Staff s;
      s.role = role;
      s.unit = unit;
      s.night = night;
      staff_.push_back(std::move(s));
    }
  }

  void makeStaff() {
    for (int w = 0; w < kWards; ++w) {
      addStaff(Role::kNurse, w, false, 8);
      addStaff(Role::kNurse, w, true, 6);
      addStaff(Role::kPhysician, w, false, 4);
      addStaff(Role::kPhysician, w, true, 1);
    }
    addStaff(Role::kNurse, kEmergency, false, 14);
    addStaff(Role::kNurse, kEmergency, true, 10);
    addStaff(Role::kPhysician, kEmergency, false, 6);
    addStaff(Role::kPhysician, kEmergency, true, 4);
    addStaff(Role::kPhysician, kClinic, false, 10);
    addStaff(Role::kClerk, kRegistration, false, 36);
    addStaff(Role::kClerk, kEmergency, false, 4);
    addStaff(Role::kClerk, kEmergency, true, 4);
    addStaff(Role::kBilling, kFinance, false, 30);
    addStaff(Role::kResearcher, kResearch, false, 16);
    const size_t leavers = staff_.size();
    addStaff(Role::kNurse, 2, false, 2);
    addStaff(Role::kPhysician, kClinic, false, 1);
    addStaff(Role::kClerk, kRegistration, false, 1);
    addStaff(Role::kBilling, kFinance, false, 1);
    addStaff(Role::kClerk, kEmergency, false, 1);
    for (size_t i = leavers; i < staff_.size(); ++i)
      staff_[i].status = i + 2 < staff_.size() ? "terminated" : "disabled";
    rng_.shuffle(staff_);  // ids say nothing about roles
    for (size_t i = 0; i < staff_.size(); ++i) {
      Staff& s = staff_[i];
      s.id = "u" + std::to_string(1000 + i);
      s.given = kGivenNames[rng_.below(std::size(kGivenNames))];
      s.family = names_.draw(rng_);
      const int subnet = s.unit < kWards ? 20 + s.unit : s.unit - 70;  // a unit's workstations
      s.ip = "10.0." + std::to_string(subnet) + "." + std::to_string(rng_.between(10, 250));
    }
  }

  void makePatients() {
    patients_.resize(kPatients);
    for (int i = 0; i < kPatients; ++i) {
      patients_[static_cast<size_t>(i)].id = "p-" + std::to_string(100000 + i);
      patients_[static_cast<size_t>(i)].family = names_.draw(rng_);
    }
    for (size_t s = 0; s < staff_.size(); ++s) {
      Staff& st = staff_[s];
      if (st.active() && rng_.percent(35)) {
        const int p = freePatient();
        st.own_patient = p;
        patients_[static_cast<size_t>(p)].employee = true;
        patients_[static_cast<size_t>(p)].employee_of = static_cast<int>(s);
        patients_[static_cast<size_t>(p)].family = st.family;
      }
      if (rng_.percent(33)) {
        for (int r = static_cast<int>(rng_.between(1, 3)); r > 0; --r) {
          const int p = freePatient();
          st.relatives.push_back(p);
          patients_[static_cast<size_t>(p)].relative = true;
          patients_[static_cast<size_t>(p)].family = st.family;
        }
      }
    }
    for (int v = 0; v < kRestrictedPatients; ++v) {
      const int p = freePatient();
      patients_[static_cast<size_t>(p)].restricted = true;
      vips_.push_back(p);
    }
    // The first five VIPs are in hospital today: their care team is whoever
    // is assigned to them (ordinaryTraffic). The others' teams are 2-4
    // clinicians, who see them elsewhere than in today's log.
    std::vector<int> clinicians;
    for (size_t s = 0; s < staff_.size(); ++s)
      if (staff_[s].active() && clinician(staff_[s])) clinicians.push_back(static_cast<int>(s));
    for (size_t v = 5; v < vips_.size(); ++v) {
      auto& team = patients_[static_cast<size_t>(vips_[v])].care_team;
      for (size_t n = static_cast<size_t>(rng_.between(2, 4)); team.size() < n;) {
        const int who = rng_.pick(clinicians);
        if (std::find(team.begin(), team.end(), who) == team.end()) team.push_back(who);
      }
    }
  }

  // A patient who is nobody's own record, relative or VIP yet.
  int freePatient() {
    for (;;) {
      const int p = static_cast<int>(rng_.below(kPatients));
      const Patient& pt = patients_[static_cast<size_t>(p)];
      if (!pt.employee && !pt.relative && !pt.restricted) return p;
    }
  }

  // Anyone in the index but the VIPs (they are seen by their care teams only).
  int anyPatient() {
    for (;;) {
      const int p = static_cast<int>(rng_.below(kPatients));
      if (!patients_[static_cast<size_t>(p)].restricted) return p;
    }
  }

  // ---- who is in hospital and who works today --------------------------

  void makeCensusAndRoster() {
    for (int w = 0; w < kWards; ++w) {
      for (int n = static_cast<int>(rng_.between(18, 22)); n > 0; --n) {
        int p;
        do p = anyPatient();
        while (patients_[static_cast<size_t>(p)].inpatient);
        patients_[static_cast<size_t>(p)].inpatient = true;
        census_[w].push_back(p);
      }
    }
    // Five VIPs are in hospital today, one on each of the first wards.
    for (int v = 0; v < 5; ++v) {
      const int p = vips_[static_cast<size_t>(v)];
      patients_[static_cast<size_t>(p)].inpatient = true;
      census_[v].push_back(p);
    }
    for (auto& s : staff_) {
      const bool office = s.role != Role::kNurse && s.role != Role::kPhysician;
      s.rostered = s.active() && rng_.percent(office ? 75 : 60) &&
                   !(s.own_patient >= 0 && patients_[static_cast<size_t>(s.own_patient)].inpatient);
    }
    // Every unit keeps its minimum staffing.
    auto ensure = [&](Role role, int unit, bool night, int minimum) {
      int have = 0;
      for (const auto& s : staff_)
        if (s.rostered && s.role == role && s.unit == unit && s.night == night) ++have;
      for (auto& s : staff_) {
        if (have >= minimum) break;
        if (!s.rostered && s.active() && s.role == role && s.unit == unit && s.night == night &&
            !(s.own_patient >= 0 && patients_[static_cast<size_t>(s.own_patient)].inpatient)) {
          s.rostered = true;
          ++have;
        }
      }
    };
    for (int w = 0; w < kWards; ++w) {
      ensure(Role::kNurse, w, false, 3);
      ensure(Role::kNurse, w, true, 2);
      ensure(Role::kPhysician, w, false, 1);
    }
    ensure(Role::kNurse, kEmergency, false, 4);
    ensure(Role::kNurse, kEmergency, true, 2);
    ensure(Role::kPhysician, kEmergency, false, 2);
    ensure(Role::kPhysician, kEmergency, true, 1);
    ensure(Role::kClerk, kEmergency, false, 2);
    ensure(Role::kClerk, kEmergency, true, 1);
    ensure(Role::kPhysician, kWards - 1, true, 1);
    int early = 0;
    for (auto& s : staff_) {
      if (s.rostered) s.shifts = shiftsOf(s, early);
    }
  }

  std::vector<Span> shiftsOf(const Staff& s, int& early_clerks) {
    auto j = [&](int64_t from, int64_t to) { return rng_.between(from, to); };
    if (s.night) return {{0, j(at(7, 0), at(7, 30))}, {j(at(18, 45), at(19, 15)), kDay}};
    switch (s.role) {
      case Role::kNurse:
        return {{j(at(6, 45), at(7, 15)), j(at(19, 0), at(19, 40))}};
      case Role::kPhysician:
        if (s.unit == kClinic) return {{j(at(7, 45), at(8, 15)), j(at(16, 45), at(17, 30))}};
        return {{j(at(7, 15), at(8, 0)), j(at(17, 30), at(19, 0))}};
      case Role::kClerk:
        if (s.unit == kEmergency) return {{j(at(6, 45), at(7, 15)), j(at(19, 0), at(19, 30))}};
        if (early_clerks++ % 2 == 0) return {{j(at(6, 45), at(7, 15)), j(at(15, 15), at(15, 45))}};
        return {{j(at(10, 15), at(10, 45)), j(at(18, 45), at(19, 15))}};
      case Role::kBilling:
        return {{j(at(7, 45), at(8, 30)), at(12, 0)},
                {j(at(12, 40), at(12, 50)), j(at(16, 30), at(17, 15))}};
      case Role::kResearcher:
        return {{j(at(8, 45), at(9, 30)), j(at(16, 30), at(17, 30))}};
    }
    return {};
  }

  std::vector<int> rostered(Role role, int unit, bool night) const {
    std::vector<int> out;
    for (size_t i = 0; i < staff_.size(); ++i) {
      const Staff& s = staff_[i];
      if (s.rostered && s.role == role && s.unit == unit && s.night == night)
        out.push_back(static_cast<int>(i));
    }
    return out;
  }

  // ---- ordinary work ----------------------------------------------------

  enum class Style { kClinical, kRegistration, kBilling, kResearch };

  void addEvent(int64_t t, int staff, int patient, const char* action, bool success,
                const char* resource, int64_t visit, const char* purpose = "TREAT",
                std::string ip = "", bool injected = false) {
    if (t < 0 || t >= kDay) return;
    AuditEvent e;
    e.t = t;
    e.staff = staff;
    e.patient = patient;
    e.action = action;
    e.success = success;
    e.resource = resource;
    e.visit = visit;
    e.purpose = purpose;
    e.ip = std::move(ip);
    e.injected = injected;
    events_.push_back(std::move(e));
  }

  // One user working in one patient's chart from `t`: a burst of events a
  // few seconds apart. Returns when the visit ends.
  int64_t visit(int staff, int64_t t, int patient, Style style) {
    static constexpr const char* kClinicalResources[] = {
        "Observation", "MedicationRequest",  "MedicationAdministration",
        "Encounter",   "DiagnosticReport",   "DocumentReference",
        "Condition",   "AllergyIntolerance", "CarePlan",
        "Procedure",   "ServiceRequest",     "Observation"};
    static constexpr const char* kRegistrationResources[] = {"Encounter", "Coverage", "Appointment",
                                                             "RelatedPerson"};
    static constexpr const char* kBillingResources[] = {"Claim",     "Coverage",  "Encounter",
                                                        "Procedure", "Condition", "Account"};
    static constexpr const char* kResearchResources[] = {"Observation", "Condition",
                                                         "DiagnosticReport", "MedicationRequest"};
    const int64_t id = ++visits_;
    if (rng_.below(kDenialOneInVisits) == 0) {
      // A mistyped record number: the neighbouring record, refused.
      const int wrong = patient + (patient + 1 < kPatients ? 1 : -1);
      addEvent(t, staff, wrong, "read", false, "Patient", id);
      t += rng_.between(10, 40) * kSecond;
    }
    int events = 0;
    switch (style) {
      case Style::kClinical:
        events = static_cast<int>(rng_.between(12, 45));
        break;
      case Style::kRegistration:
        events = static_cast<int>(rng_.between(3, 8));
        break;
      case Style::kBilling:
        events = static_cast<int>(rng_.between(5, 15));
        break;
      case Style::kResearch:
        events = static_cast<int>(rng_.between(3, 10));
        break;
    }
    addEvent(t, staff, patient, "read", true, "Patient", id);
    for (int i = 1; i < events; ++i) {
      t += rng_.between(3, 15) * kSecond + static_cast<int64_t>(rng_.below(1000));
      const char* resource = "Patient";
      const char* action = "read";
      const uint64_t a = rng_.below(100);
      switch (style) {
        case Style::kClinical:
          resource = kClinicalResources[rng_.below(std::size(kClinicalResources))];
          action = a < 70 ? "read" : a < 80 ? "search" : a < 92 ? "update" : "create";
          break;
        case Style::kRegistration:
          resource = kRegistrationResources[rng_.below(std::size(kRegistrationResources))];
          action = a < 60 ? "read" : a < 85 ? "update" : "create";
          break;
        case Style::kBilling:
          resource = kBillingResources[rng_.below(std::size(kBillingResources))];
          action = a < 75 ? "read" : a < 85 ? "search" : "update";
          break;
        case Style::kResearch:
          resource = kResearchResources[rng_.below(std::size(kResearchResources))];
          action = a < 80 ? "read" : "search";
          break;
      }
      addEvent(t, staff, patient, action, true, resource, id);
    }
    return t;
  }

  // Someone on a shift working through patients: `next` picks the chart,
  // the gap between visits is drawn from [gap_lo, gap_hi] minutes (longer
  // between 01:00 and 05:00, when patients sleep).
  template <class Next>
  void workShifts(int staff, Style style, int gap_lo, int gap_hi, Next next) {
    const Staff& s = staff_[static_cast<size_t>(staff)];
    for (const Span span : s.shifts) {
      int64_t t = span.start + rng_.between(0, 5) * kMinute;
      while (t < span.end) {
        const int p = next();
        if (p >= 0) t = visit(staff, t, p, style);
        const bool small_hours = t >= at(1, 0) && t < at(5, 0);
        t += rng_.between(gap_lo, gap_hi) * kMinute * (small_hours ? 2 : 1) +
             static_cast<int64_t>(rng_.below(60)) * kSecond;
      }
    }
  }

  // On-shift staff of a unit at `t`, or -1 when nobody is.
  int onDuty(Role role, int unit, int64_t t) {
    std::vector<int> here;
    for (size_t i = 0; i < staff_.size(); ++i) {
      const Staff& s = staff_[i];
      if (s.rostered && s.role == role && s.unit == unit && s.onShift(t))
        here.push_back(static_cast<int>(i));
    }
    return here.empty() ? -1 : rng_.pick(here);
  }

  void ordinaryTraffic() {
    std::vector<int> ward_pool;  // every non-VIP inpatient: night cross-cover
    for (int w = 0; w < kWards; ++w) {
      // Inpatients shared out among the ward's nurses (day and night) and
      // day physicians; a VIP's care team is whoever is assigned to them.
      std::map<int, std::vector<int>> assigned;
      std::vector<int> pool;
      for (int p : census_[w])
        if (!patients_[static_cast<size_t>(p)].restricted) pool.push_back(p);
      ward_pool.insert(ward_pool.end(), pool.begin(), pool.end());
      for (const auto& group : {rostered(Role::kNurse, w, false), rostered(Role::kNurse, w, true),
                                rostered(Role::kPhysician, w, false)}) {
        std::vector<int> beds = census_[w];
        rng_.shuffle(beds);
        for (size_t b = 0; b < beds.size(); ++b) {
          const int who = group[b % group.size()];
          assigned[who].push_back(beds[b]);
          Patient& p = patients_[static_cast<size_t>(beds[b])];
          // The index lists the treating staff of VIPs and of employees.
          if (p.restricted || p.employee) p.care_team.push_back(who);
        }
      }
      for (auto& [who, mine] : assigned) {
        const Staff& s = staff_[static_cast<size_t>(who)];
        const bool nurse = s.role == Role::kNurse;
        const std::vector<int> own = mine;
        workShifts(who, Style::kClinical, nurse ? 3 : 4, nurse ? 9 : 12, [&, own] {
          // Mostly one's own patients; now and then a colleague's (breaks,
          // handovers, consults), never a VIP one is not assigned to.
          return rng_.percent(nurse ? 88 : 85) || pool.empty() ? rng_.pick(own) : rng_.pick(pool);
        });
      }
    }
    // Night physicians cross-cover every ward.
    for (int w = 0; w < kWards; ++w) {
      for (int who : rostered(Role::kPhysician, w, true))
        workShifts(who, Style::kClinical, 10, 30, [&] { return rng_.pick(ward_pool); });
    }
    emergencyDepartment();
    clinics();
    for (int who : rostered(Role::kClerk, kRegistration, false))
      workShifts(who, Style::kRegistration, 8, 15, [&] { return anyPatient(); });
    for (int who : rostered(Role::kBilling, kFinance, false))
      workShifts(who, Style::kBilling, 3, 8, [&] { return anyPatient(); });
    for (int who : rostered(Role::kResearcher, kResearch, false)) {
      std::vector<int> cohort;
      for (int i = 0; i < 30; ++i) cohort.push_back(anyPatient());
      workShifts(who, Style::kResearch, 15, 45, [&] { return rng_.pick(cohort); });
    }
  }

  void emergencyDepartment() {
    int64_t t = 0;
    while (t < kDay) {
      const bool day = t >= at(7, 0) && t < at(19, 0);
      t += rng_.between(day ? 3 : 8, day ? 7 : 16) * kMinute +
           static_cast<int64_t>(rng_.below(60)) * kSecond;
      if (t >= kDay) break;
      const int p = anyPatient();
      if (const int clerk = onDuty(Role::kClerk, kEmergency, t); clerk >= 0)
        visit(clerk, t, p, Style::kRegistration);
      int nurse = onDuty(Role::kNurse, kEmergency, t + 5 * kMinute);
      if (nurse >= 0) visit(nurse, t + rng_.between(2, 8) * kMinute, p, Style::kClinical);
      const int64_t seen = t + rng_.between(15, 75) * kMinute;
      int doctor = onDuty(Role::kPhysician, kEmergency, seen);
      if (doctor >= 0) visit(doctor, seen, p, Style::kClinical);
      for (int r = static_cast<int>(rng_.between(2, 4)); r > 0; --r) {
        const int64_t when = t + rng_.between(30, 240) * kMinute;
        if (nurse < 0 || !staff_[static_cast<size_t>(nurse)].onShift(when))
          nurse = onDuty(Role::kNurse, kEmergency, when);  // handed over
        if (nurse >= 0) visit(nurse, when, p, Style::kClinical);
      }
      for (int r = static_cast<int>(rng_.between(1, 2)); r > 0; --r) {
        const int64_t when = seen + rng_.between(45, 240) * kMinute;
        if (doctor < 0 || !staff_[static_cast<size_t>(doctor)].onShift(when))
          doctor = onDuty(Role::kPhysician, kEmergency, when);
        if (doctor >= 0) visit(doctor, when, p, Style::kClinical);
      }
    }
  }

  void clinics() {
    for (int who : rostered(Role::kPhysician, kClinic, false)) {
      const Span shift = staff_[static_cast<size_t>(who)].shifts.front();
      for (int64_t slot = at(8, 0); slot + 30 * kMinute <= shift.end; slot += 30 * kMinute) {
        if (slot < shift.start || !rng_.percent(85)) continue;
        const int p = anyPatient();
        const int64_t arrival = slot - rng_.between(5, 15) * kMinute;
        if (const int clerk = onDuty(Role::kClerk, kRegistration, arrival); clerk >= 0)
          visit(clerk, arrival, p, Style::kRegistration);
        visit(who, slot + rng_.between(0, 10) * kMinute, p, Style::kClinical);
      }
    }
  }

  // ---- misuse -------------------------------------------------------------

  InjectedCase& newCase(Kind kind, int staff, int64_t t) {
    InjectedCase c;
    c.kind = kind;
    if (staff >= 0) c.user = staff_[static_cast<size_t>(staff)].id;
    c.start = c.end = t;
    cases_.push_back(std::move(c));
    if (staff >= 0) used_.insert(staff);
    return cases_.back();
  }

  // Adds a misuse event to case `c` (the case's user).
  void misuse(InjectedCase& c, int staff, int64_t t, int patient, const char* action = "read",
              bool success = true, const char* purpose = "TREAT", std::string ip = "",
              const char* resource = "Patient") {
    addEvent(t, staff, patient, action, success, resource, ++visits_, purpose, std::move(ip), true);
    c.patients.insert(patients_[static_cast<size_t>(patient)].id);
    c.end = std::max(c.end, t);
  }

  // Someone not yet used by a case, on shift at `t` when `on_shift`, for
  // whom `want` holds.
  template <class Want>
  int culprit(int64_t t, bool on_shift, Want want) {
    std::vector<int> candidates;
    for (size_t i = 0; i < staff_.size(); ++i) {
      const Staff& s = staff_[i];
      if (used_.count(static_cast<int>(i)) || !want(s)) continue;
      if (on_shift && !s.onShift(t)) continue;
      candidates.push_back(static_cast<int>(i));
    }
    EXPECT_FALSE(candidates.empty()) << "no culprit at " << hhmmss(t);
    return candidates.empty() ? 0 : rng_.pick(candidates);
  }

  static bool clinician(const Staff& s) {
    return s.role == Role::kNurse || s.role == Role::kPhysician;
  }

  void injectMisuse() {
    // Daytime slots, shifted per kind so that the cases of different kinds
    // do not all land in the same minutes.
    const int64_t slots[kCasesPerKind] = {at(9, 15), at(10, 50), at(13, 25), at(15, 10),
                                          at(17, 40)};
    int kind_no = 0;
    for (Kind kind : kEhrKinds) {
      for (int i = 0; i < kCasesPerKind; ++i) {
        const int64_t t = slots[i] + kind_no * 3 * kMinute + rng_.between(0, 120) * kSecond;
        injectOne(kind, i, t);
      }
      ++kind_no;
    }
  }

  void injectOne(Kind kind, int i, int64_t t) {
    auto seconds = [&](int lo, int hi) { return rng_.between(lo, hi) * kSecond; };
    switch (kind) {
      case Kind::kBulkBrowsing: {  // 40 charts in about ten minutes
        const int who = culprit(t, true, [](const Staff& s) {
          return s.role == Role::kClerk || s.role == Role::kBilling;
        });
        InjectedCase& c = newCase(kind, who, t);
        for (int n = 0; n < 40; ++n, t += seconds(8, 20)) misuse(c, who, t, anyPatient());
        break;
      }
      case Kind::kBulkExport: {
        const int who = culprit(t, true, [](const Staff& s) { return s.active(); });
        InjectedCase& c = newCase(kind, who, t);
        const int p = anyPatient();
        misuse(c, who, t, p, "export", true, "TREAT", "", "Bundle");
        misuse(c, who, t + seconds(30, 90), p, "download", true, "TREAT", "", "Bundle");
        break;
      }
      case Kind::kTerminatedAccount: {
        const int who = culprit(t, false, [](const Staff& s) { return !s.active(); });
        InjectedCase& c = newCase(kind, who, t);
        for (int n = 0; n < 3; ++n, t += seconds(20, 120)) misuse(c, who, t, anyPatient());
        break;
      }
      case Kind::kRestrictedOutsideCareTeam: {
        const int vip = vips_[static_cast<size_t>(i * 3 % kRestrictedPatients)];
        const auto& team = patients_[static_cast<size_t>(vip)].care_team;
        const int who = culprit(t, true, [&](const Staff& s) {
          const int idx = static_cast<int>(&s - staff_.data());
          return clinician(s) && std::find(team.begin(), team.end(), idx) == team.end();
        });
        InjectedCase& c = newCase(kind, who, t);
        misuse(c, who, t, vip);
        misuse(c, who, t + seconds(5, 20), vip, "read", true, "TREAT", "", "Observation");
        misuse(c, who, t + seconds(25, 60), vip, "read", true, "TREAT", "", "DocumentReference");
        break;
      }
      case Kind::kRelativeSnooping: {
        const int who = culprit(t, true, [](const Staff& s) { return !s.relatives.empty(); });
        InjectedCase& c = newCase(kind, who, t);
        const int p = rng_.pick(staff_[static_cast<size_t>(who)].relatives);
        for (int n = 0; n < 4; ++n, t += seconds(5, 30)) misuse(c, who, t, p);
        break;
      }
      case Kind::kOwnRecord: {
        const int who = culprit(t, true, [](const Staff& s) { return s.own_patient >= 0; });
        InjectedCase& c = newCase(kind, who, t);
        const int p = staff_[static_cast<size_t>(who)].own_patient;
        for (int n = 0; n < 3; ++n, t += seconds(5, 30)) misuse(c, who, t, p);
        break;
      }
      case Kind::kCoworkerRecord: {  // someone in the culprit's own department
        auto colleagues = [this](const Staff& me) {
          std::vector<int> charts;
          const int me_index = static_cast<int>(&me - staff_.data());
          for (const auto& other : staff_) {
            if (&other == &me || other.own_patient < 0 || other.department() != me.department())
              continue;
            const auto& team = patients_[static_cast<size_t>(other.own_patient)].care_team;
            if (std::find(team.begin(), team.end(), me_index) == team.end())
              charts.push_back(other.own_patient);
          }
          return charts;
        };
        const int who = culprit(t, true, [&](const Staff& s) { return !colleagues(s).empty(); });
        const std::vector<int> coworkers = colleagues(staff_[static_cast<size_t>(who)]);
        InjectedCase& c = newCase(kind, who, t);
        const int p = rng_.pick(coworkers);
        for (int n = 0; n < 3; ++n, t += seconds(5, 30)) misuse(c, who, t, p);
        break;
      }
      case Kind::kAfterHours: {  // day staff, at night, over the VPN
        const int64_t nights[kCasesPerKind] = {at(21, 40), at(22, 55), at(23, 35), at(2, 20),
                                               at(4, 45)};
        t = nights[i] + seconds(0, 300);
        const int who = culprit(t, false, [](const Staff& s) { return s.active() && !s.night; });
        InjectedCase& c = newCase(kind, who, t);
        const std::string vpn = "10.250.0." + std::to_string(rng_.between(2, 250));
        for (int n = 0; n < 3; ++n, t += seconds(30, 240))
          misuse(c, who, t, anyPatient(), "read", true, "TREAT", vpn);
        break;
      }
      case Kind::kBreakTheGlass: {
        const int who = culprit(t, true, clinician);
        InjectedCase& c = newCase(kind, who, t);
        const int p = anyPatient();
        misuse(c, who, t, p, "read", true, "BTG");
        misuse(c, who, t + seconds(5, 30), p, "read", true, "BTG", "", "Observation");
        break;
      }
      case Kind::kNonTreatmentDisclosure: {
        const int who = culprit(t, true, [](const Staff& s) {
          return s.role == Role::kBilling || s.role == Role::kClerk;
        });
        InjectedCase& c = newCase(kind, who, t);
        const int p = anyPatient();
        misuse(c, who, t, p, "read", true, "HMARKT");
        misuse(c, who, t + seconds(5, 30), p, "read", true, "HMARKT", "", "Coverage");
        break;
      }
      case Kind::kDeniedThenSuccess: {  // four refusals, then in
        const int who = culprit(t, true, [](const Staff& s) { return s.active(); });
        InjectedCase& c = newCase(kind, who, t);
        const int p = anyPatient();
        for (int n = 0; n < 4; ++n, t += seconds(20, 60)) misuse(c, who, t, p, "read", false);
        misuse(c, who, t + seconds(60, 360), p);
        break;
      }
      case Kind::kOutsideNetwork: {
        const int who = culprit(t, true, [](const Staff& s) { return s.active(); });
        InjectedCase& c = newCase(kind, who, t);
        const std::string ip =
            (i % 2 ? "198.51.100." : "203.0.113.") + std::to_string(rng_.between(2, 250));
        const int p = anyPatient();
        for (int n = 0; n < 3; ++n, t += seconds(10, 60))
          misuse(c, who, t, p, "read", true, "TREAT", ip);
        break;
      }
      case Kind::kSourceSilent: {  // one host's audit trail stops for about an hour
        const int64_t starts[kCasesPerKind] = {at(9, 10), at(11, 40), at(14, 5), at(16, 20),
                                               at(20, 15)};
        InjectedCase& c = newCase(kind, -1, starts[i] + seconds(0, 600));
        c.host = hostName(1 + i);
        c.end = c.start + rng_.between(50, 70) * kMinute;
        silences_.push_back({1 + i, {c.start, c.end}});
        break;
      }
      default:  // the servers' logs (ServerDay)
        break;
    }
  }

  // ---- the log ------------------------------------------------------------

  // Visits go round robin through the hosts, skipping one that is silent.
  int hostOf(const AuditEvent& e) const {
    int h = static_cast<int>(e.visit % kHosts);
    for (int tries = 0; tries < kHosts && silent(h, e.t); ++tries) h = (h + 1) % kHosts;
    return h;
  }
  bool silent(int host, int64_t t) const {
    for (const auto& [h, span] : silences_)
      if (h == host && t >= span.start && t < span.end) return true;
    return false;
  }

  void finish() {
    // Time order; ties keep the order they were made in.
    std::stable_sort(events_.begin(), events_.end(),
                     [](const AuditEvent& a, const AuditEvent& b) { return a.t < b.t; });
  }

  Rng rng_;
  FamilyNames names_;
  std::vector<Staff> staff_;
  std::vector<Patient> patients_;
  std::vector<int> vips_;
  std::vector<int> census_[kWards];
  std::vector<AuditEvent> events_;
  size_t ordinary_events_ = 0;
  int64_t visits_ = 0;
  std::vector<InjectedCase> cases_;
  std::set<int> used_;
  std::vector<std::pair<int, Span>> silences_;
};

// ---- the servers behind the EHR -------------------------------------------

// The same day in the logs of what runs the EHR: the PostgreSQL server log
// with pgaudit, the Linux audit log of its eight hosts, and the CloudTrail
// log of the AWS account that keeps its documents and backups. Drawn from
// the seed with a generator of its own, so that the EHR log stays as it was.
//
// The site's settings, which decide what the logs hold:
// - PostgreSQL 15, log_line_prefix '%m [%p] %q%u@%d ' (Debian's), pgaudit
//   with pgaudit.log = 'read, write, ddl, role, misc', log_relation = on (a
//   record per table), log_parameter = on (log_parameter_max_size = 64:
//   longer values are "<long param suppressed>"), log_catalog = off (the
//   monitoring agent's and psql's catalog queries are not logged).
//   Physical backups (pg_basebackup, WAL archiving) run over replication
//   connections, which pgaudit does not see.
// - auditd 3 with log_format = ENRICHED, forwarded to one log with node=;
//   rules: execve by logged-in users (-F auid>=1000 -k exec), -w /var/log/
//   -p wa -k log_tamper, and watches on the audit configuration, sshd_config,
//   identity files, the firewall and kernel modules.
// - An AWS organization trail with S3 data events on the PHI buckets; the
//   account also has trails of its own (ehr-local-trail for its alarms,
//   ehr-s3-data-events for the privacy office), which it may stop.

constexpr int kDbHosts = 2;                  // ehr-db-1 (primary), ehr-db-2 (standby)
constexpr int kServers = kHosts + kDbHosts;  // auditd nodes: ehr-app-1..6, ehr-db-1, ehr-db-2
constexpr int kDbPrimary = kHosts;
constexpr int kDbStandby = kHosts + 1;
constexpr int kPoolSize = 12;                // the EHR's database connections per application host
constexpr int64_t kEpochOfDay = 1795132800;  // kDate 00:00:00 UTC in Unix seconds
constexpr int64_t kUnset = 4294967295;       // auid / ses never set
constexpr const char* kAwsAccount = "482913650127";
constexpr const char* kOrgTrail = "arn:aws:cloudtrail:us-east-1:482913650127:trail/org-trail";

std::string serverName(int h) {
  return h < kHosts ? hostName(h) : "ehr-db-" + std::to_string(h - kHosts + 1);
}

// Linux accounts on the hosts. alice, bob and deploy (the automation) are
// the administrators on deploy/lookups/sudo_allowed_users.txt; the DBAs and
// the developer log in too but do not become root in ordinary work.
struct Account {
  const char* name;
  int uid;
};
constexpr Account kRootUser{"root", 0};
constexpr Account kPostgresUser{"postgres", 112};
constexpr Account kAlice{"alice", 1000};
constexpr Account kBob{"bob", 1001};
constexpr Account kDeploy{"deploy", 1002};
constexpr Account kOkafor{"okafor", 1003};
constexpr Account kLindqvist{"lindqvist", 1004};
constexpr Account kMarsh{"jmarsh", 1005};
constexpr Account kAccounts[] = {kRootUser, kPostgresUser, kAlice,     kBob,
                                 kDeploy,   kOkafor,       kLindqvist, kMarsh};

std::string accountName(int64_t uid) {
  if (uid == kUnset) return "unset";
  for (const auto& a : kAccounts)
    if (a.uid == uid) return a.name;
  return std::to_string(uid);
}

// "2026-11-20 09:15:00.123 UTC": PostgreSQL's %m.
std::string pgTime(int64_t t) {
  std::string s = timestamp(t);
  s[10] = ' ';
  s.pop_back();
  return s + " UTC";
}
// "1795166100.123": auditd's msg=audit(...) time.
std::string auditTime(int64_t t) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%03d", static_cast<long long>(kEpochOfDay + t / kSecond),
                static_cast<int>(t % kSecond));
  return buf;
}
// "2026-11-20T09:15:00Z": CloudTrail's eventTime.
std::string cloudTime(int64_t t) { return timestamp(t).substr(0, 19) + "Z"; }

std::string hexOf(std::string_view s) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// A CSV field as pgaudit writes it: quoted when it holds a comma, a quote or
// a line break, quotes doubled.
std::string csvField(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (const char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// An EXECVE argument as auditd writes it: quoted, or in hex when it holds a
// space, a quote or a control character.
std::string execArg(std::string_view v) {
  for (const unsigned char c : v)
    if (c <= ' ' || c == '"' || c >= 0x7f) return hexOf(v);
  return "\"" + std::string(v) + "\"";
}

std::string dirOf(const std::string& path) { return path.substr(0, path.rfind('/') + 1); }

class ServerDay {
 public:
  ServerDay(uint64_t seed, const HospitalDay& ehr)
      : rng_(seed ^ 0x9e3779b97f4a7c15ULL), ehr_(ehr) {}

  void generate() {
    setUp();
    injectMisuse();  // first: what an attack switches off is then not recorded
    databaseTraffic();
    hostTraffic();
    cloudTraffic();
    finish();
  }

  const std::vector<InjectedCase>& cases() const { return cases_; }
  size_t ordinary(LogId log) const { return counts_[log][0]; }
  size_t injected(LogId log) const { return counts_[log][1]; }
  // What the day held besides the cases, for the [quality] lines.
  std::string notes() const { return notes_; }

  // The PostgreSQL server log (log_line_prefix '%m [%p] %q%u@%d '), its
  // pgaudit records only.
  std::string pgauditLog() const {
    std::string out;
    out.reserve(pg_.size() * 260);
    std::map<int, int64_t> next_id = first_statement_id_;
    for (const auto& s : pg_) {
      const int64_t id = next_id[s.pid]++;
      std::string params = "<none>";
      if (!s.params.empty()) {
        params.clear();
        for (size_t i = 0; i < s.params.size(); ++i)
          params += (i > 0 ? "," : "") + csvField(s.params[i]);
        params = csvField(params);
      }
      // A statement over several lines: PostgreSQL indents continuation lines with a tab.
      std::string sql = csvField(s.sql);
      for (size_t nl = sql.find('\n'); nl != std::string::npos; nl = sql.find('\n', nl + 2))
        sql.insert(nl + 1, "\t");
      for (const auto& r : s.relations) {
        out += pgTime(s.t) + " [" + std::to_string(s.pid) + "] " + s.user +
               "@ehr LOG:  AUDIT: SESSION," + std::to_string(id) + ",1," + r.cls + "," + r.command +
               "," + r.object_type + "," + r.object + "," + sql + "," + params + "\n";
      }
    }
    return out;
  }

  // The hosts' audit records as a central audit log holds them (node=,
  // log_format = ENRICHED), serials per host in time order.
  std::string auditdLog() const {
    std::string out;
    out.reserve(host_events_.size() * 900);
    int64_t serial[kServers];
    std::copy(std::begin(first_serial_), std::end(first_serial_), std::begin(serial));
    for (const auto& e : host_events_) {
      const std::string head = "node=" + serverName(e.host) + " type=";
      const std::string stamp =
          " msg=audit(" + auditTime(e.t) + ":" + std::to_string(serial[e.host]++) + "): ";
      for (const auto& r : e.records) {
        out += head + r.type + stamp + r.body;
        if (!r.enriched.empty()) out += "\x1d" + r.enriched;
        out += "\n";
      }
    }
    return out;
  }

  // One CloudTrail event per line.
  std::string cloudtrailLog() const {
    std::string out;
    out.reserve(cloud_.size() * 1100);
    for (const auto& e : cloud_) out += e.line + "\n";
    return out;
  }

 private:
  // ---- pgaudit ----------------------------------------------------------

  struct PgRelation {
    const char* cls;      // READ, WRITE, MISC, DDL, ROLE
    const char* command;  // SELECT, UPDATE, ...
    std::string object_type, object;
  };
  struct PgStatement {
    int64_t t = 0;
    int pid = 0;
    std::string user;
    std::vector<PgRelation> relations;  // one record each (pgaudit.log_relation = on)
    std::string sql;
    std::vector<std::string> params;  // pgaudit.log_parameter = on
    bool injected = false;
  };
  // From `from` to `to` the server logs DDL and ROLE only (an attack
  // narrowed pgaudit.log server-wide).
  struct PgGap {
    int64_t from, to;
  };

  static PgRelation table(const char* cls, const char* command, const std::string& name) {
    return {cls, command, "TABLE", "public." + name};
  }
  static PgRelation bare(const char* cls, const char* command) { return {cls, command, "", ""}; }

  // A new backend (session); its statements are numbered from `first_id`.
  int backend(int64_t first_id = 1) {
    next_backend_pid_ += static_cast<int>(rng_.between(3, 400));
    if (next_backend_pid_ > 4000000) next_backend_pid_ = 2000 + next_backend_pid_ % 1000;
    first_statement_id_[next_backend_pid_] = first_id;
    return next_backend_pid_;
  }

  void statement(int64_t t, int pid, const std::string& user, std::vector<PgRelation> relations,
                 std::string sql, std::vector<std::string> params = {}, bool injected = false) {
    if (t < 0 || t >= kDay) return;
    if (!injected) {
      const std::string_view cls = relations.front().cls;
      for (const auto& g : pg_gaps_)
        if (t >= g.from && t < g.to && cls != "DDL" && cls != "ROLE") return;
    }
    PgStatement s;
    s.t = t;
    s.pid = pid;
    s.user = user;
    s.relations = std::move(relations);
    s.sql = std::move(sql);
    s.params = std::move(params);
    s.injected = injected;
    pg_.push_back(std::move(s));
  }

  // ---- auditd -----------------------------------------------------------

  struct AuditRecord {
    std::string type, body, enriched;
  };
  struct HostEvent {
    int64_t t = 0;
    int host = 0;
    std::vector<AuditRecord> records;
    bool injected = false;
  };
  // What a host did not record from `from` to `to`: anything (audit off or
  // auditd stopped), events of audit rules (rules deleted), or events of the
  // /var/log watch (that watch deleted).
  enum GapKind { kGapAll, kGapRules, kGapLogWatch };
  struct HostGap {
    int host;
    int64_t from, to;
    GapKind what;
  };
  struct Proc {
    int host = 0;
    int pid = 0, ppid = 1;
    int uid = 0;
    int64_t auid = kUnset, ses = kUnset;
    std::string tty = "(none)";
    std::string cwd = "/";
  };
  struct PathItem {
    std::string name;
    const char* nametype;  // PARENT, NORMAL, CREATE, DELETE
  };
  // How a PAM record was reached: the program, and where from.
  struct Pam {
    const char* exe;
    std::string hostname, addr, terminal;
  };
  struct Session {  // an ssh login: sshd's session process and the login shell
    Account who{};
    Proc sshd, shell;
    std::string addr;
  };
  struct Sudo {
    Account target{};
    Proc sudo, shell;  // sudo itself, and what it runs as the target
  };

  // A person's action: not on the second.
  int64_t jitter(int64_t t) { return t + static_cast<int64_t>(rng_.below(1000)); }

  int newPid(int host) {
    next_pid_[host] += static_cast<int>(rng_.between(1, 60));
    if (next_pid_[host] > 4000000) next_pid_[host] = 1000;
    return next_pid_[host];
  }

  void hostEvent(int64_t t, int host, std::vector<AuditRecord> records, const char* key,
                 bool injected) {
    if (t < 0 || t >= kDay) return;
    if (!injected) {
      for (const auto& g : gaps_) {
        if (g.host != host || t < g.from || t >= g.to) continue;
        if (g.what == kGapAll) return;
        if (key != nullptr &&
            (g.what == kGapRules || std::string_view(key) == std::string_view("log_tamper")))
          return;
      }
    }
    HostEvent e;
    e.t = t;
    e.host = host;
    e.records = std::move(records);
    e.injected = injected;
    host_events_.push_back(std::move(e));
  }

  static std::string ids(const Proc& p) {
    return "pid=" + std::to_string(p.pid) + " uid=" + std::to_string(p.uid) +
           " auid=" + std::to_string(p.auid) + " ses=" + std::to_string(p.ses);
  }
  static std::string who(const Proc& p) {
    return "UID=\"" + accountName(p.uid) + "\" AUID=\"" + accountName(p.auid) + "\"";
  }

  // A PAM record (USER_ACCT, CRED_ACQ, USER_START, ...), an event of its own.
  void pam(int64_t t, const char* type, const Proc& p, const Pam& via, const char* op,
           const char* grantors, const std::string& acct, bool injected, bool ok = true) {
    hostEvent(
        t, p.host,
        {{type,
          ids(p) + " subj=unconfined msg='op=" + op + " grantors=" + grantors + " acct=\"" + acct +
              "\" exe=\"" + via.exe + "\" hostname=" + via.hostname + " addr=" + via.addr +
              " terminal=" + via.terminal + " res=" + (ok ? "success" : "failed") + "'",
          who(p)}},
        nullptr, injected);
  }

  // pam_loginuid sets the login uid and session of `p`.
  void loginRecord(int64_t t, Proc& p, int64_t auid, int64_t ses, bool injected) {
    hostEvent(t, p.host,
              {{"LOGIN",
                "pid=" + std::to_string(p.pid) + " uid=" + std::to_string(p.uid) +
                    " subj=unconfined old-auid=" + std::to_string(p.auid) + " auid=" +
                    std::to_string(auid) + " tty=(none) old-ses=" + std::to_string(p.ses) +
                    " ses=" + std::to_string(ses) + " res=1",
                "UID=\"" + accountName(p.uid) + "\" OLD-AUID=\"" + accountName(p.auid) +
                    "\" AUID=\"" + accountName(auid) + "\""}},
              nullptr, injected);
    p.auid = auid;
    p.ses = ses;
  }

  void simple(int64_t t, int host, const char* type, std::string body, std::string enriched,
              bool injected) {
    hostEvent(t, host, {{type, std::move(body), std::move(enriched)}}, nullptr, injected);
  }

  void service(int64_t t, int host, const char* type, const std::string& unit,
               bool injected = false) {
    simple(t, host, type,
           "pid=1 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='unit=" + unit +
               " comm=\"systemd\" exe=\"/usr/lib/systemd/systemd\" hostname=? addr=? "
               "terminal=? res=success'",
           "UID=\"root\" AUID=\"unset\"", injected);
  }

  static int gidOf(int uid) { return uid == kPostgresUser.uid ? 120 : uid; }

  // A syscall caught by an audit rule: SYSCALL, EXECVE (for execve), CWD,
  // PATH..., PROCTITLE, EOE.
  void syscall(int64_t t, const Proc& p, const char* name, int nr, uint64_t a2, const char* comm,
               const char* exe, const char* key, const std::vector<PathItem>& paths,
               const std::vector<std::string>& argv, bool injected, bool ok = true,
               int64_t exit_code = 0) {
    const int gid = gidOf(p.uid);
    char buf[640];
    std::snprintf(buf, sizeof buf,
                  "arch=c000003e syscall=%d success=%s exit=%lld a0=%llx a1=%llx a2=%llx a3=%x "
                  "items=%zu ppid=%d pid=%d auid=%lld uid=%d gid=%d euid=%d suid=%d fsuid=%d "
                  "egid=%d sgid=%d fsgid=%d tty=%s ses=%lld comm=\"%s\" exe=\"%s\" "
                  "subj=unconfined key=\"%s\"",
                  nr, ok ? "yes" : "no", static_cast<long long>(exit_code),
                  static_cast<unsigned long long>(0xffffff9c),
                  static_cast<unsigned long long>(0x55d0c3a10000ULL + rng_.below(0xffff)),
                  static_cast<unsigned long long>(a2), 0x1b6, paths.size(), p.ppid, p.pid,
                  static_cast<long long>(p.auid), p.uid, gid, p.uid, p.uid, p.uid, gid, gid, gid,
                  p.tty.c_str(), static_cast<long long>(p.ses), comm, exe, key);
    const std::string group = accountName(gid == 120 ? kPostgresUser.uid : gid);
    std::vector<AuditRecord> r;
    r.push_back({"SYSCALL", buf,
                 std::string("ARCH=x86_64 SYSCALL=") + name + " AUID=\"" + accountName(p.auid) +
                     "\" UID=\"" + accountName(p.uid) + "\" GID=\"" + group + "\" EUID=\"" +
                     accountName(p.uid) + "\" SUID=\"" + accountName(p.uid) + "\" FSUID=\"" +
                     accountName(p.uid) + "\" EGID=\"" + group + "\" SGID=\"" + group +
                     "\" FSGID=\"" + group + "\""});
    if (nr == 59) {
      std::string args = "argc=" + std::to_string(argv.size());
      for (size_t i = 0; i < argv.size(); ++i)
        args += " a" + std::to_string(i) + "=" + execArg(argv[i]);
      r.push_back({"EXECVE", args, ""});
    }
    r.push_back({"CWD", "cwd=\"" + p.cwd + "\"", ""});
    for (size_t i = 0; i < paths.size(); ++i) {
      const bool dir = std::string_view(paths[i].nametype) == "PARENT";
      std::snprintf(buf, sizeof buf,
                    "item=%zu name=\"%s\" inode=%llu dev=fe:01 mode=%s ouid=0 ogid=0 rdev=00:00 "
                    "nametype=%s cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
                    i, paths[i].name.c_str(),
                    static_cast<unsigned long long>(130000 + rng_.below(900000)),
                    dir ? "040755" : "0100640", paths[i].nametype);
      r.push_back({"PATH", buf, "OUID=\"root\" OGID=\"root\""});
    }
    std::string title;
    for (size_t i = 0; i < argv.size(); ++i) title += (i > 0 ? std::string(1, '\0') : "") + argv[i];
    r.push_back({"PROCTITLE", "proctitle=" + hexOf(argv.empty() ? std::string(comm) : title), ""});
    r.push_back({"EOE", "", ""});
    hostEvent(t, p.host, std::move(r), key, injected);
  }

  // A program started by a logged-in user (-a always,exit -S execve -F
  // auid>=1000 -F auid!=unset -k exec). Returns its process.
  Proc exec(int64_t t, const Proc& parent, int uid, const std::vector<std::string>& argv,
            const char* exe, bool injected) {
    Proc p = parent;
    p.ppid = parent.pid;
    p.pid = newPid(parent.host);
    p.uid = uid;
    std::string comm = argv.front().substr(argv.front().rfind('/') + 1);
    if (!comm.empty() && comm[0] == '-') comm.erase(0, 1);
    if (p.auid != kUnset && p.auid >= 1000)
      syscall(t, p, "execve", 59, 0x55d0c3a2f350ULL, comm.c_str(), exe, "exec",
              {{exe, "NORMAL"}, {"/lib64/ld-linux-x86-64.so.2", "NORMAL"}}, argv, injected);
    return p;
  }

  // Something under the /var/log watch (-w /var/log/ -p wa -k log_tamper).
  void logFile(int64_t t, const Proc& p, const char* name, int nr, uint64_t a2, const char* comm,
               const char* exe, const std::vector<PathItem>& paths,
               const std::vector<std::string>& argv, bool injected) {
    syscall(t, p, name, nr, a2, comm, exe, "log_tamper", paths, argv, injected);
  }

  // cron runs a job as `as`: the PAM records around what `job` does from
  // its start; `job` returns when it ended.
  template <class Job>
  void cron(int64_t t, int host, Account as, Job job) {
    Proc p;
    p.host = host;
    p.pid = newPid(host);
    p.ppid = cron_pid_[host];
    const Pam via{"/usr/sbin/cron", "?", "?", "cron"};
    pam(t, "USER_ACCT", p, via, "PAM:accounting", "pam_permit", as.name, false);
    pam(t + 1, "CRED_ACQ", p, via, "PAM:setcred", "pam_permit,pam_cap", as.name, false);
    loginRecord(t + 2, p, as.uid, next_ses_[host]++, false);
    pam(t + 3, "USER_START", p, via, "PAM:session_open",
        "pam_loginuid,pam_env,pam_env,pam_permit,pam_unix,pam_limits", as.name, false);
    Proc run = p;
    run.ppid = p.pid;
    run.pid = newPid(host);
    run.uid = as.uid;
    const int64_t end = job(t + 5 + rng_.between(5, 300), run);
    pam(end + 1, "CRED_DISP", p, via, "PAM:setcred", "pam_permit,pam_cap", as.name, false);
    pam(end + 2, "USER_END", p, via, "PAM:session_close",
        "pam_loginuid,pam_env,pam_env,pam_permit,pam_unix,pam_limits", as.name, false);
  }

  Session sshLogin(int64_t t, int host, Account as, const std::string& addr, bool injected) {
    Session s;
    s.who = as;
    s.addr = addr;
    s.sshd.host = host;
    s.sshd.pid = newPid(host);
    s.sshd.ppid = sshd_pid_[host];
    const Pam via{"/usr/sbin/sshd", addr, addr, "ssh"};
    pam(t, "USER_ACCT", s.sshd, via, "PAM:accounting", "pam_permit", as.name, injected);
    pam(t + 4, "CRED_ACQ", s.sshd, via, "PAM:setcred", "pam_permit", as.name, injected);
    loginRecord(t + 6, s.sshd, as.uid, next_ses_[host]++, injected);
    pam(t + 40, "USER_START", s.sshd, via, "PAM:session_open",
        "pam_loginuid,pam_keyinit,pam_permit,pam_umask,pam_unix,pam_systemd,pam_mail,pam_limits,"
        "pam_env,pam_env",
        as.name, injected);
    const std::string tty = "pts" + std::to_string(rng_.below(4));
    simple(t + 45, host, "USER_LOGIN",
           ids(s.sshd) + " subj=unconfined msg='op=login id=" + std::to_string(as.uid) +
               " exe=\"/usr/sbin/sshd\" hostname=? addr=" + addr + " terminal=/dev/" + tty +
               " res=success'",
           who(s.sshd) + " ID=\"" + as.name + "\"", injected);
    Proc shell = s.sshd;
    shell.tty = tty;
    shell.cwd = std::string("/home/") + as.name;
    shell.uid = as.uid;
    s.shell = exec(t + 60, shell, as.uid, {"-bash"}, "/usr/bin/bash", injected);
    return s;
  }

  void sshLogout(int64_t t, const Session& s, bool injected) {
    const Pam via{"/usr/sbin/sshd", s.addr, s.addr, "ssh"};
    pam(t, "USER_END", s.sshd, via, "PAM:session_close",
        "pam_loginuid,pam_keyinit,pam_permit,pam_umask,pam_unix,pam_systemd,pam_mail,pam_limits,"
        "pam_env,pam_env",
        s.who.name, injected);
    simple(t + 1, s.sshd.host, "USER_LOGOUT",
           ids(s.sshd) + " subj=unconfined msg='op=logout id=" + std::to_string(s.who.uid) +
               " exe=\"/usr/sbin/sshd\" hostname=? addr=? terminal=/dev/" + s.shell.tty +
               " res=success'",
           who(s.sshd) + " ID=\"" + s.who.name + "\"", injected);
    pam(t + 2, "CRED_DISP", s.sshd, via, "PAM:setcred", "pam_permit", s.who.name, injected);
  }

  // sudo from the login shell: `argv` (sudo -i, sudo -iu postgres, ...).
  // `run` is what sudo starts as the target (a login shell for sudo -i).
  Sudo sudo(int64_t t, const Session& s, Account target, const std::vector<std::string>& argv,
            bool injected, bool password = true, bool mistyped = false,
            const std::vector<std::string>& run = {"-bash"},
            const char* run_exe = "/usr/bin/bash") {
    Sudo su;
    su.target = target;
    su.sudo = exec(t, s.shell, s.who.uid, argv, "/usr/bin/sudo", injected);
    const Pam via{"/usr/bin/sudo", "?", "?", "/dev/" + s.shell.tty};
    t += rng_.between(1500, 6000);
    if (mistyped) {
      pam(t, "USER_AUTH", su.sudo, via, "PAM:authentication", "?", s.who.name, injected, false);
      t += rng_.between(3000, 9000);
    }
    if (password)
      pam(t, "USER_AUTH", su.sudo, via, "PAM:authentication", "pam_permit,pam_unix", s.who.name,
          injected);
    pam(t + 2, "USER_ACCT", su.sudo, via, "PAM:accounting", "pam_permit,pam_unix", s.who.name,
        injected);
    pam(t + 4, "CRED_REFR", su.sudo, via, "PAM:setcred", "pam_permit,pam_unix", target.name,
        injected);
    pam(t + 6, "USER_START", su.sudo, via, "PAM:session_open", "pam_limits,pam_permit,pam_unix",
        target.name, injected);
    Proc shell = su.sudo;
    shell.cwd = target.uid == 0 ? "/root" : "/var/lib/postgresql";
    su.shell = exec(t + 20, shell, target.uid, run, run_exe, injected);
    return su;
  }

  void sudoEnd(int64_t t, const Sudo& su, bool injected) {
    const Pam via{"/usr/bin/sudo", "?", "?", "/dev/" + su.sudo.tty};
    pam(t, "USER_END", su.sudo, via, "PAM:session_close", "pam_limits,pam_permit,pam_unix",
        su.target.name, injected);
    pam(t + 2, "CRED_DISP", su.sudo, via, "PAM:setcred", "pam_permit,pam_unix", su.target.name,
        injected);
  }

  // The rules auditd loads (augenrules), by key.
  static constexpr const char* kRuleKeys[] = {
      "exec",     "exec",     "log_tamper",  "auditconfig", "auditconfig",
      "identity", "identity", "sshd_config", "firewall",    "modules"};

  void rulesLoaded(int64_t t, int host, int64_t auid, int64_t ses, bool injected) {
    for (const char* key : kRuleKeys) {
      simple(t, host, "CONFIG_CHANGE",
             "auid=" + std::to_string(auid) + " ses=" + std::to_string(ses) +
                 " subj=unconfined op=add_rule key=\"" + key + "\" list=4 res=1",
             "AUID=\"" + accountName(auid) + "\"", injected);
      t += rng_.between(1, 3);
    }
  }

  // ---- CloudTrail --------------------------------------------------------

  struct CloudEvent {
    int64_t t = 0;
    std::string line;
    bool injected = false;
  };
  struct Identity {
    std::string json;  // userIdentity
    std::string ip, agent;
  };

  std::string randomHex(int n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < n; ++i) s += kDigits[rng_.below(16)];
    return s;
  }
  std::string randomKey(const char* prefix) {
    static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string s = prefix;
    for (int i = 0; i < 16; ++i) s += kChars[rng_.below(32)];
    return s;
  }
  // Each draw its own statement: the order of operands of + is unspecified.
  std::string uuid() {
    std::string s = randomHex(8);
    s += "-" + randomHex(4);
    s += "-4" + randomHex(3);
    s += "-a" + randomHex(3);
    s += "-" + randomHex(12);
    return s;
  }

  Identity assumedRole(const std::string& role, const std::string& session, const std::string& ip,
                       const std::string& agent, const char* invoked_by = nullptr) {
    // A role's id is the same in every event (FNV-1a of its name).
    uint64_t hash = 14695981039346656037ULL;
    for (const char ch : role) hash = (hash ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
    std::string role_id = "AROA";
    for (int i = 0; i < 17; ++i) {
      hash = hash * 6364136223846793005ULL + 1442695040888963407ULL;
      role_id += "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[hash >> 59];
    }
    const std::string key_id = randomKey("ASIA");
    Identity id;
    id.json = std::string("{\"type\":\"AssumedRole\",\"principalId\":\"") + role_id + ":" +
              session + "\",\"arn\":\"arn:aws:sts::" + kAwsAccount + ":assumed-role/" + role + "/" +
              session + "\",\"accountId\":\"" + kAwsAccount + "\",\"accessKeyId\":\"" + key_id +
              "\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":\"" +
              role_id + "\",\"arn\":\"arn:aws:iam::" + kAwsAccount + ":role/" + role +
              "\",\"accountId\":\"" + kAwsAccount + "\",\"userName\":\"" + role +
              "\"},\"attributes\":{\"creationDate\":\"" + kDate +
              "T00:00:00Z\",\"mfaAuthenticated\":\"false\"}}" +
              (invoked_by ? std::string(",\"invokedBy\":\"") + invoked_by + "\"" : "") + "}";
    id.ip = ip;
    id.agent = agent;
    return id;
  }
  static std::string arnOf(const Identity& id) {
    const size_t at = id.json.find("\"arn\":\"") + 7;
    return id.json.substr(at, id.json.find('"', at) - at);
  }

  // One API call. `request` and `response` are JSON (or null); `extra`
  // adds members (",\"additionalEventData\":{...}").
  void cloud(int64_t t, const Identity& who, const char* source, const char* name,
             const std::string& request, bool read_only, bool injected = false,
             const std::string& response = "null", const char* error = nullptr,
             const char* category = "Management", const char* type = "AwsApiCall",
             const std::string& extra = "") {
    if (t < 0 || t >= kDay) return;
    const std::string request_id = uuid();
    const std::string event_id = uuid();
    std::string line = "{\"eventVersion\":\"1.09\",\"userIdentity\":" + who.json +
                       ",\"eventTime\":\"" + cloudTime(t) + "\",\"eventSource\":\"" + source +
                       "\",\"eventName\":\"" + name +
                       "\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"" + who.ip +
                       "\",\"userAgent\":\"" + who.agent + "\"";
    if (error != nullptr)
      line += std::string(",\"errorCode\":\"") + error +
              "\",\"errorMessage\":\"User is not authorized to perform: " + name + "\"";
    line += ",\"requestParameters\":" + request + ",\"responseElements\":" + response +
            ",\"requestID\":\"" + request_id + "\",\"eventID\":\"" + event_id +
            "\",\"readOnly\":" + (read_only ? "true" : "false") + ",\"eventType\":\"" + type +
            "\",\"managementEvent\":" +
            (std::string_view(category) == "Management" ? "true" : "false") +
            ",\"recipientAccountId\":\"" + kAwsAccount + "\",\"eventCategory\":\"" + category +
            "\"" + extra + "}";
    cloud_.push_back({t, std::move(line), injected});
  }

  void setUp() {
    next_backend_pid_ = static_cast<int>(rng_.between(1000, 30000));
    for (int h = 0; h < kServers; ++h) {
      next_pid_[h] = static_cast<int>(rng_.between(20000, 400000));
      cron_pid_[h] = static_cast<int>(rng_.between(500, 900));
      sshd_pid_[h] = static_cast<int>(rng_.between(500, 900));
      next_ses_[h] = rng_.between(300, 3000);
      first_serial_[h] = rng_.between(100000, 9000000);
      instance_[h] = "i-0" + randomHex(16);
      ip_[h] = std::string(h < kHosts ? "10.20.1." : "10.20.2.") + std::to_string(11 + h);
      auditd_pid_[h] = static_cast<int>(rng_.between(400, 700));
      machine_id_[h] = randomHex(32);
      instance_role_[h] = assumedRole(roleOf(h), instance_[h], ip_[h], kSsmAgent);
    }
    // The EHR's connection pools were opened days ago.
    for (int h = 0; h < kHosts; ++h)
      for (int k = 0; k < kPoolSize; ++k) pool_[h][k] = backend(rng_.between(100000, 9000000));
    monitor_pid_ = backend(rng_.between(10000, 900000));
    reporting_pid_ = backend(rng_.between(10000, 900000));
    packages_.clear();
    // Today's security updates (unattended-upgrades), the same on every host.
    static constexpr const char* kUpdates[] = {"tzdata", "libssl3 openssl", "libc6 libc-bin",
                                               "curl libcurl4", "openssh-client openssh-server"};
    if (rng_.percent(50)) packages_ = kUpdates[rng_.below(std::size(kUpdates))];
  }

  // ---- misuse -------------------------------------------------------------

  InjectedCase& newCase(Kind kind, LogId log, const std::string& user, const std::string& host,
                        int64_t t) {
    InjectedCase c;
    c.kind = kind;
    c.log = log;
    c.user = user;
    c.host = host;
    c.start = c.end = t;
    cases_.push_back(std::move(c));
    return cases_.back();
  }

  void injectMisuse() {
    directReads();
    auditSettingsChanged();
    auditdSwitchedOff();
    logsTampered();
    trailsStopped();
  }

  // Kind 11: people and tools other than the application reading PHI tables.
  void directReads() {
    const int64_t starts[kCasesPerKind] = {at(9, 40), at(11, 55), at(13, 10), at(16, 30),
                                           at(21, 45)};
    const char* roles[kCasesPerKind] = {"dev_marsh", "analyst_reyes", "postgres", "analyst_chen",
                                        "dba_lindqvist"};
    for (int i = 0; i < kCasesPerKind; ++i) {
      int64_t t = jitter(starts[i] + rng_.between(0, 600) * kSecond);
      const std::string role = roles[i];
      InjectedCase& c = newCase(Kind::kDirectDbPhiRead, kDbLog, role, "", t);
      const int pid = backend();
      const std::string patient = ehr_.patientId(static_cast<int>(rng_.below(kPatients)));
      auto next = [&](int lo, int hi) { return t = jitter(t + rng_.between(lo, hi) * kSecond); };
      switch (i) {
        case 0:  // a developer looks a patient up in production
          statement(t, pid, role, {bare("MISC", "SET")},
                    "SET application_name = 'DBeaver 24.2.0 - SQLEditor <ehr>'", {}, true);
          statement(next(20, 90), pid, role, {table("READ", "SELECT", "patients")},
                    "SELECT id, mrn, family_name, given_name, birth_date, address_line, phone "
                    "FROM patients WHERE id = '" +
                        patient + "'",
                    {}, true);
          statement(next(30, 120), pid, role, {table("READ", "SELECT", "clinical_notes")},
                    "SELECT kind, recorded_at, recorded_by, body FROM clinical_notes WHERE "
                    "patient_id = '" +
                        patient + "' ORDER BY recorded_at DESC",
                    {}, true);
          break;
        case 1:  // an analyst extracts a month of admissions (psql \copy, over several lines)
          statement(t, pid, role, {table("READ", "SELECT", "encounters")},
                    "COPY (\n  SELECT e.patient_id, e.admitted_at, e.discharged_at, e.ward\n"
                    "    FROM encounters e\n   WHERE e.admitted_at >= '2026-10-01'\n) TO STDOUT "
                    "WITH (FORMAT csv, HEADER)",
                    {}, true);
          break;
        case 2:  // a superuser session (sudo -u postgres psql) lists opioid prescriptions
          statement(t, pid, role, {table("READ", "SELECT", "prescriptions")},
                    "SELECT * FROM prescriptions WHERE drug_code IN ('1049621', '1049635', "
                    "'1049683') AND status = 'active'",
                    {}, true);
          break;
        case 3: {  // a join reads notes and names together: one record per table
          const std::string author = ehr_.staffId(static_cast<int>(rng_.below(ehr_.staffCount())));
          statement(
              t, pid, role,
              {table("READ", "SELECT", "clinical_notes"), table("READ", "SELECT", "patients")},
              "SELECT p.family_name, p.given_name, n.kind, n.recorded_at, n.body FROM "
              "clinical_notes n JOIN patients p ON p.id = n.patient_id WHERE n.recorded_by "
              "= '" +
                  author + "' ORDER BY n.recorded_at DESC LIMIT 50",
              {}, true);
          break;
        }
        default:  // a DBA searches the notes at night
          statement(t, pid, role, {bare("MISC", "SET")}, "SET statement_timeout = '0'", {}, true);
          statement(next(10, 60), pid, role, {table("READ", "SELECT", "clinical_notes")},
                    "SELECT patient_id, recorded_at, body FROM clinical_notes WHERE body ILIKE "
                    "'%overdose%' AND recorded_at > now() - interval '30 days'",
                    {}, true);
          break;
      }
      c.end = t;
    }
  }

  // Kind 14 in PostgreSQL: pgaudit switched off or narrowed.
  void auditSettingsChanged() {
    const int64_t starts[kCasesPerKind] = {at(10, 5), at(12, 15), at(14, 40), at(17, 20),
                                           at(22, 30)};
    const char* roles[kCasesPerKind] = {"analyst_chen", "postgres", "dba_ito", "postgres",
                                        "dba_okafor"};
    for (int i = 0; i < kCasesPerKind; ++i) {
      const int64_t t = jitter(starts[i] + rng_.between(0, 600) * kSecond);
      const std::string role = roles[i];
      InjectedCase& c = newCase(Kind::kPgauditSettingsChanged, kDbLog, role, "", t);
      const int pid = backend();
      switch (i) {
        case 0:  // this session only: what it reads next is not logged
          statement(t, pid, role, {bare("MISC", "SET")}, "SET pgaudit.log = 'none'", {}, true);
          break;
        case 1: {  // the whole server, until the culprit puts it back unseen
          statement(t, pid, role, {bare("MISC", "ALTER SYSTEM")},
                    "ALTER SYSTEM SET pgaudit.log = 'ddl, role'", {}, true);
          statement(t + rng_.between(3, 20) * kSecond, pid, role, {bare("READ", "SELECT")},
                    "SELECT pg_reload_conf()", {}, true);
          const int64_t back = t + rng_.between(20, 35) * kMinute;
          pg_gaps_.push_back({t + 21 * kSecond, back});
          c.end = back;
          break;
        }
        case 2:  // a role's future sessions
          statement(t, pid, role, {bare("ROLE", "ALTER ROLE")},
                    "ALTER ROLE analyst_reyes SET pgaudit.log = 'none'", {}, true);
          break;
        case 3:
          statement(t, pid, role, {bare("DDL", "DROP EXTENSION")},
                    "DROP EXTENSION IF EXISTS pgaudit", {}, true);
          break;
        default:  // new sessions of the database
          statement(t, pid, role, {bare("DDL", "ALTER DATABASE")},
                    "ALTER DATABASE ehr SET pgaudit.log = 'none'", {}, true);
          break;
      }
    }
  }

  static std::string vpnAddress(Rng& rng) {
    return "10.250.0." + std::to_string(rng.between(2, 250));
  }

  // How an administrator gets root before an injected act at `t` on host
  // `h`: ssh in (the VPN for Marsh, the admin network for the others),
  // then `sudo -i`.
  std::pair<Session, Sudo> rootShell(int64_t t, int h, Account u) {
    const std::string addr =
        u.uid == kMarsh.uid ? vpnAddress(rng_) : "10.0.90." + std::to_string(20 + u.uid % 100);
    const Session s = sshLogin(t - rng_.between(180, 420) * kSecond, h, u, addr, true);
    const Sudo su = sudo(t - rng_.between(60, 150) * kSecond, s, kRootUser, {"sudo", "-i"}, true,
                         u.uid != kDeploy.uid);
    return {s, su};
  }

  // Kind 14 on the hosts: audit disabled, its rules deleted, auditd stopped.
  void auditdSwitchedOff() {
    const int64_t starts[kCasesPerKind] = {at(10, 20), at(12, 40), at(15, 35), at(19, 50),
                                           at(23, 10)};
    const int hosts[kCasesPerKind] = {kDbPrimary, 1, 4, kDbStandby, 3};
    const Account users[kCasesPerKind] = {kOkafor, kMarsh, kBob, kLindqvist, kDeploy};
    for (int i = 0; i < kCasesPerKind; ++i) {
      int64_t t = jitter(starts[i] + rng_.between(0, 600) * kSecond);
      const int h = hosts[i];
      const Account u = users[i];
      const auto [s, su] = rootShell(t, h, u);
      InjectedCase& c =
          newCase(Kind::kAuditdDisabled, kHostLog, std::to_string(u.uid), serverName(h), t);
      const std::string auid =
          "auid=" + std::to_string(u.uid) + " ses=" + std::to_string(s.sshd.ses);
      const std::string enriched = "AUID=\"" + std::string(u.name) + "\"";
      int64_t back = t;
      switch (i) {
        case 0:  // auditctl -e 0: nothing is recorded until it is enabled again
          exec(t, su.shell, 0, {"auditctl", "-e", "0"}, "/usr/sbin/auditctl", true);
          simple(t + 4, h, "CONFIG_CHANGE",
                 "op=set audit_enabled=0 old=1 " + auid + " subj=unconfined res=1", enriched, true);
          back = t + rng_.between(20, 40) * kMinute;
          gaps_.push_back({h, t + 5, back, kGapAll});
          simple(back, h, "CONFIG_CHANGE",
                 "op=set audit_enabled=1 old=0 " + auid + " subj=unconfined res=1", enriched, true);
          break;
        case 1: {  // auditctl -D, then the rules loaded again
          exec(t, su.shell, 0, {"auditctl", "-D"}, "/usr/sbin/auditctl", true);
          int64_t when = t + 5;
          for (const char* key : kRuleKeys) {
            simple(when++, h, "CONFIG_CHANGE",
                   auid + " subj=unconfined op=remove_rule key=\"" + key + "\" list=4 res=1",
                   enriched, true);
          }
          back = t + rng_.between(30, 60) * kMinute;
          gaps_.push_back({h, when, back, kGapRules});
          rulesLoaded(back, h, u.uid, s.sshd.ses, true);
          break;
        }
        case 2:  // systemctl stop auditd (systemd sends the signal), started again later
          exec(t, su.shell, 0, {"systemctl", "stop", "auditd"}, "/usr/bin/systemctl", true);
          simple(t + 150, h, "DAEMON_END",
                 "op=terminate auid=4294967295 uid=0 ses=4294967295 pid=1 comm=\"systemd\" "
                 "exe=\"/usr/lib/systemd/systemd\" subj=unconfined res=success",
                 "AUID=\"unset\" UID=\"root\"", true);
          back = t + rng_.between(20, 45) * kMinute;
          gaps_.push_back({h, t + 151, back, kGapAll});
          daemonStart(back, h, true);
          break;
        case 3:  // the /var/log watch removed, for good
          exec(t, su.shell, 0, {"auditctl", "-W", "/var/log/", "-p", "wa", "-k", "log_tamper"},
               "/usr/sbin/auditctl", true);
          simple(t + 4, h, "CONFIG_CHANGE",
                 auid + " subj=unconfined op=remove_rule key=\"log_tamper\" list=4 res=1", enriched,
                 true);
          gaps_.push_back({h, t + 5, kDay, kGapLogWatch});
          break;
        default: {  // kill -TERM auditd: the host says nothing more today
          const Proc k = exec(t, su.shell, 0, {"kill", "-TERM", std::to_string(auditd_pid_[h])},
                              "/usr/bin/kill", true);
          simple(t + 3, h, "DAEMON_END",
                 "op=terminate " + auid + " uid=0 pid=" + std::to_string(k.pid) +
                     " subj=unconfined res=success",
                 enriched + " UID=\"root\"", true);
          gaps_.push_back({h, t + 4, kDay, kGapAll});
          c.end = t + 3;
          continue;  // no logout is recorded
        }
      }
      c.end = std::max(back, t + 5);
      const int64_t out = c.end + rng_.between(30, 300) * kSecond;
      sudoEnd(out, su, true);
      sshLogout(out + rng_.between(2, 20) * kSecond, s, true);
    }
  }

  void daemonStart(int64_t t, int h, bool injected) {
    auditd_pid_[h] = newPid(h);
    simple(t, h, "DAEMON_START",
           "op=start ver=3.0.9 format=enriched kernel=6.1.0-28-amd64 auid=4294967295 pid=" +
               std::to_string(auditd_pid_[h]) + " uid=0 ses=4294967295 subj=unconfined res=success",
           "AUID=\"unset\" UID=\"root\"", injected);
    simple(t + 200, h, "CONFIG_CHANGE",
           "op=set audit_backlog_limit=8192 old=64 auid=4294967295 ses=4294967295 subj=unconfined "
           "res=1",
           "AUID=\"unset\"", injected);
    rulesLoaded(t + 210, h, kUnset, kUnset, injected);
    service(t + 900, h, "SERVICE_START", "auditd", injected);
  }

  // Kind 14 on the hosts: a log deleted, renamed away or truncated, always
  // naming the file by its full path.
  void logsTampered() {
    const int64_t starts[kCasesPerKind] = {at(8, 55), at(11, 30), at(14, 15), at(17, 5), at(2, 40)};
    const int hosts[kCasesPerKind] = {0, kDbPrimary, 2, 5, kDbStandby};
    const Account users[kCasesPerKind] = {kMarsh, kOkafor, kBob, kDeploy, kAlice};
    for (int i = 0; i < kCasesPerKind; ++i) {
      int64_t t = jitter(starts[i] + rng_.between(0, 300) * kSecond);
      const int h = hosts[i];
      const Account u = users[i];
      const auto [s, su] = rootShell(t, h, u);
      InjectedCase& c =
          newCase(Kind::kAuditLogTampered, kHostLog, std::to_string(u.uid), serverName(h), t);
      switch (i) {
        case 0: {  // rm of the EHR application's last rotated log
          const std::vector<std::string> argv = {"rm", "-f", "/var/log/ehr/app.log.1"};
          const Proc p = exec(t, su.shell, 0, argv, "/usr/bin/rm", true);
          logFile(t + 2, p, "unlinkat", 263, 0, "rm", "/usr/bin/rm",
                  {{"/var/log/ehr/", "PARENT"}, {"/var/log/ehr/app.log.1", "DELETE"}}, argv, true);
          t += 2;
          break;
        }
        case 1: {  // the PostgreSQL log (the pgaudit trail) truncated with truncate(2)
          const std::vector<std::string> argv = {
              "python3", "-c",
              "import os; os.truncate('/var/log/postgresql/postgresql-15-main.log', 0)"};
          const Proc p = exec(t, su.shell, 0, argv, "/usr/bin/python3.11", true);
          logFile(t + 60, p, "truncate", 76, 0, "python3", "/usr/bin/python3.11",
                  {{"/var/log/postgresql/postgresql-15-main.log", "NORMAL"}}, argv, true);
          t += 60;
          break;
        }
        case 2: {  // shred -u: overwritten, renamed to shorter and shorter names, unlinked
          const std::string victim = "/var/log/auth.log.1";
          const std::vector<std::string> argv = {"shred", "-u", victim};
          const Proc p = exec(t, su.shell, 0, argv, "/usr/bin/shred", true);
          logFile(t + 3, p, "openat", 257, 0x1, "shred", "/usr/bin/shred", {{victim, "NORMAL"}},
                  argv, true);
          t += 400;
          std::string from = victim;
          for (size_t n = 10; n >= 1; --n, t += 3) {
            const std::string to = "/var/log/" + std::string(n, '0');
            logFile(t, p, "renameat2", 316, 0x1, "shred", "/usr/bin/shred",
                    {{"/var/log/", "PARENT"},
                     {"/var/log/", "PARENT"},
                     {from, "DELETE"},
                     {to, "CREATE"}},
                    argv, true);
            from = to;
          }
          logFile(t, p, "unlinkat", 263, 0, "shred", "/usr/bin/shred",
                  {{"/var/log/", "PARENT"}, {from, "DELETE"}}, argv, true);
          break;
        }
        case 3: {  // the EHR's own audit log moved out of /var/log
          const std::vector<std::string> argv = {"mv", "/var/log/ehr/audit.ndjson",
                                                 "/root/.cache/a.ndjson"};
          const Proc p = exec(t, su.shell, 0, argv, "/usr/bin/mv", true);
          logFile(t + 2, p, "renameat2", 316, 0x1, "mv", "/usr/bin/mv",
                  {{"/var/log/ehr/", "PARENT"},
                   {"/root/.cache/", "PARENT"},
                   {"/var/log/ehr/audit.ndjson", "DELETE"},
                   {"/root/.cache/a.ndjson", "CREATE"}},
                  argv, true);
          t += 2;
          break;
        }
        default: {  // rm -f /var/log/*.gz (the shell expands the names)
          const std::vector<std::string> argv = {"rm",
                                                 "-f",
                                                 "/var/log/syslog.2.gz",
                                                 "/var/log/syslog.3.gz",
                                                 "/var/log/syslog.4.gz",
                                                 "/var/log/auth.log.2.gz",
                                                 "/var/log/auth.log.3.gz"};
          const Proc p = exec(t, su.shell, 0, argv, "/usr/bin/rm", true);
          for (size_t f = 2; f < argv.size(); ++f) {
            t += rng_.between(1, 4);
            logFile(t, p, "unlinkat", 263, 0, "rm", "/usr/bin/rm",
                    {{"/var/log/", "PARENT"}, {argv[f], "DELETE"}}, argv, true);
          }
          break;
        }
      }
      c.end = t;
      const int64_t out = t + rng_.between(30, 300) * kSecond;
      sudoEnd(out, su, true);
      sshLogout(out + rng_.between(2, 20) * kSecond, s, true);
    }
  }

  Identity sso(const std::string& user, const char* permission_set, const std::string& ip) {
    return assumedRole(std::string("AWSReservedSSO_") + permission_set, user, ip, kBrowser);
  }
  static constexpr const char* kBrowser =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/130.0.0.0 Safari/537.36";
  static constexpr const char* kCli =
      "aws-cli/2.17.40 md/awscrt#0.21.2 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 "
      "lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe";

  void consoleLogin(int64_t t, const Identity& who, bool injected, bool mfa = true) {
    cloud(t, who, "signin.amazonaws.com", "ConsoleLogin", "null", false, injected,
          "{\"ConsoleLogin\":\"Success\"}", nullptr, "Management", "AwsConsoleSignIn",
          std::string(",\"additionalEventData\":{\"LoginTo\":\"https://console.aws.amazon.com/"
                      "console/home\",\"MobileVersion\":\"No\",\"MFAUsed\":\"") +
              (mfa ? "Yes" : "No") + "\"}");
  }

  // Kind 14 in the AWS account. The log is the organization trail, which
  // the account cannot stop; the account's own trails (ehr-local-trail for
  // its alarms, ehr-s3-data-events for the privacy office) it can.
  void trailsStopped() {
    const int64_t starts[kCasesPerKind] = {at(7, 50), at(10, 35), at(13, 45), at(18, 10),
                                           at(3, 15)};
    for (int i = 0; i < kCasesPerKind; ++i) {
      int64_t t = starts[i] + rng_.between(0, 600) * kSecond;
      Identity who;
      switch (i) {
        case 0:
          who = sso("k.nguyen.contractor@stmartins-health.org", "PowerUserAccess_1a2b3c4d5e6f7081",
                    vpnAddress(rng_));
          break;
        case 1: {
          who.json = std::string("{\"type\":\"IAMUser\",\"principalId\":\"AIDA") +
                     randomKey("").substr(0, 17) + "\",\"arn\":\"arn:aws:iam::" + kAwsAccount +
                     ":user/svc-legacy-export\",\"accountId\":\"" + kAwsAccount +
                     "\",\"accessKeyId\":\"";
          who.json += randomKey("AKIA") + "\",\"userName\":\"svc-legacy-export\"}";
          who.ip = "203.0.113." + std::to_string(rng_.between(2, 250));
          who.agent = kCli;
          break;
        }
        case 2:
          who =
              sso("bob@stmartins-health.org", "AdministratorAccess_5f2d8c1e9a7b3c40", kHospitalNat);
          break;
        case 3:  // the instance role's credentials, stolen from ehr-app-3 and used outside
          who = instance_role_[2];
          who.ip = "198.51.100." + std::to_string(rng_.between(2, 250));
          who.agent =
              "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#6.5.0 md/arch#x86_64 "
              "lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.10";
          break;
        default:
          who.json = std::string("{\"type\":\"Root\",\"principalId\":\"") + kAwsAccount +
                     "\",\"arn\":\"arn:aws:iam::" + kAwsAccount + ":root\",\"accountId\":\"" +
                     kAwsAccount + "\",\"accessKeyId\":\"";
          who.json += randomKey("ASIA") + "\"}";
          who.ip = "203.0.113." + std::to_string(rng_.between(2, 250));
          who.agent = kBrowser;
          break;
      }
      InjectedCase& c = newCase(Kind::kCloudTrailLoggingStopped, kCloudLog, arnOf(who), "", t);
      c.ip = who.ip;
      auto next = [&](int lo, int hi) { return t += rng_.between(lo, hi) * kSecond; };
      switch (i) {
        case 0:
          consoleLogin(t - 90 * kSecond, who, true);
          cloud(t - 40 * kSecond, who, "cloudtrail.amazonaws.com", "GetTrailStatus",
                "{\"name\":\"ehr-local-trail\"}", true, true);
          cloud(t, who, "cloudtrail.amazonaws.com", "StopLogging", "{\"name\":\"ehr-local-trail\"}",
                false, true);
          c.end = t;
          {  // the on-call administrator starts it again (part of the case, no alert)
            const int64_t restart = t + rng_.between(15, 30) * kMinute;
            const Identity alice = sso("alice@stmartins-health.org",
                                       "AdministratorAccess_5f2d8c1e9a7b3c40", kHospitalNat);
            cloud(restart, alice, "cloudtrail.amazonaws.com", "StartLogging",
                  "{\"name\":\"ehr-local-trail\"}", false, true);
          }
          break;
        case 1:
          cloud(t, who, "cloudtrail.amazonaws.com", "DescribeTrails",
                "{\"includeShadowTrails\":true}", true, true);
          cloud(next(20, 90), who, "cloudtrail.amazonaws.com", "DeleteTrail",
                "{\"name\":\"ehr-s3-data-events\"}", false, true);
          c.end = t;
          break;
        case 2:
          consoleLogin(t - 300 * kSecond, who, true);
          cloud(
              t, who, "cloudtrail.amazonaws.com", "PutEventSelectors",
              "{\"trailName\":\"ehr-local-trail\",\"eventSelectors\":[{\"readWriteType\":"
              "\"WriteOnly\",\"includeManagementEvents\":true,\"dataResources\":[],"
              "\"excludeManagementEventSources\":[\"kms.amazonaws.com\"]}]}",
              false, true,
              "{\"trailARN\":\"arn:aws:cloudtrail:us-east-1:482913650127:trail/ehr-local-trail\"}");
          break;
        case 3:  // refused: still raised
          cloud(t, who, "cloudtrail.amazonaws.com", "UpdateTrail",
                std::string("{\"name\":\"") + kOrgTrail +
                    "\",\"s3BucketName\":\"ehr-trail-archive-x\"}",
                false, true, "null", "AccessDenied");
          break;
        default:
          consoleLogin(t - 240 * kSecond, who, true, false);
          cloud(t, who, "cloudtrail.amazonaws.com", "PutInsightSelectors",
                "{\"trailName\":\"ehr-local-trail\",\"insightSelectors\":[]}", false, true,
                "{\"trailARN\":\"arn:aws:cloudtrail:us-east-1:482913650127:trail/ehr-local-trail\","
                "\"insightSelectors\":[]}");
          break;
      }
      c.end = std::max(c.end, t);
    }
  }

  // ---- PostgreSQL ---------------------------------------------------------

  static std::string tableOf(std::string_view resource) {
    if (resource == "Patient" || resource == "RelatedPerson") return "patients";
    if (resource == "Encounter" || resource == "Appointment" || resource == "Coverage" ||
        resource == "Account" || resource == "Claim")
      return "encounters";
    if (resource == "MedicationRequest" || resource == "MedicationAdministration")
      return "prescriptions";
    return "clinical_notes";
  }

  void databaseTraffic() {
    applicationTraffic();
    // The application's own jobs: the HL7 outbox every minute, expired
    // sessions every quarter of an hour.
    for (int64_t t = rng_.between(0, 59) * kSecond; t < kDay;
         t += kMinute + rng_.between(-1500, 1500)) {
      const int host = static_cast<int>(rng_.below(kHosts));
      statement(
          t, pool_[host][rng_.below(kPoolSize)], "ehr_app", {table("READ", "SELECT", "hl7_outbox")},
          "SELECT id, message_type, payload FROM hl7_outbox WHERE sent_at IS NULL ORDER BY id "
          "LIMIT 100");
      if (t % (15 * kMinute) < kMinute) {
        const int other = static_cast<int>(rng_.below(kHosts));
        statement(t + 400, pool_[other][rng_.below(kPoolSize)], "ehr_app",
                  {table("WRITE", "DELETE", "user_sessions")},
                  "DELETE FROM user_sessions WHERE expires_at < now()");
      }
    }
    // Reporting: the bed census every five minutes, and the nightly extract.
    for (int64_t t = rng_.between(0, 299) * kSecond; t < kDay; t += 5 * kMinute)
      statement(t + rng_.between(0, 900), reporting_pid_, "ehr_reporting",
                {table("READ", "SELECT", "encounters")},
                "SELECT ward, count(*) AS census FROM encounters WHERE class = 'IMP' AND status = "
                "'in-progress' GROUP BY ward");
    int64_t t = at(1, 0) + rng_.between(0, 120) * kSecond;
    const int etl = backend();
    statement(t, etl, "ehr_reporting", {bare("MISC", "SET")}, "SET search_path = public", {});
    const std::pair<const char*, int> kExtract[] = {
        {"encounters", 12}, {"clinical_notes", 40}, {"prescriptions", 8}, {"patients", 3}};
    for (const auto& [name, batches] : kExtract) {
      int64_t last = 0;
      for (int b = 0; b < batches; ++b) {
        t += rng_.between(800, 4000);
        statement(
            t, etl, "ehr_reporting", {table("READ", "SELECT", name)},
            std::string("SELECT * FROM ") + name +
                " WHERE updated_at >= $1 AND updated_at < $2 AND id > $3 ORDER BY id LIMIT 5000",
            {"2026-11-19 00:00:00+00", "2026-11-20 00:00:00+00", std::to_string(last)});
        last += rng_.between(4000, 60000);
      }
    }
    // postgres_exporter reads pg_stat_statements every minute (its catalog
    // queries are not logged: pgaudit.log_catalog = off).
    for (int64_t m = 0; m < 24 * 60; ++m)
      statement(
          m * kMinute + 15 * kSecond + rng_.between(0, 500), monitor_pid_, "monitor",
          {{"READ", "SELECT", "VIEW", "public.pg_stat_statements"}},
          "SELECT queryid, calls, total_exec_time, rows, shared_blks_hit, shared_blks_read FROM "
          "pg_stat_statements ORDER BY total_exec_time DESC LIMIT 200");
  }

  // Every chart event of the EHR is one statement of its connection pool
  // (writes in a transaction), with the patient id as a parameter.
  void applicationTraffic() {
    static constexpr const char* kDrugs[] = {"197361", "310965",  "314076", "617314",
                                             "866924", "1049621", "308136", "198211"};
    for (const AuditEvent& e : ehr_.auditEvents()) {
      const int pid = pool_[ehr_.hostIndex(e)][rng_.below(kPoolSize)];
      const int64_t t = e.t - rng_.between(3, 40);
      const std::string& patient = ehr_.patientId(e.patient);
      const std::string& user = ehr_.staffId(e.staff);
      const std::string_view action = e.action;
      const std::string tbl = tableOf(e.resource);
      const std::string kind = e.resource;
      const std::string app = "ehr_app";
      if (action == "update" || action == "create") {
        statement(t - 2, pid, app, {bare("MISC", "BEGIN")}, "BEGIN", {}, e.injected);
        if (action == "update") {
          const std::string row = std::to_string(rng_.between(1000000, 99999999));
          if (tbl == "patients")
            statement(t, pid, app, {table("WRITE", "UPDATE", tbl)},
                      "UPDATE patients SET contact = $2, updated_by = $3, updated_at = now() WHERE "
                      "id = $1",
                      {patient, "<long param suppressed>", user}, e.injected);
          else
            statement(t, pid, app, {table("WRITE", "UPDATE", tbl)},
                      "UPDATE " + tbl +
                          (tbl == "clinical_notes" ? " SET body = $3" : " SET status = $3") +
                          ", updated_by = $4, updated_at = now() WHERE patient_id = $1 AND id = $2",
                      {patient, row,
                       tbl == "clinical_notes" ? "<long param suppressed>"
                       : tbl == "encounters"   ? "in-progress"
                                               : "completed",
                       user},
                      e.injected);
        } else if (tbl == "patients") {
          statement(
              t, pid, app, {table("WRITE", "INSERT", tbl)},
              "INSERT INTO patients (id, mrn, demographics, created_by) VALUES ($1, $2, $3, $4)",
              {patient, "M" + patient.substr(2), "<long param suppressed>", user}, e.injected);
        } else if (tbl == "encounters") {
          statement(t, pid, app, {table("WRITE", "INSERT", tbl)},
                    "INSERT INTO encounters (patient_id, class, status, ward, admitted_at, "
                    "created_by) VALUES ($1, $2, $3, $4, now(), $5)",
                    {patient, "AMB", "planned", "OPD", user}, e.injected);
        } else if (tbl == "prescriptions") {
          const std::string drug = kDrugs[rng_.below(std::size(kDrugs))];
          statement(
              t, pid, app, {table("WRITE", "INSERT", tbl)},
              "INSERT INTO prescriptions (patient_id, drug_code, dose, route, frequency, "
              "status, prescriber, written_at) VALUES ($1, $2, $3, $4, $5, 'active', $6, now())",
              {patient, drug, "5 mg", "PO", "BID", user}, e.injected);
        } else {
          statement(t, pid, app, {table("WRITE", "INSERT", tbl)},
                    "INSERT INTO clinical_notes (patient_id, kind, recorded_by, recorded_at, body) "
                    "VALUES ($1, $2, $3, now(), $4)",
                    {patient, kind, user, "<long param suppressed>"}, e.injected);
        }
        statement(t + rng_.between(1, 6), pid, app, {bare("MISC", "COMMIT")}, "COMMIT", {},
                  e.injected);
      } else if (action == "read" || action == "search") {
        if (tbl == "patients" && action == "search")
          statement(
              t, pid, app, {table("READ", "SELECT", tbl)},
              "SELECT id, mrn, family_name, given_name, birth_date FROM patients WHERE mrn = $1",
              {"M" + patient.substr(2)}, e.injected);
        else if (tbl == "patients")
          statement(
              t, pid, app, {table("READ", "SELECT", tbl)},
              "SELECT id, mrn, family_name, given_name, birth_date, sex, address_line, phone, "
              "restricted FROM patients WHERE id = $1",
              {patient}, e.injected);
        else if (tbl == "encounters")
          statement(t, pid, app, {table("READ", "SELECT", tbl)},
                    "SELECT id, class, status, ward, admitted_at, discharged_at, coverage FROM "
                    "encounters WHERE patient_id = $1 ORDER BY admitted_at DESC LIMIT 20",
                    {patient}, e.injected);
        else if (tbl == "prescriptions")
          statement(
              t, pid, app, {table("READ", "SELECT", tbl)},
              "SELECT id, drug_code, dose, route, frequency, status, prescriber, written_at "
              "FROM prescriptions WHERE patient_id = $1 AND status = $2 ORDER BY written_at DESC",
              {patient, "active"}, e.injected);
        else if (action == "search")
          statement(
              t, pid, app, {table("READ", "SELECT", tbl)},
              "SELECT id, kind, recorded_at, recorded_by FROM clinical_notes WHERE patient_id = "
              "$1 AND kind = $2 AND recorded_at >= $3 ORDER BY recorded_at DESC",
              {patient, kind, "2026-11-13"}, e.injected);
        else
          statement(t, pid, app, {table("READ", "SELECT", tbl)},
                    "SELECT id, kind, recorded_at, recorded_by, body FROM clinical_notes WHERE "
                    "patient_id = $1 AND kind = $2 ORDER BY recorded_at DESC LIMIT 50",
                    {patient, kind}, e.injected);
      } else {  // export, download, print: the whole record
        statement(t, pid, app, {table("READ", "SELECT", "clinical_notes")},
                  "SELECT id, kind, recorded_at, recorded_by, body FROM clinical_notes WHERE "
                  "patient_id = $1 ORDER BY recorded_at",
                  {patient}, e.injected);
      }
    }
  }

  // ---- the hosts ------------------------------------------------------------

  void hostTraffic() {
    patchNight();  // first: a reboot's silence applies to the rest
    for (int h = 0; h < kServers; ++h) routine(h);
    ansible();
    administrators();
    databaseAdministrators();
    nightlyAnalyze();
  }

  // One night in four, an application host gets the kernel update that
  // unattended-upgrades installed: the automation reboots it in the
  // maintenance window (the load balancer drains it; the EHR log does not
  // model the two minutes). auditd stops and starts with the host.
  void patchNight() {
    if (rng_.below(4) != 0) return;
    const int h = static_cast<int>(rng_.below(kHosts));
    const int64_t t = at(3, 0) + rng_.between(0, 55 * 60) * kSecond;
    const Session s = sshLogin(t, h, kDeploy, kAnsible, false);
    sudo(t + 2 * kSecond, s, kRootUser,
         {"sudo", "-H", "-S", "-n", "-u", "root", "/usr/sbin/reboot"}, false, false, false,
         {"/usr/sbin/reboot"}, "/usr/bin/systemctl");
    int64_t down = t + rng_.between(3, 8) * kSecond;
    for (const char* unit : {"ehr-app", "nginx", "cron", "ssh", "rsyslog"})
      service(down += rng_.between(200, 2500), h, "SERVICE_STOP", unit);
    const std::string utmp =
        " uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='comm=\"systemd-update-utmp\" "
        "exe=\"/usr/lib/systemd/systemd-update-utmp\" hostname=? addr=? terminal=? res=success'";
    simple(down + 500, h, "SYSTEM_SHUTDOWN", "pid=" + std::to_string(newPid(h)) + utmp,
           "UID=\"root\" AUID=\"unset\"", false);
    simple(down + 900, h, "DAEMON_END",
           "op=terminate auid=4294967295 uid=0 ses=4294967295 pid=1 comm=\"systemd\" "
           "exe=\"/usr/lib/systemd/systemd\" subj=unconfined res=success",
           "AUID=\"unset\" UID=\"root\"", false);
    const int64_t up = down + rng_.between(60, 150) * kSecond;
    gaps_.push_back({h, down + 901, up, kGapAll});
    daemonStart(up, h, false);
    simple(up + 1500, h, "SYSTEM_BOOT", "pid=" + std::to_string(newPid(h)) + utmp,
           "UID=\"root\" AUID=\"unset\"", false);
    int64_t boot = up + 2000;
    for (const char* unit : {"rsyslog", "ssh", "cron", "nginx", "ehr-app"})
      service(boot += rng_.between(100, 3000), h, "SERVICE_START", unit);
    simple(
        boot + 4000, h, "SYSTEM_RUNLEVEL",
        "pid=" + std::to_string(newPid(h)) +
            " uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='old-level=N "
            "new-level=5 comm=\"systemd-update-utmp\" exe=\"/usr/lib/systemd/systemd-update-utmp\" "
            "hostname=? addr=? terminal=? res=success'",
        "UID=\"root\" AUID=\"unset\"", false);
    notes_ = "patch night: " + serverName(h) + " rebooted at " + hhmmss(down).substr(0, 5);
  }

  // Log rotation of `file` (rotate `count`, compress, delaycompress), then
  // its writer reopens it. Returns when done.
  int64_t rotate(int64_t t, const Proc& logrotate, const std::string& file, int count,
                 const char* comm, const char* exe, int writer_uid) {
    const std::string dir = dirOf(file);
    const std::vector<std::string> argv = {"/usr/sbin/logrotate", "/etc/logrotate.conf"};
    auto op = [&](const char* name, int nr, uint64_t a2, const std::vector<PathItem>& paths) {
      t += rng_.between(1, 6);
      logFile(t, logrotate, name, nr, a2, "logrotate", "/usr/sbin/logrotate", paths, argv, false);
    };
    auto old = [&](int k, bool gz) { return file + "." + std::to_string(k) + (gz ? ".gz" : ""); };
    op("unlink", 87, 0, {{dir, "PARENT"}, {old(count, true), "DELETE"}});
    for (int k = count - 1; k >= 2; --k)
      op("rename", 82, 0,
         {{dir, "PARENT"},
          {dir, "PARENT"},
          {old(k, true), "DELETE"},
          {old(k + 1, true), "CREATE"}});
    op("rename", 82, 0,
       {{dir, "PARENT"}, {dir, "PARENT"}, {old(1, false), "DELETE"}, {old(2, false), "CREATE"}});
    op("openat", 257, 0xc1, {{dir, "PARENT"}, {old(2, true), "CREATE"}});  // compressed
    op("unlink", 87, 0, {{dir, "PARENT"}, {old(2, false), "DELETE"}});
    op("rename", 82, 0,
       {{dir, "PARENT"}, {dir, "PARENT"}, {file, "DELETE"}, {old(1, false), "CREATE"}});
    op("openat", 257, 0xc1, {{dir, "PARENT"}, {file, "CREATE"}});
    Proc writer;  // postrotate: the writer reopens its log
    writer.host = logrotate.host;
    writer.pid = static_cast<int>(rng_.between(400, 3000));
    writer.uid = writer_uid;
    t += rng_.between(20, 400);
    logFile(t, writer, "openat", 257, 0x441, comm, exe, {{dir, "PARENT"}, {file, "NORMAL"}}, {exe},
            false);
    return t;
  }

  // What every host does by itself: cron (sysstat every ten minutes, the
  // hourly and daily jobs), logrotate, apt and unattended-upgrades, journald.
  void routine(int h) {
    const int64_t skew = rng_.between(20, 900);  // cron starts jobs a little after the minute
    for (int64_t minute = 5; minute < 24 * 60; minute += 10) {
      cron(minute * kMinute + skew, h, kRootUser, [&](int64_t t, const Proc& job) {
        Proc sadc = job;
        sadc.ppid = job.pid;
        sadc.pid = newPid(h);
        const int64_t when = t + rng_.between(50, 400);
        logFile(when, sadc, "openat", 257, 0x442, "sadc", "/usr/lib/sysstat/sadc",
                {{"/var/log/sysstat/sa20", "NORMAL"}},
                {"/usr/lib/sysstat/sadc", "-F", "-L", "-S", "DISK", "1", "1", "/var/log/sysstat"},
                false);
        return when + rng_.between(600, 2500);
      });
    }
    for (int hour = 0; hour < 24; ++hour)
      cron(at(hour, 17) + skew, h, kRootUser,
           [&](int64_t t, const Proc&) { return t + rng_.between(100, 3000); });
    // cron.daily: sysstat's sa2 writes yesterday's report and removes the
    // files older than HISTORY=7 days (rm, through xargs).
    cron(at(6, 25) + skew, h, kRootUser, [&](int64_t t, const Proc& job) {
      logFile(t + rng_.between(100, 900), job, "openat", 257, 0x241, "sa2", "/usr/bin/dash",
              {{"/var/log/sysstat/", "PARENT"}, {"/var/log/sysstat/sar19", "CREATE"}},
              {"/bin/sh", "/usr/lib/sysstat/sa2", "-A"}, false);
      t += rng_.between(2000, 9000);
      Proc rm = job;
      rm.ppid = job.pid;
      rm.pid = newPid(h);
      const std::vector<std::string> argv = {"rm", "-f", "/var/log/sysstat/sa11",
                                             "/var/log/sysstat/sar11"};
      for (size_t f = 2; f < argv.size(); ++f)
        logFile(t += 2, rm, "unlinkat", 263, 0, "rm", "/usr/bin/rm",
                {{"/var/log/sysstat/", "PARENT"}, {argv[f], "DELETE"}}, argv, false);
      return t + rng_.between(500, 4000);
    });
    // logrotate.timer: daily, in the hour after midnight.
    int64_t t = rng_.between(0, 59 * 60) * kSecond;
    service(t, h, "SERVICE_START", "logrotate");
    Proc logrotate;
    logrotate.host = h;
    logrotate.pid = newPid(h);
    t = rotate(t + rng_.between(50, 400), logrotate, "/var/log/syslog", 7, "rsyslogd",
               "/usr/sbin/rsyslogd", 0);
    if (h < kHosts) {
      t = rotate(t, logrotate, "/var/log/nginx/access.log", 14, "nginx", "/usr/sbin/nginx", 0);
      t = rotate(t, logrotate, "/var/log/nginx/error.log", 14, "nginx", "/usr/sbin/nginx", 0);
      t = rotate(t, logrotate, "/var/log/ehr/app.log", 7, "java",
                 "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", 998);
    }
    service(t + rng_.between(100, 900), h, "SERVICE_STOP", "logrotate");
    // apt-daily twice a day; apt-daily-upgrade (unattended-upgrades) in the morning.
    for (const int64_t from : {at(6, 0), at(18, 0)}) {
      const int64_t start = from + rng_.between(0, 59 * 60) * kSecond;
      service(start, h, "SERVICE_START", "apt-daily");
      service(start + rng_.between(15, 90) * kSecond, h, "SERVICE_STOP", "apt-daily");
    }
    t = at(6, 0) + rng_.between(0, 59 * 60) * kSecond;
    service(t, h, "SERVICE_START", "apt-daily-upgrade");
    Proc upgrade;
    upgrade.host = h;
    upgrade.pid = newPid(h);
    const std::vector<std::string> argv = {"/usr/bin/python3", "/usr/bin/unattended-upgrade"};
    auto append = [&](const char* path, const char* comm, const char* exe) {
      t += rng_.between(200, 20000);
      logFile(t, upgrade, "openat", 257, 0x441, comm, exe, {{path, "NORMAL"}}, argv, false);
    };
    append("/var/log/unattended-upgrades/unattended-upgrades.log", "unattended-upgr",
           "/usr/bin/python3.11");
    if (!packages_.empty()) {
      append("/var/log/unattended-upgrades/unattended-upgrades-dpkg.log", "unattended-upgr",
             "/usr/bin/python3.11");
      append("/var/log/apt/history.log", "unattended-upgr", "/usr/bin/python3.11");
      append("/var/log/apt/term.log", "unattended-upgr", "/usr/bin/python3.11");
      append("/var/log/dpkg.log", "dpkg", "/usr/bin/dpkg");
      if (packages_.find("openssh-server") != std::string::npos) {
        service(t += rng_.between(500, 3000), h, "SERVICE_STOP", "ssh");
        service(t += rng_.between(100, 900), h, "SERVICE_START", "ssh");
      }
    }
    service(t + rng_.between(1, 30) * kSecond, h, "SERVICE_STOP", "apt-daily-upgrade");
    // journald removes an archived journal file (SystemMaxUse).
    Proc journald;
    journald.host = h;
    journald.pid = static_cast<int>(rng_.between(200, 500));
    std::string journal = "/var/log/journal/" + machine_id_[h] + "/system@";
    journal += randomHex(32) + "-";
    journal += randomHex(16) + "-";
    journal += randomHex(16) + ".journal";
    logFile(rng_.between(0, kDay - 1), journald, "unlinkat", 263, 0, "systemd-journal",
            "/usr/lib/systemd/systemd-journald", {{dirOf(journal), "PARENT"}, {journal, "DELETE"}},
            {"/usr/lib/systemd/systemd-journald"}, false);
    const int64_t clean = rng_.between(0, kDay - kHour);
    service(clean, h, "SERVICE_START", "systemd-tmpfiles-clean");
    service(clean + rng_.between(1, 5) * kSecond, h, "SERVICE_STOP", "systemd-tmpfiles-clean");
  }

  // 05:00: configuration management (ansible, as deploy) visits every host.
  void ansible() {
    int64_t t = at(5, 0) + rng_.between(0, 120) * kSecond;
    for (int h = 0; h < kServers; ++h) {
      const Session s = sshLogin(t, h, kDeploy, kAnsible, false);
      int64_t w = t + rng_.between(1, 3) * kSecond;
      for (int task = static_cast<int>(rng_.between(3, 6)); task > 0; --task) {
        const std::string become = "echo BECOME-SUCCESS-" + randomHex(32) + " ; /usr/bin/python3";
        const Sudo su =
            sudo(w, s, kRootUser, {"sudo", "-H", "-S", "-n", "-u", "root", "/bin/sh", "-c", become},
                 false, false, false, {"/usr/bin/python3"}, "/usr/bin/python3.11");
        w += rng_.between(1, 12) * kSecond;
        sudoEnd(w, su, false);
        w += rng_.between(300, 3000);
      }
      sshLogout(w + 500, s, false);
      t = w + rng_.between(2, 10) * kSecond;
    }
  }

  using Argv = std::vector<std::string>;
  static std::string exeOf(const std::string& program) {
    if (program == "psql") return "/usr/bin/perl";  // Debian's pg_wrapper
    if (program == "pg_lsclusters") return "/usr/bin/perl";
    return "/usr/bin/" + program;
  }

  // The system administrators look after the hosts during the day.
  void administrators() {
    const std::vector<Argv> look = {{"uptime"},
                                    {"df", "-h"},
                                    {"free", "-m"},
                                    {"who"},
                                    {"systemctl", "status", "ehr-app"},
                                    {"journalctl", "-u", "ehr-app", "--since", "-1h", "--no-pager"},
                                    {"tail", "-n", "200", "/var/log/syslog"}};
    const std::vector<Argv> fix = {
        {"apt", "list", "--upgradable"},
        {"ss", "-tlnp"},
        {"journalctl", "-p", "warning", "--since", "today", "--no-pager"},
        {"systemctl", "restart", "nginx"}};
    for (const Account& who : {kAlice, kBob}) {
      const bool alice = who.uid == kAlice.uid;
      const int sessions = static_cast<int>(rng_.between(1, alice ? 4 : 3));
      for (int n = 0; n < sessions; ++n) {
        const int h = static_cast<int>(rng_.below(kServers));
        int64_t t = jitter(at(7, 30) + rng_.between(0, 630 * 60) * kSecond);
        const Session s =
            sshLogin(t, h, who, "10.0.90." + std::to_string(20 + who.uid % 100), false);
        for (int c = static_cast<int>(rng_.between(2, 4)); c > 0; --c) {
          t += rng_.between(5, 120) * kSecond;
          const Argv& argv = look[rng_.below(look.size())];
          exec(t, s.shell, who.uid, argv, exeOf(argv[0]).c_str(), false);
        }
        if (rng_.percent(60)) {
          t += rng_.between(5, 60) * kSecond;
          const Sudo su = sudo(t, s, kRootUser, {"sudo", "-i"}, false, true, rng_.below(8) == 0);
          t += rng_.between(20, 40) * kSecond;
          for (int c = static_cast<int>(rng_.between(1, 3)); c > 0; --c) {
            t += rng_.between(5, 180) * kSecond;
            const Argv& argv = fix[rng_.below(fix.size())];
            if (argv[1] == "restart" && h >= kHosts) continue;  // no nginx on the database hosts
            exec(t, su.shell, 0, argv, exeOf(argv[0]).c_str(), false);
            if (argv[1] == "restart") {
              service(t + rng_.between(300, 900), h, "SERVICE_STOP", "nginx");
              service(t + rng_.between(1000, 2500), h, "SERVICE_START", "nginx");
            }
          }
          t += rng_.between(10, 120) * kSecond;
          sudoEnd(t, su, false);
        }
        sshLogout(t + rng_.between(10, 600) * kSecond, s, false);
      }
    }
  }

  // The DBAs' ordinary work: on the database hosts, and in psql under their
  // own roles on the primary (never the PHI tables' rows).
  static constexpr int kDbaStatements = 10;
  void dbaStatement(int64_t t, int pid, const std::string& role, int which) {
    switch (which) {
      case 0:
        statement(t, pid, role, {bare("MISC", "SET")}, "SET statement_timeout = '60s'");
        break;
      case 1:
        statement(
            t, pid, role, {table("READ", "SELECT", "schema_migrations")},
            "SELECT version, applied_at FROM schema_migrations ORDER BY applied_at DESC LIMIT 5");
        break;
      case 2:
        statement(t, pid, role, {table("READ", "SELECT", "job_runs")},
                  "SELECT id, job, status, started_at, error FROM job_runs WHERE status = 'failed' "
                  "AND started_at > now() - interval '1 day'");
        break;
      case 3:
        statement(t, pid, role, {{"READ", "SELECT", "VIEW", "public.pg_stat_statements"}},
                  "SELECT queryid, calls, mean_exec_time, rows FROM pg_stat_statements ORDER BY "
                  "mean_exec_time DESC LIMIT 20");
        break;
      case 4:
        statement(t, pid, role, {bare("MISC", "VACUUM")},
                  "VACUUM (VERBOSE, ANALYZE) public.job_runs");
        break;
      case 5:
        statement(t, pid, role, {bare("MISC", "ANALYZE")}, "ANALYZE public.encounters");
        break;
      case 6:  // how big the notes have grown: a function call, no relation read
        statement(t, pid, role, {bare("READ", "SELECT")},
                  "SELECT pg_size_pretty(pg_total_relation_size('public.clinical_notes'))");
        break;
      case 7:
        statement(t, pid, role, {table("WRITE", "UPDATE", "job_runs")},
                  "UPDATE job_runs SET status = 'queued', attempts = 0 WHERE id = " +
                      std::to_string(rng_.between(800000, 900000)));
        break;
      case 8:
        statement(t, pid, role, {table("READ", "SELECT", "user_sessions")},
                  "SELECT count(*) FROM user_sessions WHERE expires_at > now()");
        break;
      default:
        statement(t, pid, role, {bare("MISC", "CHECKPOINT")}, "CHECKPOINT");
        break;
    }
  }

  void databaseAdministrators() {
    struct Dba {
      Account who;
      const char* role;
      int most;
    };
    for (const Dba& d : {Dba{kOkafor, "dba_okafor", 3}, Dba{kLindqvist, "dba_lindqvist", 2}}) {
      const int sessions = static_cast<int>(rng_.between(1, d.most));
      for (int n = 0; n < sessions; ++n) {
        const int h = rng_.percent(80) ? kDbPrimary : kDbStandby;
        int64_t t = jitter(at(8, 30) + rng_.between(0, 8 * 60 * 60) * kSecond);
        const Session s =
            sshLogin(t, h, d.who, "10.0.90." + std::to_string(20 + d.who.uid % 100), false);
        t += rng_.between(30, 120) * kSecond;
        exec(t, s.shell, d.who.uid, {"df", "-h", "/var/lib/postgresql"}, "/usr/bin/df", false);
        t += rng_.between(10, 60) * kSecond;
        if (h == kDbPrimary) {
          exec(t, s.shell, d.who.uid, {"psql", "-h", "localhost", "-d", "ehr", "-U", d.role},
               "/usr/bin/perl", false);
          const int pid = backend();
          std::vector<int> order(kDbaStatements);
          for (int i = 0; i < kDbaStatements; ++i) order[static_cast<size_t>(i)] = i;
          rng_.shuffle(order);
          for (int j = 0, k = static_cast<int>(rng_.between(3, 6)); j < k; ++j) {
            t = jitter(t + rng_.between(20, 240) * kSecond);
            dbaStatement(t, pid, d.role, order[static_cast<size_t>(j)]);
          }
        } else {
          exec(t, s.shell, d.who.uid,
               {"tail", "-n", "100", "/var/log/postgresql/postgresql-15-main.log"}, "/usr/bin/tail",
               false);
        }
        t += rng_.between(60, 600) * kSecond;
        sshLogout(t, s, false);
      }
    }
  }

  // 03:30: postgres' crontab on the primary refreshes the planner statistics
  // (vacuumdb --analyze-only ehr).
  void nightlyAnalyze() {
    cron(at(3, 30) + rng_.between(20, 900), kDbPrimary, kPostgresUser, [&](int64_t t, const Proc&) {
      const int pid = backend();
      statement(t += rng_.between(50, 300), pid, "postgres", {bare("READ", "SELECT")},
                "SELECT pg_catalog.set_config('search_path', '', false);");
      for (const char* name : {"clinical_notes", "encounters", "hl7_outbox", "job_runs", "patients",
                               "prescriptions", "schema_migrations", "user_sessions"}) {
        t += rng_.between(300, 20000);
        statement(t, pid, "postgres", {bare("MISC", "ANALYZE")},
                  std::string("ANALYZE public.") + name + ";");
      }
      return t + 200;
    });
  }

  // ---- the cloud account ----------------------------------------------------

  static constexpr const char* kHospitalNat = "192.0.2.44";
  static constexpr const char* kAnsible = "10.0.90.5";
  static constexpr const char* kSsmAgent =
      "aws-sdk-go/1.44.260 (go1.22.4; linux; amd64) amazon-ssm-agent/3.3.1142.0";
  static constexpr const char* kJavaSdk =
      "aws-sdk-java/2.25.11 Linux/6.1.0-28-amd64 OpenJDK_64-Bit_Server_VM/17.0.13+11-Debian-2 "
      "Java/17.0.13 vendor/Debian io/sync http/Apache cfg/retry-mode/legacy";
  static constexpr const char* kWalG = "aws-sdk-go/1.55.5 (go1.22.7; linux; amd64) wal-g/v3.0.3";
  static constexpr const char* kTerraform =
      "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) "
      "terraform-provider-aws/5.74.0 aws-sdk-go-v2/1.32.2 os/linux lang/go#1.23.2";
  static constexpr const char* kDocuments = "stmartins-ehr-documents";
  static constexpr const char* kBackups = "stmartins-ehr-db-backups";

  static Identity withAgent(Identity id, const char* agent) {
    id.agent = agent;
    return id;
  }
  static Identity awsService(const char* host) {
    return {std::string("{\"type\":\"AWSService\",\"invokedBy\":\"") + host + "\"}", host, host};
  }

  // An S3 data event (the trail logs data events for the PHI buckets).
  void s3(int64_t t, const Identity& who, const char* name, const char* bucket,
          const std::string& key, int64_t bytes, bool injected) {
    const bool get = std::string_view(name) == "GetObject";
    cloud(t, who, "s3.amazonaws.com", name,
          std::string("{\"bucketName\":\"") + bucket + "\",\"Host\":\"" + bucket +
              ".s3.us-east-1.amazonaws.com\",\"key\":\"" + key + "\"}",
          get, injected,
          get ? "null"
              : "{\"x-amz-server-side-encryption\":\"aws:kms\","
                "\"x-amz-server-side-encryption-bucket-key-enabled\":true}",
          nullptr, "Data", "AwsApiCall",
          ",\"additionalEventData\":{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":"
          "\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":" +
              std::to_string(get ? 0 : bytes) +
              ",\"bytesTransferredOut\":" + std::to_string(get ? bytes : 0) +
              ",\"AuthenticationMethod\":\"AuthHeader\"},\"resources\":[{\"type\":\"AWS::S3::"
              "Object\",\"ARN\":\"arn:aws:s3:::" +
              bucket + "/" + key + "\"},{\"accountId\":\"" + kAwsAccount +
              "\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::" + bucket + "\"}]");
  }

  struct ApiCall {
    const char* source;
    const char* name;
    const char* request;
  };

  void cloudTraffic() {
    const Identity ec2 = awsService("ec2.amazonaws.com");
    for (int h = 0; h < kServers; ++h) {
      // The SSM agent checks in every five minutes; the instance profile's
      // credentials are renewed every hour.
      const Identity ssm = withAgent(instance_role_[h], kSsmAgent);
      const std::string info = "{\"instanceId\":\"" + instance_[h] +
                               "\",\"agentVersion\":\"3.3.1142.0\",\"agentStatus\":\"Active\","
                               "\"platformType\":\"Linux\",\"platformName\":\"Debian GNU/Linux\","
                               "\"platformVersion\":\"12\",\"iPAddress\":\"" +
                               ip_[h] + "\",\"computerName\":\"" + serverName(h) +
                               "\",\"agentName\":\"amazon-ssm-agent\",\"availabilityZone\":"
                               "\"us-east-1" +
                               std::string(1, "abc"[h % 3]) + "\"}";
      for (int64_t t = rng_.between(0, 299) * kSecond; t < kDay;
           t += 5 * kMinute + rng_.between(-2000, 2000))
        cloud(t, ssm, "ssm.amazonaws.com", "UpdateInstanceInformation", info, false);
      for (int64_t t = rng_.between(0, 3599) * kSecond; t < kDay; t += kHour) {
        const std::string key = randomKey("ASIA");
        cloud(t, ec2, "sts.amazonaws.com", "AssumeRole",
              std::string("{\"roleArn\":\"arn:aws:iam::") + kAwsAccount + ":role/" + roleOf(h) +
                  "\",\"roleSessionName\":\"" + instance_[h] + "\",\"durationSeconds\":21600}",
              true, false,
              "{\"credentials\":{\"accessKeyId\":\"" + key +
                  "\",\"expiration\":\"Nov 20, 2026, 11:59:59 PM\"}}",
              nullptr, "Management", "AwsServiceEvent");
      }
      if (h < kHosts) {  // the application re-reads its database credentials
        const Identity app = withAgent(instance_role_[h], kJavaSdk);
        for (int64_t t = rng_.between(0, 6 * 3600 - 1) * kSecond; t < kDay; t += 6 * kHour)
          cloud(t, app, "secretsmanager.amazonaws.com", "GetSecretValue",
                "{\"secretId\":\"ehr/prod/db-credentials\"}", true, false);
      }
    }
    // Scanned documents: every DocumentReference the EHR reads or writes is
    // an object of the documents bucket; exports are written there too.
    for (const AuditEvent& e : ehr_.auditEvents()) {
      const std::string_view action = e.action;
      const bool exported = action == "export" || action == "download" || action == "print";
      if (!exported && std::string_view(e.resource) != "DocumentReference") continue;
      const Identity app = withAgent(instance_role_[ehr_.hostIndex(e)], kJavaSdk);
      const int64_t t = e.t + rng_.between(20, 400);
      const std::string& patient = ehr_.patientId(e.patient);
      const int64_t bytes = rng_.between(40000, 4000000);
      if (exported)
        s3(t, app, "PutObject", kDocuments, "exports/" + patient + "/" + uuid() + ".json", bytes,
           e.injected);
      else
        s3(t, app, action == "create" || action == "update" ? "PutObject" : "GetObject", kDocuments,
           "patients/" + patient + "/documents/" + std::to_string(rng_.between(10000, 99999)) +
               ".pdf",
           bytes, e.injected);
    }
    // WAL archiving from the primary, the base backup from the standby.
    const Identity primary = withAgent(instance_role_[kDbPrimary], kWalG);
    int64_t segment = rng_.between(0xA3F000, 0xA3FF00);
    for (int64_t t = rng_.between(0, 120) * kSecond; t < kDay;
         t += rng_.between(40, 360) * kSecond) {
      char name[80];
      std::snprintf(name, sizeof name, "wal_005/00000001%08llX%08llX.br",
                    static_cast<unsigned long long>(segment >> 8),
                    static_cast<unsigned long long>(segment & 0xff));
      ++segment;
      s3(t, primary, "PutObject", kBackups, name, rng_.between(2000000, 16000000), false);
    }
    const Identity standby = withAgent(instance_role_[kDbStandby], kWalG);
    int64_t t = at(1, 30) + rng_.between(0, 300) * kSecond;
    const std::string base =
        "basebackups_005/base_00000001000A3F2000000C1/tar_partitions/part_1.tar.br";
    cloud(t, standby, "s3.amazonaws.com", "CreateMultipartUpload",
          std::string("{\"bucketName\":\"") + kBackups + "\",\"key\":\"" + base +
              "\",\"uploads\":\"\"}",
          false, false, "null", nullptr, "Data");
    for (int part = 1, parts = static_cast<int>(rng_.between(80, 140)); part <= parts; ++part) {
      t += rng_.between(1500, 5000);
      cloud(t, standby, "s3.amazonaws.com", "UploadPart",
            std::string("{\"bucketName\":\"") + kBackups + "\",\"key\":\"" + base +
                "\",\"partNumber\":\"" + std::to_string(part) + "\"}",
            false, false, "null", nullptr, "Data");
    }
    cloud(t + 900, standby, "s3.amazonaws.com", "CompleteMultipartUpload",
          std::string("{\"bucketName\":\"") + kBackups + "\",\"key\":\"" + base + "\"}", false,
          false, "null", nullptr, "Data");
    // AWS Backup snapshots the volumes at 02:00 and deletes the expired ones.
    const Identity backup =
        assumedRole("AWSBackupDefaultServiceRole", "AWSBackup-AWSBackupDefaultServiceRole",
                    "backup.amazonaws.com", "backup.amazonaws.com", "backup.amazonaws.com");
    t = at(2, 0) + rng_.between(0, 600) * kSecond;
    for (int h = 0; h < kServers; ++h) {
      const std::string volume = "vol-0" + randomHex(16);
      const std::string snapshot = "snap-0" + randomHex(16);
      const std::string expired = "snap-0" + randomHex(16);
      cloud(t += rng_.between(1000, 20000), backup, "ec2.amazonaws.com", "CreateSnapshot",
            "{\"volumeId\":\"" + volume +
                "\",\"description\":\"This snapshot is created by the AWS Backup service.\"}",
            false, false, "{\"snapshotId\":\"" + snapshot + "\",\"volumeId\":\"" + volume + "\"}");
      cloud(t += rng_.between(1000, 20000), backup, "ec2.amazonaws.com", "DeleteSnapshot",
            "{\"snapshotId\":\"" + expired + "\"}", false, false, "{\"_return\":true}");
    }
    // AWS Config records the configuration every hour.
    const Identity config =
        assumedRole("AWSServiceRoleForConfig", "AWSConfig-Describe", "config.amazonaws.com",
                    "config.amazonaws.com", "config.amazonaws.com");
    static constexpr ApiCall kConfigReads[] = {
        {"ec2.amazonaws.com", "DescribeInstances", "{\"instancesSet\":{},\"filterSet\":{}}"},
        {"ec2.amazonaws.com", "DescribeVolumes", "{\"volumeSet\":{},\"filterSet\":{}}"},
        {"ec2.amazonaws.com", "DescribeSecurityGroups",
         "{\"securityGroupSet\":{},\"filterSet\":{}}"},
        {"ec2.amazonaws.com", "DescribeNetworkInterfaces", "{\"networkInterfaceIdSet\":{}}"},
        {"cloudtrail.amazonaws.com", "DescribeTrails", "{\"includeShadowTrails\":false}"},
        {"cloudtrail.amazonaws.com", "GetEventSelectors", "{\"trailName\":\"ehr-local-trail\"}"},
        {"s3.amazonaws.com", "GetBucketEncryption",
         "{\"bucketName\":\"stmartins-ehr-documents\",\"encryption\":\"\"}"},
        {"iam.amazonaws.com", "ListAttachedRolePolicies", "{\"roleName\":\"ehr-app-instance\"}"},
        {"kms.amazonaws.com", "DescribeKey", "{\"keyId\":\"alias/ehr-documents\"}"}};
    for (int hour = 0; hour < 24; ++hour) {
      t = hour * kHour + rng_.between(0, 600) * kSecond;
      for (int n = static_cast<int>(rng_.between(4, 8)); n > 0; --n) {
        const ApiCall& c = kConfigReads[rng_.below(std::size(kConfigReads))];
        cloud(t += rng_.between(200, 5000), config, c.source, c.name, c.request, true);
      }
    }
    // The administrators in the console.
    static constexpr ApiCall kConsoleReads[] = {
        {"ec2.amazonaws.com", "DescribeInstances", "{\"instancesSet\":{},\"filterSet\":{}}"},
        {"ec2.amazonaws.com", "DescribeVolumes", "{\"volumeSet\":{},\"filterSet\":{}}"},
        {"ec2.amazonaws.com", "DescribeSecurityGroups",
         "{\"securityGroupSet\":{},\"filterSet\":{}}"},
        {"monitoring.amazonaws.com", "DescribeAlarms", "{\"maxRecords\":100}"},
        {"monitoring.amazonaws.com", "GetMetricData",
         "{\"startTime\":\"Nov 20, 2026, 6:00:00 AM\"}"},
        {"s3.amazonaws.com", "ListBuckets", "{\"Host\":\"s3.us-east-1.amazonaws.com\"}"},
        {"s3.amazonaws.com", "GetBucketEncryption",
         "{\"bucketName\":\"stmartins-ehr-documents\",\"encryption\":\"\"}"},
        {"cloudtrail.amazonaws.com", "DescribeTrails", "{\"includeShadowTrails\":true}"},
        {"cloudtrail.amazonaws.com", "GetTrailStatus", "{\"name\":\"ehr-local-trail\"}"},
        {"cloudtrail.amazonaws.com", "LookupEvents", "{\"maxResults\":50}"},
        {"kms.amazonaws.com", "ListAliases", "null"},
        {"backup.amazonaws.com", "ListBackupJobs", "{\"maxResults\":100}"},
        {"ssm.amazonaws.com", "DescribeInstanceInformation", "{\"maxResults\":50}"}};
    for (const char* admin : {"alice", "bob"}) {
      const bool alice = std::string_view(admin) == "alice";
      const Identity who = sso(std::string(admin) + "@stmartins-health.org",
                               "AdministratorAccess_5f2d8c1e9a7b3c40", kHospitalNat);
      for (int n = static_cast<int>(rng_.between(1, alice ? 3 : 2)); n > 0; --n) {
        t = at(8, 0) + rng_.between(0, 9 * 3600) * kSecond;
        consoleLogin(t, who, false);
        for (int k = static_cast<int>(rng_.between(8, 30)); k > 0; --k) {
          const ApiCall& c = kConsoleReads[rng_.below(std::size(kConsoleReads))];
          cloud(t += rng_.between(5, 90) * kSecond, who, c.source, c.name, c.request, true);
        }
        if (!alice && rng_.percent(40))  // bob's permission set lacks s3:GetBucketPolicy
          cloud(t += rng_.between(5, 60) * kSecond, who, "s3.amazonaws.com", "GetBucketPolicy",
                "{\"bucketName\":\"stmartins-ehr-documents\",\"policy\":\"\"}", true, false, "null",
                "AccessDenied");
      }
    }
    // 04:00: the pipeline's drift check (terraform plan) reads everything it manages.
    t = at(4, 0) + rng_.between(0, 300) * kSecond;
    const std::string pipeline = std::to_string(rng_.between(100000, 999999));
    Identity gitlab;
    gitlab.json = std::string("{\"type\":\"WebIdentityUser\",\"principalId\":\"arn:aws:iam::") +
                  kAwsAccount +
                  ":oidc-provider/gitlab.stmartins-health.org:https://gitlab.stmartins-health.org:"
                  "project_path:infra/aws:ref_type:branch:ref:main\",\"userName\":\"project_path:"
                  "infra/aws:ref_type:branch:ref:main\",\"identityProvider\":\"arn:aws:iam::" +
                  kAwsAccount + ":oidc-provider/gitlab.stmartins-health.org\"}";
    gitlab.ip = "192.0.2.60";
    gitlab.agent = kTerraform;
    cloud(t, gitlab, "sts.amazonaws.com", "AssumeRoleWithWebIdentity",
          std::string("{\"roleArn\":\"arn:aws:iam::") + kAwsAccount +
              ":role/ci-terraform-plan\",\"roleSessionName\":\"gitlab-ci-" + pipeline +
              "\",\"durationSeconds\":3600}",
          true, false);
    const Identity ci =
        assumedRole("ci-terraform-plan", "gitlab-ci-" + pipeline, "192.0.2.60", kTerraform);
    static constexpr ApiCall kPlanReads[] = {
        {"cloudtrail.amazonaws.com", "DescribeTrails", "{\"trailNameList\":[\"ehr-local-trail\"]}"},
        {"cloudtrail.amazonaws.com", "GetTrailStatus", "{\"name\":\"ehr-local-trail\"}"},
        {"cloudtrail.amazonaws.com", "GetEventSelectors", "{\"trailName\":\"ehr-local-trail\"}"},
        {"cloudtrail.amazonaws.com", "GetInsightSelectors", "{\"trailName\":\"ehr-local-trail\"}"},
        {"cloudtrail.amazonaws.com", "ListTags", "{\"resourceIdList\":[\"ehr-local-trail\"]}"},
        {"s3.amazonaws.com", "GetBucketPolicy",
         "{\"bucketName\":\"stmartins-ehr-documents\",\"policy\":\"\"}"},
        {"s3.amazonaws.com", "GetBucketVersioning",
         "{\"bucketName\":\"stmartins-ehr-documents\",\"versioning\":\"\"}"},
        {"s3.amazonaws.com", "GetBucketEncryption",
         "{\"bucketName\":\"stmartins-ehr-db-backups\",\"encryption\":\"\"}"},
        {"kms.amazonaws.com", "DescribeKey", "{\"keyId\":\"alias/ehr-documents\"}"},
        {"kms.amazonaws.com", "GetKeyPolicy",
         "{\"keyId\":\"alias/ehr-documents\",\"policyName\":\"default\"}"},
        {"iam.amazonaws.com", "GetRole", "{\"roleName\":\"ehr-app-instance\"}"},
        {"iam.amazonaws.com", "ListAttachedRolePolicies", "{\"roleName\":\"ehr-app-instance\"}"},
        {"iam.amazonaws.com", "GetRole", "{\"roleName\":\"ehr-db-instance\"}"},
        {"ec2.amazonaws.com", "DescribeVpcs", "{\"vpcSet\":{},\"filterSet\":{}}"},
        {"ec2.amazonaws.com", "DescribeSubnets", "{\"subnetSet\":{},\"filterSet\":{}}"},
        {"ec2.amazonaws.com", "DescribeSecurityGroups",
         "{\"securityGroupSet\":{},\"filterSet\":{}}"},
        {"ec2.amazonaws.com", "DescribeInstances", "{\"instancesSet\":{},\"filterSet\":{}}"},
        {"secretsmanager.amazonaws.com", "DescribeSecret",
         "{\"secretId\":\"ehr/prod/db-credentials\"}"}};
    for (const ApiCall& c : kPlanReads)
      cloud(t += rng_.between(200, 3000), ci, c.source, c.name, c.request, true);
  }

  static std::string roleOf(int h) { return h < kHosts ? "ehr-app-instance" : "ehr-db-instance"; }

  void finish() {
    auto byTime = [](const auto& a, const auto& b) { return a.t < b.t; };
    std::stable_sort(pg_.begin(), pg_.end(), byTime);
    std::stable_sort(host_events_.begin(), host_events_.end(), byTime);
    std::stable_sort(cloud_.begin(), cloud_.end(), byTime);
    for (const auto& s : pg_) counts_[kDbLog][s.injected ? 1 : 0] += s.relations.size();
    for (const auto& e : host_events_) ++counts_[kHostLog][e.injected ? 1 : 0];
    for (const auto& e : cloud_) ++counts_[kCloudLog][e.injected ? 1 : 0];
  }

  Rng rng_;
  const HospitalDay& ehr_;
  std::vector<InjectedCase> cases_;
  std::string notes_;
  size_t counts_[kLogCount][2] = {};
  // PostgreSQL
  std::vector<PgStatement> pg_;
  std::vector<PgGap> pg_gaps_;
  std::map<int, int64_t> first_statement_id_;
  int next_backend_pid_ = 0;
  int pool_[kHosts][kPoolSize] = {};
  int monitor_pid_ = 0, reporting_pid_ = 0;
  // the hosts
  std::vector<HostEvent> host_events_;
  std::vector<HostGap> gaps_;
  int next_pid_[kServers] = {}, cron_pid_[kServers] = {}, sshd_pid_[kServers] = {},
      auditd_pid_[kServers] = {};
  int64_t next_ses_[kServers] = {}, first_serial_[kServers] = {};
  std::string instance_[kServers], ip_[kServers], machine_id_[kServers];
  std::string packages_;
  // the cloud account
  std::vector<CloudEvent> cloud_;
  Identity instance_role_[kServers];
};

// ---- reading the alerts ---------------------------------------------------

// What an alert is about: the log it came from, its user (or database
// role), patient and host, from the event's `fields` or from a
// correlation's or suppression summary's group.
struct AlertSubject {
  LogId log = kEhrLog;
  std::string rule_id, rule_title;
  int64_t t = -1;
  std::string user, patient, host, ip;
  std::string line;
};

// "2026-11-20T09:00:00.000Z", or auditd's "1795166100.123" -> ms since the
// day's midnight (-1 when unreadable).
int64_t millisOfDay(std::string_view ts) {
  if (ts.size() >= 11 && ts[10] == '.' && ts.find('-') == std::string_view::npos) {
    const double seconds = std::strtod(std::string(ts).c_str(), nullptr);
    return static_cast<int64_t>(std::llround((seconds - static_cast<double>(kEpochOfDay)) * 1000));
  }
  if (ts.size() < 19) return -1;
  const std::string_view date = ts.substr(0, 10);
  const int64_t days = date == kDate ? 0 : date < kDate ? -1 : 1;
  auto num = [&](size_t pos, size_t len) { return std::stoll(std::string(ts.substr(pos, len))); };
  int64_t ms = days * kDay + num(11, 2) * kHour + num(14, 2) * kMinute + num(17, 2) * kSecond;
  if (ts.size() >= 23 && ts[19] == '.') ms += num(20, 3);
  return ms;
}

std::vector<AlertSubject> readAlerts(const std::string& out, LogId log) {
  std::vector<AlertSubject> subjects;
  simdjson::dom::parser parser;
  auto value = [](const std::optional<std::string>& v) {
    return v && *v != "null" ? *v : std::string();
  };
  for (const Alert& a : parseAlerts(out)) {
    AlertSubject s;
    s.log = log;
    s.rule_id = a.rule_id;
    s.rule_title = a.rule_title;
    s.line = a.line;
    s.t = millisOfDay(a.timestamp);
    s.user = value(a.field("user.id"));
    if (s.user.empty()) s.user = value(a.field("db.user"));
    s.patient = value(a.field("patient.id"));
    s.host = value(a.field("host.name"));
    s.ip = value(a.field("source.ip"));
    simdjson::dom::element doc;
    if (!parser.parse(a.line).get(doc)) {
      for (const char* block : {"correlation", "suppressed"}) {
        simdjson::dom::object group;
        if (doc[block]["group"].get_object().get(group)) continue;
        for (const auto field : group) {
          std::string_view v;
          if (field.value.get_string().get(v)) continue;
          if (field.key == "user.id" || field.key == "db.user") s.user = std::string(v);
          if (field.key == "host.name") s.host = std::string(v);
          if (field.key == "source.ip") s.ip = std::string(v);
        }
      }
    }
    subjects.push_back(std::move(s));
  }
  return subjects;
}

// The case raised the rule of its kind, in its log, for its user and a
// chart it touched (or its host), while it happened or soon after.
bool detects(const AlertSubject& a, const InjectedCase& c) {
  const KindInfo k = info(c.kind);
  if (a.log != c.log || a.rule_id != k.rule_id) return false;
  if (c.kind == Kind::kSourceSilent)  // stamped with the host's last event
    return a.host == c.host && a.t >= c.start - 10 * kMinute && a.t <= c.end;
  if (c.log == kHostLog)  // the host; auditd stopped by systemd names no user
    return a.host == c.host && a.t >= c.start && a.t <= c.end + 15 * kMinute;
  if (a.user != c.user || a.t < c.start || a.t > c.end + 15 * kMinute) return false;
  return k.correlation || c.log != kEhrLog || c.patients.count(a.patient) > 0;
}

// Any alert the case accounts for, of whatever rule, in its log: about its
// host, or its user and (when the alert names one) a chart it touched, from
// its start until suppression summaries are due. In the servers' logs, an
// alert about the case's host or address explains only when it names no
// user (a silence, a daemon stopped by systemd, a summary grouped by
// address).
bool explains(const InjectedCase& c, const AlertSubject& a) {
  if (a.log != c.log) return false;
  if (a.t < c.start - 10 * kMinute || a.t > c.end + 2 * kHour) return false;
  if (c.log != kEhrLog)
    return a.user == c.user || (a.user.empty() && ((!c.host.empty() && a.host == c.host) ||
                                                   (!c.ip.empty() && a.ip == c.ip)));
  if (!c.host.empty()) return a.host == c.host;
  return a.user == c.user && (a.patient.empty() || c.patients.count(a.patient) > 0);
}

std::string describe(const InjectedCase& c) {
  std::string s = std::string(info(c.kind).rule_file) + " " + hhmmss(c.start) + "-" + hhmmss(c.end);
  if (!c.user.empty()) s += " user " + c.user;
  if (!c.host.empty()) s += " host " + c.host;
  for (const auto& p : c.patients) s += " " + p;
  return s;
}

TEST(PhiPackQuality, GeneratedDayAlertsOnEveryInjectedCaseAndRarelyOnOrdinaryWork) {
  HospitalDay day(seed());
  day.generate();
  ASSERT_GE(day.ordinaryEvents(), 200000u);
  ServerDay servers(seed(), day);
  servers.generate();
  std::vector<InjectedCase> cases = day.cases();
  cases.insert(cases.end(), servers.cases().begin(), servers.cases().end());

  TempDir dir;
  fs::create_directories(dir / "lookups");
  // The site's lists the packs declare (phi_tables, phi_app_db_roles, ...)
  // as shipped; the network ranges and the two tables are the generated
  // site's own.
  std::string placeholders = "placeholders:\n";
  for (const auto& entry : fs::directory_iterator(fs::path(sourceDir()) / "deploy/lookups")) {
    if (entry.path().extension() != ".txt") continue;
    const std::string stem = entry.path().stem().string();
    if (stem == "internal_networks") continue;
    fs::copy_file(entry.path(), dir / ("lookups/" + entry.path().filename().string()));
    placeholders += "  " + stem + ": lookups/" + entry.path().filename().string() + "\n";
  }
  placeholders += "  internal_networks: lookups/internal_networks.txt\n";
  writeFile(dir / "lookups/internal_networks.txt",
            "# the hospital's wards, offices and VPN\n10.0.0.0/8\n");
  writeFile(dir / "lookups/staff.csv", day.staffCsv());
  writeFile(dir / "lookups/patients.csv", day.patientsCsv());
  writeFile(dir / "trailwatch.yaml",
            "state_dir: state\n"
            "rules: [\"" +
                (fs::path(sourceDir()) / "rules").string() +
                "\"]\n"
                "sources:\n"
                "  - name: ehr\n"
                "    type: file\n"
                "    paths: [\"logs/*.ndjson\"]\n"
                "    format: json\n"
                "    logsource: {product: ehr, service: audit, category: phi-access}\n" +
                placeholders +
                "lookups:\n"
                "  - name: staff\n"
                "    path: lookups/staff.csv\n"
                "    key: user_id\n"
                "    match: user.id\n"
                "    prefix: staff.\n"
                "  - name: patients\n"
                "    path: lookups/patients.csv\n"
                "    key: patient_id\n"
                "    match: patient.id\n"
                "    prefix: patient.\n"
                "correlation:\n"
                "  workers: 2\n");

  // The day's four logs, each scanned once with its format (`scan` given
  // files applies every rule to them: sources' logsource play no part).
  const size_t ordinary[kLogCount] = {day.ordinaryEvents(), servers.ordinary(kDbLog),
                                      servers.ordinary(kHostLog), servers.ordinary(kCloudLog)};
  const size_t injected[kLogCount] = {day.events() - day.ordinaryEvents(), servers.injected(kDbLog),
                                      servers.injected(kHostLog), servers.injected(kCloudLog)};
  writeFile(dir / kLogInfo[kEhrLog].file, day.ndjson());
  writeFile(dir / kLogInfo[kDbLog].file, servers.pgauditLog());
  writeFile(dir / kLogInfo[kHostLog].file, servers.auditdLog());
  writeFile(dir / kLogInfo[kCloudLog].file, servers.cloudtrailLog());
  std::vector<std::unique_ptr<Process>> scans;
  for (int l = 0; l < kLogCount; ++l) {
    ProcessOptions o;
    o.argv = {trailwatchBinary(),      "scan",     "-c",
              dir / "trailwatch.yaml", "--format", kLogInfo[l].format,
              dir / kLogInfo[l].file};
    o.stdout_path = dir / (std::string(kLogInfo[l].name) + ".alerts");
    o.stderr_path = dir / (std::string(kLogInfo[l].name) + ".err");
    o.cwd = dir.path();
    scans.push_back(std::make_unique<Process>(o));
  }
  std::vector<AlertSubject> alerts;
  for (int l = 0; l < kLogCount; ++l) {
    const LogId log = static_cast<LogId>(l);
    ASSERT_EQ(scans[static_cast<size_t>(l)]->wait(120s), 0)
        << scans[static_cast<size_t>(l)]->stderrText();
    // The summary line: every record decoded, none lost.
    const std::string err = scans[static_cast<size_t>(l)]->stderrText();
    const size_t from = err.rfind('{');
    const auto summary = parseJsonNumbers(from == std::string::npos ? "" : err.substr(from));
    ASSERT_TRUE(summary) << err;
    EXPECT_EQ(summary->at("decode_errors"), 0) << kLogInfo[l].name << ": " << err;
    EXPECT_EQ(summary->at("events"), static_cast<double>(ordinary[l] + injected[l]))
        << kLogInfo[l].name;
    const auto found = readAlerts(scans[static_cast<size_t>(l)]->stdoutText(), log);
    alerts.insert(alerts.end(), found.begin(), found.end());
  }

  // Every injected case raised its rule.
  size_t detected = 0;
  std::map<std::string, std::pair<int, int>> per_kind;  // rule file -> detected, injected
  std::vector<std::string> missed;
  for (const auto& c : cases) {
    const bool hit = std::any_of(alerts.begin(), alerts.end(),
                                 [&](const AlertSubject& a) { return detects(a, c); });
    auto& [d, n] = per_kind[info(c.kind).rule_file];
    ++n;
    if (hit) {
      ++d;
      ++detected;
    } else {
      missed.push_back(describe(c));
    }
  }

  // The rest came from ordinary work.
  std::map<std::string, std::vector<const AlertSubject*>> ordinary_by_rule;  // by rule title
  size_t ordinary_alerts[kLogCount] = {};
  for (const auto& a : alerts) {
    const bool explained = std::any_of(cases.begin(), cases.end(),
                                       [&](const InjectedCase& c) { return explains(c, a); });
    if (explained) continue;
    ordinary_by_rule[a.rule_title].push_back(&a);
    ++ordinary_alerts[a.log];
  }
  size_t all_events = 0, all_injected = 0, all_alerts = 0;
  for (int l = 0; l < kLogCount; ++l) {
    all_events += ordinary[l];
    all_injected += injected[l];
    all_alerts += ordinary_alerts[l];
  }
  auto per10k = [](size_t alerts_, size_t events) {
    return events == 0 ? 0.0 : 10000.0 * static_cast<double>(alerts_) / static_cast<double>(events);
  };
  const double per_10k = per10k(all_alerts, all_events);

  std::printf(
      "[quality] site: seed %llu, %zu staff (%zu rostered), %d patients (%zu employees, "
      "%d restricted), %zu inpatients\n",
      static_cast<unsigned long long>(seed()), day.staffCount(), day.rosteredCount(), kPatients,
      day.employeePatients(), kRestrictedPatients, day.inpatientCount());
  std::printf("[quality] servers: %d hosts (%s..%s, %s, %s); %s\n", kServers, serverName(0).c_str(),
              serverName(kHosts - 1).c_str(), serverName(kDbPrimary).c_str(),
              serverName(kDbStandby).c_str(),
              servers.notes().empty() ? "no reboot" : servers.notes().c_str());
  for (int l = 0; l < kLogCount; ++l)
    std::printf("[quality] log %-10s (%s): %zu ordinary + %zu injected events\n", kLogInfo[l].name,
                kLogInfo[l].format, ordinary[l], injected[l]);
  std::printf("[quality] events: %zu ordinary + %zu injected; %zu alerts in all\n", all_events,
              all_injected, alerts.size());
  const auto chance = day.chancePairs();
  std::printf(
      "[quality] ordinary traffic: %zu distinct user-chart pairs; %zu on a coworker's "
      "chart; %zu with the user's family name (chance predicts %.1f)\n",
      chance.pairs, chance.employee_charts, chance.same_name, chance.same_name_expected);
  for (const auto& [rule, dn] : per_kind)
    std::printf("[quality]   %-38s detected %d of %d\n", rule.c_str(), dn.first, dn.second);
  std::printf("[quality] detected %zu of %zu injected cases\n", detected, cases.size());
  for (const auto& [title, list] : ordinary_by_rule)
    std::printf("[quality]   ordinary: %5zu  %s\n", list.size(), title.c_str());
  for (int l = 0; l < kLogCount; ++l)
    std::printf("[quality] log %-10s %zu ordinary events, %zu ordinary alerts = %.2f per 10k\n",
                kLogInfo[l].name, ordinary[l], ordinary_alerts[l],
                per10k(ordinary_alerts[l], ordinary[l]));
  std::printf("[quality] %zu ordinary alerts over %zu events = %.2f per 10k\n", all_alerts,
              all_events, per_10k);
  std::fflush(stdout);

  EXPECT_EQ(detected, cases.size()) << [&] {
    std::string s = "missed:\n";
    for (const auto& m : missed) s += "  " + m + "\n";
    return s;
  }();
  // The bar holds for each log on its own too: a quiet big log must not
  // hide a noisy one.
  for (int l = 0; l < kLogCount; ++l) {
    EXPECT_LT(per10k(ordinary_alerts[l], ordinary[l]), 1.0)
        << kLogInfo[l].name << ": " << ordinary_alerts[l] << " ordinary alerts over " << ordinary[l]
        << " events";
  }
  EXPECT_LT(per_10k, 1.0) << [&] {
    std::string s = "alerts on ordinary traffic, by rule (up to 5 each):\n";
    for (const auto& [title, list] : ordinary_by_rule) {
      s += "  " + title + ": " + std::to_string(list.size()) + "\n";
      for (size_t i = 0; i < list.size() && i < 5; ++i) s += "    " + list[i]->line + "\n";
    }
    return s;
  }();
}

}  // namespace
}  // namespace trailwatch::it
