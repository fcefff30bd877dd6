// Rules in the shape of public Sigma rules (tests/data/sigma-public-style):
// they load unchanged where trailwatch can use them, and with
// --skip-unusable / `unusable_rules: skip` the rest are left out, each with
// its reason, instead of failing the whole set.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

std::string folder() { return std::string(sourceDir()) + "/tests/data/sigma-public-style"; }

TEST(PublicSigmaRules, CheckLeavesOutWhatItCannotUseAndSaysWhyPerRule) {
  TempDir dir;
  const RunResult strict =
      runToCompletion({trailwatchBinary(), "check", "--rules", folder()}, dir.path());
  EXPECT_EQ(strict.exit_code, 2) << strict.out << strict.err;

  const RunResult r = runToCompletion(
      {trailwatchBinary(), "check", "--skip-unusable", "--rules", folder()}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("rules: 4 loaded from 4 file(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("skipped as unusable: 4 rule(s) or file(s)"), std::string::npos) << r.out;
  const std::string f = folder() + "/";
  for (const std::string& expected : std::vector<std::string>{
           f + "broken_yaml.yml:3:10: YAML syntax error",
           f + "proc_lookbehind_regex.yml:12:23: invalid regular expression",
           f + "win_encoded_powershell.yml:18:9: modifier 'windash'",
           f + "win_encoded_powershell.yml:20:9: modifier 'base64offset'",
           "[rule 'Encoded PowerShell Command Line' skipped]",
           // Skipping the PowerShell rule leaves its correlation without input.
           f + "proc_encoded_powershell_burst.yml:10:11: correlation refers to rule "
               "'win_encoded_powershell'",
           "[rule 'Encoded PowerShell Burst On One Host' skipped]",
           "[file skipped]",
       }) {
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
  }
}

// The rules that load detect on the records of their formats, by the
// formats' own field names.
TEST(PublicSigmaRules, TheUsableOnesAlertOnTheirFormats) {
  TempDir dir;
  const std::string trail = dir / "trail.json";
  writeFile(
      trail,
      R"({"Records":[)"
      R"({"eventVersion":"1.08","eventTime":"2026-11-20T09:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","userName":"mallory","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333"},"requestParameters":{"userName":"alice"},"eventID":"e1"},)"
      R"({"eventVersion":"1.08","eventTime":"2026-11-20T09:01:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","userName":"bob","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","invokedBy":"signin.amazonaws.com"},"requestParameters":{"userName":"carol"},"eventID":"e2"},)"
      R"({"eventVersion":"1.08","eventTime":"2026-11-20T09:02:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","userName":"mallory","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333"},"eventID":"e3"})"
      "]}\n");
  RunResult r = runToCompletion({trailwatchBinary(), "scan", "--skip-unusable", "--rules", folder(),
                                 "--format", "cloudtrail", trail},
                                dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto alerts = parseAlerts(r.out);
  ASSERT_EQ(alerts.size(), 1u) << r.out;
  EXPECT_EQ(alerts[0].rule_id, "0f3c7a52-6d0e-4f8b-9c61-2b7e4d1a9f30");

  const std::string k8s = dir / "k8s.jsonl";
  writeFile(
      k8s,
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/pods/web-0/exec?command=sh","verb":"create","user":{"username":"alice@example.com"},"sourceIPs":["10.0.0.5"],"objectRef":{"resource":"pods","namespace":"prod","name":"web-0","subresource":"exec","apiVersion":"v1"},"responseStatus":{"code":101},"requestReceivedTimestamp":"2026-11-20T09:00:00.000000Z","stageTimestamp":"2026-11-20T09:00:01.000000Z"})"
      "\n"
      R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"a2","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/pods/web-0/log","verb":"get","user":{"username":"alice@example.com"},"sourceIPs":["10.0.0.5"],"objectRef":{"resource":"pods","namespace":"prod","name":"web-0","subresource":"log","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-20T09:00:02.000000Z","stageTimestamp":"2026-11-20T09:00:02.000000Z"})"
      "\n");
  r = runToCompletion({trailwatchBinary(), "scan", "--skip-unusable", "--rules", folder(),
                       "--format", "k8s-audit", k8s},
                      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  alerts = parseAlerts(r.out);
  ASSERT_EQ(alerts.size(), 1u) << r.out;
  EXPECT_EQ(alerts[0].rule_id, "9a0b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d");
}

// The configuration's `unusable_rules: skip` does for `run` (and check)
// what --skip-unusable does for scan.
TEST(PublicSigmaRules, TheConfigurationCanAskForSkipping) {
  TempDir dir;
  writeFile(dir / "trailwatch.yaml",
            "state_dir: state\n"
            "rules: [\"" +
                folder() +
                "\"]\n"
                "unusable_rules: skip\n"
                "sources:\n"
                "  - name: trail\n"
                "    type: file\n"
                "    paths: [\"logs/*.json\"]\n"
                "    format: cloudtrail\n"
                "    logsource: {product: aws, service: cloudtrail}\n");
  const RunResult r =
      runToCompletion({trailwatchBinary(), "check", "-c", dir / "trailwatch.yaml"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("skipped as unusable: 4 rule(s) or file(s)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace trailwatch::it
