// AutoDecoder (format `auto`, the default of `trailwatch scan`): looks at
// the first non-empty record, picks the format it is written in, and then
// decodes every record with that format's decoder.
//
// Detection, in order (first match wins; a format not registered in this
// build is passed over):
//   - a JSON object (first byte `{`): `"resourceType"` AuditEvent or Bundle
//     → fhir; `"auditID"` with `audit.k8s.io` → k8s-audit; `"Records"`, or
//     `"eventSource"` with `"awsRegion"` → cloudtrail; anything else → json;
//   - `type=WORD msg=audit(` (or `node=… type=…`) → auditd;
//   - `<digits>` priority at the start, or a syslog file line (`Mmm dd
//     hh:mm:ss host …`, or an RFC 3339 time then host) → syslog, and
//     syslog+FORMAT when its message body is detected (by these same
//     rules) as a JSON object or any format other than json and syslog;
//   - `AUDIT: SESSION,` / `AUDIT: OBJECT,` in the line → pgaudit;
//   - `host ident user [date] "` → access-log;
//   - otherwise json (whose error then says why the record is not JSON).
// Records that match none of these are read as JSON while the next ones are
// looked at, up to kLookahead records (a log may open with other lines);
// then the choice is made once and kept (chosen()): a file mixes no formats.
//
// Thread-safety: none; one per thread, like every decoder.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/decoder.h"

namespace trailwatch::decode {

// The format name `record` looks like (see above), among `known`.
std::string detectFormat(std::string_view record, const std::vector<std::string>& known);

class AutoDecoder final : public Decoder {
 public:
  void setFields(std::span<const std::string> paths) override;
  const Event* decode(std::string_view record, DecodeError& error) override;
  // The chosen format's clone once chosen; nullptr before.
  std::unique_ptr<Decoder> clone() const override;
  const Event* next(DecodeError& error) override;
  const Event* flush(DecodeError& error) override;

  static constexpr int kLookahead = 100;

  // The format picked, empty until the first non-empty record.
  const std::string& chosen() const { return chosen_; }

 private:
  bool settled_ = false;
  int unrecognised_ = 0;
  std::vector<std::string> paths_;
  std::unique_ptr<Decoder> inner_;
  std::string chosen_;
};

}  // namespace trailwatch::decode
