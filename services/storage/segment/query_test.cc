// The search engine's queries over a MemoryIndex, in every layout: what
// each kind of clause matches, filters, date ranges, ties and totals.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/engine_test.h"
#include "services/storage/segment/plan.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::Bool;
using ::sift::storage::testing::DateRange;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::EngineTest;
using ::sift::storage::testing::Fuzzy;
using ::sift::storage::testing::HitIds;
using ::sift::storage::testing::MatchAll;
using ::sift::storage::testing::Phrase;
using ::sift::storage::testing::Prefix;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

class QueryTest : public EngineTest {};

class BooleanTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
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

class PhraseTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
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

// A word in more documents than one chunk of its positions covers
// (kPositionBlocksPerChunk blocks of postings) has its positions read
// chunk by chunk, by phrases and by the proximity bonus alike: both find
// the right documents in every chunk, also once deletions have emptied a
// whole chunk and a merge has dropped them.
class ManyChunksTest : public EngineTest {
 protected:
  static constexpr int kDocs = 20000;
  // Documents 8192 to 16383: the second chunk of the merged segment, and
  // all of the first segment's second chunk.
  static constexpr int kFirstDeleted = 8192;
  static constexpr int kEndDeleted = 16384;

  void SetUp() override {
    EngineTest::SetUp();
    // Two writes (at most 10,000 operations each): two segments of two
    // chunks, or, merged, one of three.
    for (int first = 0; first < kDocs; first += kDocs / 2) {
      std::vector<v1::WriteOp> ops;
      for (int i = first; i < first + kDocs / 2; ++i) {
        // Same lengths and frequencies: only the words' order tells the
        // documents of the phrase from the others.
        ops.push_back(Upsert(
            {.id = absl::StrCat("d", i),
             .body = i % 250 == 0 ? "alpha beta delta" : "beta gamma alpha"}));
      }
      Write(std::move(ops));
    }
  }

  static std::vector<std::string> Adjacent(bool deleted_chunk) {
    std::vector<std::string> ids;
    for (int i = 0; i < kDocs; i += 250) {
      if (deleted_chunk && i >= kFirstDeleted && i < kEndDeleted) continue;
      ids.push_back(absl::StrCat("d", i));
    }
    return ids;
  }
};

TEST_P(ManyChunksTest, PhrasesAndProximityReadEveryChunk) {
  for (const bool deleted : {false, true}) {
    SCOPED_TRACE(deleted ? "after deletions" : "before deletions");
    if (deleted) {
      std::vector<v1::WriteOp> ops;
      for (int i = kFirstDeleted; i < kEndDeleted; ++i) {
        ops.push_back(Delete(absl::StrCat("d", i)));
      }
      Write(std::move(ops));
    }
    const std::vector<std::string> adjacent = Adjacent(deleted);
    EXPECT_THAT(Ids(Phrase("alpha beta")), UnorderedElementsAreArray(adjacent));
    // Terms together earn the bonus: the documents of the phrase come
    // first among equal BM25F scores.
    std::vector<std::string> top = Ids(Bool({}, {Term("alpha"), Term("beta")}));
    ASSERT_GE(top.size(), adjacent.size());
    top.resize(adjacent.size());
    EXPECT_THAT(top, UnorderedElementsAreArray(adjacent));
  }
}

TEST_P(QueryTest, FieldScopedTerms) {
  Write({Upsert({.id = "t", .title = "budget", .body = "numbers"}),
         Upsert({.id = "b", .title = "numbers", .body = "budget"})});
  EXPECT_THAT(Ids(Term("budget", v1::FIELD_TITLE)), ElementsAre("t"));
  EXPECT_THAT(Ids(Term("budget", v1::FIELD_BODY)), ElementsAre("b"));
  EXPECT_THAT(Ids(Term("budget")), UnorderedElementsAre("t", "b"));
  EXPECT_EQ(DocFreq("budget", v1::FIELD_TITLE), 1u);
  EXPECT_EQ(DocFreq("budget", v1::FIELD_BODY), 1u);
  EXPECT_EQ(DocFreq("budget"), 2u);
}

TEST_P(QueryTest, PrefixMatchesEveryTermThatStartsWithIt) {
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

TEST_P(QueryTest, FuzzyMatchesTermsWithinTheEditsSharingTheFirstLetter) {
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
  EXPECT_THAT(index_.Search(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("query.fuzzy.max_edits: must be 1 or 2")));
}

TEST_P(QueryTest, APrefixOfTooManyTermsIsRefused) {
  std::string body;
  for (size_t i = 0; i <= segment::kMaxPrefixTerms; ++i) {
    absl::StrAppend(&body, "t", i, " ");
  }
  Write({Upsert({.id = "many", .body = body})});
  EXPECT_THAT(index_.Search(SearchFor(Prefix("t"))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the prefix 't*' matches more than 10000 "
                                 "terms; make it longer")));
  EXPECT_THAT(Ids(Prefix("t9999")), ElementsAre("many"));
}

TEST_P(QueryTest, KeywordTermsMatchCaseInsensitively) {
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

TEST_P(QueryTest, NulInAKeywordValueReadsAsASpace) {
  const std::string source("Big\0Paper", 9);
  Write({Upsert({.id = "n", .body = "x", .source = source})});
  EXPECT_THAT(Ids(Term("big paper", v1::FIELD_SOURCE)), ElementsAre("n"));
  EXPECT_THAT(Ids(Term(source, v1::FIELD_SOURCE)), ElementsAre("n"));
}

class FilterTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
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
class DateRangeTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
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

TEST_P(QueryTest, EqualScoresAreOrderedById) {
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

TEST_P(QueryTest, TotalHitsCountsEveryMatch) {
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

SIFT_INSTANTIATE_LAYOUTS(QueryTest);
SIFT_INSTANTIATE_LAYOUTS(BooleanTest);
SIFT_INSTANTIATE_LAYOUTS(PhraseTest);
SIFT_INSTANTIATE_LAYOUTS(ManyChunksTest);
SIFT_INSTANTIATE_LAYOUTS(FilterTest);
SIFT_INSTANTIATE_LAYOUTS(DateRangeTest);

}  // namespace
}  // namespace sift::storage
