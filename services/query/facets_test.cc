#include "services/query/facets.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::query {
namespace {

using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::FacetRequest Facet(
    v1::FacetField field, uint32_t size = 0,
    v1::DateInterval interval = v1::DATE_INTERVAL_UNSPECIFIED) {
  v1::FacetRequest facet;
  facet.set_field(field);
  facet.set_size(size);
  facet.set_interval(interval);
  return facet;
}

google::protobuf::RepeatedPtrField<v1::FacetRequest> Facets(
    std::vector<v1::FacetRequest> facets) {
  google::protobuf::RepeatedPtrField<v1::FacetRequest> out;
  for (v1::FacetRequest& f : facets) *out.Add() = std::move(f);
  return out;
}

TEST(ValidateFacetsTest, FillsInDefaults) {
  auto facets = ValidateFacets(
      Facets({Facet(v1::FACET_FIELD_SOURCE), Facet(v1::FACET_FIELD_TAGS, 20),
              Facet(v1::FACET_FIELD_PUBLISHED_AT),
              Facet(v1::FACET_FIELD_PUBLISHED_AT, 0, v1::DATE_INTERVAL_DAY)}));
  ASSERT_THAT(facets, IsOk());
  ASSERT_EQ(facets->size(), 4u);
  EXPECT_EQ((*facets)[0].size(), kDefaultFacetSize);
  EXPECT_EQ((*facets)[1].size(), 20u);
  EXPECT_EQ((*facets)[2].interval(), v1::DATE_INTERVAL_MONTH);
  EXPECT_EQ((*facets)[2].size(), 0u);
  EXPECT_EQ((*facets)[3].interval(), v1::DATE_INTERVAL_DAY);
  EXPECT_THAT(ValidateFacets(Facets({})), IsOk());
}

TEST(ValidateFacetsTest, ErrorsNameTheFacetAndItsField) {
  struct Case {
    std::vector<v1::FacetRequest> facets;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{Facet(v1::FACET_FIELD_UNSPECIFIED)}, "facets[0].field: required"},
      {{Facet(v1::FACET_FIELD_SOURCE), Facet(static_cast<v1::FacetField>(9))},
       "facets[1].field: unknown value 9"},
      {{Facet(v1::FACET_FIELD_PUBLISHED_AT, 0,
              static_cast<v1::DateInterval>(7))},
       "facets[0].interval: unknown value 7"},
      {{Facet(v1::FACET_FIELD_TAGS, 0, v1::DATE_INTERVAL_DAY)},
       "facets[0].interval: only a published_at facet takes an interval"},
      {{Facet(v1::FACET_FIELD_PUBLISHED_AT, 5)},
       "facets[0].size: only source and tags facets take a size"},
      {{Facet(v1::FACET_FIELD_TAGS, kMaxFacetSize + 1)},
       "facets[0].size: 1001 is over the limit of 1000"},
      {{Facet(v1::FACET_FIELD_TAGS), Facet(v1::FACET_FIELD_SOURCE),
        Facet(v1::FACET_FIELD_TAGS, 3)},
       "facets[2]: the same facet as facets[0]"},
      // An unset interval is MONTH, so this repeats the first.
      {{Facet(v1::FACET_FIELD_PUBLISHED_AT),
        Facet(v1::FACET_FIELD_PUBLISHED_AT, 0, v1::DATE_INTERVAL_MONTH)},
       "facets[1]: the same facet as facets[0]"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(
        ValidateFacets(Facets(c.facets)),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
  EXPECT_THAT(
      ValidateFacets(Facets({Facet(v1::FACET_FIELD_TAGS, kMaxFacetSize)})),
      IsOk());
}

v1::ShardFacetCounts Keywords(
    v1::FacetField field,
    const std::vector<std::pair<std::string, uint64_t>>& counts,
    uint64_t missing = 0, uint64_t left_out = 0, bool truncated = false) {
  v1::ShardFacetCounts out;
  out.set_field(field);
  uint64_t total = left_out;
  for (const auto& [value, count] : counts) {
    v1::ShardFacetCount* c = out.add_counts();
    c->set_value(value);
    c->set_count(count);
    total += count;
  }
  out.set_total_count(total);
  out.set_missing_count(missing);
  out.set_truncated(truncated);
  return out;
}

std::vector<std::string> Buckets(const v1::FacetResult& result) {
  std::vector<std::string> out;
  for (const v1::FacetBucket& b : result.buckets()) {
    out.push_back(absl::StrCat(b.value(), "=", b.count()));
  }
  return out;
}

TEST(MergeFacetTest, SumsShardsAndKeepsTheTopByCountThenValue) {
  const v1::ShardFacetCounts a = Keywords(
      v1::FACET_FIELD_TAGS, {{"grain", 5}, {"wheat", 2}, {"corn", 1}}, 3);
  const v1::ShardFacetCounts b = Keywords(
      v1::FACET_FIELD_TAGS, {{"corn", 3}, {"barley", 2}, {"oats", 1}}, 4);
  const v1::ShardFacetCounts* shards[] = {&a, &b};
  auto merged = MergeFacet(Facet(v1::FACET_FIELD_TAGS, 3), shards, "facets[0]");
  ASSERT_THAT(merged, IsOk());
  EXPECT_EQ(merged->field(), v1::FACET_FIELD_TAGS);
  // corn 4 beats grain's shard-local lead; barley and wheat tie at 2.
  EXPECT_THAT(Buckets(*merged), ElementsAre("grain=5", "corn=4", "barley=2"));
  EXPECT_EQ(merged->other_count(), 3u);  // wheat 2 + oats 1
  EXPECT_EQ(merged->missing_count(), 7u);
  EXPECT_FALSE(merged->incomplete());
  EXPECT_EQ(merged->interval(), v1::DATE_INTERVAL_UNSPECIFIED);

  // Asking for more values than there are returns them all.
  merged = MergeFacet(Facet(v1::FACET_FIELD_TAGS, 100), shards, "facets[0]");
  ASSERT_THAT(merged, IsOk());
  EXPECT_EQ(merged->buckets_size(), 5);
  EXPECT_EQ(merged->other_count(), 0u);
}

TEST(MergeFacetTest, TruncatedShardsKeepOtherCountExactAndSayIncomplete) {
  // The shard left out values worth 6 past its cap.
  const v1::ShardFacetCounts a = Keywords(
      v1::FACET_FIELD_SOURCE, {{"reuters", 10}, {"ap", 4}}, 0, 6, true);
  const v1::ShardFacetCounts b =
      Keywords(v1::FACET_FIELD_SOURCE, {{"ap", 1}}, 2);
  const v1::ShardFacetCounts* shards[] = {&a, &b};
  auto merged =
      MergeFacet(Facet(v1::FACET_FIELD_SOURCE, 1), shards, "facets[0]");
  ASSERT_THAT(merged, IsOk());
  EXPECT_THAT(Buckets(*merged), ElementsAre("reuters=10"));
  EXPECT_EQ(merged->other_count(), 11u);  // ap 5 + 6 left out
  EXPECT_EQ(merged->missing_count(), 2u);
  EXPECT_TRUE(merged->incomplete());
}

TEST(MergeFacetTest, NoShardsGiveAnEmptyResult) {
  auto merged = MergeFacet(Facet(v1::FACET_FIELD_SOURCE, 10), {}, "facets[0]");
  ASSERT_THAT(merged, IsOk());
  EXPECT_THAT(merged->buckets(), IsEmpty());
  EXPECT_EQ(merged->other_count(), 0u);
}

v1::ShardFacetCounts Dates(v1::DateInterval interval,
                           const std::vector<std::pair<int64_t, uint64_t>>& c,
                           uint64_t missing = 0) {
  v1::ShardFacetCounts out;
  out.set_field(v1::FACET_FIELD_PUBLISHED_AT);
  out.set_interval(interval);
  for (const auto& [start, count] : c) {
    v1::ShardFacetCount* b = out.add_counts();
    b->set_start_seconds(start);
    b->set_count(count);
    out.set_total_count(out.total_count() + count);
  }
  out.set_missing_count(missing);
  return out;
}

TEST(MergeFacetTest, DateBucketsMergeInTimeOrderWithCalendarLabels) {
  constexpr int64_t kJan1987 = 536457600;  // 1987-01-01T00:00:00Z
  constexpr int64_t kMar1987 = 541555200;  // 1987-03-01
  constexpr int64_t kDec1969 = -2678400;   // 1969-12-01
  const v1::ShardFacetCounts a =
      Dates(v1::DATE_INTERVAL_MONTH, {{kMar1987, 2}, {kJan1987, 1}}, 1);
  const v1::ShardFacetCounts b =
      Dates(v1::DATE_INTERVAL_MONTH, {{kJan1987, 4}, {kDec1969, 1}}, 2);
  const v1::ShardFacetCounts* shards[] = {&a, &b};
  const v1::FacetRequest request =
      Facet(v1::FACET_FIELD_PUBLISHED_AT, 0, v1::DATE_INTERVAL_MONTH);
  ASSERT_TRUE(FacetAnswers(request, a));
  EXPECT_FALSE(FacetAnswers(
      Facet(v1::FACET_FIELD_PUBLISHED_AT, 0, v1::DATE_INTERVAL_DAY), a));
  auto merged = MergeFacet(request, shards, "facets[0]");
  ASSERT_THAT(merged, IsOk());
  EXPECT_EQ(merged->interval(), v1::DATE_INTERVAL_MONTH);
  EXPECT_THAT(Buckets(*merged),
              ElementsAre("1969-12=1", "1987-01=5", "1987-03=2"));
  EXPECT_EQ(merged->buckets(1).start().seconds(), kJan1987);
  EXPECT_EQ(merged->missing_count(), 3u);
  EXPECT_EQ(merged->other_count(), 0u);

  const v1::ShardFacetCounts days =
      Dates(v1::DATE_INTERVAL_DAY, {{kMar1987, 1}});
  const v1::ShardFacetCounts* day_shards[] = {&days};
  merged =
      MergeFacet(Facet(v1::FACET_FIELD_PUBLISHED_AT, 0, v1::DATE_INTERVAL_DAY),
                 day_shards, "facets[0]");
  ASSERT_THAT(merged, IsOk());
  EXPECT_THAT(Buckets(*merged), ElementsAre("1987-03-01=1"));
  merged =
      MergeFacet(Facet(v1::FACET_FIELD_PUBLISHED_AT, 0, v1::DATE_INTERVAL_YEAR),
                 day_shards, "facets[0]");
  ASSERT_THAT(merged, IsOk());
  EXPECT_THAT(Buckets(*merged), ElementsAre("1987=1"));
}

TEST(MergeFacetTest, TooManyDateBucketsIsAnError) {
  std::vector<std::pair<int64_t, uint64_t>> half_a, half_b;
  for (int64_t d = 0; d <= static_cast<int64_t>(kMaxDateBuckets); ++d) {
    (d % 2 == 0 ? half_a : half_b).emplace_back(d * 86400, 1);
  }
  const v1::ShardFacetCounts a = Dates(v1::DATE_INTERVAL_DAY, half_a);
  const v1::ShardFacetCounts b = Dates(v1::DATE_INTERVAL_DAY, half_b);
  const v1::ShardFacetCounts* shards[] = {&a, &b};
  const v1::FacetRequest request =
      Facet(v1::FACET_FIELD_PUBLISHED_AT, 0, v1::DATE_INTERVAL_DAY);
  EXPECT_THAT(MergeFacet(request, shards, "facets[2]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("facets[2]: the published_at histogram has "
                                 "10001 non-empty DAY buckets, over the limit "
                                 "of 10000; ask for a coarser interval")));
  // Exactly at the limit is fine.
  const v1::ShardFacetCounts* one[] = {&a};
  EXPECT_THAT(MergeFacet(request, one, "facets[2]"), IsOk());
  // A shard that truncated had too many on its own.
  v1::ShardFacetCounts truncated = Dates(v1::DATE_INTERVAL_DAY, {{0, 1}});
  truncated.set_truncated(true);
  const v1::ShardFacetCounts* t[] = {&truncated};
  EXPECT_THAT(MergeFacet(request, t, "facets[0]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 1 non-empty DAY buckets")));
}

}  // namespace
}  // namespace sift::query
