#include "daemon/common/short_copy.h"

#include <gtest/gtest.h>

#include <string>

namespace trailwatch {
namespace {

// Every length across each size class's edges: the bytes copied are the
// source's, and not one byte outside [0, n) of the destination is touched.
TEST(CopyShort, CopiesExactlyNBytesOfEveryLength) {
  std::string src(80, '\0');
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<char>('A' + i % 50);
  for (size_t n = 0; n <= 70; ++n) {
    for (size_t offset : {0, 1, 7}) {
      std::string dst(100, '.');
      copyShort(dst.data() + 8, src.data() + offset, n);
      const std::string want =
          std::string(8, '.') + src.substr(offset, n) + std::string(100 - 8 - n, '.');
      ASSERT_EQ(dst, want) << "n " << n << " offset " << offset;
    }
  }
}

}  // namespace
}  // namespace trailwatch
