// Redaction: what one output is allowed to see of the events behind an
// alert. Each output may drop named fields, or replace their values by a
// keyed pseudonym, so that (say) a chat webhook never sees a patient
// identifier while the alert log keeps it.
//
// Redactor rewrites one rendered alert line (alert_json.h). Event values sit
// in these places, and only these are touched:
//   - `@timestamp` at the top level (the event's own time);
//   - `event`: the rule's `fields` (dotted keys), or the whole record
//     (`"record":"json"|"text"` beside it, see below);
//   - `correlation.group` / `suppressed.group`: group-by values by name;
//   - `sample[]`: the sample fields of contributing events.
// A field matches a configured name when its dotted path equals it, or fits
// it with `*` standing for any run of characters (`patient.*`). Keys of a
// nested object extend the path (`{"patient":{"id":…}}` is `patient.id`),
// array elements share their array's path.
//
// Every string value a matched field held is also searched for in the other
// strings and keys of those places (a `url.path` of `/patients/p-17/chart`
// next to `patient.id: p-17`) and replaced there too.
//
// A whole record (the rule lists no `fields`) keeps identifiers under names
// no configuration can predict (a FHIR reference, a free-text log line), so
// by default (`records: drop`) a redacting output gets `"event":{}` for it;
// `records: redact` keeps a JSON record with the rules above applied. A text
// record (`{"message": …}`) is always dropped.
//
// Pseudonym: "pseud:" + the first 16 hex digits (64 bits) of
// HMAC-SHA256(key, value); the value of a number is its JSON text. Same
// key and value, same pseudonym, across fields, alerts and restarts.
//
// Fail closed: a line that is not a JSON object yields an error and no text,
// never the line unredacted.
//
// Thread-safety: a Redactor keeps a parser; one per thread, or under a lock
// (RedactingSink). pseudonym() and fieldPatternMatches() are pure.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "trailwatch/alert_sink.h"
#include "trailwatch/result.h"

namespace trailwatch::alert {

inline constexpr std::string_view kPseudonymPrefix = "pseud:";
inline constexpr size_t kPseudonymHexDigits = 16;

struct RedactionPolicy {
  std::vector<std::string> drop;          // field names or `*` patterns: removed
  std::vector<std::string> pseudonymize;  // field names or `*` patterns: pseudonym
  std::string key;                        // HMAC key; required when pseudonymize is not empty
  bool redact_records = false;            // `records: redact` (else drop whole records)
};

// "pseud:" + hex(HMAC-SHA256(key, value))[0:16].
std::string pseudonym(std::string_view key, std::string_view value);

// True when `field` is `pattern`, or fits it with each `*` matching any run
// of characters (dots included).
bool fieldPatternMatches(std::string_view pattern, std::string_view field);

class Redactor {
 public:
  explicit Redactor(RedactionPolicy policy);
  ~Redactor();
  Redactor(const Redactor&) = delete;
  Redactor& operator=(const Redactor&) = delete;

  // Replaces `out` with the redacted alert. On error `out` is empty.
  Status redact(std::string_view alert_json, std::string& out);

  const RedactionPolicy& policy() const { return policy_; }

 private:
  struct Walk;
  RedactionPolicy policy_;
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

// Wraps any sink: each alert is redacted before the wrapped sink sees it.
// An alert that cannot be redacted is withheld from the wrapped sink: write()
// returns the error and `on_failure` is called (a metric).
//
// Thread-safety: write() may be called from any thread (the redactor and its
// scratch line are guarded by mu_); flush() and deliver() go straight to the
// wrapped sink, which is thread-safe by the AlertSink contract.
class RedactingSink : public AlertSink {
 public:
  RedactingSink(std::unique_ptr<AlertSink> inner, RedactionPolicy policy,
                std::function<void()> on_failure = {});

  // The wrapped sink's name, so its metrics keep their label.
  const std::string& name() const override { return inner_->name(); }
  Status write(std::string_view alert_json) override;
  Status flush() override { return inner_->flush(); }
  Status deliver() override { return inner_->deliver(); }

 private:
  std::unique_ptr<AlertSink> inner_;
  std::function<void()> on_failure_;
  std::mutex mu_;
  Redactor redactor_;  // guarded by mu_
  std::string line_;   // guarded by mu_
};

}  // namespace trailwatch::alert
