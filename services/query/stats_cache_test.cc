#include "services/query/stats_cache.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::query {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

v1::TermRef Term(v1::Field field, const std::string& text) {
  v1::TermRef term;
  term.set_field(field);
  term.set_term(text);
  return term;
}

CopyStats Stats(uint64_t version, std::vector<uint64_t> doc_freqs) {
  CopyStats stats;
  stats.version = version;
  stats.doc_count = 1000;
  stats.total_title_terms = 5000;
  stats.total_body_terms = 90000;
  stats.doc_freqs = std::move(doc_freqs);
  return stats;
}

const absl::Time kNow = absl::FromUnixSeconds(1'000'000);

TEST(StatsCacheTest, FindsKeptTermsInAnyOrderWithTheCopysCounts) {
  StatsCache cache;
  const std::vector<v1::TermRef> kept = {Term(v1::FIELD_UNSPECIFIED, "oil"),
                                         Term(v1::FIELD_TITLE, "oil")};
  cache.Store("a:1", kept, Stats(7, {40, 3}));
  const std::vector<v1::TermRef> asked = {Term(v1::FIELD_TITLE, "oil"),
                                          Term(v1::FIELD_UNSPECIFIED, "oil")};
  std::optional<CopyStats> found = cache.Find("a:1", asked, kNow);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->version, 7u);
  EXPECT_EQ(found->doc_count, 1000u);
  EXPECT_EQ(found->total_title_terms, 5000u);
  EXPECT_EQ(found->total_body_terms, 90000u);
  EXPECT_THAT(found->doc_freqs, ElementsAre(3, 40));
}

TEST(StatsCacheTest, AMissingTermOrCopyFindsNothing) {
  StatsCache cache;
  cache.Store("a:1", {Term(v1::FIELD_UNSPECIFIED, "oil")}, Stats(7, {40}));
  EXPECT_EQ(cache.Find("a:1",
                       {Term(v1::FIELD_UNSPECIFIED, "oil"),
                        Term(v1::FIELD_UNSPECIFIED, "gas")},
                       kNow),
            std::nullopt);
  // The same word in another field is another term.
  EXPECT_EQ(cache.Find("a:1", {Term(v1::FIELD_BODY, "oil")}, kNow),
            std::nullopt);
  EXPECT_EQ(cache.Find("b:1", {Term(v1::FIELD_UNSPECIFIED, "oil")}, kNow),
            std::nullopt);
}

TEST(StatsCacheTest, TermsOfTheSameVersionAddUp) {
  StatsCache cache;
  cache.Store("a:1", {Term(v1::FIELD_UNSPECIFIED, "oil")}, Stats(7, {40}));
  cache.Store("a:1", {Term(v1::FIELD_UNSPECIFIED, "gas")}, Stats(7, {12}));
  std::optional<CopyStats> found = cache.Find(
      "a:1",
      {Term(v1::FIELD_UNSPECIFIED, "gas"), Term(v1::FIELD_UNSPECIFIED, "oil")},
      kNow);
  ASSERT_TRUE(found.has_value());
  EXPECT_THAT(found->doc_freqs, ElementsAre(12, 40));
}

TEST(StatsCacheTest, ANewVersionDropsEverythingOfTheOldOne) {
  StatsCache cache;
  cache.Store("a:1", {Term(v1::FIELD_UNSPECIFIED, "oil")}, Stats(7, {40}));
  CopyStats newer = Stats(8, {13});
  newer.doc_count = 1001;
  cache.Store("a:1", {Term(v1::FIELD_UNSPECIFIED, "gas")}, newer);
  // "oil" was counted in state 7: it may have changed in state 8.
  EXPECT_EQ(cache.Find("a:1", {Term(v1::FIELD_UNSPECIFIED, "oil")}, kNow),
            std::nullopt);
  std::optional<CopyStats> gas =
      cache.Find("a:1", {Term(v1::FIELD_UNSPECIFIED, "gas")}, kNow);
  ASSERT_TRUE(gas.has_value());
  EXPECT_EQ(gas->version, 8u);
  EXPECT_EQ(gas->doc_count, 1001u);
}

TEST(StatsCacheTest, VersionZeroIsNeverKept) {
  StatsCache cache;
  cache.Store("a:1", {Term(v1::FIELD_UNSPECIFIED, "oil")}, Stats(0, {40}));
  EXPECT_EQ(cache.Find("a:1", {Term(v1::FIELD_UNSPECIFIED, "oil")}, kNow),
            std::nullopt);
}

TEST(StatsCacheTest, ACopyThatChangedIsNotTrustedForTheBackoff) {
  StatsCache::Options options;
  options.changed_backoff = absl::Seconds(2);
  StatsCache cache(options);
  const std::vector<v1::TermRef> oil = {Term(v1::FIELD_UNSPECIFIED, "oil")};
  cache.Store("a:1", oil, Stats(7, {40}));
  cache.MarkChanged("a:1", kNow);
  cache.Store("a:1", oil, Stats(8, {41}));
  EXPECT_EQ(cache.Find("a:1", oil, kNow + absl::Seconds(1)), std::nullopt);
  std::optional<CopyStats> later =
      cache.Find("a:1", oil, kNow + absl::Seconds(2));
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->version, 8u);
  EXPECT_THAT(later->doc_freqs, ElementsAre(41));
}

TEST(StatsCacheTest, KeepsAtMostMaxTermsPerCopy) {
  StatsCache::Options options;
  options.max_terms_per_copy = 3;
  StatsCache cache(options);
  for (const char* word : {"a", "b", "c", "d"}) {
    cache.Store("a:1", {Term(v1::FIELD_UNSPECIFIED, word)}, Stats(7, {1}));
  }
  // The fourth term did not fit: the first three were dropped.
  EXPECT_EQ(cache.Find("a:1", {Term(v1::FIELD_UNSPECIFIED, "a")}, kNow),
            std::nullopt);
  EXPECT_TRUE(
      cache.Find("a:1", {Term(v1::FIELD_UNSPECIFIED, "d")}, kNow).has_value());
}

}  // namespace
}  // namespace sift::query
