#include "common/analysis/word_spans.h"

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::analysis {
namespace {

using ::sift::testing::IsOk;

std::vector<WordSpan> IcuSpans(absl::string_view text) {
  std::vector<WordSpan> spans;
  EXPECT_THAT(IcuWordSpans(text, &spans), IsOk());
  return spans;
}

std::vector<WordSpan> AsciiSpans(absl::string_view text) {
  std::vector<WordSpan> spans;
  EXPECT_TRUE(AsciiWordSpans(text, &spans)) << text;
  return spans;
}

std::vector<std::string> Words(absl::string_view text,
                               const std::vector<WordSpan>& spans) {
  std::vector<std::string> words;
  for (const WordSpan& s : spans) {
    words.emplace_back(text.substr(s.start, s.end - s.start));
  }
  return words;
}

// The scanner is only worth having if it finds exactly ICU's words.
void ExpectSameAsIcu(absl::string_view text) {
  EXPECT_EQ(Words(text, AsciiSpans(text)), Words(text, IcuSpans(text)))
      << "text: \"" << text << "\"";
}

TEST(WordSpansTest, AsciiScannerAgreesWithIcuOnTheHardCases) {
  for (absl::string_view text : {
           "",
           " ",
           "word",
           "Hello, world!",
           "don't",
           "rock'n'roll",
           "'quoted'",
           "U.S. and e.g. or i.e.",
           "a.b.c",
           "a..b",
           "3.14",
           "1,000,000",
           "1,,2",
           "1.a a.1 a'1 1'1",
           "12;34",
           "a;b a,b",
           "a:b 12:30",
           "foo_bar",
           "_",
           "__",
           "_a",
           "a_",
           "_1",
           "1_",
           "a_.b",
           "x-ray co-op",
           "C++ C# .NET",
           "end.",
           "(parens) [brackets]",
           "tab\tnew\nline\r\nend",
           "$100 50% #tag @user",
           "a/b\\c",
           "user@example.com",
           "@",
           "@@",
           "1@2",
           "a@b.c",
           "o'clock 'tis 90's",
           "3.14.15",
           "v1.2.3-beta",
           "x__y__",
       }) {
    ExpectSameAsIcu(text);
  }
}

TEST(WordSpansTest, AsciiScannerAgreesWithIcuOnRandomText) {
  // Every character class the rules distinguish, densely; then every
  // ASCII character.
  std::string every_ascii;
  for (int c = 1; c < 128; ++c) every_ascii.push_back(static_cast<char>(c));
  std::mt19937 rng(20261130);
  for (const std::string& alphabet :
       {std::string("aZk09_.',;:@-! \n\t\"?()/&"), every_ascii}) {
    for (int i = 0; i < 20000; ++i) {
      std::string text(rng() % 24, ' ');
      for (char& c : text) c = alphabet[rng() % alphabet.size()];
      ExpectSameAsIcu(text);
      if (HasFailure()) return;
    }
  }
}

TEST(WordSpansTest, AsciiScannerAgreesWithIcuOnRealCorpora) {
  int lines = 0;
  for (const char* name :
       {"/corpora/bbc-news/docs.jsonl", "/corpora/cranfield/docs.jsonl"}) {
    std::ifstream in(std::string(SIFT_SHARED_DIR) + name);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<WordSpan> spans;
      if (!AsciiWordSpans(line, &spans)) continue;
      ASSERT_EQ(Words(line, spans), Words(line, IcuSpans(line)));
      ++lines;
    }
  }
  if (lines == 0) GTEST_SKIP() << "no corpora under " << SIFT_SHARED_DIR;
  EXPECT_GT(lines, 1000);
}

TEST(WordSpansTest, AsciiScannerDeclinesOtherText) {
  std::vector<WordSpan> spans = {{1, 2}};
  EXPECT_FALSE(AsciiWordSpans("caf\xC3\xA9", &spans));
  EXPECT_EQ(spans.size(), 1u);  // untouched
}

}  // namespace
}  // namespace sift::analysis
