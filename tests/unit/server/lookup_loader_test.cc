#include "daemon/server/lookup_loader.h"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace trailwatch::server {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test; files are replaced by rename, as an operator's
// tooling would, so every change is a new inode (no timestamp races).
class LookupLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trailwatch-lookup-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    config_.lookups.push_back(config::LookupConfig{.name = "staff",
                                                   .path = (dir_ / "staff.csv").string(),
                                                   .key = "user_id",
                                                   .match = "user.id",
                                                   .prefix = "user.",
                                                   .case_insensitive = false});
    config_.placeholders["terminated"] = (dir_ / "terminated.txt").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void replace(const std::string& name, const std::string& text) {
    const fs::path tmp = dir_ / (name + ".tmp");
    std::ofstream(tmp, std::ios::binary) << text;
    fs::rename(tmp, dir_ / name);
  }

  fs::path dir_;
  config::Config config_;
  metrics::Metrics metrics_;
};

TEST_F(LookupLoaderTest, LoadsEverythingOrNamesEachBrokenFile) {
  replace("staff.csv", "user_id,status\nu7,terminated\nu8\n");
  LookupLoader loader(config_, &metrics_);
  std::vector<std::string> errors;
  EXPECT_FALSE(loader.loadAll(errors));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0],
            (dir_ / "staff.csv").string() + ":3: 1 field(s), expected 2 as in the header");
  EXPECT_EQ(errors[1].rfind((dir_ / "terminated.txt").string() + ": cannot read: ", 0), 0u);
  EXPECT_EQ(metrics_.lookup("staff").last_reload_success.Value(), 0.0);
}

TEST_F(LookupLoaderTest, PollReloadsChangedFilesAndKeepsTheOldTableOnError) {
  replace("staff.csv", "user_id,status\nu7,terminated\n");
  replace("terminated.txt", "u7\n");
  LookupLoader loader(config_, &metrics_);
  std::vector<std::string> errors;
  ASSERT_TRUE(loader.loadAll(errors)) << errors.front();
  const auto first = loader.lookupSet();
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->table(0).rows(), 1u);
  EXPECT_EQ(loader.placeholders().at("terminated"), std::vector<std::string>{"u7"});
  EXPECT_EQ(metrics_.lookup("staff").rows.Value(), 1.0);

  auto unchanged = loader.poll();
  EXPECT_FALSE(unchanged.lookups);
  EXPECT_FALSE(unchanged.placeholders);
  EXPECT_EQ(loader.lookupSet(), first);

  replace("staff.csv", "user_id,status\nu7,terminated\nu8,terminated\n");
  replace("terminated.txt", "u7\nu8\n");
  auto changed = loader.poll();
  EXPECT_TRUE(changed.lookups);
  EXPECT_TRUE(changed.placeholders);
  EXPECT_EQ(loader.lookupSet()->table(0).rows(), 2u);
  EXPECT_EQ(first->table(0).rows(), 1u) << "a snapshot already handed out is immutable";
  EXPECT_EQ(loader.placeholders().at("terminated"), (std::vector<std::string>{"u7", "u8"}));
  EXPECT_EQ(metrics_.lookup("staff").rows.Value(), 2.0);

  replace("staff.csv", "user_id,status\nu9\n");
  auto broken = loader.poll();
  EXPECT_FALSE(broken.lookups);
  EXPECT_EQ(loader.lookupSet()->table(0).rows(), 2u) << "the previous table stays in use";
  EXPECT_EQ(metrics_.lookup("staff").last_reload_success.Value(), 0.0);
  EXPECT_FALSE(loader.poll().lookups) << "a broken file is read once per change, not every poll";

  replace("staff.csv", "user_id,status\nu9,terminated\n");
  EXPECT_TRUE(loader.poll().lookups);
  EXPECT_EQ(metrics_.lookup("staff").last_reload_success.Value(), 1.0);
  EXPECT_NE(loader.lookupSet()->table(0).find("u9"), nullptr);
}

TEST_F(LookupLoaderTest, RewritingAPlaceholderListWithTheSameValuesNeedsNoRecompile) {
  replace("staff.csv", "user_id,status\n");
  replace("terminated.txt", "u7\n");
  LookupLoader loader(config_, nullptr);
  std::vector<std::string> errors;
  ASSERT_TRUE(loader.loadAll(errors));
  replace("terminated.txt", "# same person\nu7\n");
  EXPECT_FALSE(loader.poll().placeholders);
}

}  // namespace
}  // namespace trailwatch::server
