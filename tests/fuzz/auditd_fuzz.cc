// libFuzzer target for AuditdDecoder: the input is split on '\n' into
// records fed in order (so events open, join, interleave and complete),
// then flushed; the same lines go to `syslog+auditd` too (an auditd body
// in a syslog message, joined per sending host). Each record is copied into a buffer with exactly
// kRecordPadding bytes after it, so AddressSanitizer catches a read past the
// padding the source promises; the buffer is overwritten after each record,
// so a view kept into a reused record buffer shows up as wrong text.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/decode/auditd.h"
#include "daemon/decode/registry.h"
#include "trailwatch/source.h"

namespace {

const std::vector<std::string>& paths() {
  static const std::vector<std::string> kPaths = {"@timestamp",
                                                  "user.id",
                                                  "user.name",
                                                  "process.executable",
                                                  "process.command_line",
                                                  "event.action",
                                                  "event.outcome",
                                                  "source.ip",
                                                  "host.name",
                                                  "file.path",
                                                  "auditd.type",
                                                  "auditd.serial",
                                                  "auditd.key",
                                                  "auditd.auid",
                                                  "auditd.uid",
                                                  "auditd.execve.a0",
                                                  "auditd.path.name",
                                                  "auditd.avc.seperms",
                                                  "auditd.user_login.msg",
                                                  "auditd.proctitle.proctitle",
                                                  "auditd.node",
                                                  "syslog.body_error",
                                                  "message"};
  return kPaths;
}

void consume(const trailwatch::Event* event, trailwatch::Decoder& decoder) {
  trailwatch::DecodeError error;
  while (event != nullptr) {
    volatile std::size_t sink = event->raw().size();
    for (trailwatch::FieldId id = 0; id < paths().size(); ++id) {
      for (const auto& v : event->values(id)) {
        for (char c : v.text) sink = sink + static_cast<unsigned char>(c);
      }
    }
    (void)sink;
    event = decoder.next(error);
  }
}

void feed(trailwatch::Decoder& decoder, std::string_view input) {
  decoder.setFields(paths());
  std::vector<char> buffer;
  std::size_t start = 0;
  while (start <= input.size()) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(start, end - start);
    buffer.assign(line.size() + trailwatch::kRecordPadding, '\0');
    if (!line.empty()) std::memcpy(buffer.data(), line.data(), line.size());
    trailwatch::DecodeError error;
    const trailwatch::Event* event =
        decoder.decode(std::string_view(buffer.data(), line.size()), error);
    // nullptr with an empty reason is legal here: the record is held
    // (decoder.h). A failure must carry one of the fixed reason words.
    if (event == nullptr && !error.reason.empty() && error.detail.empty()) __builtin_trap();
    consume(event, decoder);
    std::memset(buffer.data(), 'x', buffer.size());  // the source reuses its buffer
    start = end + 1;
  }
  trailwatch::DecodeError error;
  consume(decoder.flush(error), decoder);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  trailwatch::decode::AuditdDecoder decoder;  // fresh: no state leaks between inputs
  feed(decoder, input);
  feed(*trailwatch::decode::makeDecoder("syslog+auditd"), input);
  return 0;
}
