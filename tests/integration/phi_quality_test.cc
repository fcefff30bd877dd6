// The HIPAA PHI pack against a generated hospital day (issue 5, "Quality
// bar"): every injected case of misuse must raise the rule of its kind, and
// the ordinary clinical traffic around the cases must raise fewer than one
// alert per 10,000 events. The real binary scans the day once, with the
// shipped rules and the generated site's lookup tables and lists; the
// figures go to stdout so that they can be quoted (rules/README.md,
// "Quality measurement").
//
// Everything is drawn from kSeed with std::mt19937_64 and modulo arithmetic
// only: std::*_distribution and std::shuffle are left to each standard
// library, and the day must be the same everywhere.
//
// The site:
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
// Misuse: kCasesPerKind cases of each kind the pack detects in this log
// (rules/README.md, rules 1-10, 12, 13, and 14's silent host), by known
// users on known charts at known times, in the same time-ordered stream.
// An alert is ordinary when no case explains it (explains()).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
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
};
constexpr Kind kAllKinds[] = {Kind::kBulkBrowsing,      Kind::kBulkExport,
                              Kind::kTerminatedAccount, Kind::kRestrictedOutsideCareTeam,
                              Kind::kRelativeSnooping,  Kind::kOwnRecord,
                              Kind::kCoworkerRecord,    Kind::kAfterHours,
                              Kind::kBreakTheGlass,     Kind::kNonTreatmentDisclosure,
                              Kind::kDeniedThenSuccess, Kind::kOutsideNetwork,
                              Kind::kSourceSilent};

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
  }
  return {"?", "?", false};
}

struct InjectedCase {
  Kind kind;
  std::string user;                // empty for a silent host
  std::set<std::string> patients;  // the charts it touched
  std::string host;                // a silent host
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
    for (Kind kind : kAllKinds) {
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

// ---- reading the alerts ---------------------------------------------------

// What an alert is about: its user, patient and host, from the event's
// `fields` or from a correlation's or suppression summary's group.
struct AlertSubject {
  std::string rule_id, rule_title;
  int64_t t = -1;
  std::string user, patient, host;
  std::string line;
};

// "2026-11-20T09:00:00.000Z" -> ms since the day's midnight (-1 when unreadable).
int64_t millisOfDay(std::string_view ts) {
  if (ts.size() < 19) return -1;
  const std::string_view date = ts.substr(0, 10);
  const int64_t days = date == kDate ? 0 : date < kDate ? -1 : 1;
  auto num = [&](size_t pos, size_t len) { return std::stoll(std::string(ts.substr(pos, len))); };
  int64_t ms = days * kDay + num(11, 2) * kHour + num(14, 2) * kMinute + num(17, 2) * kSecond;
  if (ts.size() >= 23 && ts[19] == '.') ms += num(20, 3);
  return ms;
}

std::vector<AlertSubject> readAlerts(const std::string& out) {
  std::vector<AlertSubject> subjects;
  simdjson::dom::parser parser;
  for (const Alert& a : parseAlerts(out)) {
    AlertSubject s;
    s.rule_id = a.rule_id;
    s.rule_title = a.rule_title;
    s.line = a.line;
    s.t = millisOfDay(a.timestamp);
    s.user = a.field("user.id").value_or("");
    s.patient = a.field("patient.id").value_or("");
    simdjson::dom::element doc;
    if (!parser.parse(a.line).get(doc)) {
      for (const char* block : {"correlation", "suppressed"}) {
        simdjson::dom::object group;
        if (doc[block]["group"].get_object().get(group)) continue;
        for (const auto field : group) {
          std::string_view v;
          if (field.value.get_string().get(v)) continue;
          if (field.key == "user.id") s.user = std::string(v);
          if (field.key == "host.name") s.host = std::string(v);
        }
      }
    }
    subjects.push_back(std::move(s));
  }
  return subjects;
}

// The case raised the rule of its kind, for its user and a chart it
// touched (or its host), while it happened or soon after.
bool detects(const AlertSubject& a, const InjectedCase& c) {
  const KindInfo k = info(c.kind);
  if (a.rule_id != k.rule_id) return false;
  if (c.kind == Kind::kSourceSilent)  // stamped with the host's last event
    return a.host == c.host && a.t >= c.start - 10 * kMinute && a.t <= c.end;
  if (a.user != c.user || a.t < c.start || a.t > c.end + 15 * kMinute) return false;
  return k.correlation || c.patients.count(a.patient) > 0;
}

// Any alert the case accounts for, of whatever rule: about its host, or its
// user and (when the alert names one) a chart it touched, from its start
// until suppression summaries are due.
bool explains(const InjectedCase& c, const AlertSubject& a) {
  if (a.t < c.start - 10 * kMinute || a.t > c.end + 2 * kHour) return false;
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
  const std::string log = dir / "day.ndjson";
  writeFile(log, day.ndjson());

  const RunResult r = runToCompletion(
      {trailwatchBinary(), "scan", "-c", dir / "trailwatch.yaml", "--format", "json", log},
      dir.path(), "", 120s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<AlertSubject> alerts = readAlerts(r.out);

  // Every injected case raised its rule.
  size_t detected = 0;
  std::map<std::string, std::pair<int, int>> per_kind;  // rule file -> detected, injected
  std::vector<std::string> missed;
  for (const auto& c : day.cases()) {
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
  std::map<std::string, std::vector<const AlertSubject*>> ordinary;  // by rule title
  size_t ordinary_alerts = 0;
  for (const auto& a : alerts) {
    const bool explained = std::any_of(day.cases().begin(), day.cases().end(),
                                       [&](const InjectedCase& c) { return explains(c, a); });
    if (explained) continue;
    ordinary[a.rule_title].push_back(&a);
    ++ordinary_alerts;
  }
  const double per_10k =
      10000.0 * static_cast<double>(ordinary_alerts) / static_cast<double>(day.ordinaryEvents());

  std::printf(
      "[quality] site: seed %llu, %zu staff (%zu rostered), %d patients (%zu employees, "
      "%d restricted), %zu inpatients\n",
      static_cast<unsigned long long>(seed()), day.staffCount(), day.rosteredCount(), kPatients,
      day.employeePatients(), kRestrictedPatients, day.inpatientCount());
  std::printf("[quality] events: %zu ordinary + %zu injected; %zu alerts in all\n",
              day.ordinaryEvents(), day.events() - day.ordinaryEvents(), alerts.size());
  const auto chance = day.chancePairs();
  std::printf(
      "[quality] ordinary traffic: %zu distinct user-chart pairs; %zu on a coworker's "
      "chart; %zu with the user's family name (chance predicts %.1f)\n",
      chance.pairs, chance.employee_charts, chance.same_name, chance.same_name_expected);
  for (const auto& [rule, dn] : per_kind)
    std::printf("[quality]   %-38s detected %d of %d\n", rule.c_str(), dn.first, dn.second);
  std::printf("[quality] detected %zu of %zu injected cases\n", detected, day.cases().size());
  for (const auto& [title, list] : ordinary)
    std::printf("[quality]   ordinary: %5zu  %s\n", list.size(), title.c_str());
  std::printf("[quality] %zu ordinary alerts over %zu events = %.2f per 10k\n", ordinary_alerts,
              day.ordinaryEvents(), per_10k);
  std::fflush(stdout);

  EXPECT_EQ(detected, day.cases().size()) << [&] {
    std::string s = "missed:\n";
    for (const auto& m : missed) s += "  " + m + "\n";
    return s;
  }();
  EXPECT_LT(per_10k, 1.0) << [&] {
    std::string s = "alerts on ordinary traffic, by rule (up to 5 each):\n";
    for (const auto& [title, list] : ordinary) {
      s += "  " + title + ": " + std::to_string(list.size()) + "\n";
      for (size_t i = 0; i < list.size() && i < 5; ++i) s += "    " + list[i]->line + "\n";
    }
    return s;
  }();
}

}  // namespace
}  // namespace trailwatch::it
