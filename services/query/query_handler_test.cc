#include "services/query/query_handler.h"

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/routing/shard_router.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/query/fake_shard.h"

namespace sift::query {
namespace {

using ::sift::query::testing::FakeCluster;
using ::sift::query::testing::FakeShard;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr int kShards = 3;
constexpr int kDocs = 30;

// doc00 .. doc29; doc<i> scores i, so doc29 ranks first. Every third one
// has no date; the others are published on day i.
std::vector<FakeShard::StoredDoc> Corpus() {
  std::vector<FakeShard::StoredDoc> docs;
  for (int i = 0; i < kDocs; ++i) {
    FakeShard::StoredDoc& doc = docs.emplace_back();
    doc.score = i;
    v1::Document& d = doc.document;
    d.set_id(absl::StrCat("doc", i < 10 ? "0" : "", i));
    d.set_title(absl::StrCat("Cocoa report ", i));
    d.set_body(absl::StrCat("Cocoa prices moved on day ", i, "."));
    d.set_source("Reuters");
    d.add_tags("cocoa");
    d.set_url(absl::StrCat("https://example.com/", i));
    if (i % 3 != 0) d.mutable_published_at()->set_seconds(86400 * i);
  }
  return docs;
}

class QueryHandlerTest : public ::testing::Test {
 protected:
  QueryHandlerTest() : cluster_(kShards, Corpus()) {}

  std::unique_ptr<QueryHandler> MakeHandler(QueryOptions options = {}) {
    std::vector<std::unique_ptr<storage::StorageClient>> clients;
    for (const std::string& address : cluster_.addresses()) {
      clients.push_back(storage::StorageClient::Connect(address));
    }
    return std::make_unique<QueryHandler>(std::move(clients), &analyzer_,
                                          std::move(options));
  }

  absl::StatusOr<v1::SearchResponse> Search(
      const v1::SearchRequest& request,
      absl::Time deadline = absl::InfiniteFuture()) {
    return handler_->Search(request, deadline);
  }

  // Searches until every shard answers, so that the handler's channels are
  // connected before a test times a short deadline: connecting can take
  // longer than that in a sanitizer build.
  void ConnectEveryShard() {
    const absl::Time end = absl::Now() + absl::Seconds(30);
    while (absl::Now() < end) {
      absl::StatusOr<v1::SearchResponse> r = Search(Request("cocoa"));
      if (r.ok() && !r->partial()) return;
    }
  }

  static v1::SearchRequest Request(const std::string& query,
                                   uint32_t page_size = 10) {
    v1::SearchRequest request;
    request.set_query(query);
    request.set_page_size(page_size);
    return request;
  }

  static std::vector<std::string> Ids(const v1::SearchResponse& response) {
    std::vector<std::string> ids;
    for (const v1::Hit& hit : response.hits()) ids.push_back(hit.id());
    return ids;
  }

  analysis::Analyzer analyzer_;
  FakeCluster cluster_;
  std::unique_ptr<QueryHandler> handler_ = MakeHandler();
};

TEST_F(QueryHandlerTest, MergesEveryShardIntoOneRankedPage) {
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 4)));
  EXPECT_THAT(Ids(r), ElementsAre("doc29", "doc28", "doc27", "doc26"));
  EXPECT_EQ(r.total_hits(), static_cast<uint64_t>(kDocs));
  EXPECT_FALSE(r.partial());
  EXPECT_THAT(r.shard_errors(), IsEmpty());
  const v1::Hit& top = r.hits(0);
  EXPECT_DOUBLE_EQ(top.score(), 29.0);
  EXPECT_EQ(top.title(), "Cocoa report 29");
  EXPECT_EQ(top.source(), "Reuters");
  EXPECT_EQ(top.url(), "https://example.com/29");
  EXPECT_THAT(top.tags(), ElementsAre("cocoa"));
  EXPECT_EQ(top.published_at().seconds(), 86400 * 29);
  EXPECT_EQ(top.snippet().highlighted(),
            "<em>Cocoa</em> prices moved on day 29.");
  EXPECT_EQ(top.title_snippet().highlighted(), "<em>Cocoa</em> report 29");
  EXPECT_GT(r.elapsed_micros(), 0u);
}

TEST_F(QueryHandlerTest, SendsSummedGlobalStatsAndTheMergeDepth) {
  v1::SearchRequest request = Request("title:cocoa prices", 5);
  request.set_offset(10);
  ASSERT_THAT(Search(request), sift::testing::IsOk());
  for (int i = 0; i < kShards; ++i) {
    std::vector<v1::ShardSearchRequest> searches = cluster_.shard(i).searches();
    ASSERT_EQ(searches.size(), 1u);
    const v1::ShardSearchRequest& s = searches[0];
    // offset + page_size, and one more to tell whether a next page exists.
    EXPECT_EQ(s.limit(), 16u);
    EXPECT_FALSE(s.has_search_after());
    EXPECT_EQ(s.sort(), v1::SORT_ORDER_RELEVANCE);
    EXPECT_EQ(s.stats().doc_count(), static_cast<uint64_t>(kDocs));
    EXPECT_EQ(s.stats().total_title_terms(), 2u * kDocs);
    EXPECT_EQ(s.stats().total_body_terms(), 10u * kDocs);
    ASSERT_EQ(s.stats().terms_size(), 2);
    EXPECT_EQ(s.stats().terms(0).field(), v1::FIELD_TITLE);
    EXPECT_EQ(s.stats().terms(0).term(), "cocoa");
    EXPECT_EQ(s.stats().terms(1).field(), v1::FIELD_UNSPECIFIED);
    EXPECT_EQ(s.stats().terms(1).term(), "price");
    EXPECT_THAT(s.stats().doc_freqs(), ElementsAre(kDocs, kDocs));
    EXPECT_EQ(s.query().ShortDebugString(),
              "boolean { should { term { field: FIELD_TITLE term: \"cocoa\" } "
              "} should { term { term: \"price\" } } }");
  }
}

TEST_F(QueryHandlerTest, SendsADateRangeAsAPlanNodeWithoutStatistics) {
  ASSERT_THAT(Search(Request("cocoa -published_at:[1987-01-01 TO 1987-03]")),
              sift::testing::IsOk());
  for (int i = 0; i < kShards; ++i) {
    std::vector<v1::ShardSearchRequest> searches = cluster_.shard(i).searches();
    ASSERT_EQ(searches.size(), 1u);
    const v1::ShardSearchRequest& s = searches[0];
    ASSERT_EQ(s.stats().terms_size(), 1);
    EXPECT_EQ(s.stats().terms(0).term(), "cocoa");
    EXPECT_EQ(s.query().ShortDebugString(),
              "boolean { should { term { term: \"cocoa\" } } must_not { "
              "date_range { from { seconds: 536457600 } to { seconds: "
              "544233600 } } } }");
  }
}

TEST_F(QueryHandlerTest, AMalformedDateRangeReachesNoShard) {
  EXPECT_THAT(Search(Request("cocoa published_at:[2021 TO 2020]")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("query: column 7: the date range [2021 TO "
                                 "2020] is empty")));
  EXPECT_EQ(cluster_.total_calls(), 0);
}

TEST_F(QueryHandlerTest, OffsetSkipsTheFirstHits) {
  v1::SearchRequest request = Request("cocoa", 3);
  request.set_offset(2);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
  EXPECT_THAT(Ids(r), ElementsAre("doc27", "doc26", "doc25"));
}

TEST_F(QueryHandlerTest, PageTokensVisitEveryHitOnce) {
  v1::SearchRequest request = Request("cocoa", 7);
  std::set<std::string> seen;
  int pages = 0;
  while (true) {
    SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
    ++pages;
    for (const std::string& id : Ids(r)) {
      EXPECT_TRUE(seen.insert(id).second) << id << " seen twice";
    }
    if (r.next_page_token().empty()) break;
    request.set_page_token(r.next_page_token());
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 5);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kDocs));
}

TEST_F(QueryHandlerTest, PageTokenOfAnotherSearchIsRejected) {
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 5)));
  ASSERT_FALSE(r.next_page_token().empty());
  v1::SearchRequest other = Request("prices", 5);
  other.set_page_token(r.next_page_token());
  EXPECT_THAT(Search(other),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("page_token: belongs to a different search")));
  v1::SearchRequest resized = Request("cocoa", 6);
  resized.set_page_token(r.next_page_token());
  EXPECT_THAT(Search(resized), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("page_token")));
}

TEST_F(QueryHandlerTest, TokensPagePastTheResultWindow) {
  QueryOptions options;
  options.max_result_window = 12;
  handler_ = MakeHandler(options);
  v1::SearchRequest request = Request("cocoa", 5);
  std::vector<size_t> sizes;
  std::vector<std::string> ids;
  while (true) {
    SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
    sizes.push_back(r.hits_size());
    for (const std::string& id : Ids(r)) ids.push_back(id);
    if (r.next_page_token().empty()) break;
    request.set_page_token(r.next_page_token());
    ASSERT_LT(sizes.size(), 10u);
  }
  // Every hit, in order, well past hit 12; the last page knows it is last.
  EXPECT_THAT(sizes, ElementsAre(5, 5, 5, 5, 5, 5));
  ASSERT_EQ(ids.size(), static_cast<size_t>(kDocs));
  for (int i = 0; i < kDocs; ++i) {
    EXPECT_EQ(ids[i], Corpus()[kDocs - 1 - i].document.id()) << i;
  }
  // The offset of a first page stays within the window.
  v1::SearchRequest deep = Request("cocoa", 5);
  deep.set_offset(8);
  EXPECT_THAT(Search(deep),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("offset: offset + page_size is 13")));
}

TEST_F(QueryHandlerTest, TokenPagesSendTheCursorAndFrozenStatsOnly) {
  v1::SearchRequest request = Request("cocoa prices", 4);
  request.set_offset(3);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse first, Search(request));
  EXPECT_THAT(Ids(first), ElementsAre("doc26", "doc25", "doc24", "doc23"));
  ASSERT_FALSE(first.next_page_token().empty());
  const v1::GlobalStats first_stats = cluster_.shard(0).searches()[0].stats();

  request.set_offset(0);
  request.set_page_token(first.next_page_token());
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse second, Search(request));
  EXPECT_THAT(Ids(second), ElementsAre("doc22", "doc21", "doc20", "doc19"));
  EXPECT_EQ(second.total_hits(), static_cast<uint64_t>(kDocs));
  for (int i = 0; i < kShards; ++i) {
    // One Stats call for the first page, none for the second.
    EXPECT_EQ(cluster_.shard(i).stats_requests().size(), 1u);
    std::vector<v1::ShardSearchRequest> searches = cluster_.shard(i).searches();
    ASSERT_EQ(searches.size(), 2u);
    const v1::ShardSearchRequest& s = searches[1];
    // The page size and one more, however deep the page.
    EXPECT_EQ(s.limit(), 5u);
    EXPECT_EQ(s.search_after().id(), "doc23");
    EXPECT_EQ(s.search_after().score(), 23.0);
    EXPECT_FALSE(s.search_after().has_published_at());
    EXPECT_EQ(s.stats().SerializeAsString(), first_stats.SerializeAsString());
  }
}

TEST_F(QueryHandlerTest, DateOrderTokensCarryTheDateOrUndated) {
  v1::SearchRequest request = Request("", 10);
  request.set_sort(v1::SORT_ORDER_PUBLISHED_ASC);
  std::vector<std::string> ids;
  std::vector<v1::SearchAfter> cursors;
  while (true) {
    SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
    for (const std::string& id : Ids(r)) ids.push_back(id);
    if (r.next_page_token().empty()) break;
    request.set_page_token(r.next_page_token());
    ASSERT_LT(ids.size(), 100u);
  }
  for (int i = 0; i < kShards; ++i) {
    for (const v1::ShardSearchRequest& s : cluster_.shard(i).searches()) {
      if (s.has_search_after()) cursors.push_back(s.search_after());
    }
  }
  ASSERT_EQ(ids.size(), static_cast<size_t>(kDocs));
  // 20 dated documents (days 1, 2, 4, 5, ...) then 10 undated by id.
  EXPECT_EQ(ids[0], "doc01");
  EXPECT_EQ(ids[19], "doc29");
  EXPECT_EQ(ids[20], "doc00");
  EXPECT_EQ(ids[29], "doc27");
  // Pages 2 and 3 start after doc14 (dated) and doc29 (the last dated).
  ASSERT_EQ(cursors.size(), 2u * kShards);
  for (const v1::SearchAfter& c : cursors) {
    EXPECT_TRUE(c.has_published_at());
    EXPECT_FALSE(c.undated());
  }
}

TEST_F(QueryHandlerTest, AnUndatedCursorResumesAmongTheUndated) {
  v1::SearchRequest request = Request("", 22);
  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse first, Search(request));
  ASSERT_EQ(first.hits_size(), 22);
  EXPECT_EQ(first.hits(21).id(), "doc03");
  request.set_page_token(first.next_page_token());
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse second, Search(request));
  EXPECT_THAT(Ids(second), ElementsAre("doc06", "doc09", "doc12", "doc15",
                                       "doc18", "doc21", "doc24", "doc27"));
  EXPECT_TRUE(second.next_page_token().empty());
  EXPECT_TRUE(cluster_.shard(0).searches()[1].search_after().undated());
}

TEST_F(QueryHandlerTest, TheLastFullPageHasNoToken) {
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r,
                            Search(Request("cocoa", kDocs)));
  EXPECT_EQ(r.hits_size(), kDocs);
  EXPECT_TRUE(r.next_page_token().empty());
}

TEST_F(QueryHandlerTest, OffsetWithATokenIsRefused) {
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 5)));
  v1::SearchRequest request = Request("cocoa", 5);
  request.set_page_token(r.next_page_token());
  request.set_offset(5);
  EXPECT_THAT(Search(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("offset: must be 0 with a page_token")));
}

TEST_F(QueryHandlerTest, AHitDeletedBeforeTheFetchStillMovesTheCursor) {
  // doc25 is the last hit of the first page, gone by the fetch.
  cluster_.shard(ShardForId("doc25", kShards)).ForgetOnFetch("doc25");
  v1::SearchRequest request = Request("cocoa", 5);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse first, Search(request));
  EXPECT_THAT(Ids(first), ElementsAre("doc29", "doc28", "doc27", "doc26"));
  request.set_page_token(first.next_page_token());
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse second, Search(request));
  EXPECT_THAT(Ids(second),
              ElementsAre("doc24", "doc23", "doc22", "doc21", "doc20"));
}

TEST_F(QueryHandlerTest, APartialPageHasNoTokenAndItsTokenCanBeRetried) {
  v1::SearchRequest request = Request("cocoa", 5);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse first, Search(request));
  request.set_page_token(first.next_page_token());
  cluster_.shard(1).SetMode(FakeShard::Mode::kFail);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse partial, Search(request));
  EXPECT_TRUE(partial.partial());
  // Going on from here would skip shard 1's hits of this page for good.
  EXPECT_TRUE(partial.next_page_token().empty());
  cluster_.shard(1).SetMode(FakeShard::Mode::kAnswer);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse retried, Search(request));
  EXPECT_FALSE(retried.partial());
  EXPECT_THAT(Ids(retried),
              ElementsAre("doc24", "doc23", "doc22", "doc21", "doc20"));
  EXPECT_FALSE(retried.next_page_token().empty());
}

TEST_F(QueryHandlerTest, AFailedFetchStillGivesAToken) {
  const int failing = static_cast<int>(ShardForId("doc29", kShards));
  cluster_.shard(failing).SetMode(FakeShard::Mode::kFailFetch);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 5)));
  EXPECT_TRUE(r.partial());
  // The hits are all there, if bare: the order has no hole.
  EXPECT_EQ(r.hits_size(), 5);
  EXPECT_FALSE(r.next_page_token().empty());
}

TEST_F(QueryHandlerTest, ATokenOfAnotherSortOrderIsRefused) {
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 5)));
  v1::SearchRequest request = Request("cocoa", 5);
  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  request.set_page_token(r.next_page_token());
  EXPECT_THAT(Search(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("page_token: belongs to a different search")));
}

TEST_F(QueryHandlerTest, SortsByDateWithUndatedLast) {
  v1::SearchRequest request = Request("", 30);
  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
  std::vector<std::string> ids = Ids(r);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kDocs));
  EXPECT_EQ(ids[0], "doc29");
  EXPECT_EQ(ids[1], "doc28");
  EXPECT_EQ(ids[2], "doc26");
  // The ten undated documents come last, by id.
  EXPECT_EQ(ids[20], "doc00");
  EXPECT_EQ(ids[29], "doc27");
  // A match-all query needs no statistics.
  for (int i = 0; i < kShards; ++i) {
    EXPECT_THAT(cluster_.shard(i).stats_requests(), IsEmpty());
    EXPECT_TRUE(cluster_.shard(i).searches()[0].query().has_match_all());
  }
}

TEST_F(QueryHandlerTest, NormalisesFilterValuesBeforeSendingThem) {
  v1::SearchRequest request = Request("cocoa");
  request.mutable_filters()->add_sources("  The  GUARDIAN ");
  request.mutable_filters()->add_tags("Soft Commodities");
  ASSERT_THAT(Search(request), sift::testing::IsOk());
  const v1::Filters sent = cluster_.shard(0).searches()[0].filters();
  EXPECT_THAT(sent.sources(), ElementsAre("the guardian"));
  EXPECT_THAT(sent.tags(), ElementsAre("soft commodities"));
}

TEST_F(QueryHandlerTest, HighlightOffLeavesSnippetsEmpty) {
  v1::SearchRequest request = Request("cocoa", 1);
  request.set_highlight(false);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
  ASSERT_EQ(r.hits_size(), 1);
  EXPECT_FALSE(r.hits(0).has_snippet());
  EXPECT_FALSE(r.hits(0).has_title_snippet());
  EXPECT_EQ(r.hits(0).title(), "Cocoa report 29");
}

TEST_F(QueryHandlerTest, HighlightOptionsMarkTitleAndBody) {
  v1::SearchRequest request = Request("cocoa", 1);
  v1::HighlightOptions* options = request.mutable_highlight_options();
  options->set_pre_tag("<b class=\"hit\">");
  options->set_post_tag("</b>");
  options->set_html_escape(true);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
  ASSERT_EQ(r.hits_size(), 1);
  EXPECT_EQ(r.hits(0).title_snippet().highlighted(),
            "<b class=\"hit\">Cocoa</b> report 29");
  EXPECT_EQ(r.hits(0).snippet().highlighted(),
            "<b class=\"hit\">Cocoa</b> prices moved on day 29.");
  // Spans are of the text, whatever the markers.
  ASSERT_EQ(r.hits(0).snippet().spans_size(), 1);
  EXPECT_EQ(r.hits(0).snippet().spans(0).start(), 0u);
  EXPECT_EQ(r.hits(0).snippet().spans(0).end(), 5u);
}

TEST_F(QueryHandlerTest, EmptyMarkersAreKeptNotReplacedByTheDefault) {
  v1::SearchRequest request = Request("cocoa", 1);
  request.mutable_highlight_options()->set_pre_tag("");
  request.mutable_highlight_options()->set_post_tag("");
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
  ASSERT_EQ(r.hits_size(), 1);
  EXPECT_EQ(r.hits(0).snippet().highlighted(), "Cocoa prices moved on day 29.");
  EXPECT_EQ(r.hits(0).snippet().spans_size(), 1);
}

TEST_F(QueryHandlerTest, FragmentBytesOverridesTheServerDefault) {
  // The body, "Cocoa prices moved on day 29.", is 29 bytes: whole by
  // default, cut at 16.
  v1::SearchRequest request = Request("prices", 1);
  request.mutable_highlight_options()->set_fragment_bytes(16);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
  ASSERT_EQ(r.hits_size(), 1);
  const v1::Snippet& snippet = r.hits(0).snippet();
  EXPECT_LT(snippet.text().size(), 29u);
  EXPECT_THAT(snippet.highlighted(), HasSubstr("<em>prices</em>"));
  EXPECT_THAT(snippet.text(), HasSubstr("\xE2\x80\xA6"));
  // The title is whole whatever the fragment length.
  EXPECT_EQ(r.hits(0).title_snippet().text(), "Cocoa report 29");
}

TEST_F(QueryHandlerTest, DocumentDeletedBeforeTheFetchIsDropped) {
  cluster_.shard(ShardForId("doc28", kShards)).ForgetOnFetch("doc28");
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 3)));
  EXPECT_THAT(Ids(r), ElementsAre("doc29", "doc27"));
  EXPECT_FALSE(r.partial());
}

TEST_F(QueryHandlerTest, AFailedShardGivesPartialResults) {
  cluster_.shard(1).SetMode(FakeShard::Mode::kFail);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 30)));
  EXPECT_TRUE(r.partial());
  ASSERT_EQ(r.shard_errors_size(), 1);
  EXPECT_THAT(r.shard_errors(0), HasSubstr("shard 1: UNAVAILABLE"));
  EXPECT_LT(r.total_hits(), static_cast<uint64_t>(kDocs));
  EXPECT_EQ(r.total_hits(), static_cast<uint64_t>(r.hits_size()));
  for (const v1::Hit& hit : r.hits()) {
    EXPECT_NE(ShardForId(hit.id(), kShards), 1u) << hit.id();
  }
  // The statistics cover the shards that answered.
  EXPECT_EQ(cluster_.shard(0).searches()[0].stats().doc_count(),
            r.total_hits());
}

TEST_F(QueryHandlerTest, AFailedFetchKeepsTheHitsItCouldNotFill) {
  const int failing = static_cast<int>(ShardForId("doc29", kShards));
  cluster_.shard(failing).SetMode(FakeShard::Mode::kFailFetch);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 30)));
  EXPECT_TRUE(r.partial());
  ASSERT_EQ(r.shard_errors_size(), 1);
  EXPECT_THAT(r.shard_errors(0),
              HasSubstr(absl::StrCat("shard ", failing, ": UNAVAILABLE")));
  // Every hit is there, in order; those of the failed shard bare.
  ASSERT_EQ(r.hits_size(), kDocs);
  EXPECT_EQ(r.total_hits(), static_cast<uint64_t>(kDocs));
  const v1::Hit& top = r.hits(0);
  EXPECT_EQ(top.id(), "doc29");
  EXPECT_DOUBLE_EQ(top.score(), 29.0);
  EXPECT_EQ(top.published_at().seconds(), 86400 * 29);
  EXPECT_EQ(top.title(), "");
  for (const v1::Hit& hit : r.hits()) {
    if (ShardForId(hit.id(), kShards) != static_cast<uint32_t>(failing)) {
      EXPECT_FALSE(hit.title().empty()) << hit.id();
    }
  }
}

TEST_F(QueryHandlerTest, AHangingShardTimesOutIntoPartialResults) {
  QueryOptions options;
  options.timeout = absl::Milliseconds(300);
  handler_ = MakeHandler(options);
  ConnectEveryShard();
  cluster_.shard(2).SetMode(FakeShard::Mode::kHang);
  const absl::Time start = absl::Now();
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_TRUE(r.partial());
  ASSERT_EQ(r.shard_errors_size(), 1);
  EXPECT_THAT(r.shard_errors(0), HasSubstr("shard 2: DEADLINE_EXCEEDED"));
  EXPECT_GT(r.hits_size(), 0);
}

TEST_F(QueryHandlerTest, TheClientDeadlineBoundsTheShardCalls) {
  ConnectEveryShard();
  cluster_.shard(0).SetMode(FakeShard::Mode::kHang);
  const absl::Time start = absl::Now();
  SIFT_ASSERT_OK_AND_ASSIGN(
      v1::SearchResponse r,
      Search(Request("cocoa"), absl::Now() + absl::Milliseconds(300)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_TRUE(r.partial());
}

TEST_F(QueryHandlerTest, NoShardAnsweringIsUnavailable) {
  for (int i = 0; i < kShards; ++i) {
    cluster_.shard(i).SetMode(FakeShard::Mode::kFail);
  }
  EXPECT_THAT(Search(Request("cocoa")),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("no shard answered: shard 0: UNAVAILABLE")));
  // Unreachable addresses too.
  std::vector<std::unique_ptr<storage::StorageClient>> clients;
  clients.push_back(storage::StorageClient::Connect("127.0.0.1:1"));
  QueryHandler unreachable(std::move(clients), &analyzer_, QueryOptions());
  EXPECT_THAT(unreachable.Search(Request("cocoa"), absl::InfiniteFuture()),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(QueryHandlerTest, ErrorEveryShardAgreesOnIsPassedOn) {
  for (int i = 0; i < kShards; ++i) {
    cluster_.shard(i).SetMode(FakeShard::Mode::kFail,
                              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  EXPECT_THAT(Search(Request("cocoa")),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(QueryHandlerTest, QueryOfPunctuationMatchesNothingWithoutShardCalls) {
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("!!! ???")));
  EXPECT_THAT(r.hits(), IsEmpty());
  EXPECT_EQ(r.total_hits(), 0u);
  EXPECT_TRUE(r.next_page_token().empty());
  EXPECT_EQ(cluster_.total_calls(), 0);
}

TEST_F(QueryHandlerTest, InvalidRequestsNameTheFieldAndReachNoShard) {
  struct Case {
    std::string field;
    std::function<void(v1::SearchRequest&)> change;
  };
  const std::vector<Case> cases = {
      {"query: column 7: expected ')'", [](auto& r) { r.set_query("(cocoa"); }},
      {"query: 4097 bytes",
       [](auto& r) { r.set_query(std::string(4097, 'a')); }},
      {"page_size: 1001 is over the limit of 1000",
       [](auto& r) { r.set_page_size(1001); }},
      {"offset: offset + page_size is 10001",
       [](auto& r) { r.set_offset(9991); }},
      {"page_token: not a page token",
       [](auto& r) { r.set_page_token("garbage"); }},
      {"filters.published_from (1970-01-03T00:00:00Z) is after "
       "filters.published_to (1970-01-02T00:00:00Z)",
       [](auto& r) {
         r.mutable_filters()->mutable_published_from()->set_seconds(172800);
         r.mutable_filters()->mutable_published_to()->set_seconds(86400);
       }},
      {"filters.published_to: not a valid timestamp",
       [](auto& r) {
         r.mutable_filters()->mutable_published_to()->set_nanos(-1);
       }},
      {"filters.sources[1]: empty value",
       [](auto& r) {
         r.mutable_filters()->add_sources("bbc");
         r.mutable_filters()->add_sources("   ");
       }},
      {"filters.tags[0]:",
       [](auto& r) { r.mutable_filters()->add_tags("\xff"); }},
      {"filters.tags[0]: 4097 bytes is over the limit of 4096",
       [](auto& r) { r.mutable_filters()->add_tags(std::string(4097, 't')); }},
      {"sort: unknown value 9",
       [](auto& r) { r.set_sort(static_cast<v1::SortOrder>(9)); }},
      {"default_operator: unknown value 5",
       [](auto& r) {
         r.set_default_operator(static_cast<v1::DefaultOperator>(5));
       }},
      {"facets[0].size: 1001 is over the limit of 1000",
       [](auto& r) {
         v1::FacetRequest* f = r.add_facets();
         f->set_field(v1::FACET_FIELD_TAGS);
         f->set_size(1001);
       }},
      {"facets[1]: the same facet as facets[0]",
       [](auto& r) {
         r.add_facets()->set_field(v1::FACET_FIELD_SOURCE);
         r.add_facets()->set_field(v1::FACET_FIELD_SOURCE);
       }},
      {"highlight_options.pre_tag: 65 bytes is over the limit of 64",
       [](auto& r) {
         r.mutable_highlight_options()->set_pre_tag(std::string(65, '<'));
       }},
      {"highlight_options.post_tag: invalid UTF-8 at byte offset 2",
       [](auto& r) {
         r.mutable_highlight_options()->set_post_tag("</\xC0\xAF>");
       }},
      {"highlight_options.fragment_bytes: 15 is outside 16 to 4096",
       [](auto& r) { r.mutable_highlight_options()->set_fragment_bytes(15); }},
      {"highlight_options.fragment_bytes: 4097 is outside 16 to 4096",
       [](auto& r) {
         r.mutable_highlight_options()->set_fragment_bytes(4097);
       }},
      // Checked even when highlighting is off: the request is wrong either
      // way.
      {"highlight_options.pre_tag: 100 bytes",
       [](auto& r) {
         r.set_highlight(false);
         r.mutable_highlight_options()->set_pre_tag(std::string(100, 'x'));
       }},
      {"page_size: 101 is over the limit of 100 with explain",
       [](auto& r) {
         r.set_explain(true);
         r.set_page_size(101);
       }},
      {"offset: offset + page_size is 101, over the limit of 100 with "
       "explain",
       [](auto& r) {
         r.set_explain(true);
         r.set_offset(91);
       }},
  };
  for (const Case& c : cases) {
    v1::SearchRequest request = Request("cocoa");
    c.change(request);
    EXPECT_THAT(Search(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr(c.field)));
  }
  EXPECT_EQ(cluster_.total_calls(), 0);
}

TEST_F(QueryHandlerTest, ExplainReachesEveryShardAndEachHitKeepsItsOwn) {
  v1::SearchRequest request = Request("cocoa", 4);
  request.set_explain(true);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
  EXPECT_THAT(Ids(r), ElementsAre("doc29", "doc28", "doc27", "doc26"));
  for (const v1::Hit& hit : r.hits()) {
    ASSERT_TRUE(hit.has_explanation()) << hit.id();
    EXPECT_EQ(hit.explanation().value(), hit.score());
    EXPECT_EQ(hit.explanation().description(),
              absl::StrCat("preset score of ", hit.id()));
  }
  for (int i = 0; i < kShards; ++i) {
    std::vector<v1::ShardSearchRequest> searches = cluster_.shard(i).searches();
    ASSERT_EQ(searches.size(), 1u);
    EXPECT_TRUE(searches[0].explain());
  }

  // Without it, neither the shards nor the hits hear of explanations.
  SIFT_ASSERT_OK_AND_ASSIGN(r, Search(Request("cocoa", 4)));
  for (const v1::Hit& hit : r.hits()) EXPECT_FALSE(hit.has_explanation());
  for (int i = 0; i < kShards; ++i) {
    EXPECT_FALSE(cluster_.shard(i).searches().back().explain());
  }
}

TEST_F(QueryHandlerTest, ExplainChangesNeitherTheHitsNorThePageTokens) {
  v1::SearchRequest plain = Request("cocoa", 7);
  v1::SearchRequest explained = plain;
  explained.set_explain(true);
  for (int page = 0; page < 5; ++page) {
    SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse a, Search(plain));
    SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse b, Search(explained));
    EXPECT_EQ(Ids(a), Ids(b)) << page;
    EXPECT_EQ(a.total_hits(), b.total_hits());
    EXPECT_EQ(a.next_page_token(), b.next_page_token()) << page;
    if (b.next_page_token().empty()) break;
    // A token from an explained page pages the plain search too, and the
    // other way round: explain is not part of the search.
    plain.set_page_token(b.next_page_token());
    explained.set_page_token(a.next_page_token());
  }
  EXPECT_FALSE(plain.page_token().empty());
}

TEST_F(QueryHandlerTest, ExplainAllowsAHundredHitsAndTokensPageOnFromThere) {
  v1::SearchRequest request = Request("cocoa", 100);
  request.set_explain(true);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
  EXPECT_EQ(r.hits_size(), kDocs);
  for (int i = 0; i < kShards; ++i) {
    // The page and the one hit past it, within the shards' explain limit.
    EXPECT_EQ(cluster_.shard(i).searches().back().limit(), 101u);
  }
  request = Request("cocoa", 10);
  request.set_explain(true);
  request.set_offset(90);
  EXPECT_THAT(Search(request), sift::testing::IsOk());
}

TEST_F(QueryHandlerTest, EqualDateBoundsAreAnEmptyRangeNotAnError) {
  v1::SearchRequest request = Request("cocoa");
  request.mutable_filters()->mutable_published_from()->set_seconds(86400);
  request.mutable_filters()->mutable_published_to()->set_seconds(86400);
  EXPECT_THAT(Search(request), sift::testing::IsOk());
}

TEST_F(QueryHandlerTest, PageSizeZeroMeansTen) {
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 0)));
  EXPECT_EQ(r.hits_size(), 10);
}

TEST_F(QueryHandlerTest, GetFetchesFromTheOwningShard) {
  v1::GetRequest request;
  request.set_id("doc07");
  SIFT_ASSERT_OK_AND_ASSIGN(v1::GetResponse r,
                            handler_->Get(request, absl::InfiniteFuture()));
  EXPECT_EQ(r.document().title(), "Cocoa report 7");
  const int owner = static_cast<int>(ShardForId("doc07", kShards));
  EXPECT_EQ(cluster_.shard(owner).fetches().size(), 1u);
  EXPECT_EQ(cluster_.total_calls(), 1);
}

TEST_F(QueryHandlerTest, GetErrors) {
  v1::GetRequest request;
  EXPECT_THAT(handler_->Get(request, absl::InfiniteFuture()),
              StatusIs(absl::StatusCode::kInvalidArgument, "id: required"));
  request.set_id(std::string(513, 'x'));
  EXPECT_THAT(handler_->Get(request, absl::InfiniteFuture()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id: ")));
  request.set_id("missing");
  EXPECT_THAT(
      handler_->Get(request, absl::InfiniteFuture()),
      StatusIs(absl::StatusCode::kNotFound, "no document with id \"missing\""));
  cluster_.shard(ShardForId("doc07", kShards)).SetMode(FakeShard::Mode::kFail);
  request.set_id("doc07");
  EXPECT_THAT(handler_->Get(request, absl::InfiniteFuture()),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(QueryHandlerTest, ClusterStatsListsEveryShardAndItsError) {
  cluster_.shard(2).SetMode(FakeShard::Mode::kFail);
  v1::ClusterStatsResponse r = handler_->ClusterStats(absl::InfiniteFuture());
  ASSERT_EQ(r.shards_size(), kShards);
  uint64_t answered = 0;
  for (int i = 0; i < kShards; ++i) {
    EXPECT_EQ(r.shards(i).shard(), static_cast<uint32_t>(i));
    EXPECT_EQ(r.shards(i).address(), cluster_.addresses()[i]);
    if (i == 2) {
      EXPECT_THAT(r.shards(i).error(), HasSubstr("UNAVAILABLE"));
      EXPECT_EQ(r.shards(i).documents(), 0u);
    } else {
      EXPECT_EQ(r.shards(i).error(), "");
      answered += r.shards(i).documents();
    }
  }
  EXPECT_EQ(r.total_documents(), answered);
  EXPECT_EQ(r.total_disk_bytes(), 1000 * answered);
  EXPECT_GT(answered, 0u);
  EXPECT_LT(answered, static_cast<uint64_t>(kDocs));
}

// A shard whose writes are stopped still answers: its error is shown beside
// its figures, and it counts in the totals.
TEST_F(QueryHandlerTest, ClusterStatsShowsAShardsBackgroundError) {
  const std::string error =
      "IO error: No space left on device; writes stopped until a retry "
      "succeeds";
  cluster_.shard(1).SetBackgroundError(error);
  v1::ClusterStatsResponse r = handler_->ClusterStats(absl::InfiniteFuture());
  ASSERT_EQ(r.shards_size(), kShards);
  uint64_t documents = 0;
  for (int i = 0; i < kShards; ++i) {
    EXPECT_EQ(r.shards(i).error(), "");
    EXPECT_EQ(r.shards(i).background_error(), i == 1 ? error : "");
    documents += r.shards(i).documents();
  }
  EXPECT_GT(r.shards(1).documents(), 0u);
  EXPECT_EQ(r.total_documents(), documents);
  EXPECT_EQ(documents, static_cast<uint64_t>(kDocs));
  cluster_.shard(1).SetBackgroundError("");
  r = handler_->ClusterStats(absl::InfiniteFuture());
  EXPECT_EQ(r.shards(1).background_error(), "");
}

}  // namespace
}  // namespace sift::query

namespace sift::query {
namespace {

using ::sift::query::testing::FakeCluster;
using ::sift::query::testing::FakeShard;

FakeShard::StoredDoc FacetDoc(const std::string& id, const std::string& source,
                              std::vector<std::string> tags,
                              const std::string& date) {
  FakeShard::StoredDoc doc;
  doc.document.set_id(id);
  doc.document.set_body("grain");
  doc.document.set_source(source);
  for (std::string& tag : tags) doc.document.add_tags(std::move(tag));
  if (!date.empty()) {
    absl::Time t;
    std::string error;
    EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, date, &t, &error)) << error;
    doc.document.mutable_published_at()->set_seconds(absl::ToUnixSeconds(t));
  }
  return doc;
}

class QueryHandlerFacetTest : public ::testing::Test {
 protected:
  QueryHandlerFacetTest()
      : cluster_(
            3,
            {FacetDoc("d0", "AP", {"Grain", "Wheat"}, "1987-01-15T10:00:00Z"),
             FacetDoc("d1", "Reuters", {"grain"}, "1987-01-31T23:59:59Z"),
             FacetDoc("d2", "reuters", {}, "1987-02-01T00:00:00Z"),
             FacetDoc("d3", "", {"corn", "Grain"}, ""),
             FacetDoc("d4", "BBC", {"wheat"}, "1988-03-10T12:00:00Z"),
             FacetDoc("d5", "Reuters", {"corn"}, "1987-02-20T00:00:00Z")}) {
    std::vector<std::unique_ptr<storage::StorageClient>> clients;
    for (const std::string& address : cluster_.addresses()) {
      clients.push_back(storage::StorageClient::Connect(address));
    }
    handler_ = std::make_unique<QueryHandler>(std::move(clients), &analyzer_,
                                              QueryOptions());
  }

  static std::vector<std::string> Buckets(const v1::FacetResult& facet) {
    std::vector<std::string> out;
    for (const v1::FacetBucket& b : facet.buckets()) {
      out.push_back(absl::StrCat(b.value(), "=", b.count()));
    }
    return out;
  }

  analysis::Analyzer analyzer_;
  FakeCluster cluster_;
  std::unique_ptr<QueryHandler> handler_;
};

TEST_F(QueryHandlerFacetTest, MergesEveryShardsCountsInRequestOrder) {
  v1::SearchRequest request;
  request.set_query("grain");
  request.set_page_size(1);
  v1::FacetRequest* source = request.add_facets();
  source->set_field(v1::FACET_FIELD_SOURCE);
  source->set_size(2);
  request.add_facets()->set_field(v1::FACET_FIELD_TAGS);
  request.add_facets()->set_field(v1::FACET_FIELD_PUBLISHED_AT);
  v1::FacetRequest* years = request.add_facets();
  years->set_field(v1::FACET_FIELD_PUBLISHED_AT);
  years->set_interval(v1::DATE_INTERVAL_YEAR);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r,
                            handler_->Search(request, absl::InfiniteFuture()));
  // The page holds one hit; the facets count all six documents.
  EXPECT_EQ(r.hits_size(), 1);
  EXPECT_EQ(r.total_hits(), 6u);
  ASSERT_EQ(r.facets_size(), 4);

  EXPECT_EQ(r.facets(0).field(), v1::FACET_FIELD_SOURCE);
  // ap and bbc tie at 1: the smaller value wins the last place.
  EXPECT_THAT(Buckets(r.facets(0)), ElementsAre("reuters=3", "ap=1"));
  EXPECT_EQ(r.facets(0).other_count(), 1u);
  EXPECT_EQ(r.facets(0).missing_count(), 1u);
  EXPECT_FALSE(r.facets(0).incomplete());

  EXPECT_THAT(Buckets(r.facets(1)),
              ElementsAre("grain=3", "corn=2", "wheat=2"));
  EXPECT_EQ(r.facets(1).other_count(), 0u);
  EXPECT_EQ(r.facets(1).missing_count(), 1u);

  EXPECT_EQ(r.facets(2).interval(), v1::DATE_INTERVAL_MONTH);
  EXPECT_THAT(Buckets(r.facets(2)),
              ElementsAre("1987-01=2", "1987-02=2", "1988-03=1"));
  EXPECT_EQ(r.facets(2).buckets(1).start().seconds(), 539136000);  // Feb 1
  EXPECT_EQ(r.facets(2).missing_count(), 1u);
  EXPECT_THAT(Buckets(r.facets(3)), ElementsAre("1987=4", "1988=1"));

  // Every shard was asked for every facet, with the defaults filled in.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(cluster_.shard(i).searches().size(), 1u);
    const v1::ShardSearchRequest sent = cluster_.shard(i).searches()[0];
    ASSERT_EQ(sent.facets_size(), 4);
    EXPECT_EQ(sent.facets(1).size(), 10u);
    EXPECT_EQ(sent.facets(2).interval(), v1::DATE_INTERVAL_MONTH);
  }
}

TEST_F(QueryHandlerFacetTest, AQueryMatchingNothingStillAnswersEveryFacet) {
  v1::SearchRequest request;
  request.set_query("!!!");
  request.add_facets()->set_field(v1::FACET_FIELD_TAGS);
  request.add_facets()->set_field(v1::FACET_FIELD_PUBLISHED_AT);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r,
                            handler_->Search(request, absl::InfiniteFuture()));
  ASSERT_EQ(r.facets_size(), 2);
  EXPECT_EQ(r.facets(0).field(), v1::FACET_FIELD_TAGS);
  EXPECT_THAT(r.facets(0).buckets(), IsEmpty());
  EXPECT_EQ(r.facets(1).interval(), v1::DATE_INTERVAL_MONTH);
  EXPECT_EQ(cluster_.total_calls(), 0);
}

TEST_F(QueryHandlerFacetTest, TooManyDateBucketsAsksForACoarserInterval) {
  std::vector<FakeShard::StoredDoc> docs;
  for (int i = 0; i < 10001; ++i) {
    FakeShard::StoredDoc& doc = docs.emplace_back();
    doc.document.set_id(absl::StrCat("d", i));
    doc.document.mutable_published_at()->set_seconds(int64_t{86400} * i);
  }
  FakeCluster cluster(2, docs);
  std::vector<std::unique_ptr<storage::StorageClient>> clients;
  for (const std::string& address : cluster.addresses()) {
    clients.push_back(storage::StorageClient::Connect(address));
  }
  QueryHandler handler(std::move(clients), &analyzer_, QueryOptions());
  v1::SearchRequest request;
  v1::FacetRequest* days = request.add_facets();
  days->set_field(v1::FACET_FIELD_PUBLISHED_AT);
  days->set_interval(v1::DATE_INTERVAL_DAY);
  EXPECT_THAT(handler.Search(request, absl::InfiniteFuture()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("facets[0]: the published_at histogram has "
                                 "10001 non-empty DAY buckets")));
  days->set_interval(v1::DATE_INTERVAL_YEAR);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r,
                            handler.Search(request, absl::InfiniteFuture()));
  ASSERT_EQ(r.facets_size(), 1);
  uint64_t sum = 0;
  for (const v1::FacetBucket& b : r.facets(0).buckets()) sum += b.count();
  EXPECT_EQ(sum, 10001u);
}

}  // namespace
// A single shard's statistics are the collection's, and its search can
// return the page's documents: one round instead of three.
class OneShardTest : public ::testing::Test {
 protected:
  OneShardTest() : cluster_(1, Corpus()) {
    std::vector<std::unique_ptr<storage::StorageClient>> clients;
    clients.push_back(storage::StorageClient::Connect(cluster_.addresses()[0]));
    handler_ = std::make_unique<QueryHandler>(std::move(clients), &analyzer_,
                                              QueryOptions());
  }

  analysis::Analyzer analyzer_;
  FakeCluster cluster_;
  std::unique_ptr<QueryHandler> handler_;
};

TEST_F(OneShardTest, ASearchIsOneRound) {
  v1::SearchRequest request;
  request.set_query("cocoa prices");
  request.set_page_size(4);
  request.set_offset(2);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r,
                            handler_->Search(request, absl::InfiniteFuture()));
  ASSERT_EQ(r.hits_size(), 4);
  EXPECT_EQ(r.hits(0).id(), "doc27");
  EXPECT_EQ(r.hits(0).title(), "Cocoa report 27");
  EXPECT_EQ(r.hits(0).snippet().highlighted(),
            "<em>Cocoa</em> <em>prices</em> moved on day 27.");
  FakeShard& shard = cluster_.shard(0);
  EXPECT_THAT(shard.stats_requests(), IsEmpty());
  EXPECT_THAT(shard.fetches(), IsEmpty());
  std::vector<v1::ShardSearchRequest> searches = shard.searches();
  ASSERT_EQ(searches.size(), 1u);
  EXPECT_TRUE(searches[0].shard_stats());
  EXPECT_EQ(searches[0].stats().terms_size(), 2);
  EXPECT_EQ(searches[0].documents_from(), 2u);
  EXPECT_EQ(searches[0].documents_count(), 4u);

  // The next page scores with the statistics the shard reported, frozen in
  // the token, and still needs no other round.
  v1::SearchRequest next;
  next.set_query("cocoa prices");
  next.set_page_size(4);
  next.set_page_token(r.next_page_token());
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse second,
                            handler_->Search(next, absl::InfiniteFuture()));
  ASSERT_EQ(second.hits_size(), 4);
  EXPECT_EQ(second.hits(0).id(), "doc23");
  EXPECT_EQ(second.hits(0).title(), "Cocoa report 23");
  searches = shard.searches();
  ASSERT_EQ(searches.size(), 2u);
  EXPECT_FALSE(searches[1].shard_stats());
  EXPECT_EQ(searches[1].stats().doc_count(), static_cast<uint64_t>(kDocs));
  EXPECT_THAT(searches[1].stats().doc_freqs(), ElementsAre(kDocs, kDocs));
  EXPECT_THAT(shard.stats_requests(), IsEmpty());
  EXPECT_THAT(shard.fetches(), IsEmpty());
}

TEST_F(OneShardTest, AShardOfAnEarlierVersionIsAskedForItsStatistics) {
  // It ignores shard_stats, so it scored without statistics: the
  // coordinator asks for them and searches again, then fetches.
  cluster_.shard(0).SetEarlierVersion(true);
  v1::SearchRequest request;
  request.set_query("cocoa");
  request.set_page_size(3);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r,
                            handler_->Search(request, absl::InfiniteFuture()));
  ASSERT_EQ(r.hits_size(), 3);
  EXPECT_EQ(r.hits(0).id(), "doc29");
  EXPECT_EQ(r.hits(0).title(), "Cocoa report 29");
  FakeShard& shard = cluster_.shard(0);
  EXPECT_THAT(shard.stats_requests(), SizeIs(1));
  EXPECT_THAT(shard.fetches(), SizeIs(1));
  std::vector<v1::ShardSearchRequest> searches = shard.searches();
  ASSERT_EQ(searches.size(), 2u);
  EXPECT_FALSE(searches[1].shard_stats());
  EXPECT_EQ(searches[1].stats().doc_count(), static_cast<uint64_t>(kDocs));
}

TEST_F(QueryHandlerTest, ShallowPagesComeWithTheirDocuments) {
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 5)));
  ASSERT_EQ(r.hits_size(), 5);
  EXPECT_EQ(r.hits(4).title(), "Cocoa report 25");
  for (int i = 0; i < kShards; ++i) {
    EXPECT_THAT(cluster_.shard(i).fetches(), IsEmpty()) << i;
    // Several shards still gather statistics first.
    EXPECT_THAT(cluster_.shard(i).stats_requests(), SizeIs(1)) << i;
    EXPECT_EQ(cluster_.shard(i).searches()[0].documents_count(), 5u);
  }
  // A deeper page fetches only what it shows.
  v1::SearchRequest deep = Request("cocoa", 5);
  deep.set_offset(20);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse d, Search(deep));
  ASSERT_EQ(d.hits_size(), 5);
  EXPECT_EQ(d.hits(0).title(), "Cocoa report 9");
  size_t fetched = 0;
  for (int i = 0; i < kShards; ++i) {
    EXPECT_EQ(cluster_.shard(i).searches()[1].documents_count(), 0u);
    for (const v1::FetchRequest& f : cluster_.shard(i).fetches()) {
      fetched += f.ids_size();
    }
  }
  EXPECT_EQ(fetched, 5u);
}

TEST_F(QueryHandlerTest, TheShardsMakeWhatHitsShowAndNoBodyTravels) {
  v1::SearchRequest request = Request("prices", 5);
  request.mutable_highlight_options()->set_pre_tag("[");
  request.mutable_highlight_options()->set_post_tag("]");
  request.mutable_highlight_options()->set_fragment_bytes(16);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(request));
  ASSERT_EQ(r.hits_size(), 5);
  for (int i = 0; i < kShards; ++i) {
    const v1::ShardSearchRequest sent = cluster_.shard(i).searches()[0];
    ASSERT_TRUE(sent.has_view()) << i;
    EXPECT_TRUE(sent.view().highlight());
    EXPECT_EQ(sent.view().pre_tag(), "[");
    EXPECT_EQ(sent.view().fragment_bytes(), 16u);
    EXPECT_EQ(sent.view().body().terms_size(), 1);
  }
  EXPECT_THAT(r.hits(0).snippet().highlighted(), HasSubstr("[prices]"));
  EXPECT_THAT(r.hits(0).title_snippet().text(), HasSubstr("Cocoa report"));

  // A deeper page's fetch asks for views too.
  request.set_offset(20);
  request.set_highlight(false);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse deep, Search(request));
  ASSERT_EQ(deep.hits_size(), 5);
  EXPECT_FALSE(deep.hits(0).has_snippet());
  EXPECT_THAT(deep.hits(0).title(), HasSubstr("Cocoa report"));
  for (int i = 0; i < kShards; ++i) {
    for (const v1::FetchRequest& f : cluster_.shard(i).fetches()) {
      EXPECT_TRUE(f.has_view());
      EXPECT_FALSE(f.view().highlight());
    }
  }
}

TEST_F(QueryHandlerTest, ShardsThatPredateViewsShowTheSameHits) {
  v1::SearchRequest request = Request("prices", 5);
  request.mutable_highlight_options()->set_fragment_bytes(16);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse made_by_shards, Search(request));
  for (int i = 0; i < kShards; ++i) cluster_.shard(i).SetWithoutViews(true);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse made_here, Search(request));
  ASSERT_EQ(made_here.hits_size(), made_by_shards.hits_size());
  for (int i = 0; i < made_here.hits_size(); ++i) {
    made_here.mutable_hits(i)->clear_score();
    made_by_shards.mutable_hits(i)->clear_score();
    EXPECT_EQ(made_here.hits(i).SerializeAsString(),
              made_by_shards.hits(i).SerializeAsString())
        << i;
  }
  EXPECT_THAT(made_here.hits(0).snippet().highlighted(),
              HasSubstr("<em>prices</em>"));
  // The deeper pages' fetch too.
  request.set_offset(20);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse deep, Search(request));
  ASSERT_EQ(deep.hits_size(), 5);
  EXPECT_THAT(deep.hits(0).snippet().highlighted(),
              HasSubstr("<em>prices</em>"));
}

// Kept statistics: shards that report versions are asked for statistics
// once; later searches of the same terms send each shard the version its
// share came from, and no statistics round.
class KeptStatsTest : public QueryHandlerTest {
 protected:
  KeptStatsTest() {
    for (int i = 0; i < kShards; ++i) {
      cluster_.shard(i).SetStatsVersion(100 + static_cast<uint64_t>(i));
    }
  }

  size_t StatsRequests() {
    size_t n = 0;
    for (int i = 0; i < kShards; ++i) {
      n += cluster_.shard(i).stats_requests().size();
    }
    return n;
  }
};

TEST_F(KeptStatsTest, ASecondSearchOfTheSameTermsIsOneRound) {
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse first,
                            Search(Request("cocoa prices", 5)));
  EXPECT_EQ(StatsRequests(), static_cast<size_t>(kShards));
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse second,
                            Search(Request("prices cocoa", 5)));
  // Both terms were kept by the first search: no statistics round.
  EXPECT_EQ(StatsRequests(), static_cast<size_t>(kShards));
  EXPECT_EQ(Ids(second), Ids(first));
  for (int i = 0; i < kShards; ++i) {
    const std::vector<v1::ShardSearchRequest> searches =
        cluster_.shard(i).searches();
    ASSERT_EQ(searches.size(), 2u);
    EXPECT_EQ(searches[0].stats_version(), 0u);
    EXPECT_EQ(searches[1].stats_version(), 100u + i);
    // The kept statistics sum to what the statistics round summed.
    EXPECT_EQ(searches[1].stats().doc_count(), static_cast<uint64_t>(kDocs));
    EXPECT_EQ(searches[1].stats().total_body_terms(), 10u * kDocs);
    EXPECT_THAT(searches[1].stats().doc_freqs(), ElementsAre(kDocs, kDocs));
  }
  // A term not kept yet takes a statistics round again.
  ASSERT_THAT(Search(Request("cocoa sugar", 5)), sift::testing::IsOk());
  EXPECT_EQ(StatsRequests(), 2u * kShards);
}

TEST_F(KeptStatsTest, AShardWhoseCountsChangedMakesEveryShardSearchAgain) {
  ASSERT_THAT(Search(Request("cocoa", 5)), sift::testing::IsOk());
  // Shard 1 took writes: 7 more documents hold every term.
  cluster_.shard(1).SetStatsVersion(200, 7);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 5)));
  EXPECT_FALSE(r.partial());
  EXPECT_THAT(Ids(r), ElementsAre("doc29", "doc28", "doc27", "doc26", "doc25"));
  EXPECT_EQ(StatsRequests(), static_cast<size_t>(kShards));
  for (int i = 0; i < kShards; ++i) {
    const std::vector<v1::ShardSearchRequest> searches =
        cluster_.shard(i).searches();
    // The first search, the one with kept statistics, and the one again
    // with shard 1's new counts, checked by no version.
    ASSERT_EQ(searches.size(), 3u) << "shard " << i;
    EXPECT_EQ(searches[2].stats_version(), 0u);
    EXPECT_THAT(searches[2].stats().doc_freqs(), ElementsAre(kDocs + 7));
  }
  // Shard 1 changed a moment ago and may change again: the next search
  // asks for statistics rather than trust kept ones.
  ASSERT_THAT(Search(Request("cocoa", 5)), sift::testing::IsOk());
  EXPECT_EQ(StatsRequests(), 2u * kShards);
}

TEST_F(KeptStatsTest, AChangeThatKeepsTheCountsSearchesOnlyThatShardAgain) {
  ASSERT_THAT(Search(Request("cocoa", 5)), sift::testing::IsOk());
  // A flush: a new state with the same statistics.
  cluster_.shard(2).SetStatsVersion(300);
  SIFT_ASSERT_OK_AND_ASSIGN(v1::SearchResponse r, Search(Request("cocoa", 5)));
  EXPECT_THAT(Ids(r), ElementsAre("doc29", "doc28", "doc27", "doc26", "doc25"));
  EXPECT_EQ(cluster_.shard(0).searches().size(), 2u);
  EXPECT_EQ(cluster_.shard(1).searches().size(), 2u);
  const std::vector<v1::ShardSearchRequest> searches =
      cluster_.shard(2).searches();
  ASSERT_EQ(searches.size(), 3u);
  EXPECT_EQ(searches[1].stats_version(), 102u);
  EXPECT_EQ(searches[2].stats_version(), 0u);
}

TEST_F(KeptStatsTest, CacheStatsOffAsksEverySearchsStatistics) {
  QueryOptions options;
  options.cache_stats = false;
  handler_ = MakeHandler(options);
  for (int k = 0; k < 3; ++k) {
    ASSERT_THAT(Search(Request("cocoa", 5)), sift::testing::IsOk());
  }
  EXPECT_EQ(StatsRequests(), 3u * kShards);
  for (const v1::ShardSearchRequest& s : cluster_.shard(0).searches()) {
    EXPECT_EQ(s.stats_version(), 0u);
  }
}

TEST_F(QueryHandlerTest, ShardsThatReportNoStatsVersionAreAskedEveryTime) {
  for (int k = 0; k < 2; ++k) {
    ASSERT_THAT(Search(Request("cocoa", 5)), sift::testing::IsOk());
  }
  for (int i = 0; i < kShards; ++i) {
    EXPECT_EQ(cluster_.shard(i).stats_requests().size(), 2u);
  }
}

}  // namespace sift::query
