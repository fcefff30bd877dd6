// Per-output redaction: the real daemon writes one alert log as is and
// others with the patient identifier dropped or pseudonymized; `check`
// reports redaction per output and refuses a missing key file; `pseudonym`
// computes what a redacting output writes.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/fixtures.h"
#include "tests/integration/harness.h"

namespace trailwatch::it {
namespace {

const std::string kKey = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

// The pseudonym the README documents, computed here independently of the
// daemon: "pseud:" + the first 16 hex digits of HMAC-SHA256(key, value).
std::string expectedPseudonym(const std::string& value) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), kKey.data(), static_cast<int>(kKey.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), mac, &size);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "pseud:";
  for (unsigned int i = 0; i < 8; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xF]);
  }
  return out;
}

// An EHR record of `kind` about `patient` (the fixture's records name
// patient p-<sequence>).
std::string recordAbout(int64_t sequence, EventKind kind, const std::string& patient) {
  std::string line = ehrEvent(sequence, kind);
  const std::string own = "\"p-" + std::to_string(sequence) + "\"";
  line.replace(line.find(own), own.size(), "\"" + patient + "\"");
  return line;
}

void writeKey(const std::string& path) {
  writeFile(path, kKey + "\n");
  ::chmod(path.c_str(), 0600);
}

class RedactionTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) std::fprintf(stderr, "%s\n", daemon_->logs().c_str());
  }
  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(RedactionTest, ChatChannelNeverSeesThePatientTheAlertLogKeeps) {
  writeKey(dir_ / "redact.key");
  daemon_ = std::make_unique<Daemon>(dir_);
  daemon_->extra_outputs =
      "  - type: file\n"
      "    path: ./chat.jsonl\n"
      "    redact:\n"
      "      pseudonymize: [patient.id]\n"
      "      key_file: ./redact.key\n"
      "  - type: stdout\n"
      "    redact:\n"
      "      drop: ['patient.*']\n";
  std::string why;
  ASSERT_TRUE(daemon_->start(why)) << why;

  // Two break-the-glass reads of one patient, one of another, and a denied
  // access (a rule without `fields`: the whole record) to the first.
  const std::string log = daemon_->logs_dir + "/ehr.ndjson";
  appendLine(log, recordAbout(1, EventKind::kBtg, "PAT-90210"));
  appendLine(log, recordAbout(2, EventKind::kBtg, "PAT-90210"));
  appendLine(log, recordAbout(3, EventKind::kBtg, "PAT-31337"));
  appendLine(log, recordAbout(4, EventKind::kDenied, "PAT-90210"));

  const std::string chat = dir_ / "chat.jsonl";
  const std::string out = dir_ / "daemon1.out";
  ASSERT_TRUE(waitFor(
      [&] {
        return daemon_->alerts().size() >= 4 && parseAlertsFile(chat).size() >= 4 &&
               parseAlerts(readFile(out)).size() >= 4;
      },
      15s))
      << "alerts.jsonl:\n"
      << readFile(daemon_->alerts_path) << "chat.jsonl:\n"
      << readFile(chat) << "stdout:\n"
      << readFile(out);

  // The alert log keeps the identifier.
  const auto plain = daemon_->alerts();
  ASSERT_EQ(plain.size(), 4u);
  EXPECT_EQ(plain[0].field("patient.id"), "PAT-90210");
  EXPECT_EQ(plain[2].field("patient.id"), "PAT-31337");
  EXPECT_EQ(plain[3].field("patient.id"), "PAT-90210");  // the whole record

  // The pseudonymized channel: no byte of either identifier, the documented
  // pseudonym, one pseudonym per patient.
  const std::string chat_bytes = readFile(chat);
  EXPECT_EQ(chat_bytes.find("90210"), std::string::npos) << chat_bytes;
  EXPECT_EQ(chat_bytes.find("31337"), std::string::npos) << chat_bytes;
  const auto redacted = parseAlertsFile(chat);
  ASSERT_EQ(redacted.size(), 4u);
  for (const auto& a : redacted) EXPECT_TRUE(a.valid) << a.error << "\n" << a.line;
  EXPECT_EQ(redacted[0].field("patient.id"), expectedPseudonym("PAT-90210"));
  EXPECT_EQ(redacted[1].field("patient.id"), redacted[0].field("patient.id"));
  EXPECT_EQ(redacted[2].field("patient.id"), expectedPseudonym("PAT-31337"));
  EXPECT_EQ(redacted[0].field("user.id"), plain[0].field("user.id"));
  EXPECT_EQ(redacted[0].sequence(), 1);
  EXPECT_EQ(redacted[3].rule_id, kDeniedRuleId);
  EXPECT_EQ(redacted[3].event_json, "{}");  // whole records are dropped by default
  // Still a verifiable hash-chained log, chained over what it holds.
  EXPECT_NE(redacted[0].line.find("\"chain\":{\"seq\":1,"), std::string::npos);
  const RunResult verify = runToCompletion({trailwatchBinary(), "verify", chat}, dir_.path());
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // stdout drops the field.
  const std::string out_bytes = readFile(out);
  EXPECT_EQ(out_bytes.find("PAT-"), std::string::npos) << out_bytes;
  const auto dropped = parseAlerts(out_bytes);
  ASSERT_EQ(dropped.size(), 4u);
  EXPECT_EQ(dropped[0].field("patient.id"), std::nullopt);
  EXPECT_EQ(dropped[0].field("user.id"), plain[0].field("user.id"));

  EXPECT_EQ(daemon_->metric("trailwatch_redaction_failures_total", {{"sink", "file:" + chat}}),
            0.0);
  EXPECT_EQ(daemon_->metric("trailwatch_sink_alerts_total", {{"sink", "file:" + chat}}), 4.0);
}

class RedactionCheck : public ::testing::Test {
 protected:
  void SetUp() override { writeTestRules(dir_ / "rules/itpack"); }

  std::string writeConfig(const std::string& key_file) {
    const std::string path = dir_ / "trailwatch.yaml";
    writeFile(path,
              "state_dir: ./state\n"                // 1
              "rules: [./rules]\n"                  // 2
              "sources:\n"                          // 3
              "  - name: ehr\n"                     // 4
              "    paths: [\"./logs/*.ndjson\"]\n"  // 5
              "outputs:\n"                          // 6
              "  - type: file\n"                    // 7
              "    path: ./chat.jsonl\n"            // 8
              "    redact:\n"                       // 9
              "      drop: [user.name]\n"           // 10
              "      pseudonymize: [patient.id]\n"  // 11
              "      key_file: " +                  // 12, value at column 17
                  key_file +
                  "\n");
    return path;
  }
  TempDir dir_;
};

TEST_F(RedactionCheck, ReportsRedactionPerOutput) {
  writeKey(dir_ / "redact.key");
  const RunResult r =
      runToCompletion({trailwatchBinary(), "check", "-c", writeConfig("redact.key")}, dir_.path());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("output file " + (dir_ / "chat.jsonl") +
                       ": redact: drop user.name; pseudonymize patient.id (key " +
                       (dir_ / "redact.key") + "); whole records dropped"),
            std::string::npos)
      << r.out;
}

TEST_F(RedactionCheck, FailsOnAMissingKeyFile) {
  const std::string config = writeConfig("nowhere.key");
  const RunResult r = runToCompletion({trailwatchBinary(), "check", "-c", config}, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(config + ":12:17: key file " + (dir_ / "nowhere.key") + " does not exist"),
            std::string::npos)
      << r.err;
  // `run` refuses it the same way, before it starts anything.
  const RunResult run = runToCompletion({trailwatchBinary(), "run", "-c", config}, dir_.path());
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("does not exist"), std::string::npos) << run.err;
}

TEST_F(RedactionCheck, PseudonymCommandGivesWhatTheOutputWrites) {
  writeKey(dir_ / "redact.key");
  writeFile(dir_ / "candidates.txt", "PAT-90210\nPAT-31337\n");
  const RunResult r = runToCompletion(
      {trailwatchBinary(), "pseudonym", "--key-file", dir_ / "redact.key", "PAT-90210", "-"},
      dir_.path(), dir_ / "candidates.txt");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expectedPseudonym("PAT-90210") + "\n" + expectedPseudonym("PAT-90210") + "\n" +
                       expectedPseudonym("PAT-31337") + "\n");

  const RunResult missing = runToCompletion(
      {trailwatchBinary(), "pseudonym", "--key-file", dir_ / "nowhere.key", "x"}, dir_.path());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nowhere.key"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace trailwatch::it
