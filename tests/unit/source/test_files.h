// Helpers for the source tests: a fresh temporary directory per test and
// small file-writing utilities. Nothing here sleeps or reads the clock.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "trailwatch/source.h"

namespace trailwatch::source::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tw-source-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

inline void appendFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << data;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline struct stat statOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st;
}

struct Collected {
  std::vector<std::string> lines;
  std::vector<std::string> origins;
  std::vector<uint64_t> offsets;
  bool ended = false;
};

// Calls next() until it returns an empty batch (follow) or false (scan),
// copying what each batch held. Checks the padding promise on the way: the
// kRecordPadding bytes after every record are read (ASan catches overreads).
inline Collected collect(Source& source,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(200),
                         std::size_t max_batches = 100000) {
  Collected out;
  RecordBatch batch;
  for (std::size_t i = 0; i < max_batches; ++i) {
    if (!source.next(batch, timeout)) {
      out.ended = true;
      EXPECT_TRUE(batch.records.empty());
      break;
    }
    if (batch.records.empty()) break;
    for (const auto& r : batch.records) {
      volatile char sink = 0;
      const char* end = r.text.data() + r.text.size();
      for (std::size_t k = 0; k < kRecordPadding; ++k) sink = sink ^ end[k];
      (void)sink;
      out.lines.emplace_back(r.text);
      out.origins.emplace_back(r.origin);
      out.offsets.push_back(r.offset);
    }
  }
  return out;
}

inline std::vector<std::string> numbered(const std::string& prefix, int from, int to) {
  std::vector<std::string> v;
  for (int i = from; i < to; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

inline std::string joinLines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

}  // namespace trailwatch::source::testing
