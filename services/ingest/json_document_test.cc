#include "services/ingest/json_document.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingest/timestamp_parser.h"

namespace sift::ingest {
namespace {

using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

std::string Day(const v1::Document& doc) {
  return doc.has_published_at() ? FormatTimestamp(doc.published_at()) : "";
}

absl::Status Parse(absl::string_view json, v1::Document* doc) {
  return ParseJsonDocument(json, doc);
}

TEST(JsonDocumentTest, ParsesTheCorpusFormat) {
  v1::Document doc;
  ASSERT_THAT(Parse(R"({"id": "1", "title": "BAHIA COCOA REVIEW",
      "body": "SALVADOR, Feb 26 - Showers continued.\nThe dry period...",
      "date": "1987-02-26", "source": "Reuters", "tags": ["cocoa", "trade"]})",
                    &doc),
              IsOk());
  EXPECT_EQ(doc.id(), "1");
  EXPECT_EQ(doc.title(), "BAHIA COCOA REVIEW");
  EXPECT_EQ(doc.body(),
            "SALVADOR, Feb 26 - Showers continued.\nThe dry period...");
  EXPECT_EQ(Day(doc), "1987-02-26T00:00:00Z");
  EXPECT_EQ(doc.source(), "Reuters");
  EXPECT_THAT(doc.tags(), ElementsAre("cocoa", "trade"));
}

TEST(JsonDocumentTest, ParsesTheJsonFormOfDocument) {
  v1::Document doc;
  ASSERT_THAT(Parse(R"({"id":"a/1","title":"T","body":"B","source":"Wire",
      "published_at":"2021-02-22T10:30:00.25+01:00","tags":[],
      "url":"https://example.org/a/1","language":"en",
      "attributes":{"desk":"city","words":"412"}})",
                    &doc),
              IsOk());
  EXPECT_EQ(Day(doc), "2021-02-22T09:30:00.250000000Z");
  EXPECT_EQ(doc.url(), "https://example.org/a/1");
  EXPECT_EQ(doc.language(), "en");
  EXPECT_THAT(doc.attributes(),
              UnorderedElementsAre(Pair("desk", "city"), Pair("words", "412")));
}

TEST(JsonDocumentTest, AcceptsProtobufCamelCaseAndDateOnlyPublishedAt) {
  v1::Document doc;
  ASSERT_THAT(Parse(R"({"id":"x","publishedAt":"2021-02-22"})", &doc), IsOk());
  EXPECT_EQ(Day(doc), "2021-02-22T00:00:00Z");
}

TEST(JsonDocumentTest, IgnoresUnknownKeysOfEveryShape) {
  v1::Document doc;
  ASSERT_THAT(Parse(R"({"extra": {"a": [1, -2.5e+3, true, false, null, "s\"q"]},
               "id": "k", "n": 0, "deep": [[[{"x": {}}]]], "e": []})",
                    &doc),
              IsOk());
  EXPECT_EQ(doc.id(), "k");
}

TEST(JsonDocumentTest, NullMeansAbsent) {
  v1::Document doc;
  ASSERT_THAT(Parse(R"({"id":"n","title":null,"date":null,"tags":null,
                        "attributes":null})",
                    &doc),
              IsOk());
  EXPECT_EQ(doc.title(), "");
  EXPECT_FALSE(doc.has_published_at());
  EXPECT_EQ(doc.tags_size(), 0);
}

TEST(JsonDocumentTest, AnEmptyDateMeansUnknown) {
  v1::Document doc;
  ASSERT_THAT(Parse(R"({"id":"n","date":""})", &doc), IsOk());
  EXPECT_FALSE(doc.has_published_at());
}

TEST(JsonDocumentTest, DecodesEscapesAndSurrogatePairs) {
  v1::Document doc;
  ASSERT_THAT(
      Parse(
          R"({"id":"e","title":"caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t"})",
          &doc),
      IsOk());
  EXPECT_EQ(doc.title(), "caf\u00e9 \U0001F600 \"q\" \\ / \b\f\n\r\t");
}

TEST(JsonDocumentTest, KeepsRawUtf8AsItIs) {
  v1::Document doc;
  ASSERT_THAT(
      Parse("{\"id\":\"u\",\"body\":\"\xE2\x80\x9Cquoted\xE2\x80\x9D\"}", &doc),
      IsOk());
  EXPECT_EQ(doc.body(), "\u201cquoted\u201d");
}

TEST(JsonDocumentTest, NamesTheFieldOfAWrongType) {
  v1::Document doc;
  EXPECT_THAT(Parse(R"({"id": 5})", &doc),
              StatusIs(kInvalid, "json: expected string for \"id\" at byte 7"));
  EXPECT_THAT(Parse(R"({"id":"a","tags":"x"})", &doc),
              StatusIs(kInvalid, HasSubstr("expected an array of strings for "
                                           "\"tags\" at byte 17")));
  EXPECT_THAT(Parse(R"({"id":"a","tags":["x",3]})", &doc),
              StatusIs(kInvalid, HasSubstr("for \"tags[1]\"")));
  EXPECT_THAT(Parse(R"({"id":"a","attributes":{"k":1}})", &doc),
              StatusIs(kInvalid, HasSubstr("for \"attributes.k\"")));
  EXPECT_THAT(Parse(R"({"id":"a","date":20210222})", &doc),
              StatusIs(kInvalid, HasSubstr("expected string for \"date\"")));
}

TEST(JsonDocumentTest, GivesTheByteOffsetOfSyntaxErrors) {
  v1::Document doc;
  EXPECT_THAT(Parse(R"({"id": "a" "title": "b"})", &doc),
              StatusIs(kInvalid,
                       "json: invalid at byte 11: expected ',' or "
                       "'}' after an object member"));
  EXPECT_THAT(Parse(R"({"id" "a"})", &doc),
              StatusIs(kInvalid, HasSubstr("at byte 6: expected ':'")));
  EXPECT_THAT(Parse(R"({"id":"a",})", &doc),
              StatusIs(kInvalid, HasSubstr("at byte 10: expected a string as "
                                           "the object key")));
  EXPECT_THAT(Parse(R"({"id":"abc)", &doc),
              StatusIs(kInvalid, HasSubstr("at byte 10: unterminated string")));
  EXPECT_THAT(
      Parse(R"({"x": tru})", &doc),
      StatusIs(kInvalid, HasSubstr("at byte 6: expected a JSON value")));
  EXPECT_THAT(Parse(R"({"x": 01})", &doc),
              StatusIs(kInvalid, HasSubstr("at byte 7")));
  EXPECT_THAT(Parse(R"({"x": "\q"})", &doc),
              StatusIs(kInvalid, HasSubstr("at byte 7: unknown escape")));
  EXPECT_THAT(Parse("{\"x\": \"a\tb\"}", &doc),
              StatusIs(kInvalid, HasSubstr("at byte 8: control character")));
}

TEST(JsonDocumentTest, RefusesAnythingButOneObject) {
  v1::Document doc;
  EXPECT_THAT(Parse("", &doc),
              StatusIs(kInvalid, HasSubstr("expected a JSON object")));
  EXPECT_THAT(Parse("  \n", &doc),
              StatusIs(kInvalid, HasSubstr("expected a JSON object")));
  EXPECT_THAT(Parse(R"(["id"])", &doc),
              StatusIs(kInvalid, HasSubstr("at byte 0: expected '{'")));
  EXPECT_THAT(Parse(R"({"id":"a"} {"id":"b"})", &doc),
              StatusIs(kInvalid, HasSubstr("at byte 11: unexpected content")));
  // A JSON line keeps its line ending.
  EXPECT_THAT(Parse("{\"id\":\"a\"}\r\n", &doc), IsOk());
}

TEST(JsonDocumentTest, RejectsUnpairedSurrogates) {
  v1::Document doc;
  EXPECT_THAT(Parse(R"({"id":"\ud800"})", &doc),
              StatusIs(kInvalid, HasSubstr("at byte 7: unpaired UTF-16 high")));
  EXPECT_THAT(Parse(R"({"id":"\udc00x"})", &doc),
              StatusIs(kInvalid, HasSubstr("at byte 7: unpaired UTF-16 low")));
  EXPECT_THAT(Parse(R"({"id":"\ud800\u0041"})", &doc),
              StatusIs(kInvalid, HasSubstr("followed by a low one")));
}

TEST(JsonDocumentTest, RejectsDuplicateAndConflictingKeys) {
  v1::Document doc;
  EXPECT_THAT(Parse(R"({"id":"a","title":"x","title":"y"})", &doc),
              StatusIs(kInvalid, HasSubstr("key \"title\" appears twice")));
  EXPECT_THAT(
      Parse(R"({"id":"a","date":"2021-01-01","published_at":"2021-01-02"})",
            &doc),
      StatusIs(kInvalid, HasSubstr("both \"date\" and \"published_at\"")));
}

TEST(JsonDocumentTest, ExplainsABadDate) {
  v1::Document doc;
  EXPECT_THAT(Parse(R"({"id":"a","date":"2021-13-01"})", &doc),
              StatusIs(kInvalid, HasSubstr("json: bad \"date\" at byte 17: "
                                           "expected a date (YYYY-MM-DD)")));
  EXPECT_THAT(Parse(R"({"id":"a","date":"22/02/2021"})", &doc),
              StatusIs(kInvalid, HasSubstr("\"22/02/2021\"")));
  EXPECT_THAT(
      Parse(R"({"id":"a","published_at":"2021-02-30T00:00:00Z"})", &doc),
      StatusIs(kInvalid, HasSubstr("day 30 does not exist")));
}

TEST(JsonDocumentTest, RefusesNestingDeeperThanTheLimit) {
  v1::Document doc;
  const std::string deep = absl::StrCat("{\"x\":", std::string(100, '['),
                                        std::string(100, ']'), "}");
  EXPECT_THAT(Parse(deep, &doc), StatusIs(kInvalid, HasSubstr("nest deeper")));
}

TEST(JsonDocumentTest, KeepsTheIdReadBeforeAnError) {
  v1::Document doc;
  EXPECT_THAT(Parse(R"({"id":"keep-me","title":7})", &doc), StatusIs(kInvalid));
  EXPECT_EQ(doc.id(), "keep-me");
}

// Every line of the Reuters corpus parses, and quickly.
TEST(JsonDocumentTest, ParsesTheWholeReutersCorpus) {
  const std::string path =
      std::string(SIFT_SHARED_DIR) + "/corpora/reuters21578/docs.jsonl";
  std::ifstream in(path);
  if (!in) GTEST_SKIP() << "corpus not found at " << path;
  std::vector<std::string> lines;
  size_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    bytes += line.size();
    lines.push_back(std::move(line));
  }
  ASSERT_EQ(lines.size(), 21578u);
  v1::Document doc;
  const auto start = std::chrono::steady_clock::now();
  size_t with_date = 0;
  for (const std::string& line : lines) {
    ASSERT_THAT(ParseJsonDocument(line, &doc), IsOk()) << line.substr(0, 200);
    ASSERT_FALSE(doc.id().empty());
    with_date += doc.has_published_at();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_EQ(with_date, lines.size());
  ASSERT_THAT(ParseJsonDocument(lines[0], &doc), IsOk());
  EXPECT_EQ(doc.title(), "BAHIA COCOA REVIEW");
  EXPECT_EQ(Day(doc), "1987-02-26T00:00:00Z");
  EXPECT_THAT(doc.tags(), ElementsAre("cocoa"));
  std::printf("parsed %zu documents, %.1f MB, in %.3f s: %.0f MB/s\n",
              lines.size(), bytes / 1e6, seconds, bytes / 1e6 / seconds);
}

}  // namespace
}  // namespace sift::ingest
