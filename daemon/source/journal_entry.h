// Journal entries as records: how one systemd journal entry becomes the text
// a decoder reads. Kept apart from
// JournaldSource so the shape of a record can be tested without a journal.
//
// The JSON shape follows `journalctl -o json`: one object whose keys are the
// entry's field names and whose values are strings; a field that occurs
// several times in one entry is an array of its values in journal order. It
// adds "@timestamp", the entry's __REALTIME_TIMESTAMP as RFC 3339 UTC with
// microseconds, first, so rules and correlation windows read the time the
// entry was logged. Fields are sorted by name, so the text of an entry does
// not depend on the order the journal stores them in. Values that are not
// UTF-8 (the journal allows binary fields) have their bad bytes replaced by
// U+FFFD, and control characters are escaped, so the record is always valid
// JSON (journalctl would write such values as arrays of byte numbers, which
// no rule could match).
//
// Thread-safety: pure functions over caller-owned values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace trailwatch::source {

// One FIELD=value pair of an entry; the views belong to the caller.
struct JournalField {
  std::string_view name;
  std::string_view value;
};

// The entry's own metadata, which the journal keeps outside its data fields.
struct JournalEntryMeta {
  std::string_view cursor;      // __CURSOR
  uint64_t realtime_usec = 0;   // __REALTIME_TIMESTAMP
  uint64_t monotonic_usec = 0;  // __MONOTONIC_TIMESTAMP
  bool has_monotonic = false;
};

// Appends the entry as one JSON object (see above). Reorders `fields`.
void appendJournalJson(std::string& out, std::vector<JournalField>& fields,
                       const JournalEntryMeta& meta);

// RFC 3339 UTC with microseconds: 2026-11-23T08:46:27.123456Z.
std::string formatJournalTime(uint64_t realtime_usec);

// Splits "FIELD=value" at its first '='; false when there is none.
bool splitJournalData(std::string_view data, JournalField& out);

}  // namespace trailwatch::source
