#include "common/analysis/word_spans.h"

#include <array>
#include <cstddef>

namespace sift::analysis {
namespace {

// The Word_Break classes of the ASCII characters that can be part of a
// word (UAX #29, as ICU's root rules use them); everything else breaks.
enum Class : uint8_t {
  kBreak = 0,
  kLetter,        // ALetter: A-Z a-z @
  kDigit,         // Numeric: 0-9
  kExtendNumLet,  // _
  kMidNumLetQ,    // MidNumLet and Single_Quote: . '
  kMidNum,        // MidNum: , ;
};

// ICU's root rules take ':' out of MidLetter (only some languages join
// words across it), which leaves no ASCII MidLetter, and count '@' as a
// letter, so that "user@example.com" stays one word.
constexpr std::array<Class, 128> MakeClasses() {
  std::array<Class, 128> classes{};
  for (int c = 'a'; c <= 'z'; ++c) classes[c] = kLetter;
  for (int c = 'A'; c <= 'Z'; ++c) classes[c] = kLetter;
  classes['@'] = kLetter;
  for (int c = '0'; c <= '9'; ++c) classes[c] = kDigit;
  classes['_'] = kExtendNumLet;
  classes['.'] = kMidNumLetQ;
  classes['\''] = kMidNumLetQ;
  classes[','] = kMidNum;
  classes[';'] = kMidNum;
  return classes;
}

constexpr std::array<Class, 128> kClasses = MakeClasses();

bool IsWordPart(Class c) {
  return c == kLetter || c == kDigit || c == kExtendNumLet;
}

}  // namespace

bool AsciiWordSpans(absl::string_view text, std::vector<WordSpan>* out) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    Class prev = kClasses[s[i]];
    if (!IsWordPart(prev)) {
      ++i;
      continue;
    }
    const size_t start = i++;
    while (i < n) {
      const Class c = kClasses[s[i]];
      // WB5, WB8-WB10, WB13a, WB13b: letters, digits and '_' join in any
      // order.
      if (IsWordPart(c)) {
        prev = c;
        ++i;
        continue;
      }
      // WB6/WB7: letter (. ') letter; WB11/WB12: digit (. ' , ;) digit.
      if (i + 1 < n && (c == kMidNumLetQ || c == kMidNum)) {
        const Class next = kClasses[s[i + 1]];
        if ((prev == kLetter && next == kLetter && c == kMidNumLetQ) ||
            (prev == kDigit && next == kDigit)) {
          prev = next;
          i += 2;
          continue;
        }
      }
      break;
    }
    // A lone '_' matches no tagged rule (status none); any longer run, and
    // any letter or digit, is a word.
    if (i - start > 1 || kClasses[s[start]] != kExtendNumLet) {
      out->push_back(
          WordSpan{static_cast<uint32_t>(start), static_cast<uint32_t>(i)});
    }
  }
  return true;
}

}  // namespace sift::analysis
