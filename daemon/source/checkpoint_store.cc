#include "daemon/source/checkpoint_store.h"

#include "daemon/common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace trailwatch::source {
namespace {

constexpr std::string_view kHeader = "trailwatch-checkpoints 1";
constexpr std::string_view kTrailer = "end ";

std::string errnoText(int err) { return std::strerror(err); }

// Paths may hold any byte but '\0'; newlines and backslashes are escaped so
// one checkpoint is always one line.
std::string escapePath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool unescapePath(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\') {
      out.push_back(in[i]);
      continue;
    }
    if (++i == in.size()) return false;
    switch (in[i]) {
      case '\\':
        out.push_back('\\');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      default:
        return false;
    }
  }
  return true;
}

// Reads one space-terminated unsigned number in `base` from the front of `rest`.
bool takeNumber(std::string_view& rest, uint64_t& value, int base) {
  auto space = rest.find(' ');
  if (space == std::string_view::npos || space == 0) return false;
  auto field = rest.substr(0, space);
  auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value, base);
  if (ec != std::errc() || ptr != field.data() + field.size()) return false;
  rest.remove_prefix(space + 1);
  return true;
}

}  // namespace

uint64_t fingerprintOf(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

CheckpointStore::CheckpointStore(std::string path) : path_(std::move(path)) {}

Result<std::vector<FileCheckpoint>> CheckpointStore::load() const {
  std::vector<FileCheckpoint> out;
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return out;
    return Error{path_ + ": cannot open checkpoint file: " + errnoText(errno)};
  }
  auto fail = [&](std::size_t line, const std::string& what) {
    return Error{path_ + ":" + std::to_string(line) + ": " + what};
  };
  std::string line;
  std::size_t line_no = 0;
  bool ended = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (line_no == 1) {
      if (line != kHeader) return fail(line_no, "not a trailwatch checkpoint file (bad header)");
      continue;
    }
    if (ended) return fail(line_no, "data after the end marker");
    std::string_view rest = line;
    if (rest.starts_with(kTrailer)) {
      rest.remove_prefix(kTrailer.size());
      uint64_t count = 0;
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), count);
      if (ec != std::errc() || ptr != rest.data() + rest.size()) {
        return fail(line_no, "malformed end marker");
      }
      if (count != out.size()) {
        return fail(line_no, "end marker counts " + std::to_string(count) + " checkpoints, found " +
                                 std::to_string(out.size()));
      }
      ended = true;
      continue;
    }
    FileCheckpoint cp;
    if (!takeNumber(rest, cp.dev, 10) || !takeNumber(rest, cp.ino, 10) ||
        !takeNumber(rest, cp.fingerprint_len, 10) || !takeNumber(rest, cp.fingerprint, 16) ||
        !takeNumber(rest, cp.offset, 10)) {
      return fail(line_no, "malformed checkpoint (want: dev ino fplen fingerprint offset path)");
    }
    if (cp.fingerprint_len > kFingerprintBytes) {
      return fail(line_no, "fingerprint length " + std::to_string(cp.fingerprint_len) +
                               " exceeds " + std::to_string(kFingerprintBytes));
    }
    if (rest.empty() || !unescapePath(rest, cp.path)) {
      return fail(line_no, "malformed path");
    }
    out.push_back(std::move(cp));
  }
  if (in.bad()) return Error{path_ + ": read error: " + errnoText(errno)};
  if (line_no == 0) return fail(1, "empty checkpoint file");
  if (!ended) return fail(line_no, "truncated checkpoint file (no end marker)");
  return out;
}

Status CheckpointStore::save(const std::vector<FileCheckpoint>& checkpoints) const {
  std::string text;
  text.append(kHeader).push_back('\n');
  char hex[17];
  for (const auto& cp : checkpoints) {
    text += std::to_string(cp.dev);
    text.push_back(' ');
    text += std::to_string(cp.ino);
    text.push_back(' ');
    text += std::to_string(cp.fingerprint_len);
    text.push_back(' ');
    auto [end, _] = std::to_chars(hex, hex + sizeof(hex), cp.fingerprint, 16);
    text.append(hex, end);
    text.push_back(' ');
    text += std::to_string(cp.offset);
    text.push_back(' ');
    text += escapePath(cp.path);
    text.push_back('\n');
  }
  text.append(kTrailer);
  text += std::to_string(checkpoints.size());
  text.push_back('\n');

  return replaceFileAtomically(path_, text, "checkpoint file");
}

}  // namespace trailwatch::source
