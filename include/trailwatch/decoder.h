// Decoder: turns one record (one line, one message) into an Event.
//
// A decoder is created per source and per thread; it keeps scratch space
// between calls so decoding does not allocate on the hot path.
//
// Thread-safety: none; one decoder per thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "trailwatch/event.h"

namespace trailwatch {

// Why a record could not be decoded. `reason` is a short, fixed,
// metric-label-safe word (`malformed_json`, `not_an_object`, ...); `detail`
// is for the log.
struct DecodeError {
  std::string_view reason;
  std::string detail;
};

class Decoder {
 public:
  virtual ~Decoder() = default;

  // The field paths decode() must extract; FieldId i is paths[i]. Called
  // before the first decode() and again whenever the rule set changes.
  virtual void setFields(std::span<const std::string> paths) = 0;

  // Decodes `record`. On success returns an Event valid as event.h says; on
  // failure returns nullptr and fills `error`.
  virtual const Event* decode(std::string_view record, DecodeError& error) = 0;

  // Formats whose one record can hold several events (a FHIR Bundle, a
  // CloudTrail `{"Records": [...]}` file): after decode() returned the
  // first, each call returns the next event of the same record, then
  // nullptr. The previous event's views are invalid after the call. A
  // failure part-way returns nullptr and fills `error`; the events returned
  // before it stand. Formats of one event per record keep the default.
  virtual const Event* next(DecodeError& error) {
    (void)error;
    return nullptr;
  }
};

}  // namespace trailwatch
