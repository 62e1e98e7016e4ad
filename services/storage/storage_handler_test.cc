#include "services/storage/storage_handler.h"

#include <cmath>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/segment_index.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::AppendRawTerm;
using ::sift::storage::testing::Bool;
using ::sift::storage::testing::DateRange;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::Phrase;
using ::sift::storage::testing::Prefix;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::TempDir;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

MATCHER_P(InvalidArgumentAbout, field, "") {
  return ::testing::ExplainMatchResult(
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)), arg,
      result_listener);
}

TEST(ValidateWriteRequestTest, AcceptsAWellFormedRequest) {
  EXPECT_THAT(ValidateWriteRequest(WriteOf({Upsert({.id = "a",
                                                    .title = "t",
                                                    .body = "b c",
                                                    .tags = {"x"},
                                                    .published_seconds = 1}),
                                            Delete("b")})),
              IsOk());
}

TEST(ValidateWriteRequestTest, LimitsTheNumberOfOps) {
  v1::WriteRequest request;
  for (int i = 0; i <= kMaxWriteOps; ++i) *request.add_ops() = Delete("x");
  EXPECT_THAT(ValidateWriteRequest(request), InvalidArgumentAbout("ops"));
  request.mutable_ops()->RemoveLast();
  EXPECT_THAT(ValidateWriteRequest(request), IsOk());
}

TEST(ValidateWriteRequestTest, NamesTheBadIdOrTerm) {
  EXPECT_THAT(ValidateWriteRequest(WriteOf({Delete("ok"), Delete("")})),
              InvalidArgumentAbout("ops[1].delete_id"));
  EXPECT_THAT(ValidateWriteRequest(
                  WriteOf({Upsert({.id = std::string(kMaxIdBytes + 1, 'x')})})),
              InvalidArgumentAbout("ops[0].upsert.document.id"));
  EXPECT_THAT(ValidateWriteRequest(
                  WriteOf({Upsert({.id = std::string(kMaxIdBytes, 'x')})})),
              IsOk());

  v1::WriteOp op = Upsert({.id = "a", .body = "fine"});
  AppendRawTerm(op.mutable_upsert()->mutable_body(), "");
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.body.vocabulary[1]"));
  op = Upsert({.id = "a"});
  AppendRawTerm(op.mutable_upsert()->mutable_title(), std::string("a\0b", 3));
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.title.vocabulary[0]"));
  op = Upsert({.id = "a"});
  AppendRawTerm(op.mutable_upsert()->mutable_title(),
                std::string(kMaxTermBytes + 1, 'x'));
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("must be at most 256 bytes"));
  // A position naming a term the vocabulary does not have.
  op = Upsert({.id = "a", .body = "two words"});
  op.mutable_upsert()->mutable_body()->add_term_ids(2);
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.body.term_ids[2]"));
}

TEST(ValidateWriteRequestTest, RejectsEmptyOpsAndBadValues) {
  v1::WriteRequest request;
  request.add_ops();
  EXPECT_THAT(ValidateWriteRequest(request), InvalidArgumentAbout("ops[0]"));

  v1::WriteOp op = Upsert({.id = "a"});
  op.mutable_upsert()->mutable_document()->mutable_published_at()->set_nanos(
      -1);
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.document.published_at"));
  EXPECT_THAT(ValidateWriteRequest(WriteOf({Upsert(
                  {.id = "a",
                   .tags = {"ok", std::string(kMaxKeywordBytes + 1, 't')}})})),
              InvalidArgumentAbout("ops[0].upsert.document.tags[1]"));
}

TEST(ValidateFetchRequestTest, NamesTheBadId) {
  v1::FetchRequest fetch;
  fetch.add_ids("ok");
  fetch.add_ids(std::string(kMaxIdBytes + 1, 'x'));
  EXPECT_THAT(ValidateFetchRequest(fetch), InvalidArgumentAbout("ids[1]"));
}

TEST(StorageHandlerTest, InvalidWriteAppliesNothing) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.path(), IndexOptions());
  ASSERT_THAT(index, IsOk());
  StorageHandler handler(index->get());
  EXPECT_THAT(
      handler.Write(WriteOf({Upsert({.id = "good", .body = "x"}), Delete("")})),
      InvalidArgumentAbout("ops[1].delete_id"));
  EXPECT_EQ((*index)->DocCount(), 0u);
  ASSERT_THAT(handler.Write(WriteOf({Upsert({.id = "good", .body = "x"})})),
              IsOk());
  auto found = handler.Search(SearchFor(Term("x")));
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->total_hits(), 1u);
  EXPECT_THAT(handler.Search(SearchFor(Term("x"), kMaxSearchLimit + 1)),
              InvalidArgumentAbout("limit"));
}

// With shard_stats the shard scores with its own statistics, which it
// returns, exactly as with those statistics sent; it returns the documents
// of the ranks asked for with the hits.
TEST(StorageHandlerTest, ASearchCanCarryItsStatisticsAndDocuments) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.path(), IndexOptions());
  ASSERT_THAT(index, IsOk());
  StorageHandler handler(index->get());
  for (int i = 0; i < 12; ++i) {
    std::string body = "common";
    for (int j = 0; j < i % 4; ++j) body += " rare";
    ASSERT_THAT(
        handler.Write(WriteOf({Upsert(
            {.id = absl::StrCat("d", i), .title = "t", .body = body})})),
        IsOk());
  }
  v1::ShardSearchRequest request =
      SearchFor(Bool({Term("common"), Term("rare")}, {}), 5);
  v1::GlobalStats* stats = request.mutable_stats();
  stats->add_terms()->set_term("common");
  stats->add_terms()->set_term("rare");
  stats->add_doc_freqs(0);
  stats->add_doc_freqs(0);
  request.set_shard_stats(true);
  request.set_documents_from(1);
  request.set_documents_count(3);
  auto own = handler.Search(request);
  ASSERT_THAT(own, IsOk());
  ASSERT_TRUE(own->has_stats());
  EXPECT_EQ(own->stats().doc_count(), 12u);
  ASSERT_EQ(own->stats().doc_freqs_size(), 2);
  EXPECT_EQ(own->stats().doc_freqs(0), 12u);
  EXPECT_EQ(own->stats().doc_freqs(1), 9u);

  v1::StatsRequest stats_request;
  *stats_request.mutable_terms() = request.stats().terms();
  auto shard_stats = handler.Stats(stats_request);
  ASSERT_THAT(shard_stats, IsOk());
  v1::ShardSearchRequest sent = request;
  sent.set_shard_stats(false);
  sent.set_documents_count(0);
  sent.mutable_stats()->set_doc_count(shard_stats->doc_count());
  sent.mutable_stats()->set_total_title_terms(shard_stats->total_title_terms());
  sent.mutable_stats()->set_total_body_terms(shard_stats->total_body_terms());
  sent.mutable_stats()->set_doc_freqs(0, shard_stats->doc_freqs(0));
  sent.mutable_stats()->set_doc_freqs(1, shard_stats->doc_freqs(1));
  auto given = handler.Search(sent);
  ASSERT_THAT(given, IsOk());
  EXPECT_FALSE(given->has_stats());
  EXPECT_EQ(given->documents_size(), 0);
  ASSERT_EQ(own->hits_size(), 5);
  ASSERT_EQ(given->hits_size(), 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(own->hits(i).id(), given->hits(i).id());
    EXPECT_DOUBLE_EQ(own->hits(i).score(), given->hits(i).score());
  }
  ASSERT_EQ(own->documents_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(own->documents(i).id(), own->hits(i + 1).id());
    EXPECT_TRUE(own->documents(i).found());
    EXPECT_EQ(own->documents(i).document().id(), own->hits(i + 1).id());
  }

  request.set_documents_count(kMaxFetchIds + 1);
  EXPECT_THAT(handler.Search(request), InvalidArgumentAbout("documents_count"));
}

// A coordinator that kept a shard's statistics names their version: the
// shard searches only while its statistics are still of that version, and
// otherwise answers them as they are now, searching nothing.
TEST(StorageHandlerTest, ASearchWithStatisticsOfAnotherVersionIsAnsweredStale) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.path(), IndexOptions());
  ASSERT_THAT(index, IsOk());
  StorageHandler handler(index->get());
  ASSERT_THAT(handler.Write(WriteOf({Upsert({.id = "a", .body = "oil gas"}),
                                     Upsert({.id = "b", .body = "oil"})})),
              IsOk());
  v1::StatsRequest stats_request;
  stats_request.add_terms()->set_term("oil");
  auto before = handler.Stats(stats_request);
  ASSERT_THAT(before, IsOk());
  EXPECT_NE(before->stats_version(), 0u);
  // No change, no new version.
  auto again = handler.Stats(stats_request);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->stats_version(), before->stats_version());

  v1::ShardSearchRequest request = SearchFor(Term("oil"), 5);
  v1::GlobalStats* stats = request.mutable_stats();
  *stats->mutable_terms() = stats_request.terms();
  stats->add_doc_freqs(before->doc_freqs(0));
  stats->set_doc_count(before->doc_count());
  stats->set_total_body_terms(before->total_body_terms());
  request.set_stats_version(before->stats_version());
  auto current = handler.Search(request);
  ASSERT_THAT(current, IsOk());
  EXPECT_FALSE(current->stale_stats());
  EXPECT_EQ(current->hits_size(), 2);

  ASSERT_THAT(handler.Write(WriteOf({Upsert({.id = "c", .body = "oil"})})),
              IsOk());
  auto stale = handler.Search(request);
  ASSERT_THAT(stale, IsOk());
  EXPECT_TRUE(stale->stale_stats());
  EXPECT_EQ(stale->hits_size(), 0);
  EXPECT_EQ(stale->total_hits(), 0u);
  auto after = handler.Stats(stats_request);
  ASSERT_THAT(after, IsOk());
  EXPECT_NE(after->stats_version(), before->stats_version());
  EXPECT_EQ(stale->stats_version(), after->stats_version());
  EXPECT_EQ(stale->stats().doc_count(), 3u);
  ASSERT_EQ(stale->stats().doc_freqs_size(), 1);
  EXPECT_EQ(stale->stats().doc_freqs(0), 3u);
  EXPECT_EQ(stale->stats().terms(0).term(), "oil");
  EXPECT_EQ(stale->stats().total_body_terms(), after->total_body_terms());

  // Checking the coordinator's statistics and scoring with the shard's own
  // contradict each other.
  request.set_shard_stats(true);
  EXPECT_THAT(handler.Search(request), InvalidArgumentAbout("stats_version"));
}

TEST(StorageHandlerTest, HitsComeAsViewsWithSnippetsMadeHere) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.path(), IndexOptions());
  ASSERT_THAT(index, IsOk());
  StorageHandler handler(index->get());
  ASSERT_THAT(handler.Write(WriteOf({Upsert(
                  {.id = "a",
                   .title = "Copper climbs",
                   .body = "Mines reported strikes. Copper rose again as "
                           "stocks fell in London and Shanghai.",
                   .source = "wire",
                   .tags = {"metals", "markets"},
                   .published_seconds = 536457600})})),
              IsOk());
  // The test's writes split words on spaces, as they are.
  v1::ShardSearchRequest request = SearchFor(Term("rose"), 5);
  request.set_documents_count(5);
  v1::HitViewRequest* view = request.mutable_view();
  view->set_highlight(true);
  view->mutable_title()->add_terms("copper");
  view->mutable_body()->add_terms("copper");
  view->set_fragment_bytes(32);
  view->set_pre_tag("[");
  view->set_post_tag("]");
  auto found = handler.Search(request);
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->documents_size(), 0);
  ASSERT_EQ(found->views_size(), 1);
  const v1::HitView& hit = found->views(0);
  EXPECT_EQ(hit.id(), "a");
  EXPECT_TRUE(hit.found());
  EXPECT_EQ(hit.title(), "Copper climbs");
  EXPECT_EQ(hit.title_snippet().highlighted(), "[Copper] climbs");
  EXPECT_THAT(hit.snippet().highlighted(), HasSubstr("[Copper] rose"));
  EXPECT_LT(hit.snippet().text().size(), 50u);

  v1::FetchRequest fetch;
  fetch.add_ids("a");
  fetch.add_ids("gone");
  fetch.mutable_view()->set_highlight(false);
  auto fetched = handler.Fetch(fetch);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_EQ(fetched->results_size(), 0);
  ASSERT_EQ(fetched->views_size(), 2);
  // Without highlights the body is not read (it is stored apart), and
  // every field a hit shows is still there.
  EXPECT_EQ(fetched->views(0).title(), "Copper climbs");
  EXPECT_EQ(fetched->views(0).source(), "wire");
  EXPECT_THAT(fetched->views(0).tags(), ElementsAre("metals", "markets"));
  EXPECT_EQ(fetched->views(0).published_at().seconds(), 536457600);
  EXPECT_FALSE(fetched->views(0).has_snippet());
  EXPECT_EQ(fetched->views(1).id(), "gone");
  EXPECT_FALSE(fetched->views(1).found());
  // A fetch of documents as they are (a Get) has the body.
  v1::FetchRequest whole;
  whole.add_ids("a");
  auto document = handler.Fetch(whole);
  ASSERT_THAT(document, IsOk());
  ASSERT_EQ(document->results_size(), 1);
  EXPECT_EQ(document->results(0).document().body(),
            "Mines reported strikes. Copper rose again as stocks fell in "
            "London and Shanghai.");
  EXPECT_EQ(document->results(0).document().source(), "wire");

  view->set_fragment_bytes(1 << 20);
  EXPECT_THAT(handler.Search(request),
              InvalidArgumentAbout("view.fragment_bytes"));
  *fetch.mutable_view() = *view;
  EXPECT_THAT(handler.Fetch(fetch),
              InvalidArgumentAbout("view.fragment_bytes"));
}

}  // namespace
}  // namespace sift::storage
