// Decoder: turns one record (one line, one message) into an Event.
//
// A decoder is created per source and per thread; it keeps scratch space
// between calls so decoding does not allocate on the hot path.
//
// Thread-safety: none; one decoder per thread.
#pragma once

#include <memory>
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
  // failure returns nullptr and fills `error`. Formats whose events span
  // several records (auditd: the records of one serial) may return nullptr
  // with an empty `error.reason`: the record was taken and the event is not
  // complete yet; it comes from a later decode() (through next()) or flush().
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

  // Emits the event held back waiting for more records, if any (then keep
  // calling next() as after decode()). The pipeline calls it before every
  // checkpoint and at the end of input, so no held record is ever behind a
  // committed offset; an event whose records straddle that moment comes out
  // as two. Held events copy what they keep: record buffers are reused.
  virtual const Event* flush(DecodeError& error) {
    (void)error;
    return nullptr;
  }

  // A new decoder of the same format and options (setFields() not yet
  // called), when every event of this format comes from one record: then
  // runs of records may be decoded on several threads, one decoder each.
  // Formats that hold records back for later ones (auditd, multi-line
  // pgaudit) return nullptr, and their records are decoded in order on one
  // thread.
  virtual std::unique_ptr<Decoder> clone() const { return nullptr; }
};

}  // namespace trailwatch
