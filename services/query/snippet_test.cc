#include "services/query/snippet.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/analysis/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::query {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const analysis::Analyzer& TheAnalyzer() {
  static const analysis::Analyzer* const analyzer = new analysis::Analyzer;
  return *analyzer;
}

std::vector<analysis::Token> Tokens(absl::string_view text) {
  absl::StatusOr<std::vector<analysis::Token>> tokens =
      TheAnalyzer().Analyze(text);
  EXPECT_TRUE(tokens.ok()) << tokens.status();
  return tokens.ok() ? *std::move(tokens) : std::vector<analysis::Token>();
}

// The body highlights of `query`, as the planner makes them.
Highlights For(absl::string_view query) {
  absl::StatusOr<QueryPlan> plan =
      ParseAndPlan(query, ParserOptions(), TheAnalyzer());
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? plan->body_highlights : Highlights();
}

v1::Snippet Fragment(absl::string_view text, absl::string_view query,
                     size_t bytes = 200) {
  SnippetOptions options;
  options.fragment_bytes = bytes;
  return MakeFragmentSnippet(text, Tokens(text), For(query), options);
}

// The spanned substrings of a snippet.
std::vector<std::string> Marked(const v1::Snippet& snippet) {
  std::vector<std::string> out;
  for (const v1::Span& span : snippet.spans()) {
    out.push_back(
        snippet.text().substr(span.start(), span.end() - span.start()));
  }
  return out;
}

// Every span ascending, non-overlapping and on character boundaries, the
// text valid UTF-8, and `highlighted` consistent with the spans.
void ExpectWellFormed(const v1::Snippet& snippet) {
  EXPECT_FALSE(analysis::FindInvalidUtf8(snippet.text()).has_value())
      << snippet.text();
  std::string highlighted;
  uint32_t at = 0;
  for (const v1::Span& span : snippet.spans()) {
    ASSERT_LE(at, span.start());
    ASSERT_LT(span.start(), span.end());
    ASSERT_LE(span.end(), snippet.text().size());
    absl::StrAppend(
        &highlighted, snippet.text().substr(at, span.start() - at), "<em>",
        snippet.text().substr(span.start(), span.end() - span.start()),
        "</em>");
    at = span.end();
  }
  highlighted += snippet.text().substr(at);
  EXPECT_EQ(snippet.highlighted(), highlighted);
}

std::string Filler(int words) {
  std::string out;
  for (int i = 0; i < words; ++i) absl::StrAppend(&out, "filler ");
  return out;
}

TEST(SnippetTest, ShortTextIsWholeWithEveryMatch) {
  v1::Snippet s = Fragment("Cocoa prices rose; cocoa fell.", "cocoa");
  ExpectWellFormed(s);
  EXPECT_EQ(s.text(), "Cocoa prices rose; cocoa fell.");
  EXPECT_THAT(Marked(s), ElementsAre("Cocoa", "cocoa"));
  EXPECT_EQ(s.highlighted(),
            "<em>Cocoa</em> prices rose; <em>cocoa</em> fell.");
}

TEST(SnippetTest, ChoosesTheWindowWithTheMostDistinctTerms) {
  // "cocoa" alone three times early; "cocoa" and "prices" together later.
  const std::string text =
      absl::StrCat("Cocoa cocoa cocoa. ", Filler(60),
                   "Here cocoa prices climbed. ", Filler(60), "The end.");
  v1::Snippet s = Fragment(text, "cocoa prices");
  ExpectWellFormed(s);
  EXPECT_THAT(Marked(s), ElementsAre("cocoa", "prices"));
  EXPECT_THAT(s.text(), HasSubstr("Here cocoa prices climbed."));
  EXPECT_TRUE(absl::StartsWith(s.text(), "\xE2\x80\xA6")) << s.text();
  EXPECT_TRUE(absl::EndsWith(s.text(), "\xE2\x80\xA6")) << s.text();
  EXPECT_LE(s.text().size(), 200u + 2 * 3 + 8);
}

TEST(SnippetTest, PrefersMoreOccurrencesAmongEquallyDistinctWindows) {
  const std::string text =
      absl::StrCat("One cocoa here. ", Filler(60),
                   "Cocoa, cocoa and more cocoa. ", Filler(60));
  v1::Snippet s = Fragment(text, "cocoa");
  EXPECT_THAT(Marked(s), ElementsAre("Cocoa", "cocoa", "cocoa"));
}

TEST(SnippetTest, PhraseIsOneSpanFromFirstToLastWord) {
  const std::string text = absl::StrCat(
      Filler(50), "the protection of Human   Rights matters; rights too. ",
      Filler(50));
  v1::Snippet s = Fragment(text, "\"human rights\"");
  ExpectWellFormed(s);
  EXPECT_THAT(Marked(s), ElementsAre("Human   Rights"));
  EXPECT_THAT(s.highlighted(), HasSubstr("<em>Human   Rights</em> matters"));
}

TEST(SnippetTest, TermInsideAPhraseMergesIntoOneSpan) {
  v1::Snippet s =
      Fragment("Human rights and rights of way.", "\"human rights\" rights");
  ExpectWellFormed(s);
  EXPECT_THAT(Marked(s), ElementsAre("Human rights", "rights"));
}

TEST(SnippetTest, SloppyPhraseMarksItsWordsOneByOne) {
  v1::Snippet s = Fragment("rights of humans", "\"human rights\"~2");
  EXPECT_THAT(Marked(s), ElementsAre("rights", "humans"));
}

TEST(SnippetTest, CjkFragmentNeverCutsACharacter) {
  // 3-byte characters throughout; the match sits in the middle.
  std::string text;
  for (int i = 0; i < 40; ++i) text += "今天天气很好。";
  text += "东京大学的研究。";
  for (int i = 0; i < 40; ++i) text += "今天天气很好。";
  v1::Snippet s = Fragment(text, "东京");
  ExpectWellFormed(s);
  EXPECT_THAT(Marked(s), ElementsAre("东京"));
  EXPECT_TRUE(absl::StartsWith(s.text(), "\xE2\x80\xA6"));
  EXPECT_TRUE(absl::EndsWith(s.text(), "\xE2\x80\xA6"));
  EXPECT_LT(s.text().size(), text.size());
}

TEST(SnippetTest, AccentsAndCurlyQuotesStayWhole) {
  const std::string text = absl::StrCat(
      Filler(40), "She said “Café society is back” in Zürich. ", Filler(40));
  v1::Snippet s = Fragment(text, "café zürich", 60);
  ExpectWellFormed(s);
  EXPECT_THAT(Marked(s), ElementsAre("Café", "Zürich"));
  // The opening quote stays with the word after it, the closing one and the
  // full stop with the word before them.
  EXPECT_THAT(s.text(), HasSubstr("“Café society is back” in Zürich."));
}

TEST(SnippetTest, HtmlLikeCharactersAreLeftAlone) {
  v1::Snippet s = Fragment("if a <b> & c > d then cocoa", "cocoa");
  EXPECT_EQ(s.text(), "if a <b> & c > d then cocoa");
  EXPECT_EQ(s.highlighted(), "if a <b> & c > d then <em>cocoa</em>");
}

TEST(SnippetTest, NoMatchGivesTheLeadingFragment) {
  const std::string text = absl::StrCat("  Opening words. ", Filler(100));
  v1::Snippet s = Fragment(text, "absent");
  ExpectWellFormed(s);
  EXPECT_THAT(s.spans(), IsEmpty());
  EXPECT_TRUE(absl::StartsWith(s.text(), "Opening words. filler"));
  EXPECT_TRUE(absl::EndsWith(s.text(), "filler\xE2\x80\xA6"));
  EXPECT_LE(s.text().size(), 200u + 3);
}

TEST(SnippetTest, FragmentEndsAtAMatchNearTheEndOfTheText) {
  const std::string text = absl::StrCat(Filler(100), "final cocoa.");
  v1::Snippet s = Fragment(text, "cocoa");
  ExpectWellFormed(s);
  EXPECT_TRUE(absl::EndsWith(s.text(), "final cocoa.")) << s.text();
  // The unused room goes before the match.
  EXPECT_GE(s.text().size(), 190u);
}

TEST(SnippetTest, FragmentLengthIsConfigurable) {
  const std::string text = absl::StrCat(Filler(20), "cocoa ", Filler(20));
  v1::Snippet s = Fragment(text, "cocoa", 40);
  ExpectWellFormed(s);
  EXPECT_THAT(Marked(s), ElementsAre("cocoa"));
  EXPECT_LE(s.text().size(), 40u + 6);
}

TEST(SnippetTest, WordLongerThanTheFragmentIsCutOnACharacterBoundary) {
  // No token (the analyzer drops very long words), multi-byte characters.
  std::string text;
  for (int i = 0; i < 100; ++i) text += "\xC3\xA9";
  v1::Snippet s = Fragment(text, "absent", 51);
  ExpectWellFormed(s);
  EXPECT_EQ(s.text(), text.substr(0, 50) + "\xE2\x80\xA6");
}

TEST(SnippetTest, TitleIsWholeWithItsMatches) {
  const std::string title =
      "Safeguarding Human Rights is the Unwavering Mission of the Party";
  v1::Snippet s =
      MakeWholeSnippet(title, Tokens(title), For("\"human rights\" mission"));
  ExpectWellFormed(s);
  EXPECT_EQ(s.text(), title);
  EXPECT_EQ(s.highlighted(),
            "Safeguarding <em>Human Rights</em> is the Unwavering "
            "<em>Mission</em> of the Party");
}

TEST(SnippetTest, TitleWithoutMatchesHasNoSpans) {
  v1::Snippet s = MakeWholeSnippet("Cocoa", Tokens("Cocoa"), For("coffee"));
  EXPECT_EQ(s.text(), "Cocoa");
  EXPECT_EQ(s.highlighted(), "Cocoa");
  EXPECT_THAT(s.spans(), IsEmpty());
}

}  // namespace
}  // namespace sift::query
