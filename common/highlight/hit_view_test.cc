#include "common/highlight/hit_view.h"

#include <string>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::highlight {
namespace {

using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Document Article() {
  v1::Document doc;
  doc.set_id("a-1");
  doc.set_title("Copper prices climb");
  doc.set_body(
      "Traders said copper prices rose for a third day. Mines in Chile "
      "reported strikes, and stocks of the metal fell in London.");
  doc.set_source("reuters");
  doc.mutable_published_at()->set_seconds(1700000000);
  doc.add_tags("metals");
  doc.add_tags("chile");
  doc.set_url("https://example.com/a-1");
  return doc;
}

TEST(HitViewTest, WithoutHighlightingOnlyTheDisplayFields) {
  const analysis::Analyzer analyzer;
  const v1::HitView view = MakeHitView(Article(), HitViewOptions(), analyzer);
  EXPECT_EQ(view.id(), "a-1");
  EXPECT_TRUE(view.found());
  EXPECT_EQ(view.title(), "Copper prices climb");
  EXPECT_EQ(view.source(), "reuters");
  EXPECT_EQ(view.published_at().seconds(), 1700000000);
  EXPECT_THAT(view.tags(), ElementsAre("metals", "chile"));
  EXPECT_EQ(view.url(), "https://example.com/a-1");
  EXPECT_FALSE(view.has_snippet());
  EXPECT_FALSE(view.has_title_snippet());
}

TEST(HitViewTest, HighlightingMarksTheTitleAndTheBestFragment) {
  const analysis::Analyzer analyzer;
  HitViewOptions options;
  options.highlight = true;
  options.title.terms = {"copper"};
  options.body.terms = {"strike"};  // stemmed, as the planner makes it
  options.snippet.fragment_bytes = 40;
  options.snippet.pre_tag = "[";
  options.snippet.post_tag = "]";
  const v1::HitView view = MakeHitView(Article(), options, analyzer);
  EXPECT_EQ(view.title_snippet().highlighted(), "[Copper] prices climb");
  EXPECT_THAT(view.snippet().highlighted(), HasSubstr("[strikes]"));
  EXPECT_LT(view.snippet().text().size(), Article().body().size());
}

TEST(HitViewTest, OptionsSurviveTheWire) {
  HitViewOptions options;
  options.highlight = true;
  options.title.terms = {"copper"};
  options.title.phrases = {{"copper", "price"}};
  options.body.prefixes = {"min"};
  options.body.fuzzy = {{"chile", 1}};
  options.snippet.fragment_bytes = 120;
  options.snippet.pre_tag = "<mark>";
  options.snippet.post_tag = "</mark>";
  options.snippet.html_escape = true;
  SIFT_ASSERT_OK_AND_ASSIGN(HitViewOptions back,
                            FromProto(ToProto(options), "view"));
  EXPECT_TRUE(back.highlight);
  EXPECT_EQ(back.title, options.title);
  EXPECT_EQ(back.body, options.body);
  EXPECT_EQ(back.snippet.fragment_bytes, 120u);
  EXPECT_EQ(back.snippet.pre_tag, "<mark>");
  EXPECT_EQ(back.snippet.post_tag, "</mark>");
  EXPECT_TRUE(back.snippet.html_escape);
}

TEST(HitViewTest, AShardRefusesOptionsOutsideTheLimitsNamingTheField) {
  HitViewOptions options;
  options.highlight = true;
  v1::HitViewRequest request = ToProto(options);
  request.set_fragment_bytes(5);
  EXPECT_THAT(FromProto(request, "view"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("view.fragment_bytes")));
  request = ToProto(options);
  request.set_pre_tag(std::string(kMaxTagBytes + 1, 'x'));
  EXPECT_THAT(
      FromProto(request, "view"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("view.pre_tag")));
  request = ToProto(options);
  request.set_post_tag("\xff");
  EXPECT_THAT(
      FromProto(request, "view"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("view.post_tag")));
  request = ToProto(options);
  for (size_t i = 0; i <= kMaxHighlightEntries; ++i) {
    request.mutable_body()->add_terms("t");
  }
  EXPECT_THAT(
      FromProto(request, "view"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("view.body")));
  // Without highlighting nothing else is read.
  request.set_highlight(false);
  EXPECT_TRUE(FromProto(request, "view").ok());
}

}  // namespace
}  // namespace sift::highlight
