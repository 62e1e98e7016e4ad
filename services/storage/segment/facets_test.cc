// Facets over a MemoryIndex: counts of sources, tags and dates over every
// match, never the deleted, whatever the page, the order or the pruning.

#include "services/storage/segment/facets.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/engine_test.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::Bool;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::EngineTest;
using ::sift::storage::testing::MatchAll;
using ::sift::storage::testing::RandomBatches;
using ::sift::storage::testing::RandomQueries;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::testing::ElementsAre;

class FacetCountTest : public EngineTest {};

// Facets: counts over every match of the query and filters, over memory
// and flushed segments, never counting deleted documents.
class FacetTest : public EngineTest {
 protected:
  static constexpr int64_t kJan1987 = 536457600;  // 1987-01-01T00:00:00Z
  static constexpr int64_t kDay = 86400;

  void SetUp() override {
    EngineTest::SetUp();
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

// With facets nothing is pruned: the total is exact, the hits are those of
// the search without facets, and the counts add up to the total.
TEST_P(FacetCountTest, FacetsVisitEveryMatch) {
  for (auto& batch : RandomBatches(3000, 500, 7)) Write(std::move(batch));
  bool pruned_any = false;
  for (const v1::QueryNode& query : RandomQueries(30, 11)) {
    const v1::ShardSearchResponse plain = Search(SearchFor(query, 10));
    pruned_any |= plain.total_hits_is_lower_bound();
    v1::ShardSearchRequest request = SearchFor(query, 10);
    request.add_facets()->set_field(v1::FACET_FIELD_SOURCE);
    const v1::ShardSearchResponse faceted = Search(request);
    // Without hits to rank the shard skips nothing: the exact count.
    const v1::ShardSearchResponse full = Search(SearchFor(query, 0));
    ASSERT_FALSE(full.total_hits_is_lower_bound());
    EXPECT_FALSE(faceted.total_hits_is_lower_bound());
    EXPECT_EQ(faceted.total_hits(), full.total_hits());
    ASSERT_EQ(faceted.hits_size(), plain.hits_size());
    for (int i = 0; i < plain.hits_size(); ++i) {
      EXPECT_EQ(faceted.hits(i).id(), plain.hits(i).id());
      EXPECT_EQ(faceted.hits(i).score(), plain.hits(i).score());
    }
    ASSERT_EQ(faceted.facets_size(), 1);
    uint64_t sum = faceted.facets(0).missing_count();
    for (const auto& c : faceted.facets(0).counts()) sum += c.count();
    EXPECT_EQ(sum, faceted.total_hits());
    // A later page counts the same facets once, over every match, and its
    // hits are those after the cursor, proximity bonus included.
    if (plain.hits_size() < 6) continue;
    v1::ShardSearchRequest later = request;
    later.mutable_search_after()->set_score(plain.hits(4).score());
    later.mutable_search_after()->set_id(plain.hits(4).id());
    later.set_limit(5);
    const v1::ShardSearchResponse page = Search(later);
    EXPECT_EQ(page.total_hits(), faceted.total_hits());
    ASSERT_EQ(page.facets_size(), 1);
    EXPECT_EQ(page.facets(0).DebugString(), faceted.facets(0).DebugString());
    for (int i = 0; i < page.hits_size() && i + 5 < plain.hits_size(); ++i) {
      EXPECT_EQ(page.hits(i).id(), plain.hits(i + 5).id());
      EXPECT_EQ(page.hits(i).score(), plain.hits(i + 5).score());
    }
  }
  EXPECT_TRUE(pruned_any);
}

SIFT_INSTANTIATE_LAYOUTS(FacetCountTest);
SIFT_INSTANTIATE_LAYOUTS(FacetTest);

}  // namespace
}  // namespace sift::storage
