// libFuzzer target for PgauditDecoder: the input is split into lines, each
// fed as one record the way the pipeline does (decode, next() until
// nullptr, flush() at the end). Every line is copied into its own buffer
// with exactly kRecordPadding bytes after it and freed once handled, so
// AddressSanitizer catches a read past the padding and a held record that
// kept a view into a line instead of copying it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/decode/pgaudit.h"
#include "trailwatch/source.h"

namespace {

const std::vector<std::string> kPaths = {"@timestamp",
                                         "db.user",
                                         "user.name",
                                         "db.name",
                                         "db.object",
                                         "db.statement",
                                         "event.action",
                                         "source.ip",
                                         "pgaudit.statement_id",
                                         "pgaudit.parameter",
                                         "pgaudit.rows",
                                         "pgaudit.truncated",
                                         "pgaudit.object_name",
                                         "pgaudit.log_time",
                                         "pgaudit.severity"};

bool knownReason(std::string_view r) {
  return r == "empty_record" || r == "not_an_audit_record" || r == "malformed_audit_record" ||
         r == "malformed_csvlog";
}

void consume(const trailwatch::Event* event) {
  volatile std::size_t sink = event->raw().size();
  for (char c : event->raw()) sink = sink + static_cast<unsigned char>(c);
  for (trailwatch::FieldId id = 0; id < kPaths.size(); ++id) {
    for (const auto& v : event->values(id)) {
      for (char c : v.text) sink = sink + static_cast<unsigned char>(c);
    }
  }
  (void)sink;
}

void checkFailure(const trailwatch::DecodeError& error) {
  // The reason is a metric label: one of the fixed words.
  if (!knownReason(error.reason)) __builtin_trap();
}

void drain(trailwatch::decode::PgauditDecoder& decoder, const trailwatch::Event* event) {
  while (event != nullptr) {
    consume(event);
    trailwatch::DecodeError error;
    event = decoder.next(error);
    if (event == nullptr && !error.reason.empty()) checkFailure(error);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static trailwatch::decode::PgauditDecoder* decoder = [] {
    auto* d = new trailwatch::decode::PgauditDecoder();
    d->setFields(kPaths);
    return d;
  }();

  const std::string_view input(reinterpret_cast<const char*>(data), size);
  bool holding = false;
  std::size_t pos = 0;
  while (pos <= input.size()) {
    std::size_t end = input.find('\n', pos);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(pos, end - pos);
    {
      std::vector<char> buffer(line.size() + trailwatch::kRecordPadding, '"');
      if (!line.empty()) std::memcpy(buffer.data(), line.data(), line.size());
      trailwatch::DecodeError error;
      const trailwatch::Event* event =
          decoder->decode(std::string_view(buffer.data(), line.size()), error);
      holding = event == nullptr && error.reason.empty();
      if (event == nullptr && !holding) checkFailure(error);
      drain(*decoder, event);
    }
    pos = end + 1;
  }
  trailwatch::DecodeError error;
  const trailwatch::Event* event = decoder->flush(error);
  // A held record always comes out of flush(), as an event or a reason.
  if (holding && event == nullptr && error.reason.empty()) __builtin_trap();
  if (event == nullptr && !error.reason.empty()) checkFailure(error);
  drain(*decoder, event);
  // Nothing is held after flush().
  trailwatch::DecodeError again;
  if (decoder->flush(again) != nullptr || !again.reason.empty()) __builtin_trap();
  return 0;
}
