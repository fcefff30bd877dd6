// Reads the Panther rule-test set (../shared/corpus/panther-analysis-tests/
// panther_rule_tests.jsonl: one object per test, the event under `log`,
// its Panther log types under `log_types`) and returns the minified `log`
// of every test whose log_types satisfy `select`.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "tests/unit/decode/json_format_harness.h"

namespace trailwatch::decode::testing {

inline std::string pantherTestsPath() {
  return std::string(TRAILWATCH_CORPUS_DIR) + "/panther-analysis-tests/panther_rule_tests.jsonl";
}

// Returns false when the file cannot be read or parsed.
inline bool pantherLogs(const std::function<bool(const std::vector<std::string_view>&)>& select,
                        std::vector<std::string>& logs) {
  const std::string text = readFile(pantherTestsPath());
  if (text.empty()) return false;
  simdjson::dom::parser parser;
  simdjson::dom::document_stream stream;
  if (parser.parse_many(text.data(), text.size(), 1 << 24).get(stream)) return false;
  for (auto doc : stream) {
    simdjson::dom::element test;
    if (doc.get(test)) return false;
    std::vector<std::string_view> types;
    simdjson::dom::array array;
    if (test["log_types"].get_array().get(array) == simdjson::SUCCESS) {
      for (auto t : array) {
        std::string_view s;
        if (t.get_string().get(s) == simdjson::SUCCESS) types.push_back(s);
      }
    }
    if (!select(types)) continue;
    simdjson::dom::element log;
    if (test["log"].get(log)) continue;
    logs.push_back(simdjson::minify(log));
  }
  return true;
}

}  // namespace trailwatch::decode::testing
