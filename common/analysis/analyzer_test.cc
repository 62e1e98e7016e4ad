#include "common/analysis/analyzer.h"

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::analysis {
namespace {

using ::sift::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

std::vector<std::string> TermsOf(absl::string_view text) {
  absl::StatusOr<std::vector<std::string>> terms = Analyzer().Terms(text);
  EXPECT_TRUE(terms.ok()) << terms.status();
  return terms.ok() ? *terms : std::vector<std::string>{};
}

// The original words the tokens of `text` point at.
std::vector<std::string> WordsOf(absl::string_view text) {
  absl::StatusOr<std::vector<Token>> tokens = Analyzer().Analyze(text);
  EXPECT_TRUE(tokens.ok()) << tokens.status();
  std::vector<std::string> words;
  if (!tokens.ok()) return words;
  for (const Token& token : *tokens) {
    words.emplace_back(text.substr(token.start, token.end - token.start));
  }
  return words;
}

std::string KeywordOf(absl::string_view value) {
  absl::StatusOr<std::string> keyword = Analyzer().NormalizeKeyword(value);
  EXPECT_TRUE(keyword.ok()) << keyword.status();
  return keyword.ok() ? *keyword : "<error>";
}

TEST(AnalyzerTest, EmptyAndPunctuationOnlyTextGiveNoTokens) {
  EXPECT_THAT(TermsOf(""), IsEmpty());
  EXPECT_THAT(TermsOf("  \t\n -- “” ‘’ … !? ()"), IsEmpty());
}

TEST(AnalyzerTest, SplitsOnSpacesAndPunctuationAndLowercases) {
  EXPECT_THAT(TermsOf("Hello,  WORLD! (Sift)"),
              ElementsAre("hello", "world", "sift"));
}

TEST(AnalyzerTest, StemsEnglishWords) {
  EXPECT_THAT(TermsOf("running rights"), ElementsAre("run", "right"));
  EXPECT_THAT(TermsOf("connect connected connecting connection"),
              ElementsAre("connect", "connect", "connect", "connect"));
}

TEST(AnalyzerTest, TypographicApostrophesMatchTheAsciiOne) {
  // U+2019, ASCII ', U+2018 and U+02BC all reduce to the stem of "china".
  EXPECT_THAT(TermsOf("China’s China's China‘s Chinaʼs china"),
              ElementsAre("china", "china", "china", "china", "china"));
  EXPECT_THAT(TermsOf("people’s people's people"),
              ElementsAre("peopl", "peopl", "peopl"));
  EXPECT_THAT(TermsOf("O’Neill"), TermsOf("O'Neill"));
}

TEST(AnalyzerTest, SplitsHyphenatedWords) {
  EXPECT_THAT(TermsOf("win–win 30-hour-old e-mail"),
              ElementsAre("win", "win", "30", "hour", "old", "e", "mail"));
}

TEST(AnalyzerTest, KeepsNumbersUnstemmed) {
  EXPECT_THAT(TermsOf("13.5 percent in 2021, 1,000 times"),
              ElementsAre("13.5", "percent", "in", "2021", "1,000", "time"));
}

TEST(AnalyzerTest, SegmentsChineseIntoWords) {
  const std::string text = "我们的人权事业取得了巨大成就";
  std::vector<std::string> terms = TermsOf(text);
  EXPECT_THAT(terms,
              AllOf(Contains("人权"), Contains("巨大"), Contains("成就")));
  EXPECT_GE(terms.size(), 5u);
  // Without punctuation the words tile the sentence.
  EXPECT_EQ(absl::StrJoin(terms, ""), text);
}

TEST(AnalyzerTest, SegmentsJapaneseIntoWords) {
  const std::string text = "東京都に住んでいます";
  std::vector<std::string> terms = TermsOf(text);
  EXPECT_THAT(terms, Contains("東京"));
  EXPECT_GE(terms.size(), 4u);
  EXPECT_EQ(absl::StrJoin(terms, ""), text);
  EXPECT_THAT(TermsOf("カタカナ。ひらがな"), Contains("カタカナ"));
}

TEST(AnalyzerTest, StemsOnlyLatinWords) {
  // Cyrillic and Greek keep their inflections; only case is folded.
  EXPECT_THAT(TermsOf("Красивые ΛΌΓΟΙ"), ElementsAre("красивые", "λόγοι"));
  // Letters mixed with digits are not English words either.
  EXPECT_THAT(TermsOf("mp3s covid19"), ElementsAre("mp3s", "covid19"));
  // Accented Latin words are stemmed.
  EXPECT_THAT(TermsOf("naïve"), ElementsAre("naïv"));
}

TEST(AnalyzerTest, FoldsCaseAndCompatibilityForms) {
  // ß folds to ss; fullwidth, ligature and mathematical letters to ASCII.
  EXPECT_EQ(TermsOf("Straße"), TermsOf("STRASSE"));
  EXPECT_THAT(TermsOf("ＡＢＣ ﬁne 𝐀𝐁𝐂"), ElementsAre("abc", "fine", "abc"));
  // Greek final sigma folds to the medial one.
  EXPECT_EQ(TermsOf("ΣΊΣΥΦΟΣ"), TermsOf("σίσυφος"));
  // Folding is language-neutral, not Turkish: dotless ı stays apart from i,
  // and İ becomes i plus a combining dot above.
  EXPECT_THAT(TermsOf("I ı İ"), ElementsAre("i", "ı", "i\u0307"));
}

TEST(AnalyzerTest, OffsetsIndexTheOriginalUtf8) {
  const std::string text =
      "Hello, 世界! 😀 Ａｂｃ naïve 𝐀𝐁𝐂 👍🏽 𠀋 "
      "«quoted» "
      "end";
  absl::StatusOr<std::vector<Token>> tokens = Analyzer().Analyze(text);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_THAT(WordsOf(text), ElementsAre("Hello", "世界", "Ａｂｃ", "naïve",
                                         "𝐀𝐁𝐂", "𠀋", "quoted", "end"));
  for (size_t i = 0; i < tokens->size(); ++i) {
    EXPECT_EQ((*tokens)[i].position, i);
    EXPECT_LT((*tokens)[i].start, (*tokens)[i].end);
    EXPECT_LE((*tokens)[i].end, text.size());
  }
  EXPECT_EQ((*tokens)[3].term, "naïv");
  EXPECT_EQ((*tokens)[4].term, "abc");
}

TEST(AnalyzerTest, EmojiAndSymbolsGiveNoTokens) {
  EXPECT_THAT(TermsOf("😀 👍🏽 👨‍👩‍👧 © → ∑"),
              IsEmpty());
  EXPECT_THAT(TermsOf("go😀go"), ElementsAre("go", "go"));
}

TEST(AnalyzerTest, SkipsWordsLongerThanMaxTermBytes) {
  const std::string longest(Analyzer::kMaxTermBytes, 'x');
  const std::string too_long(Analyzer::kMaxTermBytes + 1, 'x');
  EXPECT_THAT(TermsOf("a " + longest + " b"), ElementsAre("a", longest, "b"));
  absl::StatusOr<std::vector<Token>> tokens =
      Analyzer().Analyze("a " + too_long + " b");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_THAT(*tokens, SizeIs(2));
  // The dropped word takes no position.
  EXPECT_EQ((*tokens)[1].term, "b");
  EXPECT_EQ((*tokens)[1].position, 1u);
  // The limit applies to the folded form: 33 é are 66 bytes.
  std::string accented;
  for (int i = 0; i < 33; ++i) accented += "é";
  EXPECT_THAT(TermsOf(accented), IsEmpty());
  EXPECT_THAT(TermsOf(accented.substr(2)), SizeIs(1));
}

TEST(AnalyzerTest, RejectsInvalidUtf8NamingTheOffset) {
  Analyzer analyzer;
  EXPECT_THAT(analyzer.Analyze("truncated \xE6\x88"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("byte offset 10")));
  EXPECT_THAT(analyzer.Analyze("overlong \xC0\xAF slash"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("byte offset 9: overlong")));
  EXPECT_THAT(
      analyzer.Analyze("\x80 lone continuation"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("byte offset 0")));
  EXPECT_THAT(analyzer.Analyze("ab \xED\xA0\x80"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("byte offset 3: UTF-16 surrogate")));
  EXPECT_THAT(analyzer.Terms("x\xFF"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AnalyzerTest, TermsEqualAnalyzeTerms) {
  const std::string text =
      "Marking the 100th anniversary of the CPC’s founding, 人权事业 grows.";
  Analyzer analyzer;
  SIFT_ASSERT_OK_AND_ASSIGN(std::vector<Token> tokens, analyzer.Analyze(text));
  SIFT_ASSERT_OK_AND_ASSIGN(std::vector<std::string> terms,
                            analyzer.Terms(text));
  ASSERT_EQ(terms.size(), tokens.size());
  for (size_t i = 0; i < terms.size(); ++i) EXPECT_EQ(terms[i], tokens[i].term);
}

TEST(AnalyzerTest, SharedInstanceGivesSameResultsOnManyThreads) {
  const std::string text =
      "The people’s happiness 我们的人权事业取得了巨大成就 "
      "東京都に住んでいます "
      "Straße ＡＢＣ 😀 win–win 13.5";
  const Analyzer analyzer;
  SIFT_ASSERT_OK_AND_ASSIGN(std::vector<Token> expected,
                            analyzer.Analyze(text));
  constexpr int kThreads = 8;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<std::vector<Token>> got = analyzer.Analyze(text);
        if (!got.ok() || *got != expected) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ::testing::Each(0));
}

TEST(AnalyzerTest, NormalizesKeywords) {
  Analyzer analyzer;
  EXPECT_EQ(KeywordOf("  New   York\tTIMES \n"), "new york times");
  // NFKC turns no-break and ideographic spaces into ordinary ones.
  EXPECT_EQ(KeywordOf("Human\u00A0Rights\u3000ＣＮ"), "human rights cn");
  // Keywords are matched whole: neither split nor stemmed.
  EXPECT_EQ(KeywordOf("Running-Stories"), "running-stories");
  EXPECT_EQ(KeywordOf(" \t "), "");
  EXPECT_THAT(
      analyzer.NormalizeKeyword("tag\xC3"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("byte offset 3")));
}

TEST(AnalyzerTest, AnalyzesTheSampleArticle) {
  const std::string path =
      std::string(SIFT_SHARED_DIR) + "/samples/news-article.txt";
  std::ifstream in(path, std::ios::binary);
  if (!in) GTEST_SKIP() << "sample article not found at " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  SIFT_ASSERT_OK_AND_ASSIGN(std::vector<Token> tokens,
                            Analyzer().Analyze(text));
  ASSERT_GT(tokens.size(), 2000u);
  std::vector<std::string> terms;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    ASSERT_EQ(token.position, i);
    ASSERT_LT(token.start, token.end);
    const std::string word = text.substr(token.start, token.end - token.start);
    // Curly quotes, dashes and no-break spaces never end up inside a word.
    EXPECT_THAT(word, AllOf(Not(HasSubstr("“")), Not(HasSubstr("”")),
                            Not(HasSubstr("–")), Not(HasSubstr(" ")),
                            Not(HasSubstr("\u00A0"))));
    terms.push_back(token.term);
  }
  EXPECT_THAT(terms, AllOf(Contains("china"), Contains("peopl"),
                           Contains("right"), Contains("win"), Contains("2021"),
                           Not(Contains("china’s")), Not(Contains("china's"))));
}

}  // namespace
// Skipping the words that start with none of some bytes leaves every other
// token as Analyze makes it, positions and offsets included: stemming
// keeps a word's first letter, even for the stemmer's irregular forms.
TEST(AnalyzerTest, AnalyzeStartingWithKeepsTheTokensThatCanMatch) {
  const Analyzer analyzer;
  const std::vector<std::string> words = {"dying",
                                          "lying",
                                          "tying",
                                          "skies",
                                          "skis",
                                          "news",
                                          "Happy",
                                          "happily",
                                          "ugly",
                                          "early",
                                          "only",
                                          "gently",
                                          "idly",
                                          "singly",
                                          "don't",
                                          "O'Neil",
                                          "U.S.",
                                          "3.14",
                                          "foo_bar",
                                          "Zürich",
                                          "naïve",
                                          "café",
                                          "generously",
                                          "Yelling",
                                          "yes",
                                          "A",
                                          "an",
                                          "THE",
                                          "running",
                                          "ran",
                                          "x" + std::string(70, 'y'),
                                          "China's",
                                          "China’s",
                                          "東京",
                                          "42nd"};
  std::mt19937 rng(17);
  for (int round = 0; round < 200; ++round) {
    std::string text;
    for (int i = 0; i < 40; ++i) {
      text += words[rng() % words.size()];
      text += (rng() % 5 == 0) ? ", " : " ";
    }
    std::string first_bytes;
    for (int i = 0; i < 3; ++i) first_bytes += "adghnostuxyz"[rng() % 12];
    absl::StatusOr<std::vector<Token>> all = analyzer.Analyze(text);
    absl::StatusOr<std::vector<Token>> some =
        analyzer.AnalyzeStartingWith(text, first_bytes);
    ASSERT_TRUE(all.ok() && some.ok());
    ASSERT_EQ(all->size(), some->size()) << text;
    for (size_t i = 0; i < all->size(); ++i) {
      const Token& a = (*all)[i];
      const Token& b = (*some)[i];
      EXPECT_EQ(a.position, b.position);
      EXPECT_EQ(a.start, b.start);
      EXPECT_EQ(a.end, b.end);
      const bool can_match = first_bytes.find(a.term[0]) != std::string::npos;
      if (can_match) {
        EXPECT_EQ(b.term, a.term) << text;
      } else {
        EXPECT_TRUE(b.term.empty() || b.term == a.term) << a.term;
      }
    }
  }
}

}  // namespace sift::analysis
