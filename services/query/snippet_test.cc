#include "common/highlight/snippet.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/analysis/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/query/query_planner.h"

namespace sift::query {
namespace {

using ::sift::highlight::MakeFragmentSnippet;
using ::sift::highlight::MakeWholeSnippet;
using ::sift::highlight::SnippetOptions;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

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

QueryPlan PlanOf(absl::string_view query) {
  absl::StatusOr<QueryPlan> plan =
      ParseAndPlan(query, ParserOptions(), TheAnalyzer());
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *std::move(plan) : QueryPlan();
}

// The body highlights of `query`, as the planner makes them.
Highlights For(absl::string_view query) {
  return PlanOf(query).body_highlights;
}

// The title highlights of `query`.
Highlights TitleFor(absl::string_view query) {
  return PlanOf(query).title_highlights;
}

v1::Snippet Fragment(absl::string_view text, absl::string_view query,
                     size_t bytes = 200) {
  SnippetOptions options;
  options.fragment_bytes = bytes;
  return MakeFragmentSnippet(text, Tokens(text), For(query), options);
}

v1::Snippet Fragment(absl::string_view text, absl::string_view query,
                     const SnippetOptions& options) {
  return MakeFragmentSnippet(text, Tokens(text), For(query), options);
}

SnippetOptions Markers(std::string pre, std::string post, bool escape) {
  SnippetOptions options;
  options.pre_tag = std::move(pre);
  options.post_tag = std::move(post);
  options.html_escape = escape;
  return options;
}

// HTML escaping written out independently of the code under test.
std::string Escaped(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '"') {
      out += "&quot;";
    } else if (c == '\'') {
      out += "&#39;";
    } else {
      out += c;
    }
  }
  return out;
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
// text and `highlighted` valid UTF-8, and `highlighted` the text with the
// markers around the spans (escaped when `options` says so).
void ExpectWellFormed(const v1::Snippet& snippet,
                      const SnippetOptions& options = {}) {
  EXPECT_FALSE(analysis::FindInvalidUtf8(snippet.text()).has_value())
      << snippet.text();
  EXPECT_FALSE(analysis::FindInvalidUtf8(snippet.highlighted()).has_value())
      << snippet.highlighted();
  auto text = [&](uint32_t from, uint32_t to) {
    const std::string part = snippet.text().substr(from, to - from);
    return options.html_escape ? Escaped(part) : part;
  };
  std::string highlighted;
  uint32_t at = 0;
  for (const v1::Span& span : snippet.spans()) {
    ASSERT_LE(at, span.start());
    ASSERT_LT(span.start(), span.end());
    ASSERT_LE(span.end(), snippet.text().size());
    absl::StrAppend(&highlighted, text(at, span.start()), options.pre_tag,
                    text(span.start(), span.end()), options.post_tag);
    at = span.end();
  }
  highlighted += text(at, static_cast<uint32_t>(snippet.text().size()));
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

TEST(SnippetTest, MarkersAreConfigurable) {
  const SnippetOptions options = Markers("[[", "]]", false);
  v1::Snippet s = Fragment("Cocoa prices rose; cocoa fell.", "cocoa", options);
  ExpectWellFormed(s, options);
  EXPECT_EQ(s.highlighted(), "[[Cocoa]] prices rose; [[cocoa]] fell.");
  // The spans do not move with the markers.
  EXPECT_THAT(Marked(s), ElementsAre("Cocoa", "cocoa"));
  EXPECT_EQ(s.spans(0).start(), 0u);
  EXPECT_EQ(s.spans(1).start(), 19u);
}

TEST(SnippetTest, EmptyMarkersLeaveOnlyTheSpans) {
  const SnippetOptions options = Markers("", "", false);
  v1::Snippet s = Fragment("Cocoa prices rose.", "cocoa", options);
  EXPECT_EQ(s.highlighted(), "Cocoa prices rose.");
  EXPECT_THAT(Marked(s), ElementsAre("Cocoa"));
}

TEST(SnippetTest, EscapingCoversTheTextButNotTheMarkers) {
  const SnippetOptions options = Markers("<mark>", "</mark>", true);
  const std::string text = "if a <b> & c > d then \"cocoa\" isn't 'sweet'";
  v1::Snippet s = Fragment(text, "cocoa", options);
  ExpectWellFormed(s, options);
  EXPECT_EQ(s.text(), text);
  EXPECT_EQ(s.highlighted(),
            "if a &lt;b&gt; &amp; c &gt; d then &quot;<mark>cocoa</mark>"
            "&quot; isn&#39;t &#39;sweet&#39;");
  EXPECT_THAT(Marked(s), ElementsAre("cocoa"));
}

TEST(SnippetTest, EscapingReachesInsideAMatch) {
  // AT&T analyzes to the phrase "at t": one span across the ampersand.
  const SnippetOptions options = Markers("<em>", "</em>", true);
  v1::Snippet s = Fragment("Shares of AT&T fell.", "AT&T", options);
  ExpectWellFormed(s, options);
  EXPECT_THAT(Marked(s), ElementsAre("AT&T"));
  EXPECT_EQ(s.highlighted(), "Shares of <em>AT&amp;T</em> fell.");
}

TEST(SnippetTest, MarkersWithHtmlCharactersGoInVerbatim) {
  // Markers are the caller's markup: escaping must not touch them, with or
  // without escaping of the text.
  const std::string pre = "<span class=\"hit\" data-x='1&2'>";
  const std::string post = "</span>";
  const std::string text = "R&D on <cocoa> & more cocoa";
  v1::Snippet escaped = Fragment(text, "cocoa", Markers(pre, post, true));
  ExpectWellFormed(escaped, Markers(pre, post, true));
  EXPECT_EQ(escaped.highlighted(), "R&amp;D on &lt;" + pre + "cocoa" + post +
                                       "&gt; &amp; more " + pre + "cocoa" +
                                       post);
  v1::Snippet raw = Fragment(text, "cocoa", Markers(pre, post, false));
  ExpectWellFormed(raw, Markers(pre, post, false));
  EXPECT_EQ(raw.highlighted(), "R&D on <" + pre + "cocoa" + post + "> & more " +
                                   pre + "cocoa" + post);
}

TEST(SnippetTest, EscapingLeavesMultibyteTextWhole) {
  const SnippetOptions options = Markers("\xE3\x80\x90", "\xE3\x80\x91", true);
  const std::string text =
      "She said \xE2\x80\x9C"
      "Caf\xC3\xA9 & Z\xC3\xBCrich\xE2\x80\x9D <b> "
      "\xE4\xB8\x9C\xE4\xBA\xAC\xE5\xA4\xA7\xE5\xAD\xA6\xE7\x9A\x84\xE7\xA0"
      "\x94\xE7\xA9\xB6\xE3\x80\x82";
  v1::Snippet s = Fragment(text, "café zürich 东京", options);
  ExpectWellFormed(s, options);
  EXPECT_THAT(Marked(s), ElementsAre("Caf\xC3\xA9", "Z\xC3\xBCrich",
                                     "\xE4\xB8\x9C\xE4\xBA\xAC"));
  // Curly quotes and the CJK text pass through; only ASCII & < > change.
  EXPECT_EQ(s.highlighted(),
            "She said \xE2\x80\x9C\xE3\x80\x90"
            "Caf\xC3\xA9\xE3\x80\x91 &amp; "
            "\xE3\x80\x90Z\xC3\xBCrich\xE3\x80\x91\xE2\x80\x9D &lt;b&gt; "
            "\xE3\x80\x90\xE4\xB8\x9C\xE4\xBA\xAC\xE3\x80\x91\xE5\xA4\xA7\xE5"
            "\xAD\xA6\xE7\x9A\x84\xE7\xA0\x94\xE7\xA9\xB6\xE3\x80\x82");
}

TEST(SnippetTest, EscapedFragmentKeepsItsEllipsesAndSpans) {
  // A long text full of characters to escape, cut on both sides.
  std::string text;
  for (int i = 0; i < 30; ++i) text += "a<b & \"c\" ";
  text += "it's cocoa <price> ";
  for (int i = 0; i < 30; ++i) text += "d>e & 'f' ";
  const SnippetOptions options = [] {
    SnippetOptions o = Markers("<em>", "</em>", true);
    o.fragment_bytes = 60;
    return o;
  }();
  v1::Snippet s = Fragment(text, "cocoa price", options);
  ExpectWellFormed(s, options);
  EXPECT_THAT(Marked(s), ElementsAre("cocoa", "price"));
  EXPECT_TRUE(absl::StartsWith(s.highlighted(), "\xE2\x80\xA6")) << s.text();
  EXPECT_TRUE(absl::EndsWith(s.highlighted(), "\xE2\x80\xA6")) << s.text();
  EXPECT_THAT(s.highlighted(),
              HasSubstr("it&#39;s <em>cocoa</em> &lt;<em>price</em>&gt;"));
  EXPECT_THAT(s.highlighted(), Not(HasSubstr("<b")));
}

TEST(SnippetTest, TitleTakesTheMarkersAndEscaping) {
  const std::string title = "Q&A: \"Human Rights\" <now>";
  const SnippetOptions options = Markers("**", "**", true);
  v1::Snippet s = MakeWholeSnippet(title, Tokens(title),
                                   TitleFor("\"human rights\""), options);
  ExpectWellFormed(s, options);
  EXPECT_EQ(s.text(), title);
  EXPECT_EQ(s.highlighted(),
            "Q&amp;A: &quot;**Human Rights**&quot; &lt;now&gt;");
}

TEST(SnippetTest, PrefixMarksEveryTokenWhoseTermStartsWithIt) {
  v1::Snippet s =
      Fragment("Computers compute; computation is a computing task. Compost.",
               "comput*");
  ExpectWellFormed(s);
  EXPECT_THAT(Marked(s),
              ElementsAre("Computers", "compute", "computation", "computing"));
}

TEST(SnippetTest, PrefixComparesWithStemmedTermsLikeTheIndex) {
  // running is indexed as "run", runners as "runner": only the latter
  // starts with "runn", which is all `runn*` matches in the index.
  v1::Snippet s = Fragment("Running runners ran.", "runn*");
  EXPECT_THAT(Marked(s), ElementsAre("runners"));
}

TEST(SnippetTest, FuzzyMarksTermsWithinTheEditsAndTheSameFirstLetter) {
  v1::Snippet s =
      Fragment("The wing, the wings, a swing, a king and a wig.", "wing~1");
  ExpectWellFormed(s);
  // swing and king are one edit away but start with another letter, as in
  // the shard's dictionary scan.
  EXPECT_THAT(Marked(s), ElementsAre("wing", "wings", "wig"));
  v1::Snippet two = Fragment("A wig, a wag and a wagon.", "wing~2");
  EXPECT_THAT(Marked(two), ElementsAre("wig", "wag"));
  v1::Snippet one = Fragment("A wig, a wag and a wagon.", "wing~1");
  EXPECT_THAT(Marked(one), ElementsAre("wig"));
}

TEST(SnippetTest, FuzzyCountsEditsInCharacters) {
  // é to e is one edit though it is two bytes to one.
  v1::Snippet s = Fragment("Caf\xC3\xA9 or cafe?", "cafe~1");
  EXPECT_THAT(Marked(s), ElementsAre("Caf\xC3\xA9", "cafe"));
}

TEST(SnippetTest, PrefixAndFuzzyEntriesCountTowardTheBestWindow) {
  // Early: computing alone, three times. Later: a prefix match and a fuzzy
  // match together, which is more distinct entries.
  const std::string text =
      absl::StrCat("Computing computing computing. ", Filler(60),
                   "Here computers lost a wnig. ", Filler(60), "The end.");
  v1::Snippet s = Fragment(text, "comput* wing~1");
  ExpectWellFormed(s);
  EXPECT_THAT(Marked(s), ElementsAre("computers", "wnig"));
}

TEST(SnippetTest, ScopedPrefixMarksOnlyItsField) {
  const std::string text = "Computers in the title and in the body.";
  const Highlights body = For("title:comput* body:wing~");
  const Highlights title = TitleFor("title:comput* body:wing~");
  EXPECT_THAT(Marked(MakeWholeSnippet(text, Tokens(text), title)),
              ElementsAre("Computers"));
  EXPECT_THAT(Marked(MakeFragmentSnippet(text, Tokens(text), body, {})),
              IsEmpty());
  const std::string wings = "Wings and computers.";
  EXPECT_THAT(Marked(MakeFragmentSnippet(wings, Tokens(wings), body, {})),
              ElementsAre("Wings"));
  EXPECT_THAT(Marked(MakeWholeSnippet(wings, Tokens(wings), title)),
              ElementsAre("computers"));
}

TEST(SnippetTest, ExcludedPrefixAndFuzzyClausesAreNotMarked) {
  v1::Snippet s =
      Fragment("Cocoa computers with wings.", "cocoa -comput* -wing~1");
  EXPECT_THAT(Marked(s), ElementsAre("Cocoa"));
}

}  // namespace
}  // namespace sift::query
