#include "common/analysis/analyzer.h"

#include <libstemmer.h>
#include <unicode/brkiter.h>
#include <unicode/bytestream.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/analysis/utf8.h"
#include "common/analysis/word_spans.h"
#include "common/status/status_macros.h"

namespace sift::analysis {
namespace {

// Enough for the common vocabulary of news text, and small enough to stay in
// a 16K-slot table: about 1 MB per thread.
constexpr size_t kMaxCachedStems = 14000;

// ICU objects and the Snowball stemmer are not thread-safe, and building them
// costs far more than analyzing a short text, so each thread keeps its own
// for its lifetime (see bench/analyzer_bench.cc for the numbers).
struct ThreadState {
  ThreadState() = default;
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
  ~ThreadState() {
    if (stemmer != nullptr) sb_stemmer_delete(stemmer);
  }

  std::unique_ptr<icu::BreakIterator> words;
  sb_stemmer* stemmer = nullptr;
  // Folded word -> stem. Stemming is half of the analysis time and word
  // frequencies are Zipfian, so a small cache answers most words; it is
  // emptied whenever it reaches kMaxCachedStems entries.
  absl::flat_hash_map<std::string, std::string> stems;
  // Word spans of the text being analyzed, kept for their capacity.
  std::vector<WordSpan> spans;
};

absl::StatusOr<ThreadState*> GetThreadState() {
  thread_local ThreadState state;
  if (state.words == nullptr) {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> words(
        icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status) || words == nullptr) {
      return absl::InternalError(absl::StrCat(
          "cannot create the ICU word break iterator: ", u_errorName(status)));
    }
    state.words = std::move(words);
  }
  if (state.stemmer == nullptr) {
    state.stemmer = sb_stemmer_new("english", "UTF_8");
    if (state.stemmer == nullptr) {
      return absl::InternalError("cannot create the English Snowball stemmer");
    }
  }
  return &state;
}

absl::StatusOr<const icu::Normalizer2*> NfkcCasefold() {
  // ICU owns the instance; it is immutable and safe to share.
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer =
      icu::Normalizer2::getNFKCCasefoldInstance(status);
  if (U_FAILURE(status) || normalizer == nullptr) {
    return absl::InternalError(absl::StrCat(
        "cannot load the ICU NFKC_Casefold data: ", u_errorName(status)));
  }
  return normalizer;
}

bool IsAscii(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// NFKC_Casefold of pure ASCII is plain lower-casing; skipping ICU for it
// makes English text several times faster.
void AsciiFold(absl::string_view word, std::string* out) {
  out->resize(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    (*out)[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
  }
}

// Typographic apostrophes become ASCII ones, so that "China’s" and "China's"
// meet, and the Snowball stemmer (which knows only ') removes the "'s".
void MapApostrophes(std::string* term) {
  std::string& s = *term;
  size_t w = 0;
  for (size_t r = 0; r < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[r]);
    if (b0 == 0xE2 && r + 2 < s.size() &&
        static_cast<unsigned char>(s[r + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[r + 2]) == 0x98 ||   // U+2018
         static_cast<unsigned char>(s[r + 2]) == 0x99)) {  // U+2019
      s[w++] = '\'';
      r += 3;
    } else if (b0 == 0xCA && r + 1 < s.size() &&
               static_cast<unsigned char>(s[r + 1]) == 0xBC) {  // U+02BC
      s[w++] = '\'';
      r += 2;
    } else {
      s[w++] = s[r++];
    }
  }
  s.resize(w);
}

// True when `term` (already folded) is Latin letters, combining marks and
// apostrophes with at least one letter: the words English stemming is for.
// Digits, CJK and other scripts are left alone.
bool IsStemmable(absl::string_view term) {
  bool has_letter = false;
  const auto* s = reinterpret_cast<const uint8_t*>(term.data());
  const auto n = static_cast<int32_t>(term.size());
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(s, i, n, c);
    if (c < 0x80) {
      if (c >= 'a' && c <= 'z') {
        has_letter = true;
      } else if (c != '\'') {
        return false;
      }
      continue;
    }
    UErrorCode status = U_ZERO_ERROR;
    const UScriptCode script = uscript_getScript(c, &status);
    if (U_FAILURE(status)) return false;
    if (script == USCRIPT_LATIN && u_isalpha(c)) {
      has_letter = true;
    } else if (script != USCRIPT_INHERITED) {
      return false;
    }
  }
  return has_letter;
}

// Replaces `term` by its English Snowball stem.
absl::Status Stem(ThreadState& state, std::string* term) {
  auto cached = state.stems.find(*term);
  if (cached != state.stems.end()) {
    *term = cached->second;
    return absl::OkStatus();
  }
  const sb_symbol* stem = sb_stemmer_stem(
      state.stemmer, reinterpret_cast<const sb_symbol*>(term->data()),
      static_cast<int>(term->size()));
  if (stem == nullptr) {
    return absl::ResourceExhaustedError("out of memory while stemming a word");
  }
  std::string stemmed(reinterpret_cast<const char*>(stem),
                      sb_stemmer_length(state.stemmer));
  if (state.stems.size() >= kMaxCachedStems) state.stems.clear();
  state.stems.emplace(*term, stemmed);
  *term = std::move(stemmed);
  return absl::OkStatus();
}

// Whether the rule status of a segment marks it as a word (not spaces,
// punctuation or symbols such as emoji).
bool IsWordStatus(int32_t status) {
  return status >= UBRK_WORD_NONE_LIMIT && status < UBRK_WORD_IDEO_LIMIT;
}

}  // namespace

absl::Status IcuWordSpans(absl::string_view text, std::vector<WordSpan>* out) {
  if (text.empty()) return absl::OkStatus();
  SIFT_ASSIGN_OR_RETURN(ThreadState * state, GetThreadState());
  // The break iterator reads the UTF-8 directly, so its boundaries are byte
  // offsets into `text`, with no UTF-16 copy and no index mapping.
  UErrorCode status = U_ZERO_ERROR;
  UText utext = UTEXT_INITIALIZER;
  utext_openUTF8(&utext, text.data(), static_cast<int64_t>(text.size()),
                 &status);
  icu::BreakIterator& words = *state->words;
  // setText makes its own shallow clone, so `utext` can be closed at once.
  words.setText(&utext, status);
  utext_close(&utext);
  if (U_FAILURE(status)) {
    return absl::InternalError(absl::StrCat(
        "cannot segment the text into words: ", u_errorName(status)));
  }
  int32_t start = words.first();
  for (int32_t end = words.next(); end != icu::BreakIterator::DONE;
       start = end, end = words.next()) {
    if (!IsWordStatus(words.getRuleStatus())) continue;
    out->push_back(
        WordSpan{static_cast<uint32_t>(start), static_cast<uint32_t>(end)});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Token>> Analyzer::Analyze(
    absl::string_view text) const {
  return AnalyzeImpl(text, /*filter=*/false, "");
}

absl::StatusOr<std::vector<Token>> Analyzer::AnalyzeStartingWith(
    absl::string_view text, absl::string_view first_bytes) const {
  return AnalyzeImpl(text, /*filter=*/true, first_bytes);
}

absl::StatusOr<std::vector<Token>> Analyzer::AnalyzeImpl(
    absl::string_view text, bool filter, absl::string_view first_bytes) const {
  if (text.size() > kMaxTextBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "text is ", text.size(), " bytes long; the analyzer accepts at most ",
        kMaxTextBytes));
  }
  SIFT_RETURN_IF_ERROR(ValidateUtf8(text));
  std::vector<Token> tokens;
  if (text.empty()) return tokens;
  SIFT_ASSIGN_OR_RETURN(ThreadState * state, GetThreadState());
  SIFT_ASSIGN_OR_RETURN(const icu::Normalizer2* normalizer, NfkcCasefold());

  std::vector<WordSpan>& spans = state->spans;
  spans.clear();
  if (!AsciiWordSpans(text, &spans)) {
    SIFT_RETURN_IF_ERROR(IcuWordSpans(text, &spans));
  }
  tokens.reserve(spans.size());
  std::string term;
  uint32_t position = 0;
  for (const WordSpan& span : spans) {
    const absl::string_view word =
        text.substr(span.start, span.end - span.start);
    if (IsAscii(word)) {
      if (word.size() > kMaxTermBytes) continue;
      if (filter &&
          !absl::StrContains(first_bytes, absl::ascii_tolower(word.front()))) {
        // Folding keeps an ASCII word ASCII and non-empty, and stemming
        // keeps it non-empty: it takes a position either way.
        Token& token = tokens.emplace_back();
        token.position = position++;
        token.start = span.start;
        token.end = span.end;
        continue;
      }
      AsciiFold(word, &term);
    } else {
      term.clear();
      UErrorCode status = U_ZERO_ERROR;
      icu::StringByteSink<std::string> sink(&term);
      normalizer->normalizeUTF8(0, icu::StringPiece(word.data(), word.size()),
                                sink, nullptr, status);
      if (U_FAILURE(status)) {
        return absl::InternalError(
            absl::StrCat("cannot case-fold the word at byte offset ",
                         span.start, ": ", u_errorName(status)));
      }
      MapApostrophes(&term);
    }
    if (term.empty() || term.size() > kMaxTermBytes) continue;
    if (IsStemmable(term)) {
      SIFT_RETURN_IF_ERROR(Stem(*state, &term));
      if (term.empty()) continue;
    }
    tokens.push_back(Token{.term = std::move(term),
                           .position = position++,
                           .start = span.start,
                           .end = span.end});
  }
  return tokens;
}

absl::StatusOr<std::vector<std::string>> Analyzer::Terms(
    absl::string_view text) const {
  SIFT_ASSIGN_OR_RETURN(std::vector<Token> tokens, Analyze(text));
  std::vector<std::string> terms;
  terms.reserve(tokens.size());
  for (Token& token : tokens) terms.push_back(std::move(token.term));
  return terms;
}

absl::StatusOr<std::string> Analyzer::NormalizeKeyword(
    absl::string_view value) const {
  if (value.size() > kMaxTextBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keyword is ", value.size(),
        " bytes long; the analyzer accepts at most ", kMaxTextBytes));
  }
  SIFT_RETURN_IF_ERROR(ValidateUtf8(value));
  SIFT_ASSIGN_OR_RETURN(const icu::Normalizer2* normalizer, NfkcCasefold());
  std::string folded;
  icu::StringByteSink<std::string> sink(&folded);
  UErrorCode status = U_ZERO_ERROR;
  normalizer->normalizeUTF8(0, icu::StringPiece(value.data(), value.size()),
                            sink, nullptr, status);
  if (U_FAILURE(status)) {
    return absl::InternalError(
        absl::StrCat("cannot case-fold the keyword: ", u_errorName(status)));
  }
  // Folding first means that NFKC has already turned no-break and
  // ideographic spaces into U+0020; u_isUWhiteSpace catches the rest.
  std::string out;
  out.reserve(folded.size());
  bool pending_space = false;
  const auto* s = reinterpret_cast<const uint8_t*>(folded.data());
  const auto n = static_cast<int32_t>(folded.size());
  for (int32_t i = 0; i < n;) {
    const int32_t begin = i;
    UChar32 c;
    U8_NEXT(s, i, n, c);
    if (u_isUWhiteSpace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.append(folded, begin, i - begin);
  }
  return out;
}

}  // namespace sift::analysis
