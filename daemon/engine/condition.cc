#include "daemon/engine/condition.h"

#include <cctype>
#include <optional>

#include "daemon/common/ascii.h"
#include "daemon/engine/sigma_pattern.h"

namespace trailwatch::engine {
namespace {

// Deep enough for any hand-written condition; bounds the recursion of both
// the parser and the evaluator against hostile rule files.
constexpr int kMaxDepth = 64;

struct Token {
  enum class Kind : uint8_t { kWord, kOpen, kClose, kPipe, kEnd };
  Kind kind = Kind::kEnd;
  std::string_view text;
  size_t column = 0;  // 1-based, in the condition text
};

bool keywordIs(std::string_view word, std::string_view keyword) {
  return ascii::equalsFolded(word, keyword);
}

bool isReserved(std::string_view word) {
  return keywordIs(word, "and") || keywordIs(word, "or") || keywordIs(word, "not") ||
         keywordIs(word, "of") || keywordIs(word, "them");
}

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    Token t;
    t.column = i + 1;
    if (c == '(' || c == ')' || c == '|') {
      t.kind = c == '(' ? Token::Kind::kOpen : c == ')' ? Token::Kind::kClose : Token::Kind::kPipe;
      t.text = text.substr(i, 1);
      ++i;
    } else {
      const size_t start = i;
      while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) &&
             text[i] != '(' && text[i] != ')' && text[i] != '|') {
        ++i;
      }
      t.kind = Token::Kind::kWord;
      t.text = text.substr(start, i - start);
    }
    tokens.push_back(t);
  }
  Token end;
  end.column = text.size() + 1;
  tokens.push_back(end);
  return tokens;
}

class Parser {
 public:
  Parser(Condition& out, std::string_view text, std::span<const std::string> identifiers)
      : out_(out), tokens_(tokenize(text)), identifiers_(identifiers) {}

  Result<uint32_t> run() {
    auto root = parseOr(0);
    if (!root) return root;
    if (peek().kind != Token::Kind::kEnd)
      return unexpected(peek(), "expected 'and', 'or' or the end");
    return root;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& take() { return tokens_[pos_ == tokens_.size() - 1 ? pos_ : pos_++]; }
  bool peekKeyword(std::string_view keyword) const {
    return peek().kind == Token::Kind::kWord && keywordIs(peek().text, keyword);
  }

  Error unexpected(const Token& t, std::string_view expected) const {
    if (t.kind == Token::Kind::kPipe) {
      return Error{"condition column " + std::to_string(t.column) +
                   ": aggregation expressions ('| count() ...') are not supported; write a "
                   "correlation rule instead"};
    }
    std::string found =
        t.kind == Token::Kind::kEnd ? "end of condition" : "'" + std::string(t.text) + "'";
    return Error{"condition syntax error at column " + std::to_string(t.column) + ": unexpected " +
                 found + ", " + std::string(expected)};
  }

  Result<uint32_t> parseBinary(int depth, std::string_view keyword, ConditionNode::Op op,
                               Result<uint32_t> (Parser::*operand)(int)) {
    auto first = (this->*operand)(depth);
    if (!first) return first;
    if (!peekKeyword(keyword)) return first;
    std::vector<uint32_t> children{*first};
    while (peekKeyword(keyword)) {
      take();
      auto next = (this->*operand)(depth);
      if (!next) return next;
      children.push_back(*next);
    }
    return out_.addNode(op, children);
  }

  Result<uint32_t> parseOr(int depth) {
    if (depth > kMaxDepth) return Error{"condition is nested too deeply"};
    return parseBinary(depth, "or", ConditionNode::Op::kOr, &Parser::parseAnd);
  }
  Result<uint32_t> parseAnd(int depth) {
    return parseBinary(depth, "and", ConditionNode::Op::kAnd, &Parser::parseNot);
  }
  Result<uint32_t> parseNot(int depth) {
    if (!peekKeyword("not")) return parsePrimary(depth);
    if (depth > kMaxDepth) return Error{"condition is nested too deeply"};
    take();
    auto child = parseNot(depth + 1);
    if (!child) return child;
    const uint32_t only = *child;
    return out_.addNode(ConditionNode::Op::kNot, std::span<const uint32_t>(&only, 1));
  }

  Result<uint32_t> parsePrimary(int depth) {
    const Token& t = take();
    if (t.kind == Token::Kind::kOpen) {
      auto inner = parseOr(depth + 1);
      if (!inner) return inner;
      if (peek().kind != Token::Kind::kClose) return unexpected(peek(), "expected ')'");
      take();
      return inner;
    }
    if (t.kind != Token::Kind::kWord) return unexpected(t, "expected a search identifier");
    const bool one = t.text == "1";
    if ((one || keywordIs(t.text, "all")) && peekKeyword("of")) {
      take();
      return parseQuantifier(one, t);
    }
    if (isReserved(t.text) || keywordIs(t.text, "all")) {
      return unexpected(t, "expected a search identifier");
    }
    for (size_t i = 0; i < identifiers_.size(); ++i) {
      if (identifiers_[i] == t.text) return out_.addSearch(static_cast<uint32_t>(i));
    }
    return Error{"condition column " + std::to_string(t.column) +
                 ": undefined search identifier '" + std::string(t.text) + "'"};
  }

  Result<uint32_t> parseQuantifier(bool one, const Token& quantifier) {
    const Token& target = take();
    if (target.kind != Token::Kind::kWord ||
        (isReserved(target.text) && !keywordIs(target.text, "them"))) {
      return unexpected(target, "expected 'them' or an identifier pattern after 'of'");
    }
    std::vector<uint32_t> searches;
    if (keywordIs(target.text, "them")) {
      // The spec keeps `_`-prefixed identifiers out of `them`: they are
      // helpers meant to be referenced explicitly.
      for (size_t i = 0; i < identifiers_.size(); ++i) {
        if (!identifiers_[i].starts_with('_'))
          searches.push_back(out_.addSearch(static_cast<uint32_t>(i)));
      }
    } else {
      const SigmaPattern pattern =
          SigmaPattern::compile(target.text, SigmaPattern::Anchor::kWhole, /*cased=*/true);
      for (size_t i = 0; i < identifiers_.size(); ++i) {
        if (pattern.matches(identifiers_[i]))
          searches.push_back(out_.addSearch(static_cast<uint32_t>(i)));
      }
    }
    if (searches.empty()) {
      return Error{"condition column " + std::to_string(quantifier.column) + ": '" +
                   std::string(quantifier.text) + " of " + std::string(target.text) +
                   "' matches no search identifier"};
    }
    if (searches.size() == 1) return searches.front();
    return out_.addNode(one ? ConditionNode::Op::kOr : ConditionNode::Op::kAnd, searches);
  }

  Condition& out_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::span<const std::string> identifiers_;
};

}  // namespace

Result<uint32_t> Condition::parse(std::string_view text, std::span<const std::string> identifiers) {
  return Parser(*this, text, identifiers).run();
}

uint32_t Condition::addNode(ConditionNode::Op op, std::span<const uint32_t> children) {
  ConditionNode n;
  n.op = op;
  n.first_child = static_cast<uint32_t>(children_.size());
  n.child_count = static_cast<uint32_t>(children.size());
  children_.insert(children_.end(), children.begin(), children.end());
  nodes_.push_back(n);
  return static_cast<uint32_t>(nodes_.size() - 1);
}

uint32_t Condition::addSearch(uint32_t search) {
  ConditionNode n;
  n.op = ConditionNode::Op::kSearch;
  n.search = search;
  nodes_.push_back(n);
  return static_cast<uint32_t>(nodes_.size() - 1);
}

}  // namespace trailwatch::engine
