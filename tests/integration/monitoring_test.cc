// The monitoring files in deploy/ (README "Monitoring") against what they
// monitor:
// - the Grafana dashboard is well-formed (Grafana itself is not a Debian
//   package, so this checks what can be checked without it: valid JSON, the
//   top-level fields Grafana needs, unique panel ids, every panel placed and
//   queried through the datasource variable);
// - every dashboard query parses as PromQL (`promtool check rules` on a
//   rules file holding each query as a recording rule, Grafana's variables
//   replaced by values of their kind);
// - every trailwatch metric the dashboard and the alert rules name is served
//   by a running daemon's /metrics (a daemon with a network output and a bad
//   record, so the spool and decode-error families exist).
// promtool checks of the configuration, rules and rule unit tests are plain
// ctest commands (tests/deploy).
#include <unistd.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

const std::string kDashboard =
    std::string(sourceDir()) + "/deploy/grafana/trailwatch-dashboard.json";
const std::string kAlertRules =
    std::string(sourceDir()) + "/deploy/prometheus/trailwatch.rules.yml";

std::string findPromtool() {
  const std::string configured = TRAILWATCH_PROMTOOL;
  if (!configured.empty() && configured.find("NOTFOUND") == std::string::npos &&
      ::access(configured.c_str(), X_OK) == 0) {
    return configured;
  }
  if (::access("/usr/bin/promtool", X_OK) == 0) return "/usr/bin/promtool";
  return {};
}

struct PanelQuery {
  std::string panel;  // "id <n> <title>"
  std::string expr;
};

// Walks the dashboard's panels (rows' nested panels included), recording
// every problem in `problems` and every query in `queries`.
void walkPanels(simdjson::dom::array panels, std::set<int64_t>& ids,
                std::vector<PanelQuery>& queries, std::vector<std::string>& problems) {
  for (simdjson::dom::element panel : panels) {
    int64_t id = 0;
    std::string_view title, type;
    if (panel["id"].get(id) != simdjson::SUCCESS) {
      problems.push_back("a panel without an integer id");
      continue;
    }
    const std::string name = "panel " + std::to_string(id);
    if (!ids.insert(id).second) problems.push_back(name + ": id used twice");
    if (panel["title"].get(title) != simdjson::SUCCESS || title.empty()) {
      problems.push_back(name + ": no title");
    }
    if (panel["type"].get(type) != simdjson::SUCCESS || type.empty()) {
      problems.push_back(name + ": no type");
    }
    for (const char* field : {"h", "w", "x", "y"}) {
      int64_t v = -1;
      if (panel["gridPos"][field].get(v) != simdjson::SUCCESS || v < 0) {
        problems.push_back(name + ": gridPos." + field + " missing");
      }
    }
    int64_t x = 0, w = 0;
    if (panel["gridPos"]["x"].get(x) == simdjson::SUCCESS &&
        panel["gridPos"]["w"].get(w) == simdjson::SUCCESS && x + w > 24) {
      problems.push_back(name + ": wider than the 24-column grid");
    }
    if (type == "row") {
      simdjson::dom::array nested;
      if (panel["panels"].get(nested) == simdjson::SUCCESS) {
        walkPanels(nested, ids, queries, problems);
      }
      continue;
    }
    std::string_view ds;
    if (panel["datasource"]["uid"].get(ds) != simdjson::SUCCESS || ds != "${datasource}") {
      problems.push_back(name + ": datasource is not the ${datasource} variable");
    }
    simdjson::dom::array targets;
    if (panel["targets"].get(targets) != simdjson::SUCCESS || targets.size() == 0) {
      problems.push_back(name + ": no targets");
      continue;
    }
    std::set<std::string> ref_ids;
    for (simdjson::dom::element target : targets) {
      std::string_view expr, ref;
      if (target["refId"].get(ref) != simdjson::SUCCESS ||
          !ref_ids.insert(std::string(ref)).second) {
        problems.push_back(name + ": a target without a unique refId");
      }
      if (target["expr"].get(expr) != simdjson::SUCCESS || expr.empty()) {
        problems.push_back(name + ": a target without an expr");
        continue;
      }
      queries.push_back({name + " " + std::string(title), std::string(expr)});
    }
  }
}

struct Dashboard {
  std::vector<PanelQuery> queries;
  std::vector<std::string> problems;
};

Dashboard loadDashboard(const std::string& text) {
  Dashboard d;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS) {
    d.problems.push_back("not valid JSON");
    return d;
  }
  std::string_view s;
  for (const char* field : {"title", "uid"}) {
    if (root[field].get(s) != simdjson::SUCCESS || s.empty()) {
      d.problems.push_back(std::string("top level: no ") + field);
    }
  }
  int64_t schema = 0;
  // Grafana 10.0 writes schemaVersion 38, 11.x 39 and later.
  if (root["schemaVersion"].get(schema) != simdjson::SUCCESS || schema < 38) {
    d.problems.push_back("top level: schemaVersion missing or older than Grafana 10 (38)");
  }
  simdjson::dom::array variables;
  bool has_datasource_variable = false;
  if (root["templating"]["list"].get(variables) == simdjson::SUCCESS) {
    for (simdjson::dom::element v : variables) {
      std::string_view name, type;
      if (v["name"].get(name) == simdjson::SUCCESS && v["type"].get(type) == simdjson::SUCCESS &&
          name == "datasource" && type == "datasource") {
        has_datasource_variable = true;
      }
      std::string_view definition;
      if (type == "query" && v["definition"].get(definition) == simdjson::SUCCESS) {
        d.queries.push_back({"variable " + std::string(name), std::string(definition)});
      }
    }
  }
  if (!has_datasource_variable) d.problems.push_back("templating: no `datasource` variable");
  simdjson::dom::array panels;
  if (root["panels"].get(panels) != simdjson::SUCCESS || panels.size() == 0) {
    d.problems.push_back("top level: no panels");
    return d;
  }
  std::set<int64_t> ids;
  walkPanels(panels, ids, d.queries, d.problems);
  return d;
}

// The query with Grafana's variables replaced by values of their kind, so
// that promtool can parse it; `label_values(metric, label)` (a variable's
// query, not PromQL) becomes the metric selector.
std::string asPromql(std::string expr) {
  static const std::regex label_values(R"(^label_values\((.*),\s*[A-Za-z_]+\)$)");
  std::smatch m;
  if (std::regex_match(expr, m, label_values)) expr = m[1];
  expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval|\$__interval)"), "1m");
  expr = std::regex_replace(expr, std::regex(R"(\$__range)"), "6h");
  // Instance and source variables are used in regex matchers (=~"$x").
  return std::regex_replace(expr, std::regex(R"(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)"), ".*");
}

// A YAML double-quoted scalar (JSON string escaping is valid YAML).
std::string yamlQuoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// `promtool check rules` on a rules file holding each query as a recording
// rule: exit 0 when every one parses.
RunResult checkQueries(const std::string& promtool, const TempDir& dir,
                       const std::vector<PanelQuery>& queries) {
  std::string rules = "groups:\n  - name: dashboard\n    rules:\n";
  for (size_t i = 0; i < queries.size(); ++i) {
    rules += "      # " + queries[i].panel + "\n";
    rules += "      - record: dashboard:query_" + std::to_string(i) + "\n";
    rules += "        expr: " + yamlQuoted(asPromql(queries[i].expr)) + "\n";
  }
  const std::string path = dir / "dashboard.rules.yml";
  writeFile(path, rules);
  return runToCompletion({promtool, "check", "rules", path}, dir.path());
}

// Every `trailwatch_*` name in `text`.
std::set<std::string> metricNames(const std::string& text) {
  static const std::regex name(R"(\btrailwatch_[a-z0-9_]+)");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it) {
    out.insert(it->str());
  }
  return out;
}

TEST(MonitoringFiles, DashboardIsWellFormed) {
  const std::string text = readFile(kDashboard);
  ASSERT_FALSE(text.empty()) << kDashboard << " is missing";
  const Dashboard d = loadDashboard(text);
  for (const auto& p : d.problems) ADD_FAILURE() << kDashboard << ": " << p;
  EXPECT_GE(d.queries.size(), 20u) << "the dashboard lost its panels' queries";

  // The checker itself: a broken dashboard is reported.
  EXPECT_FALSE(loadDashboard("{\"title\": \"x\", ").problems.empty());
  const Dashboard dup = loadDashboard(R"({"title": "t", "uid": "u", "schemaVersion": 39,
      "templating": {"list": [{"name": "datasource", "type": "datasource"}]},
      "panels": [{"id": 1, "title": "a", "type": "stat", "gridPos": {"h": 1, "w": 1, "x": 0, "y": 0},
                  "datasource": {"uid": "${datasource}"}, "targets": [{"refId": "A", "expr": "up"}]},
                 {"id": 1, "title": "b", "type": "stat", "gridPos": {"h": 1, "w": 1, "x": 1, "y": 0},
                  "datasource": {"uid": "${datasource}"}, "targets": [{"refId": "A", "expr": "up"}]}]})");
  ASSERT_EQ(dup.problems.size(), 1u);
  EXPECT_EQ(dup.problems[0], "panel 1: id used twice");
}

TEST(MonitoringFiles, DashboardQueriesParse) {
  const std::string promtool = findPromtool();
  if (promtool.empty()) {
    GTEST_SKIP() << "promtool not found (Debian package `prometheus`, deploy/install-deps.sh): "
                    "the dashboard's queries are not parsed";
  }
  const Dashboard d = loadDashboard(readFile(kDashboard));
  ASSERT_FALSE(d.queries.empty());
  TempDir dir;
  const RunResult r = checkQueries(promtool, dir, d.queries);
  EXPECT_EQ(r.exit_code, 0) << "promtool check rules on the dashboard's queries:\n"
                            << r.out << r.err << readFile(dir / "dashboard.rules.yml");

  // The check fails on a query that does not parse.
  TempDir bad_dir;
  const RunResult bad =
      checkQueries(promtool, bad_dir,
                   {{"panel 0 broken", "sum by (source (rate(trailwatch_events_total[1m]))"}});
  EXPECT_NE(bad.exit_code, 0) << bad.out << bad.err;
}

// Families a daemon creates only on the first failure of their kind (a
// checkpoint not saved, an output write failed) or for rules with
// `suppress`: a healthy test daemon does not serve them, so they are
// checked against the daemon's own declaration instead.
const std::set<std::string> kCreatedOnFirstUse = {
    "trailwatch_checkpoint_errors_total",
    "trailwatch_sink_errors_total",
    "trailwatch_alerts_suppressed_total",
};

TEST(MonitoringFiles, EveryMetricUsedIsServedByTheDaemon) {
  TempDir dir;
  Daemon daemon(dir);
  // A webhook output whose receiver is down: its spool families exist.
  daemon.extra_outputs =
      "  - type: webhook\n"
      "    name: hook\n"
      "    url: http://127.0.0.1:" +
      std::to_string(freePort()) +
      "/alerts\n"
      "    timeout: 1s\n"
      "    retry: {initial_delay: 20ms, max_delay: 200ms}\n";
  const std::string log = daemon.logs_dir + "/a.ndjson";
  appendLine(log, ehrEvent(1, EventKind::kBtg));
  appendLine(log, "{\"@timestamp\": \"2026-11-20T00:00:10.500Z\", \"event\": ");
  appendLine(log, ehrEvent(2, EventKind::kBenign));
  std::string why;
  ASSERT_TRUE(daemon.start(why)) << why;

  std::string body;
  const bool ready = waitFor(
      [&] {
        body = daemon.scrape();
        return metricValue(body, "trailwatch_events_total", {{"source", "ehr"}}) == 3.0 &&
               metricValue(body, "trailwatch_decode_errors_total").value_or(0) >= 1 &&
               metricValue(body, "trailwatch_spool_records", {{"sink", "hook"}}).has_value();
      },
      15s);
  ASSERT_TRUE(ready) << body << daemon.logs();

  std::set<std::string> served;
  for (const Sample& s : parsePrometheusText(body)) served.insert(s.name);
  const std::string declared = readFile(std::string(sourceDir()) + "/daemon/metrics/metrics.cc");

  const std::set<std::string> dashboard = metricNames(readFile(kDashboard));
  const std::set<std::string> alert_rules = metricNames(readFile(kAlertRules));
  EXPECT_GE(dashboard.size(), 25u);
  EXPECT_GE(alert_rules.size(), 8u);
  const std::vector<std::pair<std::string, std::set<std::string>>> users = {
      {kDashboard, dashboard}, {kAlertRules, alert_rules}};
  for (const auto& [file, names] : users) {
    for (const std::string& name : names) {
      if (served.count(name)) continue;
      if (kCreatedOnFirstUse.count(name) &&
          declared.find(".Name(\"" + name + "\")") != std::string::npos) {
        continue;
      }
      ADD_FAILURE() << file << " uses " << name << ", which the daemon does not serve";
    }
  }
  // The check can fail: a name the daemon does not have is not served.
  EXPECT_EQ(served.count("trailwatch_event_total"), 0u);
}

}  // namespace
}  // namespace trailwatch::it
