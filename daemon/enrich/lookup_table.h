// LookupTable: one CSV file loaded into memory, rows indexed by one column
// (the key), for enrichment: an event whose `match` field equals a row's key
// gains that row's other columns as fields `<prefix><column>`.
//
// The CSV follows RFC 4180: a header row naming the columns, fields
// separated by ',', a field in double quotes may hold ',', line breaks and
// '""' (one quote); lines end in LF or CRLF; a UTF-8 byte-order mark at the
// start is skipped; empty lines are skipped. Every row must have as many
// fields as the header. A duplicate key is an error (which row wins would
// otherwise depend on file order, and a compliance decision should not); so
// is an empty key. An empty cell means "no value": the field stays absent.
// Problems are reported as `path:line: message` (line of the record's start).
//
// Lifetime: the FieldValues and string_views a table hands out point into
// the table; they stay valid while the table (shared_ptr) is held.
//
// Thread-safety: immutable once built; every const method may run
// concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/common/literal_set.h"
#include "trailwatch/event.h"
#include "trailwatch/result.h"

namespace trailwatch::enrich {

// What to load and how to join it (the configuration's `lookups:` entry).
struct LookupSpec {
  std::string name;               // metric label
  std::string path;               // the CSV file
  std::string key;                // the column joined on
  std::string match;              // the event field whose value is looked up
  std::string prefix;             // added fields are prefix + column
  bool case_insensitive = false;  // keys compared with ASCII case folding
};

class LookupTable {
 public:
  static Result<std::shared_ptr<const LookupTable>> load(const LookupSpec& spec);
  // Same from CSV text; spec.path is only used in messages.
  static Result<std::shared_ptr<const LookupTable>> parse(std::string_view csv,
                                                          const LookupSpec& spec);

  const LookupSpec& spec() const { return spec_; }
  const std::vector<std::string>& columns() const { return columns_; }  // the header
  size_t keyColumn() const { return key_column_; }
  size_t rows() const { return rows_; }
  // prefix + column for every column but the key, in header order.
  std::vector<std::string> addedFields() const;

  // The row whose key equals `key`, as columns().size() cells (an empty
  // cell is a kString with empty text), or nullptr. Never allocates.
  const FieldValue* find(std::string_view key) const;

 private:
  explicit LookupTable(LookupSpec spec);

  LookupSpec spec_;
  std::vector<std::string> columns_;
  size_t key_column_ = 0;
  size_t rows_ = 0;
  std::string text_;               // every cell's text, back to back
  std::vector<FieldValue> cells_;  // rows_ * columns_.size(), views into text_
  LiteralSet index_;               // the keys (folded if case-insensitive), by row
};

}  // namespace trailwatch::enrich
