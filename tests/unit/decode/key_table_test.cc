#include "daemon/decode/key_table.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace trailwatch::decode {
namespace {

// Keys of every length up to 20 that differ only in their last byte, in
// their middle byte, or by a prefix of each other: the word a key is
// hashed and compared by (its first eight bytes) must hold exactly its own
// bytes at every length.
std::vector<std::string> trickyKeys() {
  std::vector<std::string> keys{""};
  for (size_t n = 1; n <= 20; ++n) {
    std::string base(n, 'a');
    keys.push_back(base);
    std::string last = base;
    last.back() = 'b';
    keys.push_back(last);
    if (n >= 3) {
      std::string middle = base;
      middle[n / 2] = 'c';
      keys.push_back(middle);
    }
  }
  return keys;
}

TEST(KeyTable, FindsEveryKeyAndNothingElse) {
  const auto keys = trickyKeys();
  KeyTable table;
  for (size_t i = 0; i < keys.size(); i += 2) table.insert(keys[i], static_cast<uint32_t>(i + 1));
  for (size_t i = 0; i < keys.size(); ++i) {
    // Looked up from a copy inside a longer buffer, as keys inside a record are.
    const std::string record = "\"" + keys[i] + "\":1,\"zzzzzzzz\"";
    const std::string_view key(record.data() + 1, keys[i].size());
    EXPECT_EQ(table.find(key), i % 2 == 0 ? i + 1 : 0u) << "key of " << keys[i].size() << " bytes";
  }
}

TEST(KeyTable, EmptyTableFindsNothing) {
  KeyTable table;
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.find("user"), 0u);
  EXPECT_EQ(table.find(""), 0u);
}

}  // namespace
}  // namespace trailwatch::decode
