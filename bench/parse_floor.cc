// parse_floor: the parsing floor of the whole-daemon benchmark (bench/run.sh).
//
//   parse_floor [-c CONFIG] [--rules PATH]... [--timestamp-field F] CORPUS
//
// Reads a file of JSON lines and, with simdjson On-Demand alone, extracts
// the fields trailwatch's decoder is asked for: every field path the rules
// read (RuleSet::fieldPaths()), the event timestamp and each lookup table's
// match field, as SourcePipeline::adoptRules() asks its decoder. The rules,
// placeholders and lookups come from CONFIG (default: the repository's
// deploy/trailwatch.yaml) and any --rules. It evaluates nothing and writes
// nothing; its events/s is what trailwatch scan is measured against.
//
// Like the daemon it reads in large blocks and parses each line in place
// (one iterate() per record, the bytes after a line serving as simdjson's
// padding); each object is walked once, keys compared against the few that
// are wanted at that level. String values are unescaped (the decoder does
// the same), other scalars taken as their JSON text, arrays fanned out.
//
// Prints one JSON line on stdout: events, bytes, seconds (whole run, rule
// loading excluded), events_per_second, mb_per_second, values extracted.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "bench/shipped_rules.h"

namespace {

namespace od = simdjson::ondemand;

// One level of the wanted paths: `event` → {action, outcome, category}.
struct PathNode {
  std::string key;
  bool leaf = false;
  std::vector<PathNode> children;
};

void addPath(PathNode& root, std::string_view path) {
  PathNode* node = &root;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string_view part = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    PathNode* next = nullptr;
    for (auto& child : node->children) {
      if (child.key == part) next = &child;
    }
    if (next == nullptr) {
      node->children.push_back({std::string(part), false, {}});
      next = &node->children.back();
    }
    node = next;
  }
  node->leaf = true;
}

struct Tally {
  uint64_t values = 0;
  uint64_t value_bytes = 0;
};

bool takeScalar(od::value value, Tally& tally) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  std::string_view text;
  if (type == od::json_type::string) {
    if (value.get_string().get(text) != simdjson::SUCCESS) return false;
  } else if (type == od::json_type::array) {
    od::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) return false;
    for (auto element : array) {
      od::value v;
      if (element.get(v) != simdjson::SUCCESS || !takeScalar(v, tally)) return false;
    }
    return true;
  } else {
    text = value.raw_json_token();
  }
  ++tally.values;
  tally.value_bytes += text.size();
  return true;
}

bool walk(od::object object, const PathNode& node, Tally& tally) {
  for (auto field : object) {
    od::raw_json_string key;
    if (field.key().get(key) != simdjson::SUCCESS) return false;
    for (const auto& child : node.children) {
      if (!key.unsafe_is_equal(child.key)) continue;
      od::value value;
      if (field.value().get(value) != simdjson::SUCCESS) return false;
      if (child.leaf) {
        if (!takeScalar(value, tally)) return false;
      } else {
        od::object inner;
        if (value.get_object().get(inner) == simdjson::SUCCESS && !walk(inner, child, tally)) {
          return false;
        }
      }
      break;
    }
  }
  return true;
}

int usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "parse_floor: %s\n", why);
  std::fprintf(stderr,
               "usage: parse_floor [-c CONFIG] [--rules PATH]... [--timestamp-field F] CORPUS\n"
               "  default CONFIG: %s/deploy/trailwatch.yaml\n",
               TRAILWATCH_SOURCE_DIR);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> rule_paths;
  std::string config_file;
  std::string timestamp_field = "@timestamp";
  std::string corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if ((arg == "-c" || arg == "--config") && i + 1 < argc) {
      config_file = argv[++i];
    } else if (arg == "--rules" && i + 1 < argc) {
      rule_paths.emplace_back(argv[++i]);
    } else if (arg == "--timestamp-field" && i + 1 < argc) {
      timestamp_field = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      return usage(nullptr), 0;
    } else if (!arg.empty() && arg[0] != '-' && corpus.empty()) {
      corpus = arg;
    } else {
      return usage(("unexpected argument " + std::string(arg)).c_str());
    }
  }
  if (corpus.empty()) return usage("no corpus file");
  if (config_file.empty() && rule_paths.empty()) {
    config_file = TRAILWATCH_SOURCE_DIR "/deploy/trailwatch.yaml";
  }

  auto loaded = trailwatch::bench::loadShippedRules(config_file, rule_paths);
  if (!loaded) return 2;
  const auto& rules = loaded->rules;
  const auto& lookups = *loaded->lookups;
  std::vector<std::string> paths = rules->fieldPaths();
  const auto want = [&paths](const std::string& path) {
    for (const auto& p : paths) {
      if (p == path) return;
    }
    paths.push_back(path);
  };
  want(timestamp_field);
  if (auto set = lookups.lookupSet(); set && set->size() > 0) {
    for (const auto& match : set->matchPaths()) want(match);
  }
  PathNode root;
  for (const auto& p : paths) addPath(root, p);

  const int fd = ::open(corpus.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "parse_floor: %s: %s\n", corpus.c_str(), std::strerror(errno));
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  // Block reads; a line cut by the block end moves to the front. Lines
  // longer than a block are not expected in this corpus and are counted.
  constexpr size_t kBlock = 4 << 20;
  const size_t capacity = kBlock + simdjson::SIMDJSON_PADDING;
  std::unique_ptr<char[]> buffer(new char[capacity]);
  od::parser parser;
  Tally tally;
  uint64_t events = 0, errors = 0, too_long = 0, bytes = 0;
  size_t held = 0;
  bool eof = false;
  while (!eof) {
    const ssize_t n = ::read(fd, buffer.get() + held, kBlock - held);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "parse_floor: reading %s: %s\n", corpus.c_str(), std::strerror(errno));
      return 1;
    }
    eof = n == 0;
    bytes += static_cast<uint64_t>(n);
    const size_t end = held + static_cast<size_t>(n);
    std::memset(buffer.get() + end, 0, simdjson::SIMDJSON_PADDING);
    size_t pos = 0;
    while (pos < end) {
      const char* line = buffer.get() + pos;
      const void* newline = std::memchr(line, '\n', end - pos);
      if (newline == nullptr && !eof) break;
      const size_t length =
          newline != nullptr ? static_cast<const char*>(newline) - line : end - pos;
      pos += length + 1;
      if (length == 0) continue;
      ++events;
      od::document doc;
      od::object object;
      if (parser.iterate(line, length, capacity - (line - buffer.get())).get(doc) !=
              simdjson::SUCCESS ||
          doc.get_object().get(object) != simdjson::SUCCESS || !walk(object, root, tally)) {
        ++errors;
      }
    }
    held = pos < end ? end - pos : 0;
    if (held == kBlock) {
      ++too_long;
      held = 0;
    }
    if (held > 0) std::memmove(buffer.get(), buffer.get() + pos, held);
  }
  ::close(fd);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string fields;
  for (const auto& p : paths) fields += (fields.empty() ? "\"" : ",\"") + p + "\"";
  std::printf(
      "{\"events\":%llu,\"bytes\":%llu,\"errors\":%llu,\"too_long\":%llu,\"values\":%llu,"
      "\"value_bytes\":%llu,\"seconds\":%.6f,\"events_per_second\":%.0f,\"mb_per_second\":%.1f,"
      "\"fields\":[%s]}\n",
      static_cast<unsigned long long>(events), static_cast<unsigned long long>(bytes),
      static_cast<unsigned long long>(errors), static_cast<unsigned long long>(too_long),
      static_cast<unsigned long long>(tally.values),
      static_cast<unsigned long long>(tally.value_bytes), seconds,
      seconds > 0 ? static_cast<double>(events) / seconds : 0.0,
      seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0.0, fields.c_str());
  return errors == 0 ? 0 : 1;
}
