// Test harness shared by the JSON-format decoder tests (fhir, k8s-audit,
// cloudtrail): feeds records followed by kRecordPadding bytes, as a source
// hands them out, and collects every event of a record (decode() then
// next()) as plain strings, so a test can compare values after the views
// have gone.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/decoder.h"
#include "trailwatch/source.h"

namespace trailwatch::decode::testing {

using Strings = std::vector<std::string>;

// One decoded event: path -> its values' texts, and raw().
struct Decoded {
  std::map<std::string, Strings> fields;
  std::map<std::string, std::vector<FieldValue::Type>> types;
  std::string raw;
  Strings operator[](const std::string& path) const {
    auto it = fields.find(path);
    return it == fields.end() ? Strings{} : it->second;
  }
};

struct Outcome {
  std::vector<Decoded> events;
  DecodeError error;  // the failure, when decode() or next() failed
  bool failed = false;
};

class Harness {
 public:
  Harness(std::unique_ptr<Decoder> decoder, std::vector<std::string> paths)
      : decoder_(std::move(decoder)), paths_(std::move(paths)) {
    decoder_->setFields(paths_);
  }

  Outcome run(std::string_view text) {
    // The padding holds bytes that would change the parse if read.
    buffer_.assign(text.size() + kRecordPadding, '}');
    buffer_.replace(0, text.size(), text);
    Outcome out;
    const Event* e = decoder_->decode(std::string_view(buffer_.data(), text.size()), out.error);
    while (e != nullptr) {
      out.events.push_back(capture(*e));
      e = decoder_->next(out.error);
    }
    out.failed = !out.error.reason.empty();
    return out;
  }

  Decoder& decoder() { return *decoder_; }

 private:
  Decoded capture(const Event& e) const {
    Decoded d;
    d.raw = std::string(e.raw());
    for (FieldId id = 0; id < paths_.size(); ++id) {
      for (const auto& v : e.values(id)) {
        d.fields[paths_[id]].emplace_back(v.text);
        d.types[paths_[id]].push_back(v.type);
      }
    }
    return d;
  }

  std::unique_ptr<Decoder> decoder_;
  std::vector<std::string> paths_;
  std::string buffer_;
};

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace trailwatch::decode::testing
