#include "tools/siftctl/output_format.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::siftctl {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(DisplayWidthTest, CountsCharactersNotBytes) {
  EXPECT_EQ(DisplayWidth("abc"), 3);
  EXPECT_EQ(DisplayWidth("caf\xC3\xA9"), 4);               // café
  EXPECT_EQ(DisplayWidth("\xE6\x97\xA5\xE6\x9C\xAC"), 4);  // 日本: wide
  EXPECT_EQ(DisplayWidth("e\xCC\x81"), 1);                 // e + combining
}

TEST(TruncateToWidthTest, CutsUtf8TitlesOnCharacterBoundaries) {
  EXPECT_EQ(TruncateToWidth("short", 10), "short");
  EXPECT_EQ(TruncateToWidth("abcdefghij", 10), "abcdefghij");
  EXPECT_EQ(TruncateToWidth("abcdefghijk", 10), "abcdefghi\xE2\x80\xA6");
  // "Zürich Café Über" cut to 8 columns: 7 characters and the ellipsis,
  // whatever their byte lengths.
  const std::string cut = TruncateToWidth(
      "Z\xC3\xBCrich Caf\xC3\xA9 \xC3\x9C"
      "ber",
      8);
  EXPECT_EQ(cut, "Z\xC3\xBCrich \xE2\x80\xA6");
  EXPECT_EQ(DisplayWidth(cut), 8);
  // A wide character that would straddle the limit is left out whole.
  const std::string cjk = TruncateToWidth(
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE", 6);  // 日本語の
  EXPECT_EQ(cjk, "\xE6\x97\xA5\xE6\x9C\xAC\xE2\x80\xA6");
  EXPECT_LE(DisplayWidth(cjk), 6);
}

TEST(CleanForDisplayTest, DropsControlCharactersAndCollapsesSpace) {
  EXPECT_EQ(CleanForDisplay("a\tb\n\nc  d \x1b[31mred"), "a b c d [31mred");
  EXPECT_EQ(CleanForDisplay("x\xC2\x9B"
                            "1m"),
            "x 1m");  // C1 CSI
}

TEST(NumberFormatTest, ThousandsAndHumanBytes) {
  EXPECT_EQ(WithThousands(0), "0");
  EXPECT_EQ(WithThousands(999), "999");
  EXPECT_EQ(WithThousands(1234567), "1,234,567");
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(uint64_t{5} << 30), "5.0 GiB");
}

v1::Snippet MakeSnippet(const std::string& text,
                        std::vector<std::pair<int, int>> spans,
                        const std::string& highlighted) {
  v1::Snippet snippet;
  snippet.set_text(text);
  for (auto [start, end] : spans) {
    v1::Span* span = snippet.add_spans();
    span->set_start(start);
    span->set_end(end);
  }
  snippet.set_highlighted(highlighted);
  return snippet;
}

TEST(RenderSnippetTest, BoldOnATerminalEmTagsOtherwise) {
  const v1::Snippet snippet =
      MakeSnippet("the human rights\ncouncil", {{4, 16}},
                  "the <em>human rights</em>\ncouncil");
  EXPECT_EQ(RenderSnippet(snippet, true),
            "the \x1b[1mhuman rights\x1b[0m council");
  EXPECT_EQ(RenderSnippet(snippet, false), "the <em>human rights</em> council");
}

TEST(RenderSnippetTest, IgnoresSpansOutsideTheText) {
  const v1::Snippet snippet = MakeSnippet("abc", {{1, 2}, {2, 9}}, "");
  EXPECT_EQ(RenderSnippet(snippet, true),
            "a\x1b[1m"
            "b\x1b[0m"
            "c");
  EXPECT_EQ(RenderSnippet(snippet, false), "abc");
}

v1::SearchResponse SampleResponse() {
  v1::SearchResponse response;
  v1::Hit* hit = response.add_hits();
  hit->set_id("reuters-1");
  hit->set_score(12.345678);
  hit->set_title("China\xE2\x80\x99s economy grows");
  hit->set_source("reuters");
  hit->mutable_published_at()->set_seconds(1614816000);  // 2021-03-04
  *hit->mutable_snippet() =
      MakeSnippet("the economy grew", {{4, 11}}, "the <em>economy</em> grew");
  hit = response.add_hits();
  hit->set_id("bbc-2");
  hit->set_score(3.5);
  hit->set_title(std::string(100, 'T'));
  hit->set_source("bbc");
  response.set_total_hits(1234);
  response.set_elapsed_micros(3250);
  response.set_next_page_token("tok123");
  return response;
}

TEST(SearchTableTest, ShowsRankScoreDateSourceTitleAndSnippet) {
  const std::string table = FormatSearchTable(SampleResponse(), 1, {});
  std::vector<std::string> lines = absl::StrSplit(table, '\n');
  ASSERT_GE(lines.size(), 7u);
  EXPECT_THAT(lines[0], AllOf(StartsWith("#  SCORE"), HasSubstr("DATE"),
                              HasSubstr("SOURCE"), HasSubstr("TITLE")));
  EXPECT_THAT(lines[1], AllOf(StartsWith("1  12.3457  2021-03-04  reuters"),
                              HasSubstr("China\xE2\x80\x99s economy grows")));
  EXPECT_EQ(lines[2], "   [reuters-1] the <em>economy</em> grew");
  // No date: the column stays blank; not a terminal: 60-column titles.
  EXPECT_THAT(lines[3], StartsWith("2   3.5000              bbc"));
  EXPECT_THAT(lines[3], HasSubstr(std::string(59, 'T') + "\xE2\x80\xA6"));
  EXPECT_THAT(lines[3], Not(HasSubstr(std::string(60, 'T'))));
  EXPECT_EQ(lines[4], "   [bbc-2]");
  EXPECT_THAT(table, HasSubstr("2 hits (1,234 total), 3.2 ms\n"));
  EXPECT_THAT(table, HasSubstr("next page: --page-token tok123\n"));
}

TEST(SearchTableTest, FitsTitlesToTheTerminalAndBoldsHighlights) {
  const std::string table = FormatSearchTable(SampleResponse(), 11, {true, 80});
  std::vector<std::string> lines = absl::StrSplit(table, '\n');
  ASSERT_GE(lines.size(), 5u);
  EXPECT_THAT(lines[1], StartsWith("11  12.3457"));
  EXPECT_EQ(lines[2], "    [reuters-1] the \x1b[1meconomy\x1b[0m grew");
  EXPECT_LE(DisplayWidth(lines[3]), 80);
  EXPECT_THAT(lines[3], HasSubstr("\xE2\x80\xA6"));
}

// A two-level tree: a sum of a term's score and a constant.
v1::Explanation SampleExplanation() {
  v1::Explanation root;
  root.set_value(3.5);
  root.set_description("sum of the matching clauses:");
  v1::Explanation* term = root.add_details();
  term->set_value(2.5);
  term->set_description("term \"economy\" in title and body, from:");
  v1::Explanation* n = term->add_details();
  n->set_value(1400);
  n->set_description("N, documents\nin the collection");
  v1::Explanation* prefix = root.add_details();
  prefix->set_value(1.0 / 3.0);
  prefix->set_description("prefix \"eco*\"");
  return root;
}

TEST(ExplanationTest, IndentsEachLevelUnderItsParent) {
  EXPECT_EQ(FormatExplanation(SampleExplanation(), "  "),
            "  3.5  sum of the matching clauses:\n"
            "    2.5  term \"economy\" in title and body, from:\n"
            "      1400  N, documents in the collection\n"
            "    0.333333  prefix \"eco*\"\n");
}

TEST(SearchTableTest, PrintsEachHitsExplanationUnderIt) {
  v1::SearchResponse response = SampleResponse();
  *response.mutable_hits(0)->mutable_explanation() = SampleExplanation();
  const std::string table = FormatSearchTable(response, 1, {});
  std::vector<std::string> lines = absl::StrSplit(table, '\n');
  ASSERT_GE(lines.size(), 9u);
  EXPECT_EQ(lines[2], "   [reuters-1] the <em>economy</em> grew");
  EXPECT_EQ(lines[3], "   3.5  sum of the matching clauses:");
  EXPECT_EQ(lines[4], "     2.5  term \"economy\" in title and body, from:");
  EXPECT_EQ(lines[5], "       1400  N, documents in the collection");
  EXPECT_EQ(lines[6], "     0.333333  prefix \"eco*\"");
  // The hit without one is printed as before.
  EXPECT_THAT(lines[7], StartsWith("2   3.5000"));
  EXPECT_EQ(lines[8], "   [bbc-2]");
}

TEST(SearchTableTest, ReportsPartialResults) {
  v1::SearchResponse response;
  response.set_partial(true);
  response.add_shard_errors("shard 1 (10.0.0.2:7710): deadline exceeded");
  const std::string table = FormatSearchTable(response, 1, {});
  EXPECT_THAT(table, HasSubstr("0 hits (0 total)"));
  EXPECT_THAT(table, HasSubstr("partial results: 1 shard did not answer\n"
                               "  shard 1 (10.0.0.2:7710): deadline"));
  EXPECT_THAT(table, Not(HasSubstr("next page")));
}

TEST(TrecTest, WritesOneRunLinePerHitRankedFromFirstRank) {
  EXPECT_EQ(FormatTrecLines("q7", SampleResponse(), 1, "sift"),
            "q7 Q0 reuters-1 1 12.345678 sift\n"
            "q7 Q0 bbc-2 2 3.500000 sift\n");
  EXPECT_EQ(FormatTrecLines("3", SampleResponse(), 1001, "bm25"),
            "3 Q0 reuters-1 1001 12.345678 bm25\n"
            "3 Q0 bbc-2 1002 3.500000 bm25\n");
}

TEST(StatsTableTest, ListsShardsWithTotalsAndErrors) {
  v1::ClusterStatsResponse response;
  v1::ShardStats* shard = response.add_shards();
  shard->set_shard(0);
  shard->set_address("127.0.0.1:7710");
  shard->set_documents(21578);
  shard->set_disk_bytes(3 << 20);
  shard = response.add_shards();
  shard->set_shard(1);
  shard->set_address("127.0.0.1:7711");
  shard->set_error("UNAVAILABLE: connection refused");
  response.set_total_documents(21578);
  response.set_total_disk_bytes(3 << 20);
  const std::string table = FormatStatsTable(response);
  std::vector<std::string> lines = absl::StrSplit(table, '\n');
  ASSERT_EQ(lines.size(), 5u);  // header, 2 shards, total, ""
  EXPECT_EQ(lines[0], "SHARD  ADDRESS         DOCUMENTS  DISK     ERROR");
  EXPECT_EQ(lines[1], "0      127.0.0.1:7710     21,578  3.0 MiB");
  EXPECT_EQ(lines[2],
            "1      127.0.0.1:7711          -        -  UNAVAILABLE: "
            "connection refused");
  EXPECT_EQ(lines[3], "total                     21,578  3.0 MiB");

  response.mutable_shards(0)->set_background_error(
      "RESOURCE_EXHAUSTED: disk full");
  lines = absl::StrSplit(FormatStatsTable(response), '\n');
  EXPECT_EQ(lines[1],
            "0      127.0.0.1:7710     21,578  3.0 MiB  writes stopped: "
            "RESOURCE_EXHAUSTED: disk full");
}

TEST(StatsTableTest, ReplicatedCopiesShowRoleTermAndLag) {
  v1::ClusterStatsResponse response;
  for (int copy = 0; copy < 2; ++copy) {
    v1::ShardStats* shard = response.add_shards();
    shard->set_shard(0);
    shard->set_address(absl::StrCat("10.0.0.", copy + 1, ":7710"));
    shard->set_documents(1000 - 10 * copy);
    shard->set_disk_bytes(1 << 20);
    v1::ReplicationStatus* r = shard->mutable_replication();
    r->set_member(absl::StrCat("s0-", copy));
    r->set_role(copy == 0 ? "primary" : "replica");
    r->set_term(3);
    r->set_applied_seq(5000 - 40 * copy);
    r->set_primary_seq(5000);
    r->set_in_sync(copy == 0);
  }
  response.set_total_documents(1000);
  response.set_total_disk_bytes(1 << 20);
  std::vector<std::string> lines =
      absl::StrSplit(FormatStatsTable(response), '\n');
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0],
            "SHARD  ADDRESS        DOCUMENTS  DISK     MEMBER  ROLE          "
            "         TERM  APPLIED  LAG  ERROR");
  EXPECT_EQ(lines[1],
            "0      10.0.0.1:7710      1,000  1.0 MiB  s0-0    primary       "
            "            3    5,000    0");
  EXPECT_EQ(lines[2],
            "0      10.0.0.2:7710        990  1.0 MiB  s0-1    replica (not "
            "in sync)     3    4,960   40");
}

TEST(JsonTest, UsesProtoFieldNamesAndPrintsZeroFields) {
  v1::SearchResponse response;
  response.add_hits()->set_id("a");
  absl::StatusOr<std::string> json = ToJson(response);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"total_hits\": \"0\""));
  EXPECT_THAT(*json, HasSubstr("\"next_page_token\": \"\""));
  EXPECT_THAT(*json, HasSubstr("\"id\": \"a\""));
  EXPECT_THAT(*json, Not(HasSubstr("totalHits")));
  EXPECT_EQ(json->back(), '\n');
}

TEST(IngestSummaryTest, CountsThenRejectionsInInputOrder) {
  IngestCounts counts;
  counts.accepted = 1000;
  counts.rejected = 2;
  std::vector<Rejection> rejections = {
      {7, "b.jsonl:3", "x", absl::StatusCode::kInvalidArgument,
       "title: not valid UTF-8"},
      {2, "a.txt", "", absl::StatusCode::kUnavailable, "shard 0 down"}};
  const std::string summary =
      FormatIngestSummary(counts, absl::Seconds(2), rejections);
  EXPECT_EQ(summary,
            "accepted 1000, rejected 2 (in 2.0 s, 501 docs/s)\n"
            "  a.txt: UNAVAILABLE: shard 0 down\n"
            "  b.jsonl:3 (id \"x\"): INVALID_ARGUMENT: title: not valid "
            "UTF-8\n");
}

TEST(IngestSummaryTest, ListsAtMostTwentyRejections) {
  IngestCounts counts;
  counts.rejected = 25;
  std::vector<Rejection> rejections;
  for (int i = 0; i < 25; ++i) {
    rejections.push_back({static_cast<uint64_t>(i), absl::StrCat("f:", i + 1),
                          "", absl::StatusCode::kInvalidArgument, "bad"});
  }
  const std::string summary =
      FormatIngestSummary(counts, absl::Seconds(1), rejections);
  EXPECT_THAT(summary, HasSubstr("  f:20: INVALID_ARGUMENT: bad\n"));
  EXPECT_THAT(summary, Not(HasSubstr("f:21:")));
  EXPECT_THAT(summary, HasSubstr("  ... and 5 more\n"));
}

TEST(IngestSummaryTest, MentionsInputsThatCouldNotBeRead) {
  IngestCounts counts;
  counts.read_errors = 1;
  EXPECT_THAT(FormatIngestSummary(counts, absl::Seconds(1), {}),
              HasSubstr("could not read 1 file\n"));
}

TEST(ProgressTest, ShowsCountsRateAndBytes) {
  IngestCounts counts;
  counts.sent = 12000;
  counts.accepted = 11990;
  counts.rejected = 10;
  counts.bytes = 3 << 20;
  EXPECT_EQ(FormatProgress(counts, absl::Seconds(4)),
            "sent 12,000  accepted 11,990  rejected 10  3,000 docs/s  3.0 MiB");
}

TEST(DescribeRpcErrorTest, ExplainsAServiceThatIsNotRunning) {
  const absl::Status refused = absl::UnavailableError(
      "failed to connect to all addresses; last error: UNKNOWN: "
      "ipv4:127.0.0.1:7700: Failed to connect to remote host: Connection "
      "refused");
  EXPECT_EQ(
      DescribeRpcError(refused, "query", "127.0.0.1:7700", absl::Seconds(60)),
      "UNAVAILABLE: cannot reach query service at 127.0.0.1:7700 (is it "
      "running? start it with ./scripts/run.sh)");
  // The server's own UNAVAILABLE carries its message through.
  EXPECT_EQ(DescribeRpcError(absl::UnavailableError("no shard answered"),
                             "query", "h:1", absl::Seconds(60)),
            "UNAVAILABLE: no shard answered");
  EXPECT_THAT(DescribeRpcError(absl::DeadlineExceededError("Deadline Exceeded"),
                               "ingest", "h:2", absl::Seconds(30)),
              HasSubstr("no answer from ingest service at h:2 within 30s"));
  EXPECT_EQ(DescribeRpcError(absl::InvalidArgumentError("column 7: unclosed "
                                                        "quote"),
                             "query", "h:1", absl::Seconds(1)),
            "INVALID_ARGUMENT: column 7: unclosed quote");
}

}  // namespace
}  // namespace sift::siftctl

namespace sift::siftctl {
namespace {

v1::SearchResponse FacetResponse() {
  v1::SearchResponse response;
  response.set_total_hits(12);
  v1::FacetResult* tags = response.add_facets();
  tags->set_field(v1::FACET_FIELD_TAGS);
  v1::FacetBucket* b = tags->add_buckets();
  b->set_value("grain");
  b->set_count(1234);
  b = tags->add_buckets();
  b->set_value("corn");
  b->set_count(7);
  tags->set_other_count(40);
  tags->set_missing_count(2);
  v1::FacetResult* months = response.add_facets();
  months->set_field(v1::FACET_FIELD_PUBLISHED_AT);
  months->set_interval(v1::DATE_INTERVAL_MONTH);
  b = months->add_buckets();
  b->set_value("1987-03");
  b->set_count(10);
  b->mutable_start()->set_seconds(541555200);
  months->set_missing_count(2);
  v1::FacetResult* sources = response.add_facets();
  sources->set_field(v1::FACET_FIELD_SOURCE);
  sources->set_incomplete(true);
  return response;
}

TEST(SearchTableTest, ListsEveryFacetAfterTheTotals) {
  const std::string table = FormatSearchTable(FacetResponse(), 1, {});
  EXPECT_THAT(table, HasSubstr("0 hits (12 total)"));
  EXPECT_THAT(table, HasSubstr("\ntags:\n"
                               "  grain           1,234\n"
                               "  corn                7\n"
                               "  (other values)     40\n"
                               "  (no value)          2\n"));
  EXPECT_THAT(table, HasSubstr("\npublished_at by month:\n"
                               "  1987-03    10\n"
                               "  (no date)   2\n"));
  EXPECT_THAT(table, HasSubstr("\nsource (counts may be incomplete): no "
                               "values\n"));
  EXPECT_LT(table.find("tags:"), table.find("published_at by month:"));
}

TEST(JsonTest, IncludesFacets) {
  absl::StatusOr<std::string> json = ToJson(FacetResponse());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"field\": \"FACET_FIELD_TAGS\""));
  EXPECT_THAT(*json, HasSubstr("\"value\": \"grain\""));
  EXPECT_THAT(*json, HasSubstr("\"other_count\": \"40\""));
  EXPECT_THAT(*json, HasSubstr("\"interval\": \"DATE_INTERVAL_MONTH\""));
  EXPECT_THAT(*json, HasSubstr("\"start\": \"1987-03-01T00:00:00Z\""));
}

}  // namespace
}  // namespace sift::siftctl
