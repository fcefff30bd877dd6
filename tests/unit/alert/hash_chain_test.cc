#include "daemon/alert/hash_chain.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace trailwatch::alert {
namespace {

class HashChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/trailwatch-chain-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/alerts.jsonl";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Seals `n` alerts with `key` and returns the lines.
  static std::vector<std::string> sealed(int n, const std::string& key = "") {
    HashChain chain(key);
    std::vector<std::string> lines;
    std::string line;
    for (int i = 1; i <= n; ++i) {
      chain.seal(R"({"rule":{"id":"r"},"n":)" + std::to_string(i) + "}", line);
      lines.push_back(line);
    }
    return lines;
  }
  void write(const std::vector<std::string>& lines) {
    std::ofstream out(path_, std::ios::trunc);
    for (const auto& l : lines) out << l << '\n';
  }
  std::string problem(const std::string& key = "") {
    auto r = verifyChain(path_, key);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() && r->problem ? *r->problem : "";
  }

  std::string dir_, path_;
};

TEST(ChainDigest, IsSha256OrHmacSha256) {
  // FIPS 180-2 test vector; RFC 4231 test case 2.
  EXPECT_EQ(chainDigest("abc", ""),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(chainDigest("what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_F(HashChainTest, AWholeChainVerifies) {
  const auto lines = sealed(5);
  EXPECT_EQ(lines[0], R"({"rule":{"id":"r"},"n":1,"chain":{"seq":1,"prev":")" +
                          std::string(64, '0') + R"("}})");
  write(lines);
  auto r = verifyChain(path_, "");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->problem) << *r->problem;
  EXPECT_EQ(r->chained, 5u);
  EXPECT_EQ(r->first_seq, 1u);
  EXPECT_FALSE(r->continues);
  EXPECT_FALSE(r->head_checked);
}

TEST_F(HashChainTest, NamesTheFirstEditedDeletedOrInsertedRecord) {
  auto lines = sealed(6);
  auto edited = lines;
  edited[2].replace(edited[2].find("\"n\":3"), 5, "\"n\":9");
  write(edited);
  EXPECT_NE(problem().find("line 4: its link does not match line 3"), std::string::npos)
      << problem();

  auto deleted = lines;
  deleted.erase(deleted.begin() + 3);
  write(deleted);
  EXPECT_NE(problem().find("line 4: seq jumps from 3 to 5: 1 record(s) deleted"), std::string::npos)
      << problem();

  auto inserted = lines;
  inserted.insert(inserted.begin() + 2, lines[1]);  // a replayed record
  write(inserted);
  EXPECT_NE(problem().find("line 3: seq 2 does not follow 2"), std::string::npos) << problem();

  auto foreign = lines;
  foreign.insert(foreign.begin() + 4, R"({"rule":{"id":"forged"}})");
  write(foreign);
  EXPECT_NE(problem().find("line 5: a record without a chain link"), std::string::npos)
      << problem();

  auto headless = lines;
  headless.erase(headless.begin());
  write(headless);
  EXPECT_EQ(problem(), "") << "a log whose first record points elsewhere continues a rotated one";
  auto r = verifyChain(path_, "");
  EXPECT_TRUE(r->continues);

  auto other = sealed(3, "another log");  // a record of another log, seq fitting
  write({lines[0], lines[1], other[2]});
  EXPECT_NE(problem().find("line 3: its link does not match line 2"), std::string::npos)
      << problem();
}

TEST_F(HashChainTest, TheHeadSeesRecordsCutOffTheEnd) {
  HashChain chain;
  std::vector<std::string> lines;
  std::string line;
  for (int i = 0; i < 4; ++i) {
    chain.seal(R"({"n":)" + std::to_string(i) + "}", line);
    lines.push_back(line);
  }
  std::ofstream(path_ + ".chain") << chainHead(chain);
  write(lines);
  auto r = verifyChain(path_, "");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->problem) << *r->problem;
  EXPECT_TRUE(r->head_checked);

  lines.pop_back();
  write(lines);
  EXPECT_NE(problem().find("ends at seq 3 but"), std::string::npos) << problem();
  EXPECT_NE(problem().find("1 record(s) cut off the end"), std::string::npos) << problem();

  // An empty log is what rotation leaves until the next alert: not a broken
  // chain, but the head's seq is reported so the rotated file can be checked.
  write({});
  auto empty = verifyChain(path_, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->problem) << *empty->problem;
  EXPECT_EQ(empty->rotated_head_seq, 4u);

  write({"not an alert"});
  EXPECT_NE(problem().find("no chained record"), std::string::npos) << problem();

  lines = {};
  HashChain again;
  for (int i = 0; i < 4; ++i) {
    again.seal(R"({"n":)" + std::to_string(i) + "}", line);
    lines.push_back(line);
  }
  lines.back().replace(lines.back().find("\"n\":3"), 5, "\"n\":7");
  write(lines);
  EXPECT_NE(problem().find("the last record does not match"), std::string::npos) << problem();
}

TEST_F(HashChainTest, AKeyedChainNeedsTheKey) {
  write(sealed(3, "s3cret"));
  EXPECT_EQ(problem("s3cret"), "");
  EXPECT_NE(problem("wrong").find("(or the key is not the log's)"), std::string::npos);
  EXPECT_NE(problem("").find("line 2"), std::string::npos) << "a keyed log is not plain SHA-256";
}

TEST_F(HashChainTest, ResumeContinuesAChainOrStartsOneAfterOlderLines) {
  const auto lines = sealed(2);
  HashChain chain;
  chain.resume(lines[1]);
  EXPECT_EQ(chain.seq(), 2u);
  std::string line;
  chain.seal(R"({"n":3})", line);
  write({lines[0], lines[1], line});
  EXPECT_EQ(problem(), "");

  HashChain fresh;
  fresh.resume("an old unchained alert line");
  fresh.seal("{}", line);
  EXPECT_EQ(line, R"({"chain":{"seq":1,"prev":")" + chainDigest("an old unchained alert line", "") +
                      R"("}})");
  write({"older line", "an old unchained alert line", line});
  auto r = verifyChain(path_, "");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->problem) << *r->problem;
  EXPECT_EQ(r->records, 3u);
  EXPECT_EQ(r->chained, 1u);
}

TEST_F(HashChainTest, KeyFilesAndMissingFiles) {
  std::ofstream(dir_ + "/key") << "k3y\n";
  auto key = readChainKey(dir_ + "/key");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, "k3y");
  std::ofstream(dir_ + "/empty") << "";
  EXPECT_FALSE(readChainKey(dir_ + "/empty").ok());
  EXPECT_FALSE(readChainKey(dir_ + "/none").ok());
  EXPECT_FALSE(verifyChain(dir_ + "/none.jsonl", "").ok());
}

}  // namespace
}  // namespace trailwatch::alert
