// The Alertmanager sink's transport: turns each alert into an Alertmanager
// API v2 alert and POSTs batches of them to `<url>/api/v2/alerts`.
//
// Labels (an Alertmanager alert's identity; same labels = same alert):
//   alertname  the rule's title (its id when it has none): what people
//              read in the Alertmanager UI, notifications and routes
//   severity   the rule's level (informational .. critical)
//   rule_id    the rule's id
//   control    the alert's compliance controls joined by ',' in the order
//              the rule lists them (labels hold one value; match with
//              control=~".*hipaa.*")
//   <group>    for correlation and suppression alerts, each group-by value,
//              named by its field with every character outside [A-Za-z0-9_]
//              turned into '_' (user.name -> user_name; a name that clashes
//              with the labels above gets a `group_` prefix)
// Annotations: summary (title and key values), description (rule, level,
// controls, source), detected_at, event_time, the event's fields (names
// sanitised like labels, values as text, at most 32 fields of 1 KiB each),
// and for correlations their type, timespan, count/value, events,
// first_seen and last_seen.
// startsAt is when the alert was detected; endsAt is the time of sending
// plus `resolve_after`, so a condition that stops matching resolves by
// itself, and an alert delivered late from the spool still fires for
// resolve_after.
//
// Thread-safety: one thread at a time (the sink's delivery thread).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/alert/http_poster.h"
#include "daemon/alert/spooled_sink.h"

namespace trailwatch::alert {

// `alert_json` (as alert_json.h renders it) as one Alertmanager v2 alert
// object, or why it cannot be (not a JSON object with a rule).
Result<std::string> toAlertmanagerAlert(std::string_view alert_json, int64_t now_ms,
                                        std::chrono::milliseconds resolve_after);

// The URL's path with `api/v2/alerts` appended (the configured URL is the
// Alertmanager's base URL, possibly behind a path prefix).
std::string alertmanagerAlertsPath(const std::string& base_target);

class AlertmanagerTransport : public Transport {
 public:
  AlertmanagerTransport(std::unique_ptr<HttpPoster> poster,
                        std::chrono::milliseconds resolve_after);
  SendResult send(const std::vector<SpoolRecord>& batch) override;

 private:
  std::unique_ptr<HttpPoster> poster_;
  const std::chrono::milliseconds resolve_after_;
};

}  // namespace trailwatch::alert
