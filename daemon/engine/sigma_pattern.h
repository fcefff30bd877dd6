// SigmaPattern: one Sigma string value compiled for matching, with its
// wildcards (`*` any run, `?` one character) and escapes (`\*`, `\?`, `\\`;
// a backslash before any other character is a literal backslash, as the Sigma
// specification's "Escaping" section says) resolved once at load time.
//
// Matching is ASCII case-insensitive unless the pattern was compiled as cased:
// bytes outside A-Z/a-z compare exactly, so non-ASCII letters only match in
// the case they are written. The common shapes (exact, prefix, suffix,
// contains, match-anything) take a fast path; anything else runs a glob
// matcher over literal segments. Matching never allocates.
//
// Thread-safety: immutable after compile(); matches() may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace trailwatch::engine {

class SigmaPattern {
 public:
  // Where the value must be found: the whole text (Sigma's default), or the
  // position the contains/startswith/endswith modifiers ask for.
  enum class Anchor : uint8_t { kWhole, kContains, kStartsWith, kEndsWith };

  static SigmaPattern compile(std::string_view value, Anchor anchor, bool cased);
  // `literal` is matched verbatim: no wildcards or escapes (fieldref values).
  static bool matchLiteral(std::string_view text, std::string_view literal, Anchor anchor,
                           bool cased);

  bool matches(std::string_view text) const;

  // The shape compile() chose; exposed so tests can check the fast paths.
  enum class Shape : uint8_t { kAny, kExact, kPrefix, kSuffix, kContains, kGlob };
  Shape shape() const { return shape_; }
  // kExact: the whole text it equals, ASCII-folded unless cased() (the rule
  // index keys on it).
  const std::string& literal() const { return literal_; }
  bool cased() const { return cased_; }

 private:
  // A run of pattern characters between two `*`; `one_` marks the positions
  // holding a `?` wildcard (empty when the segment has none).
  struct Segment {
    std::string text;
    std::vector<bool> one;
  };

  bool segmentAt(const Segment& segment, std::string_view text, size_t pos) const;
  bool matchGlob(std::string_view text) const;

  Shape shape_ = Shape::kExact;
  bool cased_ = false;
  bool anchored_start_ = true;
  bool anchored_end_ = true;
  std::string literal_;            // the fast paths' needle, folded unless cased_
  std::vector<Segment> segments_;  // kGlob only
};

}  // namespace trailwatch::engine
