// `trailwatch scan --format F` over the outside samples in ../shared/corpus:
// the real binary reports exactly the events each sample holds, and `auto`
// picks the same format and finds the same. Each sample skips with a
// message when its folder is absent (the corpus is not in the repository).
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

std::string corpus(const std::string& rel) {
  return (std::filesystem::path(sourceDir()) / ".." / "shared" / "corpus" / rel)
      .lexically_normal()
      .string();
}

struct Sample {
  std::string format;
  std::vector<std::string> files;  // relative to the corpus
  double events, decode_errors;
  std::string why;  // what the figures are
};

class FormatsOverCorpus : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "rules");
    // Matches every decoded event, so every event alerts once.
    writeFile(dir_ / "rules/any.yml",
              "title: IT any event\n"
              "id: 2b7d4c1e-0f3a-4e5b-9c6d-7e8f9a0b1c2d\n"
              "logsource: {product: any}\n"
              "detection: {sel: {'it.no.such.field|exists': true}, condition: not sel}\n");
  }

  void check(const Sample& s) {
    std::vector<std::string> inputs;
    for (const auto& f : s.files) {
      const std::string path = corpus(f);
      if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent: " << s.why;
      inputs.push_back(path);
    }
    for (const std::string& format : {s.format, std::string("auto")}) {
      SCOPED_TRACE("--format " + format);
      std::vector<std::string> args = {trailwatchBinary(), "scan",        "--format", format,
                                       "--rules",          dir_ / "rules"};
      args.insert(args.end(), inputs.begin(), inputs.end());
      const RunResult r = runToCompletion(args, dir_.path(), "");
      ASSERT_EQ(r.exit_code, 0) << r.err;
      std::string summary = r.err;
      while (!summary.empty() && summary.back() == '\n') summary.pop_back();
      summary = summary.substr(summary.rfind('\n') + 1);
      const auto numbers = parseJsonNumbers(summary);
      ASSERT_TRUE(numbers) << r.err;
      EXPECT_EQ(numbers->at("events"), s.events) << s.why << "\n" << summary;
      EXPECT_EQ(numbers->at("decode_errors"), s.decode_errors) << s.why << "\n" << summary;
      EXPECT_EQ(numbers->at("alerts"), s.events) << summary;
      EXPECT_NE(summary.find("\"format\":\"" + s.format + "\""), std::string::npos) << summary;
    }
  }

  TempDir dir_;
};

TEST_F(FormatsOverCorpus, ApacheAccessLog) {
  check({"access-log", {"elastic-apache-access/apache_logs"}, 10000, 0, "10,000 combined lines"});
}

TEST_F(FormatsOverCorpus, PgauditRegressionOutput) {
  check({"pgaudit",
         {"pgaudit-regression/pgaudit.out"},
         415,
         1747,
         "386 NOTICE and 29 WARNING AUDIT records (179 over several lines); 70 empty and 1677 "
         "other lines (psql echo, results, errors) are not audit records"});
}

TEST_F(FormatsOverCorpus, AuparseTestLogs) {
  // As auparse groups them (auparse_test.ref): 7, 7, 8 (two serials
  // interleaved) and 2 events.
  check({"auditd", {"linux-audit-auparse/test.log"}, 7, 0, "12 records, 7 events"});
  check({"auditd", {"linux-audit-auparse/test3.log"}, 8, 0, "15 records, 8 events"});
  check({"auditd", {"linux-audit-auparse/test4.log"}, 2, 0, "13 records, 2 events"});
}

TEST_F(FormatsOverCorpus, FalcoKubernetesAuditTraces) {
  std::vector<std::string> files;
  const std::string folder = corpus("falco-k8s-audit/trace_files/k8s_audit");
  if (!std::filesystem::exists(folder)) GTEST_SKIP() << folder << " is absent";
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    files.push_back("falco-k8s-audit/trace_files/k8s_audit/" + e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  check({"k8s-audit", files, 51, 4,
         "47 trace files: 51 audit events; 3 empty lines and one `{\"kind\": 0}` rejected"});
}

}  // namespace
}  // namespace trailwatch::it
