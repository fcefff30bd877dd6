// Fuzz target for the Sigma rule loader: any bytes given as a rule file must
// produce a RuleSet or diagnostics, never a crash, hang or leak; a set that
// builds is also evaluated against two small events (each with and without
// a list of its present fields) so the compiled matchers run on whatever
// the fuzzer made them from, and the rule index (rule_index.h) must find
// the same matches: a rule it left out, or one it decided without
// evaluation that does not match, aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/engine/rule_index.h"
#include "daemon/engine/rule_set.h"
#include "trailwatch/event.h"

namespace {

using trailwatch::Event;
using trailwatch::FieldId;
using trailwatch::FieldValue;

// Gives every field the same few values of each type, so every matcher kind
// sees input, and the rule text itself as the raw record.
class FuzzEvent : public Event {
 public:
  // Fields of parity `absent` have no values. With `listed`, the event
  // lists the others (Event::present()), which the rule index reads instead.
  FuzzEvent(std::string_view raw, size_t fields, size_t absent, bool listed) : raw_(raw) {
    values_[0].type = FieldValue::Type::kString;
    values_[0].text = "Admin 10.1.2.3 C:\\Windows\\x.exe";
    values_[1].type = FieldValue::Type::kNumber;
    values_[1].number = 42;
    values_[1].text = "42";
    values_[2].type = FieldValue::Type::kBool;
    values_[2].boolean = true;
    values_[2].text = "true";
    values_[3].type = FieldValue::Type::kString;
    values_[3].text = "::ffff:192.168.0.1";
    values_[4].type = FieldValue::Type::kNull;
    values_[4].text = "null";
    // Half the fields are absent so null/exists paths run too.
    for (size_t id = 0; id < fields; ++id) {
      table_.push_back(id % 2 == absent ? std::span<const FieldValue>()
                                        : std::span<const FieldValue>(values_, 5));
      if (id % 2 != absent) present_.push_back(static_cast<FieldId>(id));
    }
    publish(table_, listed ? &present_ : nullptr);
  }
  std::string_view raw() const override { return raw_; }

 private:
  FieldValue values_[5];
  std::vector<std::span<const FieldValue>> table_;
  std::vector<FieldId> present_;
  std::string_view raw_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  trailwatch::Diagnostics diags;
  auto rules = trailwatch::engine::RuleSet::parse(text, "fuzz.yml", diags);
  if (!rules) return 0;
  const std::vector<uint32_t> all = rules->rulesFor(nullptr);
  const trailwatch::engine::RuleIndex index(*rules, all);
  trailwatch::engine::RuleIndex::Candidates candidates;
  for (size_t absent = 0; absent < 2; ++absent) {
    for (const bool listed : {false, true}) {
      const FuzzEvent event(text, rules->fieldPaths().size(), absent, listed);
      std::vector<uint32_t> matched, via_index;
      rules->evaluate(event, all, matched);
      index.match(event, *rules, candidates, via_index);
      if (via_index != matched) std::abort();
    }
  }
  return 0;
}
