#include "services/query/query_parser.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/analysis/utf8.h"
#include "common/status/status_macros.h"

namespace sift::query {
namespace {

// Separators of the query language. Other Unicode spaces stay inside words,
// where the analyzer splits on them anyway.
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

// Bytes of the UTF-8 sequence that starts with `lead` (the query has been
// validated, so `lead` is never a continuation byte).
size_t SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xe) return 3;
  return 4;
}

bool IsFieldName(absl::string_view s) {
  if (s.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(s[0]))) {
    return false;
  }
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

std::optional<QueryField> FieldFromName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "title") return QueryField::kTitle;
  if (lower == "body") return QueryField::kBody;
  if (lower == "source") return QueryField::kSource;
  if (lower == "tag" || lower == "tags") return QueryField::kTag;
  return std::nullopt;
}

enum class TokenKind {
  kEnd,
  kLParen,
  kRParen,
  kPlus,
  kMinus,
  kAnd,
  kOr,
  kNot,
  kWord,
  kPhrase,
  kField,
  // `*` or `*:*`: every document.
  kStar,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  // Byte range of the token in the query.
  size_t begin = 0;
  size_t end = 0;
  // kWord and kPhrase: the text, escapes removed. kField: the name as
  // written.
  std::string text;
  // kPhrase: the N of `"..."~N`.
  uint32_t slop = 0;
  // kWord: written with an unescaped '*' at the end (not part of `text`).
  bool prefix = false;
  // kWord: written as `word~` or `word~N`; the edits allowed (else 0).
  uint32_t fuzzy_edits = 0;
};

// One operand of a sequence and whether AND (rather than OR) joins it to the
// operand before it.
struct Item {
  bool and_before = false;
  QueryClause clause;
};

// Recursive descent over a one-token lookahead. Precedence, from tightest:
// field prefixes and +/-, NOT, AND, OR; an implicit operator between
// adjacent clauses is the default operator.
class Parser {
 public:
  Parser(absl::string_view query, const ParserOptions& options)
      : query_(query), options_(options) {}

  absl::StatusOr<QueryExpr> Parse() {
    SIFT_RETURN_IF_ERROR(Advance());
    SIFT_ASSIGN_OR_RETURN(QueryExpr expr,
                          ParseSequence(0, QueryField::kAll, std::nullopt));
    // ParseSequence stops only at the end or at a ')' it reports itself.
    return expr;
  }

 private:
  // 1-based column, in characters, of the byte at `offset`.
  size_t Column(size_t offset) const {
    size_t column = 1;
    for (size_t i = 0; i < offset && i < query_.size(); ++i) {
      if ((static_cast<unsigned char>(query_[i]) & 0xc0) != 0x80) ++column;
    }
    return column;
  }

  absl::Status ErrorAt(size_t offset, absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat("query: column ", Column(offset), ": ", message));
  }

  static std::string Describe(const Token& token) {
    switch (token.kind) {
      case TokenKind::kEnd:
        return "the end of the query";
      case TokenKind::kLParen:
        return "'('";
      case TokenKind::kRParen:
        return "')'";
      case TokenKind::kPlus:
        return "'+'";
      case TokenKind::kMinus:
        return "'-'";
      case TokenKind::kAnd:
        return "'AND'";
      case TokenKind::kOr:
        return "'OR'";
      case TokenKind::kNot:
        return "'NOT'";
      case TokenKind::kWord:
        return absl::StrCat("'", token.text, "'");
      case TokenKind::kPhrase:
        return absl::StrCat("\"", token.text, "\"");
      case TokenKind::kField:
        return absl::StrCat("'", token.text, ":'");
      case TokenKind::kStar:
        return absl::StrCat("'", token.text, "'");
    }
    return "?";
  }

  // Lexes the token at pos_ into token_.
  absl::Status Advance() {
    while (pos_ < query_.size() && IsSpace(query_[pos_])) ++pos_;
    token_ = Token();
    token_.begin = pos_;
    if (pos_ == query_.size()) {
      token_.end = pos_;
      return absl::OkStatus();
    }
    const char c = query_[pos_];
    if (c == '(' || c == ')') {
      token_.kind = c == '(' ? TokenKind::kLParen : TokenKind::kRParen;
      token_.end = ++pos_;
      return absl::OkStatus();
    }
    if (c == '"') return LexPhrase();
    // A sign is a modifier only when a clause follows at once; otherwise it
    // starts an ordinary word, as in `pre - post` or `--` (which analyze to
    // nothing and drop out of the query).
    if ((c == '+' || c == '-') && pos_ + 1 < query_.size() &&
        !IsSpace(query_[pos_ + 1]) && query_[pos_ + 1] != ')' &&
        query_[pos_ + 1] != '+' && query_[pos_ + 1] != '-') {
      token_.kind = c == '+' ? TokenKind::kPlus : TokenKind::kMinus;
      token_.end = ++pos_;
      return absl::OkStatus();
    }
    return LexWord();
  }

  absl::Status LexWord() {
    const size_t begin = pos_;
    bool escaped = false;              // any escape in the word
    bool last_escaped = false;         // the last character came from an escape
    size_t tilde = std::string::npos;  // in text: the last unescaped '~'
    size_t tilde_offset = 0;           // in the query: that '~'
    size_t i = pos_;
    while (i < query_.size()) {
      const char c = query_[i];
      if (IsSpace(c) || c == '(' || c == ')' || c == '"') break;
      if (c == '\\') {
        if (i + 1 == query_.size()) {
          return ErrorAt(i,
                         "'\\' at the end of the query escapes nothing; write "
                         "'\\\\' for a backslash");
        }
        const size_t n =
            SequenceLength(static_cast<unsigned char>(query_[i + 1]));
        token_.text.append(query_.data() + i + 1, n);
        i += 1 + n;
        escaped = true;
        last_escaped = true;
        continue;
      }
      if (c == ':' && !escaped && IsFieldName(token_.text)) {
        token_.kind = TokenKind::kField;
        token_.end = pos_ = i + 1;
        return absl::OkStatus();
      }
      if (c == '~') {
        tilde = token_.text.size();
        tilde_offset = i;
      }
      token_.text.push_back(c);
      last_escaped = false;
      ++i;
    }
    token_.kind = TokenKind::kWord;
    // `word~` or `word~N`: terms within N edits (2 by default) of the word.
    if (tilde != std::string::npos && tilde > 0 && !last_escaped &&
        token_.text.find_first_not_of("0123456789", tilde + 1) ==
            std::string::npos) {
      const std::string digits = token_.text.substr(tilde + 1);
      uint64_t edits = 2;
      if (!digits.empty()) {
        edits = digits.size() > 2 ? 99 : std::stoul(digits);
      }
      if (edits < 1 || edits > 2) {
        return ErrorAt(tilde_offset,
                       "a fuzzy word allows 1 or 2 edits, as in wing~1 or "
                       "wing~ (2)");
      }
      token_.text.resize(tilde);
      token_.fuzzy_edits = static_cast<uint32_t>(edits);
      token_.begin = begin;
      token_.end = pos_ = i;
      return absl::OkStatus();
    }
    // `wing*`: every term that starts with "wing". Only a final, unescaped
    // '*' after at least one character counts; `\*` is a literal star.
    if (!last_escaped && token_.text.size() > 1 && token_.text.back() == '*' &&
        token_.text != "*:*") {
      token_.text.pop_back();
      token_.prefix = true;
      token_.begin = begin;
      token_.end = pos_ = i;
      return absl::OkStatus();
    }
    if (!escaped) {
      if (token_.text == "AND") token_.kind = TokenKind::kAnd;
      if (token_.text == "OR") token_.kind = TokenKind::kOr;
      if (token_.text == "NOT") token_.kind = TokenKind::kNot;
      if (token_.text == "*" || token_.text == "*:*") {
        token_.kind = TokenKind::kStar;
      }
    }
    token_.begin = begin;
    token_.end = pos_ = i;
    return absl::OkStatus();
  }

  absl::Status LexPhrase() {
    const size_t open = pos_;
    size_t i = pos_ + 1;
    while (true) {
      if (i >= query_.size()) {
        return ErrorAt(open,
                       "the '\"' opened here is never closed; add a '\"' "
                       "or escape it as '\\\"'");
      }
      const char c = query_[i];
      if (c == '"') break;
      if (c == '\\' && i + 1 < query_.size()) {
        const size_t n =
            SequenceLength(static_cast<unsigned char>(query_[i + 1]));
        token_.text.append(query_.data() + i + 1, n);
        i += 1 + n;
        continue;
      }
      token_.text.push_back(c);
      ++i;
    }
    ++i;  // the closing quote
    if (i < query_.size() && query_[i] == '~') {
      const size_t tilde = i++;
      uint64_t slop = 0;
      size_t digits = 0;
      while (i < query_.size() && absl::ascii_isdigit(query_[i])) {
        if (slop <= options_.max_slop) slop = slop * 10 + (query_[i] - '0');
        ++i;
        ++digits;
      }
      if (digits == 0) {
        return ErrorAt(tilde,
                       "expected a number after '~', as in \"big cat\"~2");
      }
      if (slop > options_.max_slop) {
        return ErrorAt(tilde, absl::StrCat("phrase slop is over the limit of ",
                                           options_.max_slop));
      }
      token_.slop = static_cast<uint32_t>(slop);
    }
    token_.kind = TokenKind::kPhrase;
    token_.end = pos_ = i;
    return absl::OkStatus();
  }

  absl::Status CountClause() {
    if (++clauses_ > options_.max_clauses) {
      return absl::InvalidArgumentError(
          absl::StrCat("query: more than ", options_.max_clauses,
                       " terms and phrases, the limit; shorten the query or "
                       "use filters"));
    }
    return absl::OkStatus();
  }

  static bool EndsSequence(TokenKind kind) {
    return kind == TokenKind::kEnd || kind == TokenKind::kRParen;
  }
  static bool IsBinaryOperator(TokenKind kind) {
    return kind == TokenKind::kAnd || kind == TokenKind::kOr;
  }

  // Clauses and operators up to the end of the query or, inside
  // parentheses opened at byte `open`, up to the ')' (left as token_).
  absl::StatusOr<QueryExpr> ParseSequence(size_t depth, QueryField field,
                                          std::optional<size_t> open) {
    std::vector<Item> items;
    while (true) {
      if (token_.kind == TokenKind::kEnd) {
        if (open.has_value()) {
          return ErrorAt(query_.size(),
                         absl::StrCat("expected ')' to close '(' opened at "
                                      "column ",
                                      Column(*open)));
        }
        break;
      }
      if (token_.kind == TokenKind::kRParen) {
        if (!open.has_value()) {
          return ErrorAt(token_.begin, "')' has no matching '('");
        }
        break;
      }
      bool and_before = options_.default_operator == DefaultOperator::kAnd;
      if (IsBinaryOperator(token_.kind)) {
        const Token op = token_;
        if (items.empty()) {
          return ErrorAt(op.begin, absl::StrCat(Describe(op),
                                                " needs a clause before it"));
        }
        SIFT_RETURN_IF_ERROR(Advance());
        if (EndsSequence(token_.kind)) {
          return ErrorAt(
              op.begin, absl::StrCat(Describe(op), " needs a clause after it"));
        }
        if (IsBinaryOperator(token_.kind)) {
          return ErrorAt(token_.begin,
                         absl::StrCat("expected a clause after ", Describe(op),
                                      ", found ", Describe(token_)));
        }
        and_before = op.kind == TokenKind::kAnd;
      }
      SIFT_ASSIGN_OR_RETURN(QueryClause clause, ParseUnary(depth, field));
      items.push_back({and_before, std::move(clause)});
    }
    if (items.empty()) return QueryExpr();  // only an empty query gets here
    return Combine(std::move(items));
  }

  // AND binds tighter than OR: split at every OR, AND the runs between.
  static QueryExpr Combine(std::vector<Item> items) {
    std::vector<QueryClause> alternatives;
    std::vector<QueryClause> run;
    auto flush = [&] {
      if (run.size() == 1) {
        alternatives.push_back(std::move(run[0]));
      } else {
        QueryClause all;
        all.expr.kind = QueryExpr::Kind::kAnd;
        all.expr.clauses = std::move(run);
        alternatives.push_back(std::move(all));
      }
      run.clear();
    };
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0 && !items[i].and_before) flush();
      run.push_back(std::move(items[i].clause));
    }
    flush();
    if (alternatives.size() == 1 && alternatives[0].occur == Occur::kDefault) {
      return std::move(alternatives[0].expr);
    }
    QueryExpr any;
    any.kind = QueryExpr::Kind::kOr;
    any.clauses = std::move(alternatives);
    return any;
  }

  // NOT*, then an optional + or -, then a primary.
  absl::StatusOr<QueryClause> ParseUnary(size_t depth, QueryField field) {
    bool negated = false;
    bool required = false;
    while (token_.kind == TokenKind::kNot) {
      const Token not_token = token_;
      negated = !negated;
      SIFT_RETURN_IF_ERROR(Advance());
      if (EndsSequence(token_.kind) || IsBinaryOperator(token_.kind)) {
        return ErrorAt(not_token.begin, "'NOT' needs a clause after it");
      }
    }
    std::optional<Token> modifier;
    if (token_.kind == TokenKind::kPlus || token_.kind == TokenKind::kMinus) {
      modifier = token_;
      if (token_.kind == TokenKind::kMinus) {
        negated = !negated;
      } else {
        required = true;
      }
      SIFT_RETURN_IF_ERROR(Advance());
    }
    QueryClause clause;
    SIFT_ASSIGN_OR_RETURN(
        clause.expr,
        ParsePrimary(depth, field, modifier ? &*modifier : nullptr));
    clause.occur = negated    ? Occur::kExcluded
                   : required ? Occur::kRequired
                              : Occur::kDefault;
    return clause;
  }

  // A word, a phrase, a parenthesised group, or one of these after a field
  // prefix. `after` is the token that demanded it, for error messages.
  absl::StatusOr<QueryExpr> ParsePrimary(size_t depth, QueryField field,
                                         const Token* after) {
    QueryExpr expr;
    switch (token_.kind) {
      case TokenKind::kWord:
      case TokenKind::kPhrase:
        SIFT_RETURN_IF_ERROR(CountClause());
        expr.kind = token_.kind == TokenKind::kPhrase ? QueryExpr::Kind::kPhrase
                    : token_.prefix                   ? QueryExpr::Kind::kPrefix
                    : token_.fuzzy_edits > 0          ? QueryExpr::Kind::kFuzzy
                                                      : QueryExpr::Kind::kTerm;
        expr.max_edits = token_.fuzzy_edits;
        expr.field = field;
        expr.text = std::move(token_.text);
        expr.slop = token_.slop;
        SIFT_RETURN_IF_ERROR(Advance());
        return expr;
      case TokenKind::kStar:
        if (field != QueryField::kAll) {
          return ErrorAt(token_.begin,
                         absl::StrCat("'", token_.text,
                                      "' (every document) cannot be scoped to "
                                      "a field"));
        }
        SIFT_RETURN_IF_ERROR(CountClause());
        SIFT_RETURN_IF_ERROR(Advance());
        return expr;  // kMatchAll
      case TokenKind::kLParen: {
        const size_t open = token_.begin;
        if (depth + 1 > options_.max_depth) {
          return ErrorAt(
              open, absl::StrCat("parentheses nested deeper than ",
                                 options_.max_depth, " levels, the limit"));
        }
        SIFT_RETURN_IF_ERROR(Advance());
        if (token_.kind == TokenKind::kRParen) {
          return ErrorAt(open, "empty parentheses '()'");
        }
        SIFT_ASSIGN_OR_RETURN(expr, ParseSequence(depth + 1, field, open));
        SIFT_RETURN_IF_ERROR(Advance());  // the ')'
        return expr;
      }
      case TokenKind::kField: {
        const Token prefix = token_;
        std::optional<QueryField> scoped = FieldFromName(prefix.text);
        if (!scoped.has_value()) {
          return ErrorAt(prefix.begin,
                         absl::StrCat("unknown field '", prefix.text,
                                      "'; the fields are title, body, source "
                                      "and tag (or tags); write '\\:' for a "
                                      "literal colon"));
        }
        SIFT_RETURN_IF_ERROR(Advance());
        if (token_.kind != TokenKind::kWord &&
            token_.kind != TokenKind::kPhrase &&
            token_.kind != TokenKind::kLParen &&
            token_.kind != TokenKind::kStar) {
          return ErrorAt(
              token_.begin,
              absl::StrCat("expected a term, phrase or '(' after ",
                           Describe(prefix), ", found ", Describe(token_)));
        }
        return ParsePrimary(depth, *scoped, &prefix);
      }
      default:
        break;
    }
    if (after != nullptr) {
      return ErrorAt(
          token_.begin,
          absl::StrCat("expected a term, phrase or '(' after ",
                       Describe(*after), ", found ", Describe(token_)));
    }
    return ErrorAt(token_.begin,
                   absl::StrCat("expected a term, phrase or '(', found ",
                                Describe(token_)));
  }

  const absl::string_view query_;
  const ParserOptions& options_;
  size_t pos_ = 0;
  Token token_;
  size_t clauses_ = 0;
};

void AppendDebugString(const QueryExpr& expr, std::string* out) {
  switch (expr.kind) {
    case QueryExpr::Kind::kMatchAll:
      out->append("*:*");
      return;
    case QueryExpr::Kind::kTerm:
    case QueryExpr::Kind::kPrefix:
    case QueryExpr::Kind::kFuzzy:
    case QueryExpr::Kind::kPhrase: {
      if (expr.field != QueryField::kAll) {
        absl::StrAppend(out, FieldName(expr.field), ":");
      }
      if (expr.kind == QueryExpr::Kind::kTerm) {
        out->append(expr.text);
      } else if (expr.kind == QueryExpr::Kind::kPrefix) {
        absl::StrAppend(out, expr.text, "*");
      } else if (expr.kind == QueryExpr::Kind::kFuzzy) {
        absl::StrAppend(out, expr.text, "~", expr.max_edits);
      } else {
        absl::StrAppend(out, "\"", expr.text, "\"");
        if (expr.slop > 0) absl::StrAppend(out, "~", expr.slop);
      }
      return;
    }
    case QueryExpr::Kind::kAnd:
    case QueryExpr::Kind::kOr:
      out->append(expr.kind == QueryExpr::Kind::kAnd ? "(AND" : "(OR");
      for (const QueryClause& clause : expr.clauses) {
        out->append(" ");
        if (clause.occur == Occur::kRequired) out->append("+");
        if (clause.occur == Occur::kExcluded) out->append("-");
        AppendDebugString(clause.expr, out);
      }
      out->append(")");
      return;
  }
}

}  // namespace

absl::StatusOr<QueryExpr> ParseQuery(absl::string_view query,
                                     const ParserOptions& options) {
  if (query.size() > options.max_query_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("query: ", query.size(), " bytes is over the limit of ",
                     options.max_query_bytes, " bytes"));
  }
  if (std::optional<analysis::Utf8Error> bad =
          analysis::FindInvalidUtf8(query)) {
    size_t column = 1;
    for (size_t i = 0; i < bad->offset; ++i) {
      if ((static_cast<unsigned char>(query[i]) & 0xc0) != 0x80) ++column;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "query: column ", column, ": not valid UTF-8 (", bad->reason, ")"));
  }
  return Parser(query, options).Parse();
}

std::string DebugString(const QueryExpr& expr) {
  std::string out;
  AppendDebugString(expr, &out);
  return out;
}

absl::string_view FieldName(QueryField field) {
  switch (field) {
    case QueryField::kAll:
      return "";
    case QueryField::kTitle:
      return "title";
    case QueryField::kBody:
      return "body";
    case QueryField::kSource:
      return "source";
    case QueryField::kTag:
      return "tag";
  }
  return "";
}

}  // namespace sift::query
