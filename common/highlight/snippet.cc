#include "common/highlight/snippet.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/analysis/term_match.h"

namespace sift::highlight {
namespace {

constexpr absl::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026

// One occurrence of a query term or phrase: bytes [start, end) of the text
// and which distinct highlight entry it is.
struct Match {
  uint32_t start = 0;
  uint32_t end = 0;
  size_t entry = 0;
};

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

constexpr size_t kNoEntry = static_cast<size_t>(-1);

// Numbers the distinct highlight entries: terms, then phrases, prefixes and
// fuzzy terms. A token's term maps to the first single-token entry it
// matches; phrases are found separately.
class EntryIndex {
 public:
  explicit EntryIndex(const Highlights& highlights) : highlights_(highlights) {
    for (size_t i = 0; i < highlights.terms.size(); ++i) {
      known_.emplace(highlights.terms[i], i);
    }
  }

  // The entry of a token with this term, or kNoEntry. A body repeats its
  // terms, so the answer for each distinct term is worked out once.
  size_t EntryOf(absl::string_view term) {
    auto [it, inserted] = known_.try_emplace(term, kNoEntry);
    if (!inserted) return it->second;
    const size_t first_prefix =
        highlights_.terms.size() + highlights_.phrases.size();
    for (size_t i = 0; i < highlights_.prefixes.size(); ++i) {
      if (analysis::PrefixMatches(highlights_.prefixes[i], term)) {
        return it->second = first_prefix + i;
      }
    }
    const size_t first_fuzzy = first_prefix + highlights_.prefixes.size();
    for (size_t i = 0; i < highlights_.fuzzy.size(); ++i) {
      const FuzzyHighlight& fuzzy = highlights_.fuzzy[i];
      if (analysis::FuzzyMatches(fuzzy.term, fuzzy.max_edits, term)) {
        return it->second = first_fuzzy + i;
      }
    }
    return kNoEntry;
  }

 private:
  const Highlights& highlights_;
  // Keys view the highlight terms and the tokens' terms, which outlive
  // FindMatches.
  absl::flat_hash_map<absl::string_view, size_t> known_;
};

// Every occurrence of the highlight entries in `tokens`, by start then end:
// a token whose term is a query term, starts with a prefix or is near a
// fuzzy term; a phrase where its terms sit at consecutive positions.
std::vector<Match> FindMatches(const std::vector<analysis::Token>& tokens,
                               const Highlights& highlights) {
  std::vector<Match> matches;
  if (highlights.empty()) return matches;
  EntryIndex index(highlights);
  for (const analysis::Token& token : tokens) {
    const size_t entry = index.EntryOf(token.term);
    if (entry != kNoEntry) matches.push_back({token.start, token.end, entry});
  }
  for (size_t p = 0; p < highlights.phrases.size(); ++p) {
    const std::vector<std::string>& phrase = highlights.phrases[p];
    if (phrase.empty() || phrase.size() > tokens.size()) continue;
    for (size_t i = 0; i + phrase.size() <= tokens.size(); ++i) {
      bool found = true;
      for (size_t j = 0; j < phrase.size() && found; ++j) {
        const analysis::Token& token = tokens[i + j];
        found =
            token.term == phrase[j] && token.position == tokens[i].position + j;
      }
      if (found) {
        matches.push_back({tokens[i].start, tokens[i + phrase.size() - 1].end,
                           highlights.terms.size() + p});
      }
    }
  }
  std::sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) {
    return a.start != b.start ? a.start < b.start : a.end < b.end;
  });
  return matches;
}

// Appends `text` to `out`, HTML-escaped when `escape` is set.
void AppendText(absl::string_view text, bool escape, std::string* out) {
  if (!escape) {
    out->append(text.data(), text.size());
    return;
  }
  for (char c : text) {
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&#39;");
        break;
      default:
        out->push_back(c);
    }
  }
}

// Builds the snippet of text[begin, end): trims surrounding whitespace,
// adds the ellipses, and turns the matches that lie wholly inside into
// merged spans relative to the result.
v1::Snippet Render(absl::string_view text, size_t begin, size_t end,
                   const std::vector<Match>& matches,
                   const SnippetOptions& options) {
  while (begin < end && IsAsciiSpace(text[begin])) ++begin;
  while (end > begin && IsAsciiSpace(text[end - 1])) --end;
  auto only_space = [](absl::string_view s) {
    return std::all_of(s.begin(), s.end(), IsAsciiSpace);
  };
  const bool cut_before = !only_space(text.substr(0, begin));
  const bool cut_after = !only_space(text.substr(end));

  v1::Snippet snippet;
  std::string out;
  if (cut_before) absl::StrAppend(&out, kEllipsis);
  const size_t shift = out.size();
  out.append(text.data() + begin, end - begin);
  if (cut_after) absl::StrAppend(&out, kEllipsis);

  std::vector<std::pair<uint32_t, uint32_t>> spans;
  for (const Match& m : matches) {
    if (m.start < begin || m.end > end) continue;
    const auto s = static_cast<uint32_t>(m.start - begin + shift);
    const auto e = static_cast<uint32_t>(m.end - begin + shift);
    if (!spans.empty() && s < spans.back().second) {
      spans.back().second = std::max(spans.back().second, e);
    } else {
      spans.emplace_back(s, e);
    }
  }
  // Escaping works on single ASCII bytes, so it never splits a UTF-8
  // character, and the markers go in between the escaped pieces untouched.
  const absl::string_view plain = out;
  const bool escape = options.html_escape;
  std::string highlighted;
  highlighted.reserve(out.size() + spans.size() * (options.pre_tag.size() +
                                                   options.post_tag.size()));
  size_t at = 0;
  for (const auto& [s, e] : spans) {
    AppendText(plain.substr(at, s - at), escape, &highlighted);
    highlighted.append(options.pre_tag);
    AppendText(plain.substr(s, e - s), escape, &highlighted);
    highlighted.append(options.post_tag);
    at = e;
    v1::Span* span = snippet.add_spans();
    span->set_start(s);
    span->set_end(e);
  }
  AppendText(plain.substr(at), escape, &highlighted);
  snippet.set_text(std::move(out));
  snippet.set_highlighted(std::move(highlighted));
  return snippet;
}

// True for punctuation that opens a quotation or a parenthesis, which
// belongs with the word after it.
bool IsOpeningPunctuation(absl::string_view ch) {
  static constexpr absl::string_view kOpening[] = {"\"",
                                                   "'",
                                                   "(",
                                                   "[",
                                                   "{",
                                                   "\xC2\xBF",
                                                   "\xC2\xA1",
                                                   "\xC2\xAB",
                                                   "\xE2\x80\x9C",
                                                   "\xE2\x80\x98",
                                                   "\xE2\x80\x9E",
                                                   "\xE3\x80\x8C",
                                                   "\xE3\x80\x8E",
                                                   "\xEF\xBC\x88"};
  for (absl::string_view open : kOpening) {
    if (ch == open) return true;
  }
  return false;
}

// Moves `begin` (a token start) back over opening punctuation that touches
// it, stopping at `floor`.
size_t KeepOpeningPunctuation(absl::string_view text, size_t begin,
                              size_t floor) {
  while (begin > floor) {
    size_t prev = begin - 1;
    while (prev > floor && IsContinuationByte(text[prev])) --prev;
    if (!IsOpeningPunctuation(text.substr(prev, begin - prev))) break;
    begin = prev;
  }
  return begin;
}

// Moves `end` (a token end) forward over the punctuation that touches it,
// up to whitespace or `ceiling` (the next token's start).
size_t KeepClosingPunctuation(absl::string_view text, size_t end,
                              size_t ceiling) {
  while (end < ceiling && !IsAsciiSpace(text[end])) ++end;
  return end;
}

// The largest UTF-8 character boundary of `text` at or below `limit`.
size_t CharBoundaryAtOrBelow(absl::string_view text, size_t limit) {
  if (limit >= text.size()) return text.size();
  while (limit > 0 && IsContinuationByte(text[limit])) --limit;
  return limit;
}

// Index of the first token starting at or after `offset` (tokens.size() if
// none).
size_t FirstTokenFrom(const std::vector<analysis::Token>& tokens,
                      size_t offset) {
  return std::lower_bound(tokens.begin(), tokens.end(), offset,
                          [](const analysis::Token& t, size_t off) {
                            return t.start < off;
                          }) -
         tokens.begin();
}

// The fragment [begin, end) of about `budget` bytes that contains
// [core_begin, core_end), on token boundaries, with the spare bytes split
// between the two sides.
std::pair<size_t, size_t> PlaceWindow(
    absl::string_view text, const std::vector<analysis::Token>& tokens,
    size_t core_begin, size_t core_end, size_t budget) {
  const size_t spare =
      core_end - core_begin < budget ? budget - (core_end - core_begin) : 0;
  auto begin_at_or_after = [&](size_t target) -> size_t {
    if (tokens.empty() || target <= tokens.front().start) return 0;
    const size_t i = FirstTokenFrom(tokens, target);
    const size_t begin = i < tokens.size() ? tokens[i].start : core_begin;
    return std::min(begin, core_begin);
  };
  auto end_at_or_before = [&](size_t limit) -> size_t {
    if (text.size() <= limit) return text.size();
    size_t i = FirstTokenFrom(tokens, core_end);
    size_t end = core_end;
    // Token ends only grow, so the first token ending past the limit ends
    // the fragment before it.
    for (; i < tokens.size() && tokens[i].end <= limit; ++i) {
      end = tokens[i].end;
    }
    return std::max(end, core_end);
  };

  size_t begin =
      begin_at_or_after(core_begin > spare / 2 ? core_begin - spare / 2 : 0);
  size_t end = end_at_or_before(begin + std::max(budget, core_end - begin));
  if (end == text.size() && end - begin < budget) {
    // The text ends early: give the unused bytes to the left side.
    begin = begin_at_or_after(end > budget ? end - budget : 0);
  }
  if (begin > 0) {
    const size_t i = FirstTokenFrom(tokens, begin);
    const size_t floor = i > 0 ? tokens[i - 1].end : 0;
    begin = KeepOpeningPunctuation(text, begin, floor);
  }
  if (end < text.size()) {
    const size_t i = FirstTokenFrom(tokens, end);
    const size_t ceiling = i < tokens.size() ? tokens[i].start : text.size();
    end = KeepClosingPunctuation(text, end, ceiling);
  }
  return {begin, end};
}

}  // namespace

v1::Snippet MakeFragmentSnippet(absl::string_view text,
                                const std::vector<analysis::Token>& tokens,
                                const Highlights& highlights,
                                const SnippetOptions& options) {
  const size_t budget = std::max<size_t>(options.fragment_bytes, 1);
  const std::vector<Match> matches = FindMatches(tokens, highlights);
  if (text.size() <= budget) {
    return Render(text, 0, text.size(), matches, options);
  }

  if (matches.empty()) {
    // The start of the text, ending on a token boundary when one fits.
    size_t end = 0;
    for (const analysis::Token& token : tokens) {
      if (token.end > budget) break;
      end = token.end;
    }
    if (end == 0) {
      end = CharBoundaryAtOrBelow(text, budget);
    } else {
      const size_t i = FirstTokenFrom(tokens, end);
      end = KeepClosingPunctuation(
          text, end, i < tokens.size() ? tokens[i].start : text.size());
    }
    return Render(text, 0, end, matches, options);
  }

  // For each first match, the run of matches that fits in the budget; keep
  // the run with the most distinct entries, then the most matches.
  size_t best_first = 0, best_end = 0, best_distinct = 0, best_count = 0;
  absl::flat_hash_set<size_t> entries;
  for (size_t first = 0; first < matches.size(); ++first) {
    entries.clear();
    size_t last = first;
    size_t end = matches[first].end;
    entries.insert(matches[first].entry);
    while (last + 1 < matches.size() &&
           std::max<size_t>(end, matches[last + 1].end) -
                   matches[first].start <=
               budget) {
      ++last;
      end = std::max<size_t>(end, matches[last].end);
      entries.insert(matches[last].entry);
    }
    const size_t count = last - first + 1;
    if (entries.size() > best_distinct ||
        (entries.size() == best_distinct && count > best_count)) {
      best_first = first;
      best_distinct = entries.size();
      best_count = count;
      best_end = end;
    }
  }
  const auto [begin, end] =
      PlaceWindow(text, tokens, matches[best_first].start, best_end, budget);
  return Render(text, begin, end, matches, options);
}

v1::Snippet MakeWholeSnippet(absl::string_view text,
                             const std::vector<analysis::Token>& tokens,
                             const Highlights& highlights,
                             const SnippetOptions& options) {
  return Render(text, 0, text.size(), FindMatches(tokens, highlights), options);
}

}  // namespace sift::highlight
