#include "services/query/query_parser.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

// `published_at:` and its alias `date:` (the name JSON ingest accepts too)
// introduce a date range rather than a term.
bool IsDateFieldName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  return lower == "published_at" || lower == "date";
}

constexpr int64_t kSecondsPerDay = 86'400;

bool IsLeapYear(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Days from 1970-01-01 to the given date of the proleptic Gregorian
// calendar (the days_from_civil algorithm of Howard Hinnant).
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year =
      (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146'097 + day_of_era - 719'468;
}

DateTime StartOfDay(int64_t year, int month, int day) {
  return {DaysFromCivil(year, month, day) * kSecondsPerDay, 0};
}

// The period [start, end) a date of the query language denotes.
struct ParsedDate {
  DateTime start;
  DateTime end;
};

// Reads one date; on failure, error() says why in a phrase for the caller
// to place in a message.
class DateParser {
 public:
  explicit DateParser(absl::string_view text) : text_(text) {}

  // YYYY, YYYY-MM, YYYY-MM-DD, or an RFC 3339 timestamp
  // (YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)); UTC unless an
  // offset says otherwise.
  std::optional<ParsedDate> Parse() {
    int year = 0, month = 0, day = 0;
    if (!Digits(4, &year)) return Fail("a date starts with a 4-digit year");
    if (year == 0) return Fail("years run from 0001 to 9999");
    if (AtEnd()) {
      return ParsedDate{StartOfDay(year, 1, 1),
                        StartOfDay(int64_t{year} + 1, 1, 1)};
    }
    if (!Skip('-') || !Digits(2, &month)) {
      return Fail("expected '-' and a 2-digit month after the year");
    }
    if (month < 1 || month > 12) return Fail("the month must be 01 to 12");
    if (AtEnd()) {
      return ParsedDate{StartOfDay(year, month, 1),
                        month == 12 ? StartOfDay(int64_t{year} + 1, 1, 1)
                                    : StartOfDay(year, month + 1, 1)};
    }
    if (!Skip('-') || !Digits(2, &day)) {
      return Fail("expected '-' and a 2-digit day after the month");
    }
    if (day < 1 || day > DaysInMonth(year, month)) {
      return Fail(absl::StrCat("the day must be 01 to ",
                               DaysInMonth(year, month), " in that month"));
    }
    const DateTime midnight = StartOfDay(year, month, day);
    if (AtEnd()) {
      return ParsedDate{midnight, {midnight.seconds + kSecondsPerDay, 0}};
    }
    return ParseTime(midnight);
  }

  const std::string& error() const { return error_; }

 private:
  std::optional<ParsedDate> ParseTime(DateTime midnight) {
    if (!Skip('T') && !Skip('t')) {
      return Fail(
          "expected 'T' and a time after the day, as in 2021-03-04T05:06:07Z");
    }
    int hour = 0, minute = 0, second = 0;
    if (!Digits(2, &hour) || !Skip(':') || !Digits(2, &minute) || !Skip(':') ||
        !Digits(2, &second)) {
      return Fail("expected the time as HH:MM:SS after 'T'");
    }
    if (hour > 23 || minute > 59 || second > 59) {
      return Fail(
          "the time must be 00:00:00 to 23:59:59 (leap seconds are not "
          "supported)");
    }
    int32_t nanos = 0;
    if (Skip('.')) {
      int digits = 0;
      while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) {
        if (++digits > 9) {
          return Fail("at most 9 fractional digits (nanoseconds)");
        }
        nanos = nanos * 10 + (text_[pos_++] - '0');
      }
      if (digits == 0) return Fail("expected digits after '.'");
      for (; digits < 9; ++digits) nanos *= 10;
    }
    int64_t offset = 0;
    if (!Skip('Z') && !Skip('z')) {
      const bool west = pos_ < text_.size() && text_[pos_] == '-';
      int offset_hours = 0, offset_minutes = 0;
      if (!(Skip('+') || Skip('-')) || !Digits(2, &offset_hours) ||
          !Skip(':') || !Digits(2, &offset_minutes)) {
        return Fail(
            "expected the time zone after the time: Z, or an offset such as "
            "+01:00");
      }
      if (offset_hours > 23 || offset_minutes > 59) {
        return Fail("the offset must be -23:59 to +23:59");
      }
      offset = (offset_hours * 3600 + offset_minutes * 60) * (west ? -1 : 1);
    }
    if (!AtEnd()) return Fail("unexpected characters after the time zone");
    const DateTime t{
        midnight.seconds + hour * 3600 + minute * 60 + second - offset, nanos};
    if (t < kFirstDateTime || t >= kEndOfDateTime) {
      return Fail("it lies outside years 0001 to 9999 in UTC");
    }
    // A timestamp denotes one nanosecond.
    const DateTime next = nanos == 999'999'999 ? DateTime{t.seconds + 1, 0}
                                               : DateTime{t.seconds, nanos + 1};
    return ParsedDate{t, next};
  }

  bool AtEnd() const { return pos_ == text_.size(); }

  bool Skip(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool Digits(size_t n, int* out) {
    if (pos_ + n > text_.size()) return false;
    int value = 0;
    for (size_t k = 0; k < n; ++k) {
      const char c = text_[pos_ + k];
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
      value = value * 10 + (c - '0');
    }
    pos_ += n;
    *out = value;
    return true;
  }

  std::nullopt_t Fail(absl::string_view why) {
    error_ = std::string(why);
    return std::nullopt;
  }

  const absl::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

// Characters that end a date or `*` in a range: separators of the language
// and the brackets.
bool EndsDateWord(char c) {
  return IsSpace(c) || c == '(' || c == ')' || c == '"' || c == '[' ||
         c == ']' || c == '{' || c == '}';
}

std::string RangeText(const QueryExpr& range) {
  return absl::StrCat(range.lower && !range.lower->inclusive ? "{" : "[",
                      range.lower ? range.lower->text : "*", " TO ",
                      range.upper ? range.upper->text : "*",
                      range.upper && !range.upper->inclusive ? "}" : "]");
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
                       " clauses (terms, phrases, prefixes, fuzzy terms, "
                       "date ranges), the limit; shorten the query or use "
                       "filters"));
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
        if (IsDateFieldName(prefix.text)) {
          SIFT_RETURN_IF_ERROR(CountClause());
          return ParseDateRange(prefix);
        }
        std::optional<QueryField> scoped = FieldFromName(prefix.text);
        if (!scoped.has_value()) {
          return ErrorAt(prefix.begin,
                         absl::StrCat("unknown field '", prefix.text,
                                      "'; the fields are title, body, source, "
                                      "tag (or tags) and published_at (or "
                                      "date); write '\\:' for a literal "
                                      "colon"));
        }
        SIFT_RETURN_IF_ERROR(Advance());
        if (token_.kind == TokenKind::kWord && LooksLikeRange(token_.begin)) {
          return ErrorAt(token_.begin,
                         absl::StrCat("ranges apply only to published_at (or "
                                      "date), not to ",
                                      FieldName(*scoped)));
        }
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

  // `[`, `{`, or a comparison with a digit after it: what a range on
  // published_at would look like, at byte `offset`.
  bool LooksLikeRange(size_t offset) const {
    const absl::string_view rest = query_.substr(offset);
    if (rest.empty()) return false;
    if (rest[0] == '[' || rest[0] == '{') return true;
    if (rest[0] != '<' && rest[0] != '>') return false;
    const size_t digit = rest.size() > 1 && rest[1] == '=' ? 2 : 1;
    return rest.size() > digit &&
           absl::ascii_isdigit(static_cast<unsigned char>(rest[digit]));
  }

  void SkipSpaces(size_t* i) const {
    while (*i < query_.size() && IsSpace(query_[*i])) ++*i;
  }

  // The date (or `*`) at byte `*i`, up to a space or bracket; moves past it.
  absl::string_view ScanDateWord(size_t* i) const {
    const size_t begin = *i;
    while (*i < query_.size() && !EndsDateWord(query_[*i])) ++*i;
    return query_.substr(begin, *i - begin);
  }

  // What stands at byte `offset`, for error messages.
  std::string DescribeAt(size_t offset) const {
    if (offset >= query_.size()) return "the end of the query";
    size_t end = offset;
    const absl::string_view word = ScanDateWord(&end);
    if (word.empty()) return absl::StrCat("'", query_.substr(offset, 1), "'");
    return absl::StrCat("'", word, "'");
  }

  // One end of a range: the date written at byte `*i` (nullopt for `*` when
  // `star_ok`); `after` names what came before it, for errors.
  absl::StatusOr<std::optional<DateBound>> ParseBound(size_t* i, bool inclusive,
                                                      bool star_ok,
                                                      absl::string_view after) {
    const size_t begin = *i;
    const absl::string_view word = ScanDateWord(i);
    if (word.empty() || word == "TO" || (word == "*" && !star_ok)) {
      return ErrorAt(
          begin, absl::StrCat("expected a date", star_ok ? " or '*'" : "",
                              " after ", after, ", found ", DescribeAt(begin)));
    }
    if (word == "*") return std::nullopt;
    DateParser parser(word);
    std::optional<ParsedDate> date = parser.Parse();
    if (!date.has_value()) {
      return ErrorAt(
          begin, absl::StrCat("'", word, "' is not a date: ", parser.error(),
                              "; write YYYY, YYYY-MM, YYYY-MM-DD or an "
                              "RFC 3339 timestamp such as "
                              "2021-03-04T05:06:07Z"));
    }
    return DateBound{std::string(word), date->start, date->end, inclusive};
  }

  // After `published_at:` (the `field` token, not yet advanced over): a
  // range `[a TO b]` (either bracket either end), a comparison `>=a`, `>a`,
  // `<=a`, `<a`, a single date (its whole period) or `*` (any date).
  absl::StatusOr<QueryExpr> ParseDateRange(const Token& field) {
    QueryExpr expr;
    expr.kind = QueryExpr::Kind::kDateRange;
    const std::string after = absl::StrCat("'", field.text, ":'");
    size_t i = field.end;
    SkipSpaces(&i);
    const char c = i < query_.size() ? query_[i] : '\0';
    if (c == '[' || c == '{') {
      const size_t open = i++;
      SkipSpaces(&i);
      SIFT_ASSIGN_OR_RETURN(
          expr.lower, ParseBound(&i, c == '[', true,
                                 absl::StrCat("'", std::string(1, c), "'")));
      SkipSpaces(&i);
      if (query_.substr(i, 2) != "TO" ||
          (i + 2 < query_.size() && !EndsDateWord(query_[i + 2]))) {
        return ErrorAt(i,
                       absl::StrCat("expected 'TO' after the first date of "
                                    "the range opened at column ",
                                    Column(open), ", found ", DescribeAt(i)));
      }
      i += 2;
      SkipSpaces(&i);
      SIFT_ASSIGN_OR_RETURN(expr.upper, ParseBound(&i, true, true, "'TO'"));
      SkipSpaces(&i);
      if (i == query_.size() || (query_[i] != ']' && query_[i] != '}')) {
        return ErrorAt(i,
                       absl::StrCat("expected ']' or '}' to close the "
                                    "range opened at column ",
                                    Column(open), ", found ", DescribeAt(i)));
      }
      if (expr.upper) expr.upper->inclusive = query_[i] == ']';
      ++i;
    } else if (c == '>' || c == '<') {
      const bool equal = i + 1 < query_.size() && query_[i + 1] == '=';
      const std::string op = absl::StrCat(std::string(1, c), equal ? "=" : "");
      i += op.size();
      SIFT_ASSIGN_OR_RETURN(
          std::optional<DateBound> bound,
          ParseBound(&i, equal, false, absl::StrCat("'", op, "'")));
      (c == '>' ? expr.lower : expr.upper) = std::move(bound);
    } else {
      if (i == query_.size() || EndsDateWord(c)) {
        return ErrorAt(i, absl::StrCat("expected a date, a range such as "
                                       "[2021-01-01 TO 2021-12-31] or a "
                                       "comparison such as >=2021-01-01 "
                                       "after ",
                                       after, ", found ", DescribeAt(i)));
      }
      // A single date is its whole period; `*` is any date.
      SIFT_ASSIGN_OR_RETURN(expr.lower, ParseBound(&i, true, true, after));
      expr.upper = expr.lower;
    }
    const HalfOpenRange range = ToHalfOpen(expr);
    if (range.from.value_or(kFirstDateTime) >=
        range.to.value_or(kEndOfDateTime)) {
      return ErrorAt(
          field.begin,
          absl::StrCat("the date range ", RangeText(expr),
                       " is empty: it would start at ",
                       FormatDateTime(range.from.value_or(kFirstDateTime)),
                       " and end before ",
                       FormatDateTime(range.to.value_or(kEndOfDateTime))));
    }
    pos_ = i;
    SIFT_RETURN_IF_ERROR(Advance());
    return expr;
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
    case QueryExpr::Kind::kDateRange:
      absl::StrAppend(out, "published_at:", RangeText(expr));
      return;
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

HalfOpenRange ToHalfOpen(const QueryExpr& range) {
  HalfOpenRange out;
  if (range.lower) {
    out.from = range.lower->inclusive ? range.lower->start : range.lower->end;
  }
  if (range.upper) {
    out.to = range.upper->inclusive ? range.upper->end : range.upper->start;
    if (*out.to >= kEndOfDateTime) out.to.reset();
  }
  return out;
}

std::string FormatDateTime(const DateTime& t) {
  // civil_from_days (Howard Hinnant), the inverse of DaysFromCivil.
  const int64_t days = t.seconds >= 0
                           ? t.seconds / kSecondsPerDay
                           : -((-t.seconds - 1) / kSecondsPerDay) - 1;
  const int64_t second_of_day = t.seconds - days * kSecondsPerDay;
  const int64_t z = days + 719'468;
  const int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const int64_t day_of_era = z - era * 146'097;
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 +
                               day_of_era / 36'524 - day_of_era / 146'096) /
                              365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  std::string fraction;
  if (t.nanos != 0) {
    int32_t nanos = t.nanos;
    int digits = 9;
    while (digits > 3 && nanos % 1000 == 0) {
      nanos /= 1000;
      digits -= 3;
    }
    fraction = absl::StrFormat(".%0*d", digits, nanos);
  }
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d%sZ", year, month, day,
                         second_of_day / 3600, second_of_day / 60 % 60,
                         second_of_day % 60, fraction);
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
