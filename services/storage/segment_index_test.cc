#include "services/storage/segment_index.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/segment/search.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::AppendRawTerm;
using ::sift::storage::testing::Bool;
using ::sift::storage::testing::DateRange;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::DocSpec;
using ::sift::storage::testing::Fuzzy;
using ::sift::storage::testing::HitIds;
using ::sift::storage::testing::MatchAll;
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
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// Where the documents of a test live when it searches: every behaviour
// must be the same in memory segments, in flushed ones and after merges.
enum class Layout { kMemory, kFlushedPerWrite };

std::string LayoutName(const ::testing::TestParamInfo<Layout>& info) {
  return info.param == Layout::kMemory ? "Memory" : "Flushed";
}

class SegmentIndexTest : public ::testing::TestWithParam<Layout> {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    index_.reset();
    IndexOptions options;
    options.block_cache_bytes = 8 << 20;
    options.write_buffer_bytes = 8 << 20;
    options.background_work = false;
    auto index = SegmentIndex::Open(dir_.Sub("db"), options);
    ASSERT_THAT(index, IsOk());
    index_ = *std::move(index);
  }

  void Write(std::vector<v1::WriteOp> ops) {
    ASSERT_THAT(index_->Apply(WriteOf(std::move(ops))), IsOk());
    if (GetParam() == Layout::kFlushedPerWrite) {
      ASSERT_THAT(index_->Flush(), IsOk());
    }
  }

  // Document frequencies count deleted documents until their segment is
  // merged; a merge makes them exact.
  void MergeAll() { ASSERT_THAT(index_->ForceMerge(1), IsOk()); }

  v1::ShardSearchResponse Search(const v1::ShardSearchRequest& request) {
    auto response = index_->Search(request);
    EXPECT_THAT(response, IsOk());
    return response.ok() ? *response : v1::ShardSearchResponse();
  }

  std::vector<std::string> Ids(v1::QueryNode query) {
    return HitIds(Search(SearchFor(std::move(query))));
  }

  uint64_t DocFreq(const std::string& term,
                   v1::Field field = v1::FIELD_UNSPECIFIED) {
    v1::StatsRequest request;
    v1::TermRef* ref = request.add_terms();
    ref->set_term(term);
    ref->set_field(field);
    auto stats = index_->Stats(request);
    EXPECT_THAT(stats, IsOk());
    return stats.ok() ? stats->doc_freqs(0) : 0;
  }

  v1::StatsResponse Counters() {
    auto stats = index_->Stats(v1::StatsRequest());
    EXPECT_THAT(stats, IsOk());
    return stats.ok() ? *stats : v1::StatsResponse();
  }

  TempDir dir_;
  std::unique_ptr<SegmentIndex> index_;
};

TEST_P(SegmentIndexTest, UpsertThenFetchReturnsTheStoredDocument) {
  v1::WriteOp op = Upsert({.id = "doc-1",
                           .title = "Hello World",
                           .body = "some body text",
                           .source = "Reuters",
                           .tags = {"EU", "Trade"},
                           .published_seconds = 1700000000});
  v1::Document* d = op.mutable_upsert()->mutable_document();
  d->set_url("https://example.org/1");
  d->set_language("en");
  (*d->mutable_attributes())["desk"] = "Foreign";
  const v1::Document expected = *d;
  auto response = index_->Apply(WriteOf({op}));
  ASSERT_THAT(response, IsOk());
  ASSERT_EQ(response->results_size(), 1);
  EXPECT_FALSE(response->results(0).existed());

  v1::FetchRequest fetch;
  fetch.add_ids("doc-1");
  fetch.add_ids("unknown");
  auto fetched = index_->Fetch(fetch);
  ASSERT_THAT(fetched, IsOk());
  ASSERT_EQ(fetched->results_size(), 2);
  EXPECT_EQ(fetched->results(0).id(), "doc-1");
  EXPECT_TRUE(fetched->results(0).found());
  // Stored as sent: the original casing of source and tags survives.
  EXPECT_EQ(fetched->results(0).document().SerializeAsString(),
            expected.SerializeAsString());
  EXPECT_EQ(fetched->results(1).id(), "unknown");
  EXPECT_FALSE(fetched->results(1).found());
  EXPECT_EQ(index_->DocCount(), 1u);
}

TEST_P(SegmentIndexTest, ReplaceRemovesStalePostings) {
  Write({Upsert({.id = "a", .title = "old title", .body = "stale words"}),
         Upsert({.id = "b", .title = "other", .body = "words"})});
  auto replaced = index_->Apply(
      WriteOf({Upsert({.id = "a", .title = "new title", .body = "fresh"})}));
  ASSERT_THAT(replaced, IsOk());
  EXPECT_TRUE(replaced->results(0).existed());

  EXPECT_THAT(Ids(Term("old")), IsEmpty());
  EXPECT_THAT(Ids(Term("stale")), IsEmpty());
  EXPECT_THAT(Ids(Term("words")), ElementsAre("b"));
  EXPECT_THAT(Ids(Term("new")), ElementsAre("a"));
  EXPECT_THAT(Ids(Term("title")), ElementsAre("a"));
  MergeAll();
  EXPECT_EQ(DocFreq("old"), 0u);
  EXPECT_EQ(DocFreq("words"), 1u);
  EXPECT_EQ(DocFreq("title"), 1u);
  const v1::StatsResponse stats = Counters();
  EXPECT_EQ(stats.doc_count(), 2u);
  EXPECT_EQ(stats.total_title_terms(), 3u);  // "new title" + "other"
  EXPECT_EQ(stats.total_body_terms(), 2u);   // "fresh" + "words"
}

TEST_P(SegmentIndexTest, DeleteRemovesEverythingOfTheDocument) {
  Write({Upsert({.id = "a",
                 .title = "alpha",
                 .body = "shared",
                 .source = "S",
                 .tags = {"t"},
                 .published_seconds = 10}),
         Upsert({.id = "b", .title = "beta", .body = "shared"})});
  auto deleted = index_->Apply(WriteOf({Delete("a"), Delete("never-was")}));
  ASSERT_THAT(deleted, IsOk());
  EXPECT_TRUE(deleted->results(0).existed());
  EXPECT_FALSE(deleted->results(1).existed());

  EXPECT_THAT(Ids(Term("alpha")), IsEmpty());
  EXPECT_THAT(Ids(Term("shared")), ElementsAre("b"));
  EXPECT_THAT(Ids(Term("s", v1::FIELD_SOURCE)), IsEmpty());
  EXPECT_THAT(Ids(MatchAll()), ElementsAre("b"));
  MergeAll();
  EXPECT_EQ(DocFreq("shared"), 1u);
  EXPECT_EQ(DocFreq("t", v1::FIELD_TAG), 0u);
  EXPECT_EQ(Counters().doc_count(), 1u);
  v1::FetchRequest fetch;
  fetch.add_ids("a");
  auto fetched = index_->Fetch(fetch);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_FALSE(fetched->results(0).found());
}

TEST_P(SegmentIndexTest, DuplicateIdsInOneRequestLastWins) {
  auto response = index_->Apply(
      WriteOf({Upsert({.id = "a", .title = "first version"}),
               Upsert({.id = "a", .title = "second"}),
               Upsert({.id = "b", .title = "doomed"}), Delete("b")}));
  ASSERT_THAT(response, IsOk());
  ASSERT_EQ(response->results_size(), 4);
  EXPECT_FALSE(response->results(0).existed());
  EXPECT_TRUE(response->results(1).existed());
  EXPECT_FALSE(response->results(2).existed());
  EXPECT_TRUE(response->results(3).existed());

  EXPECT_THAT(Ids(Term("first")), IsEmpty());
  EXPECT_THAT(Ids(Term("second")), ElementsAre("a"));
  EXPECT_THAT(Ids(Term("doomed")), IsEmpty());
  const v1::StatsResponse stats = Counters();
  EXPECT_EQ(stats.doc_count(), 1u);
  EXPECT_EQ(stats.total_title_terms(), 1u);
  EXPECT_EQ(DocFreq("version"), 0u);
}

TEST_P(SegmentIndexTest, InvalidOperationAppliesNothing) {
  v1::WriteOp bad = Upsert({.id = "bad", .title = "x"});
  AppendRawTerm(bad.mutable_upsert()->mutable_body(), std::string("nul\0", 4));
  EXPECT_THAT(
      index_->Apply(WriteOf({Upsert({.id = "ok", .title = "fine"}), bad})),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("ops[1].upsert.body.vocabulary[0]")));
  v1::WriteOp dangling = Upsert({.id = "dangling", .body = "one"});
  dangling.mutable_upsert()->mutable_body()->add_term_ids(7);
  EXPECT_THAT(index_->Apply(WriteOf({dangling})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ops[0].upsert.body.term_ids[1]: term id 7 "
                                 "is past the vocabulary of 1 terms")));
  EXPECT_EQ(index_->DocCount(), 0u);
  EXPECT_THAT(Ids(Term("fine")), IsEmpty());
}

class BooleanTest : public SegmentIndexTest {
 protected:
  void SetUp() override {
    SegmentIndexTest::SetUp();
    Write({Upsert({.id = "ab", .body = "apple banana"}),
           Upsert({.id = "a", .body = "apple"}),
           Upsert({.id = "b", .body = "banana"}),
           Upsert({.id = "c", .body = "cherry"}),
           Upsert({.id = "bc", .body = "banana cherry"})});
  }
};

TEST_P(BooleanTest, MustIsAnd) {
  EXPECT_THAT(Ids(Bool({Term("apple"), Term("banana")})), ElementsAre("ab"));
}

TEST_P(BooleanTest, ShouldIsOr) {
  EXPECT_THAT(Ids(Bool({}, {Term("apple"), Term("cherry")})),
              UnorderedElementsAre("ab", "a", "c", "bc"));
}

TEST_P(BooleanTest, MustNotExcludes) {
  EXPECT_THAT(Ids(Bool({Term("banana")}, {}, {Term("apple")})),
              UnorderedElementsAre("b", "bc"));
}

TEST_P(BooleanTest, ShouldOnlyAddsScoreWhenThereIsAMust) {
  auto response = Search(SearchFor(Bool({Term("banana")}, {Term("apple")})));
  // Every banana document matches; the one with apple ranks first.
  ASSERT_EQ(response.hits_size(), 3);
  EXPECT_EQ(response.hits(0).id(), "ab");
  EXPECT_GT(response.hits(0).score(), response.hits(1).score());
}

TEST_P(BooleanTest, NestedBoolean) {
  // (apple OR cherry) AND NOT (banana AND cherry)
  EXPECT_THAT(Ids(Bool({Bool({}, {Term("apple"), Term("cherry")})}, {},
                       {Bool({Term("banana"), Term("cherry")})})),
              UnorderedElementsAre("ab", "a", "c"));
}

TEST_P(BooleanTest, MustNotOnlyNeedsMatchAll) {
  EXPECT_THAT(Ids(Bool({MatchAll()}, {}, {Term("banana")})),
              UnorderedElementsAre("a", "c"));
  // Without a must or should clause nothing is positively matched.
  EXPECT_THAT(Ids(Bool({}, {}, {Term("banana")})), IsEmpty());
  auto all = Search(SearchFor(MatchAll()));
  EXPECT_EQ(all.total_hits(), 5u);
  for (const v1::ShardHit& hit : all.hits()) EXPECT_EQ(hit.score(), 0.0);
}

class PhraseTest : public SegmentIndexTest {
 protected:
  void SetUp() override {
    SegmentIndexTest::SetUp();
    Write({Upsert({.id = "exact", .body = "the quick brown fox"}),
           Upsert({.id = "gap1", .body = "quick red brown fox"}),
           Upsert({.id = "gap3", .body = "quick and the red brown"}),
           Upsert({.id = "reversed", .body = "brown quick"}),
           Upsert({.id = "split", .title = "a quick", .body = "brown bear"}),
           Upsert({.id = "intitle", .title = "quick brown", .body = "x"})});
  }
};

TEST_P(PhraseTest, ExactPhraseNeedsAdjacentTermsInOrder) {
  EXPECT_THAT(Ids(Phrase("quick brown")),
              UnorderedElementsAre("exact", "intitle"));
  EXPECT_THAT(Ids(Phrase("quick brown fox")), ElementsAre("exact"));
}

TEST_P(PhraseTest, SlopAllowsWordsBetweenButKeepsOrder) {
  EXPECT_THAT(Ids(Phrase("quick brown", 1)),
              UnorderedElementsAre("exact", "intitle", "gap1"));
  EXPECT_THAT(Ids(Phrase("quick brown", 3)),
              UnorderedElementsAre("exact", "intitle", "gap1", "gap3"));
  EXPECT_THAT(Ids(Phrase("brown quick", 10)), ElementsAre("reversed"));
}

TEST_P(PhraseTest, NeverSpansTitleAndBody) {
  // "split" has "quick" ending the title and "brown" starting the body.
  EXPECT_THAT(Ids(Phrase("quick brown", 5)),
              ::testing::Not(::testing::Contains("split")));
}

TEST_P(PhraseTest, FieldScopedPhrase) {
  EXPECT_THAT(Ids(Phrase("quick brown", 0, v1::FIELD_TITLE)),
              ElementsAre("intitle"));
  EXPECT_THAT(Ids(Phrase("quick brown", 0, v1::FIELD_BODY)),
              ElementsAre("exact"));
}

TEST_P(SegmentIndexTest, FieldScopedTerms) {
  Write({Upsert({.id = "t", .title = "budget", .body = "numbers"}),
         Upsert({.id = "b", .title = "numbers", .body = "budget"})});
  EXPECT_THAT(Ids(Term("budget", v1::FIELD_TITLE)), ElementsAre("t"));
  EXPECT_THAT(Ids(Term("budget", v1::FIELD_BODY)), ElementsAre("b"));
  EXPECT_THAT(Ids(Term("budget")), UnorderedElementsAre("t", "b"));
  EXPECT_EQ(DocFreq("budget", v1::FIELD_TITLE), 1u);
  EXPECT_EQ(DocFreq("budget", v1::FIELD_BODY), 1u);
  EXPECT_EQ(DocFreq("budget"), 2u);
}

TEST_P(SegmentIndexTest, PrefixMatchesEveryTermThatStartsWithIt) {
  Write({Upsert({.id = "a", .title = "computer science", .body = "x"}),
         Upsert({.id = "b", .title = "y", .body = "computing power"})});
  Write({Upsert({.id = "c", .title = "compute", .body = "compute compute"}),
         Upsert({.id = "d", .title = "company", .body = "comp"}),
         Upsert({.id = "e", .source = "Reuters", .tags = {"Computing"}})});
  // Every match scores the same constant, so ties go by id.
  EXPECT_THAT(Ids(Prefix("comput")), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Ids(Prefix("comput", v1::FIELD_TITLE)), ElementsAre("a", "c"));
  EXPECT_THAT(Ids(Prefix("comput", v1::FIELD_BODY)), ElementsAre("b", "c"));
  EXPECT_THAT(Ids(Prefix("comp")), ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(Ids(Prefix("reu", v1::FIELD_SOURCE)), ElementsAre("e"));
  EXPECT_THAT(Ids(Prefix("COMP", v1::FIELD_TAG)), ElementsAre("e"));
  EXPECT_THAT(Ids(Prefix("zzz")), IsEmpty());
  EXPECT_THAT(Ids(Prefix("computers")), IsEmpty());

  const v1::ShardSearchResponse alone = Search(SearchFor(Prefix("comput")));
  ASSERT_EQ(alone.hits_size(), 3);
  for (const v1::ShardHit& hit : alone.hits()) EXPECT_EQ(hit.score(), 1.0);
  // Beside a term, a matching prefix adds its constant to the term's score.
  const v1::ShardSearchResponse both =
      Search(SearchFor(Bool({Term("power")}, {Prefix("comput")})));
  const v1::ShardSearchResponse term = Search(SearchFor(Term("power")));
  ASSERT_EQ(both.hits_size(), 1);
  ASSERT_EQ(term.hits_size(), 1);
  EXPECT_DOUBLE_EQ(both.hits(0).score(), term.hits(0).score() + 1.0);
  EXPECT_THAT(Ids(Bool({MatchAll()}, {}, {Prefix("comput")})),
              ElementsAre("d", "e"));

  Write({Delete("a")});
  EXPECT_THAT(Ids(Prefix("comput")), ElementsAre("b", "c"));
}

TEST_P(SegmentIndexTest, FuzzyMatchesTermsWithinTheEditsSharingTheFirstLetter) {
  Write({Upsert({.id = "a", .title = "wing", .body = "x"}),
         Upsert({.id = "b", .title = "y", .body = "wings"})});
  Write({Upsert({.id = "c", .title = "wnig", .body = "z"}),   // transposed
         Upsert({.id = "d", .title = "swing", .body = "z"}),  // other start
         Upsert({.id = "e", .title = "wigwam", .body = "z"}),
         Upsert({.id = "f", .title = "king", .body = "z"})});
  EXPECT_THAT(Ids(Fuzzy("wing", 1)), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Ids(Fuzzy("wing", 1, v1::FIELD_TITLE)), ElementsAre("a", "c"));
  EXPECT_THAT(Ids(Fuzzy("wing", 1, v1::FIELD_BODY)), ElementsAre("b"));
  EXPECT_THAT(Ids(Fuzzy("wigwa", 1)), ElementsAre("e"));
  EXPECT_THAT(Ids(Fuzzy("wingwa", 2)), ElementsAre("a", "b", "e"));
  EXPECT_THAT(Ids(Fuzzy("qing", 2)), IsEmpty());
  const v1::ShardSearchResponse near = Search(SearchFor(Fuzzy("wing", 2)));
  ASSERT_EQ(near.hits_size(), 3);  // not king (k), swing (s), wigwam (3)
  for (const v1::ShardHit& hit : near.hits()) EXPECT_EQ(hit.score(), 1.0);
  v1::ShardSearchRequest bad = SearchFor(Fuzzy("wing", 3));
  EXPECT_THAT(index_->Search(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("query.fuzzy.max_edits: must be 1 or 2")));
}

TEST_P(SegmentIndexTest, APrefixOfTooManyTermsIsRefused) {
  std::string body;
  for (size_t i = 0; i <= segment::kMaxPrefixTerms; ++i) {
    absl::StrAppend(&body, "t", i, " ");
  }
  Write({Upsert({.id = "many", .body = body})});
  EXPECT_THAT(index_->Search(SearchFor(Prefix("t"))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the prefix 't*' matches more than 10000 "
                                 "terms; make it longer")));
  EXPECT_THAT(Ids(Prefix("t9999")), ElementsAre("many"));
}

TEST_P(SegmentIndexTest, KeywordTermsMatchCaseInsensitively) {
  Write({Upsert({.id = "r",
                 .body = "x",
                 .source = "Reuters",
                 .tags = {"Climate Change", "EU"}}),
         Upsert({.id = "a", .body = "x", .source = "AP", .tags = {"eu"}})});
  EXPECT_THAT(Ids(Term("reuters", v1::FIELD_SOURCE)), ElementsAre("r"));
  EXPECT_THAT(Ids(Term("REUTERS", v1::FIELD_SOURCE)), ElementsAre("r"));
  EXPECT_THAT(Ids(Term("climate change", v1::FIELD_TAG)), ElementsAre("r"));
  EXPECT_THAT(Ids(Term("Eu", v1::FIELD_TAG)), UnorderedElementsAre("r", "a"));
  // A keyword matches the whole value, not a word of it.
  EXPECT_THAT(Ids(Term("climate", v1::FIELD_TAG)), IsEmpty());
  EXPECT_EQ(DocFreq("EU", v1::FIELD_TAG), 2u);
  EXPECT_EQ(DocFreq("ap", v1::FIELD_SOURCE), 1u);
}

TEST_P(SegmentIndexTest, NulInAKeywordValueReadsAsASpace) {
  const std::string source("Big\0Paper", 9);
  Write({Upsert({.id = "n", .body = "x", .source = source})});
  EXPECT_THAT(Ids(Term("big paper", v1::FIELD_SOURCE)), ElementsAre("n"));
  EXPECT_THAT(Ids(Term(source, v1::FIELD_SOURCE)), ElementsAre("n"));
  v1::FetchRequest fetch;
  fetch.add_ids("n");
  auto fetched = index_->Fetch(fetch);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_EQ(fetched->results(0).document().source(), source);
}

class FilterTest : public SegmentIndexTest {
 protected:
  void SetUp() override {
    SegmentIndexTest::SetUp();
    Write({Upsert({.id = "1",
                   .body = "news",
                   .source = "Reuters",
                   .tags = {"eu", "trade"},
                   .published_seconds = 100}),
           Upsert({.id = "2",
                   .body = "news",
                   .source = "AP",
                   .tags = {"eu"},
                   .published_seconds = 200}),
           Upsert({.id = "3",
                   .body = "news",
                   .source = "BBC",
                   .tags = {"trade"},
                   .published_seconds = 300}),
           Upsert({.id = "4",
                   .body = "news",
                   .source = "Reuters",
                   .tags = {"eu", "trade"}})});
  }

  std::vector<std::string> Filtered(const v1::Filters& filters) {
    v1::ShardSearchRequest request = SearchFor(Term("news"));
    *request.mutable_filters() = filters;
    v1::ShardSearchResponse response = Search(request);
    EXPECT_EQ(response.total_hits(),
              static_cast<uint64_t>(response.hits_size()));
    return HitIds(response);
  }
};

TEST_P(FilterTest, SourcesAreAnyOf) {
  v1::Filters f;
  f.add_sources("reuters");
  f.add_sources("bbc");
  EXPECT_THAT(Filtered(f), UnorderedElementsAre("1", "3", "4"));
}

TEST_P(FilterTest, TagsAreAllOf) {
  v1::Filters f;
  f.add_tags("EU");
  f.add_tags("trade");
  EXPECT_THAT(Filtered(f), UnorderedElementsAre("1", "4"));
}

TEST_P(FilterTest, DateRangeIsFromInclusiveToExclusiveAndSkipsUndated) {
  v1::Filters f;
  f.mutable_published_from()->set_seconds(100);
  f.mutable_published_to()->set_seconds(300);
  EXPECT_THAT(Filtered(f), UnorderedElementsAre("1", "2"));
  v1::Filters from_only;
  from_only.mutable_published_from()->set_seconds(200);
  EXPECT_THAT(Filtered(from_only), UnorderedElementsAre("2", "3"));
  v1::Filters to_only;
  to_only.mutable_published_to()->set_seconds(201);
  EXPECT_THAT(Filtered(to_only), UnorderedElementsAre("1", "2"));
}

TEST_P(FilterTest, FiltersDoNotChangeScores) {
  v1::ShardSearchRequest plain = SearchFor(Term("news"));
  v1::ShardSearchRequest filtered = plain;
  filtered.mutable_filters()->add_sources("AP");
  const v1::ShardSearchResponse unfiltered = Search(plain);
  ASSERT_EQ(unfiltered.hits_size(), 4);
  const double unfiltered_score = unfiltered.hits(1).score();
  const v1::ShardSearchResponse response = Search(filtered);
  ASSERT_EQ(response.hits_size(), 1);
  EXPECT_EQ(response.hits(0).score(), unfiltered_score);
}

TEST_P(FilterTest, SortsByDateWithUndatedLast) {
  Write({Upsert({.id = "0", .body = "news"}),
         Upsert({.id = "5", .body = "news", .published_seconds = 200})});
  v1::ShardSearchRequest request = SearchFor(Term("news"));
  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  v1::ShardSearchResponse response = Search(request);
  EXPECT_THAT(HitIds(response), ElementsAre("3", "2", "5", "1", "0", "4"));
  EXPECT_EQ(response.hits(0).published_at().seconds(), 300);
  EXPECT_FALSE(response.hits(5).has_published_at());

  request.set_sort(v1::SORT_ORDER_PUBLISHED_ASC);
  EXPECT_THAT(HitIds(Search(request)),
              ElementsAre("1", "2", "5", "3", "0", "4"));
  request.set_limit(3);
  EXPECT_THAT(HitIds(Search(request)), ElementsAre("1", "2", "5"));
  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  EXPECT_THAT(HitIds(Search(request)), ElementsAre("3", "2", "5"));
}

// Documents dated 100, 200, 250.5 and 300 (seconds since the epoch) and
// one without a date.
class DateRangeTest : public SegmentIndexTest {
 protected:
  void SetUp() override {
    SegmentIndexTest::SetUp();
    Write(
        {Upsert({.id = "d100", .body = "cocoa", .published_seconds = 100}),
         Upsert(
             {.id = "d200", .body = "cocoa coffee", .published_seconds = 200}),
         Upsert({.id = "d250",
                 .body = "tea",
                 .published_seconds = 250,
                 .published_nanos = 500}),
         Upsert({.id = "d300", .body = "coffee", .published_seconds = 300}),
         Upsert({.id = "undated", .body = "cocoa coffee"})});
  }

  double ScoreOf(const v1::ShardSearchResponse& response,
                 const std::string& id) {
    for (const v1::ShardHit& hit : response.hits()) {
      if (hit.id() == id) return hit.score();
    }
    ADD_FAILURE() << id << " not found";
    return -1;
  }
};

TEST_P(DateRangeTest, AloneMatchesDatedDocumentsInRangeWithScoreZero) {
  const v1::ShardSearchResponse response =
      Search(SearchFor(DateRange(100, 300)));
  // Equal scores order by id.
  EXPECT_THAT(HitIds(response), ElementsAre("d100", "d200", "d250"));
  EXPECT_EQ(response.total_hits(), 3u);
  for (const v1::ShardHit& hit : response.hits()) EXPECT_EQ(hit.score(), 0.0);
  EXPECT_THAT(Ids(DateRange(std::nullopt, std::nullopt)),
              ElementsAre("d100", "d200", "d250", "d300"));
  EXPECT_THAT(Ids(DateRange(201, std::nullopt)), ElementsAre("d250", "d300"));
  EXPECT_THAT(Ids(DateRange(std::nullopt, 200)), ElementsAre("d100"));
  EXPECT_THAT(Ids(DateRange(301, 1000)), IsEmpty());
  EXPECT_THAT(Ids(DateRange(-1000, 100)), IsEmpty());
}

TEST_P(DateRangeTest, BoundsHaveNanosecondPrecision) {
  EXPECT_THAT(Ids(DateRange(250, std::nullopt, 500)),
              ElementsAre("d250", "d300"));
  EXPECT_THAT(Ids(DateRange(250, std::nullopt, 501)), ElementsAre("d300"));
  EXPECT_THAT(Ids(DateRange(std::nullopt, 250, 0, 500)),
              ElementsAre("d100", "d200"));
  EXPECT_THAT(Ids(DateRange(std::nullopt, 250, 0, 501)),
              ElementsAre("d100", "d200", "d250"));
}

TEST_P(DateRangeTest, RestrictsAMustClauseWithoutChangingItsScore) {
  const v1::ShardSearchResponse plain = Search(SearchFor(Term("cocoa")));
  ASSERT_EQ(plain.hits_size(), 3);
  const v1::ShardSearchResponse response =
      Search(SearchFor(Bool({Term("cocoa"), DateRange(150, std::nullopt)})));
  EXPECT_THAT(HitIds(response), ElementsAre("d200"));
  EXPECT_EQ(response.total_hits(), 1u);
  EXPECT_EQ(ScoreOf(response, "d200"), ScoreOf(plain, "d200"));
  // The range first or last makes no difference.
  EXPECT_THAT(Ids(Bool({DateRange(std::nullopt, 250), Term("cocoa")})),
              UnorderedElementsAre("d100", "d200"));
}

TEST_P(DateRangeTest, AsAShouldClauseItAddsDocumentsScoringZero) {
  // Not the WAND path, which only runs disjunctions of terms.
  const v1::ShardSearchResponse response = Search(
      SearchFor(Bool({}, {Term("cocoa"), DateRange(250, std::nullopt)})));
  EXPECT_THAT(HitIds(response),
              UnorderedElementsAre("d100", "d200", "undated", "d250", "d300"));
  EXPECT_EQ(response.total_hits(), 5u);
  EXPECT_GT(ScoreOf(response, "d100"), 0.0);
  EXPECT_EQ(ScoreOf(response, "d250"), 0.0);
  EXPECT_EQ(ScoreOf(response, "d300"), 0.0);
  // The term's documents come first, then the range's, by id.
  EXPECT_EQ(response.hits(3).id(), "d250");
  EXPECT_EQ(response.hits(4).id(), "d300");
}

TEST_P(DateRangeTest, MustNotExcludesOnlyDatedDocumentsInRange) {
  EXPECT_THAT(Ids(Bool({Term("coffee")}, {}, {DateRange(std::nullopt, 250)})),
              UnorderedElementsAre("d300", "undated"));
  // A disjunction of terms with an excluded range (the WAND path).
  EXPECT_THAT(Ids(Bool({}, {Term("coffee"), Term("cocoa")},
                       {DateRange(std::nullopt, 250)})),
              UnorderedElementsAre("d300", "undated"));
  // Everything but a range keeps the undated documents.
  EXPECT_THAT(Ids(Bool({MatchAll()}, {}, {DateRange(200, std::nullopt)})),
              ElementsAre("d100", "undated"));
}

TEST_P(DateRangeTest, NestsInBooleans) {
  // (before 150 OR from 280) AND NOT tea
  EXPECT_THAT(Ids(Bool({Bool({}, {DateRange(std::nullopt, 150),
                                  DateRange(280, std::nullopt)})},
                       {}, {Term("tea")})),
              ElementsAre("d100", "d300"));
  // coffee AND (cocoa OR from 250)
  EXPECT_THAT(
      Ids(Bool({Term("coffee"),
                Bool({}, {Term("cocoa"), DateRange(250, std::nullopt)})})),
      UnorderedElementsAre("d200", "d300", "undated"));
  // Two ranges must both hold.
  EXPECT_THAT(Ids(Bool({DateRange(150, std::nullopt), DateRange(0, 260)})),
              ElementsAre("d200", "d250"));
}

TEST_P(DateRangeTest, DeletedAndReplacedDocumentsFollowTheirLatestVersion) {
  Write({Delete("d200"),
         Upsert({.id = "d100", .body = "cocoa", .published_seconds = 400}),
         Upsert({.id = "undated", .body = "cocoa", .published_seconds = 120})});
  EXPECT_THAT(Ids(DateRange(std::nullopt, 260)),
              ElementsAre("d250", "undated"));
  EXPECT_THAT(Ids(DateRange(350, std::nullopt)), ElementsAre("d100"));
  EXPECT_THAT(Ids(Bool({Term("cocoa"), DateRange(0, 500)})),
              UnorderedElementsAre("d100", "undated"));
  MergeAll();
  EXPECT_THAT(Ids(DateRange(std::nullopt, std::nullopt)),
              ElementsAre("d100", "d250", "d300", "undated"));
}

TEST_P(DateRangeTest, CombinesWithFiltersAndDateSorting) {
  v1::ShardSearchRequest request = SearchFor(DateRange(100, std::nullopt));
  request.mutable_filters()->mutable_published_to()->set_seconds(300);
  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  EXPECT_THAT(HitIds(Search(request)), ElementsAre("d250", "d200", "d100"));
  request.set_limit(0);
  EXPECT_EQ(Search(request).total_hits(), 3u);
}

// A corpus small enough to score by hand: N = 2, title lengths 1 and 2,
// body lengths 2 and 1, so both average lengths are 1.5.
class ScoringTest : public SegmentIndexTest {
 protected:
  void SetUp() override {
    SegmentIndexTest::SetUp();
    Write({Upsert({.id = "d1",
                   .title = "apple",
                   .body = "apple banana",
                   .source = "farm"}),
           Upsert({.id = "d2", .title = "banana split", .body = "cherry"})});
  }

  double ScoreOf(v1::QueryNode query, const std::string& id) {
    const v1::ShardSearchResponse response =
        Search(SearchFor(std::move(query)));
    for (const v1::ShardHit& hit : response.hits()) {
      if (hit.id() == id) return hit.score();
    }
    ADD_FAILURE() << id << " not found";
    return -1;
  }
};

TEST_P(ScoringTest, Bm25fMatchesHandComputedValues) {
  const double ln2 = std::log(2.0);  // idf of df 1 with N 2
  // "apple" in d1: title norm 0.25 + 0.75 * 1 / 1.5 = 0.75, body norm
  // 0.25 + 0.75 * 2 / 1.5 = 1.25; tf~ = 2 * 1 / 0.75 + 1 * 1 / 1.25 = 52/15;
  // score = ln2 * 52/15 * 2.2 / (1.2 + 52/15) = ln2 * 114.4 / 70.
  EXPECT_NEAR(ScoreOf(Term("apple"), "d1"), ln2 * 114.4 / 70.0, 1e-12);
  // "banana" in the title of d2: norm 1.25, tf~ = 2 / 1.25 = 1.6.
  EXPECT_NEAR(ScoreOf(Term("banana", v1::FIELD_TITLE), "d2"),
              ln2 * 1.6 * 2.2 / 2.8, 1e-12);
  // "banana" in the body of d1 only: tf~ = 1 / 1.25 = 0.8; df(body) = 1.
  EXPECT_NEAR(ScoreOf(Term("banana", v1::FIELD_BODY), "d1"),
              ln2 * 0.8 * 2.2 / 2.0, 1e-12);
  // A keyword term scores its idf.
  EXPECT_NEAR(ScoreOf(Term("farm", v1::FIELD_SOURCE), "d1"), ln2, 1e-12);
  // The phrase "apple banana" occurs once in d1's body; its idf sums the
  // terms' idfs: banana has df 2, so ln(1 + 0.5 / 2.5) = ln 1.2.
  EXPECT_NEAR(ScoreOf(Phrase("apple banana"), "d1"),
              (ln2 + std::log(1.2)) * 0.8 * 2.2 / 2.0, 1e-12);
  // A boolean sums its clauses.
  EXPECT_NEAR(
      ScoreOf(Bool({}, {Term("apple"), Term("farm", v1::FIELD_SOURCE)}), "d1"),
      ln2 * 114.4 / 70.0 + ln2, 1e-12);
}

TEST_P(ScoringTest, UsesGlobalStatsAndParamsFromTheRequest) {
  v1::ShardSearchRequest request = SearchFor(Term("cherry"));
  v1::GlobalStats* stats = request.mutable_stats();
  stats->set_doc_count(10);
  stats->set_total_title_terms(10);  // average 1
  stats->set_total_body_terms(20);   // average 2
  v1::TermRef* ref = stats->add_terms();
  ref->set_term("cherry");
  stats->add_doc_freqs(4);
  request.mutable_scoring()->set_k1(2.0);
  request.mutable_scoring()->set_b(0.5);
  request.mutable_scoring()->set_body_weight(3.0);
  // idf = ln(1 + 6.5 / 4.5); body norm = 0.5 + 0.5 * 1 / 2 = 0.75;
  // tf~ = 3 * 1 / 0.75 = 4; score = idf * 4 * 3 / 6.
  const double idf = std::log(1.0 + 6.5 / 4.5);
  v1::ShardSearchResponse response = Search(request);
  ASSERT_EQ(response.hits_size(), 1);
  EXPECT_NEAR(response.hits(0).score(), idf * 4.0 * 3.0 / 6.0, 1e-12);
}

TEST_P(SegmentIndexTest, ProximityRanksTermsTogetherAboveTermsApart) {
  // The same words and lengths, so the same BM25F; only closeness differs.
  // Ids run against the expected order: without the bonus they would tie
  // and sort by id.
  Write({Upsert({.id = "a-apart",
                 .body = "wing one two three four five "
                         "six seven eight lift"}),
         Upsert({.id = "b-together",
                 .body = "one two three four wing lift "
                         "five six seven eight"}),
         Upsert({.id = "c-one-term",
                 .body = "wing one two three four five "
                         "six seven eight nine"})});
  v1::ShardSearchRequest request =
      SearchFor(Bool({}, {Term("wing"), Term("lift")}));
  v1::ShardSearchResponse response = Search(request);
  EXPECT_THAT(HitIds(response),
              ElementsAre("b-together", "a-apart", "c-one-term"));
  ASSERT_EQ(response.hits_size(), 3);
  const double with_bonus = response.hits(0).score();
  const double without = response.hits(1).score();
  EXPECT_GT(with_bonus, without);

  // Off: a plain BM25F tie, ordered by id, and the same scores as the
  // document without the bonus had.
  request.mutable_scoring()->set_proximity_weight(0);
  response = Search(request);
  EXPECT_THAT(HitIds(response),
              ElementsAre("a-apart", "b-together", "c-one-term"));
  EXPECT_EQ(response.hits(0).score(), response.hits(1).score());
  EXPECT_EQ(response.hits(0).score(), without);

  // Only the best `proximity_window` hits by BM25F are looked at: with a
  // window of one, that is a-apart (first of the tie), which gains nothing.
  request.mutable_scoring()->clear_proximity_weight();
  request.mutable_scoring()->set_proximity_window(1);
  EXPECT_THAT(HitIds(Search(request)),
              ElementsAre("a-apart", "b-together", "c-one-term"));

  // A window is reordered before the page is cut from it.
  request.mutable_scoring()->set_proximity_window(0);
  request.set_limit(1);
  EXPECT_THAT(HitIds(Search(request)), ElementsAre("b-together"));

  // Paging with a cursor walks the same order, one hit at a time, though
  // the cursor holds a score with the bonus.
  std::vector<std::string> paged;
  for (int page = 0; page < 4; ++page) {
    v1::ShardSearchResponse one = Search(request);
    if (one.hits_size() == 0) break;
    paged.push_back(one.hits(0).id());
    request.mutable_search_after()->set_score(one.hits(0).score());
    request.mutable_search_after()->set_id(one.hits(0).id());
  }
  EXPECT_THAT(paged, ElementsAre("b-together", "a-apart", "c-one-term"));
}

TEST_P(SegmentIndexTest, ProximityIgnoresScopedAndExcludedTerms) {
  Write({Upsert({.id = "a", .body = "wing one two three lift"}),
         Upsert({.id = "b", .body = "wing lift one two three"})});
  // `lift` scoped to the body is not a proximity term: one term left, so
  // both keep their tie.
  v1::ShardSearchResponse response =
      Search(SearchFor(Bool({}, {Term("wing"), Term("lift", v1::FIELD_BODY)})));
  EXPECT_THAT(HitIds(response), ElementsAre("a", "b"));
  EXPECT_EQ(response.hits(0).score(), response.hits(1).score());
}

TEST_P(SegmentIndexTest, EqualScoresAreOrderedById) {
  // Same content, inserted in descending id order.
  for (const char* id : {"e", "d", "c", "b", "a"}) {
    Write({Upsert({.id = id, .body = "same words"})});
  }
  v1::ShardSearchResponse all = Search(SearchFor(Term("same")));
  EXPECT_THAT(HitIds(all), ElementsAre("a", "b", "c", "d", "e"));
  EXPECT_EQ(all.hits(0).score(), all.hits(4).score());
  EXPECT_THAT(HitIds(Search(SearchFor(Term("same"), 2))),
              ElementsAre("a", "b"));
  EXPECT_THAT(HitIds(Search(SearchFor(MatchAll(), 3))),
              ElementsAre("a", "b", "c"));
}

// Pages through `request` `limit` hits at a time, each page resuming
// after the last hit of the previous one as a coordinator does; checks
// that every page counts every match.
std::vector<v1::ShardHit> PageAfter(SegmentIndex& index,
                                    v1::ShardSearchRequest request,
                                    uint32_t limit) {
  std::vector<v1::ShardHit> out;
  request.set_limit(limit);
  std::optional<uint64_t> total;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = index.Search(request);
    EXPECT_THAT(page, IsOk());
    if (!page.ok()) break;
    if (!page->total_hits_is_lower_bound()) {
      if (total) {
        EXPECT_EQ(page->total_hits(), *total);
      }
      total = page->total_hits();
    }
    for (const v1::ShardHit& hit : page->hits()) out.push_back(hit);
    if (page->hits_size() < static_cast<int>(limit)) break;
    const v1::ShardHit& last = page->hits(page->hits_size() - 1);
    v1::SearchAfter* after = request.mutable_search_after();
    after->Clear();
    after->set_id(last.id());
    if (request.sort() == v1::SORT_ORDER_PUBLISHED_DESC ||
        request.sort() == v1::SORT_ORDER_PUBLISHED_ASC) {
      if (last.has_published_at()) {
        *after->mutable_published_at() = last.published_at();
      } else {
        after->set_undated(true);
      }
    } else {
      after->set_score(last.score());
    }
  }
  return out;
}

// Forty documents with many ties: four bodies (so four distinct scores),
// five dates, every fourth undated; written in four batches, so that the
// flushed layout spreads them over segments, and ids that do not follow
// the insertion order.
class SearchAfterTest : public SegmentIndexTest {
 protected:
  void SetUp() override {
    SegmentIndexTest::SetUp();
    const char* bodies[] = {"tie", "tie tie", "tie other words here",
                            "tie tie tie"};
    for (int batch = 0; batch < 4; ++batch) {
      std::vector<v1::WriteOp> ops;
      for (int i = batch; i < 40; i += 4) {
        DocSpec doc{.id = absl::StrCat("d", (i * 7) % 40),
                    .body = bodies[i % 4]};
        if (i % 4 != 3) doc.published_seconds = 86400 * (i % 5);
        ops.push_back(Upsert(std::move(doc)));
      }
      Write(std::move(ops));
    }
  }

  // Paging `limit` at a time gives the same hits, scores and order as one
  // search for everything.
  void ExpectPagingEqualsOneSearch(const v1::ShardSearchRequest& request) {
    auto all = index_->Search(request);
    ASSERT_THAT(all, IsOk());
    ASSERT_EQ(all->hits_size(), 40);
    for (uint32_t limit : {1u, 3u, 7u, 40u}) {
      std::vector<v1::ShardHit> paged = PageAfter(*index_, request, limit);
      ASSERT_EQ(paged.size(), 40u) << limit;
      for (int i = 0; i < 40; ++i) {
        EXPECT_EQ(paged[i].id(), all->hits(i).id()) << limit << " " << i;
        EXPECT_EQ(paged[i].score(), all->hits(i).score());
      }
    }
  }
};

TEST_P(SearchAfterTest, RelevanceWithEqualScoresTiesById) {
  // A lone term runs through WAND.
  ExpectPagingEqualsOneSearch(SearchFor(Term("tie"), 100));
  // A conjunction runs through the iterator tree.
  ExpectPagingEqualsOneSearch(
      SearchFor(Bool({Term("tie")}, {Term("other")}), 100));
}

TEST_P(SearchAfterTest, DatesWithTiesAndUndatedLastInBothOrders) {
  for (v1::SortOrder sort :
       {v1::SORT_ORDER_PUBLISHED_DESC, v1::SORT_ORDER_PUBLISHED_ASC}) {
    v1::ShardSearchRequest request = SearchFor(MatchAll(), 100);
    request.set_sort(sort);
    ExpectPagingEqualsOneSearch(request);
    request = SearchFor(Term("tie"), 100);
    request.set_sort(sort);
    ExpectPagingEqualsOneSearch(request);
  }
}

TEST_P(SearchAfterTest, ReturnsOnlyHitsStrictlyAfterTheCursor) {
  v1::ShardSearchRequest request = SearchFor(MatchAll(), 100);
  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  // Days 4 to 0, then the ten undated. After day 2's "d30" come the day-2
  // ids above it, then days 1 and 0, then the undated.
  request.mutable_search_after()->mutable_published_at()->set_seconds(86400 *
                                                                      2);
  request.mutable_search_after()->set_id("d30");
  v1::ShardSearchResponse r = Search(request);
  EXPECT_EQ(r.total_hits(), 40u);
  ASSERT_FALSE(r.hits().empty());
  for (const v1::ShardHit& hit : r.hits()) {
    if (!hit.has_published_at()) continue;
    EXPECT_LE(hit.published_at().seconds(), 86400 * 2) << hit.id();
    if (hit.published_at().seconds() == 86400 * 2) {
      EXPECT_GT(hit.id(), "d30");
    }
  }
  EXPECT_EQ(r.hits(r.hits_size() - 1).has_published_at(), false);
  // After an undated cursor only undated documents with greater ids.
  request.mutable_search_after()->clear_published_at();
  request.mutable_search_after()->set_undated(true);
  request.mutable_search_after()->set_id("d2");
  r = Search(request);
  for (const v1::ShardHit& hit : r.hits()) {
    EXPECT_FALSE(hit.has_published_at()) << hit.id();
    EXPECT_GT(hit.id(), "d2");
  }
  // The undated are i = 3, 7, ..., 39 with ids d<(7 * i) % 40>.
  EXPECT_THAT(HitIds(r),
              ElementsAre("d21", "d25", "d29", "d33", "d37", "d5", "d9"));
  // A cursor past the end, and relevance after the best score with a
  // higher id: nothing, however many match.
  request.mutable_search_after()->set_id("d99");
  r = Search(request);
  EXPECT_THAT(r.hits(), IsEmpty());
  EXPECT_EQ(r.total_hits(), 40u);
  request = SearchFor(Term("tie"), 100);
  request.mutable_search_after()->set_score(1e300);
  request.mutable_search_after()->set_id("a");
  EXPECT_EQ(Search(request).hits_size(), 40);
  request.mutable_search_after()->set_score(0.0);
  r = Search(request);
  EXPECT_THAT(r.hits(), IsEmpty());
  EXPECT_EQ(r.total_hits(), 40u);
}

TEST_P(SegmentIndexTest, TotalHitsCountsEveryMatch) {
  std::vector<v1::WriteOp> ops;
  for (int i = 0; i < 60; ++i) {
    ops.push_back(Upsert({.id = absl::StrCat("doc", i),
                          .body = i % 3 == 0 ? "common rare" : "common"}));
  }
  Write(std::move(ops));
  v1::ShardSearchResponse top5 = Search(SearchFor(Term("common"), 5));
  EXPECT_EQ(top5.hits_size(), 5);
  EXPECT_EQ(top5.total_hits(), 60u);
  v1::ShardSearchResponse count_only = Search(SearchFor(Term("rare"), 0));
  EXPECT_EQ(count_only.hits_size(), 0);
  EXPECT_EQ(count_only.total_hits(), 20u);
}

TEST_P(SegmentIndexTest, ReopenKeepsEverything) {
  Write({Upsert({.id = "x",
                 .title = "persistent",
                 .body = "data here",
                 .source = "Src",
                 .tags = {"T"},
                 .published_seconds = 5}),
         Upsert({.id = "y", .body = "data"})});
  Write({Delete("y")});
  const v1::StatsResponse before = Counters();
  const v1::ShardSearchResponse search_before =
      Search(SearchFor(Term("persistent")));
  Reopen();
  const v1::StatsResponse after = Counters();
  EXPECT_EQ(after.doc_count(), 1u);
  EXPECT_EQ(after.total_title_terms(), before.total_title_terms());
  EXPECT_EQ(after.total_body_terms(), before.total_body_terms());
  EXPECT_EQ(index_->DocCount(), 1u);
  EXPECT_EQ(Search(SearchFor(Term("persistent"))).SerializeAsString(),
            search_before.SerializeAsString());
  EXPECT_THAT(Ids(Term("src", v1::FIELD_SOURCE)), ElementsAre("x"));
  EXPECT_THAT(Ids(Term("data")), ElementsAre("x"));
  // New documents get fresh numbers after a restart: nothing is overwritten.
  Write({Upsert({.id = "z", .body = "data"})});
  EXPECT_THAT(Ids(Term("data")), UnorderedElementsAre("x", "z"));
  EXPECT_THAT(Ids(Term("persistent")), ElementsAre("x"));
}

TEST_P(SegmentIndexTest, StatsReportCountersDocFreqsAndDiskBytes) {
  Write({Upsert({.id = "1", .title = "a b", .body = "b c d"}),
         Upsert({.id = "2", .title = "c", .body = "d"})});
  v1::StatsRequest request;
  for (const char* term : {"b", "c", "d", "zzz"}) {
    request.add_terms()->set_term(term);
  }
  v1::TermRef* title_c = request.add_terms();
  title_c->set_term("c");
  title_c->set_field(v1::FIELD_TITLE);
  auto stats = index_->Stats(request);
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->doc_count(), 2u);
  EXPECT_EQ(stats->total_title_terms(), 3u);
  EXPECT_EQ(stats->total_body_terms(), 4u);
  EXPECT_THAT(stats->doc_freqs(), ElementsAre(1, 2, 2, 0, 1));
  EXPECT_GT(stats->disk_bytes(), 0u);
}

// Splitting a collection over shards must not change any score, given the
// summed statistics.
TEST(SegmentIndexShardingTest, ScoresIdenticalOverOneOrThreeIndexes) {
  TempDir dir;
  IndexOptions options;
  options.block_cache_bytes = 4 << 20;
  options.write_buffer_bytes = 4 << 20;
  const std::vector<std::string> vocab = {"alpha", "beta",  "gamma", "delta",
                                          "eps",   "zeta",  "eta",   "theta",
                                          "iota",  "kappa", "lambda"};
  std::mt19937 rng(42);
  auto text = [&](int words) {
    std::string s;
    for (int i = 0; i < words; ++i) {
      absl::StrAppend(&s, i ? " " : "", vocab[rng() % vocab.size()]);
    }
    return s;
  };
  std::vector<v1::WriteOp> docs;
  for (int i = 0; i < 40; ++i) {
    docs.push_back(Upsert({.id = absl::StrCat("doc-", i),
                           .title = text(1 + static_cast<int>(rng() % 4)),
                           .body = text(3 + static_cast<int>(rng() % 30)),
                           .source = i % 2 ? "odd" : "even"}));
  }

  auto open = [&](const std::string& name) {
    auto index = SegmentIndex::Open(dir.Sub(name), options);
    EXPECT_THAT(index, IsOk());
    return index.ok() ? *std::move(index) : nullptr;
  };
  std::unique_ptr<SegmentIndex> single = open("single");
  ASSERT_NE(single, nullptr);
  ASSERT_THAT(single->Apply(WriteOf(docs)), IsOk());
  std::vector<std::unique_ptr<SegmentIndex>> shards;
  std::vector<std::vector<v1::WriteOp>> per_shard(3);
  for (int i = 0; i < 40; ++i) per_shard[i % 3].push_back(docs[i]);
  for (int s = 0; s < 3; ++s) {
    shards.push_back(open(absl::StrCat("shard", s)));
    ASSERT_NE(shards.back(), nullptr);
    ASSERT_THAT(shards.back()->Apply(WriteOf(per_shard[s])), IsOk());
  }

  const v1::QueryNode query =
      Bool({}, {Term("alpha"), Term("beta", v1::FIELD_TITLE),
                Term("gamma", v1::FIELD_BODY), Phrase("delta eps", 2),
                Term("odd", v1::FIELD_SOURCE), Term("iota"), Term("kappa")});
  v1::StatsRequest stats_request;
  auto add_ref = [&](const std::string& term, v1::Field field) {
    v1::TermRef* ref = stats_request.add_terms();
    ref->set_term(term);
    ref->set_field(field);
  };
  add_ref("alpha", v1::FIELD_UNSPECIFIED);
  add_ref("beta", v1::FIELD_TITLE);
  add_ref("gamma", v1::FIELD_BODY);
  add_ref("delta", v1::FIELD_UNSPECIFIED);
  add_ref("eps", v1::FIELD_UNSPECIFIED);
  add_ref("odd", v1::FIELD_SOURCE);
  add_ref("iota", v1::FIELD_UNSPECIFIED);
  add_ref("kappa", v1::FIELD_UNSPECIFIED);

  auto global_stats = [&](const std::vector<SegmentIndex*>& indexes) {
    v1::GlobalStats g;
    for (const v1::TermRef& ref : stats_request.terms()) *g.add_terms() = ref;
    g.mutable_doc_freqs()->Resize(stats_request.terms_size(), 0);
    for (SegmentIndex* index : indexes) {
      auto s = index->Stats(stats_request);
      EXPECT_THAT(s, IsOk());
      g.set_doc_count(g.doc_count() + s->doc_count());
      g.set_total_title_terms(g.total_title_terms() + s->total_title_terms());
      g.set_total_body_terms(g.total_body_terms() + s->total_body_terms());
      for (int i = 0; i < s->doc_freqs_size(); ++i) {
        g.set_doc_freqs(i, g.doc_freqs(i) + s->doc_freqs(i));
      }
    }
    return g;
  };

  v1::ShardSearchRequest request = SearchFor(query, 1000);
  // Every hit gets its proximity bonus (alpha, iota, kappa), not only each
  // shard's best: the bonus too must not depend on the sharding.
  request.mutable_scoring()->set_proximity_window(1000);
  *request.mutable_stats() = global_stats({single.get()});
  auto expected = single->Search(request);
  ASSERT_THAT(expected, IsOk());
  ASSERT_GT(expected->hits_size(), 20);

  *request.mutable_stats() =
      global_stats({shards[0].get(), shards[1].get(), shards[2].get()});
  EXPECT_EQ(request.stats().SerializeAsString(),
            global_stats({single.get()}).SerializeAsString());
  std::map<std::string, double> sharded;
  uint64_t total = 0;
  for (const auto& shard : shards) {
    auto response = shard->Search(request);
    ASSERT_THAT(response, IsOk());
    total += response->total_hits();
    for (const v1::ShardHit& hit : response->hits()) {
      sharded[hit.id()] = hit.score();
    }
  }
  EXPECT_EQ(total, expected->total_hits());
  ASSERT_EQ(sharded.size(), static_cast<size_t>(expected->hits_size()));
  for (const v1::ShardHit& hit : expected->hits()) {
    // Bit-for-bit equality, not approximate.
    EXPECT_EQ(sharded[hit.id()], hit.score()) << hit.id();
  }
}

TEST(SegmentIndexOpenTest, RefusesADirectoryHeldByAnotherHandle) {
  TempDir dir;
  auto first = SegmentIndex::Open(dir.path(), IndexOptions());
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(SegmentIndex::Open(dir.path(), IndexOptions()),
              StatusIs(absl::StatusCode::kUnavailable));
}

INSTANTIATE_TEST_SUITE_P(Layouts, SegmentIndexTest,
                         ::testing::Values(Layout::kMemory,
                                           Layout::kFlushedPerWrite),
                         LayoutName);
INSTANTIATE_TEST_SUITE_P(Layouts, SearchAfterTest,
                         ::testing::Values(Layout::kMemory,
                                           Layout::kFlushedPerWrite),
                         LayoutName);
INSTANTIATE_TEST_SUITE_P(Layouts, BooleanTest,
                         ::testing::Values(Layout::kMemory,
                                           Layout::kFlushedPerWrite),
                         LayoutName);
INSTANTIATE_TEST_SUITE_P(Layouts, PhraseTest,
                         ::testing::Values(Layout::kMemory,
                                           Layout::kFlushedPerWrite),
                         LayoutName);
INSTANTIATE_TEST_SUITE_P(Layouts, FilterTest,
                         ::testing::Values(Layout::kMemory,
                                           Layout::kFlushedPerWrite),
                         LayoutName);
INSTANTIATE_TEST_SUITE_P(Layouts, DateRangeTest,
                         ::testing::Values(Layout::kMemory,
                                           Layout::kFlushedPerWrite),
                         LayoutName);
INSTANTIATE_TEST_SUITE_P(Layouts, ScoringTest,
                         ::testing::Values(Layout::kMemory,
                                           Layout::kFlushedPerWrite),
                         LayoutName);

// Facets: counts over every match of the query and filters, over memory
// and flushed segments, never counting deleted documents.
class FacetTest : public SegmentIndexTest {
 protected:
  static constexpr int64_t kJan1987 = 536457600;  // 1987-01-01T00:00:00Z
  static constexpr int64_t kDay = 86400;

  void SetUp() override {
    SegmentIndexTest::SetUp();
    Write({Upsert({.id = "1",
                   .body = "news wheat",
                   .source = "Reuters",
                   .tags = {"Grain", "wheat"},
                   .published_seconds = kJan1987 + 14 * kDay}),
           Upsert({.id = "2",
                   .body = "news",
                   .source = "AP",
                   .tags = {"grain"},
                   .published_seconds = kJan1987 + 33 * kDay}),
           Upsert({.id = "3", .body = "news corn"})});
    Write({Upsert({.id = "4",
                   .body = "news wheat",
                   .source = "reuters",
                   .tags = {"Wheat"},
                   .published_seconds = kJan1987 + 31 * kDay - 1}),
           Upsert({.id = "5",
                   .body = "news",
                   .source = "BBC",
                   .tags = {"grain", "corn"},
                   .published_seconds = 599572800}),  // 1988-12-31T12:00Z
           Upsert({.id = "6",
                   .body = "other",
                   .source = "Reuters",
                   .tags = {"grain"},
                   .published_seconds = kJan1987 + kDay})});
    Write({Delete("2")});
  }

  static v1::FacetRequest Facet(
      v1::FacetField field,
      v1::DateInterval interval = v1::DATE_INTERVAL_UNSPECIFIED) {
    v1::FacetRequest facet;
    facet.set_field(field);
    facet.set_interval(interval);
    return facet;
  }

  // The request with every kind of facet: source, tags, months, years.
  static v1::ShardSearchRequest WithFacets(v1::QueryNode query) {
    v1::ShardSearchRequest request = SearchFor(std::move(query), 1);
    *request.add_facets() = Facet(v1::FACET_FIELD_SOURCE);
    *request.add_facets() = Facet(v1::FACET_FIELD_TAGS);
    *request.add_facets() =
        Facet(v1::FACET_FIELD_PUBLISHED_AT, v1::DATE_INTERVAL_MONTH);
    *request.add_facets() =
        Facet(v1::FACET_FIELD_PUBLISHED_AT, v1::DATE_INTERVAL_YEAR);
    return request;
  }

  // "value=count" (keywords) or "start=count" (dates), as sent, then the
  // missing count.
  static std::vector<std::string> Counts(const v1::ShardFacetCounts& facet) {
    std::vector<std::string> out;
    uint64_t total = 0;
    for (const v1::ShardFacetCount& c : facet.counts()) {
      out.push_back(absl::StrCat(facet.field() == v1::FACET_FIELD_PUBLISHED_AT
                                     ? absl::StrCat(c.start_seconds())
                                     : c.value(),
                                 "=", c.count()));
      total += c.count();
    }
    out.push_back(absl::StrCat("missing=", facet.missing_count()));
    EXPECT_EQ(facet.total_count(), total);
    EXPECT_FALSE(facet.truncated());
    return out;
  }
};

TEST_P(FacetTest, CountsEveryLiveMatchNotOnlyThePage) {
  const v1::ShardSearchResponse r = Search(WithFacets(Term("news")));
  // Matches 1, 3, 4 and 5: 2 is deleted, 6 does not match.
  EXPECT_EQ(r.hits_size(), 1);
  EXPECT_EQ(r.total_hits(), 4u);
  EXPECT_FALSE(r.total_hits_is_lower_bound());
  ASSERT_EQ(r.facets_size(), 4);
  EXPECT_EQ(r.facets(0).field(), v1::FACET_FIELD_SOURCE);
  // Values are the normalised ones; most frequent first, ties by value.
  EXPECT_THAT(Counts(r.facets(0)),
              ElementsAre("reuters=2", "bbc=1", "missing=1"));
  EXPECT_THAT(Counts(r.facets(1)),
              ElementsAre("grain=2", "wheat=2", "corn=1", "missing=1"));
  EXPECT_EQ(r.facets(2).interval(), v1::DATE_INTERVAL_MONTH);
  // 4 is published in the last second of January.
  EXPECT_THAT(Counts(r.facets(2)), ElementsAre(absl::StrCat(kJan1987, "=2"),
                                               "596937600=1", "missing=1"));
  EXPECT_THAT(Counts(r.facets(3)), ElementsAre(absl::StrCat(kJan1987, "=2"),
                                               "567993600=1", "missing=1"));
}

TEST_P(FacetTest, FiltersRestrictTheCounts) {
  v1::ShardSearchRequest request = WithFacets(Term("news"));
  request.mutable_filters()->add_tags("GRAIN");
  v1::ShardSearchResponse r = Search(request);
  EXPECT_EQ(r.total_hits(), 2u);  // 1 and 5
  ASSERT_EQ(r.facets_size(), 4);
  EXPECT_THAT(Counts(r.facets(0)),
              ElementsAre("bbc=1", "reuters=1", "missing=0"));
  EXPECT_THAT(Counts(r.facets(1)),
              ElementsAre("grain=2", "corn=1", "wheat=1", "missing=0"));

  request = WithFacets(Term("news"));
  request.mutable_filters()->mutable_published_from()->set_seconds(kJan1987 +
                                                                   20 * kDay);
  r = Search(request);
  EXPECT_EQ(r.total_hits(), 2u);  // 4 and 5; undated 3 never passes
  EXPECT_THAT(Counts(r.facets(2)), ElementsAre(absl::StrCat(kJan1987, "=1"),
                                               "596937600=1", "missing=0"));
}

TEST_P(FacetTest, DisjunctionsOfTermsCountEveryMatchToo) {
  // The shape block-max WAND runs; with facets it must visit every match.
  const v1::ShardSearchResponse r =
      Search(WithFacets(Bool({}, {Term("wheat"), Term("corn")})));
  EXPECT_EQ(r.total_hits(), 3u);  // 1, 3, 4
  ASSERT_EQ(r.facets_size(), 4);
  EXPECT_THAT(Counts(r.facets(0)), ElementsAre("reuters=2", "missing=1"));
  EXPECT_THAT(Counts(r.facets(1)),
              ElementsAre("wheat=2", "grain=1", "missing=1"));
}

TEST_P(FacetTest, DayBucketsAndMatchAll) {
  v1::ShardSearchRequest request = SearchFor(MatchAll(), 0);
  v1::FacetRequest facet;
  facet.set_field(v1::FACET_FIELD_PUBLISHED_AT);
  facet.set_interval(v1::DATE_INTERVAL_DAY);
  *request.add_facets() = facet;
  const v1::ShardSearchResponse r = Search(request);
  EXPECT_EQ(r.total_hits(), 5u);
  ASSERT_EQ(r.facets_size(), 1);
  EXPECT_EQ(r.facets(0).interval(), v1::DATE_INTERVAL_DAY);
  EXPECT_THAT(
      Counts(r.facets(0)),
      ElementsAre(absl::StrCat(kJan1987 + kDay, "=1"),
                  absl::StrCat(kJan1987 + 14 * kDay, "=1"),
                  absl::StrCat(kJan1987 + 30 * kDay, "=1"),
                  absl::StrCat(599572800 - 12 * 3600, "=1"), "missing=1"));
}

TEST_P(FacetTest, SurvivesAMerge) {
  // Scores change with the merge (document frequencies stop counting the
  // deleted document); counts must not.
  auto facets_of = [this] {
    const v1::ShardSearchResponse r = Search(WithFacets(Term("news")));
    std::string out = absl::StrCat(r.total_hits(), ";");
    for (const v1::ShardFacetCounts& f : r.facets()) {
      absl::StrAppend(&out, f.SerializeAsString(), ";");
    }
    return out;
  };
  const std::string before = facets_of();
  MergeAll();
  EXPECT_EQ(facets_of(), before);
}

TEST(BucketStartTest, CalendarBucketsInUtc) {
  using Unit = segment::FacetSpec::Unit;
  // 1987-03-15T13:14:15Z
  const int64_t t = 542812455;
  EXPECT_EQ(segment::BucketStart(t, Unit::kDay), 542764800);
  EXPECT_EQ(segment::BucketStart(t, Unit::kMonth), 541555200);
  EXPECT_EQ(segment::BucketStart(t, Unit::kYear), 536457600);
  // Before the epoch: 1969-12-31T23:59:59Z.
  EXPECT_EQ(segment::BucketStart(-1, Unit::kDay), -86400);
  EXPECT_EQ(segment::BucketStart(-1, Unit::kMonth), -2678400);
  EXPECT_EQ(segment::BucketStart(-1, Unit::kYear), -31536000);
  // A leap day.
  EXPECT_EQ(segment::BucketStart(951782400 + 100, Unit::kMonth),
            949363200);  // 2000-02-29 -> 2000-02-01
}

INSTANTIATE_TEST_SUITE_P(Layouts, FacetTest,
                         ::testing::Values(Layout::kMemory,
                                           Layout::kFlushedPerWrite),
                         LayoutName);

// A random collection over a Zipf-like vocabulary, in batches.
std::vector<std::vector<v1::WriteOp>> RandomBatches(int docs, int batch,
                                                    uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> vocab;
  for (int i = 0; i < 300; ++i) vocab.push_back(absl::StrCat("w", i));
  auto word = [&]() {
    // Squaring a uniform draw favours small indexes: a few common words,
    // many rare ones.
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return vocab[static_cast<size_t>(u * u * u * vocab.size())];
  };
  auto text = [&](int words) {
    std::string s;
    for (int i = 0; i < words; ++i) absl::StrAppend(&s, i ? " " : "", word());
    return s;
  };
  std::vector<std::vector<v1::WriteOp>> batches;
  for (int i = 0; i < docs; ++i) {
    if (i % batch == 0) batches.emplace_back();
    batches.back().push_back(
        Upsert({.id = absl::StrCat("d", i),
                .title = text(2 + static_cast<int>(rng() % 6)),
                .body = text(10 + static_cast<int>(rng() % 200)),
                .source = absl::StrCat("src", rng() % 5),
                .published_seconds = 1000 + static_cast<int64_t>(i)}));
  }
  return batches;
}

std::vector<v1::QueryNode> RandomQueries(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<v1::QueryNode> queries;
  for (int q = 0; q < n; ++q) {
    std::vector<v1::QueryNode> should;
    const int terms = 1 + static_cast<int>(rng() % 4);
    for (int t = 0; t < terms; ++t) {
      should.push_back(Term(absl::StrCat("w", rng() % 60)));
    }
    queries.push_back(should.size() == 1 ? should[0]
                                         : Bool({}, std::move(should)));
  }
  return queries;
}

IndexOptions QuietOptions() {
  IndexOptions options;
  options.block_cache_bytes = 8 << 20;
  options.write_buffer_bytes = 8 << 20;
  options.background_work = false;
  return options;
}

// Block-max WAND may skip documents but never a top-k hit: its results
// equal an exhaustive evaluation of the same query, scores included.
TEST(SegmentIndexPruningTest, TopKEqualsExhaustiveEvaluation) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(index, IsOk());
  for (auto& batch : RandomBatches(3000, 500, 7)) {
    ASSERT_THAT((*index)->Apply(WriteOf(std::move(batch))), IsOk());
  }
  ASSERT_THAT((*index)->Flush(), IsOk());
  bool pruned_any = false;
  for (const v1::QueryNode& query : RandomQueries(60, 11)) {
    auto pruned = (*index)->Search(SearchFor(query, 10));
    ASSERT_THAT(pruned, IsOk());
    // A match-all clause scores 0, so the sum is unchanged, but its shape
    // makes the shard evaluate every match.
    v1::QueryNode exhaustive = query;
    if (!exhaustive.has_boolean()) exhaustive = Bool({}, {query});
    *exhaustive.mutable_boolean()->add_should() = MatchAll();
    auto full = (*index)->Search(SearchFor(exhaustive, 10));
    ASSERT_THAT(full, IsOk());
    ASSERT_EQ(pruned->hits_size(), full->hits_size());
    for (int i = 0; i < pruned->hits_size(); ++i) {
      EXPECT_EQ(pruned->hits(i).id(), full->hits(i).id()) << i;
      EXPECT_EQ(pruned->hits(i).score(), full->hits(i).score()) << i;
    }
    if (pruned->total_hits_is_lower_bound()) {
      pruned_any = true;
      EXPECT_GE(pruned->total_hits(), 1000u);
    }
  }
  // The collection is big enough for common terms to be pruned.
  EXPECT_TRUE(pruned_any);
}

// Deep pages with a cursor pass through WAND's pruning: paging 25 at a
// time gives the top 250 of one search, scores included, while the bar
// that prunes rises on each page from the hits after the cursor only.
TEST(SegmentIndexPruningTest, SearchAfterPagesEqualOneDeepSearch) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(index, IsOk());
  for (auto& batch : RandomBatches(3000, 500, 7)) {
    ASSERT_THAT((*index)->Apply(WriteOf(std::move(batch))), IsOk());
  }
  ASSERT_THAT((*index)->Flush(), IsOk());
  bool pruned_any = false;
  for (const v1::QueryNode& query : RandomQueries(20, 13)) {
    auto deep = (*index)->Search(SearchFor(query, 250));
    ASSERT_THAT(deep, IsOk());
    v1::ShardSearchRequest request = SearchFor(query, 25);
    std::vector<v1::ShardHit> paged;
    for (int page = 0; page < 10; ++page) {
      auto r = (*index)->Search(request);
      ASSERT_THAT(r, IsOk());
      pruned_any |= r->total_hits_is_lower_bound();
      for (const v1::ShardHit& hit : r->hits()) paged.push_back(hit);
      if (r->hits_size() < 25) break;
      request.mutable_search_after()->set_score(r->hits(24).score());
      request.mutable_search_after()->set_id(r->hits(24).id());
    }
    ASSERT_EQ(paged.size(), static_cast<size_t>(deep->hits_size()));
    for (size_t i = 0; i < paged.size(); ++i) {
      EXPECT_EQ(paged[i].id(), deep->hits(i).id()) << i;
      EXPECT_EQ(paged[i].score(), deep->hits(i).score()) << i;
    }
  }
  EXPECT_TRUE(pruned_any);
}

// With facets nothing is pruned: the total is exact, the hits are those of
// the search without facets, and the counts add up to the total.
TEST(SegmentIndexPruningTest, FacetsVisitEveryMatch) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(index, IsOk());
  for (auto& batch : RandomBatches(3000, 500, 7)) {
    ASSERT_THAT((*index)->Apply(WriteOf(std::move(batch))), IsOk());
  }
  ASSERT_THAT((*index)->Flush(), IsOk());
  bool pruned_any = false;
  for (const v1::QueryNode& query : RandomQueries(30, 11)) {
    auto plain = (*index)->Search(SearchFor(query, 10));
    ASSERT_THAT(plain, IsOk());
    pruned_any |= plain->total_hits_is_lower_bound();
    v1::ShardSearchRequest request = SearchFor(query, 10);
    request.add_facets()->set_field(v1::FACET_FIELD_SOURCE);
    auto faceted = (*index)->Search(request);
    ASSERT_THAT(faceted, IsOk());
    // Without hits to rank the shard skips nothing: the exact count.
    auto full = (*index)->Search(SearchFor(query, 0));
    ASSERT_THAT(full, IsOk());
    ASSERT_FALSE(full->total_hits_is_lower_bound());
    EXPECT_FALSE(faceted->total_hits_is_lower_bound());
    EXPECT_EQ(faceted->total_hits(), full->total_hits());
    ASSERT_EQ(faceted->hits_size(), plain->hits_size());
    for (int i = 0; i < plain->hits_size(); ++i) {
      EXPECT_EQ(faceted->hits(i).id(), plain->hits(i).id());
      EXPECT_EQ(faceted->hits(i).score(), plain->hits(i).score());
    }
    ASSERT_EQ(faceted->facets_size(), 1);
    uint64_t sum = faceted->facets(0).missing_count();
    for (const auto& c : faceted->facets(0).counts()) sum += c.count();
    EXPECT_EQ(sum, faceted->total_hits());
    // A later page counts the same facets once, over every match, and its
    // hits are those after the cursor, proximity bonus included.
    if (plain->hits_size() < 6) continue;
    v1::ShardSearchRequest later = request;
    later.mutable_search_after()->set_score(plain->hits(4).score());
    later.mutable_search_after()->set_id(plain->hits(4).id());
    later.set_limit(5);
    auto page = (*index)->Search(later);
    ASSERT_THAT(page, IsOk());
    EXPECT_EQ(page->total_hits(), faceted->total_hits());
    ASSERT_EQ(page->facets_size(), 1);
    EXPECT_EQ(page->facets(0).DebugString(), faceted->facets(0).DebugString());
    for (int i = 0; i < page->hits_size() && i + 5 < plain->hits_size(); ++i) {
      EXPECT_EQ(page->hits(i).id(), plain->hits(i + 5).id());
      EXPECT_EQ(page->hits(i).score(), plain->hits(i + 5).score());
    }
  }
  EXPECT_TRUE(pruned_any);
}

// Memory and flushed segments at once: half of a collection written and
// flushed, half still in memory.
TEST(SegmentIndexSearchAfterTest, PagesAcrossMemoryAndFlushedSegments) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(index, IsOk());
  std::vector<std::vector<v1::WriteOp>> batches = RandomBatches(600, 150, 3);
  for (size_t b = 0; b < batches.size(); ++b) {
    ASSERT_THAT((*index)->Apply(WriteOf(std::move(batches[b]))), IsOk());
    if (b == 1) {
      ASSERT_THAT((*index)->Flush(), IsOk());
    }
  }
  for (v1::SortOrder sort :
       {v1::SORT_ORDER_RELEVANCE, v1::SORT_ORDER_PUBLISHED_DESC,
        v1::SORT_ORDER_PUBLISHED_ASC}) {
    for (const v1::QueryNode& query : RandomQueries(8, 5)) {
      v1::ShardSearchRequest request = SearchFor(query, 1000);
      request.set_sort(sort);
      auto all = (*index)->Search(request);
      ASSERT_THAT(all, IsOk());
      std::vector<v1::ShardHit> paged = PageAfter(**index, request, 9);
      ASSERT_EQ(paged.size(), static_cast<size_t>(all->hits_size()));
      for (size_t i = 0; i < paged.size(); ++i) {
        EXPECT_EQ(paged[i].id(), all->hits(i).id()) << i;
        EXPECT_EQ(paged[i].score(), all->hits(i).score()) << i;
      }
    }
  }
}

// Results with statistics fixed in the request: document frequencies that
// still count deleted documents would otherwise change with the layout.
std::vector<std::string> ResultsOf(SegmentIndex& index,
                                   const std::vector<v1::QueryNode>& queries) {
  std::vector<std::string> out;
  for (const v1::QueryNode& query : queries) {
    v1::ShardSearchRequest request = SearchFor(query, 20);
    v1::GlobalStats* stats = request.mutable_stats();
    stats->set_doc_count(1000);
    stats->set_total_title_terms(5000);
    stats->set_total_body_terms(100000);
    for (int i = 0; i < 300; ++i) {
      stats->add_terms()->set_term(absl::StrCat("w", i));
      stats->add_doc_freqs(1 + i);
    }
    auto response = index.Search(request);
    EXPECT_THAT(response, IsOk());
    if (!response.ok()) continue;
    // Past the first 1,000 matches, how many a search skips (and so does
    // not count) depends on the order in which it meets documents.
    if (response->total_hits_is_lower_bound()) {
      EXPECT_GE(response->total_hits(), 1000u);
    }
    response->clear_total_hits();
    response->clear_total_hits_is_lower_bound();
    out.push_back(response->SerializeAsString());
  }
  return out;
}

// Flushing and merging move documents between segments; answers, scores
// and counts stay exactly the same.
TEST(SegmentIndexLayoutTest, FlushAndMergeDoNotChangeResults) {
  TempDir dir;
  IndexOptions options = QuietOptions();
  options.merge_factor = 3;
  auto index = SegmentIndex::Open(dir.Sub("db"), options);
  ASSERT_THAT(index, IsOk());
  SegmentIndex& idx = **index;
  for (auto& batch : RandomBatches(1200, 100, 3)) {
    ASSERT_THAT(idx.Apply(WriteOf(std::move(batch))), IsOk());
  }
  // Some documents replaced and some deleted, all still in memory.
  ASSERT_THAT(idx.Apply(WriteOf({Upsert({.id = "d5", .body = "w1 w2 w3"}),
                                 Delete("d7"), Delete("d1100")})),
              IsOk());
  std::vector<v1::QueryNode> queries = RandomQueries(30, 5);
  queries.push_back(Phrase("w1 w2", 0));
  queries.push_back(Bool({Term("w3")}, {Term("w4")}, {Term("w5")}));
  const std::vector<std::string> in_memory = ResultsOf(idx, queries);
  EXPECT_EQ(idx.DocCount(), 1198u);

  ASSERT_THAT(idx.Flush(), IsOk());
  for (const auto& info : idx.Segments()) EXPECT_FALSE(info.in_memory);
  EXPECT_EQ(ResultsOf(idx, queries), in_memory);

  ASSERT_THAT(idx.ForceMerge(1), IsOk());
  ASSERT_EQ(idx.Segments().size(), 1u);
  EXPECT_EQ(idx.Segments()[0].documents, 1198u);
  EXPECT_EQ(ResultsOf(idx, queries), in_memory);
  EXPECT_EQ(idx.DocCount(), 1198u);
}

// Deleting flushed documents persists: a reopened index has them deleted,
// and a later merge drops them for good.
TEST(SegmentIndexLayoutTest, DeletionsOfFlushedDocumentsSurviveReopen) {
  TempDir dir;
  std::vector<std::string> before;
  {
    auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
    ASSERT_THAT(index, IsOk());
    for (auto& batch : RandomBatches(400, 100, 9)) {
      ASSERT_THAT((*index)->Apply(WriteOf(std::move(batch))), IsOk());
    }
    ASSERT_THAT((*index)->Flush(), IsOk());
    std::vector<v1::WriteOp> deletes;
    for (int i = 0; i < 400; i += 3) {
      deletes.push_back(Delete(absl::StrCat("d", i)));
    }
    ASSERT_THAT((*index)->Apply(WriteOf(deletes)), IsOk());
    before = ResultsOf(**index, RandomQueries(20, 1));
    EXPECT_EQ((*index)->DocCount(), 266u);
  }
  auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(index, IsOk());
  EXPECT_EQ((*index)->DocCount(), 266u);
  EXPECT_EQ(ResultsOf(**index, RandomQueries(20, 1)), before);
  v1::FetchRequest fetch;
  fetch.add_ids("d3");
  fetch.add_ids("d4");
  auto fetched = (*index)->Fetch(fetch);
  ASSERT_THAT(fetched, IsOk());
  EXPECT_FALSE(fetched->results(0).found());
  EXPECT_TRUE(fetched->results(1).found());
  ASSERT_THAT((*index)->ForceMerge(1), IsOk());
  ASSERT_EQ((*index)->Segments().size(), 1u);
  EXPECT_EQ((*index)->Segments()[0].documents, 266u);
  EXPECT_EQ((*index)->Segments()[0].deleted, 0u);
}

// With background work on, small flush and merge thresholds keep the
// index in a few flushed segments while writes go on, and every write is
// searchable as soon as it returns.
TEST(SegmentIndexBackgroundTest, FlushesAndMergesWhileWriting) {
  TempDir dir;
  IndexOptions options = QuietOptions();
  options.background_work = true;
  options.flush_documents = 100;
  options.merge_factor = 4;
  auto index = SegmentIndex::Open(dir.Sub("db"), options);
  ASSERT_THAT(index, IsOk());
  int written = 0;
  for (auto& batch : RandomBatches(1500, 25, 21)) {
    const std::string last = batch.back().upsert().document().id();
    ASSERT_THAT((*index)->Apply(WriteOf(std::move(batch))), IsOk());
    written += 25;
    v1::FetchRequest fetch;
    fetch.add_ids(last);
    auto fetched = (*index)->Fetch(fetch);
    ASSERT_THAT(fetched, IsOk());
    EXPECT_TRUE(fetched->results(0).found());
    EXPECT_EQ((*index)->DocCount(), static_cast<uint64_t>(written));
  }
  auto all = (*index)->Search(SearchFor(MatchAll(), 0));
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->total_hits(), 1500u);
  // How far the background thread got depends on the machine's speed;
  // Flush finishes its work on this thread, alongside it.
  ASSERT_THAT((*index)->Flush(), IsOk());
  ASSERT_THAT((*index)->Close(), IsOk());

  auto reopened = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ((*reopened)->DocCount(), 1500u);
  size_t segments = 0;
  for (const auto& info : (*reopened)->Segments()) {
    EXPECT_FALSE(info.in_memory);  // Close flushed them
    ++segments;
  }
  // 15 flushes of ~100 documents, merged four at a time.
  EXPECT_LT(segments, 10u);
}

// Explanations: trees whose arithmetic can be followed from the leaves to
// the root, and whose root is the hit's score.

// Whether `text` contains `part`.
bool Has(absl::string_view text, absl::string_view part) {
  return absl::StrContains(text, part);
}

// The detail of `node` whose description starts with `prefix`; fails the
// test and returns an empty node if there is none.
const v1::Explanation& Detail(const v1::Explanation& node,
                              absl::string_view prefix) {
  for (const v1::Explanation& detail : node.details()) {
    if (absl::StartsWith(detail.description(), prefix)) return detail;
  }
  ADD_FAILURE() << "no detail \"" << prefix << "\" in "
                << node.ShortDebugString();
  static const v1::Explanation* const kNone = new v1::Explanation();
  return *kNone;
}

bool HasDetail(const v1::Explanation& node, absl::string_view prefix) {
  for (const v1::Explanation& detail : node.details()) {
    if (absl::StartsWith(detail.description(), prefix)) return true;
  }
  return false;
}

// Every node of `tree` (itself included) whose description contains
// `part`, depth first.
void Collect(const v1::Explanation& tree, absl::string_view part,
             std::vector<const v1::Explanation*>* out) {
  if (Has(tree.description(), part)) out->push_back(&tree);
  for (const v1::Explanation& detail : tree.details()) {
    Collect(detail, part, out);
  }
}

std::vector<const v1::Explanation*> Nodes(const v1::Explanation& tree,
                                          absl::string_view part) {
  std::vector<const v1::Explanation*> out;
  Collect(tree, part, &out);
  return out;
}

void ExpectClose(double actual, double expected, const std::string& where) {
  EXPECT_NEAR(actual, expected, 1e-12 * std::max(1.0, std::abs(expected)))
      << where;
}

// Recomputes every node of `tree` from its details with the formula its
// description states, independently of the code that built it: a sum for
// "sum of", BM25F for a term or phrase, the idf, a field's weighted
// frequency, and the parts of the proximity bonus. `k1` and `saturation`
// carry a proximity field's parameters down to its terms.
void CheckArithmetic(const v1::Explanation& tree, double k1 = 0.0,
                     double saturation = 0.0) {
  const std::string& d = tree.description();
  const std::string where = tree.ShortDebugString();
  auto value = [&tree](int i) { return tree.details(i).value(); };
  if (Has(d, "idf * tf~ * (k1 + 1) / (k1 + tf~)")) {
    ASSERT_EQ(tree.details_size(), 3) << where;
    const double idf = value(0), tf = value(1), k = value(2);
    ExpectClose(tree.value(), tf == 0 ? 0 : idf * tf * (k + 1) / (k + tf),
                where);
  } else if (Has(d, "ln(1 + (N - df + 0.5) / (df + 0.5))")) {
    ASSERT_EQ(tree.details_size(), 2) << where;
    const double n = value(0), df = value(1);
    ExpectClose(tree.value(), std::log(1 + (n - df + 0.5) / (df + 0.5)), where);
  } else if (absl::StartsWith(d, "tf~") || Has(d, "sum of")) {
    double sum = 0.0;
    for (const v1::Explanation& detail : tree.details()) sum += detail.value();
    ExpectClose(tree.value(), sum, where);
  } else if (Has(d, "weight * tf / (1 - b + b * length / avg_length)")) {
    ASSERT_EQ(tree.details_size(), 5) << where;
    const double tf = value(0), length = value(1), average = value(2),
                 weight = value(3), b = value(4);
    ExpectClose(tree.value(),
                weight * tf / (average == 0 ? 1 : 1 - b + b * length / average),
                where);
  } else if (Has(d, "a match scores the value's idf")) {
    ASSERT_EQ(tree.details_size(), 1) << where;
    EXPECT_EQ(tree.value(), value(0)) << where;
  } else if (Has(d, "proximity_weight * (title + body)")) {
    double fields = 0.0;
    for (int i = 1; i < tree.details_size(); ++i) fields += value(i);
    ExpectClose(tree.value(), value(0) * fields, where);
  } else if (Has(d, "weight * sum over the query terms")) {
    ASSERT_GE(tree.details_size(), 3) << where;
    const v1::Explanation& k = tree.details(1);
    ASSERT_EQ(k.details_size(), 4) << where;
    const double kk1 = k.details(0).value(), b = k.details(1).value(),
                 length = k.details(2).value(), average = k.details(3).value();
    ExpectClose(k.value(),
                kk1 * (average == 0 ? 1 : 1 - b + b * length / average), where);
    double sum = 0.0;
    for (int i = 2; i < tree.details_size(); ++i) {
      sum += value(i);
      CheckArithmetic(tree.details(i), kk1, k.value());
    }
    ExpectClose(tree.value(), value(0) * sum, where);
    return;
  } else if (Has(d, "min(1, idf) * pf * (k1 + 1) / (K + pf)")) {
    ASSERT_EQ(tree.details_size(), 2) << where;
    const double idf = value(0), pf = value(1);
    EXPECT_LE(idf, 1.0) << where;
    ExpectClose(tree.value(), idf * pf * (k1 + 1) / (saturation + pf), where);
  } else if (tree.details_size() > 0) {
    ADD_FAILURE() << "a node with details whose arithmetic is not stated: "
                  << where;
  }
  for (const v1::Explanation& detail : tree.details()) {
    CheckArithmetic(detail, k1, saturation);
  }
}

class ExplainTest : public SegmentIndexTest {
 protected:
  void SetUp() override {
    SegmentIndexTest::SetUp();
    // N = 3, average title length 4/3, average body length 8/3.
    Write({Upsert({.id = "d1",
                   .title = "apple pie",
                   .body = "apple banana apple",
                   .source = "Farm",
                   .published_seconds = 1000})});
    Write({Upsert({.id = "d2",
                   .title = "banana",
                   .body = "cherry apple banana cherry",
                   .source = "Shop",
                   .published_seconds = 2000}),
           Upsert({.id = "d3", .title = "cherry", .body = "cherry"})});
  }

  // The explained search, each hit checked: an explanation whose value is
  // the score and whose arithmetic holds, and the same hits and scores as
  // without explain.
  v1::ShardSearchResponse Explained(v1::ShardSearchRequest request) {
    const v1::ShardSearchResponse plain = Search(request);
    request.set_explain(true);
    v1::ShardSearchResponse response = Search(request);
    EXPECT_EQ(response.total_hits(), plain.total_hits());
    EXPECT_EQ(response.hits_size(), plain.hits_size());
    for (int i = 0; i < response.hits_size(); ++i) {
      const v1::ShardHit& hit = response.hits(i);
      EXPECT_FALSE(plain.hits(i).has_explanation());
      EXPECT_EQ(hit.id(), plain.hits(i).id());
      EXPECT_EQ(hit.score(), plain.hits(i).score());
      EXPECT_TRUE(hit.has_explanation()) << hit.id();
      EXPECT_DOUBLE_EQ(hit.explanation().value(), hit.score()) << hit.id();
      CheckArithmetic(hit.explanation());
    }
    return response;
  }

  v1::Explanation ExplanationOf(v1::QueryNode query, const std::string& id) {
    const v1::ShardSearchResponse response =
        Explained(SearchFor(std::move(query)));
    for (const v1::ShardHit& hit : response.hits()) {
      if (hit.id() == id) return hit.explanation();
    }
    ADD_FAILURE() << id << " not found";
    return v1::Explanation();
  }
};

TEST_P(ExplainTest, TermLeavesCarryIdfAndEachFieldsStatistics) {
  const v1::Explanation e = ExplanationOf(Term("apple"), "d1");
  EXPECT_EQ(e.description(),
            "term \"apple\" in title and body, idf * tf~ * (k1 + 1) / (k1 + "
            "tf~), from:");
  const v1::Explanation& idf = Detail(e, "idf of \"apple\"");
  EXPECT_DOUBLE_EQ(idf.value(), std::log(1.0 + 1.5 / 2.5));
  EXPECT_EQ(Detail(idf, "N,").value(), 3.0);
  EXPECT_EQ(Detail(idf, "df,").value(), 2.0);
  EXPECT_EQ(Detail(e, "k1").value(), 1.2);

  const v1::Explanation& tf = Detail(e, "tf~");
  const v1::Explanation& title = Detail(tf, "title,");
  EXPECT_EQ(Detail(title, "tf,").value(), 1.0);
  EXPECT_EQ(Detail(title, "length,").value(), 2.0);
  EXPECT_DOUBLE_EQ(Detail(title, "avg_length,").value(), 4.0 / 3.0);
  EXPECT_EQ(Detail(title, "weight").value(), 2.0);
  EXPECT_EQ(Detail(title, "b,").value(), 0.75);
  // 2 * 1 / (0.25 + 0.75 * 2 / (4/3)) = 2 / 1.375.
  EXPECT_DOUBLE_EQ(title.value(), 2.0 / 1.375);
  const v1::Explanation& body = Detail(tf, "body,");
  EXPECT_EQ(Detail(body, "tf,").value(), 2.0);
  EXPECT_EQ(Detail(body, "length,").value(), 3.0);
  EXPECT_DOUBLE_EQ(Detail(body, "avg_length,").value(), 8.0 / 3.0);
  EXPECT_EQ(Detail(body, "weight").value(), 1.0);
  // 1 * 2 / (0.25 + 0.75 * 3 / (8/3)) = 2 / 1.09375.
  EXPECT_DOUBLE_EQ(body.value(), 2.0 / 1.09375);
  EXPECT_DOUBLE_EQ(tf.value(), 2.0 / 1.375 + 2.0 / 1.09375);

  // d2 has no apple in its title: only the body counts.
  const v1::Explanation d2 = ExplanationOf(Term("apple"), "d2");
  EXPECT_FALSE(HasDetail(Detail(d2, "tf~"), "title,"));
  EXPECT_EQ(Detail(Detail(Detail(d2, "tf~"), "body,"), "tf,").value(), 1.0);

  // Scoped to the title: the title alone, with the title's df.
  const v1::Explanation scoped =
      ExplanationOf(Term("apple", v1::FIELD_TITLE), "d1");
  EXPECT_TRUE(
      absl::StartsWith(scoped.description(), "term \"apple\" in the title, "));
  EXPECT_EQ(Detail(Detail(scoped, "idf"), "df,").value(), 1.0);
  EXPECT_FALSE(HasDetail(Detail(scoped, "tf~"), "body,"));
}

TEST_P(ExplainTest, GlobalStatsAndParamsShowInTheLeaves) {
  v1::ShardSearchRequest request = SearchFor(Term("cherry"));
  v1::GlobalStats* stats = request.mutable_stats();
  stats->set_doc_count(10);
  stats->set_total_title_terms(10);
  stats->set_total_body_terms(20);
  v1::TermRef* ref = stats->add_terms();
  ref->set_term("cherry");
  stats->add_doc_freqs(4);
  request.mutable_scoring()->set_k1(2.0);
  request.mutable_scoring()->set_body_b(0.5);
  const v1::ShardSearchResponse response = Explained(request);
  ASSERT_GE(response.hits_size(), 1);
  const v1::Explanation& e = response.hits(0).explanation();
  EXPECT_EQ(Detail(Detail(e, "idf"), "N,").value(), 10.0);
  EXPECT_EQ(Detail(Detail(e, "idf"), "df,").value(), 4.0);
  EXPECT_EQ(Detail(e, "k1").value(), 2.0);
  const v1::Explanation& body = Detail(Detail(e, "tf~"), "body,");
  EXPECT_EQ(Detail(body, "avg_length,").value(), 2.0);
  EXPECT_EQ(Detail(body, "b,").value(), 0.5);
}

TEST_P(ExplainTest, PhrasesShowTheirTermsOccurrencesAndSlop) {
  const v1::Explanation e = ExplanationOf(Phrase("apple banana"), "d1");
  EXPECT_TRUE(absl::StartsWith(
      e.description(), "phrase \"apple banana\" in title and body with slop 0"))
      << e.description();
  const v1::Explanation& idf = Detail(e, "idf of the phrase");
  ASSERT_EQ(idf.details_size(), 2);
  EXPECT_TRUE(
      absl::StartsWith(idf.details(0).description(), "idf of \"apple\""));
  EXPECT_TRUE(
      absl::StartsWith(idf.details(1).description(), "idf of \"banana\""));
  const v1::Explanation& tf = Detail(e, "tf~");
  EXPECT_FALSE(HasDetail(tf, "title,"));
  const v1::Explanation& occurrences = Detail(Detail(tf, "body,"), "tf,");
  EXPECT_EQ(occurrences.value(), 1.0);
  EXPECT_EQ(occurrences.description(),
            "tf, occurrences of the phrase in the body");

  // "apple apple" within one move: once in d1's body.
  const v1::Explanation sloppy = ExplanationOf(Phrase("apple apple", 1), "d1");
  EXPECT_TRUE(
      absl::StartsWith(sloppy.description(),
                       "phrase \"apple apple\" in title and body with slop 1"));
  EXPECT_EQ(Detail(Detail(Detail(sloppy, "tf~"), "body,"), "tf,").value(), 1.0);
}

TEST_P(ExplainTest, ConstantScoreAndRestrictingClausesSayWhatTheyAre) {
  const v1::Explanation e =
      ExplanationOf(Bool({Prefix("ban"), DateRange(1000, 1500)},
                         {Fuzzy("chery", 1), Term("farm", v1::FIELD_SOURCE),
                          Term("shop", v1::FIELD_SOURCE)},
                         {Term("zzz")}),
                    "d1");
  EXPECT_EQ(e.description(), "sum of the matching clauses:");
  // The must clauses, then the should clauses that match (d1 has no
  // cherry and is not from the shop).
  ASSERT_EQ(e.details_size(), 3) << e.DebugString();
  EXPECT_EQ(e.details(0).value(), 1.0);
  EXPECT_EQ(e.details(0).description(),
            "prefix \"ban*\" in title and body, a set of terms whose every "
            "match scores a constant 1");
  EXPECT_EQ(e.details(1).value(), 0.0);
  EXPECT_EQ(e.details(1).description(),
            "published_at in [1970-01-01T00:16:40Z, 1970-01-01T00:25:00Z), a "
            "restriction that scores 0");
  const v1::Explanation& keyword = e.details(2);
  EXPECT_EQ(keyword.description(),
            "keyword source:\"farm\", a match scores the value's idf, from:");
  EXPECT_DOUBLE_EQ(keyword.value(), std::log(1.0 + 2.5 / 1.5));
  EXPECT_EQ(Detail(Detail(keyword, "idf"), "df,").value(), 1.0);
  EXPECT_DOUBLE_EQ(e.value(), 1.0 + std::log(1.0 + 2.5 / 1.5));

  const v1::Explanation fuzzy = ExplanationOf(Fuzzy("chery", 1), "d3");
  EXPECT_EQ(fuzzy.value(), 1.0);
  EXPECT_EQ(fuzzy.description(),
            "fuzzy \"chery\" in title and body, the terms within 1 edit of it "
            "sharing its first character, whose every match scores a "
            "constant 1");
  const v1::Explanation all = ExplanationOf(MatchAll(), "d3");
  EXPECT_EQ(all.value(), 0.0);
  EXPECT_EQ(all.description(), "every document matches, scoring 0");
}

TEST_P(ExplainTest, DateOrderedHitsAreExplainedToo) {
  v1::ShardSearchRequest request =
      SearchFor(Bool({}, {Term("apple"), Term("cherry")}));
  request.set_sort(v1::SORT_ORDER_PUBLISHED_ASC);
  const v1::ShardSearchResponse response = Explained(request);
  EXPECT_THAT(HitIds(response), ElementsAre("d1", "d2", "d3"));
  // No proximity bonus in date order.
  for (const v1::ShardHit& hit : response.hits()) {
    EXPECT_THAT(Nodes(hit.explanation(), "proximity"), IsEmpty());
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, ExplainTest,
                         ::testing::Values(Layout::kMemory,
                                           Layout::kFlushedPerWrite),
                         LayoutName);

// The proximity node: for the hits that got the bonus, those among the
// best `proximity_window` by BM25F with two query terms or more.
TEST_P(SegmentIndexTest, ExplainShowsTheProximityBonusWhereItWasAdded) {
  Write({Upsert({.id = "a-apart",
                 .body = "wing one two three four five "
                         "six seven eight lift"}),
         Upsert({.id = "b-together",
                 .body = "one two three four wing lift "
                         "five six seven eight"}),
         Upsert({.id = "c-one-term",
                 .body = "wing one two three four five "
                         "six seven eight nine"})});
  v1::ShardSearchRequest request =
      SearchFor(Bool({}, {Term("wing"), Term("lift")}));
  request.set_explain(true);
  // BM25F alone, for comparison.
  v1::ShardSearchRequest off = request;
  off.mutable_scoring()->set_proximity_weight(0);
  std::map<std::string, double> bm25f;
  const v1::ShardSearchResponse without = Search(off);
  for (const v1::ShardHit& hit : without.hits()) {
    bm25f[hit.id()] = hit.score();
    EXPECT_THAT(Nodes(hit.explanation(), "proximity"), IsEmpty());
  }

  v1::ShardSearchResponse response = Search(request);
  ASSERT_THAT(HitIds(response),
              ElementsAre("b-together", "a-apart", "c-one-term"));
  for (const v1::ShardHit& hit : response.hits())
    CheckArithmetic(hit.explanation());
  // Terms one apart: the bonus, on top of the query's BM25F.
  const v1::Explanation& together = response.hits(0).explanation();
  EXPECT_EQ(together.value(), response.hits(0).score());
  EXPECT_EQ(together.description(),
            "sum of the query's score and the term proximity bonus:");
  ASSERT_EQ(together.details_size(), 2);
  EXPECT_EQ(together.details(0).value(), bm25f["b-together"]);
  const v1::Explanation& bonus = together.details(1);
  EXPECT_GT(bonus.value(), 0.0);
  EXPECT_DOUBLE_EQ(bonus.value(),
                   response.hits(0).score() - bm25f["b-together"]);
  EXPECT_EQ(Detail(bonus, "proximity_weight").value(), 0.25);
  const v1::Explanation& body = Detail(bonus, "body,");
  EXPECT_FALSE(HasDetail(bonus, "title,"));
  // wing at 4, lift at 5: d = 1, so pf = 1 for each.
  EXPECT_EQ(Detail(Detail(body, "\"wing\""), "pf,").value(), 1.0);
  EXPECT_EQ(Detail(Detail(body, "\"lift\""), "pf,").value(), 1.0);
  // Both terms, nine apart: the bonus was computed and is 0.
  const v1::Explanation& apart = response.hits(1).explanation();
  ASSERT_EQ(Nodes(apart, "BM25TP").size(), 1u);
  EXPECT_EQ(Nodes(apart, "BM25TP")[0]->value(), 0.0);
  EXPECT_EQ(response.hits(1).score(), bm25f["a-apart"]);
  // One term: no bonus.
  EXPECT_THAT(Nodes(response.hits(2).explanation(), "proximity"), IsEmpty());
  EXPECT_EQ(response.hits(2).explanation().value(), bm25f["c-one-term"]);

  // A window of one holds a-apart only (first of the BM25F tie): b-together
  // is outside it and gets no bonus and no node.
  request.mutable_scoring()->set_proximity_window(1);
  response = Search(request);
  ASSERT_THAT(HitIds(response),
              ElementsAre("a-apart", "b-together", "c-one-term"));
  EXPECT_EQ(Nodes(response.hits(0).explanation(), "BM25TP").size(), 1u);
  EXPECT_THAT(Nodes(response.hits(1).explanation(), "proximity"), IsEmpty());
  EXPECT_EQ(response.hits(1).explanation().value(), bm25f["b-together"]);

  // Pages after a cursor keep the window's bonus and its node.
  request.mutable_scoring()->clear_proximity_window();
  request.set_limit(1);
  std::vector<std::string> paged;
  for (int page = 0; page < 3; ++page) {
    const v1::ShardSearchResponse one = Search(request);
    ASSERT_EQ(one.hits_size(), 1);
    const v1::ShardHit& hit = one.hits(0);
    paged.push_back(hit.id());
    EXPECT_DOUBLE_EQ(hit.explanation().value(), hit.score());
    EXPECT_EQ(Nodes(hit.explanation(), "BM25TP").size(),
              hit.id() == "c-one-term" ? 0u : 1u)
        << hit.id();
    request.mutable_search_after()->set_score(hit.score());
    request.mutable_search_after()->set_id(hit.id());
  }
  EXPECT_THAT(paged, ElementsAre("b-together", "a-apart", "c-one-term"));
}

// Queries of every kind of clause over random documents: terms scoped and
// not, phrases with slop, prefixes, fuzzy words, keywords and date ranges,
// as must, should and must_not.
std::vector<v1::QueryNode> RandomMixedQueries(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto word = [&rng](int range) {
    return absl::StrCat("w", rng() % static_cast<uint32_t>(range));
  };
  auto clause = [&]() -> v1::QueryNode {
    switch (rng() % 9) {
      case 0:
      case 1:
        return Term(word(60));
      case 2:
        return Term(word(30), rng() % 2 ? v1::FIELD_TITLE : v1::FIELD_BODY);
      case 3:
        return Phrase(absl::StrCat(word(8), " ", word(8)), rng() % 3);
      case 4:
        return Prefix(absl::StrCat("w", 1 + rng() % 9, rng() % 10));
      case 5:
        return Fuzzy(word(100), 1 + rng() % 2);
      case 6:
        return Term(absl::StrCat("src", rng() % 5), v1::FIELD_SOURCE);
      case 7: {
        const int64_t from = 1000 + static_cast<int64_t>(rng() % 3000);
        return DateRange(from, from + 1000);
      }
      default:
        return Bool({}, {Term(word(20)), Phrase(word(20))});
    }
  };
  std::vector<v1::QueryNode> queries;
  for (int q = 0; q < n; ++q) {
    std::vector<v1::QueryNode> must, should, must_not;
    for (uint32_t i = rng() % 2; i > 0; --i) must.push_back(clause());
    for (uint32_t i = 1 + rng() % 3; i > 0; --i) should.push_back(clause());
    for (uint32_t i = rng() % 3 == 0 ? 1 : 0; i > 0; --i) {
      must_not.push_back(clause());
    }
    queries.push_back(
        Bool(std::move(must), std::move(should), std::move(must_not)));
  }
  return queries;
}

// Over many segments (flushed ones, one in memory, with deletions), every
// hit of every query is explained by a tree whose root is its score and
// whose arithmetic holds, on first pages, on pages after a cursor, and in
// date order; explaining changes no hit and no score.
TEST(SegmentIndexExplainTest, EveryExplanationAddsUpToTheScore) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.Sub("db"), QuietOptions());
  ASSERT_THAT(index, IsOk());
  std::vector<std::vector<v1::WriteOp>> batches = RandomBatches(2000, 400, 7);
  for (size_t i = 0; i < batches.size(); ++i) {
    ASSERT_THAT((*index)->Apply(WriteOf(std::move(batches[i]))), IsOk());
    if (i + 1 < batches.size()) {
      ASSERT_THAT((*index)->Flush(), IsOk());
    }
  }
  std::vector<v1::WriteOp> deletes;
  for (int i = 0; i < 2000; i += 7) {
    deletes.push_back(Delete(absl::StrCat("d", i)));
  }
  ASSERT_THAT((*index)->Apply(WriteOf(std::move(deletes))), IsOk());

  std::vector<v1::QueryNode> queries = RandomQueries(40, 17);
  for (v1::QueryNode& query : RandomMixedQueries(80, 19)) {
    queries.push_back(std::move(query));
  }
  int explained = 0, with_proximity = 0;
  auto check = [&](v1::ShardSearchRequest request) {
    auto plain = (*index)->Search(request);
    ASSERT_THAT(plain, IsOk());
    request.set_explain(true);
    auto response = (*index)->Search(request);
    ASSERT_THAT(response, IsOk());
    ASSERT_EQ(response->hits_size(), plain->hits_size());
    EXPECT_EQ(response->total_hits(), plain->total_hits());
    for (int i = 0; i < response->hits_size(); ++i) {
      const v1::ShardHit& hit = response->hits(i);
      ASSERT_EQ(hit.id(), plain->hits(i).id());
      ASSERT_EQ(hit.score(), plain->hits(i).score());
      ASSERT_TRUE(hit.has_explanation());
      EXPECT_DOUBLE_EQ(hit.explanation().value(), hit.score())
          << request.query().ShortDebugString() << "\n"
          << hit.explanation().DebugString();
      CheckArithmetic(hit.explanation());
      ++explained;
      if (!Nodes(hit.explanation(), "BM25TP").empty()) {
        ++with_proximity;
      }
    }
  };
  for (const v1::QueryNode& query : queries) {
    v1::ShardSearchRequest request = SearchFor(query, 20);
    // Only proximity_window hits can have the bonus: a small one leaves
    // some of the page without it.
    request.mutable_scoring()->set_proximity_window(8);
    check(request);
    auto first = (*index)->Search(request);
    ASSERT_THAT(first, IsOk());
    if (first->hits_size() >= 6) {
      v1::ShardSearchRequest later = request;
      later.set_limit(10);
      later.mutable_search_after()->set_score(first->hits(4).score());
      later.mutable_search_after()->set_id(first->hits(4).id());
      check(later);
    }
    v1::ShardSearchRequest dated = SearchFor(query, 10);
    dated.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
    check(dated);
  }
  // The collection and queries exercise what they claim to.
  EXPECT_GT(explained, 2000);
  EXPECT_GT(with_proximity, 100);
  EXPECT_LT(with_proximity, explained);
}

}  // namespace
}  // namespace sift::storage
