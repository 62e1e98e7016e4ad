#include "tools/siftctl/query_text.h"

#include <string>
#include <vector>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::siftctl {
namespace {

using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

TEST(EscapeQueryTextTest, PlainWordsPassUnchanged) {
  const std::string cranfield =
      "what similarity laws must be obeyed when constructing aeroelastic "
      "models of heated high speed aircraft .";
  EXPECT_EQ(EscapeQueryText(cranfield), cranfield);
  EXPECT_EQ(EscapeQueryText("don't, café; 1.5 mach"), "don't, café; 1.5 mach");
}

TEST(EscapeQueryTextTest, BackslashesEveryOperatorCharacter) {
  EXPECT_EQ(EscapeQueryText("\"heat transfer\"~3"),
            "\\\"heat transfer\\\"\\~3");
  EXPECT_EQ(EscapeQueryText("(a) title:b +c -d e* f? [1 TO 2] {x} ^ ! | & /"),
            "\\(a\\) title\\:b \\+c \\-d e\\* f\\? \\[1 to 2\\] \\{x\\} \\^ "
            "\\! \\| \\& \\/");
  EXPECT_EQ(EscapeQueryText("back\\slash"), "back\\\\slash");
  EXPECT_EQ(EscapeQueryText("high-speed"), "high\\-speed");
}

TEST(EscapeQueryTextTest, LowercasesStandaloneOperatorWordsOnly) {
  EXPECT_EQ(EscapeQueryText("salt AND pepper OR NOT sugar"),
            "salt and pepper or not sugar");
  EXPECT_EQ(EscapeQueryText("(NOT)"), "\\(not\\)");
  // Words that merely contain the operators keep their case.
  EXPECT_EQ(EscapeQueryText("ANDROID ORBIT NOTE TOKYO And"),
            "ANDROID ORBIT NOTE TOKYO And");
  EXPECT_EQ(EscapeQueryText("ANDé"), "ANDé");
}

TEST(ParseQueriesTest, ReadsQidAndTextPerLine) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      std::vector<BatchQuery> queries,
      ParseQueries("1\twhat is heat\r\n\n 2 \t  flow (laminar)  \n", "q.tsv"));
  ASSERT_EQ(queries.size(), 2u);
  EXPECT_EQ(queries[0].qid, "1");
  EXPECT_EQ(queries[0].text, "what is heat");
  EXPECT_EQ(queries[0].line, 1);
  EXPECT_EQ(queries[1].qid, "2");
  EXPECT_EQ(queries[1].text, "flow (laminar)");
  EXPECT_EQ(queries[1].line, 3);
}

TEST(ParseQueriesTest, ReportsTheLineOfAMalformedEntry) {
  EXPECT_THAT(ParseQueries("1\tok\n2 no tab here\n", "q.tsv"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("q.tsv:2: expected qid<TAB>query text")));
  EXPECT_THAT(ParseQueries("\tno qid\n", "q.tsv"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("q.tsv:1: the qid is empty")));
  EXPECT_THAT(
      ParseQueries("a b\tquery\n", "q.tsv"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("holds a space")));
}

TEST(ParseQueriesTest, MissingFileIsNotFound) {
  EXPECT_THAT(ReadQueriesFile("/nonexistent/queries.tsv"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace sift::siftctl
