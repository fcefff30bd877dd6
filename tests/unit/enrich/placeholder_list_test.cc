#include "daemon/enrich/placeholder_list.h"

#include <gtest/gtest.h>

namespace trailwatch::enrich {
namespace {

TEST(PlaceholderList, OneValuePerLineSkippingBlanksAndComments) {
  EXPECT_EQ(parsePlaceholderList("# terminated staff\nu7\r\n\n  u9 \n#u10\nu 11"),
            (std::vector<std::string>{"u7", "u9", "u 11"}));
  EXPECT_TRUE(parsePlaceholderList("").empty());
  EXPECT_TRUE(parsePlaceholderList("# nobody yet\n\n").empty());
}

TEST(PlaceholderList, LoadReportsAnUnreadableFile) {
  auto list = loadPlaceholderList("/nonexistent/trailwatch/list.txt");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().rfind("/nonexistent/trailwatch/list.txt: cannot read: ", 0), 0u);
}

}  // namespace
}  // namespace trailwatch::enrich
