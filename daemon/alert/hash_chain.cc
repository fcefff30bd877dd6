#include "daemon/alert/hash_chain.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include <simdjson.h>

namespace trailwatch::alert {
namespace {

constexpr std::string_view kGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string hex(const unsigned char* bytes, unsigned int size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (unsigned int i = 0; i < size; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
  return out;
}

// The chain member of a line: seq and prev, or nullopt when the line is not
// a JSON object with a well-formed `chain`.
struct Link {
  uint64_t seq = 0;
  std::string prev;
};

std::optional<Link> linkOf(simdjson::dom::parser& parser, std::string_view line) {
  simdjson::dom::element root;
  if (parser.parse(line.data(), line.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::object chain;
  if (root["chain"].get_object().get(chain) != simdjson::SUCCESS) return std::nullopt;
  Link link;
  std::string_view prev;
  if (chain["seq"].get_uint64().get(link.seq) != simdjson::SUCCESS ||
      chain["prev"].get_string().get(prev) != simdjson::SUCCESS || prev.size() != 64) {
    return std::nullopt;
  }
  link.prev = std::string(prev);
  return link;
}

std::string at(uint64_t line) { return "line " + std::to_string(line) + ": "; }

}  // namespace

std::string chainDigest(std::string_view data, std::string_view key) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (key.empty()) {
    EVP_Digest(data.data(), data.size(), out, &size, EVP_sha256(), nullptr);
  } else {
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  }
  return hex(out, size);
}

Result<std::string> readChainKey(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read chain key file " + path + ": " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (key.empty()) return Error{"chain key file " + path + " is empty"};
  return key;
}

void HashChain::resume(std::string_view last_line) {
  seq_ = 0;
  prev_ = std::string(kGenesis);
  if (last_line.empty()) return;
  simdjson::dom::parser parser;
  if (auto link = linkOf(parser, last_line)) seq_ = link->seq;
  prev_ = chainDigest(last_line, key_);
}

bool HashChain::resumeFromHead(std::string_view head) {
  while (!head.empty() && (head.back() == '\n' || head.back() == ' ')) head.remove_suffix(1);
  const size_t space = head.find(' ');
  if (space == std::string_view::npos) return false;
  uint64_t seq = 0;
  const auto [end, ec] = std::from_chars(head.data(), head.data() + space, seq);
  const std::string_view digest = head.substr(space + 1);
  if (ec != std::errc() || end != head.data() + space || digest.size() != 64 ||
      digest.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return false;
  }
  seq_ = seq;
  prev_ = std::string(digest);
  return true;
}

void HashChain::seal(std::string_view alert_json, std::string& line) {
  while (!alert_json.empty() && (alert_json.back() == '\n' || alert_json.back() == ' ')) {
    alert_json.remove_suffix(1);
  }
  line.clear();
  if (alert_json.size() >= 2 && alert_json.back() == '}') {
    line.append(alert_json.substr(0, alert_json.size() - 1));
    if (line.find_last_not_of(" \t") != 0) line.push_back(',');  // not "{}"
  } else {
    // Not an object (alerts always are): kept whole under "alert".
    line.append("{\"alert\":").append(alert_json).push_back(',');
  }
  ++seq_;
  line.append("\"chain\":{\"seq\":").append(std::to_string(seq_));
  line.append(",\"prev\":\"").append(prev_).append("\"}}");
  prev_ = chainDigest(line, key_);
}

std::string chainHead(const HashChain& chain) {
  return std::to_string(chain.seq()) + " " + chain.last() + "\n";
}

Result<ChainReport> verifyChain(const std::string& path, std::string_view key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  ChainReport report;
  simdjson::dom::parser parser;
  std::string line, previous;
  uint64_t last_seq = 0;
  uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    ++report.records;
    const auto link = linkOf(parser, line);
    if (!link) {
      if (report.chained > 0) {
        report.problem = at(number) +
                         "a record without a chain link after the chain began "
                         "(inserted, or written by something else)";
        return report;
      }
      previous.swap(line);
      continue;
    }
    if (report.chained == 0) {
      report.first_seq = link->seq;
      if (number > 1) {
        // The chain began after lines of an older, unchained log.
        if (link->prev != chainDigest(previous, key)) {
          report.problem = at(number) + "its link does not match line " +
                           std::to_string(number - 1) + " before it";
          return report;
        }
      } else if (link->prev == kGenesis) {
        if (link->seq != 1) {
          report.problem = at(number) + "the chain starts at seq " + std::to_string(link->seq) +
                           " with no record before it: records before it were deleted";
          return report;
        }
      } else {
        report.continues = true;  // a rotated log: the record before it is in the older file
      }
    } else {
      const uint64_t expected = last_seq + 1;
      if (link->seq > expected) {
        report.problem = at(number) + "seq jumps from " + std::to_string(last_seq) + " to " +
                         std::to_string(link->seq) + ": " + std::to_string(link->seq - expected) +
                         " record(s) deleted before this line";
        return report;
      }
      if (link->seq < expected) {
        report.problem = at(number) + "seq " + std::to_string(link->seq) + " does not follow " +
                         std::to_string(last_seq) + ": a record was inserted or repeated";
        return report;
      }
      if (link->prev != chainDigest(previous, key)) {
        report.problem = at(number) + "its link does not match line " + std::to_string(number - 1) +
                         ": that line was changed" +
                         (key.empty() ? "" : " (or the key is not the log's)");
        return report;
      }
    }
    ++report.chained;
    last_seq = link->seq;
    previous.swap(line);
  }
  std::ifstream head(path + ".chain");
  uint64_t head_seq = 0;
  std::string head_digest;
  if (head && head >> head_seq >> head_digest) {
    if (report.records == 0) {
      // A log rotated away and not yet written to again: its records, up to
      // the head, are in the rotated file.
      report.rotated_head_seq = head_seq;
      return report;
    }
    report.head_checked = true;
    if (report.chained == 0 && head_seq > 0) {
      report.problem = "the log holds no chained record but " + path + ".chain says seq " +
                       std::to_string(head_seq) + " was written: records were cut off";
    } else if (last_seq < head_seq) {
      report.problem = "the log ends at seq " + std::to_string(last_seq) + " but " + path +
                       ".chain says seq " + std::to_string(head_seq) +
                       " was written: " + std::to_string(head_seq - last_seq) +
                       " record(s) cut off the end";
    } else if (last_seq == head_seq && chainDigest(previous, key) != head_digest) {
      report.problem =
          at(number) + "the last record does not match " + path + ".chain: it was changed";
    }
    // last_seq > head_seq: written after the last flush (a crash before the
    // head was replaced); the chain itself vouches for those records.
  }
  return report;
}

}  // namespace trailwatch::alert
