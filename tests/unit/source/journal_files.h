// Real journal files for the journald source tests, written by
// systemd-journal-remote from the journal export format
// (https://systemd.io/JOURNAL_EXPORT_FORMATS/), so the source reads what
// sd_journal reads in production. Tests skip when the program is missing
// (Debian package systemd-journal-remote, deploy/install-deps.sh).
#pragma once

#include <gtest/gtest.h>
#include <stdio.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace trailwatch::source::testing {

inline constexpr const char* kJournalRemote = "/lib/systemd/systemd-journal-remote";

inline bool journalRemoteAvailable() { return ::access(kJournalRemote, X_OK) == 0; }

struct ExportEntry {
  uint64_t realtime_usec = 0;
  std::vector<std::pair<std::string, std::string>> fields;
};

// One entry in export format; a value holding a newline or a byte outside
// printable ASCII/UTF-8 text is written in the binary form (name, newline,
// little-endian 64-bit length, data).
inline std::string exportEntry(const ExportEntry& e) {
  std::string out;
  out += "__REALTIME_TIMESTAMP=" + std::to_string(e.realtime_usec) + "\n";
  // Monotonic time follows realtime so entries of one boot keep their order.
  out += "__MONOTONIC_TIMESTAMP=" + std::to_string(e.realtime_usec % 1'000'000'000'000) + "\n";
  out += "_BOOT_ID=0123456789abcdef0123456789abcdef\n";
  for (const auto& [name, value] : e.fields) {
    bool binary = false;
    for (unsigned char c : value) binary |= c == '\n' || c < 0x20;
    if (!binary) {
      out += name + "=" + value + "\n";
      continue;
    }
    out += name + "\n";
    uint64_t n = value.size();
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    out += value + "\n";
  }
  out += "\n";
  return out;
}

// Appends `entries` to the journal file `path` (created when missing).
inline void writeJournal(const std::string& path, const std::vector<ExportEntry>& entries) {
  std::string text;
  for (const auto& e : entries) text += exportEntry(e);
  const std::string cmd = std::string(kJournalRemote) + " -o '" + path + "' - 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "w");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(::fwrite(text.data(), 1, text.size(), p), text.size());
  ASSERT_EQ(::pclose(p), 0) << cmd;
}

// An entry logged by `unit` / `identifier` with `message`, at base + n µs.
inline ExportEntry entry(uint64_t n, const std::string& message,
                         const std::string& unit = "sshd.service",
                         const std::string& identifier = "sshd") {
  ExportEntry e;
  e.realtime_usec = 1'790'000'000'000'000 + n;
  e.fields = {{"MESSAGE", message}, {"_SYSTEMD_UNIT", unit}, {"SYSLOG_IDENTIFIER", identifier}};
  return e;
}

}  // namespace trailwatch::source::testing
