#include "services/ingest/article_parser.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/timestamp_parser.h"

namespace sift::ingest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string Day(const v1::Document& doc) {
  return doc.has_published_at() ? FormatTimestamp(doc.published_at()) : "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(ArticleParserTest, ParsesTheSharedSample) {
  const std::string path =
      std::string(SIFT_SHARED_DIR) + "/samples/news-article.txt";
  const std::string text = ReadFile(path);
  if (text.empty()) GTEST_SKIP() << "sample not found at " << path;
  const v1::Document doc = ParseArticle(text);
  EXPECT_EQ(doc.title(),
            "Safeguarding Human Rights is the Unwavering Mission of the "
            "Communist Party of China");
  EXPECT_EQ(Day(doc), "2021-02-22T00:00:00Z");
  EXPECT_EQ(doc.source(), "en.humanrights.cn");
  EXPECT_THAT(doc.body(), StartsWith("Feb.22,2021 -- en.humanrights.cn:"));
  EXPECT_THAT(doc.body(), Not(HasSubstr("Staff Twitter List")));
  EXPECT_THAT(doc.body(), Not(HasSubstr("For the latest news")));
  // The last real paragraph is all there.
  EXPECT_THAT(doc.body(), HasSubstr("Under the leadership of the"));
  EXPECT_FALSE(absl::EndsWith(doc.body(), "\n"));
}

TEST(ArticleParserTest, ParsesTheProjectSamples) {
  for (const char* name :
       {"bike-lanes.txt", "cocoa-drought.txt", "library-archive.txt",
        "harbour-marathon.txt", "solar-plant.txt"}) {
    const std::string text =
        ReadFile(absl::StrCat(SIFT_SOURCE_DIR, "/samples/articles/", name));
    ASSERT_FALSE(text.empty()) << name;
    const v1::Document doc = ParseArticle(text);
    EXPECT_FALSE(doc.title().empty()) << name;
    EXPECT_TRUE(doc.has_published_at()) << name;
    EXPECT_FALSE(doc.source().empty()) << name;
    EXPECT_GT(doc.body().size(), 1000u) << name;
    for (const char* boilerplate : {"rights reserved", "newsletter", ">>"}) {
      EXPECT_THAT(doc.body(), Not(HasSubstr(boilerplate))) << name;
    }
  }
}

struct DateCase {
  const char* line;
  const char* day;
};

TEST(ArticleParserTest, ReadsEveryDateForm) {
  for (const DateCase& c : std::initializer_list<DateCase>{
           {"February 22, 2021", "2021-02-22T00:00:00Z"},
           {"February 22,2021", "2021-02-22T00:00:00Z"},
           {"february 22 2021", "2021-02-22T00:00:00Z"},
           {"Feb 22,2021", "2021-02-22T00:00:00Z"},
           {"Feb. 22, 2021", "2021-02-22T00:00:00Z"},
           {"Feb.22,2021", "2021-02-22T00:00:00Z"},
           {"Sept. 5, 2021", "2021-09-05T00:00:00Z"},
           {"March 1st, 2020", "2020-03-01T00:00:00Z"},
           {"22 February 2021", "2021-02-22T00:00:00Z"},
           {"22 Feb. 2021", "2021-02-22T00:00:00Z"},
           {"22nd February, 2021", "2021-02-22T00:00:00Z"},
           {"2021-02-22", "2021-02-22T00:00:00Z"},
           {"2021/02/22", "2021-02-22T00:00:00Z"},
           {"2021/2/5", "2021-02-05T00:00:00Z"},
           {"2021-02-22T10:30:00+01:00", "2021-02-22T09:30:00Z"},
           {"Monday, February 22, 2021", "2021-02-22T00:00:00Z"},
           {"Mon, 22 Feb 2021", "2021-02-22T00:00:00Z"},
           {"Published: February 22, 2021", "2021-02-22T00:00:00Z"},
           {"Updated: 2021-02-22", "2021-02-22T00:00:00Z"},
           {"  February 22, 2021\u00a0\u00a0", "2021-02-22T00:00:00Z"},
       }) {
    const v1::Document doc =
        ParseArticle(absl::StrCat("Title\n", c.line, "\nBody text.\n"));
    EXPECT_EQ(Day(doc), c.day) << c.line;
    EXPECT_EQ(doc.source(), "") << c.line;
    EXPECT_EQ(doc.body(), "Body text.") << c.line;
  }
}

struct BylineCase {
  const char* line;
  const char* source;
  const char* day;
};

TEST(ArticleParserTest, ReadsEveryBylineForm) {
  for (const BylineCase& c : std::initializer_list<BylineCase>{
           {"By:en.humanrights.cn", "en.humanrights.cn", ""},
           {"By: Harbour Gazette", "Harbour Gazette", ""},
           {"By Jane Doe", "Jane Doe", ""},
           {"BY JANE DOE, STAFF WRITER", "JANE DOE, STAFF WRITER", ""},
           {"Source: Xinhua", "Xinhua", ""},
           {"Source : Xinhua", "Xinhua", ""},
           {"| Reuters", "Reuters", ""},
           {"February 22,2021\u00a0\u00a0\u00a0By:en.humanrights.cn",
            "en.humanrights.cn", "2021-02-22T00:00:00Z"},
           {"Feb 22, 2021 By Jane Doe", "Jane Doe", "2021-02-22T00:00:00Z"},
           {"Feb 22, 2021, by Jane Doe", "Jane Doe", "2021-02-22T00:00:00Z"},
           {"February 22, 2021 | Reuters", "Reuters", "2021-02-22T00:00:00Z"},
           {"2021-02-22 | By: Staff", "Staff", "2021-02-22T00:00:00Z"},
           {"22 February 2021 Source: Xinhua", "Xinhua",
            "2021-02-22T00:00:00Z"},
           {"By Jane Doe | February 22, 2021", "Jane Doe",
            "2021-02-22T00:00:00Z"},
       }) {
    const v1::Document doc =
        ParseArticle(absl::StrCat("Title\n", c.line, "\nBody text.\n"));
    EXPECT_EQ(doc.source(), c.source) << c.line;
    EXPECT_EQ(Day(doc), c.day) << c.line;
    EXPECT_EQ(doc.body(), "Body text.") << c.line;
  }
}

// Second lines that only look like a date or byline stay in the body.
TEST(ArticleParserTest, LeavesLookalikeSecondLinesInTheBody) {
  for (const char* line : {
           "By the end of the year, the council had approved the plan.",
           "By 2030 the city expects to have forty kilometres of lanes "
           "and a network of protected junctions across the centre",
           "Feb.22,2021 -- en.humanrights.cn: \"The people's happiness\"",
           "February 22, 2021 was the coldest day of the winter.",
           "February 30, 2021",
           "Feb 22",
           "2021-02-22x",
           "Source of the trouble: a broken valve",
           "Published in the spring",
           "Date: unknown",
           "By \"the book\"",
           "By the Numbers",
           "by staff",
           "|",
       }) {
    const v1::Document doc =
        ParseArticle(absl::StrCat("Title\n", line, "\nMore text.\n"));
    EXPECT_FALSE(doc.has_published_at()) << line;
    EXPECT_EQ(doc.source(), "") << line;
    EXPECT_EQ(doc.body(), absl::StrCat(line, "\nMore text.")) << line;
  }
}

TEST(ArticleParserTest, WithoutADateLineTheRestIsBody) {
  const v1::Document doc =
      ParseArticle("Harbour ferry returns\nThe ferry is back.\nIt is blue.\n");
  EXPECT_EQ(doc.title(), "Harbour ferry returns");
  EXPECT_FALSE(doc.has_published_at());
  EXPECT_EQ(doc.body(), "The ferry is back.\nIt is blue.");
}

TEST(ArticleParserTest, AnEmptyFileGivesAnEmptyDocument) {
  for (const char* text : {"", "\n\n", "  \t\n\u00a0\r\n", "\xEF\xBB\xBF"}) {
    const v1::Document doc = ParseArticle(text);
    EXPECT_EQ(doc.title(), "");
    EXPECT_EQ(doc.body(), "");
    EXPECT_FALSE(doc.has_published_at());
  }
}

TEST(ArticleParserTest, OnlyATitle) {
  const v1::Document doc = ParseArticle("\n\n  Just a headline  \n\n");
  EXPECT_EQ(doc.title(), "Just a headline");
  EXPECT_EQ(doc.body(), "");
}

TEST(ArticleParserTest, TitleAndDateWithoutBody) {
  const v1::Document doc = ParseArticle("Headline\n\nFeb 1, 2020\n");
  EXPECT_EQ(doc.title(), "Headline");
  EXPECT_EQ(Day(doc), "2020-02-01T00:00:00Z");
  EXPECT_EQ(doc.body(), "");
}

TEST(ArticleParserTest, HandlesCrlfAndCrLineEndings) {
  for (const char* text :
       {"Title\r\nFeb 22, 2021 By Jane\r\nOne.\r\n\r\nTwo.\r\n",
        "Title\rFeb 22, 2021 By Jane\rOne.\r\rTwo.\r"}) {
    const v1::Document doc = ParseArticle(text);
    EXPECT_EQ(doc.title(), "Title");
    EXPECT_EQ(doc.source(), "Jane");
    EXPECT_EQ(Day(doc), "2021-02-22T00:00:00Z");
    EXPECT_EQ(doc.body(), "One.\n\nTwo.");
  }
}

TEST(ArticleParserTest, DropsAByteOrderMark) {
  const v1::Document doc =
      ParseArticle("\xEF\xBB\xBFTitle\n2021-02-22\nBody.\n");
  EXPECT_EQ(doc.title(), "Title");
  EXPECT_EQ(Day(doc), "2021-02-22T00:00:00Z");
}

TEST(ArticleParserTest, ATooLongFirstLineIsBodyNotTitle) {
  const std::string long_line(301, 'x');
  const v1::Document doc = ParseArticle(long_line + "\nsecond\n");
  EXPECT_EQ(doc.title(), "");
  EXPECT_EQ(doc.body(), long_line + "\nsecond");
  // 300 characters (not bytes) is still a title.
  std::string accented;
  for (int i = 0; i < 300; ++i) accented += "\u00e9";
  EXPECT_EQ(ParseArticle(accented + "\nbody").title(), accented);
}

TEST(ArticleParserTest, KeepsParagraphsAndTrimsLineEnds) {
  const v1::Document doc =
      ParseArticle("T\n\n\nFirst line.\u00a0 \n  Indented.\n\nNext.\n\n\n");
  EXPECT_EQ(doc.body(), "First line.\n  Indented.\n\nNext.");
}

TEST(ArticleParserTest, DropsEveryKindOfTrailingBoilerplate) {
  for (const char* trailer : {
           "For the latest news and analysis from our",
           "reporters and editors:Staff Twitter List>>",
           "More from the business desk \u00bb",
           "\u00a9 2023 Harbour Gazette",
           "(c) 2023 Harbour Gazette",
           "Copyright 2023 Harbour Gazette Media Ltd.",
           "Harbour Gazette 2023. All Rights Reserved.",
           "Related: Council approves budget",
           "Related articles",
           "Tags: transport, council, cycling",
           "Topics : energy",
           "Keywords: solar",
           "Read more: How the plant was financed",
           "Read more",
           "Share this:",
           "Share this article",
           "Share on Facebook",
           "Follow us on Twitter @gazette",
           "Subscribe to our newsletter",
           "Sign up for our morning email",
           "Click here to get the app",
           "Advertisement",
       }) {
    const v1::Document doc = ParseArticle(absl::StrCat(
        "Title\nFeb 1, 2023\nThe story.\nIts end.\n\n", trailer, "\n"));
    EXPECT_EQ(doc.body(), "The story.\nIts end.") << trailer;
  }
}

TEST(ArticleParserTest, DropsSeveralBoilerplateLinesButNoMore) {
  const v1::Document doc = ParseArticle(
      "Title\nStory.\nShare prices rose 3% on Friday.\n\nAdvertisement\n"
      "Tags: markets\n\u00a9 2023 Gazette\n");
  EXPECT_EQ(doc.body(), "Story.\nShare prices rose 3% on Friday.");
}

TEST(ArticleParserTest, KeepsRealClosingSentences) {
  for (const char* ending : {
           "Share prices rose 3% on Friday.",
           "Follow-up talks are scheduled for March.",
           "Subscribers can read the full report online.",
           "Sign up opens in March, the council said.",
           "Related costs were not disclosed.",
           "Copyrighted recordings will stay in the vault.",
           "Tags on the crates were checked by hand.",
           "Follow the river north and the plant is on your left, she said.",
           // Long lines are paragraphs, whatever they start with.
           "Copyright law was the subject of a long hearing on Tuesday, in "
           "which the committee heard from librarians, publishers, authors "
           "and archivists about what digitising the collection would mean "
           "for the rights of writers who are still alive and for their "
           "heirs, and about how long the work would take.",
       }) {
    const v1::Document doc =
        ParseArticle(absl::StrCat("Title\nThe story.\n", ending, "\n"));
    EXPECT_EQ(doc.body(), absl::StrCat("The story.\n", ending)) << ending;
  }
}

TEST(ArticleParserTest, BoilerplateInTheMiddleStays) {
  const v1::Document doc =
      ParseArticle("Title\nAdvertisement\nThe story goes on.\n");
  EXPECT_EQ(doc.body(), "Advertisement\nThe story goes on.");
}

TEST(ArticleParserTest, NeverDropsTheFirstBodyLine) {
  const v1::Document doc =
      ParseArticle("Newsletter launch\nSubscribe to our newsletter\n");
  EXPECT_EQ(doc.body(), "Subscribe to our newsletter");
}

TEST(ArticleParserTest, PassesIllFormedUtf8Through) {
  const v1::Document doc = ParseArticle("Ti\xC3tle\nBody \xFF.\n");
  EXPECT_EQ(doc.title(), "Ti\xC3tle");
  EXPECT_EQ(doc.body(), "Body \xFF.");
}

}  // namespace
}  // namespace sift::ingest
