// End-to-end tests: the real sift-storage, sift-ingest and sift-query
// binaries on loopback, with real corpora.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cluster.h"

namespace sift::testing {
namespace {

using ::testing::HasSubstr;

v1::DocumentInput JsonInput(const std::string& line) {
  v1::DocumentInput in;
  in.set_json(line);
  return in;
}

v1::DocumentInput DocInput(const std::string& id, const std::string& title,
                           const std::string& body) {
  v1::DocumentInput in;
  in.mutable_document()->set_id(id);
  in.mutable_document()->set_title(title);
  in.mutable_document()->set_body(body);
  return in;
}

v1::SearchResponse MustSearch(Cluster& cluster, const std::string& query,
                              uint32_t page_size = 10) {
  v1::SearchRequest request;
  request.set_query(query);
  request.set_page_size(page_size);
  v1::SearchResponse response;
  grpc::Status s = cluster.Search(request, &response);
  EXPECT_TRUE(s.ok()) << query << ": " << s.error_message();
  return response;
}

uint64_t DocumentCount(Cluster& cluster) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(30)));
  v1::ClusterStatsResponse response;
  grpc::Status s = cluster.query().ClusterStats(
      &context, v1::ClusterStatsRequest(), &response);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response.total_documents();
}

class CranfieldTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    auto inputs = CranfieldInputs();
    if (!inputs.ok()) GTEST_SKIP() << inputs.status().message();
    auto cluster = Cluster::Start(GetParam(), dir_.path());
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    SIFT_ASSERT_OK_AND_ASSIGN(const int accepted, IndexAll(*cluster_, *inputs));
    ASSERT_EQ(accepted, 1400) << cluster_->Logs();
  }

  TempDir dir_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_P(CranfieldTest, IndexesEveryDocumentAndFindsRelevantOnes) {
  EXPECT_EQ(DocumentCount(*cluster_), 1400u);
  // Cranfield query 1 is about aeroelastic models of heated high-speed
  // aircraft; documents 12, 13, 29, 51, ... are judged relevant to it.
  v1::SearchResponse r = MustSearch(
      *cluster_,
      "similarity laws aeroelastic models heated high speed aircraft");
  ASSERT_EQ(r.hits_size(), 10);
  EXPECT_GT(r.total_hits(), 100u);
  std::vector<std::string> ids;
  for (const auto& hit : r.hits()) ids.push_back(hit.id());
  EXPECT_THAT(ids, ::testing::Contains(
                       ::testing::AnyOf("12", "13", "29", "51", "184", "486")));
  for (int i = 1; i < r.hits_size(); ++i) {
    EXPECT_GE(r.hits(i - 1).score(), r.hits(i).score());
  }
  EXPECT_FALSE(r.partial());
}

TEST_P(CranfieldTest, BooleanOperatorsAndPhrases) {
  const uint64_t boundary = MustSearch(*cluster_, "boundary").total_hits();
  const uint64_t layer = MustSearch(*cluster_, "layer").total_hits();
  const uint64_t both =
      MustSearch(*cluster_, "boundary AND layer").total_hits();
  const uint64_t either =
      MustSearch(*cluster_, "boundary OR layer").total_hits();
  const uint64_t not_layer =
      MustSearch(*cluster_, "boundary -layer").total_hits();
  const uint64_t phrase =
      MustSearch(*cluster_, "\"boundary layer\"").total_hits();
  EXPECT_GT(both, 0u);
  EXPECT_EQ(either + both, boundary + layer);
  EXPECT_EQ(not_layer + both, boundary);
  EXPECT_GT(phrase, 0u);
  EXPECT_LE(phrase, both);
}

TEST_P(CranfieldTest, SnippetsHighlightMatches) {
  v1::SearchResponse r = MustSearch(*cluster_, "\"heat transfer\" cylinder");
  ASSERT_GT(r.hits_size(), 0);
  const v1::Hit& hit = r.hits(0);
  EXPECT_FALSE(hit.title().empty());
  ASSERT_GT(hit.snippet().spans_size(), 0);
  EXPECT_THAT(hit.snippet().highlighted(), HasSubstr("<em>"));
  for (const v1::Span& span : hit.snippet().spans()) {
    ASSERT_LE(span.end(), hit.snippet().text().size());
    ASSERT_LT(span.start(), span.end());
  }
}

// Every node of `tree` whose description contains `part`, depth first.
void CollectNodes(const v1::Explanation& tree, const std::string& part,
                  std::vector<const v1::Explanation*>* out) {
  if (tree.description().find(part) != std::string::npos) out->push_back(&tree);
  for (const v1::Explanation& detail : tree.details()) {
    CollectNodes(detail, part, out);
  }
}

TEST_P(CranfieldTest, ExplanationsAddUpToTheScoresAndChangeNothing) {
  int proximity_nodes = 0, pages = 0;
  for (const std::string query :
       {"similarity laws aeroelastic models heated high speed aircraft",
        "\"boundary layer\" AND (heat OR temperature) -supersonic",
        "title:wing flutt* vibraton~1"}) {
    v1::SearchRequest plain;
    plain.set_query(query);
    plain.set_page_size(20);
    v1::SearchRequest explained = plain;
    explained.set_explain(true);
    // The first page and the one after it, by page token.
    for (int page = 0; page < 2; ++page, ++pages) {
      v1::SearchResponse a, b;
      ASSERT_TRUE(cluster_->Search(plain, &a).ok()) << query;
      const grpc::Status s = cluster_->Search(explained, &b);
      ASSERT_TRUE(s.ok()) << query << ": " << s.error_message();
      EXPECT_EQ(a.next_page_token(), b.next_page_token()) << query;
      ASSERT_EQ(a.hits_size(), b.hits_size()) << query;
      ASSERT_GT(b.hits_size(), 0) << query;
      for (int i = 0; i < b.hits_size(); ++i) {
        const v1::Hit& hit = b.hits(i);
        EXPECT_EQ(hit.id(), a.hits(i).id()) << query;
        EXPECT_EQ(hit.score(), a.hits(i).score()) << query;
        EXPECT_FALSE(a.hits(i).has_explanation());
        ASSERT_TRUE(hit.has_explanation()) << query << " " << hit.id();
        EXPECT_DOUBLE_EQ(hit.explanation().value(), hit.score())
            << query << "\n"
            << hit.explanation().DebugString();
        // Every idf is over the whole collection, whatever the sharding.
        std::vector<const v1::Explanation*> n;
        CollectNodes(hit.explanation(), "N, documents in the collection", &n);
        for (const v1::Explanation* node : n) EXPECT_EQ(node->value(), 1400);
        std::vector<const v1::Explanation*> bonus;
        CollectNodes(hit.explanation(), "BM25TP", &bonus);
        proximity_nodes += static_cast<int>(bonus.size());
      }
      if (b.next_page_token().empty()) break;
      plain.set_page_token(a.next_page_token());
      explained.set_page_token(b.next_page_token());
    }
  }
  EXPECT_EQ(pages, 6);
  EXPECT_GT(proximity_nodes, 0);

  // Explained pages are at most 100 hits deep; the error names the field.
  v1::SearchRequest deep;
  deep.set_query("wing");
  deep.set_explain(true);
  deep.set_page_size(101);
  v1::SearchResponse response;
  grpc::Status s = cluster_->Search(deep, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_size"));
}

INSTANTIATE_TEST_SUITE_P(Shards, CranfieldTest, ::testing::Values(1, 3),
                         [](const auto& info) {
                           return absl::StrCat(info.param, "Shards");
                         });

class SmallClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = Cluster::Start(2, dir_.path());
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
  }

  v1::IndexResponse Index(const std::vector<v1::DocumentInput>& docs) {
    v1::IndexRequest request;
    for (const auto& d : docs) *request.add_documents() = d;
    grpc::ClientContext context;
    context.set_deadline(DeadlineIn(absl::Seconds(30)));
    v1::IndexResponse response;
    grpc::Status s = cluster_->ingest().Index(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  }

  std::vector<std::string> Ids(const std::string& query) {
    std::vector<std::string> ids;
    const v1::SearchResponse response = MustSearch(*cluster_, query, 100);
    for (const auto& hit : response.hits()) ids.push_back(hit.id());
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(SmallClusterTest, UpsertReplacesTheOldVersionEverywhere) {
  ASSERT_EQ(Index({DocInput("a", "Lighthouse keeper",
                            "The old lighthouse "
                            "stands on granite."),
                   DocInput("b", "Harbour", "Boats in the harbour.")})
                .accepted(),
            2u);
  EXPECT_THAT(Ids("granite"), ::testing::ElementsAre("a"));
  ASSERT_EQ(Index({DocInput("a", "Lighthouse keeper",
                            "The new lighthouse stands on basalt.")})
                .accepted(),
            1u);
  EXPECT_THAT(Ids("granite"), ::testing::IsEmpty());
  EXPECT_THAT(Ids("basalt"), ::testing::ElementsAre("a"));
  EXPECT_THAT(Ids("lighthouse"), ::testing::ElementsAre("a"));
  EXPECT_EQ(DocumentCount(*cluster_), 2u);
}

TEST_F(SmallClusterTest, DeleteRemovesFromSearchAndGet) {
  ASSERT_EQ(Index({DocInput("x", "Tidal power", "Turbines under the estuary."),
                   DocInput("y", "Wind power", "Turbines on the ridge.")})
                .accepted(),
            2u);
  EXPECT_EQ(Ids("turbines").size(), 2u);
  {
    grpc::ClientContext context;
    v1::DeleteRequest request;
    request.add_ids("x");
    request.add_ids("never-existed");
    v1::DeleteResponse response;
    ASSERT_TRUE(cluster_->ingest().Delete(&context, request, &response).ok());
    ASSERT_EQ(response.results_size(), 2);
    EXPECT_TRUE(response.results(0).found());
    EXPECT_FALSE(response.results(1).found());
  }
  EXPECT_THAT(Ids("turbines"), ::testing::ElementsAre("y"));
  grpc::ClientContext context;
  v1::GetRequest get;
  get.set_id("x");
  v1::GetResponse got;
  EXPECT_EQ(cluster_->query().Get(&context, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SmallClusterTest, InvalidDocumentsAreRejectedAloneWithTheirReason) {
  v1::DocumentInput no_id = DocInput("", "No id", "Body.");
  v1::DocumentInput bad_json = JsonInput("{\"id\": \"j1\", \"title\": 5}");
  v1::DocumentInput good = DocInput("ok-1", "Valid", "A valid document.");
  v1::IndexResponse r = Index({no_id, good, bad_json});
  ASSERT_EQ(r.results_size(), 3);
  EXPECT_EQ(r.accepted(), 1u);
  EXPECT_EQ(r.rejected(), 2u);
  EXPECT_EQ(r.results(0).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.results(0).message(), HasSubstr("id"));
  EXPECT_EQ(r.results(1).code(), grpc::StatusCode::OK);
  EXPECT_EQ(r.results(2).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(r.results(2).message(), HasSubstr("title"));
  EXPECT_THAT(Ids("valid"), ::testing::ElementsAre("ok-1"));
}

TEST_F(SmallClusterTest, BadQueriesGetInvalidArgumentWithAPosition) {
  v1::SearchRequest request;
  request.set_query("(boundary AND layer");
  v1::SearchResponse response;
  grpc::Status s = cluster_->Search(request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("column"));

  request.set_query("boundary");
  request.set_page_size(100000);
  s = cluster_->Search(request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_size"));

  request.set_page_size(10);
  request.set_page_token("not-a-token");
  s = cluster_->Search(request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_token"));
}

TEST_F(SmallClusterTest, PagesThroughEveryHitOnce) {
  std::vector<v1::DocumentInput> docs;
  for (int i = 0; i < 57; ++i) {
    docs.push_back(DocInput(
        absl::StrCat("p", i), "Paging",
        absl::StrCat("common word ", std::string(i % 7, 'x'), " filler")));
  }
  ASSERT_EQ(Index(docs).accepted(), 57u);
  v1::SearchRequest request;
  request.set_query("common");
  request.set_page_size(10);
  std::set<std::string> seen;
  int pages = 0;
  while (true) {
    v1::SearchResponse response;
    ASSERT_TRUE(cluster_->Search(request, &response).ok());
    EXPECT_EQ(response.total_hits(), 57u);
    for (const auto& hit : response.hits()) {
      EXPECT_TRUE(seen.insert(hit.id()).second) << hit.id() << " repeated";
    }
    ++pages;
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(seen.size(), 57u);
  EXPECT_EQ(pages, 6);
}

TEST_F(SmallClusterTest, FiltersOnSourceTagsAndDates) {
  std::vector<v1::DocumentInput> docs;
  docs.push_back(JsonInput(
      R"({"id":"r1","title":"Cocoa","body":"cocoa crop","date":"1987-02-26","source":"Reuters","tags":["cocoa"]})"));
  docs.push_back(JsonInput(
      R"({"id":"r2","title":"Cocoa prices","body":"cocoa market","date":"1987-03-10","source":"Reuters","tags":["cocoa","prices"]})"));
  docs.push_back(JsonInput(
      R"({"id":"b1","title":"Cocoa farms","body":"cocoa farms","date":"2005-01-01","source":"BBC","tags":["business"]})"));
  ASSERT_EQ(Index(docs).accepted(), 3u);

  auto ids = [&](const v1::SearchRequest& request) {
    v1::SearchResponse response;
    grpc::Status s = cluster_->Search(request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const auto& hit : response.hits()) out.push_back(hit.id());
    std::sort(out.begin(), out.end());
    return out;
  };
  v1::SearchRequest request;
  request.set_query("cocoa");
  request.mutable_filters()->add_sources("reuters");
  EXPECT_THAT(ids(request), ::testing::ElementsAre("r1", "r2"));
  request.mutable_filters()->add_tags("Prices");
  EXPECT_THAT(ids(request), ::testing::ElementsAre("r2"));
  request.clear_filters();
  request.mutable_filters()->mutable_published_from()->set_seconds(
      536457600);  // 1987-01-01
  request.mutable_filters()->mutable_published_to()->set_seconds(
      541728000);  // 1987-03-02
  EXPECT_THAT(ids(request), ::testing::ElementsAre("r1"));
  request.clear_filters();
  request.set_query("cocoa source:bbc");
  request.set_default_operator(v1::DEFAULT_OPERATOR_AND);
  EXPECT_THAT(ids(request), ::testing::ElementsAre("b1"));
  request.set_query("");
  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  v1::SearchResponse response;
  ASSERT_TRUE(cluster_->Search(request, &response).ok());
  ASSERT_EQ(response.hits_size(), 3);
  EXPECT_EQ(response.hits(0).id(), "b1");
  EXPECT_EQ(response.hits(1).id(), "r2");
  EXPECT_EQ(response.hits(2).id(), "r1");
  EXPECT_EQ(response.hits(0).source(), "BBC");
}

TEST_F(SmallClusterTest, DateRangesInTheQueryLanguage) {
  std::vector<v1::DocumentInput> docs;
  docs.push_back(JsonInput(
      R"({"id":"r1","title":"Cocoa","body":"cocoa crop","date":"1987-02-26"})"));
  docs.push_back(JsonInput(
      R"({"id":"r2","title":"Cocoa prices","body":"cocoa market","date":"1987-03-10"})"));
  docs.push_back(JsonInput(
      R"({"id":"b1","title":"Cocoa farms","body":"cocoa farms","date":"2005-01-01"})"));
  docs.push_back(
      JsonInput(R"({"id":"u1","title":"Cocoa","body":"cocoa, date unknown"})"));
  ASSERT_EQ(Index(docs).accepted(), 4u);
  auto sorted_ids = [&](const std::string& query) {
    std::vector<std::string> ids = Ids(query);
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  using ::testing::ElementsAre;
  EXPECT_THAT(sorted_ids("cocoa AND published_at:[1987-01-01 TO 1987-03-31]"),
              ElementsAre("r1", "r2"));
  // Excluding a range keeps the undated document.
  EXPECT_THAT(sorted_ids("cocoa -published_at:<1987-03-01"),
              ElementsAre("b1", "r2", "u1"));
  EXPECT_THAT(sorted_ids("date:>=2000"), ElementsAre("b1"));
  // A whole month; the day after the exclusive start through the
  // inclusive end.
  EXPECT_THAT(sorted_ids("published_at:1987-03"), ElementsAre("r2"));
  EXPECT_THAT(sorted_ids("farms OR published_at:{1987-02-26 TO 1987-03-10]"),
              ElementsAre("b1", "r2"));
  const v1::SearchResponse alone =
      MustSearch(*cluster_, "published_at:[* TO *]", 10);
  EXPECT_EQ(alone.total_hits(), 3u);
  for (const auto& hit : alone.hits()) EXPECT_EQ(hit.score(), 0.0);

  v1::SearchRequest request;
  request.set_query("cocoa published_at:[1987 TO");
  v1::SearchResponse response;
  const grpc::Status s = cluster_->Search(request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "query: column 28: expected a date or '*' after 'TO', found the "
            "end of the query");
}

TEST_F(SmallClusterTest, PrefixAndFuzzyMatchesAreHighlightedAndEscaped) {
  ASSERT_EQ(
      Index({DocInput("h1", "Computing <Now> & Later",
                      "Engineers tested computers & \"computation\" rigs."),
             DocInput("h2", "Wing design", "A wnig, two wings & one swing.")})
          .accepted(),
      2u);
  auto search = [&](const std::string& query, bool escape) {
    v1::SearchRequest request;
    request.set_query(query);
    if (escape) {
      request.mutable_highlight_options()->set_pre_tag("<mark>");
      request.mutable_highlight_options()->set_post_tag("</mark>");
      request.mutable_highlight_options()->set_html_escape(true);
    }
    v1::SearchResponse response;
    const grpc::Status s = cluster_->Search(request, &response);
    EXPECT_TRUE(s.ok()) << query << ": " << s.error_message();
    return response;
  };
  auto marked = [](const v1::Snippet& snippet) {
    std::vector<std::string> out;
    for (const v1::Span& span : snippet.spans()) {
      out.push_back(
          snippet.text().substr(span.start(), span.end() - span.start()));
    }
    return out;
  };

  // A prefix marks every term the shard expanded it to, in both fields,
  // with the markers verbatim and the text escaped.
  v1::SearchResponse prefix = search("comput*", /*escape=*/true);
  ASSERT_EQ(prefix.hits_size(), 1) << cluster_->Logs();
  const v1::Hit& h1 = prefix.hits(0);
  EXPECT_EQ(h1.id(), "h1");
  EXPECT_EQ(h1.title_snippet().highlighted(),
            "<mark>Computing</mark> &lt;Now&gt; &amp; Later");
  EXPECT_EQ(h1.snippet().highlighted(),
            "Engineers tested <mark>computers</mark> &amp; "
            "&quot;<mark>computation</mark>&quot; rigs.");
  // Spans stay offsets into the unescaped text.
  EXPECT_EQ(h1.snippet().text(),
            "Engineers tested computers & \"computation\" rigs.");
  EXPECT_THAT(marked(h1.snippet()),
              ::testing::ElementsAre("computers", "computation"));

  // A fuzzy word marks its near spellings with the same first letter, not
  // "swing", which the shard does not match either.
  v1::SearchResponse fuzzy = search("wing~1", /*escape=*/false);
  ASSERT_EQ(fuzzy.hits_size(), 1);
  EXPECT_EQ(fuzzy.hits(0).id(), "h2");
  EXPECT_EQ(fuzzy.hits(0).snippet().highlighted(),
            "A <em>wnig</em>, two <em>wings</em> & one swing.");
  EXPECT_EQ(fuzzy.hits(0).title_snippet().highlighted(),
            "<em>Wing</em> design");
  EXPECT_EQ(search("wing~1", /*escape=*/true).hits(0).snippet().highlighted(),
            "A <mark>wnig</mark>, two <mark>wings</mark> &amp; one swing.");

  // A scope keeps the highlighting to its field.
  v1::SearchResponse scoped = search("title:comput*", /*escape=*/false);
  ASSERT_EQ(scoped.hits_size(), 1);
  EXPECT_EQ(scoped.hits(0).title_snippet().highlighted(),
            "<em>Computing</em> <Now> & Later");
  EXPECT_EQ(scoped.hits(0).snippet().spans_size(), 0);

  // Bad markers are refused, naming the field.
  v1::SearchRequest bad;
  bad.set_query("comput*");
  bad.mutable_highlight_options()->set_pre_tag(std::string(65, 'x'));
  v1::SearchResponse response;
  const grpc::Status s = cluster_->Search(bad, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("highlight_options.pre_tag"));
}

TEST_F(SmallClusterTest, PlainTextArticleFromTheSample) {
  auto text = ReadSharedFile("samples/news-article.txt");
  if (!text.ok()) GTEST_SKIP() << text.status().message();
  v1::DocumentInput in;
  in.mutable_article()->set_id("news-article.txt");
  in.mutable_article()->set_text(*text);
  ASSERT_EQ(Index({in, DocInput("other", "Rights of way",
                                "Hikers and the human condition.")})
                .accepted(),
            2u);
  v1::SearchResponse r = MustSearch(*cluster_, "human rights");
  ASSERT_GE(r.hits_size(), 1);
  EXPECT_EQ(r.hits(0).id(), "news-article.txt");
  EXPECT_THAT(r.hits(0).title(), HasSubstr("Safeguarding Human Rights"));
  EXPECT_EQ(r.hits(0).source(), "en.humanrights.cn");
  EXPECT_EQ(r.hits(0).published_at().seconds(), 1613952000);  // 2021-02-22
}

TEST(RestartTest, AcknowledgedDocumentsSurviveKillAndRestart) {
  auto inputs = CranfieldInputs();
  if (!inputs.ok()) GTEST_SKIP() << inputs.status().message();
  TempDir dir;
  auto cluster = Cluster::Start(2, dir.path());
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  Cluster& c = **cluster;
  SIFT_ASSERT_OK_AND_ASSIGN(const int accepted, IndexAll(c, *inputs));
  ASSERT_EQ(accepted, 1400);
  const std::vector<std::string> before = [&] {
    std::vector<std::string> ids;
    const v1::SearchResponse r = MustSearch(c, "boundary layer flow", 50);
    for (const auto& h : r.hits()) ids.push_back(h.id());
    return ids;
  }();
  // A crash right after the acknowledgement, and a clean stop.
  c.StopShard(0, SIGKILL);
  c.StopShard(1, SIGTERM);
  ASSERT_TRUE(c.StartShard(0).ok()) << c.Logs();
  ASSERT_TRUE(c.StartShard(1).ok()) << c.Logs();
  // The coordinator reconnects on its own.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(DocumentCount(c), 1400u) << c.Logs();
  std::vector<std::string> after;
  const v1::SearchResponse r = MustSearch(c, "boundary layer flow", 50);
  for (const auto& h : r.hits()) after.push_back(h.id());
  EXPECT_EQ(before, after);
}

TEST(PartialResultsTest, AShardDownIsReportedNotHidden) {
  TempDir dir;
  auto cluster = Cluster::Start(2, dir.path());
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  Cluster& c = **cluster;
  std::vector<v1::DocumentInput> docs;
  for (int i = 0; i < 20; ++i) {
    docs.push_back(DocInput(absl::StrCat("d", i), "Shared title",
                            "glacier retreat measurements"));
  }
  SIFT_ASSERT_OK_AND_ASSIGN(const int accepted, IndexAll(c, docs));
  ASSERT_EQ(accepted, 20);
  c.StopShard(1, SIGKILL);
  v1::SearchRequest request;
  request.set_query("glacier");
  v1::SearchResponse response;
  grpc::Status s = c.Search(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(response.partial());
  EXPECT_EQ(response.shard_errors_size(), 1);
  EXPECT_GT(response.total_hits(), 0u);
  EXPECT_LT(response.total_hits(), 20u);

  // Writes to the missing shard fail with UNAVAILABLE once the deadline
  // passes, and are not reported as accepted.
  v1::IndexRequest index;
  for (int i = 0; i < 20; ++i) {
    *index.add_documents() = DocInput(absl::StrCat("n", i), "t", "glacier");
  }
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(2)));
  v1::IndexResponse indexed;
  grpc::Status is = c.ingest().Index(&context, index, &indexed);
  if (is.ok()) {
    EXPECT_LT(indexed.accepted(), 20u);
    for (const auto& result : indexed.results()) {
      EXPECT_THAT(
          result.code(),
          ::testing::AnyOf(grpc::StatusCode::OK, grpc::StatusCode::UNAVAILABLE,
                           grpc::StatusCode::DEADLINE_EXCEEDED));
    }
  } else {
    EXPECT_EQ(is.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
}

TEST(RetryTest, IngestWaitsForAShardThatComesBack) {
  TempDir dir;
  auto cluster = Cluster::Start(1, dir.path());
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  Cluster& c = **cluster;
  c.StopShard(0, SIGTERM);
  std::thread restarter([&c] {
    absl::SleepFor(absl::Milliseconds(700));
    EXPECT_TRUE(c.StartShard(0).ok());
  });
  v1::IndexRequest index;
  *index.add_documents() = DocInput("late", "Late arrival", "patience");
  grpc::ClientContext context;
  context.set_deadline(DeadlineIn(absl::Seconds(20)));
  v1::IndexResponse indexed;
  grpc::Status s = c.ingest().Index(&context, index, &indexed);
  restarter.join();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(indexed.accepted(), 1u) << c.Logs();
  EXPECT_EQ(MustSearch(c, "patience").total_hits(), 1u);
}

// Runs siftctl against `cluster`; returns its exit status and stdout.
std::pair<int, std::string> RunSiftctl(Cluster& cluster,
                                       const std::string& args) {
  const std::string command =
      absl::StrCat("SIFT_QUERY_ADDR=", cluster.query_address(),
                   " SIFT_INGEST_ADDR=", cluster.ingest_address(), " ",
                   SIFT_BIN_DIR, "/siftctl ", args, " 2>/dev/null");
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    out.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(SiftctlTest, IngestsTheSampleArticleAndFindsItFirst) {
  const std::string article =
      std::string(SIFT_SHARED_DIR) + "/samples/news-article.txt";
  if (access(article.c_str(), R_OK) != 0) {
    GTEST_SKIP() << article << " is missing (the shared folder beside the "
                 << "repository)";
  }
  TempDir dir;
  auto cluster = Cluster::Start(1, dir.path());
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  Cluster& c = **cluster;
  auto [ingest_status, ingest_out] =
      RunSiftctl(c, absl::StrCat("ingest ", article, " ", SIFT_SOURCE_DIR,
                                 "/samples/articles"));
  EXPECT_EQ(ingest_status, 0) << ingest_out << c.Logs();
  EXPECT_THAT(ingest_out, HasSubstr("accepted 6, rejected 0"));

  auto [search_status, json] = RunSiftctl(c, "search \"human rights\" --json");
  ASSERT_EQ(search_status, 0) << json;
  EXPECT_THAT(json, HasSubstr("\"total_hits\""));
  EXPECT_THAT(json, HasSubstr("\"hits\""));
  const size_t first_id = json.find("\"id\"");
  ASSERT_NE(first_id, std::string::npos) << json;
  const std::string expected_first = "\"id\": \"news-article.txt\"";
  EXPECT_EQ(json.substr(first_id, expected_first.size()), expected_first)
      << json;
  EXPECT_THAT(json, HasSubstr("en.humanrights.cn"));
  EXPECT_THAT(json, HasSubstr("2021-02-22"));

  auto [table_status, table] = RunSiftctl(c, "search \"human rights\"");
  EXPECT_EQ(table_status, 0);
  EXPECT_THAT(table, HasSubstr("2021-02-22"));
  EXPECT_THAT(table, HasSubstr("en.humanrights.cn"));

  // A rejected document makes the exit status non-zero.
  const std::string bad = dir.path() + "/bad.jsonl";
  FILE* f = fopen(bad.c_str(), "w");
  fputs("{\"id\": \"\", \"title\": \"no id\"}\n", f);
  fclose(f);
  auto [bad_status, bad_out] = RunSiftctl(c, "ingest " + bad);
  EXPECT_EQ(bad_status, 1) << bad_out;
  EXPECT_THAT(bad_out, HasSubstr("rejected 1"));
}

}  // namespace
}  // namespace sift::testing
