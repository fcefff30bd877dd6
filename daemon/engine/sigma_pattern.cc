#include "daemon/engine/sigma_pattern.h"

#include <algorithm>
#include <cstddef>

#include "daemon/common/ascii.h"

namespace trailwatch::engine {
namespace {

using ascii::toLower;

// `needle` is already folded when !cased.
bool equalAt(std::string_view text, size_t pos, std::string_view needle, bool cased) {
  if (pos > text.size() || needle.size() > text.size() - pos) return false;
  if (cased) return text.compare(pos, needle.size(), needle) == 0;
  for (size_t i = 0; i < needle.size(); ++i) {
    if (toLower(text[pos + i]) != needle[i]) return false;
  }
  return true;
}

bool containsAt(std::string_view text, std::string_view needle, bool cased) {
  if (cased) return text.find(needle) != std::string_view::npos;
  if (needle.size() > text.size()) return false;
  const size_t last = text.size() - needle.size();
  for (size_t pos = 0; pos <= last; ++pos) {
    if (equalAt(text, pos, needle, false)) return true;
  }
  return false;
}

bool matchAnchored(std::string_view text, std::string_view needle, SigmaPattern::Anchor anchor,
                   bool cased) {
  switch (anchor) {
    case SigmaPattern::Anchor::kWhole:
      return text.size() == needle.size() && equalAt(text, 0, needle, cased);
    case SigmaPattern::Anchor::kStartsWith:
      return equalAt(text, 0, needle, cased);
    case SigmaPattern::Anchor::kEndsWith:
      return needle.size() <= text.size() &&
             equalAt(text, text.size() - needle.size(), needle, cased);
    case SigmaPattern::Anchor::kContains:
      return containsAt(text, needle, cased);
  }
  return false;
}

}  // namespace

SigmaPattern SigmaPattern::compile(std::string_view value, Anchor anchor, bool cased) {
  SigmaPattern p;
  p.cased_ = cased;

  // Split at unescaped `*` into segments; `?` stays inside a segment, marked.
  std::vector<Segment> parts(1);
  bool has_one = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size() &&
        (value[i + 1] == '*' || value[i + 1] == '?' || value[i + 1] == '\\')) {
      c = value[++i];
    } else if (c == '*') {
      parts.emplace_back();
      continue;
    } else if (c == '?') {
      parts.back().text.push_back('?');
      parts.back().one.resize(parts.back().text.size(), false);
      parts.back().one.back() = true;
      has_one = true;
      continue;
    }
    parts.back().text.push_back(cased ? c : toLower(c));
    if (!parts.back().one.empty()) parts.back().one.push_back(false);
  }
  for (auto& part : parts) {
    if (!part.one.empty()) part.one.resize(part.text.size(), false);
  }
  const bool leading_star = parts.size() > 1 && parts.front().text.empty();
  const bool trailing_star = parts.size() > 1 && parts.back().text.empty();
  p.anchored_start_ = !leading_star && (anchor == Anchor::kWhole || anchor == Anchor::kStartsWith);
  p.anchored_end_ = !trailing_star && (anchor == Anchor::kWhole || anchor == Anchor::kEndsWith);
  std::erase_if(parts, [](const Segment& s) { return s.text.empty(); });

  if (parts.empty()) {
    p.shape_ = (p.anchored_start_ && p.anchored_end_) ? Shape::kExact : Shape::kAny;
    return p;
  }
  if (!has_one && parts.size() == 1) {
    p.literal_ = std::move(parts.front().text);
    if (p.anchored_start_ && p.anchored_end_) {
      p.shape_ = Shape::kExact;
    } else if (p.anchored_start_) {
      p.shape_ = Shape::kPrefix;
    } else if (p.anchored_end_) {
      p.shape_ = Shape::kSuffix;
    } else {
      p.shape_ = Shape::kContains;
    }
    return p;
  }
  p.shape_ = Shape::kGlob;
  p.segments_ = std::move(parts);
  return p;
}

bool SigmaPattern::matchLiteral(std::string_view text, std::string_view literal, Anchor anchor,
                                bool cased) {
  if (cased) return matchAnchored(text, literal, anchor, true);
  // Both sides come from the event here, so the needle must be folded too;
  // compare pairwise instead of copying it.
  auto eq = [](char a, char b) { return toLower(a) == toLower(b); };
  switch (anchor) {
    case Anchor::kWhole:
      return text.size() == literal.size() &&
             std::equal(text.begin(), text.end(), literal.begin(), eq);
    case Anchor::kStartsWith:
      return literal.size() <= text.size() &&
             std::equal(literal.begin(), literal.end(), text.begin(), eq);
    case Anchor::kEndsWith:
      return literal.size() <= text.size() &&
             std::equal(literal.begin(), literal.end(),
                        text.end() - static_cast<std::ptrdiff_t>(literal.size()), eq);
    case Anchor::kContains:
      return std::search(text.begin(), text.end(), literal.begin(), literal.end(), eq) !=
                 text.end() ||
             literal.empty();
  }
  return false;
}

bool SigmaPattern::matches(std::string_view text) const {
  switch (shape_) {
    case Shape::kAny:
      return true;
    case Shape::kExact:
      return matchAnchored(text, literal_, Anchor::kWhole, cased_);
    case Shape::kPrefix:
      return matchAnchored(text, literal_, Anchor::kStartsWith, cased_);
    case Shape::kSuffix:
      return matchAnchored(text, literal_, Anchor::kEndsWith, cased_);
    case Shape::kContains:
      return matchAnchored(text, literal_, Anchor::kContains, cased_);
    case Shape::kGlob:
      return matchGlob(text);
  }
  return false;
}

bool SigmaPattern::segmentAt(const Segment& segment, std::string_view text, size_t pos) const {
  if (segment.one.empty()) return equalAt(text, pos, segment.text, cased_);
  if (pos > text.size() || segment.text.size() > text.size() - pos) return false;
  for (size_t i = 0; i < segment.text.size(); ++i) {
    if (segment.one[i]) continue;
    const char c = cased_ ? text[pos + i] : toLower(text[pos + i]);
    if (c != segment.text[i]) return false;
  }
  return true;
}

// Segments between stars are placed leftmost-first: with only `*` between
// them, the leftmost fit never rules out a match a later fit would allow, so
// this is linear in the number of segments (times the naive search per segment).
bool SigmaPattern::matchGlob(std::string_view text) const {
  size_t first = 0;
  size_t last = segments_.size();
  size_t begin = 0;
  size_t end = text.size();
  if (anchored_start_) {
    if (!segmentAt(segments_.front(), text, 0)) return false;
    begin = segments_.front().text.size();
    first = 1;
  }
  if (anchored_end_) {
    if (first == last) return begin == end;
    const Segment& tail = segments_.back();
    if (tail.text.size() > end - begin) return false;
    if (!segmentAt(tail, text, end - tail.text.size())) return false;
    end -= tail.text.size();
    --last;
  }
  for (size_t k = first; k < last; ++k) {
    const Segment& segment = segments_[k];
    bool found = false;
    for (size_t pos = begin; pos + segment.text.size() <= end; ++pos) {
      if (segmentAt(segment, text, pos)) {
        begin = pos + segment.text.size();
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace trailwatch::engine
