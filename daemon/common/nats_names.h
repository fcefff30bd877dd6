// Checks of the names NATS gives meaning to, for the configuration loader
// and the NATS stage alike (no nats.c here): server URLs, subjects, and
// stream or consumer names. Each returns an empty string when the value is
// usable, else why not, in words for a `file:line:col: message`.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace trailwatch {

// One nats:// URL, or several separated by commas (a cluster); user:password@
// allowed; tls:// is refused (this build does not wire TLS).
std::string natsUrlProblem(std::string_view url);

// A subject to publish to or filter on: dot-separated non-empty tokens of
// printable characters without spaces; `wildcards` allows `*` tokens and a
// final `>` (filters only).
std::string natsSubjectProblem(std::string_view subject, bool wildcards);

// A stream or durable consumer name: letters, digits, '-' and '_', at most
// 64 characters (JetStream also forbids '.', '*', '>' and spaces in them).
std::string natsNameProblem(std::string_view name);

}  // namespace trailwatch
