#include "daemon/enrich/lookup_table.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "daemon/common/ascii.h"

namespace trailwatch::enrich {
namespace {

// A table file larger than this is almost certainly the wrong path (a log),
// and would be held in memory whole.
constexpr std::uintmax_t kMaxTableBytes = std::uintmax_t{1} << 30;

// Splits RFC 4180 text into records, one at a time.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {
    if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);
  }

  // Reads the next non-empty record into `fields`; false at the end or on
  // an error (then error() is set). line() is the record's first line.
  bool next(std::vector<std::string>& fields) {
    fields.clear();
    while (pos_ < text_.size() && (text_[pos_] == '\n' || text_.substr(pos_, 2) == "\r\n")) {
      pos_ += text_[pos_] == '\n' ? 1 : 2;
      ++current_line_;
    }
    if (pos_ >= text_.size()) return false;
    line_ = current_line_;
    std::string field;
    while (true) {
      field.clear();
      if (pos_ < text_.size() && text_[pos_] == '"') {
        ++pos_;
        while (true) {
          if (pos_ >= text_.size()) {
            error_ = "unterminated quoted field (its opening quote is in this record)";
            return false;
          }
          const char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              field.push_back('"');
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') ++current_line_;
          field.push_back(c);
        }
        if (pos_ < text_.size() && !atFieldEnd()) {
          error_ =
              "unexpected text after a closing quote (write a quote inside a quoted field "
              "as \"\")";
          return false;
        }
      } else {
        while (pos_ < text_.size() && !atFieldEnd()) {
          if (text_[pos_] == '"') {
            error_ =
                "a quote inside an unquoted field (quote the whole field and write the "
                "quote as \"\")";
            return false;
          }
          field.push_back(text_[pos_++]);
        }
      }
      fields.push_back(field);
      if (pos_ >= text_.size()) return true;
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      pos_ += text_[pos_] == '\n' ? 1 : 2;  // LF or CRLF
      ++current_line_;
      return true;
    }
  }

  int line() const { return line_; }
  const std::string& error() const { return error_; }

 private:
  bool atFieldEnd() const {
    const char c = text_[pos_];
    return c == ',' || c == '\n' || text_.substr(pos_, 2) == "\r\n";
  }

  std::string_view text_;
  size_t pos_ = 0;
  int current_line_ = 1;
  int line_ = 1;
  std::string error_;
};

}  // namespace

LookupTable::LookupTable(LookupSpec spec) : spec_(std::move(spec)) {}

std::vector<std::string> LookupTable::addedFields() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i != key_column_) out.push_back(spec_.prefix + columns_[i]);
  }
  return out;
}

const FieldValue* LookupTable::find(std::string_view key) const {
  const int32_t row = index_.find(key);
  return row < 0 ? nullptr : &cells_[static_cast<size_t>(row) * columns_.size()];
}

Result<std::shared_ptr<const LookupTable>> LookupTable::load(const LookupSpec& spec) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(spec.path, ec);
  if (!ec && size > kMaxTableBytes) {
    return Error{spec.path + ": file is larger than 1 GiB; not a lookup table?"};
  }
  std::ifstream in(spec.path, std::ios::binary);
  if (!in) return Error{spec.path + ": cannot read: " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{spec.path + ": read error"};
  return parse(text.str(), spec);
}

Result<std::shared_ptr<const LookupTable>> LookupTable::parse(std::string_view csv,
                                                              const LookupSpec& spec) {
  auto at = [&](int line, const std::string& message) {
    return Error{spec.path + ":" + std::to_string(line) + ": " + message};
  };
  // make_shared cannot reach the private constructor.
  std::shared_ptr<LookupTable> table(new LookupTable(spec));
  CsvReader reader(csv);
  std::vector<std::string> fields;
  if (!reader.next(fields)) {
    if (!reader.error().empty()) return at(reader.line(), reader.error());
    return Error{spec.path + ": the file is empty (expected a header row naming the columns)"};
  }
  table->columns_ = fields;
  std::string names;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].empty())
      return at(reader.line(), "column " + std::to_string(i + 1) + " has no name");
    for (size_t j = 0; j < i; ++j) {
      if (fields[j] == fields[i]) return at(reader.line(), "duplicate column '" + fields[i] + "'");
    }
    names += (names.empty() ? "" : ", ") + fields[i];
  }
  size_t key_column = fields.size();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i] == spec.key) key_column = i;
  }
  if (key_column == fields.size()) {
    return at(reader.line(),
              "no key column '" + spec.key + "' in the header (columns: " + names + ")");
  }
  table->key_column_ = key_column;

  // Cells are collected as offsets into text_ first: text_ grows, so views
  // can only be taken once it is complete.
  std::vector<std::pair<size_t, size_t>> spans;
  std::unordered_map<std::string, int> key_lines;  // folded key -> line, for duplicate messages
  std::vector<std::string> keys;                   // by row, folded as key_lines
  const size_t width = fields.size();
  while (reader.next(fields)) {
    if (fields.size() != width) {
      return at(reader.line(), std::to_string(fields.size()) + " field(s), expected " +
                                   std::to_string(width) + " as in the header");
    }
    std::string key = fields[key_column];
    if (key.empty()) return at(reader.line(), "empty key in column '" + spec.key + "'");
    if (spec.case_insensitive) {
      ascii::lowerInPlace(key);
    }
    auto [it, inserted] = key_lines.emplace(key, reader.line());
    if (!inserted) {
      return at(reader.line(), "duplicate key '" + fields[key_column] + "' (first on line " +
                                   std::to_string(it->second) + ")");
    }
    keys.push_back(std::move(key));
    for (const auto& f : fields) {
      spans.emplace_back(table->text_.size(), f.size());
      table->text_ += f;
    }
  }
  if (!reader.error().empty()) return at(reader.line(), reader.error());

  table->rows_ = spans.size() / width;
  table->cells_.reserve(spans.size());
  for (const auto& [offset, length] : spans) {
    FieldValue v;
    v.type = FieldValue::Type::kString;
    v.text = std::string_view(table->text_).substr(offset, length);
    table->cells_.push_back(v);
  }
  table->index_ = LiteralSet(keys, !spec.case_insensitive);
  return std::shared_ptr<const LookupTable>(std::move(table));
}

}  // namespace trailwatch::enrich
