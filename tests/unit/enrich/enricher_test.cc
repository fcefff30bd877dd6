#include "daemon/enrich/enricher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace trailwatch::enrich {
namespace {

// A decoded event with string values by FieldId.
class StubEvent : public Event {
 public:
  explicit StubEvent(size_t fields) : values_(fields), table_(fields) { publish(table_); }
  StubEvent& set(FieldId id, std::string_view text) {
    FieldValue v;
    v.type = FieldValue::Type::kString;
    v.text = text;
    if (values_[id].empty()) present_.push_back(id);
    values_[id].push_back(v);
    table_[id] = values_[id];
    return *this;
  }
  // Lists the fields set (Event::present()), as the JSON decoder does.
  StubEvent& listPresent() {
    publish(table_, &present_);
    return *this;
  }
  std::string_view raw() const override { return "{}"; }

 private:
  std::vector<std::vector<FieldValue>> values_;
  std::vector<std::span<const FieldValue>> table_;  // over values_
  std::vector<FieldId> present_;
};

std::shared_ptr<const LookupTable> table(const std::string& csv, LookupSpec spec) {
  auto t = LookupTable::parse(csv, spec);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error());
  return t.ok() ? *t : nullptr;
}

LookupSpec staff(bool case_insensitive = false) {
  return LookupSpec{"staff", "staff.csv", "user_id", "user.id", "user.", case_insensitive};
}

LookupSpec patients() {
  return LookupSpec{"patients", "patients.csv", "mrn", "patient.id", "patient.", false};
}

std::vector<std::string> texts(std::span<const FieldValue> values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.emplace_back(v.text);
  return out;
}

// FieldIds: 0 user.id, 1 user.status, 2 user.department, 3 patient.id, 4 patient.vip, 5 other
const std::vector<std::string> kPaths = {"user.id",    "user.status", "user.department",
                                         "patient.id", "patient.vip", "other"};

std::shared_ptr<const LookupSet> twoTables(bool case_insensitive = false) {
  return std::make_shared<const LookupSet>(std::vector<std::shared_ptr<const LookupTable>>{
      table("user_id,status,department\nu7,terminated,\nu8,active,oncology\n",
            staff(case_insensitive)),
      table("mrn,vip\np-1,true\n", patients())});
}

TEST(Enricher, LookupFillsAbsentFields) {
  Enricher enricher(twoTables(), kPaths);
  StubEvent e(kPaths.size());
  e.set(0, "u8");
  const Event& out = enricher.enrich(e);
  EXPECT_EQ(texts(out.values(0)), std::vector<std::string>{"u8"});
  EXPECT_EQ(texts(out.values(1)), std::vector<std::string>{"active"});
  EXPECT_EQ(texts(out.values(2)), std::vector<std::string>{"oncology"});
  EXPECT_TRUE(out.values(5).empty());
  EXPECT_EQ(out.raw(), "{}");
}

TEST(Enricher, PresentListsTheRecordsFieldsAndTheFilledOnes) {
  Enricher enricher(twoTables(), kPaths);
  const auto sorted = [](const std::vector<FieldId>* ids) {
    std::vector<FieldId> out;
    if (ids != nullptr) out = *ids;
    std::sort(out.begin(), out.end());
    return out;
  };
  StubEvent e(kPaths.size());
  e.set(0, "u8").set(1, "on-leave").set(5, "x").listPresent();
  const Event& out = enricher.enrich(e);
  ASSERT_NE(out.present(), nullptr);
  // user.department filled; user.status kept from the record, listed once.
  EXPECT_EQ(sorted(out.present()), (std::vector<FieldId>{0, 1, 2, 5}));

  StubEvent next(kPaths.size());
  next.set(3, "p-1").set(0, "u7").listPresent();
  EXPECT_EQ(sorted(enricher.enrich(next).present()), (std::vector<FieldId>{0, 1, 3, 4}));

  // A record that lists nothing gives an enriched event that lists nothing.
  StubEvent unlisted(kPaths.size());
  unlisted.set(0, "u8");
  EXPECT_EQ(enricher.enrich(unlisted).present(), nullptr);
}

TEST(Enricher, RecordValueWinsOverLookup) {
  Enricher enricher(twoTables(), kPaths);
  StubEvent e(kPaths.size());
  e.set(0, "u7").set(1, "on-leave");
  EXPECT_EQ(texts(enricher.enrich(e).values(1)), std::vector<std::string>{"on-leave"});
}

TEST(Enricher, ResolvedFieldsFollowEachNewEvent) {
  // The enriched event's table is filled anew for each event; the next
  // event must not see the previous one's values, own or looked up.
  Enricher enricher(twoTables(), kPaths);
  StubEvent first(kPaths.size());
  first.set(0, "u8");
  const Event& a = enricher.enrich(first);
  EXPECT_EQ(texts(a.values(1)), std::vector<std::string>{"active"});
  EXPECT_EQ(texts(a.values(1)), std::vector<std::string>{"active"});  // asked again
  EXPECT_TRUE(a.values(4).empty());

  StubEvent second(kPaths.size());
  second.set(0, "u7").set(3, "p-1");
  const Event& b = enricher.enrich(second);
  EXPECT_EQ(texts(b.values(0)), std::vector<std::string>{"u7"});
  EXPECT_EQ(texts(b.values(1)), std::vector<std::string>{"terminated"});
  EXPECT_EQ(texts(b.values(4)), std::vector<std::string>{"true"});

  StubEvent third(kPaths.size());
  third.set(1, "on-leave");
  const Event& c = enricher.enrich(third);
  EXPECT_TRUE(c.values(0).empty());
  EXPECT_EQ(texts(c.values(1)), std::vector<std::string>{"on-leave"});
  EXPECT_TRUE(c.values(4).empty());
}

TEST(Enricher, MissAndEmptyCellLeaveFieldAbsent) {
  Enricher enricher(twoTables(), kPaths);
  StubEvent miss(kPaths.size());
  miss.set(0, "u99");
  EXPECT_TRUE(enricher.enrich(miss).values(1).empty());
  // No row found: nothing to add, the record itself comes back.
  EXPECT_EQ(&enricher.enrich(miss), &miss);
  StubEvent empty_cell(kPaths.size());
  empty_cell.set(0, "u7");
  const Event& out = enricher.enrich(empty_cell);
  EXPECT_EQ(texts(out.values(1)), std::vector<std::string>{"terminated"});
  EXPECT_TRUE(out.values(2).empty()) << "an empty CSV cell is no value";
  StubEvent no_key(kPaths.size());
  EXPECT_TRUE(enricher.enrich(no_key).values(1).empty());
}

TEST(Enricher, SeveralTablesEachJoinOnTheirOwnField) {
  Enricher enricher(twoTables(), kPaths);
  StubEvent e(kPaths.size());
  e.set(0, "u7").set(3, "p-1");
  const Event& out = enricher.enrich(e);
  EXPECT_EQ(texts(out.values(1)), std::vector<std::string>{"terminated"});
  EXPECT_EQ(texts(out.values(4)), std::vector<std::string>{"true"});
  StubEvent only_patient(kPaths.size());
  only_patient.set(3, "p-1");
  const Event& out2 = enricher.enrich(only_patient);
  EXPECT_TRUE(out2.values(1).empty()) << "the previous event's row must not leak";
  EXPECT_EQ(texts(out2.values(4)), std::vector<std::string>{"true"});
}

TEST(Enricher, CaseInsensitiveMatch) {
  Enricher enricher(twoTables(/*case_insensitive=*/true), kPaths);
  StubEvent e(kPaths.size());
  e.set(0, "U8");
  EXPECT_EQ(texts(enricher.enrich(e).values(1)), std::vector<std::string>{"active"});
}

TEST(Enricher, TriesEachValueOfAnArrayField) {
  Enricher enricher(twoTables(), kPaths);
  StubEvent e(kPaths.size());
  e.set(0, "nobody").set(0, "u8");
  EXPECT_EQ(texts(enricher.enrich(e).values(1)), std::vector<std::string>{"active"});
}

TEST(Enricher, CountsHitsAndMissesPerTable) {
  Enricher enricher(twoTables(), kPaths);
  StubEvent hit(kPaths.size());
  hit.set(0, "u7").set(3, "p-2");
  StubEvent absent(kPaths.size());
  (void)enricher.enrich(hit);
  (void)enricher.enrich(hit);
  (void)enricher.enrich(absent);
  std::vector<LookupCounts> counts;
  enricher.takeCounts(counts);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].hits, 2u);
  EXPECT_EQ(counts[0].misses, 0u);
  EXPECT_EQ(counts[1].hits, 0u);
  EXPECT_EQ(counts[1].misses, 2u);
  enricher.takeCounts(counts);
  EXPECT_EQ(counts[0].hits, 0u) << "takeCounts resets";
}

TEST(Enricher, TableWhoseMatchFieldIsNotExtractedDoesNothing) {
  const std::vector<std::string> paths = {"user.status"};
  Enricher enricher(twoTables(), paths);
  StubEvent e(paths.size());
  EXPECT_TRUE(enricher.enrich(e).values(0).empty());
}

TEST(LookupSet, MatchPathsAreDeduplicated) {
  auto a = table("user_id,status\nu7,x\n", staff());
  LookupSpec other = staff();
  other.name = "other";
  auto b = table("user_id,team\nu7,y\n", other);
  LookupSet set({a, b, table("mrn,vip\n", patients())});
  EXPECT_EQ(set.matchPaths(), (std::vector<std::string>{"user.id", "patient.id"}));
}

}  // namespace
}  // namespace trailwatch::enrich
