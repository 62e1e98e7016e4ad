#include "services/ingest/article_parser.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/ingest/internal/text.h"
#include "services/ingest/timestamp_parser.h"

namespace sift::ingest {
namespace {

using internal::CountCodePoints;
using internal::SpaceLengthAt;
using internal::TrimSpace;
using internal::TrimTrailingSpace;

// A byline longer than this (in characters or words) reads as a sentence,
// not a name, so the line stays in the body.
constexpr size_t kMaxBylineChars = 100;
constexpr size_t kMaxBylineWords = 10;
// Trailing lines longer than this are paragraphs, never boilerplate.
constexpr size_t kMaxBoilerplateChars = 200;
// Link and promo lines are shorter still.
constexpr size_t kMaxLinkLineChars = 120;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c));
}
bool IsAlnum(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c));
}

std::vector<absl::string_view> SplitLines(absl::string_view text) {
  std::vector<absl::string_view> lines;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') continue;
    lines.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

size_t SkipSpaces(absl::string_view s, size_t pos) {
  size_t len;
  while ((len = SpaceLengthAt(s, pos)) > 0) pos += len;
  return pos;
}

// The run of ASCII letters at `pos`.
absl::string_view LettersAt(absl::string_view s, size_t pos) {
  size_t end = pos;
  while (end < s.size() && IsLetter(s[end])) ++end;
  return s.substr(pos, end - pos);
}

// Reads 1 to `max_digits` digits at `*pos` (exactly `max_digits` when
// `exact`), refusing a longer run.
std::optional<int> ReadNumber(absl::string_view s, size_t* pos, int max_digits,
                              bool exact) {
  size_t end = *pos;
  int value = 0;
  while (end < s.size() && IsDigit(s[end])) {
    if (static_cast<int>(end - *pos) == max_digits) return std::nullopt;
    value = value * 10 + (s[end++] - '0');
  }
  const int digits = static_cast<int>(end - *pos);
  if (digits == 0 || (exact && digits != max_digits)) return std::nullopt;
  *pos = end;
  return value;
}

int MonthNumber(absl::string_view word) {
  static constexpr const char* kFull[] = {
      "january", "february", "march",     "april",   "may",      "june",
      "july",    "august",   "september", "october", "november", "december"};
  for (int m = 0; m < 12; ++m) {
    const absl::string_view full = kFull[m];
    if (absl::EqualsIgnoreCase(word, full) ||
        absl::EqualsIgnoreCase(word, full.substr(0, 3))) {
      return m + 1;
    }
  }
  if (absl::EqualsIgnoreCase(word, "sept")) return 9;
  return 0;
}

bool IsWeekday(absl::string_view word) {
  static constexpr const char* kNames[] = {
      "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
      "sunday", "mon",     "tue",       "tues",     "wed",    "thu",
      "thur",   "thurs",   "fri",       "sat",      "sun"};
  for (const char* name : kNames) {
    if (absl::EqualsIgnoreCase(word, name)) return true;
  }
  return false;
}

// Skips the ordinal suffix of a day number ("22nd").
size_t SkipOrdinal(absl::string_view s, size_t pos) {
  const absl::string_view word = LettersAt(s, pos);
  for (const char* suffix : {"st", "nd", "rd", "th"}) {
    if (absl::EqualsIgnoreCase(word, suffix)) return pos + 2;
  }
  return pos;
}

std::optional<google::protobuf::Timestamp> MakeDay(int year, int month,
                                                   int day) {
  if (month < 1 || month > 12 || day < 1) return std::nullopt;
  const absl::CivilDay civil(year, month, day);
  if (civil.day() != day) return std::nullopt;  // e.g. February 30
  return TimestampFromDay(civil);
}

// A calendar date at `*pos`, in one of the forms of
// docs/plain-text-articles.md, optionally after a weekday. Advances `*pos`
// past it on success.
std::optional<google::protobuf::Timestamp> ReadDate(absl::string_view s,
                                                    size_t* pos) {
  size_t p = *pos;
  if (absl::string_view word = LettersAt(s, p); IsWeekday(word)) {
    size_t q = p + word.size();
    if (q < s.size() && s[q] == '.') ++q;
    size_t r = SkipSpaces(s, q);
    if (r < s.size() && s[r] == ',') r = SkipSpaces(s, r + 1);
    if (r == q) return std::nullopt;  // "Mondayx"
    p = r;
  }
  std::optional<google::protobuf::Timestamp> date;
  if (p < s.size() && IsDigit(s[p])) {
    size_t q = p;
    std::optional<int> first = ReadNumber(s, &q, 4, /*exact=*/false);
    if (!first) return std::nullopt;
    if (q - p == 4) {
      // 2021-02-22, 2021/02/22 or a whole RFC 3339 timestamp.
      const int year = *first;
      if (q >= s.size() || (s[q] != '-' && s[q] != '/')) return std::nullopt;
      const char sep = s[q++];
      std::optional<int> month = ReadNumber(s, &q, 2, false);
      if (!month || q >= s.size() || s[q] != sep) return std::nullopt;
      ++q;
      std::optional<int> day = ReadNumber(s, &q, 2, false);
      if (!day) return std::nullopt;
      if (sep == '-' && q < s.size() && (s[q] == 'T' || s[q] == 't')) {
        size_t end = q;
        while (end < s.size() && SpaceLengthAt(s, end) == 0) ++end;
        absl::StatusOr<google::protobuf::Timestamp> full =
            ParseTimestamp(s.substr(p, end - p));
        if (!full.ok()) return std::nullopt;
        *pos = end;
        return *full;
      }
      date = MakeDay(year, *month, *day);
    } else if (q - p <= 2) {
      // 22 February 2021, 22nd Feb. 2021, 22 February, 2021.
      const int day = *first;
      q = SkipOrdinal(s, q);
      const size_t r = SkipSpaces(s, q);
      if (r == q) return std::nullopt;
      const absl::string_view word = LettersAt(s, r);
      const int month = MonthNumber(word);
      if (month == 0) return std::nullopt;
      q = r + word.size();
      if (q < s.size() && s[q] == '.') ++q;
      if (q < s.size() && s[q] == ',') ++q;
      const size_t y = SkipSpaces(s, q);
      if (y == q && s[q - 1] != ',' && s[q - 1] != '.') return std::nullopt;
      q = y;
      std::optional<int> year = ReadNumber(s, &q, 4, /*exact=*/true);
      if (!year) return std::nullopt;
      date = MakeDay(*year, month, day);
    } else {
      return std::nullopt;
    }
    p = q;
  } else {
    // February 22, 2021; Feb 22,2021; Feb. 22, 2021; Feb.22,2021.
    const absl::string_view word = LettersAt(s, p);
    const int month = MonthNumber(word);
    if (month == 0) return std::nullopt;
    size_t q = p + word.size();
    if (q < s.size() && s[q] == '.') ++q;
    size_t r = SkipSpaces(s, q);
    if (r == p + word.size()) return std::nullopt;  // "Feb22"
    std::optional<int> day = ReadNumber(s, &r, 2, /*exact=*/false);
    if (!day) return std::nullopt;
    r = SkipOrdinal(s, r);
    q = r;
    if (q < s.size() && s[q] == ',') ++q;
    const size_t y = SkipSpaces(s, q);
    if (y == r) return std::nullopt;  // "Feb 222021"
    q = y;
    std::optional<int> year = ReadNumber(s, &q, 4, /*exact=*/true);
    if (!year) return std::nullopt;
    date = MakeDay(*year, month, *day);
    p = q;
  }
  if (!date || (p < s.size() && IsAlnum(s[p]))) return std::nullopt;
  *pos = p;
  return date;
}

// A name, not a sentence: short, few words, no quotes, no closing
// punctuation.
bool PlausibleByline(absl::string_view value) {
  if (value.empty() || CountCodePoints(value) > kMaxBylineChars) return false;
  bool has_alnum = false;
  for (char c : value) has_alnum |= IsAlnum(c) || (c & 0x80) != 0;
  if (!has_alnum) return false;
  if (absl::StrContains(value, "\"") || absl::StrContains(value, "\u201c") ||
      absl::StrContains(value, "\u201d")) {
    return false;
  }
  const char last = value.back();
  if (last == '.' || last == '!' || last == '?' || last == ',' || last == ';' ||
      last == ':') {
    return false;
  }
  const std::vector<absl::string_view> words =
      absl::StrSplit(value, ' ', absl::SkipEmpty());
  return words.size() <= kMaxBylineWords;
}

// The value of a byline ("By: x", "By x", "Source: x", or plain "x" right
// after a '|'), or nullopt.
std::optional<absl::string_view> ReadByline(absl::string_view rest,
                                            bool after_pipe) {
  const absl::string_view word = LettersAt(rest, 0);
  if (absl::EqualsIgnoreCase(word, "by") && rest.size() > 2 &&
      (rest[2] == ':' || SpaceLengthAt(rest, 2) > 0)) {
    size_t p = SkipSpaces(rest, 2);
    if (p < rest.size() && rest[p] == ':') {
      return TrimSpace(rest.substr(p + 1));
    }
    // Without a colon, a name starts with a capital or a digit: "By the
    // Numbers" is a subheading, "By Jane Doe" a byline.
    if (p < rest.size() &&
        absl::ascii_islower(static_cast<unsigned char>(rest[p]))) {
      return std::nullopt;
    }
    return TrimSpace(rest.substr(p));
  }
  if (absl::EqualsIgnoreCase(word, "source")) {
    const size_t p = SkipSpaces(rest, word.size());
    if (p < rest.size() && rest[p] == ':') return TrimSpace(rest.substr(p + 1));
    return std::nullopt;
  }
  if (after_pipe) return rest;
  return std::nullopt;
}

struct ArticleMeta {
  std::optional<google::protobuf::Timestamp> published_at;
  std::string source;
};

// Reads a date-and-byline line: "[label:] date [, | sep] [byline]" or
// "byline [| date]". The whole line must match.
std::optional<ArticleMeta> ParseMetaLine(absl::string_view line) {
  const absl::string_view s = TrimSpace(line);
  if (s.empty()) return std::nullopt;
  size_t pos = 0;
  bool labelled = false;
  const absl::string_view label = LettersAt(s, 0);
  for (const char* name : {"published", "updated", "posted", "date"}) {
    if (!absl::EqualsIgnoreCase(label, name)) continue;
    const size_t colon = SkipSpaces(s, label.size());
    if (colon < s.size() && s[colon] == ':') {
      pos = SkipSpaces(s, colon + 1);
      labelled = true;
    }
    break;
  }
  ArticleMeta meta;
  meta.published_at = ReadDate(s, &pos);
  if (labelled && !meta.published_at) return std::nullopt;
  absl::string_view rest = TrimSpace(s.substr(pos));
  bool after_pipe = false;
  if (meta.published_at && !rest.empty() && rest.front() == ',') {
    rest = TrimSpace(rest.substr(1));
  }
  if (!rest.empty() && rest.front() == '|') {
    rest = TrimSpace(rest.substr(1));
    after_pipe = true;
  }
  if (rest.empty()) {
    if (meta.published_at) return meta;
    return std::nullopt;
  }
  std::optional<absl::string_view> byline = ReadByline(rest, after_pipe);
  if (!byline) return std::nullopt;
  absl::string_view value = *byline;
  if (!meta.published_at) {
    // "By Jane Doe | February 22, 2021"
    const size_t bar = value.rfind('|');
    if (bar != absl::string_view::npos) {
      const absl::string_view tail = TrimSpace(value.substr(bar + 1));
      size_t p = 0;
      std::optional<google::protobuf::Timestamp> date = ReadDate(tail, &p);
      if (!date || p != tail.size()) return std::nullopt;
      meta.published_at = date;
      value = TrimSpace(value.substr(0, bar));
    }
  }
  if (!PlausibleByline(value)) return std::nullopt;
  meta.source = std::string(value);
  return meta;
}

// Whether `lower` starts with `prefix` as whole words.
bool StartsWithWords(absl::string_view lower, absl::string_view prefix) {
  return absl::StartsWith(lower, prefix) &&
         (lower.size() == prefix.size() || !IsLetter(lower[prefix.size()]));
}

// Whether `lower` starts with `label` followed by a colon.
bool StartsWithLabel(absl::string_view lower, absl::string_view label) {
  if (!StartsWithWords(lower, label)) return false;
  const size_t p = SkipSpaces(lower, label.size());
  return p < lower.size() && lower[p] == ':';
}

// Words that make a "share/follow/subscribe..." line a promotion rather
// than a sentence of the story.
bool HasPromoWord(absl::string_view lower) {
  static constexpr const char* kWords[] = {
      "us",       "our",       "newsletter", "newsletters", "twitter",
      "facebook", "instagram", "linkedin",   "youtube",     "whatsapp",
      "telegram", "tiktok",    "weibo",      "wechat",      "email",
      "e-mail",   "rss",       "app",        "here",        "article",
      "story",    "page",      "post"};
  for (absl::string_view word : absl::StrSplit(
           lower, absl::ByAnyChar(" \t,.;:!?()[]/|\"'>"), absl::SkipEmpty())) {
    for (const char* promo : kWords) {
      if (word == promo) return true;
    }
  }
  return false;
}

// Whether a trailing line (trimmed, non-empty) is boilerplate. Each rule is
// documented, with examples, in docs/plain-text-articles.md.
bool IsBoilerplate(absl::string_view line) {
  const size_t chars = CountCodePoints(line);
  if (chars > kMaxBoilerplateChars) return false;
  const std::string lower = absl::AsciiStrToLower(line);
  // Navigation links: "Staff Twitter List>>", "More from Asia »".
  if (chars <= kMaxLinkLineChars &&
      (absl::EndsWith(lower, ">>") || absl::EndsWith(lower, "\u00bb"))) {
    return true;
  }
  // Copyright notices.
  if (absl::StartsWith(lower, "\u00a9") || absl::StartsWith(lower, "(c) ") ||
      StartsWithWords(lower, "copyright") ||
      absl::StrContains(lower, "all rights reserved")) {
    return true;
  }
  // Labelled trailers: "Tags: economy, trade".
  for (const char* label :
       {"related", "tags", "tag", "topics", "keywords", "filed under",
        "see also", "read more", "read also", "also read", "more on this story",
        "share", "share this", "follow us"}) {
    if (StartsWithLabel(lower, label)) return true;
  }
  for (const char* heading :
       {"related articles", "related stories", "related news",
        "related coverage", "related content", "related links",
        "related reading", "related topics"}) {
    if (StartsWithWords(lower, heading)) return true;
  }
  // Lines made of one word of page furniture.
  const absl::string_view bare = absl::StripTrailingAsciiWhitespace(
      absl::string_view(lower).substr(0, lower.find_last_not_of(":.!") + 1));
  for (const char* furniture :
       {"advertisement", "read more", "share", "share this", "print",
        "back to top", "comments"}) {
    if (bare == furniture) return true;
  }
  // Promotions: "For the latest news and analysis from our".
  for (const char* promo :
       {"for the latest", "for more news", "for more stories",
        "for more updates", "for breaking news"}) {
    if (StartsWithWords(lower, promo)) return true;
  }
  if (chars <= kMaxLinkLineChars) {
    for (const char* verb :
         {"share", "follow", "subscribe", "sign up", "click here", "like us",
          "join us", "download our", "download the", "get our", "read more"}) {
      if (StartsWithWords(lower, verb) && HasPromoWord(lower)) return true;
    }
  }
  return false;
}

bool IsBlank(absl::string_view line) { return TrimSpace(line).empty(); }

}  // namespace

v1::Document ParseArticle(absl::string_view text) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  const std::vector<absl::string_view> lines = SplitLines(text);
  v1::Document doc;
  size_t i = 0;
  while (i < lines.size() && IsBlank(lines[i])) ++i;
  if (i == lines.size()) return doc;

  const absl::string_view first = TrimSpace(lines[i]);
  if (CountCodePoints(first) <= kMaxArticleTitleChars) {
    doc.set_title(std::string(first));
    ++i;
    size_t j = i;
    while (j < lines.size() && IsBlank(lines[j])) ++j;
    if (j < lines.size()) {
      if (std::optional<ArticleMeta> meta = ParseMetaLine(lines[j])) {
        if (meta->published_at)
          *doc.mutable_published_at() = *meta->published_at;
        doc.set_source(std::move(meta->source));
        i = j + 1;
      }
    }
  }

  size_t begin = i;
  while (begin < lines.size() && IsBlank(lines[begin])) ++begin;
  size_t end = lines.size();
  while (end > begin && IsBlank(lines[end - 1])) --end;
  // The first body line always stays: boilerplate follows a body.
  while (end > begin + 1 && IsBoilerplate(TrimSpace(lines[end - 1]))) {
    --end;
    while (end > begin && IsBlank(lines[end - 1])) --end;
  }
  std::string* body = doc.mutable_body();
  for (size_t k = begin; k < end; ++k) {
    if (k > begin) body->push_back('\n');
    const absl::string_view line = TrimTrailingSpace(lines[k]);
    body->append(line.data(), line.size());
  }
  return doc;
}

}  // namespace sift::ingest
